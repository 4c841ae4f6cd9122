"""The ``conflicts`` command group, shared by ``county-hub`` and ``station-node``:
list (open ones by default), ``show``, ``resolve``. Each program passes how to
open its store — yielding the store, the scope it may resolve in, who is
resolving, and how a resolution is audited (None: not here; the hub passes its
registry's log) — and its own wording; the commands call :mod:`veterans.resolve`.

``--json`` output: an array of conflicts for the list, an object for ``show``
and ``resolve`` (the fields of the ``conflicts`` table plus ``record_name``,
``winner_at`` and ``loser_at``; ``resolve`` adds ``writes``).
"""

from __future__ import annotations

from typing import Callable, ContextManager

import click

from veterans import resolve as R
from vetsync_cli.chrome import ChineseGroup, emit_json, json_option, print_table

__all__ = ["conflicts_group"]

# home -> (store, scope, by, audit)
Opener = Callable[[str | None], ContextManager[tuple[object, str, str, Callable[..., None] | None]]]


def conflicts_group(*, program: str, help: str, open_store: Opener, home_option: Callable,
                    after_resolve: str, filters: bool = False) -> click.Group:
    how = f"处理：{program} conflicts resolve 编号 --keep winner|loser（重复登记用 --merge-into 档案编号）"

    def list_options(func: Callable) -> Callable:
        if filters:
            func = click.option("--area", default=None, metavar="CODE", help="只列该区划（镇或村）内的冲突")(func)
            func = click.option(
                "--kind", default=None, metavar="K",
                help="只列一种冲突：concurrent_edit（并发修改）、delete_edit、duplicate_identity、"
                     "petition_transition、refused_edit（代码或中文名）")(func)
        return func

    @click.group("conflicts", cls=ChineseGroup, invoke_without_command=True, help=help)
    @click.option("--all", "include_resolved", is_flag=True, help="同时列出已处理的冲突")
    @list_options
    @json_option
    @home_option
    @click.pass_context
    def conflicts(ctx: click.Context, include_resolved: bool, as_json: bool, home: str | None,
                  kind: str | None = None, area: str | None = None) -> None:
        if ctx.invoked_subcommand is not None:
            return
        with open_store(home) as (store, _scope, _by, _audit):
            items = R.list_conflicts(store, include_resolved=include_resolved, kind=kind, area=area)
        if as_json:
            emit_json(items)
            return
        empty = "（没有冲突）" if include_resolved else "（没有待处理的冲突）"
        print_table(R.LIST_COLUMNS, [R.display_row(c) for c in items],
                    title=f"冲突（{len(items)} 条）" if items else None, empty=empty, no_wrap=("编号",))
        if items:
            click.echo(how)

    @conflicts.command("show", help="查看一条冲突：双方的值、站点和时间。")
    @click.argument("conflict_id", metavar="ID")
    @json_option
    @home_option
    def show(conflict_id: str, as_json: bool, home: str | None) -> None:
        with open_store(home) as (store, _scope, _by, _audit):
            c = R.get_conflict(store, conflict_id)
        if as_json:
            emit_json(c)
        else:
            print_table(R.DETAIL_COLUMNS, R.detail_rows(c), title=f"冲突 {c['id']}", no_wrap=("item",))

    @conflicts.command(
        "resolve",
        help="处理一条冲突：--keep winner 保留采用值，--keep loser 改用未采用值，--value 指定新值；"
        f"重复登记用 --merge-into 指定保留的档案。{after_resolve}",
    )
    @click.argument("conflict_id", metavar="ID")
    @click.option("--keep", type=click.Choice(R.KEEP_CHOICES), default=None,
                  help="保留哪一方：winner（采用值）或 loser（未采用值）")
    @click.option("--value", default=None, metavar="VALUE", help="改为指定的值（按字段规则校验）")
    @click.option("--merge-into", "merge_into", default=None, metavar="ID", help="重复登记：保留的档案编号，另一份并入后注销")
    @json_option
    @home_option
    def resolve_cmd(conflict_id: str, keep: str | None, value: str | None, merge_into: str | None,
                    as_json: bool, home: str | None) -> None:
        with open_store(home) as (store, scope, by, audit):
            out = R.resolve(store, conflict_id, keep=keep, value=value, merge_into=merge_into, by=by, scope=scope,
                            audit=audit)
        if as_json:
            emit_json(out)
        else:
            click.echo(f"已处理冲突 {out['id']}：{out['resolution']}")
            click.echo(after_resolve)

    return conflicts
