"""``station-node``: the station's command line.

Thin: each command opens the station store, calls one function of
:mod:`station_node.records` (or :mod:`station_node.home`), and prints.
Errors of ours (:class:`sync.engine.errors.VetsyncError`) become one line on stderr,
``错误：<message>``, with exit code 1; usage errors (a missing or unknown
option) become one Chinese line with exit code 2. No traceback reaches the
clerk. That machinery is shared with ``county-hub`` and lives in
:mod:`vetsync_cli`.

Output: Rich tables for people (Chinese headings from the schema labels,
enum values as Chinese labels); ``--json`` for programs — an array for
lists, an object for one record, field names of DESIGN §3, enum values as
codes. The JSON is a contract: fields are only ever added.

The shared chrome is :mod:`station_node.cli_common`; the commands live in
:mod:`station_node.cli_records`, ``cli_roster``, ``cli_conflicts`` and ``cli_sync``,
each adding its commands to :data:`main` with ``register``.

Start-up: a command module is imported only when one of its commands is
asked for (:class:`LazyGroup`, after Click's documented lazy-loading pattern;
:data:`COMMANDS` names the module of each command), so that a local command
(``veteran show``) loads neither gRPC, the generated protobuf modules,
cryptography nor the sync session, and ``--help`` of one command only its own
module. ``tests/test_cli_imports.py`` holds :data:`COMMANDS` to what each
module registers and checks, in a subprocess, what a local command imports.
"""

from __future__ import annotations

import importlib

import click

from station_node import home as home_mod
from station_node import operator
from station_node.cli_common import StationError, StationGroup, emit_json, home_option, json_option
from sync.engine.schema import writer_name

__all__ = ["main", "COMMANDS", "EXTENDS", "LazyGroup"]


# --------------------------------------------------------------------------- the group and init

#: Command name → the module whose ``register(group)`` adds it to :data:`main`.
#: A new command module: add its commands here (``init`` is defined below).
COMMANDS: dict[str, str] = {
    "veteran": "station_node.cli_records",
    "visit": "station_node.cli_records",
    "petition": "station_node.cli_records",
    "import": "station_node.cli_roster",
    "export": "station_node.cli_roster",
    "conflicts": "station_node.cli_conflicts",
    "plaque": "station_node.cli_plaques",
    "trigger": "station_node.cli_triggers", "followup": "station_node.cli_triggers",
    "sync": "station_node.cli_sync",
    "verify": "station_node.cli_sync",
    "status": "station_node.cli_sync",
    "report": "station_node.cli_sync",
    "daemon": "station_node.cli_sync",
    "renew": "station_node.cli_sync",
    "config": "station_node.cli_sync",
    "web": "station_node.cli_web",
    "user": "station_node.cli_web",
}

#: A module → the modules that add commands to its groups, loaded right after it
#: (their ``register(group)`` runs once its own has): the corrections add
#: ``veteran restore``, ``visit edit``/``delete`` and ``petition edit``.
EXTENDS: dict[str, tuple[str, ...]] = {"station_node.cli_records": ("station_node.cli_corrections",)}


