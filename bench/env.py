"""The benchmark's environment: the template dataset, real hub processes and
station homes (enrolled over the network, or issued directly for the
many-stations scenario).

Nothing here measures anything; ``bench.scenarios`` does.
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from bench.generate import Counts, generate_county
from county_hub.ca import load_ca, sign_station_csr
from county_hub.home import init_hub
from county_hub.registry import Registry
from county_hub.server import parse_listening
from station_node import identity
from station_node.enroll import enroll
from sync.engine.hlc import new_replica_id
from sync.store.hub import HubStore
from sync.engine.schema import TABLES
from sync.engine.scope import scope_range
from sync.store.station import Store

__all__ = [
    "BIN", "COUNTY", "TOWN", "DATA_TABLES", "HubProc", "checkpoint", "copy_db", "make_template",
    "make_blank", "install_template", "make_direct_stations", "vm_hwm_mb", "reset_hwm", "village_sizes",
    "cpu_seconds",
]

BIN = Path(sys.executable).parent
COUNTY = "440902"
TOWN = "440902001"
DATA_TABLES = ("veterans", "visits", "petitions", "petition_events", "plaques")


# --------------------------------------------------------------------------- files


def checkpoint(path: Path) -> None:
    """Fold the -wal into the database file so the file alone is the whole store."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


def _remove_db(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)


def copy_db(src: Path, dst: Path) -> None:
    checkpoint(src)
    _remove_db(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)


def make_template(path: Path, *, scale: float, seed: int = 1) -> Counts:
    """Generate the county once into ``path`` (pending rows, as if typed at one station)."""
    _remove_db(path)
    store = Store(path, create=True)
    try:
        # Every row as if typed at the county station that pushes them (the hub
        # refuses a visit or petition registered in another station's name).
        counts = generate_county(store, scale=scale, seed=seed, county=COUNTY, station=COUNTY)
    finally:
        store.close()
    checkpoint(path)
    return counts


def make_blank(path: Path) -> None:
    """An empty, migrated store file to copy (cheaper than migrating 300 times)."""
    _remove_db(path)
    Store(path, create=True).close()
    checkpoint(path)


def _set_meta(conn: sqlite3.Connection, values: dict) -> None:
    conn.executemany(
        "INSERT INTO _meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [(k, None if v is None else str(v)) for k, v in values.items()],
    )


def _read_meta(path: Path, keys: tuple[str, ...]) -> dict:
    conn = sqlite3.connect(path)
    try:
        return {k: (r[0] if (r := conn.execute("SELECT value FROM _meta WHERE key = ?", (k,)).fetchone()) else None)
                for k in keys}
    finally:
        conn.close()


_IDENTITY_META = ("station", "scope", "county", "hub", "mode")


def install_template(home: Path, template: Path) -> None:
    """Replace an enrolled station's (empty) database by a copy of the template,
    keeping the station's identity meta (station, scope, county, hub, mode)."""
    db = home / "station.db"
    keep = _read_meta(db, _IDENTITY_META)
    copy_db(template, db)
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        conn.execute("BEGIN")
        _set_meta(conn, keep)
        conn.execute("COMMIT")
    finally:
        conn.close()


def village_sizes(template: Path) -> dict[str, int]:
    """Rows per village code in the template."""
    conn = sqlite3.connect(template)
    try:
        sizes: dict[str, int] = {}
        for t in DATA_TABLES:
            for area, n in conn.execute(f'SELECT area, count(*) FROM "{t}" GROUP BY area'):
                if len(area) == 12:
                    sizes[area] = sizes.get(area, 0) + n
        return sizes
    finally:
        conn.close()


# --------------------------------------------------------------------------- memory


def vm_hwm_mb(pid: int) -> float:
    """Peak resident set of a live process (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for {pid}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a live process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def reset_hwm(pid: int) -> bool:
    """Reset a process's VmHWM to its current RSS (Linux ≥ 4.0); False if not allowed."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        return True
    except OSError:
        return False


# --------------------------------------------------------------------------- hub


