"""The station page's 信访: the list (overdue only, class, channel; paged),
registering a petition, and one petition's page — its event timeline, the
derived status, every deadline as a countdown (overdue in red), and a form
offering only the events the law allows next.

The same calls as ``station-node petition`` (:mod:`station_node.cli_records`):
:func:`station_node.records.petition_page`, ``open_petition``,
``petition_detail`` and ``add_petition_event``; the allowed next events are
:func:`veterans.petition.allowed_kinds` of the derived status (a 更正 is made
from the correction form, a second 延期 is never offered). A refused event shows
its Chinese message and writes nothing (the records module validates before
writing). The timeline's texts are the CLI's (``petition show``).
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from werkzeug.routing import BuildError

from station_node import records
from station_node.cli_common import deadline_text, timeline_rows
from station_node.web import store
from sync.engine.errors import NotFound, ValidationError, VetsyncError
from sync.engine.schema import TABLES
from sync.store.areas import area_names
from veterans import petition as rules
from veterans.fields import display_value, field_label
from veterans.places import place
from veterans.values import ENUMS, label
from vetsync_web.text import error_text

__all__ = ["bp", "PAGE_SIZE", "next_events", "REPLY_KINDS", "EVENT_FIELDS"]

bp = Blueprint("petitions", __name__, url_prefix="/petitions")

PAGE_SIZE = 50
#: Event kinds that carry an outcome (答复意见), as ``records.add_petition_event`` has them.
REPLY_KINDS = frozenset({"reply", "review_opinion", "recheck_opinion"})
#: Kinds never offered by the event form: 登记 is the petition itself, 更正 needs the event it voids.
_NOT_OFFERED = frozenset({"register", rules.CORRECT})
#: The petition's fields in its file, in this order (the rest follow).
_FILE_FIELDS = ("petitioner", "contact", "area", "channel", "class", "received_on", "group_size", "handler",
                "confidential", "station")


#: The fields the event form offers beside 日期/经办人/说明, by kind (信访工作条例 2022):
#: 处理方式 on a 受理, days on a 延期 or 听证, the approver of a 延期, and the day a written
#: notice or reply reached the petitioner (``served_on``).
EVENT_FIELDS: dict[str, tuple[str, ...]] = {
    "accept": ("method", "served_on"),
    "forward": ("served_on",),
    "reject": ("served_on",),
    "extend": ("days", "approver", "served_on"),
    "reply": ("served_on",),
    "review_opinion": ("served_on",),
    "hearing": ("days",),
}
_SERVED_TEXT = {
    "extend": ("告知信访人日期", "延期须告知信访人（第三十四条）"),
    "reply": ("送达日期", "信访人收到书面答复之日；复查申请期限从此日起算（第三十五条）"),
    "review_opinion": ("送达日期", "信访人收到复查意见之日；复核申请期限从此日起算（第三十六条）"),
}
_NOTICE_TEXT = ("书面告知日期", "书面告知信访人之日：满足 15 日告知期限（第二十二、二十三条）")
_EVENT_FORM_FIELDS = ("kind", "at", "outcome", "actor", "note", "method", "days", "approver", "served_on")


def _fragment_args(kind: str) -> dict:
    """What ``_outcome.html`` needs for ``kind``: which fields and their labels."""
    served_label, served_note = _SERVED_TEXT.get(kind, _NOTICE_TEXT)
    return {"event_fields": EVENT_FIELDS.get(kind, ()), "methods": _enum_options("handling_method"),
            "served_label": served_label, "served_note": served_note}


def _enum_options(enum: str) -> list[tuple[str, str]]:
    return [(code, label(enum, code)) for code in ENUMS[enum]]


def next_events(state: rules.PetitionState) -> list[tuple[str, str]]:
    """(code, label) of the events that may be recorded next, in the law's order:
    :func:`veterans.petition.allowed_kinds` of the derived status, without 登记 and
    更正, without 延期 once extended or outside a running 办理期限 (信访工作条例第三十四条),
    and without 办结 before a 答复 where one is due (第三十二条) — what
    :func:`veterans.petition.check_event` would refuse."""
    kinds = [k for k in rules.allowed_kinds(state.status) if k not in _NOT_OFFERED]
    handling = state.due(rules.HANDLING)
    if state.extended or handling is None or state.today > handling:
        # once only, and only within a running 办理期限 (Art. 34)
        kinds = [k for k in kinds if k != "extend"]
    if state.replied_on is None and state.method in (None, rules.OPINION):
        kinds = [k for k in kinds if k != "close"]  # 办结 after a 答复 (Art. 32)
    return [(k, label("event_kind", k)) for k in kinds]


# --------------------------------------------------------------------------- the list


@dataclass
class _Row:
    pet: dict
    state: rules.PetitionState
    number: int

    @property
    def next_due(self) -> rules.Deadline | None:
        return self.state.next_due

    @property
    def days_left(self) -> int | None:
        d = self.next_due
        return None if d is None else (d.due - self.state.today).days


def _page_number(raw: str | None) -> int:
    try:
        return max(1, int(raw or 1))
    except ValueError:
        return 1


@bp.route("/")
def index():
    overdue = request.args.get("overdue") == "1"
    class_ = (request.args.get("class") or "").strip()
    channel = (request.args.get("channel") or "").strip()
    number = _page_number(request.args.get("page"))
    error, rows, total = None, [], 0
    try:
        page = records.petition_page(store(), overdue=overdue, class_=class_ or None, channel=channel or None,
                                     limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE)
        rows = [_Row(p, s, page.first_number + i) for i, (p, s) in enumerate(page.rows)]
        total = page.total
    except VetsyncError as exc:
        error = error_text(exc)
    pages = max(1, -(-total // PAGE_SIZE))
    args = {k: v for k, v in (("overdue", "1" if overdue else None), ("class", class_), ("channel", channel)) if v}
    template = "petitions/_list.html" if request.headers.get("HX-Request") else "petitions/index.html"
    return render_template(template, rows=rows, total=total, number=number, pages=pages, args=args,
                           overdue=overdue, class_=class_, channel=channel, error=error,
                           classes=_enum_options("petition_class"), channels=_enum_options("channel")), \
        (400 if error else 200)


# --------------------------------------------------------------------------- registering


#: The petition's fields of 信访工作条例 (2022) the form offers as they are (Arts. 20, 21, 22, 36, 41).
_LAW_FIELDS = ("case_no", "domain", "respondent", "group_size", "representatives", "linked_to")
_LAW_FLAGS = ("collective", "address_unclear")


def _form_defaults() -> dict[str, str]:
    return {"veteran": "", "petitioner": "", "contact": "", "area": records.default_area(store()) or "",
            "channel": "", "class": "", "received": _dt.date.today().isoformat(), "summary": "",
            **{k: "" for k in (*_LAW_FIELDS, *_LAW_FLAGS)}}


def _new_form(values: dict[str, str], vet: dict | None, error: str | None, status: int = 200):
    return render_template("petitions/new.html", values=values, vet=vet, error=error,
                           classes=_enum_options("petition_class"), channels=_enum_options("channel"),
                           scope=records.station_scope(store())), status


@bp.route("/new", methods=["GET", "POST"])
def new():
    values = _form_defaults()
    if request.method == "GET":
        vet = None
        if request.args.get("veteran"):
            try:
                vet = records.get_veteran(store(), request.args["veteran"])
            except NotFound:
                return _new_form(values, None, "找不到这名退役军人，可不关联，或填写姓名、身份证号", 404)
            values["veteran"] = vet["id"]
            values["area"] = vet.get("area") or values["area"]
        return _new_form(values, vet, None)
    values.update({k: (request.form.get(k) or "").strip() for k in values})
    values["summary"] = (request.form.get("summary") or "").strip()
    vet = None
    try:
        if values["veteran"]:
            vet = records.find_veteran(store(), values["veteran"])
        extra = {k: values[k] for k in ("contact", *_LAW_FIELDS) if values[k]}
        extra.update({k: 1 for k in _LAW_FLAGS if values[k]})
        pet = records.open_petition(
            store(), channel=values["channel"], summary=values["summary"], veteran_id=vet["id"] if vet else None,
            received=values["received"] or None, petitioner=values["petitioner"] or None,
            area=None if vet is not None else (values["area"] or records.default_area(store())),
            class_=values["class"] or None, fields=extra,
        )
    except VetsyncError as exc:
        return _new_form(values, vet, error_text(exc), 400)
    flash(f"已登记信访件：{pet.get('petitioner') or ''}（{label('channel', pet.get('channel') or '')}）", "ok")
    return redirect(url_for("petitions.show", petition_id=pet["id"]))


# --------------------------------------------------------------------------- one petition


@dataclass(frozen=True)
class _Countdown:
    """A deadline as the page shows it: 期限, 到期日, the countdown and 情况."""

    what: str
    due: str
    countdown: str
    text: str
    overdue: bool
    window: bool
    met: bool
    upper: bool = False  # the organ one level up's limit (Arts. 35–36)


def _countdowns(state: rules.PetitionState) -> list[_Countdown]:
    from vetsync_web.text import days_text

    out = []
    for d in state.deadlines:
        days = (d.due - state.today).days
        if d.met_on is not None:
            countdown = "—"
        elif d.window:
            countdown = days_text(days) if days >= 0 else "已过"
        elif not state.is_open:
            countdown = "—"  # no longer this office's clock
        else:
            countdown = days_text(days)
        out.append(_Countdown(d.what, d.due.isoformat(), countdown, deadline_text(d), d.overdue, d.window,
                              d.met_on is not None, d.upper))
    return out


def _file_rows(pet: dict) -> list[tuple[str, str]]:
    names = [n for n in _FILE_FIELDS if n in pet] + [
        f.name for f in TABLES["petitions"].fields
        if f.name not in _FILE_FIELDS and f.name not in ("id", "deleted", "veteran_id", "summary") and f.name in pet]
    return [(field_label("petitions", n), display_value("petitions", n, pet.get(n)) or "—") for n in names]


def _veteran_link(veteran_id: str | None) -> str | None:
    """The veteran's page (the 退役军人 part's ``veterans.show``)."""
    if not veteran_id:
        return None
    try:
        return url_for("veterans.show", veteran_id=veteran_id)
    except BuildError:
        return None


def _detail(petition_id: str) -> tuple[dict, list[dict], rules.PetitionState]:
    try:
        return records.petition_detail(store(), petition_id)
    except NotFound:
        abort(404)


def _show(petition_id: str, *, error: str | None = None, form: dict[str, str] | None = None, status: int = 200):
    pet, events, state = _detail(petition_id)
    allowed = next_events(state)
    form = form or {}
    kind = form.get("kind") or (allowed[0][0] if allowed else "")
    vet_name = None
    if pet.get("veteran_id"):
        vet_name = records.veteran_names(store(), [pet["veteran_id"]]).get(pet["veteran_id"])
    return render_template(
        "petitions/show.html", pet=pet, state=state, timeline=timeline_rows(events), deadlines=_countdowns(state),
        file_rows=_file_rows({**pet, "area": place(pet.get("area"), area_names(store()))} if pet.get("area") else pet),
        allowed=allowed, kind=kind, error=error,
        form={"at": _dt.date.today().isoformat(), "actor": g.get("user") or "", "note": "", "outcome": "",
              "method": "", "days": "", "approver": "", "served_on": "", **form},
        outcomes=_enum_options("outcome"), reply_kinds=REPLY_KINDS, vet_name=vet_name,
        vet_link=_veteran_link(pet.get("veteran_id")), **_fragment_args(kind),
    ), status


@bp.route("/<petition_id>")
def show(petition_id: str):
    return _show(petition_id)


@bp.route("/<petition_id>/outcome")
def outcome_field(petition_id: str):
    """The fields that go with the kind chosen (htmx): the outcome of a reply kind,
    the 处理方式 of a 受理, the days/approver of a 延期, the 送达/告知 date (:data:`EVENT_FIELDS`)."""
    kind = request.args.get("kind") or ""
    form = {k: request.args.get(k) or "" for k in _EVENT_FORM_FIELDS}
    return render_template("petitions/_outcome.html", kind=kind, reply_kinds=REPLY_KINDS,
                           outcomes=_enum_options("outcome"), form=form, **_fragment_args(kind))


@bp.route("/<petition_id>/events", methods=["POST"])
def add_event(petition_id: str):
    pet, _, state = _detail(petition_id)
    form = {k: (request.form.get(k) or "").strip() for k in _EVENT_FORM_FIELDS}
    try:
        if not form["kind"]:
            raise ValidationError("请选择办理环节")
        # Only the fields the chosen kind offers (a field left from another kind is not sent on).
        offered = EVENT_FIELDS.get(form["kind"], ())
        extra = {k: form[k] or None for k in ("method", "days", "approver", "served_on") if k in offered}
        event, after = records.add_petition_event(
            store(), pet["id"], form["kind"], note=form["note"] or None, at=form["at"] or None,
            outcome=form["outcome"] or None, actor=form["actor"] or None, **extra,
        )
    except VetsyncError as exc:
        return _show(petition_id, error=error_text(exc), form=form, status=400)
    flash(f"已登记“{label('event_kind', event['kind'])}”，当前状态：{after.status_label}", "ok")
    return redirect(url_for("petitions.show", petition_id=pet["id"]))
