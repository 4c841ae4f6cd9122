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
    """The county's report for ``?month=YYYY-MM`` (default: this month); a bad month is a 400 in one line."""
    page = hub_web.page()
    county = page.store.meta("county") or ""
    stations = [{"station": s["station"], "last_sync": s["last_sync"]} for s in page.registry.stations()]
    return build_report(page.store, county, month=request.args.get("month") or None, today=_dt.date.today(),
                        stations=stations)


@bp.route("/")
def index():
    rep = _report()
    return render_template("report_page.html", rep=rep, charts=report_charts(rep), heading="全县统计报表", show_stale=True)


@bp.route("/download")
def download():
    rep = _report()
    return xlsx_response(rep, f"统计报表-{rep.scope}-{rep.month}.xlsx")
