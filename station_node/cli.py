"""``station-node``: the station's command line.

Thin: each command opens the station store, calls one function of
:mod:`station_node.records` (or :mod:`station_node.home`), and prints.
Errors of ours (:class:`sync.errors.VetsyncError`) become one line on stderr,
``错误：<message>``, with exit code 1; usage errors (a missing or unknown
option) become one Chinese line with exit code 2. No traceback reaches the
clerk.

Output: Rich tables for people (Chinese headings from the schema labels,
enum values as Chinese labels); ``--json`` for programs — an array for
lists, an object for one record, field names of DESIGN §3, enum values as
codes. The JSON is a contract: fields are only ever added.

The record commands live in :mod:`station_node.cli_records`.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
import sqlite3
import sys
from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator

import click
from rich.console import Console
from rich.table import Table as RichTable

from station_node import home as home_mod
from sync import fields as F
from sync.errors import VetsyncError
from sync.petition import Deadline, PetitionState
from sync.store import Store

__all__ = [
    "main",
    "StationGroup",
    "StationError",
    "home_option",
    "json_option",
    "open_station",
    "emit_json",
    "console",
    "print_rows",
    "print_record",
    "print_deadlines",
    "petition_json",
]


# --------------------------------------------------------------------------- click classes


class StationError(click.ClickException):
    """One of our errors on its way to the clerk: ``错误：<message>``, exit 1."""

    exit_code = 1

    def show(self, file=None) -> None:
        click.echo(f"错误：{self.message}", err=True)


def _usage_message(e: click.UsageError) -> str:
    """One Chinese line for a click usage error."""
    param = getattr(e, "param", None)
    if isinstance(e, click.MissingParameter):
        if isinstance(param, click.Argument):
            msg = f"缺少参数 {param.human_readable_name}"
        else:
            name = "/".join(param.opts) if param is not None else (e.param_hint or "")
            msg = f"缺少必填选项 {name}"
    elif isinstance(e, click.NoSuchOption):
        msg = f"没有选项 {e.option_name}"
        if e.possibilities:
            msg += f"，是否想用 {'、'.join(sorted(e.possibilities))}"
    elif isinstance(e, click.BadOptionUsage) and "requires an argument" in e.message:
        msg = f"选项 {e.option_name} 需要一个值"
    elif isinstance(e, click.BadParameter):
        name = "/".join(param.opts) if param is not None else (e.param_hint or "")
        msg = f"参数 {name} 无效：{e.message}"
    elif m := re.match(r"No such command '(.+)'", e.message):
        msg = f"没有命令 {m.group(1)}"
    elif m := re.match(r"Got unexpected extra arguments? \((.*)\)", e.message):
        msg = f"多余的参数：{m.group(1)}"
    else:
        msg = e.format_message()
    path = e.ctx.command_path if e.ctx is not None else "station-node"
    return f"{msg}（查看用法：{path} --help）"


class ChineseHelpMixin:
    """Chinese headings in ``--help`` (用法 / 选项 / 命令)."""

    def __init__(self, *args: Any, **kwargs: Any):
        kwargs.setdefault("options_metavar", "[选项]")
        super().__init__(*args, **kwargs)

    def get_help_option(self, ctx: click.Context):
        opt = super().get_help_option(ctx)
        if opt is not None:
            opt.help = "显示本帮助并退出"
        return opt

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        formatter.write_usage(ctx.command_path, " ".join(self.collect_usage_pieces(ctx)), prefix="用法：")

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        opts = [
            (rv[0], rv[1].replace("[required]", "[必填]"))
            for p in self.get_params(ctx)
            if not isinstance(p, click.Argument) and (rv := p.get_help_record(ctx)) is not None
        ]
        if opts:
            with formatter.section("选项"):
                formatter.write_dl(opts)
        if isinstance(self, click.Group):
            rows = [
                (name, cmd.get_short_help_str(60))
                for name in self.list_commands(ctx)
                if (cmd := self.get_command(ctx, name)) is not None and not cmd.hidden
            ]
            if rows:
                with formatter.section("命令"):
                    formatter.write_dl(rows)


class StationCommand(ChineseHelpMixin, click.Command):
    """A station command with Chinese help."""


class StationGroup(ChineseHelpMixin, click.Group):
    """A command group with Chinese help; the top one also translates errors."""

    command_class = StationCommand
    group_class = type

    def __init__(self, *args: Any, **kwargs: Any):
        kwargs.setdefault("subcommand_metavar", "命令 [参数]...")
        super().__init__(*args, **kwargs)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except VetsyncError as exc:
            raise StationError(str(exc)) from exc
        except NotImplementedError as exc:
            raise StationError(str(exc) or "此功能尚未实现") from exc
        except sqlite3.Error as exc:
            raise StationError(f"数据库操作失败：{exc}") from exc
        except OSError as exc:
            where = f"：{exc.filename}" if exc.filename else ""
            raise StationError(f"文件操作失败（{exc.strerror or exc}）{where}") from exc

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.NoArgsIsHelpError as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except StationError as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.UsageError as exc:
            click.echo(f"错误：{_usage_message(exc)}", err=True)
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            click.echo(f"错误：{exc.format_message()}", err=True)
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("已取消", err=True)
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) else 0)


# --------------------------------------------------------------------------- shared options and output


def home_option(func: Callable) -> Callable:
    """``--home DIR``, taken by every command."""
    return click.option(
        "--home",
        "home",
        metavar="DIR",
        default=None,
        help=f"站点目录（默认取环境变量 {home_mod.ENV_VAR}，否则为用户数据目录）",
    )(func)


def json_option(func: Callable) -> Callable:
    """``--json``: machine-readable output."""
    return click.option("--json", "as_json", is_flag=True, help="以 JSON 输出（字段名同数据表，枚举值为代码）")(func)


@contextmanager
def open_station(home: str | None) -> Iterator[Store]:
    """The station's store for one command, closed afterwards."""
    store = home_mod.open_store(home_mod.resolve_home(home))
    try:
        yield store
    finally:
        store.close()


