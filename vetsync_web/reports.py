"""The report page's parts both apps share: the .xlsx download."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

from flask import send_file

from veterans.tabular import write_table

__all__ = ["xlsx_response"]


def xlsx_response(rep, name: str, *, store=None, office: str = "", by: str = "", stale: bool = False):
    """The report as .xlsx, as ``report --out FILE.xlsx`` writes it (a temporary file, read back,
    removed): with ``store``, the A4 workbook (veterans.report_xlsx: ``office`` 制表单位, ``by``
    填报人, ``stale`` the 未同步网点 sheet); without, the one flat sheet of before."""
    with tempfile.TemporaryDirectory(prefix="vetsync-report-") as tmp:
        if store is not None:
            from veterans.report_xlsx import workbook_options, write_report_xlsx

            options = workbook_options(store, rep, office=office, by=by, stale=stale)
            path = write_report_xlsx(Path(tmp) / "report.xlsx", rep, overdue=rep.overdue_petitions, **options)
        else:
            path = write_table(Path(tmp) / "report.xlsx", rep.columns(), rep.table_rows(), sheet=f"{rep.month} 统计报表")
        data = path.read_bytes()
    return send_file(io.BytesIO(data), as_attachment=True, download_name=name,
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
