"""Attacks by a station's rows, against a real `county-hub serve` process on
127.0.0.1 (issue: a hostile station gets nothing). The attacker holds a real
station certificate and key and crafts pushes with the gRPC stubs. Each test
shows that the attack gets nothing, that nothing was written (the hub's state
compared before and after), and that the other stations go on syncing.

The rules themselves, in process and one by one: tests/test_admission.py."""

from __future__ import annotations

import json
import uuid

import grpc
import pytest

from crafted import crafted_row, push_one, station_stub
from procs import (
    TOWN,
    VILLAGE_A,
    VILLAGE_B,
    Hub,
    Station,
    id_number,
    one_line_error,
    query,
    row_counts,
    rows_of,
)
from sync.engine.clocks import unpack_clock
from sync.wire.gen.vetsync.v1 import sync_pb2 as pb
from sync.engine.hlc import new_replica_id
from sync.engine.limits import MAX_VALUE_LEN

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

VILLAGE_C = "440902001003"


# --------------------------------------------------------------------------- the network


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    root = tmp_path_factory.mktemp("rows")
    hub = Hub(root / "hub").start()
    st = {
        "town": Station(root / "town", TOWN).enroll(hub),
        "va": Station(root / "va", VILLAGE_A).enroll(hub),
        "vb": Station(root / "vb", VILLAGE_B).enroll(hub),
    }
    va, vb = st["va"], st["vb"]
    st["va_vet"] = va.add_veteran(id_number(1), "李一")
    st["va_vet2"] = va.add_veteran(id_number(3), "李三")
    st["vb_vet"] = vb.add_veteran(id_number(2), "王二")
    # an accusation registered by village A: confidential, for the hub and village A only
    st["secret"] = va.cli_json("petition", "open", "--veteran", st["va_vet"], "--channel", "书信",
                               "--summary", "检举某村干部侵占优抚资金", "--class", "检举控告类")["id"]
    for name in ("va", "vb", "town"):
        st[name].sync()
    yield hub, st, root
    hub.stop()


def replica_of_station(station: Station) -> str:
    return query(station.home, "SELECT value FROM _meta WHERE key = 'replica_id'")[0][0]


def hub_state(hub: Hub) -> dict:
    """Everything a refused push must leave untouched."""
    return {
        **row_counts(hub.home),
        "_history": query(hub.home, "SELECT count(*) FROM _history")[0][0],
        "_moves": query(hub.home, "SELECT count(*) FROM _moves")[0][0],
        **{f"{t}_rows": rows_of(hub.home, t) for t in ("veterans", "visits", "petitions", "petition_events",
                                                       "conflicts")},
    }


def assert_still_serving(hub: Hub, st: dict) -> None:
    assert hub.proc.poll() is None, "the hub stopped"
    for name, code in (("vb", VILLAGE_B), ("town", TOWN), ("va", VILLAGE_A)):
        report = st[name].sync()
        assert report["station"] == code and report["rejected"] == 0, (name, report)


def hub_clock(hub: Hub, table: str, row_id: str) -> dict:
    return unpack_clock(table, rows_of(hub.home, table)[row_id][1])


def edit_row(hub: Hub, table: str, row_id: str, changes: dict, *, replica: str, area: str | None = None) -> pb.Row:
    """An edit built on the hub's state, carrying the hub's context fields (as a station that is up to date)."""
    clock = hub_clock(hub, table, row_id)
    hub_area = rows_of(hub.home, table)[row_id][0]
    values = {"area": area or hub_area, "deleted": 0, **changes}
    context = {"area": clock["area"], "deleted": clock["deleted"]} if area is None else {"deleted": clock["deleted"]}
    return crafted_row(table, row_id, values, replica=replica, base={n: clock.get(n, "") for n in changes}, clock=context)


def pull_all(stub, replica: str = "") -> tuple[list[pb.Row], list[pb.Eviction]]:
    rows, evictions = [], []
    for resp in stub.Pull(pb.PullRequest(cursor=0, replica_id=replica), timeout=30):
        rows += resp.rows
        evictions += resp.evictions
    return rows, evictions


def visit_values(vet: str, area: str, station: str, **over) -> dict:
    return {"veteran_id": vet, "area": area, "station": station, "visited_on": "2024-05-01", "kind": "home",
            "deleted": 0, **over}


