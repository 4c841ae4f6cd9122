"""One order of a petition's events for every view (DESIGN §3: status = fold
of events in version order).

An event that reaches a store late gets a later ``seq`` there than events
written after it: the seq order of a store is not the version order. The
station's petition list and show (``station_node.records``) and the report
(``veterans.report.build_report``) must nevertheless agree on status, closing
date and the overdue verdict, on every store: all of them go through
``veterans.petition.fold_events``, which orders by each event's creation version
(then id)."""

from __future__ import annotations

import datetime as dt
import itertools
import time

import pytest

from enginekit import TOWN, VILLAGE_A, Network
from station_node import records
from veterans import petition as P
from veterans.report import build_report
from sync.engine.rowstate import RowState

D = dt.date
TODAY = D(2024, 6, 1)
MONTH = "2024-03"
NOT_OPEN = ("closed", "not_accepted")  # 上报 stays open (Art. 25, issue 14)


def v(wall: int, counter: int = 0, replica: str = "a" * 16) -> str:
    return f"{wall:016d}-{counter:04d}-{replica}"


def event(eid: str, kind: str, at: str, version: str, **fields) -> RowState:
    values = {"petition_id": "p", "area": VILLAGE_A, "at": at, "kind": kind, "deleted": 0, **fields}
    return RowState("petition_events", eid, values, dict.fromkeys(values, version))


PETITION = {"id": "p", "received_on": "2024-03-01"}


# --------------------------------------------------------------------------- the order, on plain values


def test_order_is_by_creation_version_whatever_the_input_order():
    evs = [
        event("e1", "register", "2024-03-01", v(1)),
        event("e2", "escalate", "2024-03-05", v(2)),
        event("e3", "accept", "2024-03-06", v(3)),
    ]
    results = set()
    for perm in itertools.permutations(evs):
        ordered, state = P.fold_events(PETITION, perm, today=TODAY)
        results.add((tuple(e["id"] for e in ordered), state))
    (only,) = results
    assert only[0] == ("e1", "e2", "e3")
    assert only[1].status == "accepted" and only[1].accepted_on == D(2024, 3, 6)


def test_an_edited_kind_keeps_the_event_in_its_place():
    """The order is the version of the write that created the event, not of its
    ``kind``: correcting an event later (a clerk, a conflict resolution) does not
    move it to the end of the history."""
    first = event("e2", "escalate", "2024-03-05", v(2))
    first.clock["kind"] = v(9)  # rewritten after e3 was written
    evs = [event("e1", "register", "2024-03-01", v(1)), first, event("e3", "accept", "2024-03-06", v(3))]
    ordered, state = P.fold_events(PETITION, evs, today=TODAY)
    assert [e["id"] for e in ordered] == ["e1", "e2", "e3"]
    assert state.status == "accepted"
    assert P.creation_version(first.clock) == v(2)


def test_order_is_total_ties_broken_by_id():
    same = v(5)
    evs = [event("b", "close", "2024-03-09", same), event("a", "close", "2024-03-08", same),
           event("0", "register", "2024-03-01", v(1))]
    for perm in itertools.permutations(evs):
        ordered, state = P.fold_events(PETITION, perm, today=TODAY)
        assert [e["id"] for e in ordered] == ["0", "a", "b"]
        assert state.closed_on == D(2024, 3, 8)


def test_tombstones_are_not_history():
    gone = event("e2", "close", "2024-03-02", v(2))
    gone.values["deleted"] = 1
    ordered, state = P.fold_events(
        PETITION, [event("e1", "register", "2024-03-01", v(1)), gone], today=TODAY)
    assert [e["id"] for e in ordered] == ["e1"] and state.status == "registered"


def test_a_case_no_longer_this_offices_clock_is_not_overdue():
    """Not accepted: the state says it is off this office's clock, so the station's
    list and the report agree. 上报 is no longer such a case (Art. 25, issue 14):
    handing a matter up does not end this office's duty."""
    evs = [event("e1", "register", "2024-03-01", v(1)), event("e2", "accept", "2024-03-02", v(2)),
           event("e3", "escalate", "2024-03-03", v(3))]
    _, state = P.fold_events(PETITION, evs, today=TODAY)
    handling = next(d for d in state.deadlines if d.what == "办理期限")
    assert handling.overdue  # the deadline itself did pass unmet
    assert state.status == "escalated" and state.is_open and state.overdue
    _, refused = P.fold_events(PETITION, [evs[0], event("e4", "reject", "2024-03-02", v(2))], today=TODAY)
    assert refused.status == "not_accepted" and not refused.is_open and not refused.overdue


