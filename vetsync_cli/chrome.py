"""The CLI chrome shared by ``station-node`` and ``county-hub``.

Generic click/rich machinery only — no station or hub code is imported here,
so either program can use it without importing the other (DESIGN §2):

- :class:`ChineseGroup` / :class:`ChineseCommand`: Chinese ``--help``
  headings (用法 / 选项 / 命令); the top group translates errors:
  our errors (:class:`sync.engine.errors.VetsyncError`), ``NotImplementedError``,
  a database error (``sync.store.rows.DatabaseError``) and ``OSError`` become one line on stderr,
  ``错误：<message>``, exit code 1 (a full disk or a disk I/O error,
  ``sync.store.rows.disk_fault``, says so in words of its own, :data:`DISK_MESSAGES`:
  the operation's transaction has rolled back); usage errors (a missing or unknown option,
  a bad value) become one Chinese line with exit code 2 that names the
  program as it was invoked (``…（查看用法：county-hub token --help）``).
  No traceback reaches the clerk.
- :class:`CliError`: raise it from a command for a refusal of the CLI's own.
- :func:`json_option` / :func:`emit_json`: ``--json`` output, a stable contract.
- :func:`console`, :func:`print_table`, :func:`print_rows`,
  :func:`print_record`: Rich tables for people.

Importing this module loads click and our error classes only: Rich and the
domain's field labels load with the first table printed, the store's error
helpers with the first error to translate (start-up time of every command).
"""

from __future__ import annotations

import datetime as _dt
import json
import re
import sys
from typing import TYPE_CHECKING, Any, Callable, Iterable

import click

from sync.engine.errors import VetsyncError

if TYPE_CHECKING:
    from rich.console import Console

__all__ = [
    "CliError",
    "ChineseHelpMixin",
    "ChineseCommand",
    "ChineseGroup",
    "usage_message",
    "json_option",
    "emit_json",
    "console",
    "print_table",
    "print_rows",
    "print_record",
    "local_time",
]


# --------------------------------------------------------------------------- errors


class CliError(click.ClickException):
    """One of our errors on its way to the clerk: ``错误：<message>``, exit 1."""

    exit_code = 1

    def show(self, file=None) -> None:
        click.echo(f"错误：{self.message}", err=True)


#: What the clerk reads when this PC's disk failed an operation (``sync.store.rows.disk_fault``).
DISK_MESSAGES = {
    "full": "本机磁盘空间不足，本次操作未保存（已有数据完好；请清理磁盘空间后重试）",
    "io": "本机磁盘读写出错（磁盘已满、超出配额或损坏），本次操作未保存（已有数据完好；请检查磁盘后重试）",
}


#: What to do about a database found damaged in the middle of a command.
CORRUPT_HINT = ("站点请用新的站点目录重建并找回未上传的修改（station-node init --recover 旧数据库 …），"
                "县中心请从备份恢复（county-hub restore）")



def _bad_value_message(message: str) -> str:
    """Chinese for the messages of click's own parameter types."""
    if m := re.match(r"(.+?) is not a valid (float|integer)(?: range)?\.?$", message):
        return f"{m.group(1)} 不是有效的{'数字' if m.group(2) == 'float' else '整数'}"
    if m := re.match(r"(.+?) is not one of (.+?)\.?$", message):
        return f"{m.group(1)} 不在可选值中（{m.group(2)}）"
    if m := re.match(r"(.+?) is not (?:in the range|a valid date)", message):
        return f"{m.group(1)} 超出范围或格式不对"
    if m := re.match(r"(?:File|Path|Directory) (.+?) does not exist\.?$", message):
        return f"{m.group(1)} 不存在"
    return message


def usage_message(e: click.UsageError, prog: str | None = None) -> str:
    """One Chinese line for a click usage error, ending with where to find the usage.

    The command path comes from the error's context; ``prog`` (the program
    name as invoked) is the fallback when the error has no context."""
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
        if param is not None:
            name = "/".join(param.opts) if isinstance(param, click.Option) else param.human_readable_name
        else:
            name = e.param_hint or ""
        msg = f"参数 {name} 无效：{_bad_value_message(e.message)}"
    elif m := re.match(r"No such command '(.+)'", e.message):
        msg = f"没有命令 {m.group(1)}"
    elif m := re.match(r"Got unexpected extra arguments? \((.*)\)", e.message):
        msg = f"多余的参数：{m.group(1)}"
    else:
        msg = e.format_message()
    if e.ctx is not None:
        path = e.ctx.command_path
    else:
        ctx = click.get_current_context(silent=True)
        path = ctx.command_path if ctx is not None else (prog or "")
    return f"{msg}（查看用法：{path} --help）" if path else msg


# --------------------------------------------------------------------------- click classes


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
            (rv[0], rv[1].replace("[required]", "[必填]").replace("[default: ", "[默认："))
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


class ChineseCommand(ChineseHelpMixin, click.Command):
    """A command with Chinese help."""


def _detect_prog_name() -> str | None:
    detect = getattr(click.utils, "_detect_program_name", None)
    try:
        return detect() if detect else None
    except Exception:  # pragma: no cover - best effort only
        return None