def refused_only(resp: pb.PushResponse, n: int) -> list[str]:
    assert not resp.acks, [a.id for a in resp.acks]
    assert len(resp.refused) == n, [(r.id, r.reason) for r in resp.refused]
    return [r.reason for r in resp.refused]


def conflicts_at(station: Station) -> list[dict]:
    return station.cli_json("conflicts", "--all")


# --------------------------------------------------------------------------- A: confidential petitions


def test_a_confidential_petition_is_untouchable_by_others(net):
    """(a) no refused-edit or concurrent-edit conflict carries its text; (b) no
    declassification; (c) no forged events."""
    hub, st, _ = net
    town, va = st["town"], st["va"]
    secret = st["secret"]
    assert secret not in {r.id for r in pull_all(station_stub(hub, town)[1])[0]}  # the town never received it
    (register,) = [r[0] for r in query(hub.home, "SELECT id FROM petition_events WHERE petition_id = ?", (secret,))]
    before = hub_state(hub)
    replica = new_replica_id()
    channel, stub = station_stub(hub, town)
    with channel:
        attacks = [
            edit_row(hub, "petitions", secret, {"summary": "改写"}, replica=replica),           # an edit
            edit_row(hub, "petitions", secret, {"confidential": 0}, replica=replica),           # declassify
            edit_row(hub, "petitions", secret, {"class": "appeal", "confidential": 0}, replica=replica),
            edit_row(hub, "petition_events", register, {"note": "篡改"}, replica=replica),
            crafted_row("petition_events", str(uuid.uuid4()), {"petition_id": secret, "area": VILLAGE_A, "at": "2024-05-03",
                                                       "kind": "close", "from_status": "registered", "deleted": 0},
                replica=replica),                                                               # a forged 办结
        ]
        reasons = refused_only(push_one(stub, attacks, replica), len(attacks))
        assert all(r.startswith("该记录不在本站范围") or "不在本站范围" in r for r in reasons), reasons
        # the same edit, as if the petition lay in a village of the attacker's own: no conflict either
        shifted = edit_row(hub, "petitions", secret, {"summary": "改写"}, replica=replica, area=VILLAGE_A)
        refused_only(push_one(stub, [shifted], replica), 1)
    vb_channel, vb_stub = station_stub(hub, st["vb"])
    with vb_channel:  # village B, outside the petition's area: an out-of-scope edit files nothing either
        replica_b = new_replica_id()
        claim = edit_row(hub, "petitions", secret, {"summary": "越界"}, replica=replica_b, area=VILLAGE_B)
        assert VILLAGE_A not in refused_only(push_one(vb_stub, [claim], replica_b), 1)[0]
    # even the registering station does not declassify (only the county does)
    va_channel, va_stub = station_stub(hub, va)
    with va_channel:
        own = replica_of_station(va)
        refused_only(push_one(va_stub, [edit_row(hub, "petitions", secret, {"confidential": 0}, replica=own)], own), 1)
    assert hub_state(hub) == before
    status = va.cli_json("petition", "show", secret)
    assert status["confidential"] == 1 and status["status"] == "registered" and len(status["events"]) == 1
    assert_still_serving(hub, st)
    assert town.cli("petition", "show", secret, check=False).returncode != 0


def test_evictions_of_a_confidential_petition_reach_only_its_station(net, tmp_path):
    """(d) A petition registered by the town in village A moves with its veteran
    to village B: village A, which never held it, learns no id of it."""
    hub, st, _ = net
    town = st["town"]
    vet = town.add_veteran(id_number(40), "赵四", VILLAGE_A)
    pet = town.cli_json("petition", "open", "--veteran", vet, "--channel", "走访", "--summary", "检举",
                        "--class", "检举控告类")["id"]
    town.sync()
    ids = {pet, *[r[0] for r in query(hub.home, "SELECT id FROM petition_events WHERE petition_id = ?", (pet,))]}
    town.cli("veteran", "edit", vet, "--set", f"area={VILLAGE_B}")
    town.sync()
    assert rows_of(hub.home, "petitions")[pet][0] == VILLAGE_B  # followed its veteran (the town still holds it)
    for name in ("va", "vb"):
        channel, stub = station_stub(hub, st[name])
        with channel:
            rows, evictions = pull_all(stub)
        assert not ids & {r.id for r in rows} and not ids & {e.id for e in evictions}, name
        if name == "va":
            assert vet in {e.id for e in evictions}  # the veteran itself did leave village A
    assert pet in {r.id for r in pull_all(station_stub(hub, town)[1])[0]}
    assert_still_serving(hub, st)


