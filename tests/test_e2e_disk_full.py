"""Out of disk and disk I/O errors, with real processes on 127.0.0.1.

How the disk is made to fill:

- the hub: ``county-hub serve --max-db-mb N`` (SQLite ``max_page_count`` on
  the serving connection; an operator setting too, to spare a shared disk).
  A write beyond fails as on a full disk, ``SQLITE_FULL``, and the hub answers
  ``RESOURCE_EXHAUSTED``. And a file-size limit (``RLIMIT_FSIZE``) set on the
  running hub with ``prlimit`` and lifted again: a write beyond fails with
  EFBIG (CPython ignores SIGXFSZ, so the process lives), which SQLite reports
  as ``SQLITE_IOERR_WRITE``; the hub answers ``UNAVAILABLE``. Lifting the limit
  is space coming back to the same process: it resumes by itself.
- a station: ``RLIMIT_FSIZE`` on the ``station-node`` process (a
  ``preexec_fn``), so no test-only knob is needed in the station.

In every case the failed transaction rolls back whole: nothing of it is
acknowledged or half written, and the next try succeeds once there is room.
The mappings themselves (what SQLite reports, what the station makes of the
hub's status, what the CLI says) are tested in process at the bottom.
"""

from __future__ import annotations

import resource
import sqlite3
import subprocess

import grpc
import pytest

from procs import (
    REPLICATED_TABLES,
    STATION,
    TOWN,
    VILLAGE_A,
    VILLAGE_B,
    Hub,
    Station,
    id_number,
    one_line_error,
    query,
    rows_of,
)

# Village A: ~2,800 rows (≈ 2 MB at the hub); village B at scale 0.04: ~3,400 rows (≈ 2.3 MB), more than
# the room the tests leave.
MB = 2**20


def generate(station: Station, scale: float = 0.015) -> int:
    """Write a few thousand pending rows of the station's village straight into its database."""
    from bench.generate import generate_county
    from sync.store.station import Store

    store = Store(station.home / "station.db")
    try:
        return generate_county(store, station_scope=station.code, station=station.code, scale=scale,
                               county="440902", towns=1, villages_per_town=2).total
    finally:
        store.close()


def pending(station: Station) -> int:
    return sum(query(station.home, f'SELECT count(*) FROM "{t}" WHERE _pending IS NOT NULL')[0][0]
               for t in REPLICATED_TABLES)


def hub_state(hub: Hub) -> dict:
    """Everything the hub holds of the stations' data: every replicated row, the history, the change counter."""
    state = {t: query(hub.home, f'SELECT * FROM "{t}" ORDER BY id') for t in REPLICATED_TABLES}
    state["_history"] = query(hub.home, "SELECT count(*), max(rowid) FROM _history")
    state["seq"] = query(hub.home, "SELECT value FROM _meta WHERE key = 'seq'")
    return state


def integrity(path) -> str:
    conn = sqlite3.connect(path, timeout=10)
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()


def visible(hub: Hub, station: Station) -> dict[str, dict]:
    """The hub's rows of the station's scope that it may pull: less other stations' confidential petitions."""
    others = "SELECT id FROM petitions WHERE confidential = 1 AND station IS NOT ?"
    hidden = {r[0] for r in query(hub.home, others, (station.code,))}
    hidden |= {r[0] for r in query(hub.home, f"SELECT id FROM petition_events WHERE petition_id IN ({others})",
                                   (station.code,))}
    return {t: {k: v for k, v in rows_of(hub.home, t, station.code).items() if k not in hidden}
            for t in REPLICATED_TABLES}


def assert_scope_equal(hub: Hub, station: Station) -> None:
    """The station holds exactly what it may see of the hub's rows of its scope."""
    for table, theirs in visible(hub, station).items():
        assert rows_of(station.home, table) == theirs, table


def file_limit(limit: int):
    """A preexec_fn: the process may not make any file larger than ``limit`` bytes."""
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
    return apply


def station_cli(station: Station, *args: str, limit: int) -> subprocess.CompletedProcess:
    return subprocess.run([STATION, *args, "--home", str(station.home)], capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL, preexec_fn=file_limit(limit))


