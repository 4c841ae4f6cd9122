"""Faults with real processes on 127.0.0.1: the hub killed (SIGKILL) in the
middle of a push, a station killed in the middle of a pull, a proxy cutting
connections mid-stream, the hub down, and the daemon. After restart and resync:
nothing lost, nothing duplicated (DESIGN §4 "Every step is resumable")."""

from __future__ import annotations

import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from procs import (
    REPLICATED_TABLES,
    STATION,
    VILLAGE_A,
    CuttingProxy,
    GateProxy,
    Hub,
    Station,
    id_number,
    one_line_error,
    query,
    row_counts,
    rows_of,
    set_station_meta,
    wait_for,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

# A village with ~2,800 rows (6 push/pull batches of 500 with --batch-rows 500): 1 town, 2 villages.
SCALE = dict(scale=0.015, county="440902", towns=1, villages_per_town=2)


def generate(station: Station) -> int:
    """Write a few thousand pending rows of the station's village straight into its database."""
    from bench.generate import generate_county
    from sync.store.station import Store

    store = Store(station.home / "station.db")
    try:
        # registered by this station, as the hub demands of the rows a station pushes
        return generate_county(store, station_scope=station.code, station=station.code, **SCALE).total
    finally:
        store.close()


def pending(station: Station) -> int:
    return sum(query(station.home, f'SELECT count(*) FROM "{t}" WHERE _pending IS NOT NULL')[0][0]
               for t in REPLICATED_TABLES)


def cursor(station: Station) -> int:
    rows = query(station.home, "SELECT value FROM _meta WHERE key = 'cursor'")
    return int(rows[0][0]) if rows and rows[0][0] else 0


def hub_total(hub: Hub) -> int:
    return sum(n for t, n in row_counts(hub.home).items() if t != "conflicts")


def assert_exact_scope(hub: Hub, station: Station, *, pulled: bool = True) -> None:
    """The station holds exactly the hub's rows of its scope, with the same field versions. A station
    that got its rows by pulling does not see confidential petitions another station registered."""
    hidden = set()
    if pulled:
        hidden = {r[0] for r in query(hub.home, "SELECT id FROM petitions WHERE confidential = 1 AND station IS NOT ?",
                                      (station.code,))}
        hidden |= {r[0] for r in query(hub.home, "SELECT id FROM petition_events WHERE petition_id IN "
                                       "(SELECT id FROM petitions WHERE confidential = 1 AND station IS NOT ?)",
                                       (station.code,))}
    for table in REPLICATED_TABLES:
        mine = rows_of(station.home, table)
        theirs = {k: v for k, v in rows_of(hub.home, table, station.code).items() if k not in hidden}
        assert mine == theirs, f"{station.code} {table}: {len(mine)} rows here, {len(theirs)} at the hub"


def sync_popen(station: Station, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([STATION, "sync", "--json", "--home", str(station.home), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)


def finish(proc: subprocess.Popen, timeout: float = 60) -> subprocess.CompletedProcess:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate(timeout=10)
        raise AssertionError(f"sync did not stop within {timeout}s: {err}")
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    """A hub holding a whole village (~2,800 rows), pushed by its first station."""
    root = tmp_path_factory.mktemp("loaded")
    hub = Hub(root / "hub").start()
    seed = Station(root / "seed", VILLAGE_A).enroll(hub)
    total = generate(seed)
    assert seed.sync()["pushed"] == total
    yield hub
    hub.stop()


def fresh_station(hub: Hub, home, code: str = VILLAGE_A) -> Station:
    home.mkdir()
    return Station(home, code).enroll(hub)


@pytest.mark.parametrize("lose", ["request", "ack"])
def test_hub_killed_mid_push_then_resync(tmp_path, lose):
    """SIGKILL the hub while a push is half done: either a batch is in flight
    (lose=request) or batches are applied whose acknowledgements have not
    reached the station (lose=ack: the retry must be a no-op at the hub)."""
    hub = Hub(tmp_path / "hub").start()
    station = Station(tmp_path / "va", VILLAGE_A).enroll(hub)
    total = generate(station)
    assert total > 2000
    # The push is ≈ 3.3 MB up in 6 batches of 500 rows, the acks a few KB each. Slow one direction down,
    # wait for the point to kill at, freeze the proxy there, and kill.
    rates = {"request": dict(rate_up=1_500_000), "ack": dict(rate_down=40_000)}[lose]
    proxy = GateProxy(hub.port, **rates)
    try:
        set_station_meta(station.home, "hub", f"127.0.0.1:{proxy.port}")
        proc = sync_popen(station, "--retries", "1", "--batch-rows", "500")
        try:
            if lose == "request":  # batch 1 applied and acknowledged, the next ones still on the wire
                wait_for(lambda: pending(station) <= total - 500, 30, what="the first ack")
            else:  # the hub applied more than the station has had acknowledged
                wait_for(lambda: pending(station) <= total - 500 and hub_total(hub) > total - pending(station),
                         30, what="an applied batch with its ack on the way")
            proxy.freeze()
            at_hub, left = hub_total(hub), pending(station)
            assert 0 < total - left <= at_hub < total if lose == "request" else total - left < at_hub, (at_hub, left)
            hub.proc.send_signal(signal.SIGKILL)
            hub.proc.wait(10)
            proxy.drop_all()  # the connection dies with the hub: what was in flight is lost
            proxy.thaw()
            failed = finish(proc, 60)
        finally:
            if proc.poll() is None:
                proc.kill()
        message = one_line_error(failed)
        assert "县中心" in message, message
        left = pending(station)
        assert 0 < left < total  # what was acknowledged stays acknowledged, the rest waits
        assert hub_total(hub) >= total - left  # every acknowledged row is durable at the hub

        hub.start(port=hub.port)  # the same port: the station's address does not change
        report = station.sync()
        assert report["pushed"] == left
        assert pending(station) == 0
    finally:
        proxy.close()
        hub.stop()
    counts = row_counts(hub.home)
    assert sum(n for t, n in counts.items() if t != "conflicts") == total
    # one history entry per accepted row change: a re-pushed batch was a no-op, not a second write
    assert query(hub.home, "SELECT count(*) FROM _history")[0][0] == total
    assert query(hub.home, "SELECT count(DISTINCT row_id) FROM _history")[0][0] == total
    assert_exact_scope(hub, station, pulled=False)  # it wrote them all itself


def test_station_killed_mid_pull_then_resync(loaded, tmp_path):
    hub = loaded
    station = fresh_station(hub, tmp_path / "va2")
    last_seq = int(query(hub.home, "SELECT value FROM _meta WHERE key = 'seq'")[0][0])
    proxy = GateProxy(hub.port, rate_down=1_500_000)  # the pull is ≈ 2.8 MB in 6 batches of 500 rows
    try:
        set_station_meta(station.home, "hub", f"127.0.0.1:{proxy.port}")
        proc = sync_popen(station, "--retries", "1", "--batch-rows", "500")
        try:
            wait_for(lambda: cursor(station) > 0, 30, what="the first pulled batch")
            proxy.freeze()
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
        assert proc.returncode == -signal.SIGKILL
        half = cursor(station)
        have = sum(len(rows_of(station.home, t)) for t in REPLICATED_TABLES)
        assert 0 < half < last_seq
        assert 0 < have < sum(len(rows_of(hub.home, t, VILLAGE_A)) for t in REPLICATED_TABLES)
        proxy.thaw()
        report = station.sync()
        assert 0 < report["pulled"] < 2900  # the rest, not everything again
        assert report["cursor"] >= last_seq
    finally:
        proxy.close()
    assert_exact_scope(hub, station)
    assert station.cli_json("status")["pending"] == 0


def test_proxy_cutting_mid_stream(loaded, tmp_path):
    hub = loaded
    station = fresh_station(hub, tmp_path / "va3")
    mine = station.add_veteran(id_number(901), "陈九")
    before = rows_of(station.home, "veterans")
    proxy = CuttingProxy(hub.port, cut_after=300_000)
    try:
        set_station_meta(station.home, "hub", f"127.0.0.1:{proxy.port}")
        for _ in range(2):
            started = time.monotonic()
            failed = station.cli("sync", "--retries", "1", check=False, timeout=60)
            assert time.monotonic() - started < 30
            message = one_line_error(failed)
            assert "连不上县中心" in message, message
            after = rows_of(station.home, "veterans")
            assert after[mine] == before[mine]  # the local record is intact
            assert {k: v for k, v in after.items() if k in before} == before
        assert proxy.cuts >= 2
        assert len(query(hub.home, "SELECT id FROM veterans WHERE id = ?", (mine,))) == 1
        proxy.cut_after = None
        report = station.sync()
        assert report["pulled"] > 2000
    finally:
        proxy.close()
    assert_exact_scope(hub, station)
    assert query(hub.home, "SELECT count(*) FROM veterans WHERE id = ?", (mine,))[0][0] == 1
    assert station.cli_json("status")["pending"] == 0


def test_hub_unreachable_fails_fast_and_status_still_works(tmp_path):
    hub = Hub(tmp_path / "hub").start()
    station = Station(tmp_path / "va", VILLAGE_A).enroll(hub)
    assert hub.stop() == 0
    station.add_veteran(id_number(902), "孙十")
    started = time.monotonic()
    failed = station.cli("sync", "--retries", "2", check=False, timeout=60)
    elapsed = time.monotonic() - started
    message = one_line_error(failed)
    assert "连不上县中心" in message and hub.target in message, message
    assert elapsed < 30, elapsed
    assert failed.stderr.count("后重试") == 1  # two attempts: one retry announced
    status = station.cli_json("status")
    assert status["pending"] >= 1 and status["last_sync"] is None
    assert len(rows_of(station.home, "veterans")) == 1


def test_daemon_syncs_a_change_made_while_it_runs(tmp_path):
    hub = Hub(tmp_path / "hub").start()
    station = Station(tmp_path / "va", VILLAGE_A).enroll(hub)
    daemon = subprocess.Popen([STATION, "daemon", "--interval", "0.5", "--home", str(station.home)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    try:
        wait_for(lambda: query(station.home, "SELECT value FROM _meta WHERE key = 'last_sync_ms'"), 20,
                 what="the daemon's first sync")
        vid = station.add_veteran(id_number(903), "周十一")
        wait_for(lambda: vid in rows_of(hub.home, "veterans"), 20, what="the daemon to push the new veteran")
        wait_for(lambda: station.cli_json("status")["pending"] == 0, 20, what="the acknowledgement")
        assert daemon.poll() is None
        daemon.send_signal(signal.SIGTERM)
        out, err = daemon.communicate(timeout=20)
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait(10)
        hub.stop()
    assert daemon.returncode == 0, err
    assert "已同步" in err
    assert rows_of(hub.home, "veterans") == rows_of(station.home, "veterans")


class SilentHub:
    """A TCP port that accepts connections and never says a word: a hung hub, or a
    middlebox that swallows everything."""

    def __init__(self):
        import socket
        import threading

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.held: list = []
        self.accepted = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            self.held.append(conn)

    def close(self):
        self.sock.close()
        for conn in self.held:
            conn.close()


def test_a_hub_that_never_answers_is_unresponsive_not_a_certificate_problem(tmp_path):
    """Connected and no answer: the sync says the hub does not answer (not that the certificate is
    refused), and the daemon waits it out with backoff, its lines stamped, until it is stopped."""
    hub = Hub(tmp_path / "hub").start()
    station = Station(tmp_path / "va", VILLAGE_A).enroll(hub)
    hub.stop()
    silent = SilentHub()
    try:
        set_station_meta(station.home, "hub", f"127.0.0.1:{silent.port}")
        started = time.monotonic()
        failed = station.cli("sync", "--retries", "1", "--timeout", "1.5", check=False, timeout=60)
        assert time.monotonic() - started < 20
        message = one_line_error(failed)
        assert f"县中心 127.0.0.1:{silent.port} 无响应" in message, message
        assert "证书" not in failed.stderr, failed.stderr
        assert silent.accepted >= 1  # it did connect: the hub is there and silent

        daemon = subprocess.Popen([STATION, "daemon", "--interval", "0.2", "--timeout", "1", "--home", str(station.home)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
        try:
            time.sleep(6)
            assert daemon.poll() is None, daemon.communicate(timeout=5)
            daemon.send_signal(signal.SIGTERM)
            _, err = daemon.communicate(timeout=20)
        finally:
            if daemon.poll() is None:
                daemon.kill()
                daemon.wait(10)
    finally:
        silent.close()
    assert daemon.returncode == 0, err
    lines = [line for line in err.splitlines() if line.strip()]
    failures = [line for line in lines if "同步失败" in line]
    assert len(failures) >= 2, err  # retried, not given up
    assert all("无响应" in line and "后重试" in line for line in failures), err
    assert "证书" not in err, err
    assert all(re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d ", line) for line in lines), err


def test_the_daemon_stops_on_a_revoked_certificate_with_its_own_exit_status(tmp_path):
    """A permanent problem: one line that says so, exit 3 (the systemd unit does not restart on it)."""
    from station_node.daemon import EXIT_PERMANENT

    hub = Hub(tmp_path / "hub").start()
    station = Station(tmp_path / "va", VILLAGE_A).enroll(hub)
    try:
        hub.cli("revoke", "--station", VILLAGE_A)
        daemon = subprocess.run([STATION, "daemon", "--interval", "0.2", "--home", str(station.home)],
                                capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60)
    finally:
        hub.stop()
    assert daemon.returncode == EXIT_PERMANENT, daemon.stderr
    assert "须人工处理" in daemon.stderr.splitlines()[-1], daemon.stderr
    unit = (Path(__file__).parents[1] / "deploy" / "systemd" / "vetsync-station.service").read_text()
    assert f"RestartPreventExitStatus={EXIT_PERMANENT}" in unit and "Restart=on-failure" in unit