def test_a_confidential_petition_stays_with_its_station_when_its_veteran_moves_away(net):
    """(e) The town moves the veteran of village A's accusation to village B: the
    hub and village A still see the petition and all its events; B does not."""
    hub, st, _ = net
    town, va, vb = st["town"], st["va"], st["vb"]
    vet = va.add_veteran(id_number(41), "钱五")
    pet = va.cli_json("petition", "open", "--veteran", vet, "--channel", "书信", "--summary", "检举",
                      "--class", "检举控告类")["id"]
    va.cli("petition", "event", pet, "--kind", "受理")
    va.sync()
    town.sync()
    town.cli("veteran", "edit", vet, "--set", f"area={VILLAGE_B}")
    town.sync()
    va.sync()
    vb.sync()
    assert rows_of(hub.home, "petitions")[pet][0] == VILLAGE_A
    shown = va.cli_json("petition", "show", pet)
    assert len(shown["events"]) == 2 and vet not in rows_of(va.home, "veterans")
    assert pet not in rows_of(vb.home, "petitions") and pet not in rows_of(town.home, "petitions")
    events = query(hub.home, "SELECT id, area FROM petition_events WHERE petition_id = ?", (pet,))
    assert len(events) == 2 and {a for _, a in events} == {VILLAGE_A}
    # village A goes on handling its case
    va.cli("petition", "event", pet, "--kind", "答复", "--outcome", "支持")
    report = va.sync()
    assert report["pushed"] == 1 and report["rejected"] == 0
    assert len(query(hub.home, "SELECT id FROM petition_events WHERE petition_id = ?", (pet,))) == 3
    assert_still_serving(hub, st)


# --------------------------------------------------------------------------- B: sizes


def test_huge_fields_never_reach_another_station(net):
    hub, st, _ = net
    va, vb = st["va"], st["vb"]
    target = vb.add_veteran(id_number(80), "王八十")  # its own: other tests move the shared veterans
    vb.sync()
    before = hub_state(hub)
    replica = new_replica_id()
    channel, stub = station_stub(hub, va)
    with channel:
        huge = edit_row(hub, "veterans", target, {f: "x" * 40_000 for f in ("health", "family", "note")},
                        replica=replica, area=VILLAGE_A)
        (reason,) = refused_only(push_one(stub, [huge], replica), 1)
        assert "过长" in reason and VILLAGE_B not in reason
        mine = edit_row(hub, "veterans", st["va_vet"], {"note": "x" * 40_000}, replica=replica)
        refused_only(push_one(stub, [mine], replica), 1)
    assert hub_state(hub) == before
    # the largest out-of-scope edit the door lets through: its refused-edit conflict decodes in village B
    with channel:
        channel, stub = station_stub(hub, va)
        biggest = edit_row(hub, "veterans", target, {"health": '"' * 4000, "family": "\\" * 4000,
                                                           "note": '"' * 4000}, replica=replica, area=VILLAGE_A)
        resp = push_one(stub, [biggest], replica)
        assert resp.refused and resp.conflicts == 0
    lengths = [len(v or "") for (v,) in query(hub.home, "SELECT loser_value FROM conflicts WHERE row_id = ?",
                                              (target,))]
    assert lengths and max(lengths) < MAX_VALUE_LEN
    assert_still_serving(hub, st)
    assert any(c["row_id"] == target for c in conflicts_at(vb))
    # the clerk gets the same limit at the keyboard
    failed = va.cli("veteran", "edit", st["va_vet"], "--set", "备注=" + "长" * 4001, check=False)
    assert "过长" in one_line_error(failed)


# --------------------------------------------------------------------------- C: nothing outside the scope


