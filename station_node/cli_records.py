"""Record commands of ``station-node``: ``veteran``, ``visit``, ``petition``.

Each command opens the store, calls one function of
:mod:`station_node.records` and prints the result (Rich table or ``--json``).
Registered on the top group by :func:`register`.
"""

from __future__ import annotations

import click

from station_node import records
from station_node.cli_common import (
    StationGroup,
    emit_json,
    home_option,
    json_option,
    open_station,
    petition_json,
    print_deadlines,
    print_record,
    print_timeline,
    print_rows,
)
from veterans import fields as F
from veterans.values import label
from sync.engine.errors import ValidationError

__all__ = ["register", "veteran", "visit", "petition"]

_SET_HELP = "设置其他字段，可重复，如 --set 联系电话=13800138000（字段名可用中文或英文）"


def _set_option(func):
    return click.option("--set", "assignments", multiple=True, metavar="字段=值", help=_SET_HELP)(func)


def register(group: click.Group) -> None:
    """Add the record command groups to the top ``station-node`` group."""
    for cmd in (veteran, visit, petition):
        group.add_command(cmd)


# --------------------------------------------------------------------------- veteran


@click.group(cls=StationGroup, help="退役军人档案（建档立卡）：登记、修改、删除、查看、列表。")
def veteran() -> None:
    """Veteran records."""


@veteran.command("add", help="登记一名退役军人，输出新档案编号。出生日期和性别未填时按身份证号补全。")
@click.option("--id-number", required=True, metavar="N", help="公民身份号码（18位）")
@click.option("--name", required=True, metavar="NAME", help="姓名")
@click.option("--area", required=True, metavar="CODE", help="户籍所在村/社区的区划代码（须在本站范围内）")
@_set_option
@json_option
@home_option
def veteran_add(id_number, name, area, assignments, as_json, home):
    with open_station(home) as store:
        values = F.parse_assignments("veterans", assignments, scope=records.station_scope(store))
        for dup, option in (("id_number", "--id-number"), ("name", "--name"), ("area", "--area")):
            if dup in values:
                raise ValidationError(f"{F.field_label('veterans', dup)}请用 {option} 指定，不要用 --set")
        values.update(id_number=id_number, name=name, area=area)
        row = records.add_veteran(store, values)
    if as_json:
        emit_json(row)
    else:
        click.echo(row["id"])


@veteran.command("edit", help="修改退役军人档案的字段，如 --set 住址=某村5号。")
@click.argument("veteran_id", metavar="ID")
@click.option("--set", "assignments", multiple=True, required=True, metavar="字段=值", help=_SET_HELP)
@json_option
@home_option
def veteran_edit(veteran_id, assignments, as_json, home):
    with open_station(home) as store:
        changes = F.parse_assignments("veterans", assignments, scope=records.station_scope(store))
        row = records.edit_veteran(store, veteran_id, changes)
    if as_json:
        emit_json(row)
    else:
        click.echo(f"已修改：{row['id']}（{row.get('name') or ''}）")


def _on_terminal() -> bool:
    import sys

    return sys.stdin.isatty()


@veteran.command("delete", help="删除退役军人档案（删除会同步到县中心）。在终端上先列出其走访记录和信访件数"
                                "（这些不删除）并询问确认；可用 veteran restore 撤销。")
@click.argument("veteran_id", metavar="ID")
@click.option("--yes", is_flag=True, help="不询问确认（用于脚本）")
@home_option
def veteran_delete(veteran_id, yes, home):
    from station_node import corrections

    with open_station(home) as store:
        if not yes and _on_terminal():
            vet = corrections.find_record(store, "veterans", veteran_id)
            deps = corrections.dependents(store, vet["id"])
            keeps = (f"其{deps.text()}不删除，仍保留并照常同步"
                     + ("，未办结的信访件仍须按期办理" if deps.open_petitions else "")
                     if deps.visits or deps.petitions else "其名下没有走访记录和信访件")
            click.confirm(f"将删除退役军人档案：{vet.get('name') or ''}（编号 {vet['id']}）。{keeps}；"
                          f"删除后可用 station-node veteran restore {vet['id']} 恢复。确定删除吗？",
                          abort=True, err=True)
        row, deps = corrections.delete_veteran(store, veteran_id)
    click.echo(f"已删除：{row['id']}（{row.get('name') or ''}）")
    if deps.visits or deps.petitions:
        click.echo(f"其{deps.text()}保留未删")
    click.echo(f"如需撤销：station-node veteran restore {row['id']}")


