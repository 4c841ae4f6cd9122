"""What the hub admits from a push, in process (DESIGN §5 "Every station may turn
hostile"): sizes, canonical values, parents, the station and confidentiality it
derives itself, replica ids bound to their station, conflict resolutions, and
refusals that say nothing outside the pusher's scope. The same rules against a
real hub process: tests/test_e2e_attack_rows.py."""

from __future__ import annotations

import time
import uuid

import pytest

from enginekit import COUNTY, TOWN, VILLAGE_A, VILLAGE_B, Network, snapshot
from station_node import records
from sync.wire import codec
from veterans.hub_checks import HUB_CHECKS
from veterans.values import id_number_check_digit
from sync.engine.errors import Forbidden, ValidationError
from veterans.fields import parse_value
from sync.engine.hlc import make_version, new_replica_id
from sync.store.hub import HubStore
from sync.engine.scope import common_area
from sync.engine.limits import (MAX_CONFLICT_VALUE_CHARS, MAX_LONG_TEXT_CHARS, MAX_ROW_CHARS, MAX_SHORT_TEXT_CHARS,
                         MAX_VALUE_LEN)
from sync.engine.rowstate import RowState

OTHER_TOWN_VILLAGE = "440902002001"
RA, RB, RT = "a1" * 8, "b2" * 8, "c3" * 8  # replica ids of village A, village B, the town


def idn(n: int) -> str:
    first17 = f"44090219700101{n % 1000:03d}"
    return first17 + id_number_check_digit(first17)


def now_ms() -> int:
    return int(time.time() * 1000)


_tick = [0]


def ver(replica: str) -> str:
    _tick[0] += 1
    return make_version(now_ms(), _tick[0] % 10000, replica)


def new_row(table: str, values: dict, replica: str, row_id: str | None = None) -> RowState:
    v = ver(replica)
    values = {"deleted": 0, **values}
    return RowState(table, row_id or str(uuid.uuid4()), values, dict.fromkeys(values, v), dict.fromkeys(values, ""))


def edit(hub: HubStore, table: str, row_id: str, changes: dict, replica: str) -> RowState:
    """A pushed edit built on the hub's state, as a station that is up to date makes it."""
    state = hub.load(table, row_id)[0]
    v = ver(replica)
    values = {"area": state.area, "deleted": state.values.get("deleted"), **changes}
    clock = {"area": state.clock["area"], "deleted": state.clock["deleted"], **dict.fromkeys(changes, v)}
    return RowState(table, row_id, values, clock, {n: state.clock.get(n, "") for n in changes})


def veteran(n: int, area: str, replica: str, **over) -> RowState:
    return new_row("veterans", {"id_number": idn(n), "name": "甲", "area": area, **over}, replica)


def visit(vet: RowState, station: str, replica: str, **over) -> RowState:
    return new_row("visits", {"veteran_id": vet.id, "area": vet.area, "station": station, "visited_on": "2024-05-01",
                              "kind": "home", **over}, replica)


def petition(vet: RowState | None, station: str, replica: str, area: str | None = None, **over) -> RowState:
    values = {"area": area or vet.area, "station": station, "petitioner": "甲", "channel": "letter",
              "received_on": "2024-05-01", "summary": "反映问题", "class": "accusation", "confidential": 1, **over}
    if vet is not None:
        values["veteran_id"] = vet.id
    return new_row("petitions", values, replica)


def event(pet: RowState, replica: str, kind: str = "register", from_status: str | None = None, **over) -> RowState:
    values = {"petition_id": pet.id, "area": pet.area, "at": "2024-05-02", "kind": kind, **over}
    if from_status:
        values["from_status"] = from_status
    return new_row("petition_events", values, replica)


@pytest.fixture()
def hub(tmp_path):
    h = HubStore(tmp_path / "hub.db", create=True)
    with h.transaction():
        h.set_meta("county", COUNTY)
    h.checks = HUB_CHECKS
    yield h
    h.close()


def push(hub: HubStore, rows: list[RowState], station: str, replica: str, scope: str | None = None):
    return hub.apply_push(rows, station=station, scope=scope or station, replica_id=replica)


def counts(hub: HubStore) -> dict:
    tables = ("veterans", "visits", "petitions", "petition_events", "conflicts", "_history", "_moves")
    return {t: hub.conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}


def refused_reasons(result) -> list[str]:
    return [reason for _t, _i, reason in result.refused]


# --------------------------------------------------------------------------- B: sizes


