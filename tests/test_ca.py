"""County CA, server and station certificates, enrollment tokens (hub side)."""

from __future__ import annotations

import base64
import ipaddress
import stat

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from county_hub import ca as hubca
from county_hub import tokens
from county_hub.tokens import TokenFormatError

STATION = "440902001"


@pytest.fixture
def hub_home(tmp_path):
    home = tmp_path / "hub"
    hubca.create_ca("440902", "测试县", home)
    return home


@pytest.fixture
def county_ca(hub_home):
    return hubca.load_ca(hub_home)


def _csr(key, cn="someone-else", sans=()):
    builder = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(list(sans)), critical=False)
    algo = None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    return builder.sign(key, algo).public_bytes(serialization.Encoding.PEM)


def _ext(cert, cls):
    return cert.extensions.get_extension_for_class(cls).value


# --------------------------------------------------------------------------- CA


def test_create_ca_files_and_modes(hub_home):
    key_path = hub_home / "ca" / "ca.key"
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    cert = x509.load_pem_x509_certificate((hub_home / "ca" / "ca.crt").read_bytes())
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == (
        "vetsync county CA 440902"
    )
    bc = _ext(cert, x509.BasicConstraints)
    assert bc.ca and bc.path_length == 0
    ku = _ext(cert, x509.KeyUsage)
    assert ku.key_cert_sign and ku.crl_sign and not ku.digital_signature
    _ext(cert, x509.SubjectKeyIdentifier)
    assert isinstance(cert.public_key().curve, ec.SECP256R1)
    life = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert 3649 <= life.days <= 3651


def test_create_ca_refuses_to_overwrite(hub_home):
    with pytest.raises(FileExistsError, match=r"ca\.key"):
        hubca.create_ca("440902", None, hub_home)


def test_fingerprint_is_sha256_of_der_and_stable(hub_home, county_ca):
    pem = (hub_home / "ca" / "ca.crt").read_bytes()
    fp = hubca.ca_fingerprint(pem)
    assert fp == hubca.ca_fingerprint(county_ca.cert) == county_ca.fingerprint
    assert fp == hubca.ca_fingerprint(county_ca.cert.public_bytes(serialization.Encoding.DER))
    assert len(fp) == 64 and fp == fp.lower()
    assert fp == county_ca.cert.fingerprint(hashes.SHA256()).hex()


# --------------------------------------------------------------------------- server


def test_server_cert_sans_and_eku(hub_home, county_ca):
    key_path, cert_path = hubca.issue_server_cert(
        county_ca, ["hub.example.cn", "10.0.0.5", "fe80::1"], hub_home
    )
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    san = _ext(cert, x509.SubjectAlternativeName)
    assert set(san.get_values_for_type(x509.DNSName)) == {"hub.example.cn", "localhost"}
    assert set(san.get_values_for_type(x509.IPAddress)) == {
        ipaddress.ip_address("10.0.0.5"),
        ipaddress.ip_address("fe80::1"),
        ipaddress.ip_address("127.0.0.1"),
    }
    assert list(_ext(cert, x509.ExtendedKeyUsage)) == [ExtendedKeyUsageOID.SERVER_AUTH]
    assert not _ext(cert, x509.BasicConstraints).ca
    cert.verify_directly_issued_by(county_ca.cert)
    life = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert 729 <= life.days <= 731


# --------------------------------------------------------------------------- station CSR


def test_station_cert_names_the_token_code_not_the_csr(county_ca):
    key = ec.generate_private_key(ec.SECP256R1())
    csr = _csr(
        key,
        cn="440902999",
        sans=[
            x509.UniformResourceIdentifier("vetsync:station:440902"),
            x509.DNSName("evil.example"),
        ],
    )
    pem, serial, not_after = hubca.sign_station_csr(county_ca, csr, STATION)
    cert = x509.load_pem_x509_certificate(pem)
    cert.verify_directly_issued_by(county_ca.cert)
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == STATION
    san = _ext(cert, x509.SubjectAlternativeName)
    assert list(san) == [x509.UniformResourceIdentifier(f"vetsync:station:{STATION}")]
    assert hubca.station_code_from_cert(pem) == STATION
    assert hubca.station_code_from_cert(cert) == STATION
    assert list(_ext(cert, x509.ExtendedKeyUsage)) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert not _ext(cert, x509.BasicConstraints).ca
    assert serial == cert.serial_number and serial.bit_length() > 64
    assert not_after.replace(microsecond=0) == cert.not_valid_after_utc
    assert hubca.cert_serial_hex(pem) == format(serial, "x")
    assert hubca.cert_serial_hex(cert.public_bytes(serialization.Encoding.DER)) == format(
        serial, "x"
    )
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    assert cert.public_key().public_bytes(serialization.Encoding.DER, spki) == (
        key.public_key().public_bytes(serialization.Encoding.DER, spki)
    )