@veteran.command("show", help="查看一名退役军人的档案。")
@click.argument("veteran_id", metavar="ID")
@json_option
@home_option
def veteran_show(veteran_id, as_json, home):
    with open_station(home) as store:
        row = records.get_veteran(store, veteran_id)
    if as_json:
        emit_json(row)
    else:
        print_record("veterans", row, title=f"退役军人档案：{row.get('name') or ''}")


_VETERAN_COLUMNS = ("id", "name", "gender", "birth_date", "id_number", "area", "category", "phone", "status")


@veteran.command("list", help="列出本站的退役军人，可按区划和关键字（姓名、身份证号、电话、住址）筛选。")
@click.option("--area", metavar="CODE", default=None, help="只列此区划代码（前缀）内的")
@click.option("--search", metavar="TEXT", default=None, help="在姓名、身份证号、电话、住址中查找")
@json_option
@home_option
def veteran_list(area, search, as_json, home):
    with open_station(home) as store:
        rows = records.list_veterans(store, area=area, search=search)
    if as_json:
        emit_json(rows)
    else:
        print_rows("veterans", rows, _VETERAN_COLUMNS, title=f"退役军人（{len(rows)}人）")


# --------------------------------------------------------------------------- visit


@click.group(cls=StationGroup, help="走访慰问记录：登记、列表。")
def visit() -> None:
    """Visit records."""


@visit.command("add", help="登记一次走访或电话慰问，输出记录编号。日期默认今天。")
@click.option("--veteran", "veteran_id", required=True, metavar="ID", help="退役军人档案编号")
@click.option("--kind", required=True, metavar="KIND", help="方式：电话、入户、座谈、视频、其他")
@click.option("--date", metavar="D", default=None, help="走访日期，如 2024-02-08（默认今天）")
@click.option("--visitor", "visitors", multiple=True, metavar="NAME", help="走访人，可重复")
@click.option("--summary", metavar="TEXT", default=None, help="情况摘要")
@_set_option
@json_option
@home_option
def visit_add(veteran_id, kind, date, visitors, summary, assignments, as_json, home):
    with open_station(home) as store:
        extra = F.parse_assignments("visits", assignments, scope=records.station_scope(store))
        row = records.add_visit(
            store, veteran_id, kind, date=date, visitors=list(visitors) or None, summary=summary, fields=extra
        )
    if as_json:
        emit_json(row)
    else:
        click.echo(row["id"])


@visit.command("list", help="列出走访慰问记录（最新在前），可只看一名退役军人的。")
@click.option("--veteran", "veteran_id", metavar="ID", default=None, help="退役军人档案编号")
@json_option
@home_option
def visit_list(veteran_id, as_json, home):
    with open_station(home) as store:
        rows = records.list_visits(store, veteran_id)
        names = records.veteran_names(store, (r.get("veteran_id") for r in rows))
    if as_json:
        emit_json(rows)
        return
    print_rows(
        "visits",
        rows,
        ("id", "visited_on"),
        title=f"走访慰问（{len(rows)}次）",
        extra={
            "退役军人": lambda r: names.get(r.get("veteran_id"), r.get("veteran_id") or ""),
            "方式": lambda r: F.display_value("visits", "kind", r.get("kind")),
            "事由": lambda r: F.display_value("visits", "occasion", r.get("occasion")),
            "走访人": lambda r: r.get("visitors") or "",
            "情况摘要": lambda r: r.get("summary") or "",
        },
    )


# --------------------------------------------------------------------------- petition


@click.group(cls=StationGroup, help="信访件：登记、办理环节、列表（含办理期限）、详情。")
def petition() -> None:
    """Petition records."""


