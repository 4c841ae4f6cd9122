"""A petition's wrong step corrected by a 更正 (issue 12, "Correct"): the fold
leaves the voided step out, the history keeps both, status, deadlines and the
report follow; which steps are voided depends on the set of events alone,
wherever and in whatever order they arrive; the hub admits a valid 更正 and
refuses a bad one; two stations voiding different steps, or one voiding a step
while another adds a later one, end in one state everywhere.

The rules on plain values first (``veterans.petition``), then the hub's checks of
crafted pushes, then stations and a hub in one process (``enginekit.Network``)."""

from __future__ import annotations

import datetime as dt
import itertools
import time
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from enginekit import COUNTY, TOWN, VILLAGE_A, Network
from station_node import corrections, records
from sync.engine.errors import ValidationError
from sync.engine.hlc import make_version
from sync.engine.rowstate import RowState
from sync.store.hub import HubStore
from veterans import petition as P
from veterans.hub_checks import HUB_CHECKS
from veterans.report import build_report
from veterans.values import id_number_check_digit

D = dt.date
TODAY = D(2024, 6, 1)
PETITION = {"id": "p", "received_on": "2024-03-01"}


def ev(eid: str, kind: str, at: str, **extra) -> dict:
    return {"id": eid, "kind": kind, "at": at, **extra}


def fix(eid: str, voids: str, at: str = "2024-05-01") -> dict:
    return ev(eid, "correct", at, voids=voids, note="录入有误")


def deadlines(state: P.PetitionState) -> dict:
    return {d.what: d for d in state.deadlines}


LOG = [ev("e1", "register", "2024-03-01"), ev("e2", "accept", "2024-03-05"),
       ev("e3", "extend", "2024-04-20", note="情况复杂"), ev("e4", "reply", "2024-05-20", outcome="support")]


# --------------------------------------------------------------------------- the fold, on plain values


def test_a_voided_acceptance_leaves_no_handling_deadline_and_skips_what_needed_it():
    before = P.derive(PETITION, LOG, today=TODAY)
    assert before.status == "replied" and before.accepted_on == D(2024, 3, 5) and before.extended
    assert deadlines(before)["办理期限"].due == D(2024, 6, 3)
    after = P.derive(PETITION, [*LOG, fix("e5", "e2")], today=TODAY)
    assert after.status == "replied" and after.accepted_on is None and not after.extended
    assert "办理期限" not in deadlines(after)
    # Arts. 22–23 (issue 14): a reply is no notice; nothing in LOG is a written 告知.
    assert deadlines(after)["受理告知期限"].met_on is None
    assert after.anomalies == ("第3条事件：当前状态“已登记”不能登记“延期”，已跳过",)


def test_a_voided_extension_gives_the_60_days_back():
    state = P.derive(PETITION, [*LOG[:3], fix("e5", "e3")], today=D(2024, 5, 5))
    assert not state.extended and deadlines(state)["办理期限"].due == D(2024, 5, 4)
    assert state.overdue and state.anomalies == ()


def test_a_voided_close_reopens_the_case_and_its_clock():
    log = [*LOG[:2], ev("e3", "close", "2024-03-10")]
    assert P.derive(PETITION, log, today=TODAY).status == "closed"
    reopened = P.derive(PETITION, [*log, fix("e4", "e3")], today=TODAY)
    assert reopened.status == "accepted" and reopened.closed_on is None
    assert reopened.overdue and "办理期限" in {d.what for d in reopened.deadlines if d.overdue}
    # Arts. 22–23 (issue 14): no written 告知 in this log, so the notice is the earliest unmet.
    assert reopened.next_due.what == "受理告知期限"


def test_the_step_recorded_again_after_the_void_counts():
    """The clerk voids the acceptance with the wrong date and records it again."""
    log = [*LOG[:2], fix("e3", "e2"), ev("e4", "accept", "2024-03-02", from_status="registered")]
    state = P.derive(PETITION, log, today=TODAY)
    assert state.accepted_on == D(2024, 3, 2) and deadlines(state)["办理期限"].due == D(2024, 5, 1)
    assert state.anomalies == ()


def test_steps_recorded_on_a_status_voided_since_are_not_noted_as_built_on_another():
    log = [ev("e1", "register", "2024-03-01"), ev("e2", "forward", "2024-03-02"),
           ev("e3", "accept", "2024-03-04", from_status="forwarded"), fix("e4", "e2")]
    state = P.derive(PETITION, log, today=TODAY)
    assert state.status == "accepted" and state.anomalies == ()


