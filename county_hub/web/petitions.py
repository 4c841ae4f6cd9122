"""The dashboard's 信访: the petitions overdue and those due within 7 days,
county-wide, most urgent first — the longest overdue, then the nearest due —
with their area, petitioner, received date and the legal deadline missed or near.

Each petition's state is the fold every petition view uses
(:func:`veterans.petition.fold_events`, as of today); the petitions and their
events are read once per request (:func:`sync.store.dashboard_reads.petitions_with_events`).
A deadline that is the petitioner's window (复查/复核申请期限) is not the office's clock
and never listed. A 检举控告类 (confidential) petition shows no petitioner's name.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

from flask import Blueprint, render_template, request

from county_hub import web as hub_web
from sync.store import dashboard_reads
from veterans.petition import fold_events

bp = Blueprint("petitions", __name__, url_prefix="/petitions")

#: A deadline this many days away or nearer is listed as due soon.
SOON_DAYS = 7
CONFIDENTIAL = "（保密）"


@dataclass(frozen=True)
class DueRow:
    """One petition of the list: ``days`` to its deadline ``what`` on ``due`` (negative: overdue by so many)."""

    id: str
    area: str
    petitioner: str
    received_on: str
    petition_class: str | None
    status_label: str
    what: str
    due: _dt.date
    days: int

    @property
    def overdue(self) -> bool:
        return self.days < 0


def due_rows(store, scope: str, today: _dt.date, *, soon_days: int = SOON_DAYS) -> list[DueRow]:
    """The open petitions of ``scope`` past a deadline, or with one within ``soon_days``, most urgent first."""
    out = []
    for petition, events in dashboard_reads.petitions_with_events(store, scope):
        _, state = fold_events(petition, events, today=today)
        if not state.is_open:
            continue
        missed = [d for d in state.deadlines if d.overdue and d.met_on is None and not d.window]
        if state.overdue and missed:
            deadline = min(missed, key=lambda d: d.due)
        else:
            running = [d for d in state.deadlines if d.met_on is None and not d.window and d.due >= today]
            deadline = min(running, key=lambda d: d.due, default=None)
            if deadline is None or (deadline.due - today).days > soon_days:
                continue
        out.append(DueRow(
            id=petition["id"], area=petition.get("area") or "",
            petitioner=CONFIDENTIAL if petition.get("confidential") else (petition.get("petitioner") or ""),
            received_on=str(petition.get("received_on") or ""), petition_class=petition.get("class"),
            status_label=state.status_label, what=deadline.what, due=deadline.due, days=(deadline.due - today).days,
        ))
    out.sort(key=lambda r: (r.days, r.received_on, r.id))
    return out


@bp.route("/")
def index():
    page = hub_web.page()
    county = page.store.meta("county") or ""
    area = (request.args.get("area") or "").strip()
    scope = area if area.isdigit() and area.startswith(county) else county
    today = _dt.date.today()
    rows = due_rows(page.store, scope, today)
    overdue = [r for r in rows if r.overdue]
    soon = [r for r in rows if not r.overdue]
    return render_template("petitions/index.html", rows=rows, overdue=overdue, soon=soon, today=today,
                           area=area, scope=scope, county=county, soon_days=SOON_DAYS)
