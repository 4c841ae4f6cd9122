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
import io
import tempfile
from pathlib import Path

from flask import Blueprint, render_template, request, send_file

from county_hub import web as hub_web
from veterans.report import Report, build_report
from veterans.tabular import write_table
from vetsync_web.charts import report_charts

bp = Blueprint("report", __name__, url_prefix="/report")


def _report() -> Report:
    """The county's report for ``?month=YYYY-MM`` (default: this month); a bad month is a 400 in one line."""
    page = hub_web.page()
    county = page.store.meta("county") or ""
    stations = [{"station": s["station"], "last_sync": s["last_sync"]} for s in page.registry.stations()]
    return build_report(page.store, county, month=request.args.get("month") or None, today=_dt.date.today(),
                        stations=stations)


def xlsx_response(rep: Report, name: str):
    """The report as .xlsx, as ``report --out`` writes it (a temporary file, read back, removed)."""
    with tempfile.TemporaryDirectory(prefix="vetsync-report-") as tmp:
        path = write_table(Path(tmp) / "report.xlsx", rep.columns(), rep.table_rows(), sheet=f"{rep.month} 统计报表")
        data = path.read_bytes()
    return send_file(io.BytesIO(data), as_attachment=True, download_name=name,
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@bp.route("/")
def index():
    rep = _report()
    return render_template("report/index.html", rep=rep, charts=report_charts(rep))


@bp.route("/download")
def download():
    rep = _report()
    return xlsx_response(rep, f"统计报表-{rep.scope}-{rep.month}.xlsx")