def test_every_field_and_row_is_bounded_at_the_door(hub):
    vet = veteran(1, VILLAGE_A, RA)
    assert push(hub, [vet], VILLAGE_A, RA).acked
    before = counts(hub)
    long_note = dict(vet.values, note="长" * (MAX_LONG_TEXT_CHARS + 1))
    too_long = new_row("veterans", long_note, RA)
    long_name = new_row("veterans", dict(vet.values, name="名" * (MAX_SHORT_TEXT_CHARS + 1)), RA)
    # every field within its limit, the row beyond MAX_ROW_CHARS
    fat = new_row("veterans", dict(vet.values, **{f: "多" * MAX_LONG_TEXT_CHARS
                                                  for f in ("health", "family", "difficulties", "needs", "note")}), RA)
    r = push(hub, [too_long, long_name, fat], VILLAGE_A, RA)
    assert not r.acked and len(r.refused) == 3
    assert "过长" in r.refused[0][2] and str(MAX_LONG_TEXT_CHARS) in r.refused[0][2]
    assert "过长" in r.refused[2][2] and str(MAX_ROW_CHARS) in r.refused[2][2]
    assert counts(hub) == before
    # a station's clerk gets the same refusal locally, in one line of Chinese
    with pytest.raises(ValidationError) as err:
        parse_value("veterans", "note", "长" * (MAX_LONG_TEXT_CHARS + 1))
    assert "备注过长" in str(err.value) and "\n" not in str(err.value)
    assert parse_value("veterans", "note", "正常的备注\n第二行") == "正常的备注\n第二行"
    assert parse_value("veterans", "note", " 含\x00控制\x1b字符 ") == "含控制字符"


def test_an_out_of_scope_edit_of_huge_fields_files_no_undecodable_conflict(hub):
    vet = veteran(2, VILLAGE_B, RB)
    push(hub, [vet], VILLAGE_B, RB)
    before = counts(hub)
    huge = edit(hub, "veterans", vet.id, {f: "x" * 40_000 for f in ("health", "family", "note")}, RA)
    huge.values["area"] = VILLAGE_A
    r = push(hub, [huge], VILLAGE_A, RA)
    assert not r.acked and "过长" in r.refused[0][2]
    assert counts(hub) == before  # refused at the door: no refused-edit conflict either
    # the biggest edit that passes the door: its refused-edit conflict still decodes at a station
    quotes = edit(hub, "veterans", vet.id, {"health": '"' * MAX_LONG_TEXT_CHARS, "family": "\\" * MAX_LONG_TEXT_CHARS,
                                            "note": '"' * MAX_LONG_TEXT_CHARS, "needs": "\n" * 1 + "末" * 3000}, RA)
    quotes.values["area"] = VILLAGE_A
    r = push(hub, [quotes], VILLAGE_A, RA)
    assert r.refused and r.conflicts == 0  # filed in village B: not the pusher's to see
    for state, _ in hub.read_states("conflicts"):
        decoded = codec.row_from_pb(codec.row_to_pb(state))
        assert all(len(v) <= MAX_VALUE_LEN for v in decoded.values.values() if isinstance(v, str))


def test_conflict_values_are_cut_below_what_a_station_decodes():
    from sync.store.hub import _conflict_value

    assert _conflict_value("短") == "短" and _conflict_value(3) == "3" and _conflict_value(None) is None
    cut = _conflict_value("x" * (MAX_VALUE_LEN * 2))
    assert len(cut) == MAX_CONFLICT_VALUE_CHARS < MAX_VALUE_LEN and cut.endswith("（已截断）")


def test_pull_batches_are_bounded_in_bytes_with_an_exact_cursor(hub):
    vets = [veteran(10 + i, VILLAGE_A, RA, note="长" * 3000) for i in range(12)]
    push(hub, vets, VILLAGE_A, RA)
    # move two away, so that evictions come in the middle
    push(hub, [edit(hub, "veterans", vets[3].id, {"area": VILLAGE_B}, RT),
               edit(hub, "veterans", vets[8].id, {"area": VILLAGE_B}, RT)], TOWN, RT)
    everything = hub.changes_since(0, VILLAGE_A, station=VILLAGE_A, limit=1000, max_bytes=None)
    cursor, seen, evicted, batches = 0, [], [], 0
    while True:
        b = hub.changes_since(cursor, VILLAGE_A, station=VILLAGE_A, limit=1000, max_bytes=30_000)
        assert b.rows, "at least one row per batch"
        assert len(b.rows) <= 3  # about 12 KB each (4 bytes per character counted)
        assert all(s.seq <= b.cursor for s in b.rows) and b.cursor > cursor
        seen += [s.id for s in b.rows]
        evicted += [e.id for e in b.evictions]
        cursor, batches = b.cursor, batches + 1
        if not b.more:
            break
    assert seen == [s.id for s in everything.rows] and sorted(evicted) == sorted(e.id for e in everything.evictions)
    assert batches >= 4 and cursor == everything.cursor
    one = hub.changes_since(0, VILLAGE_A, station=VILLAGE_A, limit=1000, max_bytes=1)
    assert len(one.rows) == 1 and one.more and one.cursor == one.rows[0].seq


