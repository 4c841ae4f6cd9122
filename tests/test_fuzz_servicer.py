"""Fuzz the hub's servicer through a real hub process, with a real station
certificate: random bytes as the raw body of every method, and random
valid-looking messages (hypothesis). Every call must end with a precise
status — never INTERNAL or UNKNOWN — the health check must stay SERVING, and
a normal `station-node sync` must work at the end (DESIGN §5 "Bad input")."""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from contextlib import contextmanager
from typing import Iterator

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from procs import REPLICATED_TABLES, COUNTY, TOWN, VILLAGE_A, VILLAGE_B, Hub, Station, id_number, mtls_channel, rows_of, station_tls
from sync.wire.gen.vetsync.v1 import sync_pb2 as pb
from sync.engine.hlc import make_version, new_replica_id
from sync.engine.schema import TABLES

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

C = grpc.StatusCode
ALLOWED = {C.OK, C.INVALID_ARGUMENT, C.FAILED_PRECONDITION, C.PERMISSION_DENIED, C.RESOURCE_EXHAUSTED}
# No shrinking: a failing example is reported as drawn, and the run stays bounded in time.
FUZZ = settings(deadline=None, database=None, suppress_health_check=list(HealthCheck),
                phases=(Phase.explicit, Phase.generate))
TIMEOUT = 15


class Net:
    def __init__(self, root):
        self.hub = Hub(root / "hub").start()
        self.station = Station(root / "va", VILLAGE_A).enroll(self.hub)
        self.veteran = self.station.add_veteran(id_number(1), "李一")
        self.station.sync()
        key, cert, ca = station_tls(self.station.home)
        self.sync_channel = mtls_channel(self.hub.target, ca=ca, key=key, cert=cert)
        self.enroll_channel = mtls_channel(f"127.0.0.1:{self.hub.enroll_port}", ca=ca)
        raw = dict(request_serializer=None, response_deserializer=None)
        self.raw = {
            "Handshake": self.sync_channel.unary_unary("/vetsync.v1.Sync/Handshake", **raw),
            "Push": self.sync_channel.stream_stream("/vetsync.v1.Sync/Push", **raw),
            "Pull": self.sync_channel.unary_stream("/vetsync.v1.Sync/Pull", **raw),
            "Renew": self.sync_channel.unary_unary("/vetsync.v1.Sync/Renew", **raw),
            "Enroll": self.enroll_channel.unary_unary("/vetsync.v1.Enrollment/Enroll", **raw),
        }
        self.health = health_pb2_grpc.HealthStub(self.enroll_channel)
        self.calls: Counter = Counter()  # status codes of the calls made, for all tests: read with tally()
        self.answered: Counter = Counter()  # rows of pushes the hub took ("acks") or refused one by one

    @contextmanager
    def tally(self) -> Iterator[tuple[Counter, Counter]]:
        """What the calls made inside this block caused: (status codes, rows answered),
        filled in when the block ends. A test asserts on these, never on the module's
        running totals (which depend on the tests that ran before it)."""
        calls, answered = Counter(), Counter()
        calls0, answered0 = Counter(self.calls), Counter(self.answered)
        yield calls, answered
        calls.update(self.calls - calls0)
        answered.update(self.answered - answered0)

    def call(self, method: str, body) -> grpc.StatusCode:
        """One raw call; returns its status code (responses are drained)."""
        fn = self.raw[method]
        try:
            if method == "Push":
                list(fn(iter(body), timeout=TIMEOUT))
            elif method == "Pull":
                list(fn(body, timeout=TIMEOUT))
            else:
                fn(body, timeout=TIMEOUT)
            code = C.OK
        except grpc.RpcError as exc:
            code = exc.code()
            assert code not in (C.INTERNAL, C.UNKNOWN), (method, code, exc.details(), self.log_tail())
        self.calls[code] += 1
        return code

    def log_tail(self) -> str:
        return "".join(self.hub.log[-30:])

    def assert_serving(self) -> None:
        assert self.hub.proc.poll() is None, "the hub died"
        resp = self.health.Check(health_pb2.HealthCheckRequest(service="vetsync.v1.Sync"), timeout=5)
        assert resp.status == health_pb2.HealthCheckResponse.SERVING

    def close(self) -> None:
        self.sync_channel.close()
        self.enroll_channel.close()
        self.hub.stop()


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    n = Net(tmp_path_factory.mktemp("fuzz"))
    yield n
    n.close()


