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
"""

from __future__ import annotations

import shutil
import socket
import ssl
from pathlib import Path

import grpc

from station_node import home as home_mod
from station_node import identity
from station_node.errors import EnrollmentFailed, from_rpc_error
from veterans import values as domain
from sync.wire.codec import pb
from sync.engine.errors import StoreError
from sync.wire.gen.vetsync.v1 import sync_pb2_grpc

__all__ = ["enroll", "split_target", "fetch_pinned_ca"]


def split_target(target: str) -> tuple[str, int]:
    host, _, port = target.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65535:
        raise EnrollmentFailed(f"县中心地址应为 主机:端口，例如 192.168.1.10:7443：{target}")
    return host.strip("[]"), int(port)


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
        raise EnrollmentFailed(f"连不上县中心登记端口 {host}:{port}（{exc.strerror or exc}）",
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
        creds = grpc.ssl_channel_credentials(root_certificates=ca_pem)
        with grpc.secure_channel(f"{host}:{port + 1}", creds) as channel:
            stub = sync_pb2_grpc.EnrollmentStub(channel)
            try:
                resp = stub.Enroll(pb.EnrollRequest(token=token_text.strip(), csr=csr), timeout=timeout)
            except grpc.RpcError as exc:
                err = from_rpc_error(exc, f"{host}:{port + 1}")
                raise EnrollmentFailed(f"登记失败：{exc.details() or err}") from None
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
