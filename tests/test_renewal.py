"""Certificate renewal in process: the hub registry's rules (what it signs, how
often, for whom), revocation by serial, and the station's swap of key and
certificate, which a crash at any moment leaves as the old pair or the new
pair — never a key beside a certificate that is not its own.

The same with real ``county-hub serve`` and ``station-node`` processes:
tests/test_e2e_renew.py; the hostile side: tests/test_e2e_attack_transport.py.
"""

from __future__ import annotations

import os
import sqlite3
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from county_hub import ca as hubca
from county_hub.errors import CertificateRefused, NotEnrolled, RenewRefused
from county_hub.home import init_hub, open_hub
from county_hub.registry import Registry, normalise_serial
from station_node import identity
from sync.engine.errors import ValidationError

VILLAGE = "440902001001"
VILLAGE2 = "440902001002"


# --------------------------------------------------------------------------- the hub's registry


@pytest.fixture
def hub(tmp_path):
    home = tmp_path / "hub"
    init_hub(home, "440902", "测试县", [])
    store, registry = open_hub(home)
    yield home, store, registry, hubca.load_ca(home)
    store.close()


def _key():
    return ec.generate_private_key(ec.SECP256R1())


def _csr(key, cn: str = VILLAGE, sans=()) -> bytes:
    builder = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(list(sans)), critical=False)
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def _enrolled(registry: Registry, ca, station: str = VILLAGE, *, cert_days: int | None = None):
    """(certificate, its serial, its key id) of a station enrolled with a token."""
    token = registry.create_token(station, ca, cert_days=cert_days)
    pem, _ = registry.enroll(token, _csr(_key(), station), ca)
    cert = x509.load_pem_x509_certificate(pem)
    return cert, format(cert.serial_number, "x"), hubca.public_key_id(cert)


def _age(home, station: str, days: float) -> None:
    """The station's certificates as if issued ``days`` earlier (the registry reads issued_ms)."""
    conn = sqlite3.connect(home / "hub.db")
    with conn:
        conn.execute("UPDATE _certs SET issued_ms = issued_ms - ? WHERE station = ?", (int(days * 86_400_000), station))
    conn.close()


def test_a_token_sets_the_lifetime_of_the_certificate_it_enrolls(hub):
    _home, _store, registry, ca = hub
    cert, _, _ = _enrolled(registry, ca, cert_days=10)
    left = cert.not_valid_after_utc.timestamp() - time.time()
    assert 9 * 86_400 < left <= 10 * 86_400
    for bad in (0, 731):
        with pytest.raises(ValidationError, match="证书有效期"):
            registry.create_token(VILLAGE2, ca, cert_days=bad)


def test_a_renewal_names_the_caller_whatever_the_csr_asks(hub):
    _home, _store, registry, ca = hub
    _, serial, key_id = _enrolled(registry, ca, cert_days=10)
    csr = _csr(_key(), cn=VILLAGE2, sans=[x509.UniformResourceIdentifier(f"vetsync:station:{VILLAGE2}")])
    renewal = registry.renew(VILLAGE, serial, key_id, csr, ca)
    cert = x509.load_pem_x509_certificate(renewal.cert_pem)
    assert hubca.station_code_from_cert(cert) == VILLAGE
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == VILLAGE
    assert cert.not_valid_after_utc.timestamp() - time.time() > 700 * 86_400  # a renewal gets the full two years
    [old, new] = registry.certs(VILLAGE)
    assert (old["serial"], new["serial"], new["renewed_from"]) == (serial, renewal.serial, serial)
    assert old["state"] == new["state"] == "valid"  # the old one stays valid until the new one is used
    assert any(e["kind"] == "renew" and e["detail"]["serial"] == renewal.serial for e in registry.audit_log())


