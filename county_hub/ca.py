"""The county certificate authority: CA, hub server certificate, station certificates.

Everything here uses ``cryptography`` only (no grpc, no sqlite).  All keys are
ECDSA P-256, because grpc's BoringSSL refuses Ed25519 and P-521 certificates.

Layout under the hub home::

    home/ca/ca.key       CA private key (0600)
    home/ca/ca.crt       CA certificate
    home/tls/server.key  hub server key (0600)
    home/tls/server.crt  hub server certificate (SAN: host names and addresses)

A station certificate names its station in exactly one URI SAN,
``vetsync:station:<code>``; the code always comes from the hub's token
record (enrollment) or from the certificate the station presents (renewal),
never from the CSR. No certificate outlives the CA that signs it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = [
    "CA",
    "CAFiles",
    "CSRError",
    "STATION_URI_PREFIX",
    "ca_fingerprint",
    "cert_serial_hex",
    "create_ca",
    "issue_server_cert",
    "load_ca",
    "check_station_csr",
    "public_key_id",
    "sign_station_csr",
    "station_code_from_cert",
]

STATION_URI_PREFIX = "vetsync:station:"
CA_DAYS = 3650
SERVER_DAYS = 730
STATION_DAYS = 730
#: a CSR is a few hundred bytes; anything much larger is not one of ours
MAX_CSR_BYTES = 16384
_BACKDATE = dt.timedelta(minutes=5)  # tolerate small clock skew between PCs


class CSRError(ValueError):
    """A certificate signing request was refused (bad signature, wrong key type)."""


@dataclass(frozen=True)
class CAFiles:
    """Paths of the CA key and certificate written by :func:`create_ca`."""

    key_path: Path
    cert_path: Path


@dataclass(frozen=True)
class CA:
    """A loaded CA: private key and certificate."""

    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate

    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    @property
    def fingerprint(self) -> str:
        return ca_fingerprint(self.cert)


# --------------------------------------------------------------------------- files


def _write_private(path: Path, data: bytes) -> None:
    """Create ``path`` with mode 0600 from the start; refuse to overwrite."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def _write_public(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _load_cert(cert: x509.Certificate | bytes) -> x509.Certificate:
    """Accept a Certificate, PEM bytes/str or DER bytes."""
    if isinstance(cert, x509.Certificate):
        return cert
    if isinstance(cert, str):
        cert = cert.encode()
    if cert.lstrip().startswith(b"-----BEGIN"):
        return x509.load_pem_x509_certificate(cert)
    return x509.load_der_x509_certificate(cert)


# --------------------------------------------------------------------------- CA


def create_ca(county_code: str, county_name: str | None, home: Path) -> CAFiles:
    """Make the county CA (P-256, self-signed, 10 years) under ``home/ca``.

    Raises ``FileExistsError`` if a CA key is already there.
    """
    home = Path(home)
    key_path, cert_path = home / "ca" / "ca.key", home / "ca" / "ca.crt"
    key = ec.generate_private_key(ec.SECP256R1())
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, f"vetsync county CA {county_code}")]
    if county_name:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, county_name))
    name = x509.Name(attrs)
    now = _now()
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(now + dt.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_private(key_path, _key_pem(key))
    _write_public(cert_path, _pem(cert))
    return CAFiles(key_path=key_path, cert_path=cert_path)


def load_ca(home: Path) -> CA:
    """Load the CA key and certificate from ``home/ca``."""
    home = Path(home)
    key = serialization.load_pem_private_key((home / "ca" / "ca.key").read_bytes(), None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError("CA key is not an EC key")
    cert = x509.load_pem_x509_certificate((home / "ca" / "ca.crt").read_bytes())
    return CA(key=key, cert=cert)


def ca_fingerprint(cert: x509.Certificate | bytes | str) -> str:
    """Lowercase hex SHA-256 of the certificate's DER encoding."""
    der = _load_cert(cert).public_bytes(serialization.Encoding.DER)
    return hashlib.sha256(der).hexdigest()


# --------------------------------------------------------------------------- leaves


def _leaf_builder(
    ca: CA, subject_cn: str, public_key, days: int
) -> tuple[x509.CertificateBuilder, dt.datetime]:
    now = _now()
    # never beyond the CA's own end: a chain with a leaf that outlives its CA fails on that day anyway
    not_after = min(now + dt.timedelta(days=days), ca.cert.not_valid_after_utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject_cn)]))
        .issuer_name(ca.cert.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()),
            critical=False,
        )
    )
    return builder, not_after