def test_no_one_learns_whether_a_person_is_on_file_elsewhere(net):
    hub, st, _ = net
    va, vb, town = st["va"], st["vb"], st["town"]
    replica = new_replica_id()
    channel, stub = station_stub(hub, va)
    with channel:
        probe = crafted_row("veterans", str(uuid.uuid4()), {"id_number": id_number(2), "name": "试探", "area": VILLAGE_A,
                                                     "deleted": 0}, replica=replica)
        resp = push_one(stub, [probe], replica)
        assert [a.id for a in resp.acks] == [probe.id] and resp.conflicts == 0
        # an edit of the other village's veteran, claimed for its own village: the refusal names no area
        claim = edit_row(hub, "veterans", st["vb_vet"], {"name": "改名"}, replica=replica, area=VILLAGE_A)
        (reason,) = refused_only(push_one(stub, [claim], replica), 1)
        assert VILLAGE_B not in reason and "现属" not in reason
    (dup,) = query(hub.home, "SELECT area, row_id, winner_value FROM conflicts WHERE kind = 'duplicate_identity'")
    assert dup[0] == TOWN and probe.id in dup[1:]
    for name in ("va", "vb"):
        st[name].sync()
        assert not [c for c in conflicts_at(st[name]) if c["kind"] == "duplicate_identity"], name
    town.sync()
    assert [c for c in conflicts_at(town) if c["kind"] == "duplicate_identity"]
    assert_still_serving(hub, st)


# --------------------------------------------------------------------------- D: values and parents


def test_rows_a_station_could_not_have_built_are_refused(net):
    hub, st, _ = net
    va = st["va"]
    before = hub_state(hub)
    replica = new_replica_id()
    vet = st["va_vet"]
    channel, stub = station_stub(hub, va)
    with channel:
        rows = [
            crafted_row("visits", str(uuid.uuid4()), visit_values(st["vb_vet"], VILLAGE_A, VILLAGE_A), replica=replica),
            crafted_row("visits", str(uuid.uuid4()), visit_values(str(uuid.uuid4()), VILLAGE_A, VILLAGE_A), replica=replica),
            crafted_row("petitions", str(uuid.uuid4()), {"veteran_id": st["vb_vet"], "area": VILLAGE_A, "station": VILLAGE_A,
                                                  "petitioner": "甲", "channel": "letter", "received_on": "2024-05-01",
                                                  "summary": "事项", "class": "appeal", "confidential": 0,
                                                  "deleted": 0}, replica=replica),
            crafted_row("visits", str(uuid.uuid4()), visit_values(vet, VILLAGE_A, VILLAGE_A, visited_on="9999-99-99"),
                replica=replica),
            crafted_row("visits", str(uuid.uuid4()), visit_values(vet, VILLAGE_A, TOWN), replica=replica),  # forged station
            crafted_row("visits", str(uuid.uuid4()), visit_values(vet, VILLAGE_A, VILLAGE_A, kind="飞鸽"), replica=replica),
            crafted_row("veterans", str(uuid.uuid4()), {"id_number": id_number(50), "name": "甲", "area": VILLAGE_A,
                                                 "gender": "bogus", "deleted": 0}, replica=replica),
            crafted_row("veterans", str(uuid.uuid4()), {"id_number": "440902197001010000", "name": "甲", "area": VILLAGE_A,
                                                 "deleted": 0}, replica=replica),  # a bad check digit
        ]
        resp = push_one(stub, rows, replica)
        refused_only(resp, len(rows))
        reasons = {r.id: r.reason for r in resp.refused}
        # another village's veteran and no veteran at all read alike
        assert reasons[rows[0].id] == reasons[rows[1].id]
        assert VILLAGE_B not in " ".join(reasons.values())
        assert "身份证号" in reasons[rows[7].id] and "性别" in reasons[rows[6].id] and "日期" in reasons[rows[3].id]
    assert hub_state(hub) == before
    assert_still_serving(hub, st)


def test_a_move_drags_only_the_conflicts_of_its_own_table(net):
    """A visit given the id of village B's veteran, with a conflict of its own:
    the veteran's move must not drag that conflict out of village A."""
    hub, st, _ = net
    va, town = st["va"], st["town"]
    twin = st["vb_vet"]
    own = replica_of_station(va)
    channel, stub = station_stub(hub, va)
    with channel:
        resp = push_one(stub, [crafted_row("visits", twin, visit_values(st["va_vet2"], VILLAGE_A, VILLAGE_A), replica=own)], own)
        assert [a.id for a in resp.acks] == [twin]
        stale_base = hub_clock(hub, "visits", twin)["summary"] if "summary" in hub_clock(hub, "visits", twin) else ""
        town_replica = replica_of_station(town)
        town_channel, town_stub = station_stub(hub, town)
        with town_channel:
            assert push_one(town_stub, [edit_row(hub, "visits", twin, {"summary": "镇上改"}, replica=town_replica)],
                        town_replica).acks
        stale = edit_row(hub, "visits", twin, {"summary": "村里改"}, replica=own)
        stale.base = json.dumps({"summary": stale_base}).encode()
        push_one(stub, [stale], own)
    (c_area,) = query(hub.home, "SELECT area FROM conflicts WHERE \"table\" = 'visits' AND row_id = ?", (twin,))[0]
    assert c_area == VILLAGE_A
    st["vb"].sync()
    town.sync()
    town.cli("veteran", "edit", twin, "--set", f"area={VILLAGE_C}")
    town.sync()
    assert query(hub.home, "SELECT area FROM conflicts WHERE \"table\" = 'visits' AND row_id = ?", (twin,)) == [
        (VILLAGE_A,)]
    assert rows_of(hub.home, "visits")[twin][0] == VILLAGE_A
    assert_still_serving(hub, st)


