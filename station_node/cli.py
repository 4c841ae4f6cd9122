"""``station-node``: the station's command line.

Thin: each command opens the station store, calls one function of
:mod:`station_node.records` (or :mod:`station_node.home`), and prints.
Errors of ours (:class:`sync.errors.VetsyncError`) become one line on stderr,
``错误：<message>``, with exit code 1; usage errors (a missing or unknown
option) become one Chinese line with exit code 2. No traceback reaches the
clerk. That machinery is shared with ``county-hub`` and lives in
:mod:`vetsync_cli`.

Output: Rich tables for people (Chinese headings from the schema labels,
enum values as Chinese labels); ``--json`` for programs — an array for
lists, an object for one record, field names of DESIGN §3, enum values as
codes. The JSON is a contract: fields are only ever added.

The record commands live in :mod:`station_node.cli_records`.
"""

from __future__ import annotations

import datetime as _dt
from contextlib import contextmanager
from typing import Callable, Iterator

import click
from rich.table import Table as RichTable

from station_node import home as home_mod
from sync.petition import Deadline, PetitionState
from sync.store import Store
from vetsync_cli import (
    ChineseCommand,
    ChineseGroup,
    CliError,
    console,
    emit_json,
    json_option,
    make_home_option,
    print_record,
    print_rows,
)

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

# The generic chrome lives in :mod:`vetsync_cli`; these names stay for the
# station's command modules.
StationError = CliError
StationCommand = ChineseCommand
StationGroup = ChineseGroup


# --------------------------------------------------------------------------- shared options and output


home_option = make_home_option("站点目录", home_mod.ENV_VAR)


@contextmanager
def open_station(home: str | None) -> Iterator[Store]:
    """The station's store for one command, closed afterwards."""
    store = home_mod.open_store(home_mod.resolve_home(home))
    try:
        yield store
    finally:
        store.close()


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


@click.group("station-node", cls=StationGroup, help="县退役军人服务站离线工作与同步工具（station-node）。")
def main() -> None:
    """Entry point of the ``station-node`` console script."""


def _init_networked(home, station: str, hub: str, token: str) -> None:
    """Enroll with the county hub (CSR over TLS pinned by the token) and
    initialise the home; see :mod:`station_node.enroll`."""
    from station_node.cli_sync import init_networked

    init_networked(home, station, hub, token)


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

from station_node import cli_roster as _cli_roster  # noqa: E402  (registers import/export)

_cli_roster.register(main)

from station_node import cli_conflicts as _cli_conflicts  # noqa: E402  (registers the conflicts commands)

_cli_conflicts.register(main)

from station_node import cli_sync as _cli_sync  # noqa: E402

_cli_sync.register(main)