@pytest.mark.parametrize(("target", "why"), [
    ("e1", "a 登记"), ("e9", "no such event"), ("e5", "a 更正"), (None, "none named")])
def test_a_correction_that_voids_nothing_is_skipped_and_noted(target, why):
    log = [*LOG, fix("e5", "e2")]
    bad = ev("e6", "correct", "2024-05-21", voids=target, note="x")
    base, state = P.derive(PETITION, log, today=TODAY), P.derive(PETITION, [*log, bad], today=TODAY)
    assert _facts(state) == _facts(base), why
    assert state.anomalies == (*base.anomalies, "第6条事件：更正所指的环节不在本信访件中或不能作废，已跳过"), why


def test_two_corrections_of_one_step_are_one_void():
    once = P.derive(PETITION, [*LOG, fix("e5", "e4")], today=TODAY)
    twice = P.derive(PETITION, [*LOG, fix("e5", "e4"), fix("e6", "e4")], today=TODAY)
    assert once == twice and once.status == "accepted"
    assert P.voided_events([*LOG, fix("e5", "e4"), fix("e6", "e4")]) == {"e4": 4}


def _stored(eid: str, values: dict, version: str) -> RowState:
    values = {"petition_id": "p", "area": VILLAGE_A, "deleted": 0, **values}
    return RowState("petition_events", eid, values, dict.fromkeys(values, version))


def v(n: int, replica: str = "a" * 16) -> str:
    return f"{n:016d}-0000-{replica}"


def test_fold_events_marks_the_voided_step_and_keeps_both_whatever_the_input_order():
    stored = [_stored(e["id"], {k: x for k, x in e.items() if k != "id"}, v(i)) for i, e in enumerate(LOG, 1)]
    stored.append(_stored("e5", {"kind": "correct", "at": "2024-05-21", "voids": "e2", "note": "错了"}, v(5)))
    results = set()
    for perm in itertools.permutations(stored):
        events, state = P.fold_events(PETITION, perm, today=TODAY)
        results.add((tuple((e["id"], e["voided_by"]) for e in events), state))
    (only,) = results
    assert only[0] == (("e1", None), ("e2", "e5"), ("e3", None), ("e4", None), ("e5", None))
    assert only[1].accepted_on is None


def test_a_tombstoned_correction_voids_nothing():
    gone = _stored("e5", {"kind": "correct", "at": "2024-05-21", "voids": "e2", "note": "错了", "deleted": 1}, v(5))
    stored = [_stored(e["id"], {k: x for k, x in e.items() if k != "id"}, v(i)) for i, e in enumerate(LOG, 1)]
    events, state = P.fold_events(PETITION, [*stored, gone], today=TODAY)
    assert [e["voided_by"] for e in events] == [None] * 4 and state.accepted_on == D(2024, 3, 5)


# -- properties


_KINDS = ["register", "forward", "accept", "reject", "extend", "reply", "review_request", "review_opinion",
          "mediate", "close", "escalate", "correct", "correct", "correct"]
_logs = st.lists(st.tuples(st.sampled_from(_KINDS), st.integers(0, 40), st.integers(0, 12)),
                 min_size=1, max_size=12)


def _log(draw_items) -> list[dict]:
    """Events e1…eN; a 更正 names an earlier event by position (perhaps one it may not void)."""
    out = [ev("e0", "register", "2024-03-01")]
    for i, (kind, day, target) in enumerate(draw_items, start=1):
        at = (D(2024, 3, 1) + dt.timedelta(days=day)).isoformat()
        if kind == "correct":
            out.append(ev(f"e{i}", "correct", at, voids=f"e{target % i}", note="x"))
        else:
            out.append(ev(f"e{i}", kind, at, note="x"))
    return out


def _facts(state: P.PetitionState) -> tuple:
    return (state.status, state.received_on, state.accepted_on, state.replied_on, state.closed_on, state.outcome,
            state.extended, state.deadlines)


