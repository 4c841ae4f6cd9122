"""``station-node conflicts``: the conflicts the hub reported in this station's
scope — list, show, resolve.

Thin: each command opens the station store and calls one function of
:mod:`sync.resolve`. A resolution here is an ordinary local write: it is
pushed to the county hub on the next sync (DESIGN §4) and reaches the other
stations from there. A station resolves only within its scope (a village
cannot merge its veteran with another village's: the town or the county
does that).

``--json`` output: an array of conflicts for the list, an object for
``show`` and ``resolve`` (the fields of the ``conflicts`` table plus
``record_name``, ``winner_at`` and ``loser_at``; ``resolve`` adds ``writes``).
"""

from __future__ import annotations

import click

# The CLI helpers, imported in one place.
from station_node.cli import home_option, open_station
from sync import resolve as R
from vetsync_cli import ChineseGroup, emit_json, json_option, print_table

__all__ = ["register", "conflicts"]

_HOW = "处理：station-node conflicts resolve 编号 --keep winner|loser（重复登记用 --merge-into 档案编号）"


def register(group: click.Group) -> None:
    """Add the ``conflicts`` group to the top ``station-node`` group."""
    group.add_command(conflicts)


@click.group(
    "conflicts",
    cls=ChineseGroup,
    invoke_without_command=True,
    help="本站范围内的数据冲突：列出（默认只列待处理的）、查看、处理。",
)
@click.option("--all", "include_resolved", is_flag=True, help="同时列出已处理的冲突")
@json_option
@home_option
@click.pass_context
def conflicts(ctx: click.Context, include_resolved: bool, as_json: bool, home: str | None) -> None:
    if ctx.invoked_subcommand is not None:
        return
    with open_station(home) as store:
        items = R.list_conflicts(store, include_resolved=include_resolved)
    if as_json:
        emit_json(items)
        return
    empty = "（没有冲突）" if include_resolved else "（没有待处理的冲突）"
    print_table(R.LIST_COLUMNS, [R.display_row(c) for c in items], title=f"冲突（{len(items)} 条）" if items else None,
                empty=empty, no_wrap=("编号",))
    if items:
        click.echo(_HOW)


@conflicts.command("show", help="查看一条冲突：双方的值、站点和时间。")
@click.argument("conflict_id", metavar="ID")
@json_option
@home_option
def show(conflict_id: str, as_json: bool, home: str | None) -> None:
    with open_station(home) as store:
        c = R.get_conflict(store, conflict_id)
    if as_json:
        emit_json(c)
    else:
        print_table(R.DETAIL_COLUMNS, R.detail_rows(c), title=f"冲突 {c['id']}", no_wrap=("item",))


@conflicts.command(
    "resolve",
    help="处理一条冲突：--keep winner 保留采用值，--keep loser 改用未采用值，--value 指定新值；"
    "重复登记用 --merge-into 指定保留的档案。处理结果在下次同步时上传县中心。",
)
@click.argument("conflict_id", metavar="ID")
@click.option("--keep", type=click.Choice(R.KEEP_CHOICES), default=None, help="保留哪一方：winner（采用值）或 loser（未采用值）")
@click.option("--value", default=None, metavar="VALUE", help="改为指定的值（按字段规则校验）")
@click.option("--merge-into", "merge_into", default=None, metavar="ID", help="重复登记：保留的档案编号，另一份并入后注销")
@json_option
@home_option
def resolve_cmd(conflict_id: str, keep: str | None, value: str | None, merge_into: str | None,
                as_json: bool, home: str | None) -> None:
    with open_station(home) as store:
        code = store.meta("station") or ""
        out = R.resolve(store, conflict_id, keep=keep, value=value, merge_into=merge_into,
                        by=code, scope=store.meta("scope") or code)
    if as_json:
        emit_json(out)
    else:
        click.echo(f"已处理冲突 {out['id']}：{out['resolution']}")
        click.echo("处理结果将在下次同步时上传县中心。")
