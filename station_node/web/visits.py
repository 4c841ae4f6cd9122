"""The station page's 走访慰问: log a visit or call from a veteran's file (the quick
form, posted with htmx), the list of visits by month, and the veterans not
contacted this calendar month (:mod:`station_node.contacts`).

A visit is written by :func:`station_node.records.add_visit`, as by
``station-node visit add``; the list reads :func:`station_node.records.visit_page`.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for

from station_node import contacts, records
from station_node.web import store
from sync.engine.errors import NotFound, ValidationError
from veterans import values as domain
from veterans.fields import display_value
from veterans.form import field_of_message
from veterans.labels import field_label

bp = Blueprint("visits", __name__, url_prefix="/visits")

PAGE_SIZE = 50
#: The fields of the quick form (besides the veteran).
QUICK_FIELDS = ("kind", "visited_on", "occasion", "visitors", "summary", "aid_cash", "aid_goods")


def _choices() -> dict[str, list[tuple[str, str]]]:
    return {"kind": list(domain.ENUMS["visit_kind"].items()), "occasion": list(domain.ENUMS["occasion"].items())}


def quick_context(vet: dict, visits: list[dict], *, form: dict | None = None, errors: dict | None = None,
                  saved: str | None = None) -> dict[str, Any]:
    """What ``visits/_quick.html`` shows: the veteran's visits and the quick form
    (its values, by default 电话, today, the clerk as visitor)."""
    defaults = {"kind": "phone", "visited_on": _dt.date.today().isoformat(), "visitors": g.get("user") or ""}
    return {"vet": vet, "visits": visits, "visit_form": form or defaults, "visit_errors": errors or {},
            "visit_saved": saved, "visit_choices": _choices(), "display": display_value}


def _visit_field(message: str) -> str:
    """The quick form's field a message of the record layer is about (or ``_general``)."""
    for name in sorted(QUICK_FIELDS, key=lambda n: -len(field_label("visits", n))):
        label = field_label("visits", name)
        if message.startswith((label, label.split("（")[0])):
            return name
    if message.startswith("走访日期"):
        return "visited_on"
    return "_general"


@bp.route("/add", methods=["POST"])
def add():
    st = store()
    try:
        vet = records.get_veteran(st, request.form.get("veteran_id") or "")
    except NotFound:
        abort(404)
    form = {name: (request.form.get(name) or "").strip() for name in QUICK_FIELDS}
    extra = {name: form[name] for name in ("occasion", "aid_cash", "aid_goods") if form[name]}
    htmx = bool(request.headers.get("HX-Request"))
    try:
        row = records.add_visit(st, vet["id"], form["kind"], date=form["visited_on"] or None,
                                visitors=form["visitors"] or None, summary=form["summary"] or None, fields=extra)
    except ValidationError as exc:
        errors = {_visit_field(str(exc)): str(exc)}
        if not htmx:
            flash(str(exc), "error")
            return redirect(url_for("veterans.show", veteran_id=vet["id"]) + "#visit-form")
        visits = list(records.visit_page(st, veteran_id=vet["id"]).rows)
        return render_template("visits/_quick.html", **quick_context(vet, visits, form=form, errors=errors)), 422
    saved = f"{row['visited_on']} {domain.label('visit_kind', row['kind'])}"
    if not htmx:
        flash(f"已登记走访：{saved}", "ok")
        return redirect(url_for("veterans.show", veteran_id=vet["id"]))
    visits = list(records.visit_page(st, veteran_id=vet["id"]).rows)
    return render_template("visits/_quick.html", **quick_context(vet, visits, saved=saved))


def _offset() -> int:
    try:
        return max(0, int(request.args.get("offset") or 0))
    except ValueError:
        return 0


def _pager(total: int, offset: int, keep: dict[str, str]) -> dict[str, Any]:
    keep = {k: v for k, v in keep.items() if v}
    return {"first": offset + 1 if total else 0, "last": min(offset + PAGE_SIZE, total), "total": total,
            "prev": {**keep, "offset": max(0, offset - PAGE_SIZE)} if offset > 0 else None,
            "next": {**keep, "offset": offset + PAGE_SIZE} if offset + PAGE_SIZE < total else None}


def _month_range(month: str) -> tuple[str, str]:
    first = _dt.date.fromisoformat(month + "-01")
    after = (first.replace(day=28) + _dt.timedelta(days=4)).replace(day=1)
    return first.isoformat(), (after - _dt.timedelta(days=1)).isoformat()


@bp.route("/")
def index():
    st = store()
    # This month unless another is asked for (``month=all``: every visit; counting all of a
    # county's visits takes long, and this month's are what a clerk looks at).
    raw_month = (request.args.get("month") if "month" in request.args else _dt.date.today().strftime("%Y-%m"))
    raw_month = (raw_month or "").strip()
    if raw_month.lower() in ("all", "全部"):
        raw_month = ""
    kind = (request.args.get("kind") or "").strip()
    offset = _offset()
    error = None
    month = None
    rows: list[dict] = []
    total = 0
    try:
        month = domain.parse_month(raw_month) if raw_month else None
        since, until = _month_range(month) if month else (None, None)
        page = records.visit_page(st, since=since, until=until, kind=kind or None, limit=PAGE_SIZE, offset=offset)
        rows, total = list(page.rows), page.total
    except ValidationError as exc:
        error = str(exc)
    names = records.veteran_names(st, (r.get("veteran_id") for r in rows))
    view = {"rows": rows, "names": names, "month": month or raw_month, "kind": kind, "error": error,
            "pager": _pager(total, offset, {"month": month or raw_month or "all", "kind": kind}),
            "kinds": list(domain.ENUMS["visit_kind"].items()), "display": display_value,
            "this_month": _dt.date.today().strftime("%Y-%m")}
    return render_template("visits/index.html", **view), (400 if error else 200)


@bp.route("/uncontacted")
def uncontacted():
    st = store()
    area = (request.args.get("area") or "").strip()
    offset = _offset()
    today = _dt.date.today()
    error = None
    rows: list = []
    total = 0
    try:
        page = contacts.uncontacted_page(st, area=area or None, today=today, limit=PAGE_SIZE, offset=offset)
        rows, total = list(page.rows), page.total
    except ValidationError as exc:
        error = str(exc)
    return render_template("visits/uncontacted.html", rows=rows, area=area, areas=contacts.areas_in_scope(st),
                           error=error, pager=_pager(total, offset, {"area": area}),
                           month=today.strftime("%Y年%m月").replace("年0", "年"),
                           since=contacts.month_start(today).isoformat()), (400 if error else 200)