def _json_default(value: Any) -> Any:
    if isinstance(value, (_dt.date, _dt.datetime)):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def emit_json(data: Any) -> None:
    """Print ``data`` as indented JSON, Chinese kept readable."""
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=_json_default))


def console() -> Console:
    """A Rich console on the current stdout; wide when not a terminal, so ids are not cut."""
    con = Console(highlight=False)
    if not con.is_terminal:
        con = Console(highlight=False, width=max(con.width, 200))
    return con


def print_rows(
    table: str,
    rows: Iterable[dict],
    columns: Iterable[str],
    *,
    title: str | None = None,
    extra: dict[str, Callable[[dict], str]] | None = None,
    empty: str = "（无记录）",
) -> None:
    """A Rich table of ``rows``: one column per field (heading = Chinese label),
    then ``extra`` computed columns ``{heading: fn(row)}``."""
    rows = list(rows)
    if not rows:
        click.echo(empty)
        return
    columns = list(columns)
    extra = extra or {}
    out = RichTable(title=title, show_lines=False)
    for name in columns:
        out.add_column(F.field_label(table, name), no_wrap=name in ("id", "id_number", "area"))
    for heading in extra:
        out.add_column(heading)
    for row in rows:
        out.add_row(
            *(F.display_value(table, name, row.get(name)) for name in columns),
            *(fn(row) for fn in extra.values()),
        )
    console().print(out)


def print_record(table: str, row: dict, *, title: str | None = None) -> None:
    """One record as a two-column table 字段 / 值 (empty fields left out)."""
    out = RichTable(title=title, show_header=True)
    out.add_column("字段", no_wrap=True)
    out.add_column("值")
    for name, value in row.items():
        if value in (None, "") or name == "deleted":
            continue
        out.add_row(F.field_label(table, name), F.display_value(table, name, value))
    console().print(out)


def deadline_json(d: Deadline | None) -> dict | None:
    if d is None:
        return None
    return {
        "what": d.what,
        "due": d.due.isoformat(),
        "met_on": d.met_on.isoformat() if d.met_on else None,
        "overdue": d.overdue,
        "late": d.late,
        "window": d.window,
    }


def petition_json(pet: dict, state: PetitionState, events: list[dict] | None = None) -> dict:
    """A petition with its derived status and deadlines (and events, for ``show``)."""
    out = {
        **pet,
        "status": state.status,
        "status_label": state.status_label,
        "overdue": state.overdue,
        "next_deadline": deadline_json(state.next_due),
    }
    if events is not None:
        out["deadlines"] = [deadline_json(d) for d in state.deadlines]
        out["events"] = events
        out["anomalies"] = list(state.anomalies)
    return out


def deadline_text(d: Deadline) -> str:
    """情况 column of a deadline: 已完成 / 逾期完成 / 已超期 / 未到期 / 申请期。"""
    if d.met_on is not None:
        return f"逾期完成（{d.met_on}）" if d.late else f"已完成（{d.met_on}）"
    if d.overdue:
        return "已超期"
    if d.window:
        return "申请期已过" if d.due < _dt.date.today() else "申请期内"
    return "未到期"


def print_deadlines(state: PetitionState) -> None:
    """The petition's deadlines: 期限 / 到期日 / 情况."""
    out = RichTable(title="办理期限")
    for heading in ("期限", "到期日", "情况"):
        out.add_column(heading)
    for d in state.deadlines:
        out.add_row(d.what, d.due.isoformat(), deadline_text(d))
    console().print(out)


# --------------------------------------------------------------------------- the group and init


@click.group(cls=StationGroup, help="县退役军人服务站离线工作与同步工具（station-node）。")
def main() -> None:
    """Entry point of the ``station-node`` console script."""


def _init_networked(home, station: str, hub: str, token: str) -> None:
    """Enroll with the county hub (CSR over TLS pinned by the token) and
    initialise the home. Added with the transport issue."""
    raise NotImplementedError("联网初始化尚未实现，请先用 --offline 离线初始化")


@main.command(help="初始化本站：建立站点目录和数据库。离线使用加 --offline；联网登记需 --hub 与 --token。")
@click.option("--station", required=True, metavar="CODE", help="本站区划代码（镇9位、村12位）")
@click.option("--offline", is_flag=True, help="不连县中心，离线初始化")
@click.option("--hub", metavar="HOST:PORT", default=None, help="县中心同步服务地址")
@click.option("--token", metavar="TOKEN", default=None, help="县中心发放的一次性登记令牌")
@home_option
def init(station: str, offline: bool, hub: str | None, token: str | None, home: str | None) -> None:
    where = home_mod.resolve_home(home)
    if offline:
        if hub or token:
            raise StationError("--offline 不能与 --hub/--token 同时使用")
        store = home_mod.init_offline(where, station)
        try:
            code = store.meta("station")
        finally:
            store.close()
        click.echo(f"已初始化站点 {code}（离线），目录：{where}")
        return
    if not (hub and token):
        raise StationError("联网初始化需要 --hub HOST:PORT --token TOKEN（仅离线使用请加 --offline）")
    _init_networked(where, station, hub, token)


from station_node import cli_records as _cli_records  # noqa: E402  (registers the record commands)

_cli_records.register(main)
