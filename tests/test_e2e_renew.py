"""A station's certificate lives as long as the station (issue 11, part 5), with
real `county-hub serve` and `station-node` processes and real certificates on
127.0.0.1: renewal during a sync when fewer than 30 days are left (a short-lived
certificate comes from `county-hub token --cert-days`), renewal by hand, a
re-enrollment in place that keeps the unpushed edits, an offline home that
joins the network, a new hub address, revocation of one certificate by serial,
and `status` showing a revoked certificate as 已吊销.

What the hub decided (PROTOCOL.md "Certificates"): a renewed certificate's
predecessors stay valid until the renewed one is first used, then they are
revoked (superseded); revoking a station revokes all its certificates.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import time

import grpc
import pytest

from procs import (
    STATION,
    TOWN,
    GateProxy,
    Hub,
    Station,
    id_number,
    mtls_channel,
    one_line_error,
    query,
    station_tls,
    wait_for,
)
from sync.engine.hlc import new_replica_id
from sync.wire.gen.vetsync.v1 import sync_pb2 as pb
from sync.wire.gen.vetsync.v1 import sync_pb2_grpc

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    hub = Hub(tmp_path_factory.mktemp("renew") / "hub").start()
    yield hub
    hub.stop()


def enroll(hub: Hub, home, code: str, *extra: str) -> Station:
    """A station enrolled with a token made with ``extra`` options (``--cert-days N``)."""
    station = Station(home, code)
    station.cli("init", "--hub", hub.target, "--token", hub.token(code, *extra))
    return station


def handshake(hub: Hub, tls: tuple[bytes, bytes, bytes]) -> tuple[grpc.StatusCode, str | None]:
    """One Handshake with the given (key, cert, ca): its status code, and the reason the hub gave
    for refusing the certificate (trailing metadata), if it did."""
    key, cert, ca = tls
    with mtls_channel(hub.target, ca=ca, key=key, cert=cert) as channel:
        try:
            sync_pb2_grpc.SyncStub(channel).Handshake(
                pb.HandshakeRequest(protocol=1, schema=1, replica_id=new_replica_id(), wall_ms=int(time.time() * 1000)),
                timeout=10)
            return grpc.StatusCode.OK, None
        except grpc.RpcError as exc:
            reason = dict(exc.trailing_metadata() or ()).get("vetsync-certificate")
            return exc.code(), reason


def certs_of(hub: Hub, code: str) -> dict[str, dict]:
    return {c["serial"]: c for c in hub.cli_json("certs", "--station", code)}


def age_certificates(hub: Hub, code: str, days: float) -> None:
    """As if the hub had issued the station's certificates ``days`` earlier (the hub reads the time
    of issue from its database at each renewal; SQLite lets both open it)."""
    conn = sqlite3.connect(hub.home / "hub.db", timeout=10)
    with conn:
        conn.execute("UPDATE _certs SET issued_ms = issued_ms - ? WHERE station = ?", (int(days * 86_400_000), code))
    conn.close()


# --------------------------------------------------------------------------- renewal


def test_a_certificate_with_fewer_than_30_days_left_is_renewed_by_sync(hub, tmp_path):
    va = enroll(hub, tmp_path / "va", "440902001011", "--cert-days", "10")
    before = va.cli_json("status")["certificate"]
    assert before["days_left"] < 10 and before["renew_due"] and before["state"] == "valid"
    assert "下次同步时自动续期" in va.cli("status").stdout
    old_tls = station_tls(va.home)
    vid = va.add_veteran(id_number(101), "续一")

    report = va.sync()
    assert report["pushed"] == 1  # the sync itself, as always
    renewal = report["renewal"]
    assert renewal["result"] == "renewed" and renewal["previous_serial"] == before["serial"]
    after = va.cli_json("status")["certificate"]
    assert after["serial"] == renewal["serial"] != before["serial"]
    assert after["days_left"] > 700 and not after["renew_due"] and after["state"] == "valid"
    assert sorted(p.name for p in (va.home / "tls").iterdir()) == ["ca.crt", "station.crt", "station.key"]
    issued = certs_of(hub, va.code)
    assert issued[after["serial"]]["renewed_from"] == before["serial"]

    # the old certificate works until the new one is used ...
    assert handshake(hub, old_tls) == (grpc.StatusCode.OK, None)
    # ... which the next sync does: the new one works, does not renew again, and retires the old one
    va.cli("veteran", "edit", vid, "--set", "phone=13800000001")
    report = va.sync()
    assert report["pushed"] == 1 and "renewal" not in report
    assert handshake(hub, old_tls) == (grpc.StatusCode.UNAUTHENTICATED, "superseded")
    assert certs_of(hub, va.code)[before["serial"]]["revoked_reason"] == "superseded"
    assert query(hub.home, "SELECT phone FROM veterans WHERE id = ?", (vid,)) == [("13800000001",)]
    assert "证书已续期" not in va.cli("sync").stdout


def test_the_daemon_renews_too(hub, tmp_path):
    vd = enroll(hub, tmp_path / "vd", "440902001012", "--cert-days", "3")
    old = vd.cli_json("status")["certificate"]["serial"]
    proc = subprocess.Popen([STATION, "daemon", "--interval", "0.5", "--home", str(vd.home)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    try:
        wait_for(lambda: vd.cli_json("status")["certificate"]["serial"] != old, 30, interval=0.3,
                 what="the daemon's renewal")
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "证书已续期" in err and err.count("证书已续期") == 1, err


def test_renew_by_hand(hub, tmp_path):
    vh = enroll(hub, tmp_path / "vh", "440902001013")  # two years left
    first = vh.cli_json("status")["certificate"]
    # issued minutes ago: the hub signs at most one certificate a station a day, and says so
    message = one_line_error(vh.cli("renew", check=False))
    assert "24 小时" in message, message
    assert vh.cli_json("status")["certificate"]["serial"] == first["serial"]
    assert vh.sync()["station"] == vh.code  # nothing was broken by the refusal

    age_certificates(hub, vh.code, 2)  # now it was issued two days ago
    old_tls = station_tls(vh.home)
    result = vh.cli_json("renew")
    assert result["result"] == "renewed" and result["confirmed"] and result["previous_serial"] == first["serial"]
    now = vh.cli_json("status")["certificate"]
    assert now["serial"] == result["serial"] != first["serial"] and now["days_left"] > 700
    # renew confirmed the new certificate with the hub, which retired the old one at once
    assert handshake(hub, old_tls)[0] == grpc.StatusCode.UNAUTHENTICATED
    assert handshake(hub, station_tls(vh.home)) == (grpc.StatusCode.OK, None)
    vh.add_veteran(id_number(102), "续二")
    assert vh.sync()["pushed"] == 1
    message = one_line_error(vh.cli("renew", check=False))  # again the same day: refused
    assert "24 小时" in message


# --------------------------------------------------------------------------- re-enrollment, joining


def test_reenroll_keeps_the_unpushed_edits_and_status_shows_revoked(hub, tmp_path):
    vr = enroll(hub, tmp_path / "vr", "440902001014")
    kept = vr.add_veteran(id_number(103), "留一")
    vr.sync()
    hub.cli("revoke", "--station", vr.code)
    pending = [vr.add_veteran(id_number(104), "留二"), vr.add_veteran(id_number(105), "留三")]
    vr.cli("veteran", "edit", kept, "--set", "phone=13900000002")
    message = one_line_error(vr.cli("sync", check=False))
    assert "吊销" in message and "--reenroll" in message, message
    status = vr.cli_json("status")
    assert status["certificate"]["state"] == "revoked" and status["certificate"]["refused"]["reason"] == "revoked"
    assert status["pending"] == 3
    assert "已吊销" in next(line for line in vr.cli("status").stdout.splitlines() if line.startswith("证书"))

    # a token for another station is refused, and nothing of the home changes
    message = one_line_error(vr.cli("init", "--reenroll", "--token", hub.token("440902001015"), check=False))
    assert "440902001015" in message and vr.code in message, message
    assert vr.cli_json("status")["certificate"]["state"] == "revoked"

    old_tls = station_tls(vr.home)
    info = vr.cli_json("init", "--reenroll", "--token", hub.token(vr.code))
    assert info["station"] == vr.code and not info["joined"] and info["pending"] == 3
    status = vr.cli_json("status")
    assert status["certificate"]["state"] == "valid" and status["certificate"]["serial"] == info["serial"]
    assert status["pending"] == 3 and status["hub"] == hub.target
    assert vr.sync()["pushed"] == 3
    ids = {r[0] for r in query(hub.home, "SELECT id FROM veterans WHERE area = ?", (vr.code,))}
    assert {kept, *pending} <= ids
    assert query(hub.home, "SELECT phone FROM veterans WHERE id = ?", (kept,)) == [("13900000002",)]
    assert handshake(hub, old_tls) == (grpc.StatusCode.UNAUTHENTICATED, "revoked")


def test_an_offline_home_joins_the_network_and_pushes_what_it_holds(hub, tmp_path):
    code = "440902001016"
    off = Station(tmp_path / "off", code)
    off.cli("init", "--offline", "--station", code)
    vid = off.add_veteran(id_number(106), "离一")
    off.cli("visit", "add", "--veteran", vid, "--kind", "入户", "--summary", "离线时的走访")
    message = one_line_error(off.cli("sync", check=False))
    assert "--reenroll" in message, message
    message = one_line_error(off.cli("init", "--reenroll", "--token", hub.token(code), check=False))
    assert "--hub" in message  # an offline home knows no hub

    info = off.cli_json("init", "--reenroll", "--hub", hub.target, "--token", hub.token(code))
    assert info["joined"] and info["pending"] == 2 and info["hub"] == hub.target
    assert off.cli_json("status")["mode"] == "networked"
    assert off.sync()["pushed"] == 2
    town = enroll(hub, tmp_path / "town", TOWN)
    town.sync()
    assert vid in {r["id"] for r in town.cli_json("veteran", "list")}
    assert len(town.cli_json("visit", "list", "--veteran", vid)) == 1


def test_config_hub_changes_the_address(hub, tmp_path):
    vc = enroll(hub, tmp_path / "vc", "440902001017")
    vc.sync()
    for bad in ("hub.example.local", "http://h:7443", "h:70000", "h:65535", "a b:7443"):
        message = one_line_error(vc.cli("config", "--hub", bad, check=False))
        assert "主机:端口" in message, (bad, message)
    assert vc.cli_json("config")["hub"] == hub.target
    proxy = GateProxy(hub.port)  # the hub's new address
    try:
        changed = vc.cli_json("config", "--hub", f"127.0.0.1:{proxy.port}")
        assert changed["hub"] == f"127.0.0.1:{proxy.port}" and changed["previous_hub"] == hub.target
        vc.add_veteran(id_number(107), "改址")
        assert vc.sync()["pushed"] == 1
        assert proxy.up > 0 and proxy.down > 0  # the sync went to the new address
        assert vc.cli_json("status")["hub"] == f"127.0.0.1:{proxy.port}"
    finally:
        proxy.close()
    off = Station(tmp_path / "off2", "440902001018")
    off.cli("init", "--offline", "--station", off.code)
    assert "--reenroll" in one_line_error(off.cli("config", "--hub", hub.target, check=False))


# --------------------------------------------------------------------------- revocation by serial


def test_revoke_by_serial_refuses_that_certificate_only(hub, tmp_path):
    va = enroll(hub, tmp_path / "va2", "440902001019", "--cert-days", "5")
    vb = enroll(hub, tmp_path / "vb2", "440902001020")
    old_tls = station_tls(va.home)
    old = va.cli_json("status")["certificate"]["serial"]
    new = va.sync()["renewal"]["serial"]  # the hub now holds two valid certificates of the station

    out = hub.cli("revoke", "--serial", old.upper()).stdout
    assert old in out and "其他证书不受影响" in out
    assert handshake(hub, old_tls) == (grpc.StatusCode.UNAUTHENTICATED, "revoked")
    va.add_veteran(id_number(108), "序一")
    assert va.sync()["pushed"] == 1  # its new certificate is not touched
    assert vb.sync()["station"] == vb.code
    assert "早已吊销" in hub.cli("revoke", "--serial", old).stdout  # again: said, nothing changes
    for bad, words in (("abcdef0123", "没有签发过"), ("xyz", "十六进制")):
        assert words in one_line_error(hub.cli("revoke", "--serial", bad, check=False))
    assert "二者选一" in one_line_error(hub.cli("revoke", check=False))

    hub.cli("revoke", "--serial", new)
    va.add_veteran(id_number(109), "序二")
    message = one_line_error(va.cli("sync", check=False))
    assert "吊销" in message, message
    status = va.cli_json("status")
    assert status["certificate"]["state"] == "revoked" and status["certificate"]["serial"] == new
    assert status["pending"] == 1
    assert {c["state"] for c in certs_of(hub, va.code).values()} == {"revoked"}
    assert vb.sync()["station"] == vb.code  # the other station syncs on
    stations = {s["station"]: s for s in hub.cli_json("stations")}
    assert stations[va.code]["cert_state"] == "revoked" and stations[va.code]["cert_serial"] == new
    assert stations[vb.code]["cert_state"] == "valid"
