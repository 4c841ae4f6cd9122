"""Roster commands of ``station-node``: ``import`` and ``export``.

Each opens the store, calls :mod:`station_node.roster` (or
:mod:`station_node.ledgers` for the 台账 of visits and petitions) and prints.
A roster with bad rows prints every problem on stderr (one line each: row,
name, field, value, what to do), with ``--errors FILE`` writes the roster
back with a 错误 column, then the one-line summary, and exits 1 with nothing
written. ``--dry-run`` prints each record's change (``字段：旧 → 新``). A
progress bar shows on a terminal. Registered on the top group by
:func:`register`.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import click

from station_node import roster
from station_node.cli_common import StationCommand, StationError, emit_json, home_option, json_option, open_station

__all__ = ["register", "roster_import", "roster_export", "TABLES"]

#: What ``export --table`` accepts: English names and the Chinese a clerk would type.
TABLES = {
    "veterans": "veterans", "名册": "veterans", "退役军人": "veterans", "花名册": "veterans",
    "visits": "visits", "走访": "visits", "走访慰问": "visits", "走访台账": "visits",
    "petitions": "petitions", "信访": "petitions", "信访件": "petitions", "信访台账": "petitions",
}


def register(group: click.Group) -> None:
    """Add ``import`` and ``export`` to the top ``station-node`` group."""
    group.add_command(roster_import)
    group.add_command(roster_export)


def _show_lines(lines: list[str], *, prefix: str = "", err: bool = True) -> None:
    for line in lines:
        click.echo(f"{prefix}{line}", err=err)


@contextmanager
def _bar(show: bool, phases: dict[str, str]) -> Iterator:
    """A transient progress bar on stderr when ``show`` (a terminal); yields
    ``update(phase, done, total)`` (a no-op otherwise)."""
    if not show:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    progress = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed} 行"),
                        TimeElapsedColumn(), transient=True, console=Console(stderr=True))
    tasks: dict[str, int] = {}

    def update(phase: str, done: int, total: int | None = None) -> None:
        if phase not in tasks:
            tasks[phase] = progress.add_task(phases.get(phase, phase), total=total)
        progress.update(tasks[phase], completed=done, total=total)

    with progress:
        yield update


def _on_terminal(as_json: bool = False) -> bool:
    return not as_json and sys.stderr.isatty()


@click.command(
    "import",
    cls=StationCommand,
    help="从 Excel（.xlsx）或 CSV 名册导入退役军人档案。自动找到表头（跳过标题行、空行），跳过合计、填表人等行；"
    "先检查全部行，有任何一行有误则不导入任何记录，并逐行列出错误（行号、姓名、字段、值、怎么改）；"
    "身份证号已登记的人员只更新有变化的字段，重复导入同一名册不会产生改动。",
)
@click.argument("file", metavar="FILE", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--mapping", metavar="FILE", default=None, type=click.Path(dir_okay=False, path_type=Path),
              help="表头映射文件（JSON，或两列 CSV：表头,字段），用于表头不同的名册")
@click.option("--area", metavar="CODE", default=None, help="名册没有区划代码时人员所属的村（社区）区划代码")
@click.option("--dry-run", is_flag=True, help="只检查，逐条列出将要新增、更新的记录（字段：旧 → 新），不写入")
@click.option("--errors", "errors_path", metavar="FILE.xlsx", default=None,
              type=click.Path(dir_okay=False, path_type=Path),
              help="有错误时把名册另存到此文件，加一列“错误”写明每行的问题；在 Excel 中改正后可直接导入该文件")
@json_option
@home_option
def roster_import(file, mapping, area, dry_run, errors_path, as_json, home):
    with open_station(home) as store:
        with _bar(_on_terminal(as_json), {"check": "检查", "write": "写入"}) as update:
            try:
                result = roster.import_roster(store, file, mapping_path=mapping, dry_run=dry_run, area=area,
                                              progress=update)
            except roster.RosterError as exc:
                error = exc
            else:
                error = None
    if error is not None:
        _show_lines(error.errors)
        if errors_path is not None:
            written = roster.write_errors(error, errors_path)
            click.echo(f"已写出错误名册：{written}（“{roster.ERRORS_HEADING}”列写明每行的问题，改正后可直接导入该文件）",
                       err=True)
        raise StationError(str(error)) from error
    if as_json:
        emit_json(result.as_dict())
        return
    _show_lines(result.warnings, prefix="注意：")
    counts = f"新增 {result.created} 条，更新 {result.updated} 条，未变 {result.unchanged} 条"
    if dry_run:
        for change in result.changes:
            _show_lines(roster.change_lines(change), err=False)
        click.echo(f"检查通过，未写入（--dry-run）：将{counts}")
    else:
        click.echo(f"已导入：{counts}")
    if errors_path is not None:
        click.echo(f"名册没有错误，未写出 {errors_path.name}")


def _table(ctx, param, value: str) -> str:
    found = TABLES.get((value or "").strip().lower())
    if found is None:
        raise click.BadParameter(f"{value} 不在可选值中（veterans 名册、visits 走访、petitions 信访）")
    return found


@click.command(
    "export",
    cls=StationCommand,
    help="导出为 Excel（.xlsx）或 CSV：退役军人名册（默认，可再导入），或 --table visits 走访慰问台账、"
    "--table petitions 信访台账（含办理状态和期限）。身份证号、区划代码按文本写出，Excel 打开不会变形。",
)
@click.argument("file", metavar="FILE", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--table", "what", metavar="TABLE", default="veterans", callback=_table,
              help="导出什么：veterans（名册，默认）、visits（走访慰问台账）、petitions（信访台账）")
@click.option("--area", metavar="CODE", default=None, help="只导出此区划代码（前缀）内的")
@click.option("--since", metavar="D", default=None, help="台账起始日期（含）：走访日期或收到日期")
@click.option("--until", metavar="D", default=None, help="台账截止日期（含）")
@click.option("--confidential", is_flag=True, help="信访台账包括检举控告类（保密）信访件")
@home_option
def roster_export(file, what, area, since, until, confidential, home):
    if what == "veterans" and (since or until):
        raise StationError("名册不按日期导出：--since/--until 只用于 --table visits 或 petitions")
    if what != "petitions" and confidential:
        raise StationError("--confidential 只用于 --table petitions")
    from station_node import ledgers

    with open_station(home) as store:
        with _bar(_on_terminal(), {"export": "导出"}) as update:
            progress = (lambda done: update("export", done, None)) if update else None
            if what == "veterans":
                count, withheld = roster.export_roster(store, file, area=area), 0
            elif what == "visits":
                count, withheld = ledgers.export_visits(store, file, area=area, since=since, until=until,
                                                        progress=progress).rows, 0
            else:
                done = ledgers.export_petitions(store, file, area=area, since=since, until=until,
                                                confidential=confidential, progress=progress)
                count, withheld = done.rows, done.withheld
    noun = {"veterans": "条记录", "visits": "次走访", "petitions": "件信访"}[what]
    click.echo(f"已导出 {count} {noun}：{file}")
    if withheld:
        click.echo(f"另有 {withheld} 件检举控告类信访件（保密）未导出；需要时加 --confidential")
