"""``station-node trigger`` and ``followup``: the entry side of 常态化联系 — must-visit
triggers (必访事项: 生病住院, 家庭变故, 生活困难, 现实纠纷, 立功受奖/送喜报, 重大节日,
80岁以上生日) added, closed, deleted; a visit's follow-up marked done (闭环).

Thin: each command opens the station store and calls one function of
:mod:`station_node.triggers`; the rules there are the hub's (``veterans.admission``).
The lists (``trigger list``, ``followup list``) are ``station_node.cli_contact``'s:
:func:`register` adds these commands to a ``trigger``/``followup`` group already
registered, so that either module may load first.

``--json`` output: the fields of the ``contact_triggers`` row (of the visit for
``followup done``), plus ``veteran_name``.
"""

from __future__ import annotations

import click

from station_node import lists, records, triggers
from station_node.cli_common import StationGroup, emit_json, home_option, json_option, open_station
from station_node.lists import REF_HELP, resolving
from veterans import values as domain

__all__ = ["register", "trigger", "followup"]

_KINDS = "、".join(domain.ENUMS["trigger_kind"].values())


def register(group: click.Group) -> None:
    """Add the ``trigger`` and ``followup`` groups (or their commands, to groups of those
    names already there) to the top ``station-node`` group."""
    for mine in (trigger, followup):
        there = group.commands.get(mine.name)
        if there is None:
            group.add_command(mine)
        else:
            for command in mine.commands.values():
                there.add_command(command)


@click.group(cls=StationGroup, help="必访事项（生病住院、家庭变故等须及时走访的情况）：登记、关闭、删除。")
def trigger() -> None:
    pass


@click.group(cls=StationGroup, help="走访的后续跟进：登记完成（闭环）。")
def followup() -> None:
    pass


def _named(store, row: dict) -> dict:
    return {**row, "veteran_name": records.veteran_names(store, [row.get("veteran_id")]).get(row.get("veteran_id"), "")}


@trigger.command("add", short_help="登记一项必访事项，输出编号。", help=f"登记一项必访事项，输出编号。事由：{_KINDS}。应访期限不填时按该退役军人的联系类型推算。"
                             f"VETERAN：{REF_HELP}。")
@click.option("--veteran", "veteran_ref", required=True, metavar="VETERAN", help="退役军人（档案编号、身份证号、姓名或列表序号）")
@click.option("--kind", required=True, metavar="KIND", help=f"事由：{_KINDS}")
@click.option("--on", "on", required=True, metavar="DATE", help="发生日期（不晚于今天）")
@click.option("--due", default=None, metavar="DATE", help="应访期限（不早于发生日期；不填按联系类型推算）")
@click.option("--note", default=None, metavar="TEXT", help="说明")
@json_option
@home_option
def trigger_add(veteran_ref, kind, on, due, note, as_json, home):
    fields = {"kind": kind, "occurred_on": on, "due_by": due, "note": note}
    with open_station(home) as store, resolving(home):
        vet = lists.veteran_ref(store, home, veteran_ref)
        row = triggers.add_trigger(store, vet["id"], {k: v for k, v in fields.items() if v is not None})
        row = _named(store, row)
    if as_json:
        emit_json(row)
    else:
        click.echo(row["id"])


@trigger.command("close", help="关闭一项必访事项（情况已处理完毕）。")
@click.argument("trigger_id", metavar="ID")
@click.option("--on", "on", required=True, metavar="DATE", help="关闭日期（不早于发生日期，不晚于今天）")
@json_option
@home_option
def trigger_close(trigger_id, on, as_json, home):
    with open_station(home) as store:
        row = _named(store, triggers.close_trigger(store, trigger_id, on=on))
    if as_json:
        emit_json(row)
    else:
        click.echo(f"已关闭必访事项：{row['id']}（{row['veteran_name']}，"
                   f"{domain.label('trigger_kind', row['kind'])}）")


@trigger.command("delete", help="删除一项误登记的必访事项（删除会同步到县中心）。")
@click.argument("trigger_id", metavar="ID")
@json_option
@home_option
def trigger_delete(trigger_id, as_json, home):
    with open_station(home) as store:
        row = _named(store, triggers.delete_trigger(store, trigger_id))
    if as_json:
        emit_json({**row, "deleted": 1})
    else:
        click.echo(f"已删除必访事项：{row['id']}（{row['veteran_name']}，"
                   f"{domain.label('trigger_kind', row['kind'])}）")


@followup.command("done", short_help="登记一次走访的后续跟进已完成（闭环）。", help="登记一次走访的后续跟进已完成（闭环）。VISIT：走访记录的编号、编号末尾或 visit list 的序号。")
@click.argument("visit_ref", metavar="VISIT")
@click.option("--on", "on", required=True, metavar="DATE", help="完成日期（不早于走访日期，不晚于今天）")
@json_option
@home_option
def followup_done(visit_ref, on, as_json, home):
    with open_station(home) as store, resolving(home):
        visit = lists.visit_ref(store, home, visit_ref)
        row = _named(store, triggers.follow_up_done(store, visit, on=on))
    if as_json:
        emit_json(row)
    else:
        click.echo(f"已登记跟进完成：{row['id']}（{row['veteran_name']}，{row['follow_up_done']}）")
