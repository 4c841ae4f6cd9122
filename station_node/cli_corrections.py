"""Correction commands of ``station-node``, added to the record groups of
:mod:`station_node.cli_records`: ``veteran restore``, ``visit edit``,
``visit delete``, ``petition edit``, and the 更正 of ``petition event``
(:func:`correct_command`, which that command hands a ``--kind 更正``).

Each command opens the store, calls one function of
:mod:`station_node.corrections` and prints the result (``--json``: the record).
Records are named as everywhere else (:mod:`station_node.lists`): a row number
of the last list, the id or its end, and a veteran's ID number or unique name
(several: the candidates are listed).
Loaded with :mod:`station_node.cli_records` (``station_node.cli.EXTENDS``):
:func:`register` adds the commands to its groups.
"""

from __future__ import annotations

import click

from station_node import cli_records, lists
from station_node.cli_common import StationCommand, emit_json, home_option, json_option, open_station

__all__ = ["register", "correct_command"]

_SET_HELP = "要修改的字段，可重复，如 --set 情况摘要=…（字段名可用中文或英文；字段= 清空）"
_ROW_REF = "序号（上次列表中的）或编号"


def register(group: click.Group) -> None:
    """Add the correction commands to the record groups (registered on ``group`` by cli_records)."""
    cli_records.veteran.add_command(veteran_restore)
    cli_records.visit.add_command(visit_edit)
    cli_records.visit.add_command(visit_delete)
    cli_records.petition.add_command(petition_edit)


def _veteran_name(store, veteran_id: str | None) -> str:
    from station_node import records

    return records.veteran_names(store, [veteran_id]).get(veteran_id, "") if veteran_id else ""


# --------------------------------------------------------------------------- veteran restore


@click.command("restore", cls=StationCommand, help="恢复已删除的退役军人档案（恢复会同步到县中心和其他站点）。"
                               f"县中心清理掉的早期删除记录不能再恢复。REF：{lists.REF_HELP}。")
@click.argument("veteran_id", metavar="REF")
@json_option
@home_option
def veteran_restore(veteran_id, as_json, home):
    from station_node import corrections

    with open_station(home) as store, lists.resolving(home):
        row, deps = corrections.restore_veteran(store, veteran_id, numbers=lists.numbers(home))
    if as_json:
        emit_json(row)
        return
    click.echo(f"已恢复：{row['id']}（{row.get('name') or ''}）")
    if deps.visits or deps.petitions:
        click.echo(f"其{deps.text()}删除时未动，仍照常关联")


# --------------------------------------------------------------------------- visits


@click.command("edit", cls=StationCommand, help="修改一条走访慰问记录，如 --set 情况摘要=…；记在了别人名下用 --veteran 改正。"
                                            f"REF：{_ROW_REF}。")
@click.argument("visit_id", metavar="REF")
@click.option("--set", "assignments", multiple=True, metavar="字段=值", help=_SET_HELP)
@click.option("--veteran", "veteran_id", metavar="REF", default=None,
              help=f"改为这名退役军人的走访（{lists.REF_HELP}）")
@json_option
@home_option
def visit_edit(visit_id, assignments, veteran_id, as_json, home):
    from station_node import corrections, records
    from veterans import fields as F

    with open_station(home) as store, lists.resolving(home):
        changes = F.parse_assignments("visits", assignments, scope=records.station_scope(store))
        row = corrections.edit_visit(store, visit_id, changes, veteran_ref=veteran_id, numbers=lists.numbers(home))
        name = _veteran_name(store, row.get("veteran_id"))
    if as_json:
        emit_json(row)
    else:
        click.echo(f"已修改走访记录：{row['id']}（{name}，{row.get('visited_on') or ''}）")


@click.command("delete", cls=StationCommand, help=f"删除一条走访慰问记录（删除会同步到县中心）。REF：{_ROW_REF}。")
@click.argument("visit_id", metavar="REF")
@json_option
@home_option
def visit_delete(visit_id, as_json, home):
    from station_node import corrections
    from veterans import fields as F

    with open_station(home) as store, lists.resolving(home):
        row = corrections.delete_visit(store, visit_id, numbers=lists.numbers(home))
        name = _veteran_name(store, row.get("veteran_id"))
    if as_json:
        emit_json(row)
    else:
        kind = F.display_value("visits", "kind", row.get("kind"))
        click.echo(f"已删除走访记录：{row['id']}（{name}，{row.get('visited_on') or ''}，{kind}）")


# --------------------------------------------------------------------------- petitions


@click.command("edit", cls=StationCommand, help="修改信访件的登记内容（信访人、联系方式、形式、收到日期、类别、摘要、承办人……），"
                            f"办理环节有误用 petition event --kind 更正。REF：{_ROW_REF}。")
@click.argument("petition_id", metavar="REF")
@click.option("--set", "assignments", multiple=True, metavar="字段=值", help=_SET_HELP)
@click.option("--veteran", "veteran_id", metavar="REF", default=None,
              help=f"改为关联这名退役军人（{lists.REF_HELP}；区划随之）")
@json_option
@home_option
def petition_edit(petition_id, assignments, veteran_id, as_json, home):
    from station_node import corrections, records
    from veterans import fields as F

    with open_station(home) as store, lists.resolving(home):
        changes = F.parse_assignments("petitions", assignments, scope=records.station_scope(store))
        row = corrections.edit_petition(store, petition_id, changes, veteran_ref=veteran_id,
                                        numbers=lists.numbers(home))
        _, _, state = records.petition_detail(store, row["id"])
    if as_json:
        emit_json(row)
    else:
        click.echo(f"已修改信访件：{row['id']}（{row.get('petitioner') or ''}），当前状态：{state.status_label}")


# --------------------------------------------------------------------------- 更正 (petition event --kind 更正)


def correct_command(petition_id, of, *, note, outcome, date, actor, as_json, home) -> None:
    """``petition event ID --kind 更正 --of EVENT --note 理由``: void a wrong step."""
    from station_node import corrections
    from veterans.values import label

    with open_station(home) as store, lists.resolving(home):
        done = corrections.correct_event(store, petition_id, of, note=note, at=date, actor=actor, outcome=outcome,
                                         numbers=lists.numbers(home))
    if as_json:
        emit_json(done.event)
        return
    what = label("event_kind", done.voided.get("kind") or "")
    click.echo(f"已登记“更正”：{done.event['id']}，作废第{done.voided_no}条“{what}”（{done.voided.get('at') or ''}），"
               f"当前状态：{done.state.status_label}")
    for anomaly in done.new_anomalies:
        click.echo(f"注意：{anomaly}（如该环节也有误，请一并更正）")