# --------------------------------------------------------------------------- E: replica ids


def test_replica_ids_belong_to_their_station(net):
    hub, st, _ = net
    va, town = st["va"], st["town"]
    town_replica = replica_of_station(town)
    before = hub_state(hub)
    channel, stub = station_stub(hub, va)
    with channel:
        # a push under the town's replica id: refused whole
        with pytest.raises(grpc.RpcError) as err:
            push_one(stub, [crafted_row("veterans", str(uuid.uuid4()), {"id_number": id_number(60), "name": "甲",
                                                             "area": VILLAGE_A, "deleted": 0}, replica=town_replica)],
                 town_replica)
        assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED and TOWN not in err.value.details()
        # its own replica id, but a field stamped with the town's: no overwrite in the town's name
        replica = new_replica_id()
        forged = edit_row(hub, "veterans", st["va_vet"], {"name": "冒名"}, replica=town_replica)
        refused_only(push_one(stub, [forged], replica), 1)
        fresh = crafted_row("veterans", str(uuid.uuid4()), {"id_number": id_number(61), "name": "甲", "area": VILLAGE_A,
                                                     "deleted": 0}, replica=town_replica)
        refused_only(push_one(stub, [fresh], replica), 1)
    assert hub_state(hub) == before
    assert_still_serving(hub, st)


# --------------------------------------------------------------------------- F: conflicts


def test_a_station_cannot_hide_conflicts(net):
    hub, st, _ = net
    va, vb, town = st["va"], st["vb"], st["town"]
    vet = va.add_veteran(id_number(70), "孙七")
    va.sync()
    town.sync()
    town.cli("veteran", "edit", vet, "--set", "phone=13800000001")
    va.cli("veteran", "edit", vet, "--set", "phone=13800000002")
    town.sync()
    va.sync()
    (cid,) = [r[0] for r in query(hub.home, "SELECT id FROM conflicts WHERE row_id = ? AND kind = 'concurrent_edit'",
                                  (vet,))]
    before = hub_state(hub)
    own = replica_of_station(va)
    channel, stub = station_stub(hub, va)
    with channel:
        attacks = [
            edit_row(hub, "conflicts", cid, {"status": "resolved"}, replica=own),
            edit_row(hub, "conflicts", cid, {"status": "resolved", "resolution": "", "resolved_by": "x"}, replica=own),
            edit_row(hub, "conflicts", cid, {"deleted": 1}, replica=own),
            edit_row(hub, "conflicts", cid, {"loser_value": "抹掉"}, replica=own),
            crafted_row("conflicts", str(uuid.uuid4()), {"kind": "refused_edit", "area": VILLAGE_A, "status": "open",
                                                 "deleted": 0}, replica=own),
        ]
        for attack in attacks:  # one by one: each refused on its own
            refused_only(push_one(stub, [attack], own), 1)
    vb_channel, vb_stub = station_stub(hub, vb)
    with vb_channel:  # village B: not its conflict, even claimed for its own village
        replica_b = replica_of_station(vb)
        claim = edit_row(hub, "conflicts", cid, {"status": "resolved", "resolution": "已处理", "resolved_by": "王"},
                         replica=replica_b, area=VILLAGE_B)
        refused_only(push_one(vb_stub, [claim], replica_b), 1)
    assert hub_state(hub) == before
    # the legitimate path still works: resolved at the station, pushed, the hub takes it
    va.cli("conflicts", "resolve", cid, "--keep", "winner")
    report = va.sync()
    assert report["rejected"] == 0
    assert query(hub.home, "SELECT status, resolved_by FROM conflicts WHERE id = ?", (cid,)) == [("resolved", VILLAGE_A)]
    town.sync()
    assert [c["status"] for c in conflicts_at(town) if c["id"] == cid] == ["resolved"]
    assert_still_serving(hub, st)


