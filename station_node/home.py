"""The station home: where a station keeps its database and its TLS files.

Layout::

    home/station.db   the station's SQLite store (WAL: also -wal and -shm files)
    home/tls/         key, certificate and pinned CA (see ``station_node.identity``)

The home is, in order: the ``--home`` option, the ``STATION_NODE_HOME``
environment variable, or the user's data directory
(``platformdirs.user_data_dir("vetsync-station")``).

The station's identity lives in the store's ``_meta``: ``station`` (its
area code), ``scope`` (the prefix of the areas it may see and write: its own
code) and ``county`` (the first six digits).

Permissions, whatever the umask: :func:`init_offline` (also the last step of
a networked ``init``) leaves the home and ``tls/`` at 0700 — also a home
directory that existed before, since it now holds veterans' files and the
station's private key — and the store makes ``station.db`` (and so its
-wal and -shm files) 0600. Private keys are written 0600 from the start.

Opening is the start of every command, so this module imports little:
platformdirs only when no home is given, the quick check (``sync.store.salvage``)
only when the file changed since its last good check, and the store opens a
database whose schema is current without loading the migrations
(``sync.store.rows``).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from station_node import operator
from sync.engine.errors import StoreError
from sync.store.station import Store

__all__ = [
    "ENV_VAR",
    "APP_NAME",
    "DB_NAME",
    "resolve_home",
    "db_path",
    "tls_dir",
    "private_dir",
    "is_initialised",
    "open_store",
    "init_offline",
]

ENV_VAR = "STATION_NODE_HOME"
APP_NAME = "vetsync-station"
DB_NAME = "station.db"
_INIT_HINT = "请先运行 station-node init"


def resolve_home(home: str | os.PathLike | None = None) -> Path:
    """The station home: ``home`` if given, else ``$STATION_NODE_HOME``, else the user data dir."""
    if home:
        return Path(home).expanduser()
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    import platformdirs  # only when neither --home nor the environment names the home

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def db_path(home: str | os.PathLike) -> Path:
    return Path(home) / DB_NAME


def tls_dir(home: str | os.PathLike) -> Path:
    return Path(home) / "tls"


def private_dir(path: str | os.PathLike) -> Path:
    """Make ``path`` (and missing parents) if needed and set it to 0700, whatever the umask."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.chmod(0o700)
    return path


def is_initialised(home: str | os.PathLike) -> bool:
    return db_path(home).is_file()


# The database file's size and modification time at its last good quick check: the check
# (0.2 s on a county-sized file) runs again only when the file changed. The file changes
# at a WAL checkpoint, not at every commit — and SQLite checkpoints when the last
# connection closes, so a store opened here stamps its own changes good at close
# (HomeStore); damage found later by a command is named by the CLI chrome
# (vetsync_cli.chrome) with the same recovery.
_CHECKED = ".checked"


def _file_stamp(path: Path) -> str:
    st = path.stat()
    return f"{st.st_size} {st.st_mtime_ns}"


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return None


def check_database(path: Path) -> str | None:
    """SQLite's quick check of the file (:func:`sync.store.salvage.check_database`),
    loaded only when a file is to be checked."""
    from sync.store.salvage import check_database as quick_check

    return quick_check(path)


def open_store(home: str | os.PathLike) -> Store:
    """Open the station's store; StoreError when the home was never initialised,
    or when its file is corrupt (SQLite's quick check, or not a database at
    all): the message names the recovery, ``init --recover`` into a new home.
    Its writes record the person acting (``station_node.operator.current``) as
    ``recorded_by``."""
    path = db_path(home)
    if not path.is_file():
        raise StoreError(f"站点目录 {home} 尚未初始化", hint=_INIT_HINT)
    stamp = _file_stamp(path)
    checked = Path(home) / _CHECKED
    if _read(checked) != stamp:  # the file changed since its last good check (a WAL checkpoint, a copy)
        problem = check_database(path)  # SQLite's quick check, read only: a corrupt file is named, not opened
        if problem is not None:
            raise StoreError(f"本站数据库已损坏：{path}（{problem}）",
                             hint=f"请用新的站点目录重建本站并找回未上传的修改：station-node init --hub 主机:端口 "
                                  f"--token 新令牌 --recover {path} --home 新目录")
        with contextlib.suppress(OSError):
            checked.write_text(stamp, encoding="utf-8")
    store = HomeStore(path)
    if not store.meta("station") or not store.meta("scope"):
        store.close()
        raise StoreError(f"站点目录 {home} 的数据库缺少站点信息", hint=_INIT_HINT)
    store.stamp_at_close(checked, stamp)
    store.operator = operator.current  # every write records the person acting (经办人)
    return store


class HomeStore(Store):
    """The station's store as :func:`open_store` opens it: at close, the file it
    found good at open is stamped good again (``.checked``) if it changed in the
    meantime. That change was made through SQLite — this command's writes, which
    SQLite folds into the file when the last connection closes, or another
    vetsync process's — so the next command need not check the whole file again
    (0.2–1 s at a county-sized station after every write otherwise). A file
    replaced or damaged from outside is still checked by the command after."""

    _checked: Path | None = None
    _stamp: str | None = None

    def stamp_at_close(self, checked: Path, stamp: str) -> None:
        self._checked, self._stamp = checked, stamp

    def close(self) -> None:
        super().close()
        checked, self._checked = self._checked, None
        if checked is None:
            return
        with contextlib.suppress(OSError):
            now = _file_stamp(self.path)
            if now != self._stamp:
                checked.write_text(now, encoding="utf-8")


def init_offline(home: str | os.PathLike, station: str) -> Store:
    """Create the home and a station database for ``station``, with no hub.

    Refuses a malformed code and a home that already holds a database. The
    station's meta (station, scope, county) is written in one transaction.
    """
    from veterans import values as domain

    code = domain.validate_area(station)
    path = db_path(home)
    if path.exists():
        existing = _existing_station(path)
        raise StoreError(
            f"站点目录 {home} 已初始化" + (f"（站点 {existing}）" if existing else ""),
            hint="如需另建站点，请用 --home 指定新的目录",
        )
    private_dir(home)
    if tls_dir(home).exists():  # a networked init put the key there first
        private_dir(tls_dir(home))
    store = Store(path, create=True)
    store.operator = operator.current
    with store.transaction():
        store.set_meta("station", code)
        store.set_meta("scope", code)
        store.set_meta("county", code[:6])
        store.set_meta("mode", "offline")
    return store


def _existing_station(path: Path) -> str | None:
    try:
        store = Store(path)
    except Exception:  # unreadable database: the refusal message is enough
        return None
    try:
        return store.meta("station")
    finally:
        store.close()
