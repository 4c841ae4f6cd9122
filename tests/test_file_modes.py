"""File modes and secure delete: a hostile local user gets nothing.

Homes (and their ``ca/`` and ``tls/``) are 0700, databases and their -wal
and -shm files 0600, private keys 0600 — whatever the umask, checked by
running the real CLIs under the permissive umask 022. Deleted rows are
overwritten (``PRAGMA secure_delete=ON``): an evicted row's text is gone
from the bytes of the database file. The systemd units set ``UMask=0077``.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from station_node import home as station_home
from sync.engine.hlc import make_version, new_replica_id
from sync.store.hub import HubStore
from sync.engine.rowstate import Eviction, RowState
from sync.store.station import Store

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
COUNTY, TOWN, VILLAGE = "440902", "440902001", "440902001001"

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def permissive_umask():
    """This process (and the children it starts) at umask 022: what an office PC has."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def cli(exe: str, *args: str) -> subprocess.CompletedProcess:
    path = BIN / exe
    if not path.exists():
        pytest.skip(f"console script {exe} not installed next to this interpreter")
    proc = subprocess.run([str(path), *args], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
                          preexec_fn=lambda: os.umask(0o022))
    assert proc.returncode == 0, proc.stderr
    return proc


def assert_wal_files_private(db: Path) -> None:
    """With a store open and written to, the -wal and -shm files exist and are 0600."""
    store = HubStore(db) if db.name == "hub.db" else Store(db)
    try:
        with store.transaction():
            store.set_meta("probe", "1")
        for suffix in ("-wal", "-shm"):
            side = db.with_name(db.name + suffix)
            assert side.exists(), side
            assert mode(side) == 0o600, (side, oct(mode(side)))
    finally:
        store.close()


# --------------------------------------------------------------------------- modes


def test_hub_init_modes(tmp_path, permissive_umask):
    home = tmp_path / "hub"
    cli("county-hub", "init", "--county", COUNTY, "--name", "测试县", "--home", str(home))
    for directory in (home, home / "ca", home / "tls"):
        assert mode(directory) == 0o700, (directory, oct(mode(directory)))
    for private in (home / "hub.db", home / "ca" / "ca.key", home / "tls" / "server.key"):
        assert mode(private) == 0o600, (private, oct(mode(private)))
    assert_wal_files_private(home / "hub.db")


def test_hub_init_tightens_an_existing_home(tmp_path, permissive_umask):
    home = tmp_path / "hub"
    home.mkdir(mode=0o755)
    home.chmod(0o755)
    cli("county-hub", "init", "--county", COUNTY, "--home", str(home))
    assert mode(home) == 0o700 and mode(home / "ca") == 0o700 and mode(home / "tls") == 0o700


def test_station_init_offline_modes(tmp_path, permissive_umask):
    home = tmp_path / "deep" / "station"
    cli("station-node", "init", "--station", TOWN, "--offline", "--home", str(home))
    assert mode(home) == 0o700
    assert mode(home / "station.db") == 0o600
    assert_wal_files_private(home / "station.db")


def test_station_init_tightens_an_existing_home_and_tls(tmp_path, permissive_umask):
    """A networked init makes ``tls/`` (and the home) for the key before the database."""
    home = tmp_path / "station"
    (home / "tls").mkdir(parents=True, mode=0o755)
    home.chmod(0o755)
    (home / "tls").chmod(0o755)
    station_home.init_offline(home, VILLAGE).close()
    assert mode(home) == 0o700 and mode(home / "tls") == 0o700
    assert mode(home / "station.db") == 0o600


def test_store_makes_private_files_under_any_umask(tmp_path):
    old = os.umask(0)  # the worst case: everything world-writable unless we say otherwise
    try:
        store = Store(tmp_path / "new" / "s.db", create=True)
        try:
            with store.transaction():
                store.set_meta("probe", "1")
            assert mode(tmp_path / "new") == 0o700
            for name in ("s.db", "s.db-wal", "s.db-shm"):
                assert mode(tmp_path / "new" / name) == 0o600, name
        finally:
            store.close()
    finally:
        os.umask(old)


def test_systemd_units_set_umask():
    units = sorted((ROOT / "deploy" / "systemd").glob("*.service"))
    assert units
    for unit in units:
        lines = [line.strip() for line in unit.read_text(encoding="utf-8").splitlines()]
        assert "UMask=0077" in lines, unit.name


# --------------------------------------------------------------------------- secure delete


@pytest.fixture
def sqlite_default_off(monkeypatch):
    """Connections start with secure_delete OFF, as in SQLite's own default build
    (python.org's Windows builds); Debian's is compiled with it on, which would
    hide a store that forgot the pragma."""
    import sqlite3

    real_connect = sqlite3.connect

    def connect(*args, **kwargs):
        conn = real_connect(*args, **kwargs)
        conn.execute("PRAGMA secure_delete=OFF")
        return conn

    monkeypatch.setattr(sqlite3, "connect", connect)


def test_secure_delete_is_on(tmp_path, sqlite_default_off):
    for cls, name in ((Store, "s.db"), (HubStore, "hub.db")):
        store = cls(tmp_path / name, create=True)
        try:
            assert store.conn.execute("PRAGMA secure_delete").fetchone()[0] == 1
        finally:
            store.close()
    station_home.init_offline(tmp_path / "st", TOWN).close()
    store = station_home.open_store(tmp_path / "st")
    try:
        assert store.conn.execute("PRAGMA secure_delete").fetchone()[0] == 1
    finally:
        store.close()


def _pulled(row_id: str, text: str) -> RowState:
    values = {"name": text, "address": text + " 住址", "note": text + " 备注", "area": VILLAGE, "deleted": 0}
    version = make_version(1_700_000_000_000, 0, new_replica_id())
    return RowState("veterans", row_id, values, dict.fromkeys(values, version))


def _evict_and_read(path: Path, text: str, *, secure: bool) -> bytes:
    store = Store(path, create=True)
    try:
        if not secure:
            store.conn.execute("PRAGMA secure_delete=OFF")
        # other rows around it, so the page is not simply dropped
        store.apply_pulled([_pulled(f"keep-{i}", f"保留人员{i}") for i in range(5)] + [_pulled("gone", text)], [], 1)
        store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        assert text.encode() in path.read_bytes()  # the test can see the text when it is there
        assert store.apply_pulled([], [Eviction("veterans", "gone")], 2) == (0, 1)
        assert store.select("veterans", "id = ?", ("gone",)) == []
        busy, _, _ = store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        assert busy == 0
        wal = path.with_name(path.name + "-wal")
        assert not wal.exists() or wal.stat().st_size == 0
        return path.read_bytes()
    finally:
        store.close()


def test_evicted_row_is_erased_from_the_file(tmp_path, sqlite_default_off):
    text = "移出范围的退役军人ZQXJ7"
    data = _evict_and_read(tmp_path / "s.db", text, secure=True)
    assert text.encode() not in data
    assert "保留人员3".encode() in data  # the rest is still there


def test_without_secure_delete_the_text_would_stay(tmp_path, sqlite_default_off):
    """The control: what the test above guards against really happens in SQLite."""
    text = "移出范围的退役军人ZQXJ7"
    data = _evict_and_read(tmp_path / "s.db", text, secure=False)
    assert text.encode() in data