@pytest.fixture
def two_villages(tmp_path):
    """A hub holding village A (pushed by its first station), and village B's station with its
    ~3,400 rows not yet pushed."""
    hub = Hub(tmp_path / "hub").start()
    seed = Station(tmp_path / "seed", VILLAGE_A).enroll(hub)
    total = generate(seed)
    assert seed.sync()["pushed"] == total
    pusher = Station(tmp_path / "vb", VILLAGE_B).enroll(hub)
    big = generate(pusher, scale=0.04)
    assert big > 3000
    yield hub, seed, pusher, big
    hub.stop()


# --------------------------------------------------------------------------- the hub


@pytest.mark.e2e
@pytest.mark.timeout(180)
def test_hub_at_its_size_limit_refuses_a_push_whole_and_goes_on_serving(two_villages, tmp_path):
    hub, seed, pusher, big = two_villages
    hub.stop()
    size = (hub.home / "hub.db").stat().st_size  # the WAL is checkpointed into it by a clean stop
    cap_mb = -(-(size + MB // 4) // MB)  # room for 0.25-1.25 MB more: bookkeeping, not village B's ≈ 2.3 MB
    hub.start_args = ["--max-db-mb", str(cap_mb)]
    hub.start(port=hub.port)
    before = hub_state(hub)

    # one batch of everything: refused whole, retried once after a pause, refused again
    failed = pusher.cli("sync", "--retries", "2", "--batch-rows", "5000", check=False, timeout=120)
    message = one_line_error(failed)
    assert "RESOURCE_EXHAUSTED" in message and "县中心磁盘空间不足，本批未保存" in message, message
    assert failed.stderr.count("后重试") == 1, failed.stderr  # retry-later, not permanent, not a fast loop
    assert pending(pusher) == big  # nothing acknowledged: all of it still waits
    assert hub_state(hub) == before  # nothing of the batch at the hub
    assert any("disk full in Push" in line for line in hub.log), hub.log[-5:]

    # the other stations are served: the town enrolls and pulls village A; a small push fits in the room left
    town = Station(tmp_path / "town", TOWN).enroll(hub)
    assert town.sync()["pulled"] > 2000
    seed.add_veteran(id_number(901), "陈九")
    assert seed.sync()["pushed"] == 1
    assert town.sync()["pulled"] == 1
    assert_scope_equal(hub, town)

    # room again (a larger cap): the next sync pushes everything
    hub.stop()
    hub.start_args = ["--max-db-mb", str(cap_mb + 64)]
    hub.start(port=hub.port)
    assert pusher.sync("--batch-rows", "5000")["pushed"] == big
    assert pending(pusher) == 0
    assert_scope_equal(hub, pusher)
    hub.stop()
    assert integrity(hub.home / "hub.db") == "ok"


@pytest.mark.e2e
@pytest.mark.timeout(180)
@pytest.mark.skipif(not hasattr(resource, "prlimit"), reason="prlimit is Linux only")
def test_hub_that_cannot_write_refuses_and_resumes_by_itself(two_villages, tmp_path):
    hub, seed, pusher, big = two_villages
    files = [hub.home / name for name in ("hub.db", "hub.db-wal")]
    largest = max(f.stat().st_size for f in files if f.exists())
    pid = hub.proc.pid
    resource.prlimit(pid, resource.RLIMIT_FSIZE, (largest + MB // 2, resource.RLIM_INFINITY))
    try:
        before = hub_state(hub)
        failed = pusher.cli("sync", "--retries", "1", "--batch-rows", "5000", check=False, timeout=120)
        message = one_line_error(failed)
        assert "UNAVAILABLE" in message and "县中心磁盘读写出错" in message, message
        assert "连不上" not in message, message  # the hub answered; it is not the network
        assert hub.proc.poll() is None  # EFBIG, not SIGXFSZ: the hub lives
        assert pending(pusher) == big
        assert hub_state(hub) == before
        assert any("disk io in Push" in line for line in hub.log), hub.log[-5:]
        town = Station(tmp_path / "town", TOWN).enroll(hub)
        assert town.sync()["pulled"] > 2000
        assert_scope_equal(hub, town)
    finally:
        resource.prlimit(pid, resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    assert pusher.sync()["pushed"] == big  # the same hub process, room again
    assert pending(pusher) == 0
    assert_scope_equal(hub, pusher)


@pytest.mark.e2e
@pytest.mark.timeout(180)
@pytest.mark.skipif(not hasattr(resource, "prlimit"), reason="prlimit is Linux only")
def test_hub_that_cannot_write_a_byte_still_serves_pulls(two_villages, tmp_path):
    """No room at all: not even a handshake's or a pull's bookkeeping can be written. A station
    that is known already still pulls; only writes are refused."""
    hub, seed, pusher, big = two_villages
    town = Station(tmp_path / "town", TOWN).enroll(hub)
    assert town.sync()["pulled"] > 2000
    seed.add_veteran(id_number(902), "赵十")
    assert seed.sync()["pushed"] == 1
    hub.stop()  # a clean stop checkpoints the WAL into the database: it starts again empty
    hub.start(port=hub.port)
    pid = hub.proc.pid
    wal = hub.home / "hub.db-wal"
    resource.prlimit(pid, resource.RLIMIT_FSIZE, (wal.stat().st_size if wal.exists() else 0, resource.RLIM_INFINITY))
    try:
        report = town.sync()
        assert report["pulled"] == 1 and report["pushed"] == 0, report
        assert_scope_equal(hub, town)
        assert any("not recorded" in line for line in hub.log), hub.log[-5:]
        failed = pusher.cli("sync", "--retries", "1", "--batch-rows", "5000", check=False, timeout=120)
        assert "县中心磁盘读写出错" in one_line_error(failed)
        assert pending(pusher) == big
    finally:
        resource.prlimit(pid, resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    assert pusher.sync()["pushed"] == big
    assert_scope_equal(hub, pusher)


# --------------------------------------------------------------------------- a station


@pytest.mark.e2e
@pytest.mark.timeout(120)
def test_station_whose_disk_is_full_says_so_and_keeps_its_database(tmp_path):
    station = Station(tmp_path / "va", VILLAGE_A)
    station.cli("init", "--station", VILLAGE_A, "--offline")
    kept = station.add_veteran(id_number(1), "张三")
    db = station.home / "station.db"
    before = {t: rows_of(station.home, t) for t in REPLICATED_TABLES}
    # Held open, as a running daemon holds it: the WAL and its index exist, so the limited process
    # opens and reads the database, and the first byte it must add is the one refused.
    held = sqlite3.connect(db, isolation_level=None)
    try:
        held.execute("SELECT count(*) FROM veterans").fetchone()
        shown = station_cli(station, "veteran", "show", kept, limit=0)
        assert shown.returncode == 0 and "张三" in shown.stdout, shown.stderr  # reading still works
        for args in (["veteran", "add", "--id-number", id_number(2), "--name", "李四", "--area", VILLAGE_A],
                     ["veteran", "edit", kept, "--set", "姓名=张三丰"],
                     ["veteran", "delete", kept]):
            failed = station_cli(station, *args, limit=0)
            message = one_line_error(failed)
            assert "本机磁盘" in message and "未保存" in message, message
            assert len(failed.stderr.strip().splitlines()) == 1, failed.stderr
    finally:
        held.close()
    assert integrity(db) == "ok"
    assert {t: rows_of(station.home, t) for t in REPLICATED_TABLES} == before  # nothing half written
    assert station.cli_json("status")["pending"] == 1
    station.add_veteran(id_number(2), "李四")  # room again: it works


@pytest.mark.e2e
@pytest.mark.timeout(180)
def test_station_disk_filling_during_a_pull(two_villages, tmp_path):
    hub, seed, pusher, big = two_villages
    station = Station(tmp_path / "town", TOWN).enroll(hub)
    mine = station.add_veteran(id_number(902), "孙十", VILLAGE_A)
    # ≈ 3 MB to pull in batches of 500 rows, and no file may pass 1 MB: a few batches are saved, then one is not
    failed = station_cli(station, "sync", "--batch-rows", "500", limit=MB)
    message = one_line_error(failed)
    assert "本机磁盘" in message and "未保存" in message, message
    assert integrity(station.home / "station.db") == "ok"
    assert query(hub.home, "SELECT count(*) FROM veterans WHERE id = ?", (mine,))[0][0] == 1  # pushed first
    held = sum(len(rows_of(station.home, t)) for t in REPLICATED_TABLES)
    at_hub = sum(map(len, visible(hub, station).values()))
    assert 1 < held < at_hub  # the batches before the one that did not fit are kept, with their cursor
    report = station.sync()  # room again: the rest, and the station equals the hub
    assert report["pulled"] == at_hub - held and report["pushed"] == 0
    assert_scope_equal(hub, station)
    assert integrity(station.home / "station.db") == "ok"


def test_the_daemon_waits_out_a_full_disk_of_its_own(two_villages, tmp_path):
    """A full disk at the station is not a reason for the daemon to stop: it says so, backs
    off, and syncs once there is room again."""
    from station_node import home as home_mod
    from station_node.daemon import Daemon

    hub, seed, pusher, big = two_villages
    station = Station(tmp_path / "town", TOWN).enroll(hub)
    store = home_mod.open_store(station.home)
    try:
        store.limit_size(0)  # no room at all beyond what the file holds
        lines: list[str] = []
        daemon = Daemon(station.home, store, interval=0.05, max_backoff=0.1, report=lines.append)

        def report(line: str) -> None:
            lines.append(line)
            if len(lines) == 2:
                store.limit_size(1 << 40)  # room again
            if line.startswith("已同步"):
                daemon.stop()

        daemon.report = report
        assert daemon.run() == 0
    finally:
        store.close()
    assert all("本机磁盘空间不足" in line for line in lines[:2]), lines
    assert lines[-1].startswith("已同步") and len(lines) >= 3, lines
    assert integrity(station.home / "station.db") == "ok"
    assert_scope_equal(hub, station)


# --------------------------------------------------------------------------- the mappings, in process


def test_disk_fault_names_what_sqlite_reports(tmp_path):
    from sync.store.rows import RowStore, disk_fault

    store = RowStore(tmp_path / "t.db", create=True)
    try:
        store.conn.execute("CREATE TABLE filler (x TEXT)")
        page = store.conn.execute("PRAGMA page_size").fetchone()[0]
        size = store.conn.execute("PRAGMA page_count").fetchone()[0] * page
        assert store.limit_size(size + 8 * page) == size + 8 * page
        assert store.limit_size(page) == size  # never below the present size
        assert store.limit_size(size + 8 * page) == size + 8 * page
        with pytest.raises(sqlite3.OperationalError) as caught:
            with store.transaction():
                store.set_meta("probe", "1")
                store.conn.executemany("INSERT INTO filler VALUES (?)", [("x" * page,)] * 50)
        assert caught.value.sqlite_errorname == "SQLITE_FULL"  # the cause, not "cannot rollback"
        assert disk_fault(caught.value) == "full"
        assert not store.conn.in_transaction
        assert store.meta("probe") is None  # the whole transaction, not only the statement
        with store.transaction():  # a small write still fits
            store.set_meta("probe", "2")
        assert store.meta("probe") == "2"
    finally:
        store.close()
    io = sqlite3.OperationalError("disk I/O error")
    io.sqlite_errorcode, io.sqlite_errorname = sqlite3.SQLITE_IOERR_WRITE, "SQLITE_IOERR_WRITE"
    assert disk_fault(io) == "io"
    assert disk_fault(OSError(28, "No space left on device")) == "full"
    assert disk_fault(sqlite3.IntegrityError("UNIQUE constraint failed")) is None
    assert disk_fault(ValueError("x")) is None


class _Rpc(grpc.RpcError):
    def __init__(self, code, details):
        self._code, self._details = code, details

    def code(self):
        return self._code

    def details(self):
        return self._details


@pytest.mark.parametrize("code, details, kind, retryable", [
    (grpc.StatusCode.RESOURCE_EXHAUSTED, "县中心磁盘空间不足，本批未保存，请稍后再同步", "HubBusy", True),
    (grpc.StatusCode.UNAVAILABLE, "县中心磁盘读写出错，本批未保存，请稍后再同步", "HubBusy", True),
    (grpc.StatusCode.RESOURCE_EXHAUSTED, "Concurrent RPC limit exceeded!", "HubBusy", True),
    (grpc.StatusCode.RESOURCE_EXHAUSTED, "Received message larger than max (40000000 vs. 33554432)", "HubRefused",
     False),
    (grpc.StatusCode.UNAVAILABLE, "failed to connect to all addresses", "HubUnreachable", True),
    (grpc.StatusCode.DEADLINE_EXCEEDED, "Deadline Exceeded", "HubUnreachable", True),
    (grpc.StatusCode.DEADLINE_EXCEEDED, "ssl handshake: Deadline Exceeded", "HubUnreachable", True),
    (grpc.StatusCode.INTERNAL, "县中心内部错误，请联系管理员", "HubBusy", True),
    (grpc.StatusCode.UNIMPLEMENTED, "Method not found!", "HubRefused", False),
    (grpc.StatusCode.INVALID_ARGUMENT, "一批最多 5000 行", "HubRefused", False),
])
def test_the_hub_saying_later_is_retried(code, details, kind, retryable):
    """And what the clerk reads: the hub's own words (Chinese), never gRPC's (English)."""
    from station_node.errors import from_rpc_error

    err = from_rpc_error(_Rpc(code, details), "127.0.0.1:7443")
    assert type(err).__name__ == kind and err.retryable is retryable
    words = str(err).replace(code.name, "").replace("127.0.0.1:7443", "").replace("vetsync", "")
    assert not any("a" <= c.lower() <= "z" for c in words), str(err)
    if kind == "HubBusy":
        assert code.name in str(err) and err.code == code.name
        assert (details in str(err)) is any("\u4e00" <= c <= "\u9fff" for c in details)


def test_a_full_hub_is_retried_with_backoff_then_reported(tmp_path, monkeypatch):
    """sync_with_retry: a bounded number of tries with growing waits, then the hub's reason."""
    from station_node import session
    from station_node.errors import HubBusy

    tries, waits = [], []

    def refuse(*_a, **_k):
        tries.append(1)
        raise HubBusy("县中心暂时无法处理（RESOURCE_EXHAUSTED）：县中心磁盘空间不足", code="RESOURCE_EXHAUSTED")

    monkeypatch.setattr(session, "connect", refuse)
    with pytest.raises(HubBusy, match="磁盘空间不足"):
        session.sync_with_retry(tmp_path, store=None, attempts=4, sleep=waits.append)
    assert len(tries) == 4 and len(waits) == 3 and all(w >= 0 for w in waits)


@pytest.mark.parametrize("raised, kind", [
    (lambda: _sqlite_error("database or disk is full", sqlite3.SQLITE_FULL), "full"),
    (lambda: _sqlite_error("disk I/O error", sqlite3.SQLITE_IOERR_FSYNC), "io"),
    (lambda: OSError(28, "No space left on device", "名册.xlsx"), "full"),
])
def test_the_cli_says_a_full_or_failing_disk_in_one_line(raised, kind):
    """The chrome of both programs: its own words for the disk, one line, exit 1 (a real full disk
    gives SQLITE_FULL; the process tests above can only make SQLITE_IOERR_WRITE)."""
    import click
    from click.testing import CliRunner

    from vetsync_cli.chrome import DISK_MESSAGES, ChineseGroup

    @click.group(cls=ChineseGroup)
    def prog() -> None:
        pass

    @prog.command()
    def write() -> None:
        raise raised()

    result = CliRunner().invoke(prog, ["write"])
    assert result.exit_code == 1
    assert [line for line in result.output.splitlines() if line.strip()] == [f"错误：{DISK_MESSAGES[kind]}"]


def _sqlite_error(message: str, code: int) -> sqlite3.OperationalError:
    err = sqlite3.OperationalError(message)
    err.sqlite_errorcode = code
    return err
