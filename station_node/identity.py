"""The station's identity: its private key, its certificate and the pinned CA.

Layout under the station home::

    home/tls/station.key  private key, ECDSA P-256, 0600 (never leaves the PC)
    home/tls/station.crt  certificate issued by the county CA
    home/tls/ca.crt       the county CA certificate (pinned by fingerprint)

Uses ``cryptography`` only and must not import ``county_hub``; the token
parser is therefore a small copy of ``county_hub.tokens.parse_token``.

Errors::

    ValueError
     ├── TokenFormatError    the enrollment token text is malformed
     └── IdentityError       key/cert/CA missing or not matching
          └── KeyExistsError a station key is already there
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
import re
from pathlib import Path
from typing import NamedTuple

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

__all__ = [
    "IdentityError",
    "KeyExistsError",
    "Token",
    "TokenFormatError",
    "cert_info",
    "fingerprint",
    "load_tls_material",
    "make_key_and_csr",
    "parse_token",
    "paths",
    "store_certificate",
]

STATION_URI_PREFIX = "vetsync:station:"
_TOKEN_USAGE = "令牌格式不对：应为 VST1-站点代码-密钥-指纹"
_STATION_RE = re.compile(r"[A-Za-z0-9_]{1,32}")
_SECRET_RE = re.compile(r"[A-Z2-7]{39}")  # base32 of 24 bytes, no padding
_FP_RE = re.compile(r"[0-9a-f]{64}")


class TokenFormatError(ValueError):
    """The token text is malformed; the message is one line of Chinese."""


class IdentityError(ValueError):
    """The station's key, certificate or CA is missing or does not match."""


class KeyExistsError(IdentityError):
    """A station private key already exists and ``overwrite`` was not given."""


class Token(NamedTuple):
    """A parsed enrollment token."""

    station: str
    secret: str
    ca_fingerprint: str


class Paths(NamedTuple):
    key: Path
    cert: Path
    ca: Path


def paths(home: Path) -> Paths:
    """Where the station's TLS files live under ``home``."""
    tls = Path(home) / "tls"
    return Paths(tls / "station.key", tls / "station.crt", tls / "ca.crt")


# --------------------------------------------------------------------------- token


def parse_token(text: str) -> Token:
    """Parse ``VST1-<station>-<secret>-<ca_fp>``; whitespace is ignored."""
    parts = "".join(str(text).split()).split("-")
    if len(parts) != 4 or parts[0].upper() != "VST1":
        raise TokenFormatError(_TOKEN_USAGE)
    _, station, secret, fp = parts
    secret, fp = secret.upper(), fp.lower()
    if not _STATION_RE.fullmatch(station):
        raise TokenFormatError(_TOKEN_USAGE + "（站点代码不对）")
    try:
        ok = bool(_SECRET_RE.fullmatch(secret)) and (
            base64.b32encode(base64.b32decode(secret + "=")).decode().rstrip("=") == secret
        )
    except ValueError:
        ok = False
    if not ok:
        raise TokenFormatError(_TOKEN_USAGE + "（密钥不对）")
    if not _FP_RE.fullmatch(fp):
        raise TokenFormatError(_TOKEN_USAGE + "（指纹应为 64 位十六进制）")
    return Token(station, secret, fp)


# --------------------------------------------------------------------------- key + CSR


def make_key_and_csr(station_code: str, home: Path, *, overwrite: bool = False) -> bytes:
    """Generate the station key (0600) and return a CSR PEM (CN = station code).

    Raises :class:`KeyExistsError` if ``home/tls/station.key`` exists, unless
    ``overwrite`` is true (then the old key and certificate are removed).
    """
    p = paths(home)
    if overwrite:
        p.key.unlink(missing_ok=True)
        p.cert.unlink(missing_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    p.key.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(p.key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise KeyExistsError(
            f"本站密钥已存在：{p.key}（如确需重新申请证书，请用覆盖选项）"
        ) from exc
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, station_code)]))
        .sign(key, hashes.SHA256())
    )
    return csr.public_bytes(serialization.Encoding.PEM)


# --------------------------------------------------------------------------- certificate


def fingerprint(cert_pem: bytes | str | x509.Certificate) -> str:
    """Lowercase hex SHA-256 of the certificate's DER (same as the hub's)."""
    cert = _load_cert(cert_pem)
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def store_certificate(
    home: Path,
    cert_pem: bytes,
    ca_pem: bytes,
    *,
    expected_ca_fp: str,
    expected_station: str | None = None,
) -> None:
    """Check and write ``station.crt`` and ``ca.crt``.

    Refuses (:class:`IdentityError`, nothing written) when the CA's
    fingerprint is not ``expected_ca_fp``, the certificate was not issued by
    that CA, its public key is not the stored private key's, or (if given)
    it names another station than ``expected_station``.
    """
    p = paths(home)
    cert, ca = _load_cert(cert_pem), _load_cert(ca_pem)
    if fingerprint(ca) != expected_ca_fp.strip().lower():
        raise IdentityError("县中心 CA 指纹与令牌中的不一致，拒绝保存证书")
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature) as exc:
        raise IdentityError("证书不是由县中心 CA 签发的") from exc
    key = _load_key(p.key)
    if _spki(cert.public_key()) != _spki(key.public_key()):
        raise IdentityError("证书与本站密钥不匹配")
    if expected_station is not None and _station_of(cert) != expected_station:
        raise IdentityError(f"证书上的站点不是 {expected_station}")
    _atomic_write(p.ca, ca.public_bytes(serialization.Encoding.PEM))
    _atomic_write(p.cert, cert.public_bytes(serialization.Encoding.PEM))


def cert_info(home: Path) -> dict:
    """Summary of the station certificate, for ``station-node status``.

    Keys: ``station``, ``serial`` (hex), ``not_after`` (ISO 8601, UTC),
    ``days_left`` (may be negative), ``ca_fingerprint``.
    """
    p = paths(home)
    cert = _load_cert(_read(p.cert))
    not_after = cert.not_valid_after_utc
    left = not_after - dt.datetime.now(dt.timezone.utc)
    return {
        "station": _station_of(cert),
        "serial": format(cert.serial_number, "x"),
        "not_after": not_after.isoformat(),
        "days_left": left.days,
        "ca_fingerprint": fingerprint(_read(p.ca)),
    }


def load_tls_material(home: Path) -> tuple[bytes, bytes, bytes]:
    """Return ``(key_pem, cert_pem, ca_pem)`` for the gRPC channel."""
    p = paths(home)
    return _read(p.key), _read(p.cert), _read(p.ca)


# --------------------------------------------------------------------------- helpers


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise IdentityError(f"缺少 {path}：本站尚未注册，请先运行 station-node init") from exc


def _load_key(path: Path) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(_read(path), None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise IdentityError(f"{path} 不是 EC 私钥")
    return key


def _load_cert(data: bytes | str | x509.Certificate) -> x509.Certificate:
    if isinstance(data, x509.Certificate):
        return data
    if isinstance(data, str):
        data = data.encode()
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            return x509.load_pem_x509_certificate(data)
        return x509.load_der_x509_certificate(data)
    except ValueError as exc:
        raise IdentityError("证书无法解析") from exc


def _spki(public_key) -> bytes:
    return public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _station_of(cert: x509.Certificate) -> str | None:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return None
    for uri in san.get_values_for_type(x509.UniformResourceIdentifier):
        if uri.startswith(STATION_URI_PREFIX):
            return uri[len(STATION_URI_PREFIX):] or None
    return None


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