# --------------------------------------------------------------------------- D: values, parents, station


@pytest.mark.parametrize("field, value", [
    ("gender", "bogus"), ("birth_date", "9999-99-99"), ("birth_date", "1970/1/1"), ("phone", "138 0000 0000"),
    ("name", " 甲"), ("name", ""), ("name", 7), ("category", "退役士兵"), ("deleted", 2), ("status", None),
])
def test_pushed_values_must_be_canonical(hub, field, value):
    vet = veteran(20, VILLAGE_A, RA, **{field: value})
    r = push(hub, [vet], VILLAGE_A, RA)
    if field == "status" and value is None:  # clearing an optional field is fine
        assert r.acked
        return
    assert not r.acked and r.refused, (field, value)
    assert hub.load("veterans", vet.id) is None


def test_required_fields_dates_and_the_petition_law(hub):
    vet = veteran(21, VILLAGE_A, RA)
    push(hub, [vet], VILLAGE_A, RA)
    no_name = new_row("veterans", {"id_number": idn(22), "area": VILLAGE_A}, RA)
    future = visit(vet, VILLAGE_A, RA, visited_on="2099-01-01")
    no_kind = new_row("visits", {"veteran_id": vet.id, "area": VILLAGE_A, "station": VILLAGE_A,
                                 "visited_on": "2024-05-01"}, RA)
    r = push(hub, [no_name, future, no_kind], VILLAGE_A, RA)
    assert not r.acked
    assert "缺少必填项：姓名" in r.refused[0][2] and "晚于今天" in r.refused[1][2] and "方式" in r.refused[2][2]
    r = push(hub, [edit(hub, "veterans", vet.id, {"name": None}, RA)], VILLAGE_A, RA)
    assert "不能清空" in r.refused[0][2]
    pet = petition(vet, VILLAGE_A, RA, **{"class": "appeal", "confidential": 0})
    bad = [event(pet, RA, "close", "registered", outcome="support"), event(pet, RA, "recheck_request", "registered"),
           event(pet, RA, "extend", "accepted")]
    r = push(hub, [pet, *bad], VILLAGE_A, RA)
    assert [a[1] for a in r.acked] == [pet.id] and len(r.refused) == 3


def test_station_comes_from_the_certificate(hub):
    vet = veteran(23, VILLAGE_A, RA)
    push(hub, [vet], VILLAGE_A, RA)
    forged = visit(vet, TOWN, RA)  # in the town's name
    r = push(hub, [forged], VILLAGE_A, RA)
    assert not r.acked and "本站" in r.refused[0][2]
    ok = visit(vet, VILLAGE_A, RA)
    assert push(hub, [ok], VILLAGE_A, RA).acked
    r = push(hub, [edit(hub, "visits", ok.id, {"station": TOWN}, RT)], TOWN, RT)
    assert not r.acked and "不能修改" in r.refused[0][2]
    assert hub.load("visits", ok.id)[0].values["station"] == VILLAGE_A


def test_a_child_needs_its_parent_in_scope_and_takes_its_area(hub):
    mine, theirs = veteran(24, VILLAGE_A, RA), veteran(25, VILLAGE_B, RB)
    push(hub, [theirs], VILLAGE_B, RB)
    # the child first, its new parent later in the same batch: applied parents first
    child = visit(mine, VILLAGE_A, RA)
    r = push(hub, [child, mine], VILLAGE_A, RA)
    assert len(r.acked) == 2 and not r.refused
    before = counts(hub)
    # a visit of another village's veteran, stamped with the pusher's own area
    stolen = visit(theirs, VILLAGE_A, RA, area=VILLAGE_A)
    ghost = visit(RowState("veterans", str(uuid.uuid4()), {"area": VILLAGE_A}, {}), VILLAGE_A, RA)
    wrong_area = visit(mine, VILLAGE_A, RA, area="440902001009")  # not the veteran's village
    r = push(hub, [stolen, ghost, wrong_area], VILLAGE_A, RA)
    assert not r.acked
    assert r.refused[0][2] == r.refused[1][2]  # an unknown parent and one out of scope read alike
    assert VILLAGE_B not in r.refused[0][2]
    assert "一致" in push(hub, [visit(mine, TOWN, RT, area="440902001009")], TOWN, RT).refused[0][2]
    # a visit moved away from its veteran, alone
    r = push(hub, [edit(hub, "visits", child.id, {"area": "440902001009"}, RT)], TOWN, RT)
    assert "一致" in r.refused[0][2]
    assert counts(hub) == before


