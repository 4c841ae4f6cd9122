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
        if not (home / "hub.db").exists():
            run([HUB, "init", "--county", county, "--name", "测试县", "--home", str(home)])

    def start(self, port: int = 0, timeout: float = 30) -> "Hub":
        self.proc = subprocess.Popen(
            [HUB, "serve", "--listen", f"127.0.0.1:{port or self.port or 0}", "--home", str(self.home)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        line = ""
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if ready:
                line = self.proc.stdout.readline()
                m = re.search(r"sync=[^:]+:(\d+) enroll=[^:]+:(\d+)", line)
                if m:
                    self.port, self.enroll_port = int(m.group(1)), int(m.group(2))
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
    from sync.domain import id_number_check_digit

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