@settings(max_examples=300, deadline=None)
@given(_logs)
def test_the_fold_of_a_corrected_log_is_the_fold_of_the_log_without_the_voided_steps(items):
    """Voiding is the same as never having recorded the step (the 更正 itself changes nothing)."""
    log = _log(items)
    voided = P.voided_events(log)
    plain = [e for e in log if e["kind"] != "correct" and e["id"] not in voided]
    assert _facts(P.derive(PETITION, log, today=TODAY)) == _facts(P.derive(PETITION, plain, today=TODAY))
    for target in voided:
        assert next(e for e in log if e["id"] == target)["kind"] not in ("register", "correct")


@settings(max_examples=150, deadline=None)
@given(_logs, st.randoms(use_true_random=False))
def test_what_is_voided_depends_on_the_set_of_events_only(items, rnd):
    log = _log(items)
    shuffled = list(log)
    rnd.shuffle(shuffled)
    assert set(P.voided_events(shuffled)) == set(P.voided_events(log))
    stored = [_stored(e["id"], {k: x for k, x in e.items() if k != "id"}, v(i)) for i, e in enumerate(log, 1)]
    rnd.shuffle(stored)
    events, state = P.fold_events(PETITION, stored, today=TODAY)
    assert [e["id"] for e in events] == [e["id"] for e in log]
    assert _facts(state) == _facts(P.derive(PETITION, log, today=TODAY))


def test_check_correction():
    events, _ = P.fold_events(PETITION, [_stored(e["id"], {k: x for k, x in e.items() if k != "id"}, v(i))
                                          for i, e in enumerate([*LOG, fix("e5", "e3")], 1)], today=TODAY)
    assert P.check_correction(events, "e2") == 1
    for target, message in [
        ("e1", "“登记”环节不能更正（收到日期、信访人等登记内容有误，请用 petition edit 修改）"),
        ("e5", "“更正”不能再更正（如更正有误，请重新登记被作废的环节）"),
        ("e3", "第3条“延期”已被第5条更正作废"),
        ("zz", "该信访件没有编号为 zz 的办理环节（序号和编号见 petition show 的办理记录）"),
    ]:
        with pytest.raises(ValidationError) as err:
            P.check_correction(events, target)
        assert str(err.value) == message
    with pytest.raises(ValidationError) as err:
        P.check_event("accepted", "更正")
    assert str(err.value) == "更正须指明要作废的环节（用 --of 指定 petition show 中的序号或环节编号）"
    assert P.next_status("closed", "correct") == "closed" and "correct" in P.allowed_kinds("closed")


# --------------------------------------------------------------------------- the hub's checks of a pushed 更正

RA, RB = "a1" * 8, "b2" * 8
_tick = [0]


def ver(replica: str) -> str:
    _tick[0] += 1
    return make_version(int(time.time() * 1000), _tick[0] % 10000, replica)


def new_row(table: str, values: dict, replica: str) -> RowState:
    version = ver(replica)
    values = {"deleted": 0, **values}
    return RowState(table, str(uuid.uuid4()), values, dict.fromkeys(values, version), dict.fromkeys(values, ""))


def idn(n: int) -> str:
    body = f"44090219700101{n:03d}"
    return body + id_number_check_digit(body)


@pytest.fixture()
def hub(tmp_path):
    h = HubStore(tmp_path / "hub.db", create=True, checks=HUB_CHECKS)
    with h.transaction():
        h.set_meta("county", COUNTY)
    yield h
    h.close()


def _petition(hub: HubStore, n: int = 1, area: str = VILLAGE_A, replica: str = RA):
    vet = new_row("veterans", {"id_number": idn(n), "name": "甲", "area": area}, replica)
    pet = new_row("petitions", {"veteran_id": vet.id, "area": area, "station": area, "petitioner": "甲",
                                "channel": "letter", "received_on": "2024-05-01", "summary": "反映问题",
                                "confidential": 0}, replica)
    reg = new_row("petition_events", {"petition_id": pet.id, "area": area, "at": "2024-05-01", "kind": "register"},
                  replica)
    acc = new_row("petition_events", {"petition_id": pet.id, "area": area, "at": "2024-05-02", "kind": "accept",
                                      "from_status": "registered"}, replica)
    result = hub.apply_push([vet, pet, reg, acc], station=area, scope=area, replica_id=replica)
    assert not result.refused, result.refused
    return pet, reg, acc


def _correction(pet: RowState, voids, replica: str = RA, **over) -> RowState:
    values = {"petition_id": pet.id, "area": pet.area, "at": "2024-05-03", "kind": "correct", "voids": voids,
              "note": "录入有误", "from_status": "accepted", **over}
    return new_row("petition_events", {k: x for k, x in values.items() if x is not None}, replica)


