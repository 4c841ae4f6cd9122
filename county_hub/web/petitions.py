"""The dashboard's 信访: the petitions overdue and those due within 7 days,
county-wide, most urgent first — the longest overdue, then the nearest due —
with their area, petitioner, received date and the legal deadline missed or near.

Each petition's state is the fold every petition view uses
(:func:`veterans.petition.fold_events`, as of today); the petitions and their
events are read once per request (:func:`sync.store.dashboard_reads.petitions_with_events`).
A deadline that is the petitioner's window (复查/复核申请期限) is not the office's clock
and never listed. The 复查/复核 answer limits belong to the organ one level up
(信访工作条例 Arts. 35–36, ``Deadline.upper``): a petition whose only deadline is one of
them is listed after this office's, labelled 上级机关期限, and counted in neither of
this office's figures (超期, 7 天内到期). A petition whose earlier one of the same matter
was closed by 复核 is tagged (Art. 36, as every petition view). A 检举控告类
(confidential) petition shows no petitioner's name.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

from flask import Blueprint, render_template, request

from county_hub import web as hub_web
from sync.store import dashboard_reads
from veterans.petition import fold_events
from vetsync_cli.petition_view import UPPER
from vetsync_cli.record_views import REPEAT_TAG, flag_repeat, rechecked

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
    upper: bool = False              # the upper organ's limit (Arts. 35–36), not this office's
    repeat_of: str | None = None     # the earlier petition of the same matter, closed by 复核 (Art. 36)

    @property
    def overdue(self) -> bool:
        """This office's deadline missed (never an upper organ's)."""
        return self.days < 0 and not self.upper


def _deadline(state, today: _dt.date, soon_days: int):
    """The deadline a petition is listed for, or None: this office's earliest missed one,
    else its nearest within ``soon_days``; only then an upper organ's, missed or near."""
    unmet = [d for d in state.deadlines if d.met_on is None and not d.window]
    for mine in (True, False):
        own = [d for d in unmet if d.counts == mine]
        missed = [d for d in own if (d.overdue if mine else d.due < today)]
        if missed:
            return min(missed, key=lambda d: d.due)
        near = min((d for d in own if d.due >= today), key=lambda d: d.due, default=None)
        if near is not None and (near.due - today).days <= soon_days:
            return near
    return None


def due_rows(store, scope: str, today: _dt.date, *, soon_days: int = SOON_DAYS) -> list[DueRow]:
    """The open petitions of ``scope`` past a deadline, or with one within ``soon_days``,
    most urgent first, this office's before the upper organ's."""
    found = []
    for petition, events in dashboard_reads.petitions_with_events(store, scope):
        _, state = fold_events(petition, events, today=today)
        if not state.is_open:
            continue
        deadline = _deadline(state, today, soon_days)
        if deadline is not None:
            found.append((petition, state, deadline))
    closed = rechecked(store, (p.get("linked_to") for p, _, _ in found), today)  # Art. 36
    out = []
    for petition, state, deadline in found:
        state = flag_repeat(petition, state, closed)
        out.append(DueRow(
            id=petition["id"], area=petition.get("area") or "",
            petitioner=CONFIDENTIAL if petition.get("confidential") else (petition.get("petitioner") or ""),
            received_on=str(petition.get("received_on") or ""), petition_class=petition.get("class"),
            status_label=state.status_label, what=deadline.what, due=deadline.due, days=(deadline.due - today).days,
            upper=deadline.upper, repeat_of=state.repeat_of,
        ))
    out.sort(key=lambda r: (r.upper, r.days, r.received_on, r.id))
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
    soon = [r for r in rows if not r.overdue and not r.upper]
    upper = [r for r in rows if r.upper]
    return render_template("petitions/index.html", rows=rows, overdue=overdue, soon=soon, upper=upper, today=today,
                           area=area, scope=scope, county=county, soon_days=SOON_DAYS, upper_label=UPPER,
                           repeat_tag=REPEAT_TAG)
