"""Run the hub: the sync port (mutual TLS) and the enrollment port (server
TLS, sync port + 1), each a server of its own with its own thread pool and
bounds (``county_hub.limits``), both on one asyncio event loop, with the gRPC
health service on both. A peer that holds calls open holds coroutines, not
threads, and runs into the limits; the other port and the other stations go
on being served. Stops cleanly on SIGTERM/SIGINT: in-flight calls get a grace
period, each push batch is one transaction, so a stop never half-applies
anything."""

from __future__ import annotations

import asyncio
import logging
import re
import signal
from concurrent import futures
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer

from county_hub.backup import hold_serve_lock, release_serve_lock
from county_hub.ca import load_ca
from county_hub.home import mark_served, open_hub
from county_hub.limits import MAX_ENROLL_MESSAGE_BYTES, MAX_MESSAGE_BYTES, Limits
from county_hub.service import EnrollmentService, SyncService, enrollment_handlers, sync_handlers

log = logging.getLogger("county_hub.server")

__all__ = ["HubServer", "MAX_MESSAGE_BYTES", "split_listen", "listening_line", "parse_listening"]

DEFAULT_PORT = 7443


def split_listen(listen: str) -> tuple[str, int]:
    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit():
        from county_hub.errors import HubError

        raise HubError(f"监听地址应为 HOST:PORT：{listen}")
    return host.strip("[]"), int(port)


_LISTENING = re.compile(r"listening sync=\[?([^\s\]]+?)\]?:(\d+) enroll=\[?[^\s\]]+?\]?:(\d+)")


def listening_line(host: str, port: int, enroll_port: int) -> str:
    """The one line ``county-hub serve`` prints when ready (a stable contract)."""
    return f"listening sync={host}:{port} enroll={host}:{enroll_port}"


def parse_listening(line: str) -> tuple[str, int, int] | None:
    """(host, sync port, enroll port) from a :func:`listening_line`, else None."""
    m = _LISTENING.search(line)
    return (m.group(1), int(m.group(2)), int(m.group(3))) if m else None


def free_port_pair(host: str = "127.0.0.1") -> int:
    """A port p with p and p + 1 both free right now (for --listen HOST:0)."""
    import socket

    for _ in range(50):
        with socket.socket() as a:
            a.bind((host if host not in ("0.0.0.0", "::", "[::]") else "", 0))
            p = a.getsockname()[1]
            with socket.socket() as b:
                try:
                    b.bind((host if host not in ("0.0.0.0", "::", "[::]") else "", p + 1))
                except OSError:
                    continue
        return p
    raise OSError("no free port pair")


class HubServer:
    """Both ports of the hub. ``serve_forever`` runs them until a signal;
    the servers are made inside the event loop, so binding errors surface there."""

    def __init__(self, home: Path, listen: str = f"0.0.0.0:{DEFAULT_PORT}", *, limits: Limits = Limits(),
                 max_db_bytes: int | None = None):
        self.home = Path(home)
        self.limits = limits
        self._serve_lock = hold_serve_lock(self.home)  # shared while serving: `county-hub restore` refuses
        self.store, self.registry = open_hub(self.home)
        mark_served(self.store, self.home)
        # --max-db-mb: the database grows no further (a push beyond is refused, RESOURCE_EXHAUSTED, as on a
        # full disk); SQLite keeps the limit at least the present size.
        self.max_db_bytes = max_db_bytes
        self.db_limit_bytes = self.store.rows.limit_size(max_db_bytes) if max_db_bytes else None
        self.ca = load_ca(self.home)
        tls = self.home / "tls"
        key, cert = (tls / "server.key").read_bytes(), (tls / "server.crt").read_bytes()
        self._identity = [(key, cert + self.ca.cert_pem)]  # the CA rides along so a station can check the pinned fingerprint
        self.host, port = split_listen(listen)
        self.port = port or free_port_pair(self.host)
        self.enroll_port = self.port + 1
        self.sync_pool = futures.ThreadPoolExecutor(limits.sync_workers, thread_name_prefix="sync")
        self.enroll_pool = futures.ThreadPoolExecutor(limits.enroll_workers, thread_name_prefix="enroll")
        self._servers: list[grpc.aio.Server] = []
        self._health: list[HealthServicer] = []

    def _options(self, *, enroll: bool) -> list[tuple[str, int]]:
        lim = self.limits
        size = MAX_ENROLL_MESSAGE_BYTES if enroll else MAX_MESSAGE_BYTES
        return [
            ("grpc.max_receive_message_length", size),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            ("grpc.so_reuseport", 0),
            ("grpc.max_concurrent_streams", 2 if enroll else lim.streams_per_connection),
            ("grpc.max_connection_idle_ms", lim.connection_idle_ms),
            ("grpc.max_connection_age_ms", lim.enroll_connection_age_ms if enroll else lim.connection_age_ms),
            ("grpc.max_connection_age_grace_ms",
             lim.enroll_connection_grace_ms if enroll else lim.connection_grace_ms),
        ]

    async def _start(self) -> None:
        lim = self.limits
        sync = SyncService(self.store, self.registry, self.sync_pool, lim, ca=self.ca)
        enrollment = EnrollmentService(self.store, self.registry, self.ca, self.enroll_pool, lim)
        plan = [
            (self.port, [sync_handlers(sync)], lim.sync_calls, False,
             grpc.ssl_server_credentials(self._identity, root_certificates=self.ca.cert_pem, require_client_auth=True)),
            (self.enroll_port, enrollment_handlers(enrollment), lim.enroll_calls, True,
             grpc.ssl_server_credentials(self._identity, require_client_auth=False)),
        ]
        for port, handlers, most, enroll, creds in plan:
            server = grpc.aio.server(handlers=handlers, options=self._options(enroll=enroll),
                                     maximum_concurrent_rpcs=most)
            hs = HealthServicer()
            health_pb2_grpc.add_HealthServicer_to_server(hs, server)
            if not server.add_secure_port(f"{self.host}:{port}", creds):
                from county_hub.errors import HubError

                raise HubError(f"无法监听 {self.host}:{port}（端口被占用？）")
            self._servers.append(server)
            self._health.append(hs)
        for server in self._servers:
            await server.start()
        if self.db_limit_bytes:
            log.info("database size limit %.1f MB", self.db_limit_bytes / 2**20)
            if self.db_limit_bytes > self.max_db_bytes:
                log.warning("the database already holds more than --max-db-mb (%.1f MB): every write that "
                            "grows it is refused", self.max_db_bytes / 2**20)
        for hs in self._health:  # either port answers for the whole hub (monitoring needs no certificate)
            for service in ("", "vetsync.v1.Sync", "vetsync.v1.Enrollment"):
                await hs.set(service, health_pb2.HealthCheckResponse.SERVING)

    async def _stop(self, grace: float = 5.0) -> None:
        for hs in self._health:
            await hs.enter_graceful_shutdown()
        await asyncio.gather(*(server.stop(grace) for server in self._servers))

    async def _main(self, on_ready) -> None:
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stopping.set)
        await self._start()
        if on_ready:
            on_ready(self)
        await stopping.wait()
        log.info("stopping")
        await self._stop()

    def serve_forever(self, on_ready=None) -> None:
        try:
            asyncio.run(self._main(on_ready))
        finally:
            self.sync_pool.shutdown(wait=True)
            self.enroll_pool.shutdown(wait=True)
            mark_served(self.store, self.home)  # what this hub served, for the next start to compare
            self.store.close()
            release_serve_lock(self._serve_lock)