# --------------------------------------------------------------------------- random bytes


@settings(FUZZ, max_examples=50)
@given(method=st.sampled_from(["Handshake", "Push", "Pull", "Renew", "Enroll"]),
       bodies=st.lists(st.binary(max_size=600), min_size=1, max_size=3))
def _random_bytes(net, method, bodies):
    code = net.call(method, bodies if method == "Push" else bodies[0])
    # Enroll answers an unusable token with UNAUTHENTICATED (checked before anything is signed)
    assert code in (ALLOWED | {C.UNAUTHENTICATED} if method == "Enroll" else ALLOWED), (method, code)
    net.assert_serving()


def test_random_bytes_as_request_bodies(net):
    with net.tally() as (calls, _):
        _random_bytes(net)
    # the fuzzing reached the servicer: its own calls were answered, most of them refused as bad input
    assert calls[C.INVALID_ARGUMENT] > 10, calls


# --------------------------------------------------------------------------- valid-looking messages


def now_ms() -> int:
    return int(time.time() * 1000)


def mostly(good, bad):
    """``good`` 19 times in 20: deep paths need messages that pass the first checks."""
    return st.integers(0, 19).flatmap(lambda i: bad if i == 19 else good)


YES = mostly(st.just(True), st.just(False))
text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
replicas = mostly(st.builds(new_replica_id), st.one_of(st.sampled_from(["", "0" * 16, "g" * 16, "ABCDEF0123456789"]), text))
good_versions = st.builds(lambda dt, c, r: make_version(now_ms() + dt, c, r),  # from a day back to a minute ahead
                          st.integers(-10**9, 60_000), st.integers(0, 9999), st.builds(new_replica_id))
versions = mostly(
    good_versions,
    st.one_of(
        st.builds(lambda dt, r: make_version(now_ms() + dt, 0, r),  # far ahead, far back, before 1970
                  st.sampled_from([86_400_000, 10**12, -now_ms(), -(now_ms() + 5)]), st.builds(new_replica_id)),
        st.sampled_from(["", "0001-0000-0000000000000000", "2024-01-01", "x" * 40]),
        text,
    ),
)
good_scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**31), 2**31), st.floats(allow_nan=False), text)
scalars = mostly(good_scalars,
                 st.one_of(st.integers(-(2**70), 2**70), st.floats(allow_nan=True), st.text(max_size=2).map(lambda s: s * 40_000)))
json_values = mostly(scalars, st.one_of(st.lists(scalars, max_size=3), st.dictionaries(text, scalars, max_size=2)))
areas = mostly(st.sampled_from([VILLAGE_A, VILLAGE_A, VILLAGE_A, VILLAGE_B, TOWN, COUNTY]),
               st.sampled_from(["", "4409020010011", "44090200100a", "abc"]))


def _enc(obj) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode()


@st.composite
def rows(draw, clean: bool = False) -> pb.Row:
    """A Row that looks like a station's; with ``clean`` every part is well formed
    (the hub must then answer it row by row: acknowledged or refused with a reason)."""
    pick = (lambda good, bad: good) if clean else mostly
    table = draw(pick(st.sampled_from(sorted(TABLES)), text))
    pool = list(TABLES[table].data_fields) if table in TABLES else ["name"]
    names = draw(st.lists(pick(st.sampled_from(pool), text), max_size=5, unique=True))
    values = {n: draw(good_scalars if clean else json_values) for n in names}
    if draw(YES):
        values["area"] = draw(areas if clean else mostly(areas, scalars))
    vers = good_versions if clean else versions
    clock = {n: draw(vers) for n in values if clean or draw(YES)}  # now and then a field lacks a version
    shared = draw(vers)
    if draw(st.booleans()):  # the usual shape: one version for the whole row
        clock = dict.fromkeys(clock, shared)
    base = {n: draw(pick(st.just(""), vers)) for n in clock if draw(st.booleans())}
    if not clean and not draw(YES):
        base[draw(text)] = draw(versions)  # a base for a field not in the clock
    row_id = draw(pick(st.one_of(st.builds(lambda: str(uuid.uuid4())), st.just(net_veteran_id())),
                       st.one_of(text, st.text(min_size=65, max_size=80))))
    raw = lambda o: draw(pick(st.just(_enc(o)), st.binary(max_size=20)))  # noqa: E731
    return pb.Row(table=table, id=row_id, values=raw(values), clock=raw(clock), base=raw(base))


