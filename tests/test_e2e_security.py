"""Refusals, against a real hub process on 127.0.0.1 (DESIGN §4 Authorisation,
§5 Security). Each refusal is checked for its status code and message, for
the hub still serving afterwards (a normal station's sync works) and for
nothing written (the hub's row counts unchanged)."""

from __future__ import annotations

import hashlib
import json
import time

import grpc
import pytest

from crafted import now_ms, station_stub
from procs import (
    REPLICATED_TABLES,
    TOWN,
    VILLAGE_A,
    VILLAGE_B,
    Hub,
    Station,
    id_number,
    mtls_channel,
    one_line_error,
    query,
    row_counts,
    rows_of,
    station_tls,
)
from sync.engine.clocks import unpack_clock
from sync.wire.gen.vetsync.v1 import sync_pb2 as pb
from sync.wire.gen.vetsync.v1 import sync_pb2_grpc
from sync.engine.hlc import make_version, new_replica_id

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

VILLAGE_C = "440902001003"
DAY_MS = 86_400_000


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    root = tmp_path_factory.mktemp("sec")
    hub = Hub(root / "hub").start()
    st = {
        "town": Station(root / "town", TOWN).enroll(hub),
        "va": Station(root / "va", VILLAGE_A).enroll(hub),
        "vb": Station(root / "vb", VILLAGE_B).enroll(hub),
    }
    st["va_vet"] = st["va"].add_veteran(id_number(1), "李一")
    st["vb_vet"] = st["vb"].add_veteran(id_number(2), "王二")
    st["va"].sync()
    st["vb"].sync()
    yield hub, st, root
    hub.stop()


def hub_state(hub: Hub) -> dict:
    """Everything a refused request must leave untouched."""
    return {**row_counts(hub.home), "_history": query(hub.home, "SELECT count(*) FROM _history")[0][0],
            "veterans_rows": rows_of(hub.home, "veterans")}


def assert_still_serving(hub: Hub, st: dict) -> None:
    assert hub.proc.poll() is None, "the hub stopped"
    report = st["vb"].sync()
    assert report["station"] == VILLAGE_B


def row(table: str, row_id: str, values: dict, *, replica: str, wall_ms: int | None = None,
        base: dict | None = None) -> pb.Row:
    version = make_version(wall_ms or now_ms(), 0, replica)
    clock = dict.fromkeys(values, version)
    base = base if base is not None else dict.fromkeys(values, "")
    enc = lambda o: json.dumps(o, ensure_ascii=False).encode()  # noqa: E731
    return pb.Row(table=table, id=row_id, values=enc(values), clock=enc(clock), base=enc(base))


def new_veteran(area: str, n: int, *, replica: str, **kw) -> pb.Row:
    import uuid

    return row("veterans", str(uuid.uuid4()),
               {"id_number": id_number(n), "name": "越界", "area": area, "deleted": 0}, replica=replica, **kw)


def push(stub, rows: list[pb.Row], replica: str, *, batch: int = 0, timeout: float = 30) -> list[pb.PushResponse]:
    return list(stub.Push(iter([pb.PushRequest(batch=batch, replica_id=replica, rows=rows)]), timeout=timeout))


def handshake(stub, replica: str | None = None) -> pb.HandshakeResponse:
    return stub.Handshake(pb.HandshakeRequest(protocol=1, schema=1, replica_id=replica or new_replica_id(),
                                              wall_ms=now_ms()), timeout=10)


