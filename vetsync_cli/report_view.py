"""Output of a county/station report (``veterans.report.Report``): a file
(.xlsx/.csv), JSON, or Rich tables — shared by ``county-hub report`` and
``station-node report``."""

from __future__ import annotations

import click

from veterans.tabular import write_table
from vetsync_cli.chrome import emit_json, print_table

__all__ = ["show_report"]


def show_report(rep, *, out: str | None = None, as_json: bool = False) -> None:
    if out:
        path = write_table(out, rep.columns(), rep.table_rows(), sheet=f"{rep.month} 统计报表")
        click.echo(f"已写入报表：{path}（{len(rep.rows)} 行）", err=as_json)
    if as_json:
        emit_json(rep.to_dict())
        return
    if out:
        return
    # One wide table does not fit a screen: the figures first, then veterans on file by category.
    columns = rep.columns()
    key_columns = [c for c in columns if c[0] in ("area", "level")]
    by_category = [c for c in columns if c[0].startswith("category_")]
    figures = [c for c in columns if c not in by_category]
    rows = rep.table_rows()
    print_table(figures, rows, title=f"{rep.scope} {rep.month} 统计报表", no_wrap=("area",))
    print_table([*key_columns, *by_category], rows, title="在册人数（按类别）", no_wrap=("area",))
    if rep.stale_rows() or rep.stale_columns():
        print_table(rep.stale_columns(), rep.stale_rows(), title="超过 7 天未同步的站点", empty="无", no_wrap=("station",))
