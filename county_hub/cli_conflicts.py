"""``county-hub conflicts``: every conflict the hub recorded — list (with
filters), show, resolve.

Thin: each command opens the hub home and calls one function of
:mod:`sync.resolve`. A resolution at the hub is the hub's own write
(``HubStore.write_as_hub``): nothing to push, the stations receive it on
their next pull; it is recorded in the audit log. The hub's scope is the
county; ``resolved_by`` is ``county``.

``--json`` output: an array of conflicts for the list, an object for
``show`` and ``resolve`` (the fields of the ``conflicts`` table plus
``record_name``, ``winner_at`` and ``loser_at``; ``resolve`` adds ``writes``).

Plugged into ``county-hub`` by :func:`register` (called from ``county_hub.cli``).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterator

import click

# The CLI helpers, imported in one place. (Not from county_hub.cli: that module
# imports this one while it loads.)
from county_hub import home as home_mod
from sync import resolve as R
from sync.errors import StoreError
from sync.hub_store import HubStore
from vetsync_cli import ChineseGroup, emit_json, json_option, print_table

__all__ = ["register", "conflicts", "RESOLVED_BY"]

RESOLVED_BY = "county"
_HOW = "处理：county-hub conflicts resolve 编号 --keep winner|loser（重复登记用 --merge-into 档案编号）"


def register(group: click.Group) -> None:
    """Add the ``conflicts`` group to the top ``county-hub`` group."""
    group.add_command(conflicts)


def _home_option(func: Callable) -> Callable:
    return click.option(
        "--home", "home", metavar="DIR", default=None,
        help="县中心目录（默认取环境变量 COUNTY_HUB_HOME，否则为用户数据目录）",
    )(func)


@contextmanager
def _open(home: str | None) -> Iterator[tuple[HubStore, str]]:
    """The hub's store (its registry migrated, so the audit table exists) and the county code."""
    store, _registry = home_mod.open_hub(home_mod.resolve_home(home))
    try:
        county = store.meta("county")
        if not county:
            raise StoreError("县中心数据库缺少县级区划代码", hint="请先运行 county-hub init --county CODE")
        yield store, county
    finally:
        store.close()


@click.group(
    "conflicts",
    cls=ChineseGroup,
    invoke_without_command=True,
    help="全县的数据冲突：列出（默认只列待处理的）、查看、处理。",
)
@click.option("--all", "include_resolved", is_flag=True, help="同时列出已处理的冲突")
@click.option("--kind", default=None, metavar="K",
              help="只列一种冲突：concurrent_edit（并发修改）、delete_edit、duplicate_identity、"
                   "petition_transition、refused_edit（代码或中文名）")
@click.option("--area", default=None, metavar="CODE", help="只列该区划（镇或村）内的冲突")
@json_option
@_home_option
@click.pass_context
def conflicts(ctx: click.Context, include_resolved: bool, kind: str | None, area: str | None,
              as_json: bool, home: str | None) -> None:
    if ctx.invoked_subcommand is not None:
        return
    with _open(home) as (store, _county):
        items = R.list_conflicts(store, include_resolved=include_resolved, kind=kind, area=area)
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
@_home_option
def show(conflict_id: str, as_json: bool, home: str | None) -> None:
    with _open(home) as (store, _county):
        c = R.get_conflict(store, conflict_id)
    if as_json:
        emit_json(c)
    else:
        print_table(R.DETAIL_COLUMNS, R.detail_rows(c), title=f"冲突 {c['id']}", no_wrap=("item",))


@conflicts.command(
    "resolve",
    help="处理一条冲突：--keep winner 保留采用值，--keep loser 改用未采用值，--value 指定新值；"
    "重复登记用 --merge-into 指定保留的档案。各站下次同步时收到处理结果。",
)
@click.argument("conflict_id", metavar="ID")
@click.option("--keep", type=click.Choice(R.KEEP_CHOICES), default=None, help="保留哪一方：winner（采用值）或 loser（未采用值）")
@click.option("--value", default=None, metavar="VALUE", help="改为指定的值（按字段规则校验）")
@click.option("--merge-into", "merge_into", default=None, metavar="ID", help="重复登记：保留的档案编号，另一份并入后注销")
@json_option
@_home_option
def resolve_cmd(conflict_id: str, keep: str | None, value: str | None, merge_into: str | None,
                as_json: bool, home: str | None) -> None:
    with _open(home) as (store, county):
        out = R.resolve(store, conflict_id, keep=keep, value=value, merge_into=merge_into,
                        by=RESOLVED_BY, scope=county)
    if as_json:
        emit_json(out)
    else:
        click.echo(f"已处理冲突 {out['id']}：{out['resolution']}")
        click.echo("各站下次同步时将收到处理结果。")