def test_at_most_one_renewal_a_day_and_a_lost_answer_gets_the_same_certificate(hub):
    home, _store, registry, ca = hub
    _, serial, key_id = _enrolled(registry, ca)  # two years left: the day's limit applies at once
    with pytest.raises(RenewRefused, match="24 小时"):
        registry.renew(VILLAGE, serial, key_id, _csr(_key()), ca)
    _age(home, VILLAGE, 2)
    key = _key()
    first = registry.renew(VILLAGE, serial, key_id, _csr(key), ca)
    again = registry.renew(VILLAGE, serial, key_id, _csr(key), ca)  # the answer was lost; the station asks again
    assert again.repeated and again.serial == first.serial and again.cert_pem == first.cert_pem
    with pytest.raises(RenewRefused, match="24 小时"):  # a new key: that would be a second certificate today
        registry.renew(VILLAGE, serial, key_id, _csr(_key()), ca)
    with pytest.raises(RenewRefused, match="新的密钥"):  # the presented certificate's own key
        registry.renew(VILLAGE, first.serial, hubca.public_key_id(first.cert_pem), _csr(key), ca)
    assert len(registry.certs(VILLAGE)) == 2


def test_a_renewed_certificate_in_use_supersedes_the_older_ones(hub):
    _home, _store, registry, ca = hub
    _, serial, key_id = _enrolled(registry, ca, cert_days=5)
    renewal = registry.renew(VILLAGE, serial, key_id, _csr(_key()), ca)
    registry.check_certificate(VILLAGE, serial)  # the old one, before the new one is used: still good
    registry.check_certificate(VILLAGE, renewal.serial)  # first use of the new one
    with pytest.raises(CertificateRefused) as err:
        registry.check_certificate(VILLAGE, serial)
    assert err.value.reason == "superseded" and "吊销" in str(err.value)
    states = {c["serial"]: (c["state"], c["revoked_reason"]) for c in registry.certs(VILLAGE)}
    assert states == {serial: ("revoked", "superseded"), renewal.serial: ("valid", None)}


def test_refused_callers_and_csrs(hub):
    _home, _store, registry, ca = hub
    _, serial, key_id = _enrolled(registry, ca, cert_days=5)
    _, other_serial, _ = _enrolled(registry, ca, VILLAGE2)
    with pytest.raises(CertificateRefused) as err:  # a serial of another station
        registry.renew(VILLAGE, other_serial, key_id, _csr(_key()), ca)
    assert err.value.reason == "unknown"
    with pytest.raises(CertificateRefused):
        registry.renew(VILLAGE, "abc123", key_id, _csr(_key()), ca)
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    for bad in (b"", b"junk", b"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n",
                _csr(rsa_key), _csr(_key()).replace(b"A", b"B", 1), b"x" * (hubca.MAX_CSR_BYTES + 1)):
        with pytest.raises(hubca.CSRError):
            registry.renew(VILLAGE, serial, key_id, bad, ca)
    registry.revoke(VILLAGE)
    with pytest.raises(CertificateRefused) as err:
        registry.renew(VILLAGE, serial, key_id, _csr(_key()), ca)
    assert err.value.reason == "revoked"
    assert [c["serial"] for c in registry.certs(VILLAGE)] == [serial]  # nothing was signed


def test_a_tampered_csr_signature_is_refused(hub):
    _home, _store, _registry, _ca = hub
    key = _key()
    good = x509.load_pem_x509_csr(_csr(key))
    der = bytearray(good.public_bytes(serialization.Encoding.DER))
    der[-5] ^= 0x01  # a byte of the signature
    pem = x509.load_der_x509_csr(bytes(der)).public_bytes(serialization.Encoding.PEM)
    with pytest.raises(hubca.CSRError):
        hubca.check_station_csr(pem)


def test_revoke_one_serial(hub):
    _home, _store, registry, ca = hub
    _, first, key_id = _enrolled(registry, ca, cert_days=5)
    second = registry.renew(VILLAGE, first, key_id, _csr(_key()), ca).serial
    cert, done = registry.revoke_serial(first.upper())
    assert done and cert["serial"] == first and cert["state"] == "revoked"
    assert registry.revoke_serial(first)[1] is False  # already revoked: nothing changes
    registry.check_certificate(VILLAGE, second)  # the other one is untouched
    with pytest.raises(NotEnrolled, match="没有签发过"):
        registry.revoke_serial("ab" * 10)
    assert normalise_serial("0x00:1A:2b") == "1a2b" and normalise_serial("serial=0FF") == "ff"
    for bad in ("", "xyz", "1" * 41):
        with pytest.raises(ValidationError):
            normalise_serial(bad)