@petition.command("open", help="登记一件信访（同时记“登记”环节），输出编号。检举控告类自动保密。")
@click.option("--veteran", "veteran_id", metavar="ID", default=None, help="关联的退役军人档案编号")
@click.option("--channel", required=True, metavar="CH", help="信访形式：书信、走访、电话、网络、传真")
@click.option("--summary", required=True, metavar="TEXT", help="事项摘要")
@click.option("--received", metavar="D", default=None, help="收到日期（默认今天）")
@click.option("--petitioner", metavar="NAME", default=None, help="信访人（默认为关联退役军人的姓名）")
@click.option("--area", metavar="CODE", default=None, help="区划代码（未关联退役军人时必填）")
@click.option("--class", "class_", metavar="CLASS", default=None, help="类别：建议意见类、检举控告类、申诉求决类")
@_set_option
@json_option
@home_option
def petition_open(veteran_id, channel, summary, received, petitioner, area, class_, assignments, as_json, home):
    with open_station(home) as store:
        extra = F.parse_assignments("petitions", assignments, scope=records.station_scope(store))
        row = records.open_petition(
            store, veteran_id=veteran_id, channel=channel, summary=summary, received=received,
            petitioner=petitioner, area=area, class_=class_, fields=extra,
        )
    if as_json:
        emit_json(row)
    else:
        click.echo(row["id"])


@petition.command("event", help="登记信访办理环节（受理、转送/交办、答复、延期、复查申请……），按信访工作条例检查。")
@click.argument("petition_id", metavar="ID")
@click.option("--kind", required=True, metavar="KIND", help="环节，如 受理、答复、延期、复查申请、办结")
@click.option("--note", metavar="TEXT", default=None, help="说明（延期须写理由）")
@click.option("--outcome", metavar="O", default=None, help="答复意见：支持、解释说明、不予支持")
@click.option("--date", metavar="D", default=None, help="日期（默认今天）")
@click.option("--actor", metavar="NAME", default=None, help="经办人")
@click.option("--of", "of", metavar="EVENT", default=None,
              help="更正时：要作废的环节（petition show 办理记录中的序号或环节编号）")
@json_option
@home_option
def petition_event(petition_id, kind, note, outcome, date, actor, of, as_json, home):
    from station_node import cli_corrections, corrections

    if of is not None or corrections.is_correction(kind):
        if not corrections.is_correction(kind):
            raise ValidationError("只有“更正”环节用 --of 指明要作废的环节")
        return cli_corrections.correct_command(petition_id, of, note=note, outcome=outcome, date=date, actor=actor,
                                               as_json=as_json, home=home)
    with open_station(home) as store:
        event, state = records.add_petition_event(
            store, petition_id, kind, note=note, at=date, outcome=outcome, actor=actor
        )
    if as_json:
        emit_json(event)
    else:
        click.echo(f"已登记“{label('event_kind', event['kind'])}”：{event['id']}，当前状态：{state.status_label}")


def _next_due_text(state) -> str:
    d = state.next_due
    return f"{d.what} {d.due}" if d else ""


@petition.command("list", help="列出信访件，含当前状态和下一个办理期限；--overdue 只列超期的。")
@click.option("--overdue", is_flag=True, help="只列有期限已超期的信访件")
@json_option
@home_option
def petition_list(overdue, as_json, home):
    with open_station(home) as store:
        items = records.list_petitions(store, overdue=overdue)
    if as_json:
        emit_json([petition_json(p, s) for p, s in items])
        return
    states = {p["id"]: s for p, s in items}
    print_rows(
        "petitions",
        [p for p, _ in items],
        ("id", "received_on", "petitioner", "channel", "class"),
        title=f"{'超期' if overdue else ''}信访件（{len(items)}件）",
        extra={
            "状态": lambda r: states[r["id"]].status_label,
            "下一期限": lambda r: _next_due_text(states[r["id"]]),
            "超期": lambda r: "是" if states[r["id"]].overdue else "",
        },
    )


@petition.command("show", help="查看信访件详情：办理环节、当前状态、各项期限（到期日、是否完成、是否超期）。")
@click.argument("petition_id", metavar="ID")
@json_option
@home_option
def petition_show(petition_id, as_json, home):
    with open_station(home) as store:
        pet, events, state = records.petition_detail(store, petition_id)
    if as_json:
        emit_json(petition_json(pet, state, events))
        return
    print_record("petitions", pet, title=f"信访件：{pet.get('petitioner') or ''}")
    click.echo(f"当前状态：{state.status_label}" + ("（有期限已超期）" if state.overdue else ""))
    print_deadlines(state)
    print_timeline(events)
    for anomaly in state.anomalies:
        click.echo(f"注意：{anomaly}")