def test_moves_drag_only_the_conflicts_of_that_table(hub):
    """A crafted visit id equal to another village's veteran id: the veteran's
    move must not drag the visit's conflicts (conflicts follow (table, row_id))."""
    vb_vet = veteran(26, VILLAGE_B, RB)
    push(hub, [vb_vet], VILLAGE_B, RB)
    va_vet = veteran(27, VILLAGE_A, RA)
    push(hub, [va_vet], VILLAGE_A, RA)
    twin = visit(va_vet, VILLAGE_A, RA)
    twin.id = vb_vet.id  # same id, other table
    assert push(hub, [twin], VILLAGE_A, RA).acked
    stale = edit(hub, "visits", twin.id, {"summary": "甲"}, RA)
    push(hub, [edit(hub, "visits", twin.id, {"summary": "乙"}, RT)], TOWN, RT)
    stale.base["summary"] = ""  # the village had not seen the town's edit
    push(hub, [stale], VILLAGE_A, RA)
    (c,) = hub.select("conflicts")
    assert (c["table"], c["area"]) == ("visits", VILLAGE_A)
    push(hub, [edit(hub, "veterans", vb_vet.id, {"area": "440902001003"}, RT)], TOWN, RT)
    assert hub.select("conflicts")[0]["area"] == VILLAGE_A


# --------------------------------------------------------------------------- A: confidential petitions


def test_accusations_are_confidential_and_stay_so(hub):
    vet = veteran(30, VILLAGE_A, RA)
    push(hub, [vet], VILLAGE_A, RA)
    open_one = petition(vet, VILLAGE_A, RA, confidential=0)
    r = push(hub, [open_one], VILLAGE_A, RA)
    assert "必须保密" in r.refused[0][2]
    pet = petition(vet, VILLAGE_A, RA)
    push(hub, [pet, event(pet, RA)], VILLAGE_A, RA)
    before = counts(hub)
    for who, replica in ((VILLAGE_A, RA), (TOWN, RT)):  # not even the registering station declassifies
        r = push(hub, [edit(hub, "petitions", pet.id, {"confidential": 0}, replica)], who, replica)
        assert r.refused, who
        r = push(hub, [edit(hub, "petitions", pet.id, {"class": "appeal", "confidential": 0}, replica)], who, replica)
        assert r.refused, who
    assert counts(hub) == before
    # the hub itself may
    hub.write_as_hub("petitions", pet.id, {"class": "appeal", "confidential": 0})
    assert hub.load("petitions", pet.id)[0].values["confidential"] == 0


def test_only_the_registering_station_touches_a_confidential_petition(hub):
    vet = veteran(31, VILLAGE_A, RA)
    pet = petition(vet, VILLAGE_A, RA)
    push(hub, [vet, pet, event(pet, RA)], VILLAGE_A, RA)
    before = counts(hub)
    out_of_scope = push(hub, [edit(hub, "veterans", vet.id, {"name": "乙"}, RB)], VILLAGE_B, RB)
    edit_by_town = push(hub, [edit(hub, "petitions", pet.id, {"summary": "篡改"}, RT)], TOWN, RT)
    closed_by_town = push(hub, [event(pet, RT, "close", "registered")], TOWN, RT)
    r = edit_by_town.refused + closed_by_town.refused
    assert len(r) == 2 and not edit_by_town.acked and not closed_by_town.acked
    assert TOWN in r[0][2] and r[0][2] == edit_by_town.refused[0][2]  # reads as out of scope
    assert edit_by_town.refused[0][2].startswith("该记录不在本站范围")
    assert out_of_scope.refused  # (a refused edit of the veteran: filed for village A)
    after = counts(hub)
    assert after["conflicts"] == before["conflicts"] + 1  # only the veteran's refused edit, none about the petition
    assert all(c["table"] == "veterans" for c in hub.select("conflicts"))
    # the registering station goes on working it
    assert push(hub, [event(pet, RA, "accept", "registered")], VILLAGE_A, RA).acked


