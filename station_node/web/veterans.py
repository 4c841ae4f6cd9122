"""The station page's 退役军人: the list (search as you type, filters, pages), a
veteran's whole file (with its visits, petitions, open conflicts and per-field
history), and the 建档立卡 form for a new record or changes.

The views call what ``station-node veteran list/show/add/edit`` call
(:func:`station_node.records.veteran_page`, ``veteran_file``, ``add_veteran``,
``edit_veteran``); the form is checked field by field by :mod:`veterans.form`,
over the same validators. Nothing is written until every field is valid.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from station_node import contacts, records, triggers
from station_node.web import store
from station_node.web.visits import quick_context
from sync.engine.errors import NotFound, ValidationError
from sync.store.areas import area_names
from veterans import form as vform
from veterans import values as domain
from veterans.fields import display_value
from veterans.find import mask_id_number
from veterans.labels import field_label
from veterans.resolve import version_time

bp = Blueprint("veterans", __name__, url_prefix="/veterans")

#: Rows per page of the list.
PAGE_SIZE = 50


def _htmx_fragment() -> bool:
    """An htmx request for a part of the page (not a history restore, which needs the whole)."""
    return bool(request.headers.get("HX-Request")) and not request.headers.get("HX-History-Restore-Request")


def _offset() -> int:
    try:
        return max(0, int(request.args.get("offset") or 0))
    except ValueError:
        return 0


def _filters() -> dict[str, str]:
    return {k: (request.args.get(k) or "").strip() for k in ("q", "area", "category", "status")}


def _pages(total: int, offset: int, size: int, args: dict[str, str]) -> dict[str, Any]:
    """The pager: where this page starts and ends, the previous and next pages' arguments."""
    keep = {k: v for k, v in args.items() if v}
    return {
        "first": offset + 1 if total else 0,
        "last": min(offset + size, total),
        "total": total,
        "prev": {**keep, "offset": max(0, offset - size)} if offset > 0 else None,
        "next": {**keep, "offset": offset + size} if offset + size < total else None,
    }


@bp.route("/")
def index():
    st = store()
    args = _filters()
    offset = _offset()
    error = None
    try:
        page = records.veteran_page(st, area=args["area"] or None, search=args["q"] or None,
                                    category=args["category"] or None, status=args["status"] or None,
                                    limit=PAGE_SIZE, offset=offset)
        rows = list(page.rows)
        total = page.total
    except ValidationError as exc:
        rows, total, error = [], 0, str(exc)
    view = {"rows": rows, "pager": _pages(total, offset, PAGE_SIZE, args), "args": args, "error": error,
            "mask": mask_id_number, "last_visits": contacts.last_visits(st, [r["id"] for r in rows])}
    status = 400 if error else 200
    if _htmx_fragment():
        return render_template("veterans/_results.html", **view), status
    return render_template("veterans/index.html", **view, areas=contacts.areas_in_scope(st),
                           categories=vform.choices("category"), statuses=vform.choices("status")), status


def _veteran(veteran_id: str) -> dict:
    try:
        return records.get_veteran(store(), veteran_id)
    except NotFound:
        abort(404)


def _history(veteran_id: str) -> list[dict]:
    """Per field of the file: when it was last written here or by another station, and
    whether the change still waits for the next sync."""
    loaded = store().load("veterans", veteran_id)
    if loaded is None:
        return []
    state, pending = loaded
    out = []
    for name in vform.FORM_FIELDS:
        version = state.clock.get(name)
        if not version:
            continue
        out.append({"field": name, "label": field_label("veterans", name), "at": version_time(version),
                    "version": version, "pending": name in (pending or {}),
                    "value": display_value("veterans", name, state.values.get(name))})
    out.sort(key=lambda h: h["version"], reverse=True)
    return out


@bp.route("/<veteran_id>")
def show(veteran_id: str):
    st = store()
    _veteran(veteran_id)
    file = records.veteran_file(st, veteran_id)
    return render_template("veterans/show.html", file=file, sections=vform.SECTIONS,
                           history=_history(file.veteran["id"]), today=_dt.date.today(),
                           trigger_kinds=list(domain.ENUMS["trigger_kind"].items()),
                           **quick_context(file.veteran, file.visits))


# --------------------------------------------------------------------------- the 建档立卡 form


def _form_view(values: dict[str, Any], errors: dict[str, str], general: list[str], *, vet: dict | None):
    st = store()
    # the villages on file here, and those of the county's area list in the scope (once pulled)
    listed = [code for code in area_names(st, records.station_scope(st)) if len(code) == 12]
    areas = sorted({*contacts.areas_in_scope(st), *listed})
    own = records.default_area(st)
    return {"values": values, "errors": errors, "general": general, "vet": vet, "sections": vform.SECTIONS,
            "choices": {name: vform.choices(name) for name in vform.FORM_FIELDS}, "areas": areas,
            "own_area": own, "long_text": vform.LONG_TEXT, "required": vform.REQUIRED,
            "scope": records.station_scope(st)}


