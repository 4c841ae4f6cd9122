"""Tests of veterans.petition: the status machine and the deadlines of 信访工作条例 (2022)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from veterans.values import ENUMS
from sync.engine.errors import ValidationError
from veterans.petition import (
    PetitionState,
    allowed_kinds,
    check_event,
    derive,
    next_status,
)

D = dt.date
RECEIVED = D(2024, 3, 1)
PETITION = {"id": "p1", "received_on": "2024-03-01"}


def ev(kind, at, **extra):
    return {"kind": kind, "at": at, **extra}


def by_what(state: PetitionState):
    return {d.what: d for d in state.deadlines}


# --------------------------------------------------------------------------- transitions

HAPPY_PATH = [
    (None, "register", "registered"),
    ("registered", "forward", "forwarded"),
    ("forwarded", "accept", "accepted"),
    ("accepted", "extend", "accepted"),
    ("accepted", "reply", "replied"),
    ("replied", "review_request", "under_review"),
    ("under_review", "review_opinion", "reviewed"),
    ("reviewed", "recheck_request", "under_recheck"),
    ("under_recheck", "recheck_opinion", "closed"),
]


@pytest.mark.parametrize(("status", "kind", "expected"), HAPPY_PATH)
def test_happy_path_transitions(status, kind, expected):
    assert next_status(status, kind) == expected
    assert check_event(status, kind) == expected
    assert kind in allowed_kinds(status)


@pytest.mark.parametrize(
    ("status", "kind", "expected"),
    [
        ("", "register", "registered"),
        ("registered", "accept", "accepted"),
        ("registered", "reject", "not_accepted"),
        ("forwarded", "reject", "not_accepted"),
        ("registered", "reply", "replied"),     # lenient: reply without a recorded acceptance
        ("forwarded", "reply", "replied"),
        ("not_accepted", "accept", "accepted"),  # reconsidered
        ("under_review", "mediate", "under_review"),
        ("accepted", "mediate", "accepted"),
        ("replied", "close", "closed"),
        ("registered", "close", "closed"),
        ("accepted", "escalate", "escalated"),
        ("escalated", "reply", "replied"),
        ("registered", "转送", "forwarded"),     # a label is accepted for the kind
    ],
)
def test_other_transitions(status, kind, expected):
    assert next_status(status, kind) == expected


@pytest.mark.parametrize(
    ("status", "kind", "message"),
    [
        ("closed", "review_request", "当前状态“已办结”不能登记“复查申请”"),
        ("accepted", "review_request", "当前状态“办理中”不能登记“复查申请”"),
        ("replied", "recheck_request", "当前状态“已答复”不能登记“复核申请”"),
        (None, "accept", "当前状态“未登记”不能登记“受理”"),
        ("registered", "register", "当前状态“已登记”不能登记“登记”"),
        ("registered", "extend", "当前状态“已登记”不能登记“延期”"),
        ("not_accepted", "reply", "当前状态“不予受理”不能登记“答复”"),
        ("escalated", "escalate", "当前状态“已上报”不能登记“上报”"),
        (None, "mediate", "当前状态“未登记”不能登记“调解”"),
    ],
)
def test_invalid_transitions(status, kind, message):
    with pytest.raises(ValidationError) as err:
        next_status(status, kind)
    assert err.value.args[0] == message
    assert err.value.hint.startswith("可登记：")
    with pytest.raises(ValidationError):
        check_event(status, kind)


def test_nothing_after_closed_but_a_correction():
    # A wrong 办结 can be voided; the 复核意见 that closed a case is still served (送达, Art. 36).
    assert allowed_kinds("closed") == ["correct", "serve"]
    for kind in ENUMS["event_kind"]:
        if kind in ("correct", "serve"):
            continue
        with pytest.raises(ValidationError):
            next_status("closed", kind)
    with pytest.raises(ValidationError) as err:
        next_status("closed", "close")
    assert str(err.value).endswith("（可登记：更正、送达）")


def test_bad_status_or_kind():
    with pytest.raises(ValidationError, match="信访状态 limbo 无效"):
        next_status("limbo", "reply")
    with pytest.raises(ValidationError, match="信访事件 teleport 无效"):
        next_status("accepted", "teleport")


def test_allowed_kinds():
    assert allowed_kinds(None) == ["register"]
    assert allowed_kinds("") == ["register"]
    assert allowed_kinds("accepted") == ["extend", "reply", "mediate", "close", "escalate", "correct", "notify"]
    assert allowed_kinds("replied") == ["review_request", "mediate", "close", "escalate", "correct", "notify",
                                        "serve"]
    for status in ENUMS["petition_status"]:
        for kind in allowed_kinds(status):
            next_status(status, kind)  # does not raise


def test_check_event_refuses_second_extension():
    assert check_event("accepted", "extend", extended=False) == "accepted"
    with pytest.raises(ValidationError, match="已延期一次"):
        check_event("accepted", "extend", extended=True)
    assert check_event("accepted", "reply", extended=True) == "replied"


# --------------------------------------------------------------------------- deadlines


def test_notice_deadline_day_15_not_overdue_day_16_overdue():
    events = [ev("register", "2024-03-01")]
    on_15 = derive(PETITION, events, today=RECEIVED + dt.timedelta(days=15))
    notice = by_what(on_15)["受理告知期限"]
    assert notice.due == D(2024, 3, 16)
    assert notice.met_on is None and not notice.overdue and not on_15.overdue
    assert on_15.next_due == notice
    on_16 = derive(PETITION, events, today=RECEIVED + dt.timedelta(days=16))
    assert by_what(on_16)["受理告知期限"].overdue and on_16.overdue


# Arts. 22–23 (changed with issue 14): the notice is a written 告知 to the petitioner, a 告知
# event or the ``served_on`` of a routing event — no longer the routing itself.
@pytest.mark.parametrize("kind", ["forward", "accept", "reject"])
def test_notice_met_by_a_written_notice_art_22(kind):
    state = derive(PETITION, [ev("register", "2024-03-01"), ev(kind, "2024-03-10", served_on="2024-03-16")],
                   today=D(2024, 12, 1))
    notice = by_what(state)["受理告知期限"]
    assert notice.met_on == D(2024, 3, 16) and not notice.overdue and not notice.late
    bare = derive(PETITION, [ev("register", "2024-03-01"), ev(kind, "2024-03-10")], today=D(2024, 3, 17))
    assert by_what(bare)["受理告知期限"].met_on is None


def test_notice_met_late_is_not_overdue_but_late():
    state = derive(PETITION, [ev("register", "2024-03-01"), ev("notify", "2024-03-17")], today=D(2024, 3, 20))
    notice = by_what(state)["受理告知期限"]
    assert notice.late and not notice.overdue


def test_received_on_falls_back_to_register_date():
    state = derive({"id": "p"}, [ev("register", "2024-03-01T09:30:00+08:00")], today=D(2024, 3, 2))
    assert state.received_on == D(2024, 3, 1)
    assert by_what(state)["受理告知期限"].due == D(2024, 3, 16)
    assert state.anomalies == ()


def test_no_events_still_has_notice_deadline():
    state = derive(PETITION, [], today=D(2024, 3, 20))
    assert state.status is None and state.status_label == "未登记"
    assert state.overdue


def test_handling_deadline_60_days():
    events = [ev("register", "2024-03-01"), ev("notify", "2024-03-05"), ev("accept", "2024-03-05")]
    due = D(2024, 3, 5) + dt.timedelta(days=60)
    assert due == D(2024, 5, 4)
    state = derive(PETITION, events, today=due)
    handling = by_what(state)["办理期限"]
    assert state.status == "accepted" and state.accepted_on == D(2024, 3, 5)
    assert handling.due == due and not handling.overdue
    assert state.next_due == handling
    assert by_what(derive(PETITION, events, today=due + dt.timedelta(days=1)))["办理期限"].overdue


def test_extension_adds_at_most_30_days_once():
    base = [ev("register", "2024-03-01"), ev("notify", "2024-03-05"), ev("accept", "2024-03-05")]
    once = derive(PETITION, base + [ev("extend", "2024-04-20", note="情况复杂")], today=D(2024, 6, 3))
    assert once.extended and once.status == "accepted"
    assert by_what(once)["办理期限"].due == D(2024, 6, 3)
    assert not once.overdue and once.anomalies == ()

    short = derive(PETITION, base + [ev("extend", "2024-04-20", days=10)], today=D(2024, 5, 1))
    assert by_what(short)["办理期限"].due == D(2024, 5, 14)

    too_long = derive(PETITION, base + [ev("extend", "2024-04-20", days=45)], today=D(2024, 5, 1))
    assert by_what(too_long)["办理期限"].due == D(2024, 6, 3)
    assert any("超出范围" in a for a in too_long.anomalies)

    twice = derive(
        PETITION, base + [ev("extend", "2024-04-20"), ev("extend", "2024-05-30")], today=D(2024, 6, 4)
    )
    assert by_what(twice)["办理期限"].due == D(2024, 6, 3)
    assert twice.overdue
    assert any("再次延期" in a for a in twice.anomalies)


def test_late_extension_is_noted_and_not_applied():
    # Art. 34 (changed with issue 14): an extension entered after the deadline does not hide the miss.
    events = [ev("register", "2024-03-01"), ev("accept", "2024-03-05"), ev("extend", "2024-05-10")]
    state = derive(PETITION, events, today=D(2024, 5, 10))
    assert by_what(state)["办理期限"].due == D(2024, 5, 4) and by_what(state)["办理期限"].overdue
    assert not state.extended
    assert any("办理期限 2024-05-04 之后，不计" in a for a in state.anomalies)


def test_reply_meets_handling_and_opens_review_window():
    events = [
        ev("register", "2024-03-01"), ev("notify", "2024-03-05"), ev("accept", "2024-03-05"),
        ev("reply", "2024-04-01", outcome="explain"),
    ]
    state = derive(PETITION, events, today=D(2024, 5, 2))  # window lapsed on 5-01
    d = by_what(state)
    assert state.status == "replied" and state.replied_on == D(2024, 4, 1)
    assert state.outcome == "explain"
    assert d["办理期限"].met_on == D(2024, 4, 1)
    window = d["复查申请期限"]
    assert window.window and window.due == D(2024, 5, 1)
    assert not window.overdue and not state.overdue  # a window is never overdue
    assert state.next_due is None  # the lapsed window no longer runs
    assert derive(PETITION, events, today=D(2024, 5, 1)).next_due == window


def test_review_and_recheck_deadlines():
    events = [
        ev("register", "2024-03-01"), ev("notify", "2024-03-02"), ev("accept", "2024-03-05"),
        ev("reply", "2024-04-01", outcome="support"),
        ev("review_request", "2024-04-20"), ev("review_opinion", "2024-05-20"),
        ev("recheck_request", "2024-06-01"),
    ]
    state = derive(PETITION, events, today=D(2024, 7, 2))
    d = by_what(state)
    assert state.status == "under_recheck"
    assert d["复查申请期限"].met_on == D(2024, 4, 20)
    assert d["复查答复期限"].due == D(2024, 5, 20) and d["复查答复期限"].met_on == D(2024, 5, 20)
    assert d["复核申请期限"].due == D(2024, 6, 19) and d["复核申请期限"].met_on == D(2024, 6, 1)
    # Arts. 35–36 (changed with issue 14): the answer limits are the upper organ's, never ours.
    assert d["复核答复期限"].due == D(2024, 7, 1) and d["复核答复期限"].upper and not d["复核答复期限"].overdue
    assert not state.overdue and state.next_due == d["复核答复期限"]

    closed = derive(PETITION, events + [ev("recheck_opinion", "2024-06-30")], today=D(2024, 12, 1))
    assert closed.status == "closed" and closed.closed_on == D(2024, 6, 30)
    assert not closed.overdue and closed.next_due is None
    assert [d.what for d in closed.deadlines] == [
        "受理告知期限", "办理期限", "复查申请期限", "复查答复期限", "复核申请期限", "复核答复期限",
    ]


def test_review_requested_after_window_is_noted():
    events = [ev("register", "2024-03-01"), ev("reply", "2024-03-10"), ev("review_request", "2024-04-10")]
    state = derive(PETITION, events, today=D(2024, 4, 10))
    assert state.status == "under_review"
    assert any("复查申请期限 2024-04-09 已过" in a for a in state.anomalies)


def test_close_meets_open_obligations():
    events = [ev("register", "2024-03-01"), ev("accept", "2024-03-02"), ev("close", "2024-03-03")]
    state = derive(PETITION, events, today=D(2025, 1, 1))
    assert state.status == "closed" and not state.overdue
    assert by_what(state)["办理期限"].met_on == D(2024, 3, 3)


def test_reject_ends_deadlines():
    state = derive(PETITION, [ev("register", "2024-03-01"), ev("reject", "2024-03-10")], today=D(2025, 1, 1))
    assert state.status == "not_accepted" and not state.overdue and state.next_due is None


# --------------------------------------------------------------------------- stored data never raises


def test_invalid_stored_events_are_skipped_and_noted():
    events = [
        ev("register", "2024-03-01"),
        ev("review_request", "2024-03-02"),    # invalid transition
        ev("teleport", "2024-03-03"),          # unknown kind
        ev("accept", "not a date"),            # bad date
        "garbage",                             # not a dict
        ev("accept", "2024-03-04", from_status="forwarded"),  # built on another status
        ev("reply", "2024-03-05", outcome="maybe"),
    ]
    state = derive({"received_on": "someday"}, events, today=D(2024, 3, 6))
    assert state.status == "replied"
    assert state.outcome is None
    assert state.received_on == D(2024, 3, 1)
    assert len(state.anomalies) == 7
    assert state.anomalies[0] == "收件日期 someday 无效"
    assert state.anomalies[1] == "第2条事件：当前状态“已登记”不能登记“复查申请”，已跳过"
    assert "第6条事件：基于状态“已转送/交办”，当时实为“已登记”" in state.anomalies


def test_state_is_frozen():
    state = derive(PETITION, [ev("register", "2024-03-01")], today=D(2024, 3, 2))
    with pytest.raises(AttributeError):
        state.status = "closed"  # type: ignore[misc]
    hash(state)


_kinds = st.sampled_from([*ENUMS["event_kind"], "转送", "unknown", "", None])
_ats = st.one_of(
    st.dates(min_value=D(2020, 1, 1), max_value=D(2026, 1, 1)).map(str),
    st.sampled_from(["", None, "bad", "2024-02-30", 17, "2024-01-01T00:00:00Z"]),
)
_events = st.lists(
    st.one_of(
        st.fixed_dictionaries(
            {"kind": _kinds, "at": _ats},
            optional={
                "outcome": st.sampled_from(["support", "支持", "x", None]),
                "days": st.one_of(st.integers(-5, 90), st.just("x"), st.none()),
                "from_status": st.sampled_from([*ENUMS["petition_status"], "", None, 3]),
                "note": st.text(max_size=5),
            },
        ),
        st.just("not a dict"),
    ),
    max_size=25,
)


@settings(max_examples=300, deadline=None)
@given(
    events=_events,
    received=st.sampled_from(["2024-03-01", "", None, "bad", "2024/3/1"]),
    today=st.dates(min_value=D(2020, 1, 1), max_value=D(2027, 1, 1)),
)
def test_derive_never_raises(events, received, today):
    state = derive({"received_on": received}, events, today=today)
    assert state.status is None or state.status in ENUMS["petition_status"]
    for d in state.deadlines:
        assert not (d.window and d.overdue)
        assert d.overdue == (d.counts and d.met_on is None and today > d.due)
    handling = [d for d in state.deadlines if d.what == "办理期限"]
    if handling and state.accepted_on:
        assert handling[0].due - state.accepted_on <= dt.timedelta(days=90)


@settings(max_examples=200, deadline=None)
@given(kinds=st.lists(st.sampled_from(list(ENUMS["event_kind"])), max_size=20))
def test_derive_agrees_with_check_event(kinds):
    """Replaying only the events check_event accepts gives the same status and no anomalies."""
    # What each step must carry (信访工作条例 Arts. 29–36), as a clerk gives it.
    carry = {"accept": {"method": "opinion"}, "reply": {"outcome": "support"}, "hearing": {"days": 3},
             "extend": {"days": 10, "approver": "局长", "served_on": "2024-03-01"}}
    status, extended, accepted = None, False, []
    for kind in kinds:
        values = {"at": "2024-03-01", **carry.get(kind, {})}
        try:
            status = check_event(status, kind, extended=extended,
                                 state=derive(PETITION, accepted, today=D(2024, 3, 2)), values=values)
        except ValidationError:
            continue
        extended = extended or kind == "extend"
        accepted.append(ev(kind, **values))
    state = derive(PETITION, accepted, today=D(2024, 3, 2))
    assert state.status == status
    assert state.extended == extended
    assert state.anomalies == ()
