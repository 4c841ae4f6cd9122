"""Roster commands of ``station-node``: ``import`` and ``export``.

Each opens the store, calls :mod:`station_node.roster` and prints. A roster
with bad rows prints every problem (at most :data:`MAX_SHOWN` lines) on
stderr, then the one-line summary, and exits 1 with nothing written.
Registered on the top group by :func:`register`.
"""

from __future__ import annotations

from pathlib import Path

import click

from station_node import roster
from station_node.cli_common import StationCommand, StationError, emit_json, home_option, json_option, open_station

__all__ = ["register", "roster_import", "roster_export", "MAX_SHOWN"]

MAX_SHOWN = 50


def register(group: click.Group) -> None:
    """Add ``import`` and ``export`` to the top ``station-node`` group."""
    group.add_command(roster_import)
    group.add_command(roster_export)


def _show_lines(lines: list[str], *, prefix: str = "") -> None:
    for line in lines[:MAX_SHOWN]:
        click.echo(f"{prefix}{line}", err=True)
    if len(lines) > MAX_SHOWN:
        click.echo(f"……另有 {len(lines) - MAX_SHOWN} 行", err=True)


@click.command(
    "import",
    cls=StationCommand,
    help="从 Excel（.xlsx）或 CSV 名册导入退役军人档案。先检查全部行，有任何一行有误则不导入任何记录；"
    "身份证号已登记的人员只更新有变化的字段，重复导入同一名册不会产生改动。",
)
@click.argument("file", metavar="FILE", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--mapping", metavar="FILE", default=None, type=click.Path(dir_okay=False, path_type=Path),
              help="表头映射文件（JSON，或两列 CSV：表头,字段），用于表头不同的名册")
@click.option("--area", metavar="CODE", default=None, help="名册没有区划代码时人员所属的村（社区）区划代码")
@click.option("--dry-run", is_flag=True, help="只检查并统计，不写入")
@json_option
@home_option
def roster_import(file, mapping, area, dry_run, as_json, home):
    with open_station(home) as store:
        try:
            result = roster.import_roster(store, file, mapping_path=mapping, dry_run=dry_run, area=area)
        except roster.RosterError as exc:
            _show_lines(exc.errors)
            raise StationError(str(exc)) from exc
    if as_json:
        emit_json(result.as_dict())
        return
    _show_lines(result.warnings, prefix="注意：")
    counts = f"新增 {result.created} 条，更新 {result.updated} 条，未变 {result.unchanged} 条"
    if dry_run:
        click.echo(f"检查通过，未写入（--dry-run）：将{counts}")
    else:
        click.echo(f"已导入：{counts}")


@click.command("export", cls=StationCommand, help="把本站的退役军人档案导出为 Excel（.xlsx）或 CSV 名册，可再导入。")
@click.argument("file", metavar="FILE", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--area", metavar="CODE", default=None, help="只导出此区划代码（前缀）内的")
@home_option
def roster_export(file, area, home):
    with open_station(home) as store:
        count = roster.export_roster(store, file, area=area)
    click.echo(f"已导出 {count} 条记录：{file}")
