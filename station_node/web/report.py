"""The station page's 报表: the report of the station's scope (what
``station-node report`` prints, the county's figures for this town or
village), with the same three SVG charts as the dashboard, and its download as
.xlsx (what ``station-node report --out FILE.xlsx`` writes). Built once per
request by :func:`veterans.report.build_report`."""

from __future__ import annotations

import datetime as _dt

from flask import Blueprint, render_template, request

from station_node import web as station_web
from veterans.report import Report, build_report
from vetsync_web.charts import report_charts
from vetsync_web.reports import xlsx_response

bp = Blueprint("report", __name__, url_prefix="/report")


def _report() -> Report:
    """The station's report for ``?period=`` (a month, quarter, year or range; default: this
    month, as of today), petitions as of the period's end; ``?month=YYYY-MM`` links as before.
    Bad input is a 400 in one line."""
    store = station_web.store()
    today = _dt.date.today()
    period, month = request.args.get("period") or None, request.args.get("month") or None
    if month and not period:
        return build_report(store, store.meta("scope"), month=month, today=today)
    return build_report(store, store.meta("scope"), period=period or today, today=today)


@bp.route("/")
def index():
    rep = _report()
    return render_template("report_page.html", rep=rep, charts=report_charts(rep), heading="本站统计报表", show_stale=False)


@bp.route("/download")
def download():
    rep = _report()
    from sync.store.areas import area_names
    from veterans.places import place
    from vetsync_web.app import current_user

    store = station_web.store()
    station = store.meta("station") or ""
    office = f"{place(station, area_names(store, station[:6]))} 服务站"
    return xlsx_response(rep, f"统计报表-{rep.scope}-{rep.period.label}.xlsx", store=store, office=office,
                         by=current_user() or "")