_VETERAN: list[str] = []


def net_veteran_id() -> str:
    """The id of an existing veteran of the village (set by the fixture), to fuzz edits of a real row."""
    return _VETERAN[0] if _VETERAN else "none"


@pytest.fixture(scope="module", autouse=True)
def _known_rows(net):
    _VETERAN[:] = [net.veteran]


def outside_the_village(hub: Hub) -> dict:
    return {t: {k: v for k, v in rows_of(hub.home, t).items() if not v[0].startswith(VILLAGE_A)}
            for t in REPLICATED_TABLES}


@st.composite
def push_requests(draw) -> pb.PushRequest:
    """Random rows, and now and then one a station could have built: the hub admits
    only rows that pass the domain checks, in versions of the pusher's own replica."""
    replica = draw(replicas)
    rs = draw(st.lists(mostly(rows(clean=True), rows()), max_size=4))
    if draw(st.booleans()) and len(replica) == 16 and all(c in "0123456789abcdef" for c in replica):
        version = make_version(now_ms(), draw(st.integers(0, 9999)), replica)
        values = {"id_number": id_number(draw(st.integers(100, 999))), "name": draw(st.sampled_from(["张三", "李四"])),
                  "area": VILLAGE_A, "deleted": 0}
        rs.append(pb.Row(table="veterans", id=str(uuid.uuid4()), values=_enc(values), version=version, created=True))
    return pb.PushRequest(batch=draw(st.integers(0, 2**64 - 1)), replica_id=replica, rows=rs)


@settings(FUZZ, max_examples=70)
@given(requests=st.lists(push_requests(), min_size=1, max_size=2))
def _valid_looking_pushes(net, requests):
    before = outside_the_village(net.hub)
    responses = []
    try:
        for resp in net.raw["Push"](iter(r.SerializeToString() for r in requests), timeout=TIMEOUT):
            responses.append(pb.PushResponse.FromString(resp))
        code = C.OK
    except grpc.RpcError as exc:
        code = exc.code()
        assert code not in (C.INTERNAL, C.UNKNOWN), (code, exc.details(), net.log_tail())
    assert code in ALLOWED, code
    net.calls[code] += 1
    net.answered["acks"] += sum(len(r.acks) for r in responses)
    net.answered["refused"] += sum(len(r.refused) for r in responses)
    for request, resp in zip(requests, responses):  # every row answered: acknowledged or refused
        assert resp.batch == request.batch
        assert len(resp.acks) + len(resp.refused) == len(request.rows)
        assert all(r.reason for r in resp.refused)
    # nothing ever lands outside the village
    assert outside_the_village(net.hub) == before
    net.assert_serving()


def test_random_valid_looking_pushes(net):
    with net.tally() as (calls, answered):
        _valid_looking_pushes(net)
    # deep paths were hit for real: some pushes went through, and rows were answered both ways
    assert calls[C.OK] > 10, calls
    assert answered["acks"] > 5 and answered["refused"] > 5, answered


@settings(FUZZ, max_examples=30)
@given(protocol=st.integers(0, 2**32 - 1), schema=st.integers(0, 2**32 - 1), replica=replicas,
       wall_ms=st.one_of(st.just(0), st.integers(-(2**63), 2**63 - 1), st.builds(now_ms)), software=text,
       cursor=st.integers(0, 2**64 - 1), batch_rows=st.integers(0, 2**32 - 1))
def _handshakes_and_pulls(net, protocol, schema, replica, wall_ms, software, cursor, batch_rows):
    hello = pb.HandshakeRequest(protocol=protocol, schema=schema, replica_id=replica, wall_ms=wall_ms,
                                software=software)
    assert net.call("Handshake", hello.SerializeToString()) in ALLOWED
    pull = pb.PullRequest(cursor=cursor, batch_rows=batch_rows, replica_id=replica)
    assert net.call("Pull", pull.SerializeToString()) in ALLOWED
    net.assert_serving()


