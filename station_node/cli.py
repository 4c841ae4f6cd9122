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
"""

from __future__ import annotations

import click

from station_node import cli_conflicts, cli_records, cli_roster, cli_sync
from station_node import home as home_mod
from station_node.cli_common import StationError, StationGroup, emit_json, home_option, json_option

__all__ = ["main"]


# --------------------------------------------------------------------------- the group and init


@click.group("station-node", cls=StationGroup, help="县退役军人服务站离线工作与同步工具（station-node）。")
def main() -> None:
    """Entry point of the ``station-node`` console script."""


@main.command(help="初始化本站：建立站点目录和数据库。离线使用加 --offline；联网登记需 --hub 与 --token；"
                   "电脑损坏后加 --recover 旧数据库文件，从县中心重建并找回未上传的修改。")
@click.option("--station", default=None, metavar="CODE", help="本站区划代码（镇9位、村12位；联网登记时可省略，以令牌为准）")
@click.option("--offline", is_flag=True, help="不连县中心，离线初始化")
@click.option("--hub", metavar="HOST:PORT", default=None, help="县中心同步服务地址")
@click.option("--token", metavar="TOKEN", default=None, help="县中心发放的一次性登记令牌")
@click.option("--recover", "recover_db", metavar="OLD_DB", default=None,
              help="旧站点数据库文件（只读打开，不会改动）：登记后从县中心重建，再找回其中未上传的修改")
@json_option
@home_option
def init(station: str | None, offline: bool, hub: str | None, token: str | None, recover_db: str | None,
         as_json: bool, home: str | None) -> None:
    where = home_mod.resolve_home(home)
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
    cli_sync.init_networked(where, station, hub, token, recover=recover_db, as_json=as_json)


for _commands in (cli_records, cli_roster, cli_conflicts, cli_sync):
    _commands.register(main)