def _refused(hub: HubStore, rows: list[RowState], station: str = VILLAGE_A, replica: str = RA) -> list[str]:
    result = hub.apply_push(rows, station=station, scope=station, replica_id=replica)
    return [reason for _t, _i, reason in result.refused]


def test_the_hub_admits_a_valid_correction(hub):
    pet, _reg, acc = _petition(hub)
    fix_ = _correction(pet, acc.id)
    assert _refused(hub, [fix_]) == []
    assert hub.load("petition_events", fix_.id)[0].values["voids"] == acc.id
    # the step and its 更正 in one batch (a station pushes in the order it wrote)
    again = new_row("petition_events", {"petition_id": pet.id, "area": pet.area, "at": "2024-05-04",
                                        "kind": "accept", "from_status": "registered"}, RA)
    assert _refused(hub, [again, _correction(pet, again.id)]) == []


def test_the_hub_refuses_a_bad_correction(hub):
    pet, reg, acc = _petition(hub)
    other, _oreg, other_acc = _petition(hub, 2)
    fix_ = _correction(pet, acc.id)
    assert _refused(hub, [fix_]) == []
    before = hub.conn.execute("SELECT count(*) FROM petition_events").fetchone()[0]
    assert _refused(hub, [
        _correction(pet, "no-such-event"),
        _correction(pet, other_acc.id),
        _correction(pet, fix_.id),
        _correction(pet, reg.id),
        _correction(pet, None),
        _correction(pet, acc.id, note=None),
        _correction(pet, acc.id, from_status=None),
        _correction(pet, acc.id, outcome="support"),
        new_row("petition_events", {"petition_id": pet.id, "area": pet.area, "at": "2024-05-03", "kind": "mediate",
                                    "voids": acc.id, "from_status": "registered"}, RA),
    ]) == [
        "更正所指的办理环节不属于该信访件，未保存",
        "更正所指的办理环节不属于该信访件，未保存",  # one wording: another petition's event tells nothing
        "更正不能作废另一条更正",
        "“登记”环节不能作废",
        "更正须指明作废的环节",
        "更正须说明理由",
        "信访办理环节与办理前状态不符",
        "只有答复、复查意见、复核意见有答复意见",
        "只有更正环节可指明作废的环节",
    ]
    assert hub.conn.execute("SELECT count(*) FROM petition_events").fetchone()[0] == before


def test_no_push_rewrites_what_a_correction_voids_or_makes_a_step_one(hub):
    pet, reg, acc = _petition(hub)
    fix_ = _correction(pet, acc.id)
    assert _refused(hub, [fix_]) == []

    def edit(state: RowState, changes: dict) -> RowState:
        version = ver(RA)
        values = {"area": state.area, "deleted": 0, **changes}
        clock = {"area": state.clock["area"], "deleted": state.clock["deleted"], **dict.fromkeys(changes, version)}
        return RowState("petition_events", state.id, values, clock, {n: state.clock.get(n, "") for n in changes})

    held_fix = hub.load("petition_events", fix_.id)[0]
    held_acc = hub.load("petition_events", acc.id)[0]
    assert _refused(hub, [edit(held_fix, {"voids": reg.id}), edit(held_acc, {"kind": "correct"}),
                          edit(held_fix, {"kind": "mediate"})]) == [
        "更正所作废的环节不能修改",
        "办理环节不能改为更正，更正也不能改为其他环节",
        "办理环节不能改为更正，更正也不能改为其他环节",
    ]


# --------------------------------------------------------------------------- stations and a hub, in one process


@pytest.fixture()
def net(tmp_path):
    n = Network(tmp_path, {"town": TOWN, "va": VILLAGE_A})
    yield n
    n.close()


def _open(store, **kw) -> str:
    vid = records.add_veteran(store, {"id_number": idn(7), "name": "张三", "area": VILLAGE_A})["id"]
    return records.open_petition(store, veteran_id=vid, channel="visit", summary="反映优抚金发放",
                                 received="2024-03-01", today=TODAY, **kw)["id"]