def test_no_certificate_outlives_the_ca(hub):
    _home, _store, _registry, ca = hub
    import datetime as dt

    short = hubca.CA(key=ca.key, cert=x509.CertificateBuilder()
                     .subject_name(ca.cert.subject).issuer_name(ca.cert.subject).public_key(ca.key.public_key())
                     .serial_number(1).not_valid_before(ca.cert.not_valid_before_utc)
                     .not_valid_after(dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=100))
                     .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                     .sign(ca.key, hashes.SHA256()))
    pem, _, not_after = hubca.sign_station_csr(short, _csr(_key()), VILLAGE)
    assert not_after == short.cert.not_valid_after_utc
    with pytest.raises(ValueError):
        hubca.sign_station_csr(ca, _csr(_key()), VILLAGE, days=0)


def test_an_older_registry_is_migrated(tmp_path):
    from sync.store.hub import HubStore
    from sync.store.registry import MIGRATIONS

    home = tmp_path / "hub"
    init_hub(home, "440902", "测试县", [])
    conn = sqlite3.connect(home / "hub.db")
    with conn:  # back to the registry of migration 1
        conn.execute("DROP TABLE _certs")
        conn.execute("DROP TABLE _tokens")
        conn.execute("DELETE FROM _hub_migrations WHERE id > 1")
        for statement in MIGRATIONS[0][1].split(";"):
            if "_certs" in statement or "_tokens" in statement:
                if statement.strip():
                    conn.execute(statement)
        conn.execute("INSERT INTO _certs (serial, station, issued_ms, not_after) VALUES ('ab', ?, 1, '2999-01-01')",
                     (VILLAGE,))
    conn.close()
    store = HubStore(home / "hub.db")
    try:
        registry = Registry(store)
        assert [c["serial"] for c in registry.certs()] == ["ab"]
        assert {r[0] for r in store.conn.execute("SELECT id FROM _hub_migrations")} == {1, 2}
    finally:
        store.close()


# --------------------------------------------------------------------------- the station's swap


@pytest.fixture
def station(tmp_path):
    """A station home enrolled with a county CA (no network), and the CA."""
    ca_home = tmp_path / "hub"
    hubca.create_ca("440902", "测试县", ca_home)
    ca = hubca.load_ca(ca_home)
    home = tmp_path / "station"
    csr = identity.make_key_and_csr(VILLAGE, home)
    pem, _, _ = hubca.sign_station_csr(ca, csr, VILLAGE)
    identity.store_certificate(home, pem, ca.cert_pem, expected_ca_fp=ca.fingerprint, expected_station=VILLAGE)
    return home, ca


def _serial(home) -> str:
    key, cert, _ca = identity.load_tls_material(home)  # also: the key is the certificate's
    return format(x509.load_pem_x509_certificate(cert).serial_number, "x")


def _swap(home, ca, **kw):
    csr = identity.pending_csr(home, VILLAGE)
    pem, serial, _ = hubca.sign_station_csr(ca, csr, VILLAGE)
    identity.install_pending(home, pem, ca.cert_pem, expected_ca_fp=ca.fingerprint, expected_station=VILLAGE, **kw)
    return format(serial, "x")


def test_a_swap_gives_the_new_pair_and_leaves_nothing_pending(station):
    home, ca = station
    old = _serial(home)
    new = _swap(home, ca)
    assert _serial(home) == new != old
    assert sorted(p.name for p in (home / "tls").iterdir()) == ["ca.crt", "station.crt", "station.key"]
    assert oct((home / "tls" / "station.key").stat().st_mode & 0o777) == "0o600"