def test_random_handshakes_and_pulls(net):
    with net.tally() as (calls, _):
        _handshakes_and_pulls(net)
    # handshakes of random protocol versions are refused as such; pulls of random cursors are served
    assert calls[C.FAILED_PRECONDITION] > 10 and calls[C.OK] > 10, calls


def _a_csr(key, cn: str) -> bytes:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import NameOID

    return (x509.CertificateSigningRequestBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
            .sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM))


@st.composite
def csrs(draw) -> bytes:
    """A CSR a station could send (P-256, its own name or another's), cut, spliced or noised now and then."""
    from cryptography.hazmat.primitives.asymmetric import ec

    pem = _a_csr(ec.generate_private_key(ec.SECP256R1()), draw(st.sampled_from([VILLAGE_A, VILLAGE_B, "x" * 60, "管理员"])))
    how = draw(st.sampled_from(["whole", "cut", "flip", "noise", "pad"]))
    # positions drawn whatever the PEM's length (a new key each time: its length varies)
    if how == "cut":
        pem = pem[: draw(st.integers(0, 10_000)) % (len(pem) + 1)]
    elif how == "flip":
        i = draw(st.integers(0, 10_000)) % len(pem)
        pem = pem[:i] + bytes([pem[i] ^ draw(st.integers(1, 255))]) + pem[i + 1:]
    elif how == "noise":
        pem = draw(st.binary(max_size=400))
    elif how == "pad":
        pem = pem + b"\n" * draw(st.integers(1, 20_000))
    return pem


@settings(FUZZ, max_examples=30)
@given(csr=csrs())
def _renewals(net, csr):
    # a CSR the hub takes is still refused: the station's certificate was issued today (one a day)
    assert net.call("Renew", pb.RenewRequest(csr=csr).SerializeToString()) in {C.INVALID_ARGUMENT,
                                                                               C.FAILED_PRECONDITION}
    net.assert_serving()


def test_random_renewals_sign_nothing(net):
    before = query_certs(net.hub)
    with net.tally() as (calls, _):
        _renewals(net)
    assert calls[C.INVALID_ARGUMENT] > 3 and calls[C.FAILED_PRECONDITION] > 3, calls
    assert query_certs(net.hub) == before


def query_certs(hub: Hub) -> list[tuple]:
    import sqlite3

    conn = sqlite3.connect(f"file:{hub.home / 'hub.db'}?mode=ro", uri=True, timeout=10)
    try:
        return conn.execute("SELECT serial, revoked_ms FROM _certs ORDER BY serial").fetchall()
    finally:
        conn.close()


# Bodies the hub must refuse whatever ran before: not a message at all (a truncated field).
GARBAGE = [b"\x0a\xff\xff", b"\xff" * 8]


def test_a_normal_sync_works_after_hostile_calls(net):
    """The hub refuses this test's own garbage with precise statuses, keeps serving, and a
    real station still syncs: in any order, alone or after the fuzzing above."""
    with net.tally() as (calls, _):
        for body in GARBAGE:
            for method in ("Handshake", "Push", "Pull", "Renew"):
                net.call(method, [body] if method == "Push" else body)
    assert calls == {C.INVALID_ARGUMENT: 4 * len(GARBAGE)}, calls
    net.assert_serving()
    vid = net.station.add_veteran(id_number(2), "王二")
    report = net.station.sync()
    assert report["pushed"] >= 1 and report["rejected"] == 0
    assert vid in rows_of(net.hub.home, "veterans")
    assert net.station.cli_json("status")["pending"] == 0


def test_codec_refuses_area_codes_of_the_wrong_length():
    """An area code is 6, 9 or 12 digits, whatever scope prefix it starts with."""
    from sync.wire import codec
    from sync.engine.errors import ProtocolError

    version = "0001795396528538-0000-16648dbd2bbd23fe"
    for area in ("4409020010011", "44090200100", "4409"):
        msg = codec.pb.Row(table="veterans", id="x1", values=json.dumps({"area": area}).encode(),
                           clock=json.dumps({"area": version}).encode())
        with pytest.raises(ProtocolError, match="的区划代码不合法"):
            codec.row_from_pb(msg)
    ok = codec.pb.Row(table="veterans", id="x1", values=b'{"area":"440902001001"}',
                      clock=json.dumps({"area": version}).encode())
    assert codec.row_from_pb(ok).area == "440902001001"