def test_conflicts_and_evictions_of_a_confidential_petition_reach_only_its_station(tmp_path):
    net = Network(tmp_path, {"town": TOWN, "va": VILLAGE_A, "vb": VILLAGE_B})
    try:
        town, va = net.stations["town"], net.stations["va"]
        vid = records.add_veteran(town, {"id_number": idn(33), "name": "举报人", "area": VILLAGE_A})["id"]
        net.sync("town")
        net.sync("va")
        pet = records.open_petition(town, channel="letter", summary="检举某干部", veteran_id=vid, class_="accusation")
        assert pet["confidential"] == 1 and pet["station"] == TOWN
        net.sync("town")
        net.sync("va")
        assert va.load("petitions", pet["id"]) is None
        # a concurrent edit between the hub and the registering station: a confidential conflict
        town.write("petitions", pet["id"], {"handler": "张三"})
        net.hub.write_as_hub("petitions", pet["id"], {"handler": "李四"})
        net.sync("town")
        (c,) = net.hub.select("conflicts")
        assert (c["confidential"], c["station"], c["area"]) == (1, TOWN, VILLAGE_A)
        for name in ("va", "vb", "town"):
            net.sync(name)
        assert [x["id"] for x in town.select("conflicts")] == [c["id"]]
        assert va.select("conflicts") == []
        # the veteran moves within the town: the petition follows (the town still holds it);
        # village A, which never held it, gets no eviction naming it
        town.write("veterans", vid, {"area": VILLAGE_B})
        net.sync("town")
        batch = net.hub.changes_since(0, VILLAGE_A, station=VILLAGE_A)
        named = {e.id for e in batch.evictions}
        assert vid in named and pet["id"] not in named and c["id"] not in named
        assert pet["id"] not in {e.id for e in net.hub.changes_since(0, VILLAGE_B, station=VILLAGE_B).evictions}
        assert net.hub.load("petitions", pet["id"])[0].area == VILLAGE_B
        for name in ("va", "vb", "town"):
            net.sync(name)
        assert snapshot(town, TOWN) == snapshot(net.hub, TOWN)
        assert net.stations["vb"].load("petitions", pet["id"]) is None
    finally:
        net.close()


def test_a_confidential_petition_stays_with_its_station_when_its_veteran_leaves(tmp_path):
    net = Network(tmp_path, {"town": TOWN, "va": VILLAGE_A, "vb": VILLAGE_B})
    try:
        town, va = net.stations["town"], net.stations["va"]
        vid = records.add_veteran(va, {"id_number": idn(34), "name": "举报人", "area": VILLAGE_A})["id"]
        pet = records.open_petition(va, channel="letter", summary="检举", veteran_id=vid, class_="accusation")
        records.add_petition_event(va, pet["id"], "accept")
        net.sync("va")
        net.sync("town")
        town.write("veterans", vid, {"area": VILLAGE_B})  # the town moves the veteran to village B
        for name in ("town", "va", "vb"):
            net.sync(name)
        # the hub and the registering village still see the petition and all its events
        at_hub = net.hub.load("petitions", pet["id"])[0]
        assert at_hub.area == VILLAGE_A
        events = va.select("petition_events", "petition_id = ?", (pet["id"],))
        assert va.load("petitions", pet["id"]) is not None and len(events) == 2
        assert len(net.hub.select("petition_events", "petition_id = ?", (pet["id"],))) == 2
        assert va.load("veterans", vid) is None and net.stations["vb"].load("petitions", pet["id"]) is None
        # and the village goes on handling it
        records.add_petition_event(va, pet["id"], "reply", outcome="support", note="已核实")
        report = net.sync("va")
        assert report.rejected == 0 and report.pushed == 1
        for name in ("va", "vb", "town"):
            net.sync(name)
        assert snapshot(va, VILLAGE_A) == snapshot(net.hub, VILLAGE_A)
        assert net.stations["vb"].load("petitions", pet["id"]) is None
        assert town.load("petitions", pet["id"]) is None
    finally:
        net.close()


# --------------------------------------------------------------------------- C: nothing outside the scope


def test_refusals_name_nothing_outside_the_scope(hub):
    theirs = veteran(40, VILLAGE_B, RB)
    push(hub, [theirs], VILLAGE_B, RB)
    claim = edit(hub, "veterans", theirs.id, {"name": "乙"}, RA)
    claim.values["area"] = VILLAGE_A
    r = push(hub, [claim], VILLAGE_A, RA)
    (reason,) = refused_reasons(r)
    assert VILLAGE_B not in reason and reason.startswith("该记录不在本站范围")
    assert r.conflicts == 0  # the refused edit is filed in village B, not the pusher's to see


