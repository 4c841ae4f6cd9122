"""Record commands of ``station-node``: ``veteran``, ``visit``, ``petition``.

Each command opens the store, calls one function of
:mod:`station_node.records` and prints the result (a table or ``--json``).
Registered on the top group by :func:`register`.

A record is named as the clerk names it (:mod:`station_node.lists`): the
row number (序号) of the last list, the ID number or the name (a veteran's,
when unique in the station), or the id. Lists print a page (``--limit``,
``--offset``) that fits the terminal, through the pager on a terminal.
"""

from __future__ import annotations

import click

from station_node import records
from station_node import lists
from station_node.lists import REF_HELP, page_options, print_page, record_lines, resolving, window
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
from sync.store.areas import area_names
from veterans import fields as F
from veterans.places import place, with_area_name
from veterans.values import label
from vetsync_cli.listing import Column, echo_lines, render, terminal_width
from vetsync_cli.record_views import (
    conflict_columns,
    petition_columns,
    petition_filters,
    repeat,
    veteran_columns,
    veteran_filters,
    visit_columns,
    visit_filters,
)
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
@click.option("--area", default=None, metavar="CODE",
              help="户籍所在村/社区的区划代码（须在本站范围内；村/社区站点默认本站）")
@_set_option
@json_option
@home_option
def veteran_add(id_number, name, area, assignments, as_json, home):
    with open_station(home) as store:
        area = area or _default_area(store)
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


@veteran.command("edit", help=f"修改退役军人档案的字段，如 --set 住址=某村5号。REF：{REF_HELP}。")
@click.argument("veteran_id", metavar="REF")
@click.option("--set", "assignments", multiple=True, required=True, metavar="字段=值", help=_SET_HELP)
@json_option
@home_option
def veteran_edit(veteran_id, assignments, as_json, home):
    with open_station(home) as store, resolving(home):
        changes = F.parse_assignments("veterans", assignments, scope=records.station_scope(store))
        row = records.edit_veteran(store, lists.veteran_ref(store, home, veteran_id)["id"], changes)
    if as_json:
        emit_json(row)
    else:
        click.echo(f"已修改：{row['id']}（{row.get('name') or ''}）")


def _on_terminal() -> bool:
    import sys

    return sys.stdin.isatty()


@veteran.command("delete", help="删除退役军人档案（删除会同步到县中心）。在终端上先列出其走访记录和信访件数"
                                f"（这些不删除）并询问确认；可用 veteran restore 撤销。REF：{REF_HELP}。")
@click.argument("veteran_id", metavar="REF")
@click.option("--yes", is_flag=True, help="不询问确认（用于脚本）")
@home_option
def veteran_delete(veteran_id, yes, home):
    from station_node import corrections

    with open_station(home) as store, resolving(home):
        numbers = lists.numbers(home)
        if not yes and _on_terminal():
            vet = corrections.find_record(store, "veterans", veteran_id, numbers=numbers)
            deps = corrections.dependents(store, vet["id"])
            keeps = (f"其{deps.text()}不删除，仍保留并照常同步"
                     + ("，未办结的信访件仍须按期办理" if deps.open_petitions else "")
                     if deps.visits or deps.petitions else "其名下没有走访记录和信访件")
            click.confirm(f"将删除退役军人档案：{vet.get('name') or ''}（编号 {vet['id']}）。{keeps}；"
                          f"删除后可用 station-node veteran restore {vet['id']} 恢复。确定删除吗？",
                          abort=True, err=True)
        row, deps = corrections.delete_veteran(store, veteran_id, numbers=numbers)
    click.echo(f"已删除：{row['id']}（{row.get('name') or ''}）")
    if deps.visits or deps.petitions:
        click.echo(f"其{deps.text()}保留未删")
    click.echo(f"如需撤销：station-node veteran restore {row['id']}")


@veteran.command("show", help=f"查看一名退役军人的完整档案：档案信息、走访慰问（最新在前）、信访件及办理状态、"
                              f"未解决的冲突。REF：{REF_HELP}。")
