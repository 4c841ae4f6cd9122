"""Networked ``station-node init``: enroll with the county hub.

1. The token names the station and pins the county CA by its SHA-256
   fingerprint. The hub's enrollment port (sync port + 1) sends its CA along
   with its server certificate; we take the chain from the TLS handshake and
   keep the certificate whose fingerprint is the pinned one. Anything else →
   refuse (a hub we cannot trust never sees our request).
2. The key pair is made here (private key 0600, never leaves the PC) and the
   CSR is sent with the token over TLS verified against that CA.
3. The returned certificate is checked (issued by the pinned CA, our key, our
   station) and stored; only then is the station database created.
A failure at any step leaves no half-made home behind.

``init --reenroll`` (:func:`reenroll`) does the same for a home that already
exists: a station enrolled before (its certificate revoked, expired, lost, or
unknown to a hub restored from an old backup) or made with ``--offline`` (it
joins the network). The database is kept as it is — its replica, its cursor,
its unpushed edits, which the next ``sync`` pushes; only the key and the
certificate are replaced, atomically (``station_node.identity``), and the
hub's address recorded. The token must be for the home's own station.
"""

from __future__ import annotations

import re
import shutil
import socket
import ssl
from pathlib import Path

import grpc

from station_node import home as home_mod
from station_node import identity
from station_node.errors import EnrollmentFailed, from_rpc_error, network_cause
from veterans import values as domain
from sync.wire.codec import pb
from sync.engine.errors import StoreError
from sync.wire.gen.vetsync.v1 import sync_pb2_grpc

__all__ = ["enroll", "reenroll", "change_hub", "split_target", "fetch_pinned_ca"]

_HOST = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]{2,45}\]")


def split_target(target: str) -> tuple[str, int]:
    """(host, sync port) of ``HOST:PORT``: a host name, an IPv4 address or ``[IPv6]``, and a port
    below 65535 (the enrollment port is the next one)."""
    host, _, port = str(target).strip().rpartition(":")
    if not _HOST.fullmatch(host) or not port.isdigit() or not 0 < int(port) < 65535:
        raise EnrollmentFailed(f"县中心地址应为 主机:端口，例如 192.168.1.10:7443：{str(target)[:80]}")
    return host.strip("[]"), int(port)