def test_a_crash_at_any_step_leaves_the_old_pair_or_the_new_pair(station, monkeypatch):
    """The swap's writes, fsyncs and renames counted; the process 'dies' at the n-th, for every n
    until a swap goes through; whatever is on disk then reads as a key and its own certificate, old
    or new, and a later renewal completes from there."""
    home, ca = station

    class Crash(BaseException):
        pass

    crash_at = 0
    while True:
        crash_at += 1
        before = _serial(home)
        steps = {"n": 0}

        def counting(fn):
            def step(*args, **kw):
                steps["n"] += 1
                if steps["n"] == crash_at:
                    raise Crash
                return fn(*args, **kw)
            return step

        csr = identity.pending_csr(home, VILLAGE)
        pem, new_serial, _ = hubca.sign_station_csr(ca, csr, VILLAGE)
        for name in ("replace", "fsync", "write"):
            monkeypatch.setattr(identity.os, name, counting(getattr(os, name)))
        try:
            identity.install_pending(home, pem, ca.cert_pem, expected_ca_fp=ca.fingerprint, expected_station=VILLAGE)
            crashed = False
        except Crash:
            crashed = True
        monkeypatch.undo()
        now = _serial(home)  # a key and its own certificate
        assert now in (before, format(new_serial, "x")), crash_at
        assert identity.cert_info(home)["serial"] == now
        if not crashed:
            assert now == format(new_serial, "x")
            break
        later = _swap(home, ca)  # and the station renews again from there
        assert _serial(home) == later
    assert crash_at > 5  # the write, its fsyncs and both renames were each a crash point


def test_a_pending_key_is_sent_again_until_its_certificate_comes(station):
    home, ca = station
    first = identity.pending_csr(home, VILLAGE)
    again = identity.pending_csr(home, VILLAGE)
    key_of = lambda pem: x509.load_pem_x509_csr(pem).public_key().public_bytes(  # noqa: E731
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert key_of(first) == key_of(again)
    assert key_of(identity.pending_csr(home, VILLAGE, fresh=True)) != key_of(first)


def test_a_certificate_that_does_not_fit_is_refused_and_the_identity_kept(station, tmp_path):
    home, ca = station
    old = _serial(home)
    identity.pending_csr(home, VILLAGE)
    stranger = hubca.sign_station_csr(ca, _csr(_key()), VILLAGE)[0]  # another key
    other_station = hubca.sign_station_csr(ca, identity.pending_csr(home, VILLAGE), VILLAGE2)[0]
    hubca.create_ca("440903", None, tmp_path / "other")
    other_ca = hubca.load_ca(tmp_path / "other")
    foreign = hubca.sign_station_csr(other_ca, identity.pending_csr(home, VILLAGE), VILLAGE)[0]
    for pem, ca_pem, match in ((stranger, ca.cert_pem, "新密钥不匹配"), (other_station, ca.cert_pem, "站点"),
                               (foreign, other_ca.cert_pem, "指纹"), (foreign, ca.cert_pem, "签发")):
        with pytest.raises(identity.IdentityError, match=match):
            identity.install_pending(home, pem, ca_pem, expected_ca_fp=ca.fingerprint, expected_station=VILLAGE)
        assert _serial(home) == old


def test_a_second_process_installing_the_same_certificate_changes_nothing(station):
    """The daemon and a clerk's `renew` at once send the same pending key and get the same
    certificate; whichever installs it second finds it in place and leaves it there."""
    home, ca = station
    csr = identity.pending_csr(home, VILLAGE)
    pem, serial, _ = hubca.sign_station_csr(ca, csr, VILLAGE)
    args = dict(expected_ca_fp=ca.fingerprint, expected_station=VILLAGE)
    identity.install_pending(home, pem, ca.cert_pem, **args)
    assert identity.install_pending(home, pem, ca.cert_pem, **args)["serial"] == format(serial, "x")
    identity.discard_pending(home)
    assert _serial(home) == format(serial, "x")