class LazyGroup(StationGroup):
    """A group whose commands are registered by their modules on first use.

    ``lazy_commands`` maps a command name to a module path; the module is
    imported when that command is looked up (to run it, or for ``--help``)
    and its ``register(self)`` adds all of its commands at once. The group's
    own commands (``init``) are ordinary ones."""

    def __init__(self, *args, lazy_commands: dict[str, str] | None = None,
                 extends: dict[str, tuple[str, ...]] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy_commands = dict(lazy_commands or {})
        self.extends = dict(extends or {})
        self._loaded: set[str] = set()

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy_commands:
            self.load(self.lazy_commands[cmd_name])
        return super().get_command(ctx, cmd_name)

    def load(self, module_name: str) -> None:
        """Import one command module and let it register its commands (once)."""
        if module_name not in self._loaded:
            importlib.import_module(module_name).register(self)
            self._loaded.add(module_name)
            for extension in self.extends.get(module_name, ()):
                self.load(extension)


@click.group("station-node", cls=LazyGroup, lazy_commands=COMMANDS, extends=EXTENDS,
             help="县退役军人服务站离线工作与同步工具（station-node）。")
@click.option("--home", "home", metavar="DIR", default=None,
              help=f"站点目录，对其后的命令有效（命令自己的 --home 优先；默认取环境变量 {home_mod.ENV_VAR}，否则为用户数据目录）")
@click.option("--operator", "operator_name", metavar="NAME", default=None,
              help=f"经办人：记入本命令所写的每条记录（默认取环境变量 {operator.ENV_VAR}，否则为本机登录用户名）")
def main(home: str | None, operator_name: str | None) -> None:
    """Entry point of the ``station-node`` console script. ``--home`` here is
    read by each command's own ``--home`` when that one is not given.
    ``--operator`` (else ``VETSYNC_OPERATOR``, else the OS user) is the person
    every write of the command records (``station_node.operator``); set here
    once, for whatever command runs."""
    if operator_name is not None and not writer_name(operator_name):
        raise StationError("--operator 不能为空")
    operator.set_current(operator_name if operator_name is not None else operator.default_operator())
    # the command's person only: a caller running several commands in one process starts each afresh
    click.get_current_context().call_on_close(lambda: operator.set_current(None))


@main.command(help="初始化本站：建立站点目录和数据库。离线使用加 --offline；联网登记需 --hub 与 --token；"
                   "电脑损坏后加 --recover 旧数据库文件，从县中心重建并找回未上传的修改；"
                   "已有的站点目录（证书被吊销、过期，或离线初始化后要联网）加 --reenroll --token，换新证书并保留全部数据。")
@click.option("--station", default=None, metavar="CODE", help="本站区划代码（镇9位、村12位；联网登记时可省略，以令牌为准）")
@click.option("--offline", is_flag=True, help="不连县中心，离线初始化")
@click.option("--hub", metavar="HOST:PORT", default=None, help="县中心同步服务地址")
@click.option("--token", metavar="TOKEN", default=None, help="县中心发放的一次性登记令牌")
@click.option("--recover", "recover_db", metavar="OLD_DB", default=None,
              help="旧站点数据库文件（只读打开，不会改动）：登记后从县中心重建，再找回其中未上传的修改")
@click.option("--reenroll", is_flag=True,
              help="为已有的站点目录重新登记（需本站的新令牌；--hub 可省略，默认原县中心地址）：换新密钥和证书，"
                   "数据库和未上传的修改保留；离线初始化的站点用它联网")
@json_option
@home_option
def init(station: str | None, offline: bool, hub: str | None, token: str | None, recover_db: str | None,
         reenroll: bool, as_json: bool, home: str | None) -> None:
    where = home_mod.resolve_home(home)
    if reenroll:
        if offline or recover_db:
            raise StationError("--reenroll 不能与 --offline/--recover 同时使用")
        if not token:
            raise StationError("重新登记需要 --token TOKEN（县中心为本站新发的登记令牌）")
        from station_node import cli_sync  # the network: gRPC and cryptography, only here

        cli_sync.init_reenroll(where, station, hub, token, as_json=as_json)
        return
    if offline:
        if hub or token or recover_db:
            raise StationError("--offline 不能与 --hub/--token/--recover 同时使用")
        if not station:
            raise StationError("离线初始化需要 --station CODE")
        store = home_mod.init_offline(where, station)
        try:
            code = store.meta("station")
        finally:
            store.close()
        if as_json:
            emit_json({"station": code, "scope": code, "mode": "offline", "home": str(where)})
        else:
            click.echo(f"已初始化站点 {code}（离线），目录：{where}")
        return
    if not (hub and token):
        raise StationError("联网初始化需要 --hub HOST:PORT --token TOKEN（仅离线使用请加 --offline）")
    # enroll over TLS pinned by the token (and, with --recover, rebuild and re-apply the old file's edits)
    from station_node import cli_sync  # the network: gRPC and cryptography, only here

    cli_sync.init_networked(where, station, hub, token, recover=recover_db, as_json=as_json)