@click.argument("veteran_id", metavar="REF")
@json_option
@home_option
def veteran_show(veteran_id, as_json, home):
    with open_station(home) as store, resolving(home):
        file = records.veteran_file(store, lists.veteran_ref(store, home, veteran_id)["id"])
        places = area_names(store)
    vet = file.veteran
    if as_json:
        emit_json({**with_area_name(vet, places), "visits": [with_area_name(v, places) for v in file.visits],
                   "petitions": [with_area_name(petition_json(p, s), places) for p, s in file.petitions],
                   "conflicts": file.conflicts, "plaques": file.plaques})
        return
    from station_node.cli_plaques import file_notes, plaque_lines

    lines = record_lines(((F.field_label("veterans", k),
                           place(v, places) if k == "area" else F.display_value("veterans", k, v))
                          for k, v in vet.items() if k != "deleted"), title=f"退役军人档案：{vet.get('name') or ''}")
    lines += file_notes(vet) + plaque_lines(file.plaques)
    nums = lists.numbers(home)
    lines += ["", f"走访慰问（{len(file.visits)}次，最新在前）"]
    lines += _numbered(file.visits, visit_columns(with_veteran=False), nums, "visits") if file.visits else ["（无）"]
    pets = [_petition_row(p, s) for p, s in file.petitions]
    lines += ["", f"信访件（{len(pets)}件）"]
    lines += _numbered(pets, petition_columns(), nums, "petitions") if pets else ["（无）"]
    lines += ["", f"未解决的冲突（{len(file.conflicts)}个）"]
    lines += render(conflict_columns(_local_minutes), file.conflicts, width=terminal_width()) if file.conflicts else ["（无）"]
    if file.conflicts:
        lines.append("查看与处理：station-node conflicts show 编号")
    echo_lines(lines)


def _numbered(rows: list[dict], columns: list[Column], nums, table: str) -> list[str]:
    """A table of rows numbered from 1, kept as the last list of ``table``."""
    rows = [{**r, "_no": str(n)} for n, r in enumerate(rows, start=1)]
    nums.remember(table, [r["id"] for r in rows], first=1)
    return render(columns, rows, width=terminal_width())


def _default_area(store) -> str:
    area = records.default_area(store)
    if area is None:
        raise ValidationError("请用 --area 指定区划代码（镇、县站点须填写，村/社区站点默认本站）")
    return area


def _local_minutes(value) -> str:
    from vetsync_cli import local_time

    return local_time(value, "%Y-%m-%d %H:%M") if value else ""


@veteran.command("list", help="列出本站的退役军人（按姓名拼音排序），每页 50 人，可翻页；可按区划、类别、状态、"
                              "出生日期和关键字（姓名、身份证号、电话、住址，或姓名拼音/首字母如 zs）筛选。"
                              "身份证号中间 8 位隐去，加 --full 显示全号。每行的序号可用于下一条命令"
                              "（如 veteran show 3）。")
@veteran_filters
@page_options
@json_option
@home_option
def veteran_list(area, search, category, status, born_from, born_until, order, full, limit, offset, as_json, home):
    with open_station(home) as store:
        page = records.veteran_page(store, area=area, search=search, category=category, status=status,
                                    born_from=born_from, born_until=born_until, order=order,
                                    limit=window(limit, as_json), offset=offset)
        places = area_names(store)
        if as_json:
            lists.emit_page_json(with_area_name(r, places) for r in page.rows)
            return
        print_page(page, veteran_columns(full=full, places=places), table="veterans", home=home, title="退役军人",
                   unit="人",
                   more="station-node veteran list" + repeat(area=area, search=search, category=category,
                                                               status=status, born_from=born_from,
                                                               born_until=born_until, sort=order if order != "name" else None,
                                                               full=full, limit=limit))


# --------------------------------------------------------------------------- visit


@click.group(cls=StationGroup, help="走访慰问记录：登记、列表。")
def visit() -> None:
    """Visit records."""


@visit.command("add", help="登记一次走访或电话慰问，输出记录编号。日期默认今天。")
@click.option("--veteran", "veteran_id", required=True, metavar="REF", help=f"退役军人：{REF_HELP}")
@click.option("--kind", required=True, metavar="KIND", help="方式：电话、入户、座谈、视频、其他")
@click.option("--date", metavar="D", default=None, help="走访日期，如 2024-02-08（默认今天）")
@click.option("--visitor", "visitors", multiple=True, metavar="NAME", help="走访人，可重复")
@click.option("--summary", metavar="TEXT", default=None, help="情况摘要")
@_set_option
@json_option
@home_option
def visit_add(veteran_id, kind, date, visitors, summary, assignments, as_json, home):
    with open_station(home) as store, resolving(home):
        extra = F.parse_assignments("visits", assignments, scope=records.station_scope(store))
        row = records.add_visit(
            store, lists.veteran_ref(store, home, veteran_id)["id"], kind, date=date,
            visitors=list(visitors) or None, summary=summary, fields=extra
        )
    if as_json:
        emit_json(row)
    else:
        click.echo(row["id"])


