"""The report page's parts both apps share: the .xlsx download."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

from flask import send_file

from veterans.tabular import write_table

__all__ = ["xlsx_response"]


def xlsx_response(rep, name: str):
    """The report as .xlsx, as ``report --out`` writes it (a temporary file, read back, removed)."""
    with tempfile.TemporaryDirectory(prefix="vetsync-report-") as tmp:
        path = write_table(Path(tmp) / "report.xlsx", rep.columns(), rep.table_rows(), sheet=f"{rep.month} 统计报表")
        data = path.read_bytes()
    return send_file(io.BytesIO(data), as_attachment=True, download_name=name,
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
