"""The station page's 报表: the report of the station's scope (what
``station-node report`` prints, the county's figures for this town or
village), with the same three SVG charts as the dashboard, and its download as
.xlsx (what ``station-node report --out FILE.xlsx`` writes). Built once per
request by :func:`veterans.report.build_report`."""

from __future__ import annotations

import datetime as _dt
import io
import tempfile
from pathlib import Path

from flask import Blueprint, render_template, request, send_file

from station_node import web as station_web
from veterans.report import Report, build_report
from veterans.tabular import write_table
from vetsync_web.charts import report_charts

bp = Blueprint("report", __name__, url_prefix="/report")


def _report() -> Report:
    """The station's report for ``?month=YYYY-MM`` (default: this month); a bad month is a 400 in one line."""
    store = station_web.store()
    return build_report(store, store.meta("scope"), month=request.args.get("month") or None, today=_dt.date.today())


@bp.route("/")
def index():
    rep = _report()
    return render_template("report/index.html", rep=rep, charts=report_charts(rep))


@bp.route("/download")
def download():
    rep = _report()
    with tempfile.TemporaryDirectory(prefix="vetsync-report-") as tmp:
        path = write_table(Path(tmp) / "report.xlsx", rep.columns(), rep.table_rows(), sheet=f"{rep.month} 统计报表")
        data = path.read_bytes()
    return send_file(io.BytesIO(data), as_attachment=True, download_name=f"统计报表-{rep.scope}-{rep.month}.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