@visit.command("list", help="列出走访慰问记录（最新在前），每页 50 条，可翻页；可只看一名退役军人的"
                            "（--veteran 张三），按日期范围和方式筛选。每行的序号可用于下一条命令。")
@visit_filters(REF_HELP)
@page_options
@json_option
@home_option
def visit_list(veteran_id, since, until, kind, area, limit, offset, as_json, home):
    with open_station(home) as store, resolving(home):
        vet = lists.veteran_ref(store, home, veteran_id, include_deleted=True) if veteran_id else None
        page = records.visit_page(store, veteran_id=vet["id"] if vet else None, since=since, until=until, kind=kind,
                                  area=area, limit=window(limit, as_json), offset=offset)
        places = area_names(store)
        if as_json:
            lists.emit_page_json(with_area_name(r, places) for r in page.rows)
            return
        rows = list(page.rows)  # one page
        names = records.veteran_names(store, (r.get("veteran_id") for r in rows))
        several = _several_villages(store)
    page.rows = iter(rows)
    title = f"走访慰问：{vet.get('name') or ''}" if vet else "走访慰问"
    print_page(page, visit_columns(with_veteran=vet is None, names=names, area=several and vet is None,
                                   places=places), table="visits", home=home, title=title,
               unit="次", more="station-node visit list" + repeat(veteran=veteran_id, since=since, until=until,
                                                                  kind=kind, area=area, limit=limit))


# --------------------------------------------------------------------------- petition


@click.group(cls=StationGroup, help="信访件：登记、办理环节、列表（含办理期限）、详情。")
def petition() -> None:
    """Petition records."""


@petition.command("open", help="登记一件信访（同时记“登记”环节），输出编号。检举控告类自动保密。")
@click.option("--veteran", "veteran_id", metavar="REF", default=None, help=f"关联的退役军人：{REF_HELP}")
@click.option("--channel", required=True, metavar="CH", help="信访形式：书信、走访、电话、网络、传真")
@click.option("--summary", required=True, metavar="TEXT", help="事项摘要")
@click.option("--received", metavar="D", default=None, help="收到日期（默认今天）")
@click.option("--petitioner", metavar="NAME", default=None, help="信访人（默认为关联退役军人的姓名）")
@click.option("--area", metavar="CODE", default=None,
              help="区划代码（未关联退役军人时必填；村/社区站点默认本站）")
@click.option("--class", "class_", metavar="CLASS", default=None, help="类别：建议意见类、检举控告类、申诉求决类")
@_set_option
@json_option
@home_option
def petition_open(veteran_id, channel, summary, received, petitioner, area, class_, assignments, as_json, home):
    with open_station(home) as store, resolving(home):
        extra = F.parse_assignments("petitions", assignments, scope=records.station_scope(store))
        if veteran_id:
            veteran_id = lists.veteran_ref(store, home, veteran_id)["id"]
        elif area is None:
            area = records.default_area(store)
        row = records.open_petition(
            store, veteran_id=veteran_id, channel=channel, summary=summary, received=received,
            petitioner=petitioner, area=area, class_=class_, fields=extra,
        )
    if as_json:
        emit_json(row)
    else:
        click.echo(row["id"])


@petition.command("event", help="登记信访办理环节（受理、转送/交办、答复、延期、复查申请……），按信访工作条例检查。"
                                "REF：信访件的序号（上次列表中的）或编号。")
@click.argument("petition_id", metavar="REF")
@click.option("--kind", required=True, metavar="KIND", help="环节，如 受理、告知、答复、送达、延期、复查申请、听证、办结")
@click.option("--note", metavar="TEXT", default=None, help="说明（延期须写理由）")
@click.option("--outcome", metavar="O", default=None, help="答复意见：支持、解释说明、不予支持（答复必填）")
@click.option("--method", metavar="M", default=None,
              help="受理的处理方式：信访处理意见书（默认，计 60 日办理期限）、建议意见类、检举控告类、诉讼仲裁复议等法定途径")
