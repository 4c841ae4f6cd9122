"""``station-node plaque``: 光荣牌 hung at households (国办发〔2018〕72号) — add, list,
replace, show.

Thin: each command opens the station store and calls one function of
:mod:`station_node.records` (``add_plaque``, ``list_plaques``, ``replace_plaque``,
``get_plaque``). The rules (the hanging date not in the future, a replacement not
before it, one plaque not yet replaced per veteran) are there, and the hub applies
the same ones (``veterans.admission``).

``--json`` output: the fields of the ``plaques`` table, plus ``veteran_name``
(an object for add/replace/show, an array for list).
"""

from __future__ import annotations

import click

from station_node import lists, records
from station_node.cli_common import StationGroup, emit_json, home_option, json_option, open_station, print_record, print_rows
from station_node.lists import REF_HELP, resolving

__all__ = ["register", "plaque"]

_LIST_COLUMNS = ("id", "area", "household", "address", "hung_on", "hung_by", "signed_by", "replaced_on", "replace_reason")


def register(group: click.Group) -> None:
    """Add the ``plaque`` group to the top ``station-node`` group."""
    group.add_command(plaque)


@click.group(cls=StationGroup, help="光荣牌（按户）：登记悬挂、列表、登记更换、查看。")
def plaque() -> None:
    pass


def _named(store, rows: list[dict]) -> list[dict]:
    names = records.veteran_names(store, (r.get("veteran_id") for r in rows))
    return [{**r, "veteran_name": names.get(r.get("veteran_id"), "")} for r in rows]


@plaque.command("add", help=f"登记一户悬挂的光荣牌，输出编号。户主、住址未填时取该退役军人的姓名和住址。"
                            f"每名退役军人只能有一块未更换的光荣牌。VETERAN：{REF_HELP}。")
@click.option("--veteran", "veteran_ref", required=True, metavar="VETERAN", help="退役军人（档案编号、身份证号、姓名或列表序号）")
@click.option("--hung-on", required=True, metavar="DATE", help="悬挂日期（不晚于今天）")
@click.option("--hung-by", default=None, metavar="NAME", help="悬挂人")
@click.option("--signed-by", default=None, metavar="NAME", help="签收人")
@click.option("--household", default=None, metavar="NAME", help="户主")
@click.option("--address", default=None, metavar="TEXT", help="住址")
@click.option("--note", default=None, metavar="TEXT", help="备注")
@json_option
@home_option
def plaque_add(veteran_ref, hung_on, hung_by, signed_by, household, address, note, as_json, home):
    fields = {"hung_on": hung_on, "hung_by": hung_by, "signed_by": signed_by, "household": household,
              "address": address, "note": note}
    with open_station(home) as store, resolving(home):
        vet = lists.veteran_ref(store, home, veteran_ref)
        row = records.add_plaque(store, vet["id"], {k: v for k, v in fields.items() if v is not None})
        row = _named(store, [row])[0]
    if as_json:
        emit_json(row)
    else:
        click.echo(row["id"])


@plaque.command("list", help="列出本站范围内的光荣牌（按悬挂日期）。")
@click.option("--area", default=None, metavar="CODE", help="只列该区划代码下的")
@json_option
@home_option
def plaque_list(area, as_json, home):
    with open_station(home) as store:
        rows = _named(store, records.list_plaques(store, area=area))
    if as_json:
        emit_json(rows)
        return
    print_rows("plaques", rows, _LIST_COLUMNS, title=f"光荣牌（{len(rows)}块）",
               extra={"退役军人": lambda r: r.get("veteran_name") or ""})


@plaque.command("replace", help="登记光荣牌已更换：更换日期和原因（如 褪色、损坏）。新悬挂的光荣牌另用 plaque add 登记。")
@click.argument("plaque_id", metavar="ID")
@click.option("--on", "on", required=True, metavar="DATE", help="更换日期（不早于悬挂日期，不晚于今天）")
@click.option("--reason", required=True, metavar="TEXT", help="更换原因")
@json_option
@home_option
def plaque_replace(plaque_id, on, reason, as_json, home):
    with open_station(home) as store:
        row = _named(store, [records.replace_plaque(store, plaque_id, on=on, reason=reason)])[0]
    if as_json:
        emit_json(row)
    else:
        click.echo(f"已登记更换：{row['id']}（{row.get('household') or row['veteran_name']}）")


@plaque.command("show", help="查看一块光荣牌的登记信息。")
@click.argument("plaque_id", metavar="ID")
@json_option
@home_option
def plaque_show(plaque_id, as_json, home):
    with open_station(home) as store:
        row = _named(store, [records.get_plaque(store, plaque_id)])[0]
    if as_json:
        emit_json(row)
        return
    shown = {k: v for k, v in row.items() if k != "veteran_name"}
    shown["veteran_id"] = f"{row['veteran_name']}（{row['veteran_id']}）"
    print_record("plaques", shown, title=f"光荣牌：{row.get('household') or row['veteran_name']}")


def file_notes(vet: dict) -> list[str]:
    """What ``veteran show`` points out about a file under the national collection's rules:
    已故 without a death date is allowed (older files have none) but shown."""
    notes = []
    if vet.get("status") == "deceased" and not vet.get("died_on"):
        notes.append("注意：状态为已故，去世日期未填（可用 --set 去世日期=YYYY-MM-DD 补录）")
    return notes


def plaque_lines(plaques: list[dict]) -> list[str]:
    """The 光荣牌 section of ``veteran show``: one line a plaque, by hanging date."""
    lines = ["", f"光荣牌（{len(plaques)}块）"]
    if not plaques:
        return lines + ["（无）"]
    for p in plaques:
        parts = [f"{p.get('hung_on')} 悬挂"]
        parts += [f"{label}：{p[k]}" for k, label in (("household", "户主"), ("hung_by", "悬挂人"),
                                                     ("signed_by", "签收人")) if p.get(k)]
        if p.get("replaced_on"):
            parts.append(f"{p['replaced_on']} 更换（{p.get('replace_reason') or ''}）")
        lines.append(f"  {p['id']}  " + "，".join(parts))
    return lines
