"""Backup and restore of the hub database (the files; the SQL is in
``sync.store.backup``).

``backup(home, dest, keep=7)``: an online copy while the hub serves, into a
hidden temporary file in ``dest`` (0600 from the start), checked with
``integrity_check`` and only then renamed to ``hub-YYYYMMDDTHHMMSSZ.db``
(UTC) and fsynced; then the newest ``keep`` such files are kept and older
ones removed (only names of exactly that pattern). A failed check removes
the copy and raises.

``restore(home, src)``: only while no ``county-hub serve`` holds the home's
lock (:func:`serve_lock`, taken by ``county_hub.server.HubServer`` at
startup, shared; restore takes it exclusively, so a hub cannot start in the
middle of a restore either). ``src`` is copied to a temporary file in the
home and that copy is checked (integrity, a hub database, the same county);
the copy gets a **new epoch** and a ``restore`` audit entry *before* it is
put in place, so no moment exists where the restored database carries the
old lineage. The current database is kept aside as
``hub.db.before-restore-<stamp>`` (a hard link, with its -wal moved along, so
it stays whole; never deleted), the stale -shm is removed, and the copy is
renamed over ``hub.db``.

Both steps are plain functions; the CLI (``county_hub.cli``) only asks for
confirmation and prints.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
import shutil
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from cryptography import x509

from county_hub.errors import HomeError, HubError
from county_hub.home import db_path
from county_hub.registry import Registry
from sync.engine.errors import StoreError
from sync.store import backup as store_backup
from sync.store.hub import HubStore

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: no lock (the hub runs on Linux)
    fcntl = None

__all__ = ["BACKUP_NAME", "DEFAULT_KEEP", "LOCK_NAME", "BackupResult", "RestoreResult", "backup", "restore",
           "serve_lock", "hold_serve_lock", "release_serve_lock", "stamp"]

BACKUP_NAME = re.compile(r"^hub-\d{8}T\d{6}Z\.db$")
DEFAULT_KEEP = 7
LOCK_NAME = "serve.lock"


def stamp(now: _dt.datetime | None = None) -> str:
    """``YYYYMMDDTHHMMSSZ`` in UTC."""
    return (now or _dt.datetime.now(_dt.timezone.utc)).astimezone(_dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")


# --------------------------------------------------------------------------- the serve lock


@contextmanager
def serve_lock(home: Path, *, exclusive: bool) -> Iterator[None]:
    """Hold ``home/serve.lock``: shared by a serving hub, exclusive by a restore.
    Refuses at once (never waits) when the other side holds it."""
    fd = _take_lock(Path(home), exclusive=exclusive)
    try:
        yield
    finally:
        release_serve_lock(fd)


def hold_serve_lock(home: Path) -> int | None:
    """For ``county-hub serve``: take the shared lock and keep it (the process
    exit releases it); returns the descriptor."""
    return _take_lock(Path(home), exclusive=False)


def release_serve_lock(fd: int | None) -> None:
    if fd is not None:
        os.close(fd)


def _take_lock(home: Path, *, exclusive: bool) -> int | None:
    if fcntl is None:
        return None
    if not home.is_dir():
        raise HomeError(f"县中心尚未初始化：{home}", hint="请先运行 county-hub init --county CODE")
    fd = os.open(home / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        if exclusive:
            raise HomeError(f"县中心服务正在运行（{home}），不能恢复数据库",
                            hint="请先停止 county-hub serve（如 systemctl stop vetsync-hub）再恢复") from None
        raise HomeError(f"县中心正在恢复数据库（{home}），请待恢复完成后再启动服务") from None
    return fd


# --------------------------------------------------------------------------- files


def _fsync(path: Path) -> None:
    """Flush a file, or a directory's entries (after a rename into it), to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _new_private_file(path: Path) -> None:
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _remove(*paths: Path) -> None:
    for p in paths:
        try:
            p.unlink()
        except FileNotFoundError:
            pass


# --------------------------------------------------------------------------- backup


@dataclass(frozen=True)
class BackupResult:
    path: Path
    bytes: int
    rows: int
    tables: dict[str, int]
    epoch: str
    last_seq: int
    removed: list[Path]

    def as_json(self) -> dict:
        return {"path": str(self.path), "bytes": self.bytes, "rows": self.rows, "tables": self.tables,
                "epoch": self.epoch, "seq": self.last_seq, "removed": [str(p) for p in self.removed]}


def backup(home: Path, dest: Path, *, keep: int = DEFAULT_KEEP, progress: Callable[[int, int], None] | None = None,
           now: _dt.datetime | None = None) -> BackupResult:
    """Copy the hub database of ``home`` into ``dest`` (see the module's docstring)."""
    if keep < 1:
        raise HubError(f"--keep 至少为 1：{keep}")
    src = db_path(Path(home))
    if not src.is_file():
        raise HomeError(f"县中心尚未初始化：{home}", hint="请先运行 county-hub init --county CODE")
    dest = Path(dest)
    if not dest.exists():
        dest.mkdir(parents=True, mode=0o700)
        dest.chmod(0o700)
    elif not dest.is_dir():
        raise HubError(f"备份位置不是目录：{dest}")
    final = dest / f"hub-{stamp(now)}.db"
    if final.exists():
        raise HubError(f"已有同名备份：{final}", hint="同一秒内只能做一次备份，请稍后再试")
    tmp = dest / f".{final.name}.tmp-{os.getpid()}"
    _new_private_file(tmp)
    try:
        store_backup.backup_to(src, tmp, progress=progress)
        problem = store_backup.integrity_ok(tmp)
        if problem is not True:
            raise HubError(f"备份副本未通过完整性检查，已删除：{problem}")
        facts = store_backup.inspect(tmp)
        _fsync(tmp)
        os.replace(tmp, final)
    except BaseException:
        _remove(tmp, Path(f"{tmp}-journal"))
        raise
    _fsync(dest)
    removed = _prune(dest, keep)
    return BackupResult(final, final.stat().st_size, facts.rows, facts.tables, facts.epoch, facts.last_seq, removed)