class ChineseGroup(ChineseHelpMixin, click.Group):
    """A command group with Chinese help; the top one also translates errors."""

    command_class = ChineseCommand
    group_class = type

    def __init__(self, *args: Any, **kwargs: Any):
        kwargs.setdefault("subcommand_metavar", "命令 [参数]...")
        super().__init__(*args, **kwargs)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except VetsyncError as exc:
            raise CliError(str(exc)) from exc
        except NotImplementedError as exc:
            raise CliError(str(exc) or "此功能尚未实现") from exc
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:  # noqa: BLE001 - a database or file error is translated, the rest re-raised
            from sync.store.rows import DatabaseError, disk_fault, is_corrupt

            if not isinstance(exc, (DatabaseError, OSError)):
                raise
            if kind := disk_fault(exc):
                raise CliError(DISK_MESSAGES[kind]) from exc
            if isinstance(exc, DatabaseError) and is_corrupt(exc):
                raise CliError(f"数据库文件已损坏（{exc}），本次操作未保存。{CORRUPT_HINT}") from exc
            if isinstance(exc, DatabaseError):
                raise CliError(f"数据库操作失败：{exc}") from exc
            where = f"：{exc.filename}" if exc.filename else ""
            raise CliError(f"文件操作失败（{exc.strerror or exc}）{where}") from exc

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        prog = prog_name or _detect_prog_name() or self.name
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.NoArgsIsHelpError as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except CliError as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.UsageError as exc:
            click.echo(f"错误：{usage_message(exc, prog)}", err=True)
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            click.echo(f"错误：{exc.format_message()}", err=True)
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("已取消", err=True)
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) else 0)


# --------------------------------------------------------------------------- options and output


def json_option(func: Callable) -> Callable:
    """``--json``: machine-readable output."""
    return click.option("--json", "as_json", is_flag=True, help="以 JSON 输出（字段名同数据表，枚举值为代码）")(func)


def _json_default(value: Any) -> Any:
    if isinstance(value, (_dt.date, _dt.datetime)):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def emit_json(data: Any) -> None:
    """Print ``data`` as indented JSON, Chinese kept readable."""
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=_json_default))


def console() -> Console:
    """A Rich console on the current stdout; wide when not a terminal, so ids are not cut."""
    from rich.console import Console

    con = Console(highlight=False)
    if not con.is_terminal:
        con = Console(highlight=False, width=max(con.width, 200))
    return con


def local_time(value: str | int | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """An ISO timestamp (with zone) or epoch milliseconds, shown in local time to the
    minute (``2026-12-01 20:43``, as every time a clerk reads); ``—`` for none."""
    if value is None or value == "":
        return "—"
    try:
        if isinstance(value, (int, float)):
            moment = _dt.datetime.fromtimestamp(value / 1000, _dt.timezone.utc)
        else:
            moment = _dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=_dt.timezone.utc)
    except (ValueError, OverflowError, OSError):
        return str(value)
    return moment.astimezone().strftime(fmt)


def print_table(
    columns: Iterable[tuple[str, str]],
    rows: Iterable[dict],
    *,
    title: str | None = None,
    empty: str = "（无记录）",
    no_wrap: Iterable[str] = (),
) -> None:
    """A Rich table of ``rows`` under ``columns`` (``[(key, Chinese heading)]``);
    ``None`` shows as ``—``."""
    rows = list(rows)
    if not rows:
        if title:
            click.echo(f"{title}：{empty}")
        else:
            click.echo(empty)
        return
    from rich.table import Table as RichTable

    keep = set(no_wrap)
    columns = list(columns)
    out = RichTable(title=title, show_lines=False)
    for key, heading in columns:
        out.add_column(heading, no_wrap=key in keep)
    for row in rows:
        out.add_row(*("—" if row.get(key) is None else str(row.get(key)) for key, _ in columns))
    console().print(out)


def print_rows(
    table: str,
    rows: Iterable[dict],
    columns: Iterable[str],
    *,
    title: str | None = None,
    extra: dict[str, Callable[[dict], str]] | None = None,
    empty: str = "（无记录）",
) -> None:
    """A Rich table of rows of a replicated ``table``: one column per field
    (heading = Chinese label), then ``extra`` computed columns ``{heading: fn(row)}``."""
    rows = list(rows)
    if not rows:
        click.echo(empty)
        return
    from rich.table import Table as RichTable

    from veterans import fields as F

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
    from rich.table import Table as RichTable

    from veterans import fields as F

    out = RichTable(title=title, show_header=True)
    out.add_column("字段", no_wrap=True)
    out.add_column("值")
    for name, value in row.items():
        if value in (None, "") or name == "deleted":
            continue
        out.add_row(F.field_label(table, name), F.display_value(table, name, value))
    console().print(out)


def _inherited_home(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A command's ``--home``, else the one its program was given before the
    command (``station-node --home DIR veteran list``), else None."""
    if value is None:
        root = ctx.find_root()
        if root is not ctx:
            value = root.params.get("home")
    return value


def make_home_option(what: str, env_var: str) -> Callable:
    """A ``--home DIR`` option decorator (every command takes one); ``what``
    names the directory for the help text, e.g. 站点目录. A program whose top
    group takes ``--home`` too passes that one to a command given none."""

    def home_option(func: Callable) -> Callable:
        return click.option(
            "--home", "home", metavar="DIR", default=None, callback=_inherited_home,
            help=f"{what}（默认取环境变量 {env_var}，否则为用户数据目录）",
        )(func)

    return home_option