def _san_entries(hosts: list[str]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []
    seen: set[str] = set()
    for host in [*hosts, "localhost", "127.0.0.1"]:
        host = host.strip()
        if not host or host.lower() in seen:
            continue
        seen.add(host.lower())
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return names


def issue_server_cert(
    ca: CA, hosts: list[str], home: Path, *, days: int = SERVER_DAYS
) -> tuple[Path, Path]:
    """Issue the hub's TLS server certificate into ``home/tls``.

    ``hosts`` are DNS names or IP addresses; ``localhost`` and ``127.0.0.1``
    are always included.  Returns ``(key_path, cert_path)``; raises
    ``FileExistsError`` if the server key already exists.
    """
    home = Path(home)
    key_path, cert_path = home / "tls" / "server.key", home / "tls" / "server.crt"
    key = ec.generate_private_key(ec.SECP256R1())
    builder, _ = _leaf_builder(ca, "vetsync hub", key.public_key(), days)
    cert = (
        builder.add_extension(x509.SubjectAlternativeName(_san_entries(hosts)), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca.key, hashes.SHA256())
    )
    _write_private(key_path, _key_pem(key))
    _write_public(cert_path, _pem(cert))
    return key_path, cert_path


def check_station_csr(csr_pem: bytes | str) -> ec.EllipticCurvePublicKey:
    """The public key of a station's CSR, once the CSR is shown to be one: at most
    :data:`MAX_CSR_BYTES`, PEM, self-signed by its key (proof of possession), and the
    key ECDSA P-256. Raises :class:`CSRError` (one line, Chinese) otherwise — also for
    a key or signature algorithm the library does not know."""
    if isinstance(csr_pem, str):
        csr_pem = csr_pem.encode()
    if len(csr_pem) > MAX_CSR_BYTES:
        raise CSRError(f"证书请求过大（{len(csr_pem)} 字节，最多 {MAX_CSR_BYTES}）")
    try:
        csr = x509.load_pem_x509_csr(csr_pem)
    except ValueError as exc:
        raise CSRError("证书请求无法解析 (CSR is not valid PEM)") from exc
    try:
        public_key = csr.public_key()
        valid = csr.is_signature_valid
    except (UnsupportedAlgorithm, ValueError, TypeError) as exc:
        raise CSRError("证书请求的密钥或签名算法不受支持（须为 ECDSA P-256）") from exc
    if not valid:
        raise CSRError("证书请求签名无效 (CSR signature invalid)")
    if not (
        isinstance(public_key, ec.EllipticCurvePublicKey)
        and isinstance(public_key.curve, ec.SECP256R1)
    ):
        raise CSRError("证书请求的密钥必须是 ECDSA P-256 (CSR key must be ECDSA P-256)")
    return public_key


def public_key_id(key_or_cert) -> str:
    """Lowercase hex SHA-256 of a public key's SubjectPublicKeyInfo DER (of a certificate's key, given
    one): how the registry recognises a key it has certified before."""
    if isinstance(key_or_cert, (bytes, str, x509.Certificate)):
        key_or_cert = _load_cert(key_or_cert).public_key()
    der = key_or_cert.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def sign_station_csr(
    ca: CA, csr_pem: bytes, station_code: str, *, days: int = STATION_DAYS
) -> tuple[bytes, int, dt.datetime]:
    """Sign a station's CSR; return ``(cert_pem, serial, not_after)``.

    Only the CSR's public key is used: its subject and any SANs it asks for
    are ignored.  The certificate names ``station_code`` (from the hub's
    token record, or the renewing station's present certificate) as CN and
    as the single URI SAN ``vetsync:station:<code>``, with client-auth EKU
    only, valid ``days`` days (1 to :data:`STATION_DAYS`) and never beyond
    the CA.  Raises :class:`CSRError` for a CSR :func:`check_station_csr`
    refuses.
    """
    if not station_code or any(c.isspace() for c in station_code):
        raise ValueError(f"bad station code: {station_code!r}")
    if not isinstance(days, int) or not 1 <= days <= STATION_DAYS:
        raise ValueError(f"bad certificate lifetime: {days!r} days")
    public_key = check_station_csr(csr_pem)
    builder, not_after = _leaf_builder(ca, station_code, public_key, days)
    san = x509.UniformResourceIdentifier(STATION_URI_PREFIX + station_code)
    cert = (
        builder.add_extension(x509.SubjectAlternativeName([san]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(ca.key, hashes.SHA256())
    )
    return _pem(cert), cert.serial_number, not_after


# --------------------------------------------------------------------------- reading


def station_code_from_cert(cert: x509.Certificate | bytes | str) -> str | None:
    """The station code from the ``vetsync:station:`` URI SAN, or None."""
    try:
        san = _load_cert(cert).extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return None
    for uri in san.value.get_values_for_type(x509.UniformResourceIdentifier):
        if uri.startswith(STATION_URI_PREFIX) and len(uri) > len(STATION_URI_PREFIX):
            return uri[len(STATION_URI_PREFIX):]
    return None


def cert_serial_hex(cert: x509.Certificate | bytes | str) -> str:
    """The certificate serial as lowercase hex without leading zeros."""
    return format(_load_cert(cert).serial_number, "x")