def _prune(dest: Path, keep: int) -> list[Path]:
    """Remove all but the newest ``keep`` files named ``hub-<stamp>.db`` (the stamp sorts by time)."""
    names = sorted(p.name for p in dest.iterdir() if BACKUP_NAME.match(p.name) and p.is_file())
    old = [dest / n for n in names[:-keep]]
    _remove(*old)
    return old


# --------------------------------------------------------------------------- restore


@dataclass(frozen=True)
class RestoreResult:
    source: Path
    aside: Path | None
    epoch: str
    previous_epoch: str
    rows: int

    def as_json(self) -> dict:
        return {"source": str(self.source), "aside": str(self.aside) if self.aside else None, "epoch": self.epoch,
                "previous_epoch": self.previous_epoch, "rows": self.rows}


def _home_county(home: Path) -> str:
    """This hub's county, from its CA certificate (read without opening the
    database, which may be the broken one, or lost)."""
    ca_cert = home / "ca" / "ca.crt"
    if ca_cert.is_file():
        cn = x509.load_pem_x509_certificate(ca_cert.read_bytes()).subject.rfc4514_string()
        if m := re.search(r"vetsync county CA (\d{6})", cn):
            return m.group(1)
    raise HomeError(f"县中心尚未初始化：{home}", hint="恢复前须有县中心目录（含 ca/ 证书）")


def _check_copy(path: Path, county: str, src: Path) -> store_backup.BackupFacts:
    """Check the copy at ``path`` of the backup ``src`` (named in the messages):
    intact, a hub database, of ``county``. Returns what it holds."""
    problem = store_backup.integrity_ok(path)
    if problem is not True:
        raise HubError(f"备份文件已损坏，未恢复：{src}（{problem}）")
    facts = store_backup.inspect(path)
    if not facts.hub:
        raise HubError(f"不是县中心数据库，未恢复：{src}")
    if facts.county != county:
        raise HubError(f"备份属于另一个县（{facts.county}），本县中心为 {county}，未恢复：{src}")
    return facts


def _copy_durably(src: Path, dest: Path) -> None:
    with open(src, "rb") as fin, open(dest, "wb") as fout:
        shutil.copyfileobj(fin, fout, 1 << 20)
        fout.flush()
        os.fsync(fout.fileno())


def restore(home: Path, src: Path, *, confirm: Callable[[store_backup.BackupFacts], None] | None = None,
            now: _dt.datetime | None = None) -> RestoreResult:
    """Put the backup ``src`` in place of the hub database of ``home`` (see the
    module's docstring). ``src`` is only read, and only as bytes: the checks run
    on its copy in the home. ``confirm(facts)`` runs after the checks and
    before the hub database is touched; it raises to cancel."""
    home, src = Path(home), Path(src)
    if not home.is_dir():
        raise HomeError(f"县中心目录不存在：{home}")
    if not src.is_file():
        raise HubError(f"备份文件不存在：{src}")
    county = _home_county(home)
    with serve_lock(home, exclusive=True):
        db = db_path(home)
        when = stamp(now)
        tmp = home / f".hub.db.restore-{when}-{os.getpid()}"
        aside = None
        _new_private_file(tmp)
        try:
            _copy_durably(src, tmp)
            if Path(f"{src}-wal").is_file():  # a copy of a database taken with its log: the log belongs to it
                _copy_durably(Path(f"{src}-wal"), Path(f"{tmp}-wal"))
            facts = _check_copy(tmp, county, src)
            if confirm is not None:
                confirm(facts)
            previous = _epoch_of(db)
            store = HubStore(tmp)
            try:
                with store.transaction():
                    epoch = store.new_epoch()
                    Registry(store).audit("restore", "", source=str(src.resolve()), epoch=epoch,
                                          previous_epoch=previous)
            finally:
                store.close()
            _remove(Path(f"{tmp}-wal"), Path(f"{tmp}-shm"))
            _fsync(tmp)
            aside = _set_aside(db, when)
            _remove(Path(f"{db}-shm"))
            os.replace(tmp, db)
        except BaseException:
            _remove(tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm"), Path(f"{tmp}-journal"))
            if aside is not None and Path(f"{aside}-wal").exists() and not Path(f"{db}-wal").exists():
                os.replace(Path(f"{aside}-wal"), Path(f"{db}-wal"))  # the old database stays whole where it was
            raise
        _fsync(home)
    return RestoreResult(src, aside, epoch, previous, facts.rows)


def _epoch_of(db: Path) -> str:
    try:
        return store_backup.inspect(db).epoch if db.is_file() else ""
    except StoreError:
        return ""


def _set_aside(db: Path, when: str) -> Path | None:
    """Keep the current database as ``hub.db.before-restore-<stamp>``, whole:
    a hard link (``hub.db`` stays in place until the rename over it), and its
    -wal (commits not yet checkpointed) moved along under the matching name."""
    if not db.exists():
        return None
    aside = db.with_name(f"{db.name}.before-restore-{when}")
    n = 1
    while aside.exists():
        n += 1
        aside = db.with_name(f"{db.name}.before-restore-{when}-{n}")
    try:
        os.link(db, aside)
    except OSError:
        shutil.copy2(db, aside)
    wal = Path(f"{db}-wal")
    if wal.exists() and wal.stat().st_size == 0:
        wal.unlink()  # an empty log holds nothing
    elif wal.exists():
        os.replace(wal, Path(f"{aside}-wal"))
    return aside