# --------------------------------------------------------------------------- recovery flag


def test_a_station_cannot_use_recovery_to_write_others_versions(net):
    """``PushRequest.recovery`` lets a hub restored from a backup take versions of other
    replicas. A hub that was not restored takes none, whatever the pusher claims: the
    hub's own epoch, a made-up one, its own replica id or a fresh one — every row is
    refused with one reason, nothing is written, and the hub goes on serving."""
    hub, st, _ = net
    va = st["va"]
    before = hub_state(hub)
    epoch = query(hub.home, "SELECT value FROM _meta WHERE key = 'epoch'")[0][0]
    town_replica = replica_of_station(st["town"])
    forged = [edit_row(hub, "veterans", st["va_vet"], {"name": "冒名"}, replica=town_replica),
              crafted_row("veterans", str(uuid.uuid4()), {"id_number": id_number(60), "name": "甲", "area": VILLAGE_A,
                                                          "deleted": 0}, replica=town_replica)]
    channel, stub = station_stub(hub, va)
    with channel:
        for recovery in (epoch, "0123456789abcdef"):
            for replica in (replica_of_station(va), new_replica_id()):
                [resp] = list(stub.Push(iter([pb.PushRequest(batch=0, replica_id=replica, rows=forged,
                                                             recovery=recovery)]), timeout=30))
                reasons = refused_only(resp, len(forged))
                assert set(reasons) == {"县中心未接收这批恢复数据（本站已与当前县中心数据库完整同步过，或县中心已再次更换）"}
                assert hub_state(hub) == before
        # A recovery mark longer than an epoch is malformed.
        with pytest.raises(grpc.RpcError) as err:
            list(stub.Push(iter([pb.PushRequest(batch=0, replica_id=replica_of_station(va), rows=forged[:1],
                                                recovery="x" * 65)]), timeout=30))
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert_still_serving(hub, st)


def test_a_gender_the_id_number_contradicts_is_refused(net):
    """What cannot be true is refused at the hub too (issue 12): a station's CLI fills
    gender and birth date from the ID number and refuses others; a hostile one that
    crafts them gets its row refused with the reason, and nothing is written."""
    hub, st, _ = net
    va = st["va"]
    before = hub_state(hub)
    replica = new_replica_id()
    channel, stub = station_stub(hub, va)
    with channel:
        man = id_number(91)  # sequence 091: a man
        rows = [
            crafted_row("veterans", str(uuid.uuid4()), {"id_number": man, "name": "甲", "area": VILLAGE_A,
                                                        "gender": "female", "deleted": 0}, replica=replica),
            crafted_row("veterans", str(uuid.uuid4()), {"id_number": man, "name": "甲", "area": VILLAGE_A,
                                                        "birth_date": "1971-01-01", "deleted": 0}, replica=replica),
        ]
        resp = push_one(stub, rows, replica)
        assert refused_only(resp, 2) == ["性别“女”与身份证号不一致（按身份证号应为“男”）",
                                         "出生日期 1971-01-01 与身份证号不一致（按身份证号应为 1970-01-01）"]
    assert hub_state(hub) == before
    assert_still_serving(hub, st)


def test_a_station_cannot_write_the_county_area_list(net):
    """The area list (``areas``, issue 14 §2) is the hub's to write: a hostile village
    that pushes a row of it, named for its own village or not, for the list or a
    conflict's fields, gets each refused in one line, nothing is written, and the hub
    goes on serving the others."""
    hub, st, _ = net
    va = st["va"]
    before = hub_state(hub)
    own = replica_of_station(va)
    channel, stub = station_stub(hub, va)
    with channel:
        rows = [
            crafted_row("areas", VILLAGE_A, {"area": VILLAGE_A, "name": "假名村", "level": "village", "deleted": 0},
                        replica=own),
            crafted_row("areas", str(uuid.uuid4()), {"area": VILLAGE_A, "name": "另一个", "deleted": 0}, replica=own),
        ]
        assert refused_only(push_one(stub, rows, own), 2) == ["区划名称只能由县中心写入，站点不能新增或修改，未保存"] * 2
    assert hub_state(hub) == before
    assert query(hub.home, "SELECT count(*) FROM areas")[0][0] == 0
    assert_still_serving(hub, st)
