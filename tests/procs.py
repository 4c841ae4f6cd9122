"""Real processes for end-to-end tests: a county hub started with
``county-hub serve`` on 127.0.0.1 (free port pair), stations made with
``station-node init`` and driven through their CLI, and a TCP proxy that can
cut connections mid-stream. Everything is bounded in time and cleaned up."""

from __future__ import annotations

import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from county_hub.server import parse_listening

BIN = Path(sys.executable).parent
HUB = str(BIN / "county-hub")
STATION = str(BIN / "station-node")
COUNTY = "440902"
TOWN = "440902001"
VILLAGE_A = "440902001001"
VILLAGE_B = "440902001002"


def run(cmd: list[str], *, check: bool = True, timeout: float = 60, env: dict | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})},
                          stdin=subprocess.DEVNULL)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd[:4])}… exited {proc.returncode}\nstdout: {proc.stdout}\nstderr: {proc.stderr}")
    return proc


class Hub:
    def __init__(self, home: Path, county: str = COUNTY):
        self.home = home
        self.county = county
        self.proc: subprocess.Popen | None = None
        self.port = self.enroll_port = 0
        self.start_args: list[str] = []  # more `county-hub serve` options (e.g. shorter time limits)
        if not (home / "hub.db").exists():
            run([HUB, "init", "--county", county, "--name", "测试县", "--home", str(home)])

    def start(self, port: int = 0, timeout: float = 30) -> "Hub":
        self.proc = subprocess.Popen(
            [HUB, "serve", "--listen", f"127.0.0.1:{port or self.port or 0}", "--home", str(self.home), *self.start_args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        line = ""
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if ready:
                line = self.proc.stdout.readline()
                m = parse_listening(line)
                if m:
                    _host, self.port, self.enroll_port = m
                    return self
            if self.proc.poll() is not None:
                break
        err = self.proc.stderr.read() if self.proc.poll() is not None else ""
        self.kill()
        raise AssertionError(f"hub did not start: {line!r} {err}")

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def token(self, station: str, *extra: str) -> str:
        return run([HUB, "token", "--station", station, "--home", str(self.home), *extra]).stdout.strip()

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return run([HUB, *args, "--home", str(self.home)], check=check)

    def cli_json(self, *args: str):
        return json.loads(self.cli(*args, "--json").stdout)

    def stop(self, timeout: float = 15) -> int | None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return self.proc.returncode if self.proc else None

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


class Station:
    def __init__(self, home: Path, code: str):
        self.home, self.code = home, code

    def enroll(self, hub: Hub, target: str | None = None) -> "Station":
        token = hub.token(self.code)
        self.cli("init", "--station", self.code, "--hub", target or hub.target, "--token", token)
        return self

    def cli(self, *args: str, check: bool = True, timeout: float = 60, env: dict | None = None) -> subprocess.CompletedProcess:
        return run([STATION, *args, "--home", str(self.home)], check=check, timeout=timeout, env=env)

    def cli_json(self, *args: str):
        return json.loads(self.cli(*args, "--json").stdout)

    def sync(self, *extra: str, check: bool = True) -> dict | subprocess.CompletedProcess:
        proc = self.cli("sync", "--json", *extra, check=check)
        return json.loads(proc.stdout) if proc.returncode == 0 else proc

    def add_veteran(self, id_number: str, name: str, area: str | None = None) -> str:
        return self.cli_json("veteran", "add", "--id-number", id_number, "--name", name, "--area", area or self.code)["id"]


def id_number(seq: int, birth: str = "19700101") -> str:
    from veterans.values import id_number_check_digit

    first17 = f"{COUNTY}{birth}{seq % 1000:03d}"
    return first17 + id_number_check_digit(first17)


class CuttingProxy:
    """A TCP proxy on 127.0.0.1 that forwards to ``target_port`` and, when
    ``cut_after`` bytes have flowed hub → station on a connection, cuts it."""

    def __init__(self, target_port: int, *, cut_after: int | None = None):
        self.target_port = target_port
        self.cut_after = cut_after
        self.cuts = 0
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self._stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        self.sock.settimeout(0.2)
        while not self._stop.is_set():
            try:
                client, _ = self.sock.accept()
            except OSError:
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
            except OSError:
                client.close()
                continue
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    def _pump(self, client: socket.socket, upstream: socket.socket) -> None:
        down = 0
        socks = [client, upstream]
        try:
            while not self._stop.is_set():
                ready, _, _ = select.select(socks, [], [], 0.2)
                for s in ready:
                    data = s.recv(65536)
                    if not data:
                        return
                    if s is upstream:
                        down += len(data)
                        if self.cut_after is not None and down > self.cut_after:
                            self.cuts += 1
                            return
                        client.sendall(data)
                    else:
                        upstream.sendall(data)
        except OSError:
            return
        finally:
            for s in socks:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()

    def close(self) -> None:
        self._stop.set()
        self.sock.close()


# --------------------------------------------------------------------------- helpers for the fault and security tests

# Every replicated table, as the schema declares them (the bench data fills plaques too).
from sync.engine.schema import TABLES as _TABLES  # noqa: E402

REPLICATED_TABLES = tuple(_TABLES)


def db_of(home: Path) -> Path:
    return home / "hub.db" if (home / "hub.db").exists() else home / "station.db"


def rows_of(home: Path, table: str, scope: str = "") -> dict:
    """``{id: (area, _clock, deleted)}`` of one replicated table (read-only, safe while a process runs)."""
    import sqlite3

    conn = sqlite3.connect(f"file:{db_of(home)}?mode=ro", uri=True, timeout=10)
    try:
        rows = conn.execute(f'SELECT id, area, _clock, deleted FROM "{table}"').fetchall()
    finally:
        conn.close()
    return {r[0]: (r[1], r[2], r[3]) for r in rows if (r[1] or "").startswith(scope)}


def row_counts(home: Path) -> dict[str, int]:
    """``count(*)`` of every replicated table (duplicates would show here)."""
    import sqlite3

    conn = sqlite3.connect(f"file:{db_of(home)}?mode=ro", uri=True, timeout=10)
    try:
        return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in REPLICATED_TABLES}
    finally:
        conn.close()


def query(home: Path, sql: str, params: tuple = ()) -> list[tuple]:
    import sqlite3

    conn = sqlite3.connect(f"file:{db_of(home)}?mode=ro", uri=True, timeout=10)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def set_station_meta(home: Path, key: str, value: str) -> None:
    import sqlite3

    conn = sqlite3.connect(home / "station.db", timeout=10)
    try:
        with conn:
            conn.execute("UPDATE _meta SET value = ? WHERE key = ?", (value, key))
    finally:
        conn.close()


def wait_for(predicate, timeout: float, interval: float = 0.02, what: str = "condition"):
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def mtls_channel(target: str, *, ca: bytes, key: bytes | None = None, cert: bytes | None = None):
    """A gRPC channel with the given TLS material (no client certificate when key/cert are None)."""
    import grpc

    creds = grpc.ssl_channel_credentials(root_certificates=ca, private_key=key, certificate_chain=cert)
    return grpc.secure_channel(target, creds, options=[
        ("grpc.max_receive_message_length", 64 * 1024 * 1024), ("grpc.max_send_message_length", 64 * 1024 * 1024),
        ("grpc.enable_retries", 0),
    ])


def station_tls(home: Path) -> tuple[bytes, bytes, bytes]:
    """``(key, cert, ca)`` PEMs of an enrolled station."""
    tls = home / "tls"
    return (tls / "station.key").read_bytes(), (tls / "station.crt").read_bytes(), (tls / "ca.crt").read_bytes()


def one_line_error(proc: subprocess.CompletedProcess) -> str:
    """The CLI's failure: non-zero exit, and the last stderr line holds the message (Chinese, no traceback)."""
    assert proc.returncode != 0, proc.stdout
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert lines, "no error message"
    assert re.search(r"[\u4e00-\u9fff]", lines[-1]), lines[-1]
    return lines[-1]


class GateProxy(CuttingProxy):
    """A CuttingProxy that can also slow a direction down to ``rate_up`` /
    ``rate_down`` bytes per second (station → hub / hub → station), and
    ``freeze()`` all forwarding until ``thaw()`` — so a test can stop a session
    at a point it has observed and act there. ``up``/``down`` count the bytes
    of the latest connection."""

    def __init__(self, target_port: int, *, rate_up: float | None = None, rate_down: float | None = None,
                 cut_after: int | None = None):
        self.rate_up, self.rate_down = rate_up, rate_down
        self.frozen = False
        self.up = self.down = 0
        self._generation = 0
        super().__init__(target_port, cut_after=cut_after)

    def freeze(self) -> None:
        self.frozen = True
        time.sleep(0.1)  # a chunk being forwarded right now gets through

    def drop_all(self) -> None:
        """Cut every open connection, dropping whatever is still in flight (new ones are served)."""
        self._generation += 1
        time.sleep(0.1)

    def thaw(self, *, unthrottle: bool = True) -> None:
        if unthrottle:
            self.rate_up = self.rate_down = None
        self.frozen = False

    def _pump(self, client: socket.socket, upstream: socket.socket) -> None:
        self.up = self.down = 0
        next_ok = {client: 0.0, upstream: 0.0}
        generation = self._generation
        try:
            while not self._stop.is_set() and generation == self._generation:
                now = time.monotonic()
                socks = [] if self.frozen else [s for s in (client, upstream) if next_ok[s] <= now]
                waiting = [next_ok[s] - now for s in (client, upstream) if next_ok[s] > now]
                if not socks:
                    time.sleep(min([0.01, *waiting]))
                    continue
                ready, _, _ = select.select(socks, [], [], min([0.05, *waiting]))
                for s in ready:
                    data = s.recv(16384)
                    if not data:
                        return
                    if s is upstream:
                        self.down += len(data)
                        if self.cut_after is not None and self.down > self.cut_after:
                            self.cuts += 1
                            return
                        client.sendall(data)
                        rate = self.rate_down
                    else:
                        self.up += len(data)
                        upstream.sendall(data)
                        rate = self.rate_up
                    if rate:
                        next_ok[s] = max(next_ok[s], time.monotonic()) + len(data) / rate
        except OSError:
            return
        finally:
            for s in (client, upstream):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()


def _drain(stream, keep: list[str]) -> None:
    for line in iter(stream.readline, ""):
        keep.append(line)
        del keep[:-200]


_hub_start = Hub.start


def _start_and_drain(self: Hub, port: int = 0, timeout: float = 30) -> Hub:
    """Hub.start, then read the hub's stdout and stderr on threads (last 200 lines
    kept in ``hub.log``): a hub that logs a lot must never block on a full pipe."""
    _hub_start(self, port, timeout)
    self.log = []
    for stream in (self.proc.stdout, self.proc.stderr):
        threading.Thread(target=_drain, args=(stream, self.log), daemon=True).start()
    return self


Hub.start = _start_and_drain