def test_a_duplicate_identity_is_filed_where_both_rows_are_seen(hub):
    a = veteran(41, VILLAGE_A, RA)
    push(hub, [a], VILLAGE_A, RA)
    probe = veteran(41, VILLAGE_B, RB)  # village B probes for the same ID number
    r = push(hub, [probe], VILLAGE_B, RB)
    assert r.acked and r.conflicts == 0  # accepted, and nothing told
    (c,) = hub.select("conflicts")
    assert c["kind"] == "duplicate_identity" and c["area"] == TOWN
    far = veteran(41, OTHER_TOWN_VILLAGE, RT)
    push(hub, [far], "440902002", RT)
    assert {x["area"] for x in hub.select("conflicts")} == {TOWN, COUNTY}
    same = veteran(41, VILLAGE_A, RA)
    r = push(hub, [same], VILLAGE_A, RA)
    assert r.conflicts == 1  # both rows in the village: its own conflict
    assert VILLAGE_A in {x["area"] for x in hub.select("conflicts")}
    assert common_area(VILLAGE_A, VILLAGE_A) == VILLAGE_A and common_area(VILLAGE_A, OTHER_TOWN_VILLAGE) == COUNTY


# --------------------------------------------------------------------------- E: replica ids


def test_a_replica_id_is_bound_to_its_station(hub):
    hub.bind_replica(RT, TOWN)
    hub.bind_replica(RT, TOWN)  # again: fine
    with pytest.raises(Forbidden, match="replica_id 已属于其他站点") as err:
        hub.bind_replica(RT, VILLAGE_A)
    assert TOWN not in str(err.value)
    with pytest.raises(Forbidden, match="replica_id 已属于其他站点"):
        hub.bind_replica(hub.replica_id, VILLAGE_A)
    before = counts(hub)
    with pytest.raises(Forbidden, match="replica_id 已属于其他站点"):
        push(hub, [veteran(50, VILLAGE_A, RT)], VILLAGE_A, RT)
    with pytest.raises(Forbidden, match="replica_id 已属于其他站点"):
        push(hub, [veteran(51, VILLAGE_A, hub.replica_id)], VILLAGE_A, hub.replica_id)
    assert counts(hub) == before
    assert hub.conn.execute("SELECT station FROM _replicas WHERE replica_id = ?", (RT,)).fetchone()[0] == TOWN


def test_versions_of_another_replica(hub):
    vet = veteran(52, VILLAGE_A, RT)
    push(hub, [vet], TOWN, RT)
    # a new row carrying the town's versions, pushed by the village
    forged_new = veteran(53, VILLAGE_A, RT)
    r = push(hub, [forged_new], VILLAGE_A, RA)
    assert not r.acked and "版本" in r.refused[0][2]
    # a field stamped with the town's replica: would overwrite as the town
    forged = edit(hub, "veterans", vet.id, {"name": "冒名"}, RT)
    r = push(hub, [forged], VILLAGE_A, RA)
    assert not r.acked and hub.load("veterans", vet.id)[0].values["name"] == "甲"
    # an edit of its own, carrying the context fields it pulled from the town: fine
    mine = edit(hub, "veterans", vet.id, {"name": "乙"}, RA)
    assert push(hub, [mine], VILLAGE_A, RA).acked
    # a context field with a town version newer than the hub holds: refused
    newer = edit(hub, "veterans", vet.id, {"note": "丙"}, RA)
    newer.clock["deleted"] = ver(RT)
    newer.values["deleted"] = 1
    r = push(hub, [newer], VILLAGE_A, RA)
    assert not r.acked and hub.load("veterans", vet.id)[0].values["deleted"] == 0
    # the recovery exception: refused by a hub never restored; once restored (a new epoch),
    # a re-offered row of another replica is taken from a replica the hub knew
    lost = veteran(54, VILLAGE_A, RT)
    r = hub.apply_push([lost], station=VILLAGE_A, scope=VILLAGE_A, replica_id=RA, recovery=hub.epoch)
    assert not r.acked and len(r.refused) == 1
    epoch = hub.new_epoch()
    r = hub.apply_push([lost], station=VILLAGE_A, scope=VILLAGE_A, replica_id=RA, recovery=epoch)
    assert r.acked


# --------------------------------------------------------------------------- F: conflicts


def _refused_edit_conflict(hub: HubStore) -> str:
    vet = veteran(60, VILLAGE_A, RA)
    push(hub, [vet], VILLAGE_A, RA)
    moved = edit(hub, "veterans", vet.id, {"area": VILLAGE_B}, RT)
    push(hub, [moved], TOWN, RT)
    late = edit(hub, "veterans", vet.id, {"phone": "13800000000"}, RA)
    late.values["area"] = VILLAGE_A
    push(hub, [late], VILLAGE_A, RA)
    (c,) = hub.select("conflicts")
    assert c["area"] == VILLAGE_B
    return c["id"]