def test_serials_differ(county_ca):
    key = ec.generate_private_key(ec.SECP256R1())
    csr = _csr(key)
    serials = {hubca.sign_station_csr(county_ca, csr, STATION)[1] for _ in range(5)}
    assert len(serials) == 5


def test_tampered_csr_rejected(county_ca):
    csr = _csr(ec.generate_private_key(ec.SECP256R1()), cn="AAAAAAAAA")
    der = x509.load_pem_x509_csr(csr).public_bytes(serialization.Encoding.DER)
    tampered = x509.load_der_x509_csr(der.replace(b"AAAAAAAAA", b"440902001"))
    pem = tampered.public_bytes(serialization.Encoding.PEM)
    with pytest.raises(hubca.CSRError, match="签名无效"):
        hubca.sign_station_csr(county_ca, pem, STATION)


def test_garbage_csr_rejected(county_ca):
    with pytest.raises(ValueError, match="无法解析"):
        hubca.sign_station_csr(county_ca, b"not a csr", STATION)


@pytest.mark.parametrize(
    "make_key",
    [
        lambda: ec.generate_private_key(ec.SECP384R1()),
        lambda: ed25519.Ed25519PrivateKey.generate(),
        lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
    ],
    ids=["p384", "ed25519", "rsa"],
)
def test_key_not_p256_rejected(county_ca, make_key):
    with pytest.raises(hubca.CSRError, match="ECDSA P-256"):
        hubca.sign_station_csr(county_ca, _csr(make_key()), STATION)


def test_station_code_from_cert_without_uri(county_ca):
    assert hubca.station_code_from_cert(county_ca.cert) is None


# --------------------------------------------------------------------------- tokens


def test_token_round_trip(county_ca):
    text, secret_hash = tokens.make_token(STATION, county_ca.fingerprint)
    assert text.startswith("VST1-440902001-") and "\n" not in text and " " not in text
    tok = tokens.parse_token(text)
    assert tok.station == STATION
    assert tok.ca_fingerprint == county_ca.fingerprint
    assert len(tok.secret) == 39 and tok.secret == tok.secret.upper()
    assert len(base64.b32decode(tok.secret + "=")) == 24
    assert tokens.hash_secret(tok.secret) == secret_hash
    assert tokens.secret_matches(tok.secret, secret_hash)
    tampered = ("B" if tok.secret[0] != "B" else "C") + tok.secret[1:]
    assert not tokens.secret_matches(tampered, secret_hash)


def test_tokens_are_unique(county_ca):
    texts = {tokens.make_token(STATION, county_ca.fingerprint)[0] for _ in range(20)}
    assert len(texts) == 20


def test_secret_matches_rejects_wrong_secret():
    text, h = tokens.make_token(STATION, "a" * 64)
    other = tokens.parse_token(tokens.make_token(STATION, "a" * 64)[0]).secret
    assert not tokens.secret_matches(other, h)
    assert not tokens.secret_matches("密钥", h)


def test_token_whitespace_is_stripped():
    text, _ = tokens.make_token(STATION, "ab" * 32)
    messy = f"  \t{text[:20]}\n  {text[20:]}  \r\n"
    assert tokens.parse_token(messy) == tokens.parse_token(text)


def _good():
    return tokens.make_token(STATION, "0f" * 32)[0]


def _swap(i, value):
    parts = _good().split("-")
    parts[i] = value
    return "-".join(parts)


MALFORMED = {
    "empty": lambda: "",
    "wrong prefix": lambda: _swap(0, "VST2"),
    "no prefix": lambda: _good()[5:],
    "missing secret": lambda: "-".join(_good().split("-")[:2] + _good().split("-")[3:]),
    "missing fingerprint": lambda: "-".join(_good().split("-")[:3]),
    "extra part": lambda: _good() + "-x",
    "empty station": lambda: _swap(1, ""),
    "station with slash": lambda: _swap(1, "4409/02"),
    "fingerprint short": lambda: _swap(3, "0f" * 31),
    "fingerprint long": lambda: _swap(3, "0f" * 33),
    "fingerprint not hex": lambda: _swap(3, "zz" * 32),
    "secret bad base32 char": lambda: _swap(2, "1" + _good().split("-")[2][1:]),
    "secret short": lambda: _swap(2, _good().split("-")[2][:-1]),
    "secret padded": lambda: _swap(2, _good().split("-")[2] + "="),
    "secret non-canonical tail": lambda: _swap(2, _good().split("-")[2][:-1] + "7"),
}


@pytest.mark.parametrize("name", list(MALFORMED))
def test_malformed_tokens(name):
    with pytest.raises(TokenFormatError) as info:
        tokens.parse_token(MALFORMED[name]())
    message = str(info.value)
    assert message.startswith("令牌格式不对") and "\n" not in message
    assert isinstance(info.value, ValueError)
