"""The dashboard's 报表: the county report per town and village (what
``county-hub report`` prints), with three charts drawn as SVG on the server
(:func:`vetsync_web.charts.report_charts`) and the .xlsx download (what
``county-hub report --out FILE.xlsx`` writes).

The report is built once per request by :func:`veterans.report.build_report`
(a handful of reads in one transaction, no query per row); the page and the
download each build their own.
"""

from __future__ import annotations

import datetime as _dt

from flask import Blueprint, render_template, request

from county_hub import web as hub_web
from veterans.report import Report, build_report
from vetsync_web.charts import report_charts
from vetsync_web.reports import xlsx_response

bp = Blueprint("report", __name__, url_prefix="/report")


def _report() -> Report:
    """The county's report for ``?period=`` (a month, quarter, year or range as the command
    line takes it; default: this month, as of today), petitions as of the period's end; the
    older ``?month=YYYY-MM`` links as before (as of today). Bad input is a 400 in one line."""
    page = hub_web.page()
    county = page.store.meta("county") or ""
    stations = [{"station": s["station"], "last_sync": s["last_sync"]} for s in page.registry.stations()]
    today = _dt.date.today()
    period, month = request.args.get("period") or None, request.args.get("month") or None
    if month and not period:
        return build_report(page.store, county, month=month, today=today, stations=stations)
    return build_report(page.store, county, period=period or today, today=today, stations=stations)


@bp.route("/")
def index():
    from sync.store import report_archive
    from veterans.report import compare, report_from_dict

    rep = _report()
    archived = report_archive.latest(hub_web.page().store, rep.scope, rep.period.label)
    changes, shown = [], rep
    if archived is not None:  # a submitted period: the figures as submitted, the changes since beside them
        changes, shown = compare(archived.report, rep), report_from_dict(archived.report)
    return render_template("report_page.html", rep=shown, charts=report_charts(shown), heading="全县统计报表",
                           show_stale=True, archived=archived.meta() if archived else None, changes=changes)


@bp.route("/download")
def download():
    rep = _report()
    from sync.store.areas import area_names
    from vetsync_web.app import current_user

    store = hub_web.page().store
    office = f"{area_names(store, rep.scope).get(rep.scope) or rep.scope}退役军人服务中心"
    return xlsx_response(rep, f"统计报表-{rep.scope}-{rep.period.label}.xlsx", store=store, office=office,
                         by=current_user() or "", stale=True)
