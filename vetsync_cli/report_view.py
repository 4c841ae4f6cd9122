"""Output of a county/station report (``veterans.report.Report``): a file
(.xlsx/.csv), JSON, or Rich tables — shared by ``county-hub report`` and
``station-node report``.

A period already submitted upward (``archived``: a
``sync.store.report_archive.Submission``) is shown as it was submitted — its
figures, the archived ones — with, beside each figure that differs now, the
figure of today's making (``12 → 13``) and a table of the changes; in JSON the
archived report's keys, plus ``archived`` (version, when, by whom) and
``changes`` (``area``, ``name``, ``figure``, ``label``, ``archived``, ``now``).
"""

from __future__ import annotations

from typing import Any

import click

from veterans.report import Report, compare, report_from_dict
from veterans.report_xlsx import workbook_options as sheet_options
from veterans.tabular import write_table
from vetsync_cli.chrome import emit_json, local_time, print_table

__all__ = ["show_report", "show_archive", "sheet_options"]


def _title(rep: Report) -> str:
    when = f"，统计截至 {rep.as_of.isoformat()}" if rep.period.kind != "month" or rep.as_of < rep.period.last else ""
    return f"{rep.scope} {rep.period.title}统计报表（{rep.period.label}{when}）"


def show_report(rep: Report, *, out: str | None = None, as_json: bool = False, archived: Any = None,
                sheet: dict | None = None) -> None:
    """Print ``rep`` (or, when its period was submitted, the ``archived`` submission beside ``rep``).

    ``out`` ending in .xlsx is written by :func:`veterans.report_xlsx.write_report_xlsx` (A4,
    one sheet per view) with ``sheet``'s keywords (names, office, by, made_on, uncontacted, stale);
    a .csv as before."""
    changes = compare(archived.report, rep) if archived is not None else None
    shown = report_from_dict(archived.report) if archived is not None else rep
    if out and str(out).lower().endswith(".xlsx"):
        from veterans.report_xlsx import write_report_xlsx

        path = write_report_xlsx(out, shown, overdue=rep.overdue_petitions, **(sheet or {}))
        click.echo(f"已写入报表：{path}（{len(shown.rows)} 行）" + ("（已上报的数字）" if archived is not None else ""),
                   err=as_json)
    elif out:
        path = write_table(out, shown.period_columns(), shown.table_rows(), sheet=f"{shown.month} 统计报表")
        click.echo(f"已写入报表：{path}（{len(shown.rows)} 行）" + ("（已上报的数字）" if archived is not None else ""),
                   err=as_json)
    if as_json:
        if archived is None:
            emit_json(rep.to_dict())
        else:
            emit_json({**archived.report, "archived": archived.meta(), "changes": [c.to_dict() for c in changes],
                       "now": {"generated_at": rep.generated_at, "today": rep.today.isoformat(),
                               "as_of": rep.as_of.isoformat()}})
        return
    if out:
        if changes:
            click.echo(f"注意：上报后有 {len(changes)} 项数字发生变化，见 county-hub report --period {rep.period.label}")
        return
    # One wide table does not fit a screen: the figures first, then veterans on file by category.
    columns = shown.period_columns()
    key_columns = [c for c in columns if c[0] in ("area", "level")]
    by_category = [c for c in columns if c[0].startswith("category_")]
    figures = [c for c in columns if c not in by_category]
    rows = shown.table_rows()
    title = _title(shown)
    if archived is not None:
        meta = archived.meta()
        click.echo(f"此期报表已上报（第 {meta['version']} 版，{local_time(meta['submitted_at'])}，填报人 "
                   f"{meta['submitted_by']}）：下表为上报时的数字" + ("，有变化处以“上报时 → 现在”标出" if changes else "，至今无变化"))
        if shown.as_of != rep.as_of:
            click.echo(f"注意：上报时统计截至 {shown.as_of.isoformat()}，现在截至 {rep.as_of.isoformat()}（上报时本期尚未结束）")
        rows = _marked(rows, changes)
        title += f"（已上报第 {meta['version']} 版）"
    print_table(figures, rows, title=title, no_wrap=("area",))
    print_table([*key_columns, *by_category], rows, title="在册人数（按类别）", no_wrap=("area",))
    if shown.stale_rows() or shown.stale_columns():
        print_table(shown.stale_columns(), shown.stale_rows(), title="超过 7 天未同步的站点", empty="无",
                    no_wrap=("station",))
    if changes:
        named = any(c.name not in (c.area, "合计") for c in changes)
        columns = (("area", "区划代码"), *((("name", "名称"),) if named else ()), ("label", "项目"),
                   ("archived", "上报时"), ("now", "现在"))
        shown_changes = [{**c.to_dict(), "archived": _cell(c.archived, c.figure == "visit_coverage_pct"),
                          "now": _cell(c.now, c.figure == "visit_coverage_pct"),
                          "area": f"{c.area}（合计）" if c.name == "合计" and not named else c.area} for c in changes]
        print_table(columns, shown_changes, title=f"上报后的变化（{len(changes)} 项）", no_wrap=("area",))
        click.echo("变化来自上报后才同步到的、或上报后修改的、日期在本期内的记录；上报存档的数字不变。")


def _cell(value: Any, pct: bool) -> str:
    if value is None:
        return "—"
    return f"{value:.1f}%" if pct else str(value)


def _marked(rows: list[dict], changes) -> list[dict]:
    by_cell = {(c.area, c.figure): c for c in changes or ()}
    out = []
    for row in rows:
        row = dict(row)
        for key in list(row):
            change = by_cell.get((row.get("area"), key))
            if change is not None:
                pct = key == "visit_coverage_pct"
                row[key] = f"{_cell(change.archived, pct)} → {_cell(change.now, pct)}"
        out.append(row)
    return out


def show_archive(entries: list, *, as_json: bool = False) -> None:
    """The list of submitted reports (``county-hub report --archive``)."""
    if as_json:
        emit_json([e.meta() for e in entries])
        return
    rows = [{**e.meta(), "submitted_at": local_time(e.submitted_at),
             "generated_at": local_time(e.report.get("generated_at")) if e.report.get("generated_at") else None}
            for e in entries]
    print_table((("scope", "范围"), ("period", "统计期间"), ("version", "版本"), ("submitted_at", "上报时间"),
                 ("submitted_by", "填报人"), ("generated_at", "生成时间")), rows, title="已上报的报表",
                empty="还没有上报过报表", no_wrap=("period", "submitted_at"))
