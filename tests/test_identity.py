"""Station identity: key, CSR, certificate storage, and mutual TLS with grpc.

The grpc test shows how the hub recovers the station from a call: in a
handler, ``context.auth_context()`` is a dict of ``str -> list[bytes]``;
``"x509_pem_cert"`` holds the client certificate PEM (parse it for the
serial), ``"x509_subject_alternative_name"`` / ``"peer_uri"`` hold the URI SAN
``vetsync:station:<code>`` and ``"x509_common_name"`` the CN.
"""

from __future__ import annotations

import stat
import subprocess
import sys
from concurrent import futures

import grpc
import pytest
from cryptography import x509

from county_hub import ca as hubca
from county_hub import tokens as hub_tokens
from station_node import identity

STATION = "440902001"


@pytest.fixture
def county_ca(tmp_path):
    home = tmp_path / "hub"
    hubca.create_ca("440902", "测试县", home)
    county_ca = hubca.load_ca(home)
    hubca.issue_server_cert(county_ca, ["hub.local"], home)
    return county_ca


@pytest.fixture
def hub_home(county_ca, tmp_path):
    return tmp_path / "hub"


def _enroll(county_ca, home, code=STATION):
    """What ``station-node init`` does, minus the network."""
    csr = identity.make_key_and_csr(code, home)
    pem, _, _ = hubca.sign_station_csr(county_ca, csr, code)
    identity.store_certificate(
        home, pem, county_ca.cert_pem, expected_ca_fp=county_ca.fingerprint, expected_station=code
    )
    return pem


# --------------------------------------------------------------------------- module hygiene


def test_identity_does_not_import_county_hub_or_grpc():
    code = (
        "import sys, station_node.identity; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('county_hub', 'grpc')]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


# --------------------------------------------------------------------------- token copy


def test_station_parser_agrees_with_hub(county_ca):
    text, secret_hash = hub_tokens.make_token(STATION, county_ca.fingerprint)
    tok = identity.parse_token(f"  {text}\n")
    assert tuple(tok) == tuple(hub_tokens.parse_token(text))
    assert hub_tokens.secret_matches(tok.secret, secret_hash)
    assert tok.ca_fingerprint == identity.fingerprint(county_ca.cert_pem)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "VST2-440902001-" + "A" * 39 + "-" + "0" * 64,
        "VST1-440902001-" + "A" * 39,
        "VST1-440902001-" + "A" * 39 + "-" + "0" * 63,
        "VST1-440902001-" + "1" * 39 + "-" + "0" * 64,
        "VST1--" + "A" * 39 + "-" + "0" * 64,
        "VST1-440902001-" + "A" * 39 + "-" + "0" * 64 + "-x",
    ],
)
def test_station_parser_rejects_malformed(text):
    with pytest.raises(identity.TokenFormatError, match="^令牌格式不对"):
        identity.parse_token(text)


# --------------------------------------------------------------------------- key + CSR


def test_key_is_0600_and_csr_names_station(tmp_path):
    home = tmp_path / "st"
    csr_pem = identity.make_key_and_csr(STATION, home)
    key_path = home / "tls" / "station.key"
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    csr = x509.load_pem_x509_csr(csr_pem)
    assert csr.is_signature_valid
    assert csr.subject.rfc4514_string() == f"CN={STATION}"


def test_key_not_overwritten_without_flag(tmp_path):
    home = tmp_path / "st"
    identity.make_key_and_csr(STATION, home)
    before = (home / "tls" / "station.key").read_bytes()
    with pytest.raises(identity.KeyExistsError, match="本站密钥已存在"):
        identity.make_key_and_csr(STATION, home)
    assert (home / "tls" / "station.key").read_bytes() == before
    identity.make_key_and_csr(STATION, home, overwrite=True)
    key_path = home / "tls" / "station.key"
    assert key_path.read_bytes() != before
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600


# --------------------------------------------------------------------------- certificate


def test_enroll_and_cert_info(county_ca, tmp_path):
    home = tmp_path / "st"
    pem = _enroll(county_ca, home)
    info = identity.cert_info(home)
    assert info["station"] == STATION
    assert info["serial"] == hubca.cert_serial_hex(pem)
    assert 728 <= info["days_left"] <= 730
    assert info["not_after"].startswith("20")
    assert info["ca_fingerprint"] == county_ca.fingerprint
    key_pem, cert_pem, ca_pem = identity.load_tls_material(home)
    assert key_pem.startswith(b"-----BEGIN PRIVATE KEY")
    assert cert_pem == pem
    assert identity.fingerprint(ca_pem) == hubca.ca_fingerprint(ca_pem) == county_ca.fingerprint


def test_store_refuses_cert_for_another_key(county_ca, tmp_path):
    home, other = tmp_path / "st", tmp_path / "other"
    identity.make_key_and_csr(STATION, home)
    foreign_csr = identity.make_key_and_csr(STATION, other)
    pem, _, _ = hubca.sign_station_csr(county_ca, foreign_csr, STATION)
    with pytest.raises(identity.IdentityError, match="不匹配"):
        identity.store_certificate(
            home, pem, county_ca.cert_pem, expected_ca_fp=county_ca.fingerprint
        )
    assert not (home / "tls" / "station.crt").exists()
    assert not (home / "tls" / "ca.crt").exists()


def test_store_refuses_wrong_ca_fingerprint(county_ca, tmp_path):
    home = tmp_path / "st"
    csr = identity.make_key_and_csr(STATION, home)
    pem, _, _ = hubca.sign_station_csr(county_ca, csr, STATION)
    with pytest.raises(identity.IdentityError, match="指纹"):
        identity.store_certificate(home, pem, county_ca.cert_pem, expected_ca_fp="0" * 64)
    assert not (home / "tls" / "station.crt").exists()