def foreign_identity(tmp_path, station: str) -> tuple[bytes, bytes]:
    """A key and a perfectly formed station certificate, issued by another county's CA."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    from county_hub import ca as hubca

    hubca.create_ca("440902", "冒名县", tmp_path / "evil")
    evil = hubca.load_ca(tmp_path / "evil")
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, station)])).sign(key, hashes.SHA256()))
    cert, _, _ = hubca.sign_station_csr(evil, csr.public_bytes(serialization.Encoding.PEM), station)
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return key_pem, cert


# --------------------------------------------------------------------------- transport


def test_no_client_certificate_is_unavailable(net):
    hub, st, _ = net
    before = hub_state(hub)
    _, _, ca = station_tls(st["va"].home)
    with mtls_channel(hub.target, ca=ca) as channel:
        stub = sync_pb2_grpc.SyncStub(channel)
        with pytest.raises(grpc.RpcError) as err:
            handshake(stub)
        assert err.value.code() == grpc.StatusCode.UNAVAILABLE
        with pytest.raises(grpc.RpcError) as err:
            push(stub, [new_veteran(VILLAGE_A, 50, replica=new_replica_id())], new_replica_id())
        assert err.value.code() == grpc.StatusCode.UNAVAILABLE
    assert hub_state(hub) == before
    assert_still_serving(hub, st)


def test_certificate_from_another_ca(net, tmp_path):
    hub, st, _ = net
    before = hub_state(hub)
    key, cert = foreign_identity(tmp_path, VILLAGE_A)
    _, _, ca = station_tls(st["va"].home)
    with mtls_channel(hub.target, ca=ca, key=key, cert=cert) as channel:
        stub = sync_pb2_grpc.SyncStub(channel)
        with pytest.raises(grpc.RpcError) as err:
            handshake(stub)
        assert err.value.code() == grpc.StatusCode.UNAVAILABLE
        with pytest.raises(grpc.RpcError) as err:
            push(stub, [new_veteran(VILLAGE_A, 51, replica=new_replica_id())], new_replica_id())
        assert err.value.code() == grpc.StatusCode.UNAVAILABLE
    # the enrollment port does not ask for client certificates, so the foreign one gets nothing there either
    with mtls_channel(f"127.0.0.1:{hub.enroll_port}", ca=ca, key=key, cert=cert) as channel:
        with pytest.raises(grpc.RpcError) as err:
            handshake(sync_pb2_grpc.SyncStub(channel))
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED

    # a station PC holding such a certificate: the certificate message at once, no retry loop
    # (enrolled under a code of its own: enrolling VILLAGE_A again would revoke VILLAGE_A's certificate)
    impostor = Station(tmp_path / "impostor", "440902001009")
    impostor.home.mkdir()
    impostor.enroll(hub)
    (impostor.home / "tls" / "station.key").write_bytes(key)
    (impostor.home / "tls" / "station.crt").write_bytes(cert)
    impostor.add_veteran(id_number(52), "冒名")
    started = time.monotonic()
    failed = impostor.cli("sync", "--retries", "4", check=False, timeout=60)
    message = one_line_error(failed)
    assert "证书" in message and "握手失败" in message, message
    assert "重试" not in failed.stderr, failed.stderr
    assert time.monotonic() - started < 15
    assert hub_state(hub) == before
    assert_still_serving(hub, st)


def test_sync_on_the_enrollment_port_is_unauthenticated(net):
    hub, st, _ = net
    before = hub_state(hub)
    key, cert, ca = station_tls(st["va"].home)
    for material in ({}, {"key": key, "cert": cert}):  # even a good certificate is not asked for there
        with mtls_channel(f"127.0.0.1:{hub.enroll_port}", ca=ca, **material) as channel:
            stub = sync_pb2_grpc.SyncStub(channel)
            with pytest.raises(grpc.RpcError) as err:
                handshake(stub)
            assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
            assert "站点证书" in err.value.details()
            with pytest.raises(grpc.RpcError) as err:
                push(stub, [new_veteran(VILLAGE_A, 53, replica=new_replica_id())], new_replica_id())
            assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
            with pytest.raises(grpc.RpcError) as err:
                list(stub.Pull(pb.PullRequest(cursor=0), timeout=10))
            assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert hub_state(hub) == before
    assert_still_serving(hub, st)


# --------------------------------------------------------------------------- identity


def test_revoked_station_is_refused(net):
    hub, st, root = net
    home = root / "vc"
    home.mkdir()
    vc = Station(home, VILLAGE_C).enroll(hub)
    vc.add_veteran(id_number(60), "赵六")
    assert vc.sync()["pushed"] == 1
    hub.cli("revoke", "--station", VILLAGE_C)
    vc.add_veteran(id_number(61), "赵七")
    before = hub_state(hub)
    started = time.monotonic()
    failed = vc.cli("sync", check=False, timeout=60)
    message = one_line_error(failed)
    assert "UNAUTHENTICATED" in message and "吊销" in message, message
    assert "重试" not in failed.stderr
    assert time.monotonic() - started < 15
    channel, stub = station_stub(hub, home)
    with channel:
        with pytest.raises(grpc.RpcError) as err:
            push(stub, [new_veteran(VILLAGE_C, 62, replica=new_replica_id())], new_replica_id())
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED and "吊销" in err.value.details()
        with pytest.raises(grpc.RpcError) as err:
            list(stub.Pull(pb.PullRequest(cursor=0), timeout=10))
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert hub_state(hub) == before
    assert vc.cli_json("status")["pending"] == 1  # the clerk's record is kept for later
    state = {s["station"]: s["cert_state"] for s in hub.cli_json("stations")}
    assert state[VILLAGE_C] == "revoked" and state[VILLAGE_A] == "valid"
    assert_still_serving(hub, st)


def assert_home_empty(home) -> None:
    left = sorted(p.name for p in home.rglob("*") if p.is_file())
    assert "station.db" not in left and "station.key" not in left, left


def _token_made_in_the_past(hub, station: str, *, days: float, ttl_hours: float) -> str:
    """A token the hub's own registry made ``days`` ago (written beside the running hub:
    SQLite lets both open the database), so the hub finds it expired without waiting."""
    from county_hub.ca import load_ca
    from county_hub.home import open_hub
    from county_hub.registry import Registry

    store, _ = open_hub(hub.home)
    try:
        past = Registry(store, clock=lambda: time.time() - days * 86_400)
        return past.create_token(station, load_ca(hub.home), ttl_hours=ttl_hours)
    finally:
        store.close()


def test_reused_and_expired_tokens_are_refused(net, tmp_path):
    hub, st, _ = net
    token = hub.token("440902001004")
    first = Station(tmp_path / "first", "440902001004")
    first.cli("init", "--station", first.code, "--hub", hub.target, "--token", token)
    certs = query(hub.home, "SELECT count(*) FROM _certs")[0][0]

    again = Station(tmp_path / "again", "440902001004")
    failed = again.cli("init", "--station", again.code, "--hub", hub.target, "--token", token, check=False)
    assert "已使用" in one_line_error(failed)
    assert_home_empty(again.home)

    short = _token_made_in_the_past(hub, "440902001005", days=3, ttl_hours=1)  # expired two days ago
    late = Station(tmp_path / "late", "440902001005")
    failed = late.cli("init", "--station", late.code, "--hub", hub.target, "--token", short, check=False)
    assert "过期" in one_line_error(failed)
    assert_home_empty(late.home)
    assert query(hub.home, "SELECT count(*) FROM _certs")[0][0] == certs  # nothing issued
    assert "440902001005" not in {s["station"] for s in hub.cli_json("stations")}
    assert_still_serving(hub, st)


def test_token_pinned_to_another_ca_is_refused_before_sending(net, tmp_path):
    hub, st, _ = net
    token = hub.token("440902001006")
    forged = token[:-64] + hashlib.sha256(b"another county").hexdigest()
    home = tmp_path / "pinned"
    station = Station(home, "440902001006")
    failed = station.cli("init", "--station", station.code, "--hub", hub.target, "--token", forged, check=False)
    assert "指纹" in one_line_error(failed)
    assert_home_empty(home)
    # the token never reached the hub: still unused, and the genuine one still works
    used = query(hub.home, "SELECT used_ms FROM _tokens WHERE station = ?", ("440902001006",))
    assert used == [(None,)]
    station.cli("init", "--station", station.code, "--hub", hub.target, "--token", token)
    assert (home / "station.db").exists()


# --------------------------------------------------------------------------- authorisation


def test_village_cannot_write_or_move_rows_outside_its_village(net):
    hub, st, _ = net
    va, vb = st["va"], st["vb"]
    vet = st["va_vet"]
    before = hub_state(hub)
    conflicts_before = before["conflicts"]

    # writing a new row into the other village
    replica = new_replica_id()
    channel, stub = station_stub(hub, va.home)
    with channel:
        outside = new_veteran(VILLAGE_B, 70, replica=replica)
        [resp] = push(stub, [outside], replica)
        assert not resp.acks
        assert [(r.table, r.id) for r in resp.refused] == [("veterans", outside.id)]
        assert VILLAGE_B in resp.refused[0].reason and "不在本站范围" in resp.refused[0].reason
        assert outside.id not in rows_of(hub.home, "veterans")

        # moving its own veteran to the other village: refused locally first …
        failed = va.cli("veteran", "edit", vet, "--set", f"area={VILLAGE_B}", check=False)
        one_line_error(failed)
        assert rows_of(va.home, "veterans")[vet][0] == VILLAGE_A
        assert va.cli_json("status")["pending"] == 0
        # … and by the hub when a crafted push tries it anyway
        hub_clock = unpack_clock("veterans", rows_of(hub.home, "veterans")[vet][1])
        move = row("veterans", vet, {"area": VILLAGE_B}, replica=replica, base={"area": hub_clock["area"]})
        [resp] = push(stub, [move], replica, batch=1)
        assert resp.batch == 1 and not resp.acks
        assert [r.id for r in resp.refused] == [vet] and VILLAGE_B in resp.refused[0].reason
    after = hub_state(hub)
    assert after["veterans_rows"] == before["veterans_rows"]  # same rows, same area, same versions
    assert after["_history"] == before["_history"]
    # the refused move is kept for a person to see (DESIGN §4 "refused edit"), in the row's own village
    refused = query(hub.home, "SELECT kind, row_id, area FROM conflicts")
    assert after["conflicts"] == conflicts_before + 1 and ("refused_edit", vet, VILLAGE_A) in refused
    vb.sync()
    assert vet not in rows_of(vb.home, "veterans")
    assert_still_serving(hub, st)


def test_station_clock_a_day_ahead(net):
    hub, st, _ = net
    before = hub_state(hub)
    replica = new_replica_id()
    channel, stub = station_stub(hub, st["va"].home)
    with channel:
        ok = new_veteran(VILLAGE_A, 80, replica=replica)
        ahead = new_veteran(VILLAGE_A, 81, replica=replica, wall_ms=now_ms() + DAY_MS)
        with pytest.raises(grpc.RpcError) as err:
            push(stub, [ok, ahead], replica)
        assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "时钟" in err.value.details() and "1440 分钟" in err.value.details()
    assert hub_state(hub) == before  # not even the row with a sane clock: the batch is one transaction
    assert_still_serving(hub, st)


# --------------------------------------------------------------------------- malformed and oversized


def test_malformed_and_oversized_messages(net):
    hub, st, _ = net
    before = hub_state(hub)
    replica = new_replica_id()
    good = lambda n: new_veteran(VILLAGE_A, n, replica=replica)  # noqa: E731
    version = make_version(now_ms(), 0, replica)
    channel, stub = station_stub(hub, st["va"].home)
    cap = handshake(stub, replica).max_batch_rows  # the most rows a batch may hold, as the hub says
    assert 0 < cap < 100_000
    cases = {
        "too many rows": ([good(100 + i % 800) for i in range(cap + 1)], grpc.StatusCode.INVALID_ARGUMENT, str(cap)),
        "over 32 MiB": ([pb.Row(table="veterans", id="x1", values=b'{"note":"' + b"x" * (33 << 20) + b'"}',
                                clock=json.dumps({"note": version}).encode())],
                        grpc.StatusCode.RESOURCE_EXHAUSTED, ""),
        "values not JSON": ([good(90), pb.Row(table="veterans", id="x2", values=b"{not json",
                                              clock=json.dumps({"name": version}).encode())],
                            grpc.StatusCode.INVALID_ARGUMENT, "JSON"),
        "values not an object": ([pb.Row(table="veterans", id="x3", values=b"[1, 2]", clock=b"{}")],
                                 grpc.StatusCode.INVALID_ARGUMENT, "字段对象"),
        "version not a version": ([good(91), pb.Row(table="veterans", id="x4", values='{"name":"甲"}'.encode(),
                                                    clock=b'{"name":"2024-01-01"}')],
                                  grpc.StatusCode.INVALID_ARGUMENT, "版本"),
        "base not a version": ([pb.Row(table="veterans", id="x5", values='{"name":"甲"}'.encode(),
                                       clock=json.dumps({"name": version}).encode(), base=b'{"name":42}')],
                               grpc.StatusCode.INVALID_ARGUMENT, "base"),
        "unknown table": ([good(92), row("_certs", "x6", {"serial": "1"}, replica=replica)],
                          grpc.StatusCode.INVALID_ARGUMENT, "未知的数据表"),
        "bad area": ([row("veterans", "x7", {"area": "4409020010%"}, replica=replica)],
                     grpc.StatusCode.INVALID_ARGUMENT, "区划"),
        "bad replica id": ([good(93)], grpc.StatusCode.INVALID_ARGUMENT, "replica_id"),
    }
    with channel:
        for name, (rows, code, words) in cases.items():
            rid = "not-a-replica" if name == "bad replica id" else replica
            with pytest.raises(grpc.RpcError) as err:
                push(stub, rows, rid)
            assert err.value.code() == code, (name, err.value.code(), err.value.details())
            assert words in (err.value.details() or ""), (name, err.value.details())
            assert hub_state(hub) == before, name
        with pytest.raises(grpc.RpcError) as err:
            stub.Handshake(pb.HandshakeRequest(protocol=99, replica_id=replica), timeout=10)
        assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION and "协议" in err.value.details()
        # the same connection still works for a well-formed request
        assert handshake(stub, replica).station == VILLAGE_A
    assert hub_state(hub) == before
    assert_still_serving(hub, st)
    assert {t: n for t, n in row_counts(hub.home).items()} == {t: before[t] for t in REPLICATED_TABLES}
