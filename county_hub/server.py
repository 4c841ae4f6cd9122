"""Run the hub: the sync port (mutual TLS) and the enrollment port (server
TLS, sync port + 1), with the gRPC health service on both. Stops cleanly on
SIGTERM/SIGINT: in-flight calls get a grace period, each push batch is one
transaction, so a stop never half-applies anything."""

from __future__ import annotations

import logging
import re
import signal
import threading
from concurrent import futures
from pathlib import Path

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from county_hub.ca import load_ca
from county_hub.home import open_hub
from county_hub.service import EnrollmentService, SyncService, add_services

log = logging.getLogger("county_hub.server")

__all__ = ["HubServer", "MAX_MESSAGE_BYTES", "split_listen", "listening_line", "parse_listening"]

MAX_MESSAGE_BYTES = 32 * 1024 * 1024
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
    def __init__(self, home: Path, listen: str = f"0.0.0.0:{DEFAULT_PORT}", *, workers: int = 8):
        self.home = Path(home)
        self.store, self.registry = open_hub(self.home)
        ca = load_ca(self.home)
        tls = self.home / "tls"
        key, cert = (tls / "server.key").read_bytes(), (tls / "server.crt").read_bytes()
        chain = cert + ca.cert_pem  # the CA rides along so a station can check the pinned fingerprint
        options = [
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            ("grpc.so_reuseport", 0),
        ]
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=workers), options=options)
        # like sync_pb2_grpc.add_*_to_server, but undecodable requests get INVALID_ARGUMENT, not INTERNAL
        add_services(self.server, SyncService(self.store, self.registry), EnrollmentService(self.store, self.registry, ca))
        self.health = health.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        host, port = split_listen(listen)
        if port == 0:
            port = free_port_pair(host)
        mtls = grpc.ssl_server_credentials([(key, chain)], root_certificates=ca.cert_pem, require_client_auth=True)
        tls_only = grpc.ssl_server_credentials([(key, chain)], require_client_auth=False)
        self.port = self.server.add_secure_port(f"{host}:{port}", mtls)
        self.enroll_port = self.server.add_secure_port(f"{host}:{self.port + 1}", tls_only)
        if not self.port or not self.enroll_port:
            from county_hub.errors import HubError

            raise HubError(f"无法监听 {host}:{port}（端口被占用？）")

    def start(self) -> None:
        self.server.start()
        self.health.set("", health_pb2.HealthCheckResponse.SERVING)
        self.health.set("vetsync.v1.Sync", health_pb2.HealthCheckResponse.SERVING)

    def stop(self, grace: float = 5.0) -> None:
        self.health.enter_graceful_shutdown()
        self.server.stop(grace).wait()
        self.store.close()

    def serve_forever(self, on_ready=None) -> None:
        stopping = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stopping.set())
        self.start()
        if on_ready:
            on_ready(self)
        stopping.wait()
        log.info("stopping")
        self.stop()