def test_a_station_only_resolves_an_open_conflict_it_sees(hub):
    cid = _refused_edit_conflict(hub)
    hub.bind_replica(RB, VILLAGE_B)
    before = counts(hub)
    bad = {
        "hide it": {"status": "resolved"},
        "no one resolved it": {"status": "resolved", "resolution": "已处理", "resolved_by": ""},
        "another status": {"status": "ignored", "resolution": "x", "resolved_by": "王"},
        "rewrite it": {"loser_value": "{}"},
        "delete it": {"deleted": 1},
    }
    for name, changes in bad.items():
        r = push(hub, [edit(hub, "conflicts", cid, changes, RB)], VILLAGE_B, RB)
        assert not r.acked and not r.resolved, name
    # a village that does not see it
    claim = edit(hub, "conflicts", cid, {"status": "resolved", "resolution": "x", "resolved_by": "王"}, RA)
    claim.values["area"] = VILLAGE_A  # as if it were its own
    r = push(hub, [claim], VILLAGE_A, RA)
    assert r.refused and r.refused[0][2].startswith("该记录不在本站范围")
    assert counts(hub) == before
    good = edit(hub, "conflicts", cid, {"status": "resolved", "resolution": "维持现值", "resolved_by": "王五"}, RB)
    r = push(hub, [good], VILLAGE_B, RB)
    assert r.acked and r.resolved == [(cid, "王五")]
    assert push(hub, [good], VILLAGE_B, RB).acked  # a retry: acknowledged, not audited twice
    reopen = edit(hub, "conflicts", cid, {"status": "open", "resolution": "x", "resolved_by": "y"}, RB)
    r = push(hub, [reopen], VILLAGE_B, RB)
    assert not r.acked and hub.load("conflicts", cid)[0].values["status"] == "resolved"
    forged_new = new_row("conflicts", {"kind": "refused_edit", "area": VILLAGE_B, "status": "open"}, RB)
    assert not push(hub, [forged_new], VILLAGE_B, RB).acked


# --------------------------------------------------------------------------- the station's side


def test_a_parent_edited_after_its_child_is_pushed_with_it(tmp_path):
    net = Network(tmp_path, {"va": VILLAGE_A})
    try:
        va = net.stations["va"]
        vid = records.add_veteran(va, {"id_number": idn(70), "name": "甲", "area": VILLAGE_A})["id"]
        pet = records.open_petition(va, channel="letter", summary="咨询", veteran_id=vid)
        records.add_visit(va, vid, "home")
        records.edit_veteran(va, vid, {"phone": "13800000000"})  # the veteran's row now after its children
        report = net.sync("va", batch_rows=1)
        assert report.rejected == 0 and report.pushed == 4 and va.pending_count() == 0
        assert net.hub.load("veterans", vid)[0].values["phone"] == "13800000000"
        assert net.hub.load("petitions", pet["id"]) is not None
    finally:
        net.close()


def test_a_refused_new_row_lives_on_in_the_rejected_list_only(tmp_path):
    net = Network(tmp_path, {"va": VILLAGE_A})
    try:
        va = net.stations["va"]
        va.write("veterans", "v-bad", {"name": "无身份证号", "area": VILLAGE_A}, create=True)
        report = net.sync("va")
        assert report.rejected == 1 and "身份证号" in report.rejections[0]["reason"]
        assert va.load("veterans", "v-bad") is None
        assert [r["row_id"] for r in va.rejected()] == ["v-bad"]
        assert snapshot(va, VILLAGE_A) == snapshot(net.hub, VILLAGE_A)
    finally:
        net.close()


def test_scope_is_a_prefix_and_common_areas_are_levels():
    from sync.engine.scope import in_scope, scope_range

    assert in_scope("440902001001", "440902001") and not in_scope("440902002001", "440902001")
    assert not in_scope(None, "") and not in_scope("", "440902")
    lo, hi = scope_range("440902001")
    assert lo <= "440902001999" < hi and not (lo <= "440902002" < hi)
    assert common_area("440902001001", "440902001001") == "440902001001"
    assert common_area("440902001001", "440902001002") == "440902001"
    assert common_area("440902001001", "440902002001") == "440902"
    assert common_area("440902001001", "440903001001") == ""


# --------------------------------------------------------------------------- G: what cannot be true


