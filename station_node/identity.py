"""The station's identity: its private key, its certificate and the pinned CA.

Layout under the station home::

    home/tls/station.key  private key, ECDSA P-256, 0600 (never leaves the PC)
    home/tls/station.crt  certificate issued by the county CA
    home/tls/ca.crt       the county CA certificate (pinned by fingerprint)
    home/tls/renew.key    the next key, while a renewal or re-enrollment waits for its certificate
    home/tls/renew.crt    its certificate, checked, for the moment between the two renames below

A new identity (renewal, ``init --reenroll``) never leaves a key beside a
certificate that is not its own, whatever moment a crash comes at: the new key
is written (fsynced) to ``renew.key`` before its CSR leaves the PC; the
certificate that comes back is checked (the pinned CA, this key, this station,
valid now) and written (fsynced) to ``renew.crt``; then ``renew.key`` is
renamed over ``station.key`` and ``renew.crt`` over ``station.crt``, and the
directory fsynced. Whoever next reads the identity (:func:`settle`, run by
:func:`load_tls_material` and :func:`cert_info`) finishes a swap cut between
the two renames, so a reader gets the old pair or the new pair. A pending
key with no certificate is kept: the next renewal sends the same key, and the
hub answers a renewal whose answer was lost with the same certificate.

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
    "pending_csr",
    "install_pending",
    "discard_pending",
    "settle",
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


def _pending(home: Path) -> tuple[Path, Path]:
    tls = Path(home) / "tls"
    return tls / "renew.key", tls / "renew.crt"


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
    settle(home)
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
    """Return ``(key_pem, cert_pem, ca_pem)`` for the gRPC channel: a key and the certificate of
    that key (a swap cut halfway is finished first, :func:`settle`)."""
    p = paths(home)
    for _ in range(3):  # another process may be swapping right now: settle and read again
        settle(home)
        key, cert = _read(p.key), _read(p.cert)
        if _pair_matches(key, cert):
            return key, cert, _read(p.ca)
    raise IdentityError(f"本站密钥与证书不匹配：{p.key}", hint="请向县中心申请新令牌，运行 station-node init --reenroll --token 令牌")


# --------------------------------------------------------------------------- a new identity (renewal, re-enrollment)


def pending_csr(home: Path, station_code: str, *, fresh: bool = False) -> bytes:
    """A CSR (PEM) for the station's next key, ``tls/renew.key``: made now (0600, fsynced before the CSR
    leaves the PC), or the one still pending from a renewal whose answer never came (``fresh``: a new one
    whatever is pending)."""
    settle(home)
    key_path, _ = _pending(home)
    key = None
    if key_path.exists() and not fresh:
        try:
            key = _load_key(key_path)
        except (ValueError, TypeError):  # a half-written or foreign file: replaced
            key = None
    if key is None:
        key = ec.generate_private_key(ec.SECP256R1())
        _write_durable(key_path, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                   serialization.NoEncryption()), mode=0o600)
        _fsync_dir(key_path.parent)
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, station_code)]))
        .sign(key, hashes.SHA256())
    )
    return csr.public_bytes(serialization.Encoding.PEM)


def install_pending(home: Path, cert_pem: bytes, ca_pem: bytes, *, expected_ca_fp: str,
                    expected_station: str) -> dict:
    """Make the pending key and ``cert_pem`` the station's identity, atomically (see the module's
    docstring); returns :func:`cert_info` of the new certificate. Refuses (:class:`IdentityError`,
    the present identity untouched) a CA that is not the pinned one, a certificate it did not issue,
    one for another key or another station, or one not valid now. ``ca.crt`` is written only when
    the home has none (an offline home joining the network)."""
    p = paths(home)
    key_path, cert_path = _pending(home)
    cert, ca = _load_cert(cert_pem), _load_cert(ca_pem)
    if fingerprint(ca) != expected_ca_fp.strip().lower():
        raise IdentityError("县中心 CA 指纹与本站信任的不一致，拒绝保存证书")
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature) as exc:
        raise IdentityError("证书不是由县中心 CA 签发的") from exc
    if _station_of(cert) != expected_station:
        raise IdentityError(f"证书上的站点不是 {expected_station}")
    now = dt.datetime.now(dt.timezone.utc)
    if not cert.not_valid_before_utc - dt.timedelta(minutes=10) <= now < cert.not_valid_after_utc:
        raise IdentityError("县中心签发的证书不在有效期内（请核对本机时间）")
    if _key_id(key_path) != _spki(cert.public_key()):
        if _key_id(p.key) == _spki(cert.public_key()):  # another process (the daemon) installed it meanwhile
            settle(home)
            return cert_info(home)
        raise IdentityError("证书与本站新密钥不匹配")
    if not p.ca.exists():
        _write_durable(p.ca, ca.public_bytes(serialization.Encoding.PEM))
    _write_durable(cert_path, cert.public_bytes(serialization.Encoding.PEM))
    _fsync_dir(cert_path.parent)
    settle(home)  # the two renames
    return cert_info(home)


def discard_pending(home: Path) -> None:
    """Forget a pending key that is not to be used. A ``renew.crt`` is left to :func:`settle`, which
    puts it in place when its key already is (another process's swap between its renames)."""
    _pending(home)[0].unlink(missing_ok=True)
    settle(home)


def settle(home: Path) -> None:
    """Finish a swap to a new identity that stopped between its steps (a crash, a kill): a checked
    ``renew.crt`` whose key is ``renew.key`` or already ``station.key`` is put in place; one that
    belongs to neither is removed. A pending key alone is left for the next renewal."""
    p = paths(home)
    key_path, cert_path = _pending(home)
    if not cert_path.exists():
        return
    try:
        new = _spki(_load_cert(cert_path.read_bytes()).public_key())
    except (OSError, IdentityError):
        cert_path.unlink(missing_ok=True)
        return
    try:
        if _key_id(key_path) == new:
            os.replace(key_path, p.key)  # from here the key is the new one, and renew.crt is its certificate
        if _key_id(p.key) == new:
            os.replace(cert_path, p.cert)
        else:
            cert_path.unlink(missing_ok=True)
    except FileNotFoundError:  # another process finished the swap meanwhile
        pass
    _fsync_dir(p.key.parent)


def _key_id(path: Path) -> bytes | None:
    """The public key (SPKI DER) of the private key in ``path``, or None (missing, unreadable)."""
    try:
        return _spki(_load_key(path).public_key())
    except (OSError, ValueError, TypeError):  # IdentityError is a ValueError
        return None


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


def _pair_matches(key_pem: bytes, cert_pem: bytes) -> bool:
    try:
        key = serialization.load_pem_private_key(key_pem, None)
        return _spki(key.public_key()) == _spki(_load_cert(cert_pem).public_key())
    except (ValueError, TypeError, IdentityError):
        return False


def _write_durable(path: Path, data: bytes, *, mode: int = 0o644) -> None:
    """Write ``path`` (made with ``mode`` from the start) and fsync it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.fchmod(fd, mode)
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    _write_durable(tmp, data)
    os.replace(tmp, path)
    _fsync_dir(path.parent)
