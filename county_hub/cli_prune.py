"""``county-hub prune --before DATE [--dry-run] [--json]``: retention (PROTOCOL.md
"Retention"). Thin: parses the date, calls :func:`county_hub.retention.prune`,
prints. Plugged into ``county-hub`` by :func:`register` (called from ``county_hub.cli``).

``--json`` (a contract, fields only added): ``dry_run``, ``before``,
``requested_ms``, ``cutoff_ms``, ``cutoff``, ``previous_ms``, ``pruned_before_ms``,
``tombstones`` (per table), ``history``, ``moves``, ``holders`` (``station``,
``scope``, ``pulled``, ``oldest_ms``, ``oldest``, ``tombstones``, ``last_sync``), ``not_counted``
(``station``, ``reason``), ``stale`` (stations), ``resumed``.
"""

from __future__ import annotations

import sys
from typing import Callable

import click

# Not from county_hub.cli: that module imports this one while it loads.
from county_hub import home as home_mod
from county_hub import retention as retention_mod
from sync.engine.schema import TABLES
from veterans.labels import table_label
from vetsync_cli import ChineseCommand, emit_json, json_option, local_time, make_home_option, print_table

__all__ = ["register", "prune"]

_PHASES = {"history": "修改历史", "moves": "迁移记录"}


def _phase_label(phase: str) -> str:
    if phase.startswith("tombstones:"):
        return f"已删除记录（{table_label(phase.split(':', 1)[1])}）"
    return _PHASES.get(phase, phase)


def _progress_on_terminal() -> Callable[[str, int, int], None] | None:
    """Progress on stderr when it is a terminal (a county's first prune takes a while)."""
    if not sys.stderr.isatty():
        return None

    def show(phase: str, done: int, total: int) -> None:
        click.echo(f"\r清理中：{_phase_label(phase)} {done}/{total}", err=True, nl=done >= total)

    return show


def _show(report: retention_mod.PruneReport) -> None:
    data = report.as_json()
    plan = report.plan
    if report.resumed:
        r = report.resumed
        click.echo(f"已先完成上次未完成的清理（截止 {local_time(r.cutoff_ms, '%Y-%m-%d %H:%M')}）：删除记录 "
                   f"{sum(r.tombstones.values())} 条，修改历史 {r.history} 条，迁移记录 {r.moves} 条")
    if report.unfinished:
        click.echo(f"注意：上次清理（截止 {local_time(report.unfinished.cutoff_ms, '%Y-%m-%d %H:%M')}）未完成，"
                   "下次实际运行时会先将其完成")
    cutoff = local_time(plan.cutoff_ms, "%Y-%m-%d %H:%M")
    held = "；有站点尚未下载更早的删除，截止因此提前" if plan.cutoff_ms < plan.requested_ms else ""
    click.echo(f"清理截止：{cutoff}（要求为 {report.before.isoformat()} 之前{held}）")
    verb = "将删除" if report.dry_run else "已删除"
    click.echo(f"{verb}截止之前删除、各站点均已下载的记录：")
    rows = [{"table": table_label(t), "n": data["tombstones"][t]} for t in TABLES]
    print_table([("table", "数据表"), ("n", "条数")], rows)
    click.echo(f"{verb}截止之前的修改历史 {data['history']} 条，各站点均已下载的迁移记录 {data['moves']} 条")
    if plan.holders:
        click.echo("以下站点尚未下载截止日期前的删除，请督促其同步：")
        shown = [{"station": h.station, "last_sync": local_time(report.last_sync.get(h.station)) if
                  report.last_sync.get(h.station) else "从未同步",
                  "oldest": local_time(h.oldest_ms, "%Y-%m-%d %H:%M"), "n": h.tombstones} for h in plan.holders]
        print_table([("station", "站点"), ("last_sync", "最近同步"), ("oldest", "最早未下载的删除"), ("n", "未下载条数")],
                    shown, no_wrap=("station", "last_sync"))
    if plan.not_counted:
        click.echo("不等待的站点（证书已吊销，无法同步）：" + "、".join(s["station"] for s in plan.not_counted))
    if plan.stale_stations:
        click.echo(("清理后须重建" if not report.dry_run else "清理后将须重建") + "的站点旧数据库（重新同步时会被拒绝，"
                   "须用 station-node init --recover 重建）：" + "、".join(plan.stale_stations))
    if report.dry_run:
        click.echo("演练：未写入任何数据。")
    else:
        click.echo(f"各站点下次同步时删除截止 {local_time(data['pruned_before_ms'], '%Y-%m-%d %H:%M')} 之前的已删除记录。")


@click.command(
    "prune", cls=ChineseCommand,
    short_help="清理六个月以前的已删除记录、修改历史和迁移记录（服务运行中也可）。",
    help="清理截止日期 DATE 之前的已删除记录（各站点均已下载的）、修改历史和迁移记录，服务运行中也可。"
         "截止日期至少在六个月（183 天）以前（《网络安全法》第二十一条：网络日志留存不少于六个月）；"
         "有站点尚未下载的删除时，截止时间提前到其中最早的一条，并列出这些站点。"
         "各站点下次同步时删除相应的已删除记录。",
)
@click.option("--before", "before", required=True, metavar="DATE",
              help="清理截止日期（本地时间零点），如 2025-06-01；须在六个月以前")
@click.option("--dry-run", is_flag=True, help="只列出将删除的数量、实际截止时间和拖后的站点，不写入任何数据")
@json_option
@make_home_option("县中心目录", home_mod.ENV_VAR)
def prune(before: str, dry_run: bool, as_json: bool, home: str | None) -> None:
    day = retention_mod.parse_before(before)
    report = retention_mod.prune(home_mod.resolve_home(home), day, dry_run=dry_run,
                                 progress=None if as_json else _progress_on_terminal())
    if as_json:
        emit_json(report.as_json())
        return
    _show(report)


def register(group: click.Group) -> None:
    """Add ``prune`` to the top ``county-hub`` group."""
    group.add_command(prune)