@pytest.mark.parametrize("over, reason", [
    ({"gender": "male"}, "性别“男”与身份证号不一致（按身份证号应为“女”）"),  # idn(80): sequence 080, a woman
    ({"birth_date": "1971-01-01"}, "出生日期 1971-01-01 与身份证号不一致（按身份证号应为 1970-01-01）"),
    ({"birth_date": "1970-02"}, "出生日期 1970-02 与身份证号不一致（按身份证号应为 1970-01-01）"),
    ({"enlisted_on": "1985-12"}, "入伍时间 1985-12 时未满16周岁（出生日期 1970-01-01）"),
    ({"enlisted_on": "1969-12", "category": "red_army"}, "入伍时间 1969-12 早于出生日期 1970-01-01"),
    ({"enlisted_on": "1990-03", "discharged_on": "1989-09"}, "退役时间 1989-09 早于入伍时间 1990-03"),
    ({"enlisted_on": "2099-01"}, "入伍时间 2099-01 晚于今天"),
    ({"honor_plaque": "2099-01-01"}, "光荣牌悬挂日期 2099-01-01 晚于今天"),
])
def test_the_hub_refuses_what_cannot_be_true(hub, over, reason):
    vet = veteran(80, VILLAGE_A, RA, **over)
    before = counts(hub)
    r = push(hub, [vet], VILLAGE_A, RA)
    assert not r.acked and refused_reasons(r) == [reason]
    assert counts(hub) == before


def test_the_hub_takes_what_may_be_true(hub):
    vet = veteran(80, VILLAGE_A, RA, gender="female", birth_date="1970-01", enlisted_on="1986-01", discharged_on="1990-12",
                  phone="13800138000、0668-7654321-801", name="阿不都·热合曼")
    child = veteran(81, VILLAGE_A, RA, category="red_army", enlisted_on="1982-03")  # 红小鬼: no age rule
    r = push(hub, [vet, child], VILLAGE_A, RA)
    assert len(r.acked) == 2 and not r.refused
    poor = visit(vet, VILLAGE_A, RA, aid_cash=-300.0)
    crowd = petition(vet, VILLAGE_A, RA, group_size=-2)
    r = push(hub, [poor, crowd, visit(vet, VILLAGE_A, RA, aid_cash=300.0)], VILLAGE_A, RA)
    assert refused_reasons(r) == ["慰问金（元） -300 不能为负数", "人数 -2 不能为负数"] and len(r.acked) == 1


def test_rows_written_under_the_rules_before_keep_syncing(hub):
    """A new refusal must not lose what was admitted before: a re-offer to a restored hub
    is not judged again, an old station's forms (a phone before the prefix rule, a name
    with •, full-width digits in a note) are admitted, a stored value no push touches is
    not looked at, and a row pushed deleted is not judged."""
    assert push(hub, [veteran(81, VILLAGE_A, RA)], VILLAGE_A, RA).acked  # the replica is village A's
    legacy = veteran(82, VILLAGE_A, RA, gender="male", phone="12012345678", name="阿不都•热合曼", enlisted_on="1980-01-01")
    epoch = hub.new_epoch()
    r = hub.apply_push([legacy], station=VILLAGE_A, scope=VILLAGE_A, replica_id=RA, recovery=epoch)
    assert r.acked and not r.refused
    assert push(hub, [edit(hub, "veterans", legacy.id, {"address": "东村1号"}, RA)], VILLAGE_A, RA).acked
    r = push(hub, [edit(hub, "veterans", legacy.id, {"enlisted_on": "1979-12"}, RA)], VILLAGE_A, RA)
    assert refused_reasons(r) == ["入伍时间 1979-12 时未满16周岁（出生日期 1970-01-01）"]
    r = push(hub, [edit(hub, "veterans", legacy.id, {"gender": "male"}, RA)], VILLAGE_A, RA)
    assert refused_reasons(r) == ["性别“男”与身份证号不一致（按身份证号应为“女”）"]
    assert push(hub, [edit(hub, "veterans", legacy.id, {"gender": "female"}, RA)], VILLAGE_A, RA).acked
    old = veteran(83, VILLAGE_A, RA, phone="12012345678", name="阿不都•热合曼", note="第３组\n备注")
    gone = veteran(84, VILLAGE_A, RA, gender="male", deleted=1)
    r = push(hub, [old, gone], VILLAGE_A, RA)
    assert len(r.acked) == 2 and not r.refused
    assert hub.load("veterans", old.id)[0].values["phone"] == "12012345678"
    # what no release stored is refused as before
    r = push(hub, [veteran(85, VILLAGE_A, RA, phone="(0668)7654321"), veteran(86, VILLAGE_A, RA, name="甲 ")],
             VILLAGE_A, RA)
    assert refused_reasons(r) == ["退役军人字段 联系电话 的值不是规范格式", "退役军人字段 姓名 的值不是规范格式"]