def _states(net: Network, pid: str):
    """(event ids with voided_by, state) at every store: they must agree."""
    out = {}
    for name, store in net.stations.items():
        _, events, state = records.petition_detail(store, pid, today=TODAY)
        out[name] = ([(e["id"], e["voided_by"]) for e in events], state)
    events, state = P.fold_events(net.hub.get("petitions", pid),
                                  [s for s, _ in net.hub.read_states("petition_events", "petition_id = ?", (pid,))],
                                  today=TODAY)
    out["hub"] = ([(e["id"], e["voided_by"]) for e in events], state)
    return out


def _settle(net: Network):
    for _ in range(2):
        for name in ("va", "town"):
            net.sync(name)


def test_a_void_and_its_new_step_file_no_transition_conflict(net):
    va = net.stations["va"]
    pid = _open(va)
    records.add_petition_event(va, pid, "accept", at="2024-03-05", today=TODAY)
    net.sync("va")
    corrections.correct_event(va, pid, "2", note="应不予受理", today=TODAY)
    records.add_petition_event(va, pid, "reject", at="2024-03-06", today=TODAY)  # from 已登记, like the 受理 was
    _settle(net)
    assert net.hub.select("conflicts") == []
    (only,) = {repr(x) for x in _states(net, pid).values()}
    assert _states(net, pid)["hub"][1].status == "not_accepted"


def test_two_stations_voiding_different_steps_converge(net):
    va, town = net.stations["va"], net.stations["town"]
    pid = _open(va)
    records.add_petition_event(va, pid, "forward", at="2024-03-02", today=TODAY)
    records.add_petition_event(va, pid, "accept", at="2024-03-05", today=TODAY)
    _settle(net)
    corrections.correct_event(town, pid, "3", note="受理日期错", today=TODAY)  # neither has seen the other's
    corrections.correct_event(va, pid, "2", note="未转送", today=TODAY)
    _settle(net)
    states = _states(net, pid)
    assert len({repr(x) for x in states.values()}) == 1, states
    events, state = states["hub"]
    assert [by is not None for _e, by in events] == [False, True, True, False, False]
    assert state.status == "registered" and state.accepted_on is None


def test_a_step_voided_while_another_station_adds_a_later_one(net):
    """The town voids the 受理; the village, not having seen it, records a 延期 built on it.
    Everywhere the same: the 延期 no longer fits and is skipped (and said so), whichever
    arrived at the hub first."""
    va, town = net.stations["va"], net.stations["town"]
    pid = _open(va)
    records.add_petition_event(va, pid, "accept", at="2024-03-05", today=TODAY)
    _settle(net)
    corrections.correct_event(town, pid, "2", note="受理有误", today=TODAY)
    # a 延期 carries its days, approver and the day the petitioner was told (Art. 34, issue 14)
    records.add_petition_event(va, pid, "extend", at="2024-04-20", note="情况复杂", days=30, approver="局长",
                               served_on="2024-04-21", today=TODAY)
    net.sync("va")  # the 延期 reaches the hub before the 更正
    net.sync("town")
    _settle(net)
    states = _states(net, pid)
    assert len({repr(x) for x in states.values()}) == 1, states
    _events, state = states["hub"]
    assert state.status == "registered" and not state.extended
    assert state.anomalies == ("第3条事件：当前状态“已登记”不能登记“延期”，已跳过",) or \
        state.anomalies == ("第4条事件：当前状态“已登记”不能登记“延期”，已跳过",)
    assert net.hub.select("conflicts", "kind = 'petition_transition'") == []


def test_reports_follow_the_corrected_log_at_the_station_and_the_hub(net):
    va = net.stations["va"]
    pid = _open(va)
    # 办结 comes after a 答复 (信访工作条例 Art. 32, issue 14)
    records.add_petition_event(va, pid, "reply", at="2024-03-09", outcome="explain", today=TODAY)
    records.add_petition_event(va, pid, "close", at="2024-03-10", today=TODAY)
    _settle(net)
    for store in (va, net.stations["town"], net.hub):
        row = build_report(store, VILLAGE_A, month="2024-03", today=TODAY).total
        assert (row.petitions_open, row.petitions_closed, row.petitions_closed_in_month) == (0, 1, 1)
    corrections.correct_event(va, pid, "3", note="未办结", today=TODAY)
    _settle(net)
    for store in (va, net.stations["town"], net.hub):
        row = build_report(store, VILLAGE_A, month="2024-03", today=TODAY).total
        assert (row.petitions_open, row.petitions_closed, row.petitions_closed_in_month,
                row.petitions_overdue) == (1, 0, 0, 1)  # open again, and its 15-day notice long passed