def test_store_refuses_cert_from_another_ca(county_ca, tmp_path):
    """A CA that matches the pin but did not issue the cert is refused."""
    hubca.create_ca("440903", None, tmp_path / "rogue")
    rogue = hubca.load_ca(tmp_path / "rogue")
    home = tmp_path / "st"
    csr = identity.make_key_and_csr(STATION, home)
    pem, _, _ = hubca.sign_station_csr(rogue, csr, STATION)
    with pytest.raises(identity.IdentityError, match="签发"):
        identity.store_certificate(
            home, pem, county_ca.cert_pem, expected_ca_fp=county_ca.fingerprint
        )


def test_store_refuses_other_station(county_ca, tmp_path):
    home = tmp_path / "st"
    csr = identity.make_key_and_csr(STATION, home)
    pem, _, _ = hubca.sign_station_csr(county_ca, csr, "440902002")
    with pytest.raises(identity.IdentityError, match="证书上的站点不是 440902001"):
        identity.store_certificate(
            home,
            pem,
            county_ca.cert_pem,
            expected_ca_fp=county_ca.fingerprint,
            expected_station=STATION,
        )


def test_load_tls_material_before_enrollment(tmp_path):
    with pytest.raises(identity.IdentityError, match="station-node init"):
        identity.load_tls_material(tmp_path / "nothing")


# --------------------------------------------------------------------------- grpc mTLS


class _Seen:
    auth: dict | None = None
    peer_identities = None
    peer_identity_key = None


def _whoami(seen):
    def handler(request: bytes, context: grpc.ServicerContext) -> bytes:
        auth = context.auth_context()
        seen.auth = auth
        seen.peer_identities = context.peer_identities()
        seen.peer_identity_key = context.peer_identity_key()
        cert_pem = auth["x509_pem_cert"][0]
        station = hubca.station_code_from_cert(cert_pem)
        return f"{station}:{hubca.cert_serial_hex(cert_pem)}".encode()

    return handler


@pytest.fixture
def mtls_server(county_ca, hub_home):
    seen = _Seen()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    server.add_generic_rpc_handlers(
        (
            grpc.method_handlers_generic_handler(
                "vetsync.test.Probe",
                {"WhoAmI": grpc.unary_unary_rpc_method_handler(_whoami(seen))},
            ),
        )
    )
    creds = grpc.ssl_server_credentials(
        [((hub_home / "tls" / "server.key").read_bytes(),
          (hub_home / "tls" / "server.crt").read_bytes())],
        root_certificates=county_ca.cert_pem,
        require_client_auth=True,
    )
    port = server.add_secure_port("127.0.0.1:0", creds)
    server.start()
    yield port, seen
    server.stop(None)


def _call(port, home, target_host="127.0.0.1"):
    key_pem, cert_pem, ca_pem = identity.load_tls_material(home)
    creds = grpc.ssl_channel_credentials(
        root_certificates=ca_pem, private_key=key_pem, certificate_chain=cert_pem
    )
    with grpc.secure_channel(f"{target_host}:{port}", creds) as channel:
        return channel.unary_unary("/vetsync.test.Probe/WhoAmI")(b"", timeout=10)


def test_grpc_mutual_tls_exposes_station(county_ca, mtls_server, tmp_path):
    port, seen = mtls_server
    home = tmp_path / "st"
    pem = _enroll(county_ca, home)

    reply = _call(port, home)
    assert reply == f"{STATION}:{hubca.cert_serial_hex(pem)}".encode()
    # by name too: the server cert carries "localhost"
    assert _call(port, home, "localhost") == reply

    auth = seen.auth
    assert auth["transport_security_type"] == [b"ssl"]
    assert auth["x509_pem_cert"][0].strip() == pem.strip()
    assert auth["x509_common_name"] == [STATION.encode()]
    assert auth["x509_subject_alternative_name"] == [f"vetsync:station:{STATION}".encode()]
    assert auth["peer_uri"] == [f"vetsync:station:{STATION}".encode()]
    assert seen.peer_identities == [f"vetsync:station:{STATION}".encode()]
    assert seen.peer_identity_key == "x509_subject_alternative_name"


def test_grpc_rejects_client_from_another_ca(county_ca, mtls_server, tmp_path):
    port, _ = mtls_server
    hubca.create_ca("440903", None, tmp_path / "rogue")
    rogue = hubca.load_ca(tmp_path / "rogue")
    home = tmp_path / "st"
    csr = identity.make_key_and_csr(STATION, home)
    pem, _, _ = hubca.sign_station_csr(rogue, csr, STATION)
    # bypass store_certificate's checks: pin the real CA, present the rogue cert
    (home / "tls" / "station.crt").write_bytes(pem)
    (home / "tls" / "ca.crt").write_bytes(county_ca.cert_pem)
    with pytest.raises(grpc.RpcError) as info:
        _call(port, home)
    assert info.value.code() == grpc.StatusCode.UNAVAILABLE


def test_grpc_rejects_client_without_cert(county_ca, mtls_server):
    port, _ = mtls_server
    creds = grpc.ssl_channel_credentials(root_certificates=county_ca.cert_pem)
    with grpc.secure_channel(f"127.0.0.1:{port}", creds) as channel:
        with pytest.raises(grpc.RpcError) as info:
            channel.unary_unary("/vetsync.test.Probe/WhoAmI")(b"", timeout=10)
    assert info.value.code() == grpc.StatusCode.UNAVAILABLE