@click.option("--days", metavar="N", default=None, help="延期的天数（1—30，必填）或听证所用天数")
@click.option("--approver", metavar="NAME", default=None, help="延期的批准人（必填）")
@click.option("--served", "served", metavar="D", default=None,
              help="信访人收到书面告知/答复的日期（延期必填；复查、复核申请期限从此日起算）")
@click.option("--date", metavar="D", default=None, help="日期（默认今天）")
@click.option("--actor", metavar="NAME", default=None, help="经办人")
@click.option("--of", "of", metavar="EVENT", default=None,
              help="更正时：要作废的环节（petition show 办理记录中的序号或环节编号）")
@json_option
@home_option
def petition_event(petition_id, kind, note, outcome, method, days, approver, served, date, actor, of, as_json, home):
    from station_node import cli_corrections, corrections

    if of is not None or corrections.is_correction(kind):
        if not corrections.is_correction(kind):
            raise ValidationError("只有“更正”环节用 --of 指明要作废的环节")
        return cli_corrections.correct_command(petition_id, of, note=note, outcome=outcome, date=date, actor=actor,
                                               as_json=as_json, home=home)
    with open_station(home) as store, resolving(home):
        event, state = records.add_petition_event(
            store, lists.petition_ref(store, home, petition_id)["id"], kind, note=note, at=date, outcome=outcome,
            actor=actor, method=method, days=days, approver=approver, served_on=served,
        )
    if as_json:
        emit_json(event)
    else:
        click.echo(f"已登记“{label('event_kind', event['kind'])}”：{event['id']}，当前状态：{state.status_label}")


def _several_villages(store) -> bool:
    """Does the station serve more than one village (a town's, the county's)? Then its visit
    and petition lists say where each one is (a village's are all its own)."""
    return len(records.station_scope(store)) < 12


def _petition_row(pet: dict, state) -> dict:
    return {**pet, "_state": state}


@petition.command("list", help="列出信访件（最新收到的在前），含当前状态和下一个办理期限，每页 50 件，可翻页；"
                               "--overdue 只列超期的；可只看一名退役军人的（--veteran 张三），按收到日期范围、"
                               "类别、形式筛选。每行的序号可用于下一条命令（如 petition show 2）。")
@petition_filters(REF_HELP)
@page_options
@json_option
@home_option
def petition_list(overdue, veteran_id, since, until, class_, channel, area, limit, offset, as_json, home):
    with open_station(home) as store, resolving(home):
        vet = lists.veteran_ref(store, home, veteran_id, include_deleted=True) if veteran_id else None
        page = records.petition_page(store, veteran_id=vet["id"] if vet else None, overdue=overdue, since=since,
                                     until=until, class_=class_, channel=channel, area=area,
                                     limit=window(limit, as_json), offset=offset)
        places = area_names(store)
        if as_json:
            lists.emit_page_json(with_area_name(petition_json(p, s), places) for p, s in page.rows)
            return
        title = ("超期" if overdue else "") + "信访件" + (f"：{vet.get('name') or ''}" if vet else "")
        print_page(page, petition_columns(area=_several_villages(store) and vet is None, places=places),
                   table="petitions", home=home, title=title, unit="件",
                   convert=lambda item: _petition_row(*item),
                   more="station-node petition list" + repeat(overdue=overdue, veteran=veteran_id, since=since,
                                                               until=until, **{"class": class_}, channel=channel,
                                                               area=area, limit=limit))


@petition.command("show", help="查看信访件详情：办理环节、当前状态、各项期限（到期日、是否完成、是否超期）。"
                               "REF：信访件的序号（上次列表中的）或编号。")
@click.argument("petition_id", metavar="REF")
@json_option
@home_option
def petition_show(petition_id, as_json, home):
    with open_station(home) as store, resolving(home):
        pet, events, state = records.petition_detail(store, lists.petition_ref(store, home, petition_id)["id"])
        places = area_names(store)
    if as_json:
        emit_json(with_area_name(petition_json(pet, state, events), places))
        return
    print_record("petitions", {**pet, "area": place(pet.get("area"), places)},
                 title=f"信访件：{pet.get('petitioner') or ''}")
    click.echo(f"当前状态：{state.status_label}" + ("（有期限已超期）" if state.overdue else ""))
    print_deadlines(state)
    print_timeline(events)
    for anomaly in state.anomalies:
        click.echo(f"注意：{anomaly}")