# --------------------------------------------------------------------------- two stations, events arriving late


@pytest.fixture()
def net(tmp_path):
    n = Network(tmp_path, {"town": TOWN, "va": VILLAGE_A})
    yield n
    n.close()


def _seq_and_version(store, ids):
    states = store.load_many("petition_events", list(ids))
    return {i: (s.seq, P.creation_version(s.clock)) for i, (s, _) in states.items()}


def test_views_agree_when_events_arrive_out_of_version_order(net):
    town, village = net.stations["town"], net.stations["va"]
    common = dict(channel="visit", petitioner="李四", area=VILLAGE_A, received="2024-03-01", today=TODAY)
    p1 = records.open_petition(village, summary="反映优抚金发放", **common)["id"]
    p2 = records.open_petition(village, summary="反映住房困难", **common)["id"]
    net.sync("va")
    net.sync("town")
    assert len(records.list_petitions(town, today=TODAY)) == 2

    # The village works offline first ...
    # (办结 comes after a 答复: 信访工作条例 Art. 32, issue 14.)
    records.add_petition_event(village, p2, "reply", at="2024-03-30", outcome="explain", today=TODAY)
    early = [records.add_petition_event(village, p1, "escalate", at="2024-03-05", today=TODAY)[0]["id"],
             records.add_petition_event(village, p2, "close", at="2024-03-31", today=TODAY)[0]["id"]]
    time.sleep(0.01)
    # ... then the town, not having seen that, records later events and syncs first.
    records.add_petition_event(town, p2, "reply", at="2024-04-01", outcome="support", today=TODAY)
    late = [records.add_petition_event(town, p1, "accept", at="2024-03-06", today=TODAY)[0]["id"],
            records.add_petition_event(town, p2, "close", at="2024-04-02", today=TODAY)[0]["id"]]
    net.sync("town")
    net.sync("va")
    net.sync("town")

    # Precondition: at the town and the hub the village's earlier events came in later.
    for store in (town, net.hub):
        order = _seq_and_version(store, early + late)
        for e, l in zip(early, late):
            assert order[e][1] < order[l][1], "the village's event has the earlier version"
            assert order[e][0] > order[l][0], "... and the later seq"

    # Version order: P1 escalated, then accepted again (open, handling due 05-05:
    # overdue on 06-01); P2 closed on 03-31, the town's second close skipped.
    for name, store in (("town", town), ("va", village)):
        listed = {pet["id"]: state for pet, state in records.list_petitions(store, today=TODAY)}
        overdue_listed = {pet["id"] for pet, _ in records.list_petitions(store, overdue=True, today=TODAY)}
        for pid in (p1, p2):
            _, events, shown = records.petition_detail(store, pid, today=TODAY)
            assert shown == listed[pid], name
            assert (pid in overdue_listed) == shown.overdue, name
            versions = [P.creation_version(store.load("petition_events", e["id"])[0].clock) for e in events]
            assert versions == sorted(versions), f"{name}: show lists events in version order"
        assert listed[p1].status == "accepted" and listed[p1].accepted_on == D(2024, 3, 6), name
        assert listed[p1].overdue and overdue_listed == {p1}, name
        assert listed[p2].status == "closed" and listed[p2].closed_on == D(2024, 3, 31), name

        # The report on the same store says the same.
        row = build_report(store, VILLAGE_A, month=MONTH, today=TODAY).total
        states = listed.values()
        assert row.petitions_received == 2
        assert row.petitions_open == sum(s.status not in NOT_OPEN for s in states) == 1, name
        assert row.petitions_closed == sum(s.status == "closed" for s in states) == 1, name
        assert row.petitions_closed_in_month == sum(
            s.closed_on is not None and s.closed_on.isoformat().startswith(MONTH) for s in states) == 1, name
        assert row.petitions_overdue == sum(s.overdue for s in states) == 1, name

    # And the county's report at the hub.
    hub_row = build_report(net.hub, "440902", month=MONTH, today=TODAY).total
    assert (hub_row.petitions_open, hub_row.petitions_closed, hub_row.petitions_closed_in_month,
            hub_row.petitions_overdue) == (1, 1, 1, 1)