class HubProc:
    """A county hub home and its ``county-hub serve`` process on 127.0.0.1."""

    def __init__(self, home: Path):
        self.home = Path(home)
        self.proc: subprocess.Popen | None = None
        self.port = 0
        if not (self.home / "hub.db").exists():
            init_hub(self.home, COUNTY, "基准测试县", ["127.0.0.1", "localhost"])
        self._admin: tuple[HubStore, Registry] | None = None
        self.ca = load_ca(self.home)

    # -- process

    def start(self, timeout: float = 30, port: int = 0) -> "HubProc":
        """Start ``county-hub serve``; ``port``: the sync port (its enrollment port is the next
        one), 0 for any free pair (a restarted hub can take its old port back, for stations that
        know its address)."""
        self.proc = subprocess.Popen(
            [str(BIN / "county-hub"), "serve", "--listen", f"127.0.0.1:{port}", "--home", str(self.home)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if ready:
                line = self.proc.stdout.readline()
                m = parse_listening(line)
                if m:
                    self.port = m[1]
                    return self
            if self.proc.poll() is not None:
                break
        self.kill()
        raise RuntimeError(f"county-hub serve did not start: {self.proc.stderr.read() if self.proc.stderr else ''}")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 30) -> None:
        if self._admin:
            self._admin[0].close()
            self._admin = None
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()

    def kill(self) -> None:
        if self.alive():
            self.proc.kill()
            self.proc.wait(10)

    # -- registry (a second connection to hub.db, beside the serving process)

    @property
    def admin(self) -> tuple[HubStore, Registry]:
        if self._admin is None:
            store = HubStore(self.home / "hub.db")
            self._admin = (store, Registry(store))
        return self._admin

    def last_seq(self) -> int:
        conn = sqlite3.connect(self.home / "hub.db")
        try:
            row = conn.execute("SELECT value FROM _meta WHERE key = 'seq'").fetchone()
            return int(row[0]) if row else 0
        finally:
            conn.close()

    def enroll(self, station: str, home: Path) -> Path:
        """A real enrollment: one-time token, then ``station-node init`` over the network (in-process)."""
        token = self.admin[1].create_token(station, self.ca, county_scope=len(station) == 6)
        enroll(home, self.target, token, station=station)
        return home


def make_direct_stations(hub: HubProc, root: Path, codes: list[str], template: Path, blank: Path, *,
                         own_rows: bool = False) -> list[Path]:
    """Station homes made without the enrollment round trip: key + CSR made in the
    home, signed by the county CA directly, registered in the hub's registry; the
    database is a blank store holding the template's rows of the station's scope,
    already acknowledged, with the cursor at the hub's current seq (as if the
    station had just synced).

    ``own_rows``: the rows stay pending, as if typed at this station: every visit
    and petition registered by it (``station``) and every version its own
    replica's (the template's replica id replaced in the rows' clocks and
    pending marks), so that the station can push them to a hub that lacks them."""
    ca = hub.ca
    tpl_meta = _read_meta(template, ("hlc_last", "seq", "replica_id"))
    tpl_replica = tpl_meta["replica_id"]
    cursor = hub.last_seq()
    now = int(time.time() * 1000)
    certs, homes = [], []
    for code in codes:
        home = root / code
        csr = identity.make_key_and_csr(code, home)
        cert_pem, serial, not_after = sign_station_csr(ca, csr, code)
        p = identity.paths(home)
        p.cert.write_bytes(cert_pem)
        p.ca.write_bytes(ca.cert_pem)
        certs.append((f"{serial:x}", code, now, not_after.isoformat()))
        db = home / "station.db"
        shutil.copyfile(blank, db)
        conn = sqlite3.connect(db, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("ATTACH DATABASE ? AS tpl", (str(template),))
            conn.execute("BEGIN")
            lo, hi = scope_range(code)
            replica = new_replica_id()
            for t in TABLES:
                conn.execute(f'INSERT INTO main."{t}" SELECT * FROM tpl."{t}" WHERE area >= ? AND area < ?', (lo, hi))
                if not own_rows:
                    conn.execute(f'UPDATE main."{t}" SET _pending = NULL WHERE _pending IS NOT NULL')
                    continue
                conn.execute(f'UPDATE main."{t}" SET _clock = replace(_clock, ?1, ?2), '
                             f'_pending = replace(_pending, ?1, ?2)', (tpl_replica, replica))
                if t in ("visits", "petitions"):
                    conn.execute(f'UPDATE main."{t}" SET station = ?', (code,))
            hlc_last = tpl_meta["hlc_last"].replace(tpl_replica, replica) if own_rows else tpl_meta["hlc_last"]
            _set_meta(conn, {
                "replica_id": replica, "station": code, "scope": code, "county": code[:6],
                "hub": hub.target, "mode": "networked", "hlc_last": hlc_last, "seq": tpl_meta["seq"],
                "cursor": cursor,
            })
            conn.execute("COMMIT")
            conn.execute("DETACH DATABASE tpl")
        finally:
            conn.close()
        homes.append(home)
    store, _registry = hub.admin
    with store.transaction():
        store.conn.executemany("INSERT INTO _certs (serial, station, issued_ms, not_after) VALUES (?, ?, ?, ?)", certs)
        store.conn.executemany(
            "INSERT INTO _stations (station, scope, enrolled_ms) VALUES (?, ?, ?) ON CONFLICT(station) DO NOTHING",
            [(code, code, now) for _, code, _, _ in certs],
        )
    return homes


def client_identity(hub: HubProc, home: Path, code: str = COUNTY) -> tuple[bytes, bytes, bytes]:
    """(key, cert, ca) PEMs of a station certificate issued directly (not registered)."""
    csr = identity.make_key_and_csr(code, home, overwrite=True)
    cert_pem, _serial, _ = sign_station_csr(hub.ca, csr, code)
    p = identity.paths(home)
    p.cert.write_bytes(cert_pem)
    p.ca.write_bytes(hub.ca.cert_pem)
    return identity.load_tls_material(home)


def env_for_children() -> dict:
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env