def _target_text(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _unverified_chain(tls: ssl.SSLSocket) -> list[bytes]:
    if hasattr(tls, "get_unverified_chain"):  # Python 3.13+
        return list(tls.get_unverified_chain())
    return [c.public_bytes(ssl._ssl.ENCODING_DER) for c in tls._sslobj.get_unverified_chain()]  # noqa: SLF001


def fetch_pinned_ca(host: str, port: int, fingerprint: str, *, timeout: float = 10.0) -> bytes:
    """The CA certificate (PEM) the hub presents whose fingerprint is ``fingerprint``."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # trust comes from the pinned fingerprint, checked below
    ctx.set_alpn_protocols(["h2"])
    try:
        with socket.create_connection((host, port), timeout=timeout) as raw:
            with ctx.wrap_socket(raw, server_hostname=host) as tls:
                chain = _unverified_chain(tls)
    except OSError as exc:
        raise EnrollmentFailed(f"连不上县中心登记端口 {host}:{port}（{network_cause(str(exc).lower())}）",
                               hint="请确认县中心已启动、地址和端口正确") from None
    for der in chain:
        if identity.fingerprint(der) == fingerprint:
            return ssl.DER_cert_to_PEM_cert(der).encode()
    raise EnrollmentFailed("县中心出示的证书与令牌中的 CA 指纹不符，已中止登记",
                           hint="请核对地址，或向县中心重新索取令牌")


def enroll(home: Path, target: str, token_text: str, *, station: str | None = None, timeout: float = 20.0) -> dict:
    try:
        token = identity.parse_token(token_text)
    except identity.TokenFormatError as exc:
        raise EnrollmentFailed(str(exc)) from None
    if station and domain.validate_area(station) != token.station:
        raise EnrollmentFailed(f"令牌是发给站点 {token.station} 的，不是 {station}")
    if home_mod.is_initialised(home):
        raise StoreError(f"站点目录 {home} 已初始化", hint="如需重新登记请用新的 --home 目录")
    host, port = split_target(target)
    ca_pem = fetch_pinned_ca(host, port + 1, token.ca_fingerprint, timeout=timeout)
    tls = home_mod.tls_dir(home)
    created_tls = not tls.exists()
    try:
        home_mod.private_dir(tls)  # 0700 before the key is made in it (and the home with it, if new)
        Path(home).chmod(0o700)
        csr = identity.make_key_and_csr(token.station, Path(home), overwrite=True)
        resp = _enroll_call(_target_text(host, port + 1), ca_pem, token_text, csr, timeout)
        try:
            identity.store_certificate(Path(home), resp.certificate, resp.ca_certificate,
                                       expected_ca_fp=token.ca_fingerprint, expected_station=token.station)
        except identity.IdentityError as exc:
            raise EnrollmentFailed(f"县中心返回的证书不可用：{exc}") from None
        store = home_mod.init_offline(home, resp.station)
        try:
            with store.transaction():
                store.set_meta("scope", resp.scope or resp.station)
                store.set_meta("county", resp.county or resp.station[:6])
                store.set_meta("hub", f"{host}:{port}")
                store.set_meta("mode", "networked")
        finally:
            store.close()
    except BaseException:
        if created_tls:
            shutil.rmtree(tls, ignore_errors=True)
        else:
            for p in identity.paths(Path(home)):
                p.unlink(missing_ok=True)
        raise
    return {"station": resp.station, "scope": resp.scope, "county": resp.county, "hub": f"{host}:{port}",
            **identity.cert_info(Path(home))}


def reenroll(home: Path, token_text: str, *, target: str | None = None, station: str | None = None,
             timeout: float = 20.0) -> dict:
    """``init --reenroll``: a new key and certificate for an existing home, by a one-time token of its own
    station, over the enrollment port (TLS pinned by the token); the database and its unpushed edits are
    kept. ``target``: the hub (default: the one the home knows; needed for an offline home). Returns the
    enrollment info, ``joined`` when an offline home joined the network."""
    from station_node.session import clear_refusal  # the session's mark of a refused certificate

    try:
        token = identity.parse_token(token_text)
    except identity.TokenFormatError as exc:
        raise EnrollmentFailed(str(exc)) from None
    home = Path(home)
    store = home_mod.open_store(home)  # a home that exists, intact
    try:
        own = store.meta("station")
        if station and domain.validate_area(station) != own:
            raise EnrollmentFailed(f"--station {station} 与本站 {own} 不符")
        if token.station != own:
            raise EnrollmentFailed(f"令牌是发给站点 {token.station} 的，本站是 {own}",
                                   hint=f"请向县中心申请站点 {own} 的登记令牌")
        known = store.meta("hub")
        if not (target or known):
            raise EnrollmentFailed("本站是离线初始化的，联网登记需要 --hub 主机:端口")
        host, port = split_target(target or known)
        pinned = identity.paths(home).ca
        if pinned.exists() and identity.fingerprint(pinned.read_bytes()) != token.ca_fingerprint:
            raise EnrollmentFailed("令牌的县中心 CA 与本站原来信任的不同（县中心已重建？）",
                                   hint="请用新的站点目录登记，并加 --recover 本站旧数据库 找回未上传的修改")
        ca_pem = fetch_pinned_ca(host, port + 1, token.ca_fingerprint, timeout=timeout)
        home_mod.private_dir(home_mod.tls_dir(home))
        csr = identity.pending_csr(home, own, fresh=True)
        try:
            resp = _enroll_call(_target_text(host, port + 1), ca_pem, token_text, csr, timeout)
            info = identity.install_pending(home, resp.certificate, resp.ca_certificate,
                                            expected_ca_fp=token.ca_fingerprint, expected_station=own)
        except identity.IdentityError as exc:
            identity.discard_pending(home)
            raise EnrollmentFailed(f"县中心返回的证书不可用：{exc}") from None
        except BaseException:
            identity.discard_pending(home)
            raise
        joined = not known or store.meta("mode") == "offline"
        with store.transaction():
            store.set_meta("scope", resp.scope or own)
            store.set_meta("county", resp.county or own[:6])
            store.set_meta("hub", _target_text(host, port))
            store.set_meta("mode", "networked")
        clear_refusal(store)
        return {"station": own, "scope": resp.scope or own, "county": resp.county, "hub": _target_text(host, port),
                "joined": joined, "pending": store.pending_count(), **info}
    finally:
        store.close()


def change_hub(store, target: str) -> tuple[str | None, str]:
    """``config --hub``: record a new address of the hub (``HOST:PORT``, checked); (old, new)."""
    host, port = split_target(target)
    if not store.meta("hub"):
        raise EnrollmentFailed("本站尚未联网登记，没有县中心地址可改",
                               hint="联网请运行 station-node init --reenroll --hub 主机:端口 --token 令牌")
    old, new = store.meta("hub"), _target_text(host, port)
    with store.transaction():
        store.set_meta("hub", new)
    return old, new


def _enroll_call(target: str, ca_pem: bytes, token_text: str, csr: bytes, timeout: float):
    """The Enroll call on the enrollment port (server-authenticated TLS, the CA pinned by the token)."""
    creds = grpc.ssl_channel_credentials(root_certificates=ca_pem)
    with grpc.secure_channel(target, creds) as channel:
        try:
            return sync_pb2_grpc.EnrollmentStub(channel).Enroll(
                pb.EnrollRequest(token=token_text.strip(), csr=csr), timeout=timeout)
        except grpc.RpcError as exc:
            raise EnrollmentFailed(f"登记失败：{exc.details() or from_rpc_error(exc, target)}") from None
