"""Serve a page with waitress (a well-kept pure-Python WSGI server, several
threads): print ``listening http://HOST:PORT`` when ready (one line, a stable
contract like ``county-hub serve``'s) and stop on SIGTERM or SIGINT."""

from __future__ import annotations

import re
import signal
import socket
import sys
from typing import Callable

from sync.engine.errors import ValidationError
from vetsync_web.app import is_loopback

__all__ = ["split_listen", "serve", "bind", "listening_line", "parse_listening", "check_bind"]

_LISTENING = re.compile(r"listening (http://\S+)")


def listening_line(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"listening http://{shown}:{port}"


def parse_listening(line: str) -> str | None:
    """The page's address from a :func:`listening_line`, else None."""
    m = _LISTENING.search(line)
    return m.group(1) if m else None


def split_listen(listen: str) -> tuple[str, int]:
    host, _, port = (listen or "").rpartition(":")
    host = host.strip("[]")
    if not host or not port.isdigit() or int(port) > 65535:
        raise ValidationError(f"监听地址应为 HOST:PORT，如 127.0.0.1:8470：{listen}")
    return host, int(port)


def check_bind(host: str, allow_remote: bool) -> None:
    """Only loopback unless ``--allow-remote`` says otherwise; never every address at once."""
    if host in ("0.0.0.0", "::", ""):
        raise ValidationError("不能监听所有地址：请写本机的一个具体地址（如 192.168.1.20）", hint="加 --allow-remote")
    if not is_loopback(host) and not allow_remote:
        raise ValidationError(f"{host} 不是本机回环地址：其他电脑也能打开此页面", hint="确需如此请加 --allow-remote")


def bind(host: str, port: int) -> tuple[socket.socket, int]:
    """A listening socket at host:port (port 0: a free one) and its port: the page
    must know its port (the ``Host`` it answers) before it is made."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(64)
    except OSError as exc:
        sock.close()
        raise ValidationError(f"无法监听 {host}:{port}（端口被占用或地址不属于本机？）") from exc
    return sock, sock.getsockname()[1]


def serve(app, host: str, port: int, *, sock: socket.socket | None = None, threads: int = 6,
          on_ready: Callable[[int], None] | None = None, on_stop: Callable[[], None] | None = None) -> None:
    """Serve until SIGTERM/SIGINT (on ``sock`` from :func:`bind`, else a new one);
    ``on_ready(port)`` once the socket listens."""
    from waitress.server import create_server

    if sock is None:
        sock, port = bind(host, port)
    server = create_server(app, sockets=[sock], threads=threads, ident="vetsync",
                           clear_untrusted_proxy_headers=True, channel_timeout=60,
                           max_request_body_size=app.config.get("MAX_CONTENT_LENGTH") or 2**30)

    def stop(signum, frame):
        raise SystemExit(0)

    previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        print(listening_line(host, port), flush=True)
        if on_ready:
            on_ready(port)
        server.run()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        server.close()
        if on_stop:
            on_stop()
    sys.stdout.flush()