def _posted() -> dict[str, str]:
    data = {name: request.form.get(name, "") for name in vform.FORM_FIELDS if name in request.form}
    for name in vform.MULTI:  # checkboxes: one value each checked box; the hidden marker says the group was shown
        if name in request.form or f"{name}_shown" in request.form:
            data[name] = ",".join(v for v in request.form.getlist(name) if v)
    other = (request.form.get("area_other") or "").strip()
    if other:  # a village not yet on file here, typed by its code
        data["area"] = other
    return data


def _shown(name: str, value: Any) -> str:
    """A stored value as the form shows it: an enum's code (the select), other values as text."""
    if value is None:
        return ""
    return str(value) if vform.choices(name) else display_value("veterans", name, value)


@bp.route("/new", methods=["GET", "POST"])
def new():
    st = store()
    if request.method == "GET":
        values = {"area": records.default_area(st) or "", "status": "active"}
        return render_template("veterans/form.html", **_form_view(values, {}, [], vet=None))
    data = _posted()
    checked = vform.check_form(data, scope=records.station_scope(st))
    if checked.ok:
        try:
            row = records.add_veteran(st, {k: v for k, v in checked.values.items() if v is not None})
        except ValidationError as exc:
            checked.refuse(exc)
        else:
            flash(f"已建档：{row.get('name') or ''}", "ok")
            return redirect(url_for("veterans.show", veteran_id=row["id"]))
    return render_template("veterans/form.html", **_form_view(data, checked.errors, checked.general, vet=None)), 422


@bp.route("/<veteran_id>/edit", methods=["GET", "POST"])
def edit(veteran_id: str):
    st = store()
    vet = _veteran(veteran_id)
    if request.method == "GET":
        values = {name: _shown(name, vet.get(name)) for name in vform.FORM_FIELDS}
        return render_template("veterans/form.html", **_form_view(values, {}, [], vet=vet))
    data = _posted()
    checked = vform.check_form(data, scope=records.station_scope(st), current=vet)
    if checked.ok and not checked.values:
        flash("没有修改任何字段", "ok")
        return redirect(url_for("veterans.show", veteran_id=vet["id"]))
    if checked.ok:
        try:
            row = records.edit_veteran(st, vet["id"], checked.values)
        except ValidationError as exc:
            checked.refuse(exc)
        else:
            changed = "、".join(field_label("veterans", n) for n in checked.values)
            flash(f"已修改 {row.get('name') or ''} 的档案：{changed}", "ok")
            return redirect(url_for("veterans.show", veteran_id=row["id"]))
    return render_template("veterans/form.html", **_form_view(data, checked.errors, checked.general, vet=vet)), 422


@bp.route("/<veteran_id>/triggers", methods=["POST"])
def add_trigger(veteran_id: str):
    """The file's small 登记必访事项 form: what ``station-node trigger add`` writes
    (:func:`station_node.triggers.add_trigger`, the hub's rules); refused with its one line."""
    st = store()
    vet = _veteran(veteran_id)
    fields = {name: (request.form.get(name) or "").strip() for name in ("kind", "occurred_on", "due_by", "note")}
    try:
        row = triggers.add_trigger(st, vet["id"], {k: v for k, v in fields.items() if v})
    except ValidationError as exc:
        flash(f"必访事项未登记：{exc}", "error")
    else:
        flash(f"已登记必访事项：{row['occurred_on']} {domain.label('trigger_kind', row['kind'])}", "ok")
    return redirect(url_for("veterans.show", veteran_id=vet["id"]) + "#veteran-triggers")


@bp.route("/check", methods=["POST"])
def check():
    """One field of the form as typed (``field`` names it): its message or nothing;
    for the ID number also the birth date and gender it gives (swapped in out of band)."""
    name = request.form.get("field") or ""
    if name not in vform.FORM_FIELDS:
        abort(400)
    text = ",".join(request.form.getlist(name)) if name in vform.MULTI else request.form.get(name, "")
    if name == "area" and (request.form.get("area_other") or "").strip():
        text = request.form["area_other"]
    checked = vform.check_field(name, text, scope=records.station_scope(store()), required=name in vform.REQUIRED)
    derived = checked.derived  # the ID number decides both: a contradiction would be refused
    error = checked.error
    if name == "area" and error is None and checked.value:
        try:  # on the county's area list, once the station holds one (what saving would refuse)
            records.check_listed_area(store(), checked.value)
        except ValidationError as exc:
            error = str(exc)
    if name == "soldier_id" and error is None and checked.value and records.soldier_of(store(), checked.value) is None:
        error = f"关联军人 {checked.value} 不是本站的退役军人档案"  # what saving would refuse
    return render_template("veterans/_check.html", name=name, error=error, derived=derived,
                           choices=vform.choices("gender"))

