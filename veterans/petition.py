"""Petition (信访) status and legal deadlines, derived from the event log.

Pure code (stdlib only). A petition's status is never stored: it is the
fold of its ``petition_events`` in version order (DESIGN §3). Two entry
points:

- :func:`check_event` validates a *new* event against the current status
  before it is written, and raises :class:`~sync.engine.errors.ValidationError`;
- :func:`fold_events` orders a petition's *stored* events and folds them
  into its state (status, deadlines, dates, the overdue verdict). It never
  raises: an event that does not fit (invalid transition, unknown kind, bad
  date, a second extension) is skipped or clamped and described in
  ``state.anomalies``. Every view of a petition — the station's list and
  show, the county report, the web page — calls it, and nothing else orders
  events. (:func:`derive` is its second half, the fold of events already in
  order; only rule tests call it directly.)

**Corrections.** The log is append-only: a wrong step is corrected by a 更正
event (kind ``correct``) whose ``voids`` names an earlier event of the same
petition; the fold leaves the voided event out (the history keeps both, the
voided one marked ``voided_by``). Which events are voided depends only on the
*set* of events, never on their order or on when they arrived: a 更正 may void
neither a 登记 (the petition itself is edited instead) nor another 更正 (to
undo a correction, the voided step is recorded again), so no chain of
corrections exists to be read one way or another. A 更正 has no status of its
own; an event that no longer fits once an earlier one is voided is skipped and
noted like any event that does not fit. :func:`check_correction` validates a
new one before it is written.

**The order of events** is the version of the write that *created* each
event (:func:`creation_version`: the lowest version in the row's clock,
since all fields of a new row share one version and every later write,
made by a replica that holds the row, is newer), then the event id, which
makes the order total. Not the store's ``seq``: an event that reaches a
store late gets a later seq there than events written after it. Not the
version of the ``kind`` field either: a corrected event (an edit, a
conflict resolution) would move to the end of the history although it
happened where it was recorded. The creation version is causal: an event
recorded by someone who had seen another is newer than that one.

Deadlines follow 信访工作条例 (2022), counted from the day after the
triggering event (the start day is not counted, so a petition received on
1 March must be answered with a notice by 16 March):

=====================  ==========================================  ==========  =========
what                   due                                         article     counts
=====================  ==========================================  ==========  =========
受理告知期限           received_on + 15; met by a written 告知      Art. 22–23  calendar
办理期限               受理 + 60 (+ ≤ 30, once), 处理意见书 only    Art. 29–34  calendar
复查申请期限 (window)  送达 of the reply + 30                       Art. 35     Art. 203
复查答复期限 (upper)   review request + 30                         Art. 35     calendar
复核申请期限 (window)  送达 of the review opinion + 30              Art. 36     Art. 203
复核答复期限 (upper)   recheck request + 30 + days of 听证          Art. 36     calendar
=====================  ==========================================  ==========  =========

- 受理告知: met by a 告知 event, or by a 受理/不予受理/转送 whose ``served_on``
  records the day the written notice was given — not by the routing itself.
  When the petitioner's name or address is unclear (``address_unclear``) no
  notice is due and the deadline is not opened.
- 办理期限 runs only for a matter accepted to be answered with a 信访处理意见书
  (``method`` ``opinion``, Art. 31(6)); 建议意见类 (Art. 29), 检举控告类 (Art. 30)
  and matters sent to litigation, arbitration or review (Art. 31(1)–(4)) have none.
  A 受理 recorded before ``method`` existed is folded as ``opinion``: nothing
  that was tracked stops being tracked.
- 延期 (Art. 34): its ``days`` (1–30) are added once; a 延期 recorded after the
  办理期限 has passed is not applied (the missed deadline stays overdue).
- A *window* is the petitioner's right, not the office's duty: never overdue,
  it simply lapses. It runs from the day the written reply reached the
  petitioner (a 送达 event, or ``served_on`` of the reply; until one is recorded,
  from the reply's own date), and a last day on a rest day moves to the next
  working day (民法典 Art. 203, the calendar in ``veterans.holidays``).
- *upper*: the 复查/复核 answer limits belong to the organ one level up
  (Arts. 35–36): shown, never counted as this office's overdue.
- 上报 (Art. 25) does not end this office's duty: an escalated case stays open.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Protocol

from veterans import holidays as _holidays
from veterans.values import ENUMS, label, parse_date, parse_enum
from sync.engine.errors import ValidationError

__all__ = [
    "NOTICE_DAYS",
    "HANDLING_DAYS",
    "MAX_EXTENSION_DAYS",
    "REVIEW_DAYS",
    "Deadline",
    "PetitionState",
    "next_status",
    "allowed_kinds",
    "check_event",
    "creation_version",
    "check_correction",
    "voided_events",
    "fold_events",
    "derive",
]

NOTICE_DAYS = 15          # Art. 22–23: route or notify after receipt
HANDLING_DAYS = 60        # Art. 34: handle after acceptance
MAX_EXTENSION_DAYS = 30   # Art. 34: one extension, at most 30 days
REVIEW_DAYS = 30          # Art. 35–36: request window, and time to answer

NOTICE = "受理告知期限"
HANDLING = "办理期限"
REVIEW_WINDOW = "复查申请期限"
REVIEW_REPLY = "复查答复期限"
RECHECK_WINDOW = "复核申请期限"
RECHECK_REPLY = "复核答复期限"

_OPEN = frozenset(ENUMS["petition_status"]) - {"closed"}
_ANY = frozenset(ENUMS["petition_status"])
CORRECT = "correct"
# A 更正 may void neither of these (see the module docstring).
_NOT_VOIDABLE = frozenset({"register", CORRECT})
# Statuses whose case is no longer on this office's clock: closed or refused.
# Such a case is not open and never overdue. (上报 is not one: Art. 25.)
_NOT_OPEN = frozenset({"closed", "not_accepted"})
# Routing events whose ``served_on`` (the day the written notice was given) meets 受理告知.
_NOTICE_BY = frozenset({"forward", "accept", "reject"})
OPINION = "opinion"  # 处理方式: a 信访处理意见书 (Art. 31(6)), the only one with a 办理期限
COLLECTIVE_MAX = 5   # Art. 20: at most five representatives

# kind → (statuses it may follow, resulting status; None keeps the status).
_TRANSITIONS: dict[str, tuple[frozenset[str | None], str | None]] = {
    "register": (frozenset({None}), "registered"),
    "forward": (frozenset({"registered", "forwarded", "escalated"}), "forwarded"),
    "accept": (frozenset({"registered", "forwarded", "not_accepted", "escalated"}), "accepted"),
    "reject": (frozenset({"registered", "forwarded"}), "not_accepted"),
    "extend": (frozenset({"accepted"}), "accepted"),
    "reply": (frozenset({"registered", "forwarded", "accepted", "escalated"}), "replied"),
    "review_request": (frozenset({"replied"}), "under_review"),
    "review_opinion": (frozenset({"under_review"}), "reviewed"),
    "recheck_request": (frozenset({"reviewed"}), "under_recheck"),
    "recheck_opinion": (frozenset({"under_recheck"}), "closed"),
    "mediate": (_OPEN, None),
    "close": (_OPEN, "closed"),
    "escalate": (_OPEN - {"escalated"}, "escalated"),
    # A 更正 may follow any status (a wrong 办结 too); the fold decides what it leads to.
    CORRECT: (_ANY, None),
    "notify": (_OPEN, None),
    "serve": (frozenset({"replied", "reviewed", "closed"}), None),
    "hearing": (frozenset({"under_recheck"}), None),
}
assert set(_TRANSITIONS) == set(ENUMS["event_kind"])


def _status_label(status: str | None) -> str:
    return label("petition_status", status) if status else "未登记"


def _norm_status(status: str | None) -> str | None:
    if not status:
        return None
    if status not in ENUMS["petition_status"]:
        raise ValidationError(f"信访状态 {status} 无效")
    return status


def next_status(status: str | None, kind: str) -> str:
    """The status after an event of ``kind``; raise if it may not follow ``status``.

    ``status`` is ``None`` (or ``""``) before the first event. ``kind`` is an
    event_kind code (a Chinese label is accepted too). A 更正 (``correct``)
    keeps the status here: what it leads to is the fold's (:func:`fold_events`).
    """
    status = _norm_status(status)
    kind = parse_enum("event_kind", kind)
    sources, target = _TRANSITIONS[kind]
    if status not in sources:
        raise ValidationError(
            f"当前状态“{_status_label(status)}”不能登记“{label('event_kind', kind)}”",
            hint="可登记：" + ("、".join(label("event_kind", k) for k in allowed_kinds(status)) or "无"),
        )
    return target or status  # type: ignore[return-value]  # target None only for open statuses


def allowed_kinds(status: str | None) -> list[str]:
    """Event kinds that may follow ``status``, in the order of ``ENUMS["event_kind"]``."""
    status = _norm_status(status)
    return [kind for kind, (sources, _) in _TRANSITIONS.items() if status in sources]


def check_event(
    status: str | None,
    kind: str,
    *,
    extended: bool = False,
    state: "PetitionState | None" = None,
    values: Mapping[str, Any] | None = None,
) -> str:
    """Validate a new event before it is written; return the resulting status.

    Pass ``extended=state.extended`` so a second 延期 is refused (Art. 34
    allows one). A 更正 is checked by :func:`check_correction`, which needs
    the events: here it is refused. With ``state`` (the fold before it) and
    ``values`` (the event's parsed fields, ``at`` included), the rules of
    信访工作条例 on what a step must carry are checked too: a 受理 its 处理方式,
    a 答复 its outcome (Art. 32), a 延期 its days, approver and the day the
    petitioner was told, before the 办理期限 ends (Art. 34), a 听证 its days, and
    a 办结 a reply first (Art. 32–33; not for a matter without 处理意见书).
    """
    new = next_status(status, kind)
    code = parse_enum("event_kind", kind)
    if code == "extend" and (extended or (state is not None and state.extended)):
        raise ValidationError("办理期限已延期一次，不能再次延期", hint="信访工作条例第三十四条")
    if code == CORRECT:
        raise ValidationError("更正须指明要作废的环节", hint="用 --of 指定 petition show 中的序号或环节编号")
    if values is not None:
        _check_values(code, state, values)
    return new


def _check_values(code: str, state: "PetitionState | None", v: Mapping[str, Any]) -> None:
    at = _date_or_none(v.get("at"))
    if code == "accept" and not v.get("method"):
        allowed = "、".join(ENUMS["handling_method"].values())
        raise ValidationError("受理须写明处理方式", hint=f"可选：{allowed}（信访工作条例第二十九至三十一条）")
    if code == "reply" and not v.get("outcome"):
        raise ValidationError("答复须写明处理结果：支持、解释说明或不予支持", hint="信访工作条例第三十二条")
    if code == "extend":
        days = v.get("days")
        if days in (None, ""):
            raise ValidationError(f"延期须写明延长天数（1—{MAX_EXTENSION_DAYS} 日）", hint="信访工作条例第三十四条")
        if not 1 <= int(days) <= MAX_EXTENSION_DAYS:
            raise ValidationError(f"延长天数 {days} 超出范围：合计不得超过 {MAX_EXTENSION_DAYS} 日", hint="信访工作条例第三十四条")
        if not v.get("approver"):
            raise ValidationError("延期须经批准，请写明批准人", hint="信访工作条例第三十四条")
        if not v.get("served_on"):
            raise ValidationError("延期须告知信访人，请写明告知日期", hint="信访工作条例第三十四条")
        due = state.due(HANDLING) if state is not None else None
        if due is not None and at is not None and at > due:
            raise ValidationError(f"办理期限 {due.isoformat()} 已过，不能再延期", hint="信访工作条例第三十四条：延期须在期限内决定")
        if state is not None and due is None:
            raise ValidationError("本件没有办理期限（未出具信访处理意见书），无需延期")
    if code == "hearing" and v.get("days") in (None, ""):
        raise ValidationError("听证须写明所用天数（不计入复核期限）", hint="信访工作条例第三十六条")
    if (code == "close" and state is not None and state.accepted_on is not None and state.replied_on is None
            and state.method in (None, OPINION)):  # a matter not accepted closes on its written notice (Art. 22)
        raise ValidationError("尚未答复，不能办结", hint="先登记“答复”（信访工作条例第三十二条）")
    served = _date_or_none(v.get("served_on"))
    if served is not None and at is not None and served < at:
        raise ValidationError(f"送达/告知日期 {served.isoformat()} 早于环节日期 {at.isoformat()}")


def check_correction(events: list[dict[str, Any]], target_id: str) -> int:
    """Validate a new 更正 of the event ``target_id``; return the target's index in ``events``.

    ``events``: the petition's live events in history order, as
    :func:`fold_events` gives them (each with ``voided_by``). The target must be
    one of them, neither a 登记 nor a 更正, and not voided already.
    """
    for i, event in enumerate(events):
        if event.get("id") == target_id:
            break
    else:
        raise ValidationError(f"该信访件没有编号为 {target_id} 的办理环节", hint="序号和编号见 petition show 的办理记录")
    n, what = i + 1, label("event_kind", event.get("kind") or "") or "?"
    if event.get("kind") == "register":
        raise ValidationError("“登记”环节不能更正", hint="收到日期、信访人等登记内容有误，请用 petition edit 修改")
    if event.get("kind") == CORRECT:
        raise ValidationError("“更正”不能再更正", hint="如更正有误，请重新登记被作废的环节")
    if event.get("voided_by"):
        by = next((j + 1 for j, e in enumerate(events) if e.get("id") == event["voided_by"]), None)
        raise ValidationError(f"第{n}条“{what}”已被{f'第{by}条' if by else ''}更正作废")
    return i


# --------------------------------------------------------------------------- derived state


@dataclass(frozen=True)
class Deadline:
    """One legal deadline of a petition.

    ``window`` marks the petitioner's right to ask for 复查/复核: never overdue.
    """

    what: str
    due: _dt.date
    met_on: _dt.date | None = None
    overdue: bool = False
    window: bool = False
    # The organ one level up's limit (复查/复核答复, Arts. 35–36): never this office's overdue.
    upper: bool = False

    @property
    def counts(self) -> bool:
        """This office's duty: neither the petitioner's window nor the upper organ's limit."""
        return not self.window and not self.upper

    @property
    def late(self) -> bool:
        """Met, but after the due date."""
        return self.met_on is not None and self.met_on > self.due


@dataclass(frozen=True)
class PetitionState:
    """A petition's status and deadlines as of ``today``."""

    status: str | None
    received_on: _dt.date | None = None
    accepted_on: _dt.date | None = None
    replied_on: _dt.date | None = None
    closed_on: _dt.date | None = None
    outcome: str | None = None
    extended: bool = False
    deadlines: tuple[Deadline, ...] = ()
    anomalies: tuple[str, ...] = ()
    today: _dt.date = field(default_factory=_dt.date.today)
    # Added with 信访工作条例 (2022) (fields only added):
    method: str | None = None          # 处理方式 of the 受理 (None before one)
    extension_days: int = 0
    served_on: _dt.date | None = None  # the latest 送达 of a reply or opinion
    rechecked: bool = False            # closed by a 复核意见: not accepted again (Art. 36)
    repeat_of: str | None = None       # set by the caller: the earlier petition, closed by 复核

    def due(self, what: str) -> _dt.date | None:
        """The due date of the deadline named ``what``, if it is open."""
        return next((d.due for d in self.deadlines if d.what == what), None)

    @property
    def status_label(self) -> str:
        return _status_label(self.status)

    @property
    def is_open(self) -> bool:
        """Still being handled here: not closed, refused (不予受理) or handed up
        (上报). A petition with no event yet is open."""
        return self.status not in _NOT_OPEN

    @property
    def overdue(self) -> bool:
        """The petition's verdict: open and past a legal deadline. A closed,
        refused or escalated case is no longer this office's clock (its
        ``deadlines`` still show which passed unmet)."""
        return self.is_open and any(d.overdue for d in self.deadlines if d.counts)

    @property
    def next_due(self) -> Deadline | None:
        """The earliest deadline still running (unmet, not a lapsed window), if any."""
        if not self.is_open:
            return None
        running = [
            d for d in self.deadlines
            if d.met_on is None and not (d.window and d.due < self.today)
        ]
        return min(running, key=lambda d: d.due, default=None)


def _date_or_none(value: Any) -> _dt.date | None:
    if value in (None, ""):
        return None
    try:
        return _dt.date.fromisoformat(parse_date(value))
    except ValidationError:
        return None


class _Fold:
    """Mutable accumulator of :func:`derive`; frozen into a PetitionState at the end."""

    def __init__(self, received_on: _dt.date | None, *, notice: bool = True):
        self.notice = notice  # False: the name or address is unclear, no notice due (Art. 22)
        self.method: str | None = None
        self.served_on: _dt.date | None = None
        self.rechecked = False
        self.status: str | None = None
        self.received_on = received_on
        self.accepted_on: _dt.date | None = None
        self.replied_on: _dt.date | None = None
        self.closed_on: _dt.date | None = None
        self.outcome: str | None = None
        self.extended = False
        self.extension_days = 0
        self.slots: dict[str, list[Any]] = {}  # what → [due, met_on, window, upper]
        self.anomalies: list[str] = []
        if received_on is not None and notice:
            self.open(NOTICE, received_on, NOTICE_DAYS)

    def open(self, what: str, start: _dt.date, days: int, *, window: bool = False, upper: bool = False) -> None:
        due = start + _dt.timedelta(days=days)
        if window:  # the petitioner's period: 民法典 Art. 203
            due = _holidays.roll_forward(due)
        self.slots[what] = [due, None, window, upper]

    def meet(self, what: str, on: _dt.date) -> None:
        slot = self.slots.get(what)
        if slot is not None and slot[1] is None:
            slot[1] = on

    def apply(self, n: int, kind: str, at: _dt.date, event: dict[str, Any]) -> None:
        """Effects of a valid event (its transition already checked) on dates and deadlines."""
        served = _date_or_none(event.get("served_on"))
        if kind == "notify":
            self.meet(NOTICE, served or at)
        elif kind in _NOTICE_BY and served is not None:
            self.meet(NOTICE, served)
        if kind == "register" and self.received_on is None:
            self.received_on = at
            if self.notice:
                self.open(NOTICE, at, NOTICE_DAYS)
        elif kind == "accept":
            self.accepted_on = at
            self.method = self._method(n, event)
            if self.method == OPINION:
                self.open(HANDLING, at, HANDLING_DAYS + self.extension_days)
            else:  # Arts. 29–31(1)–(4): no 处理意见书, no 60 days
                self.slots.pop(HANDLING, None)
        elif kind == "extend":
            self._extend(n, at, event)
        elif kind == "reply":
            self.replied_on = at
            self.outcome = self._outcome(n, event)
            if self.outcome is None and not event.get("outcome"):
                self.anomalies.append(f"第{n}条事件：答复未写明处理结果（第三十二条）")
            self.meet(HANDLING, at)
            self.open(REVIEW_WINDOW, served or at, REVIEW_DAYS, window=True)
            self.served_on = served
        elif kind == "serve":
            self._serve(n, served or at)
        elif kind == "review_request":
            self._request(n, REVIEW_WINDOW, at)
            self.open(REVIEW_REPLY, at, REVIEW_DAYS, upper=True)
        elif kind == "review_opinion":
            self.meet(REVIEW_REPLY, at)
            self.open(RECHECK_WINDOW, served or at, REVIEW_DAYS, window=True)
            self.served_on = served
        elif kind == "recheck_request":
            self._request(n, RECHECK_WINDOW, at)
            self.open(RECHECK_REPLY, at, REVIEW_DAYS, upper=True)
        elif kind == "hearing":
            slot = self.slots.get(RECHECK_REPLY)
            days = self._days(n, event, "听证")
            if slot is not None and slot[1] is None and days:
                slot[0] += _dt.timedelta(days=days)  # Art. 36: the hearing's days are not counted
        elif kind in ("recheck_opinion", "close"):
            if kind == "close" and self.accepted_on is not None and self.replied_on is None and self.method in (None, OPINION):
                self.anomalies.append(f"第{n}条事件：办结前未登记答复（第三十二条）")
            self.closed_on = at
            self.rechecked = self.rechecked or kind == "recheck_opinion"
            for what in (HANDLING, REVIEW_REPLY, RECHECK_REPLY):
                self.meet(what, at)

    def _serve(self, n: int, on: _dt.date) -> None:
        """The written reply (or the opinion of a 复查) reached the petitioner: the window runs from here."""
        self.served_on = on
        if self.status == "replied":
            self.open(REVIEW_WINDOW, on, REVIEW_DAYS, window=True)
        elif self.status == "reviewed":
            self.open(RECHECK_WINDOW, on, REVIEW_DAYS, window=True)

    def _method(self, n: int, event: dict[str, Any]) -> str:
        if not event.get("method"):
            return OPINION  # a 受理 recorded before 处理方式 existed: tracked as before
        try:
            return parse_enum("handling_method", event["method"])
        except ValidationError:
            self.anomalies.append(f"第{n}条事件：处理方式 {event['method']} 无效，按出具信访处理意见书计")
            return OPINION

    def _days(self, n: int, event: dict[str, Any], what: str) -> int:
        try:
            days = int(event.get("days") or 0)
        except (TypeError, ValueError):
            days = 0
        if days < 0:
            self.anomalies.append(f"第{n}条事件：{what}天数 {days} 无效，不计")
            days = 0
        return days

    def _extend(self, n: int, at: _dt.date, event: dict[str, Any]) -> None:
        if self.extended:
            self.anomalies.append(f"第{n}条事件：办理期限已延期一次，再次延期不计")
            return
        try:
            days = int(event.get("days") or MAX_EXTENSION_DAYS)
        except (TypeError, ValueError):
            days = MAX_EXTENSION_DAYS
        if not 1 <= days <= MAX_EXTENSION_DAYS:
            self.anomalies.append(f"第{n}条事件：延期 {days} 日超出范围，按{MAX_EXTENSION_DAYS}日计")
            days = MAX_EXTENSION_DAYS
        slot = self.slots.get(HANDLING)
        if slot is not None and at > slot[0]:
            # Art. 34: an extension is decided within the limit; one entered after it
            # does not hide that the limit was missed.
            self.anomalies.append(f"第{n}条事件：延期登记于办理期限 {slot[0]} 之后，不计（期限已超）")
            return
        self.extended, self.extension_days = True, days
        if slot is not None:
            slot[0] += _dt.timedelta(days=days)

    def _outcome(self, n: int, event: dict[str, Any]) -> str | None:
        if not event.get("outcome"):
            return None
        try:
            return parse_enum("outcome", event["outcome"])
        except ValidationError:
            self.anomalies.append(f"第{n}条事件：答复结果 {event['outcome']} 无效")
            return None

    def _request(self, n: int, window: str, at: _dt.date) -> None:
        slot = self.slots.get(window)
        if slot is not None and at > slot[0]:
            self.anomalies.append(f"第{n}条事件：{window} {slot[0]} 已过")
        self.meet(window, at)

    def freeze(self, today: _dt.date) -> PetitionState:
        deadlines = tuple(
            Deadline(what, due, met_on, not window and not upper and met_on is None and today > due, window, upper)
            for what, (due, met_on, window, upper) in self.slots.items()
        )
        return PetitionState(
            status=self.status,
            received_on=self.received_on,
            accepted_on=self.accepted_on,
            replied_on=self.replied_on,
            closed_on=self.closed_on,
            outcome=self.outcome,
            extended=self.extended,
            deadlines=deadlines,
            anomalies=tuple(self.anomalies),
            today=today,
            method=self.method,
            extension_days=self.extension_days,
            served_on=self.served_on,
            rechecked=self.rechecked,
        )


class StoredEvent(Protocol):
    """A stored event as the stores read it (:class:`sync.engine.rowstate.RowState`)."""

    id: str
    values: dict[str, Any]
    clock: dict[str, str]


def creation_version(clock: Mapping[str, str]) -> str:
    """The version of the write that created a row: the lowest of its field
    versions (``""`` for a row never stored)."""
    return min((version for version in clock.values() if version), default="")


def _kind(event: Any) -> str | None:
    try:
        return parse_enum("event_kind", event.get("kind"))
    except (ValidationError, AttributeError):
        return None


def voided_events(events: Iterable[dict[str, Any]]) -> dict[str, int]:
    """``{id of a voided event: index of the first 更正 voiding it}`` over ``events``
    (one petition's, in history order). A 更正 voids the event its ``voids``
    names if that is among ``events`` and neither a 登记 nor a 更正: so the
    result depends on the set of events only (an index aside)."""
    events = list(events)
    kinds = {e["id"]: _kind(e) for e in events if isinstance(e, dict) and isinstance(e.get("id"), str)}
    out: dict[str, int] = {}
    for i, event in enumerate(events):
        if not isinstance(event, dict) or _kind(event) != CORRECT:
            continue
        target = event.get("voids")
        if isinstance(target, str) and target in kinds and kinds[target] not in _NOT_VOIDABLE and target not in out:
            out[target] = i
    return out


def fold_events(
    petition: dict[str, Any], events: Iterable[StoredEvent], *, today: _dt.date
) -> tuple[list[dict[str, Any]], PetitionState]:
    """The petition's live events in history order, and its state as of ``today``.

    ``events``: the petition's stored events in any order (tombstones are
    dropped here), as the stores read them — each with its ``id``, ``values``
    and per-field ``clock``. The order is :func:`creation_version`, then id
    (see the module docstring). Returns the events as records (``id`` and
    fields, as ``Store.select`` gives them, plus ``voided_by``: the id of the
    更正 that voids it, or None) in that order, and the fold of them by
    :func:`derive`.
    """
    live = [e for e in events if not e.values.get("deleted")]
    live.sort(key=lambda e: (creation_version(e.clock), e.id))
    ordered = [{"id": e.id, **e.values, "voided_by": None} for e in live]
    for target, i in voided_events(ordered).items():
        for e in ordered:
            if e["id"] == target:
                e["voided_by"] = ordered[i]["id"]
    return ordered, derive(petition, ordered, today=today)


def derive(
    petition: dict[str, Any], events: Iterable[dict[str, Any]], *, today: _dt.date
) -> PetitionState:
    """Fold ``events``, trusted to be in history order already, into the petition's state.

    Views call :func:`fold_events`, which puts stored events in that order
    first; this half is public for tests of the rules on plain values.
    Never raises on stored data: an event with an unknown kind, an
    unreadable date or a transition its status does not allow is skipped
    and noted in ``anomalies`` (events are numbered from 1, 更正 and voided
    events counted: the numbers of the history). A 更正 changes nothing
    itself; the event it voids (:func:`voided_events`) is left out.
    """
    events = list(events)
    voided = voided_events(events)
    fold = _Fold(_date_or_none(petition.get("received_on")), notice=not petition.get("address_unclear"))
    if petition.get("received_on") and fold.received_on is None:
        fold.anomalies.append(f"收件日期 {petition.get('received_on')} 无效")
    after_void = False  # an event voided before this one: its from_status may name a status voided since
    for n, event in enumerate(events, start=1):
        if not isinstance(event, dict):
            fold.anomalies.append(f"第{n}条事件：格式无效，已跳过")
            continue
        try:
            kind = parse_enum("event_kind", event.get("kind"))
        except ValidationError:
            fold.anomalies.append(f"第{n}条事件：类型 {event.get('kind')} 未知，已跳过")
            continue
        if kind == CORRECT:
            target = event.get("voids")
            if not (isinstance(target, str) and target in voided):
                fold.anomalies.append(f"第{n}条事件：更正所指的环节不在本信访件中或不能作废，已跳过")
            continue
        if isinstance(event.get("id"), str) and event["id"] in voided:
            after_void = True
            continue
        at = _date_or_none(event.get("at"))
        if at is None:
            fold.anomalies.append(f"第{n}条事件：日期 {event.get('at')} 无效，已跳过")
            continue
        sources, target = _TRANSITIONS[kind]
        if fold.status not in sources:
            fold.anomalies.append(
                f"第{n}条事件：当前状态“{_status_label(fold.status)}”不能登记"
                f"“{label('event_kind', kind)}”，已跳过"
            )
            continue
        base = event.get("from_status")
        base = str(base) if base else None
        if base is not None and base != fold.status and not after_void:
            fold.anomalies.append(
                f"第{n}条事件：基于状态“{_status_label(base)}”，"
                f"当时实为“{_status_label(fold.status)}”"
            )
        fold.apply(n, kind, at, event)
        fold.status = target or fold.status
    return fold.freeze(today)
