"""Read-only record commands of ``county-hub``: ``veteran list/show``, ``visit list``,
``petition list/show`` — county-wide, with the station CLI's filters and output.

The hub holds every station's records; these commands only read them (the
pinyin name keys, a cache of the store, are kept up to date as on a station).
They read through :mod:`sync.store.queries` and fold petitions with
:func:`veterans.petition.fold_events`, the one function every petition view
calls. A 检举控告类 (confidential) petition is shown in full: the county office
is entitled to see it (a station sees only its own).

A record is named by its 编号 (the id, or its last 8 or more hex digits, shown
in the lists), a veteran also by 身份证号 or by name when the name is unique in
the county. The hub keeps no row numbers of the last list (序号 are a station's).

``--json`` is the station's: the same record dicts (``petition list``/``show``
add ``status``, ``status_label``, ``overdue``, ``next_deadline``; ``show`` also
``deadlines``, ``events``, ``anomalies``).
"""

from __future__ import annotations

import datetime as _dt
from typing import Any, Iterable

import click

# Not from county_hub.cli: that module imports this one while it loads.
from county_hub import home as home_mod
from sync.engine.errors import NotFound, ValidationError
from sync.store import namekeys, queries
from sync.store.areas import area_names
from veterans import fields as F
from veterans import find
from veterans import values as domain
from veterans.fields import parse_value
from veterans.labels import table_label
from veterans.places import place, with_area_name
from vetsync_cli import ChineseGroup, emit_json, json_option, make_home_option, print_record
from vetsync_cli.listing import Column, echo_lines, emit_json_array, render, terminal_width
from vetsync_cli.petition_view import petition_json, print_deadlines, print_timeline
from vetsync_cli.record_views import (
    conflict_columns,
    folded,
    page_lines,
    page_options,
    petition_columns,
    petition_filters,
    petition_state,
    repeat,
    short_id,
    veteran_columns,
    veteran_filters,
    visit_columns,
    visit_filters,
    window,
)

__all__ = ["register", "veteran", "visit", "petition"]

home_option = make_home_option("县中心目录", home_mod.ENV_VAR)

REF_HELP = "编号（列表中的，可只输末尾 8 位以上）、身份证号或姓名（全县唯一时）"
PLAIN_REF_HELP = "编号（列表中的，可只输末尾 8 位以上）"


def register(group: click.Group) -> None:
    """Add the read-only record groups to the top ``county-hub`` group."""
    for cmd in (veteran, visit, petition):
        group.add_command(cmd)


class _Opened:
    def __init__(self, home: str | None):
        self.home = home

    def __enter__(self):
        self.store, self.registry = home_mod.open_hub(home_mod.resolve_home(self.home))
        return self.store

    def __exit__(self, *exc) -> None:
        self.store.close()


def _county(store) -> str:
    return store.meta("county") or ""


# --------------------------------------------------------------------------- finding


def _by_tail(store, table: str, ref: find.Reference) -> str:
    ids = queries.ids_ending(store, table, ref.value)
    if not ids:
        raise NotFound(f"找不到编号以 {ref.text} 结尾的{table_label(table)}记录")
    if len(ids) > 1:
        raise ValidationError(f"编号以 {ref.text} 结尾的{table_label(table)}记录不止一条，请多输入几位")
    return ids[0]


def _no_numbers(table: str, ref: find.Reference) -> None:
    command = {"veterans": "veteran", "visits": "visit", "petitions": "petition"}[table]
    raise ValidationError(f"县中心不记列表序号：{ref.text} 不能用来指定{table_label(table)}",
                          hint=f"请用编号（county-hub {command} list 列出的编号列）")


def find_veteran(store, text: Any, *, include_deleted: bool = False) -> dict:
    """The veteran named by id (or its end), ID number, or a name unique in the county."""
    ref = find.parse_reference(text)
    if ref.kind == "id":
        return store.get("veterans", ref.value, include_deleted=include_deleted)
    if ref.kind == "tail":
        return store.get("veterans", _by_tail(store, "veterans", ref), include_deleted=include_deleted)
    if ref.kind == "number":
        _no_numbers("veterans", ref)
    if ref.kind == "id_number":
        found = queries.veterans_with_id_number(store, ref.value, include_deleted=include_deleted)
        if not found:
            raise NotFound(f"找不到身份证号为 {ref.value} 的退役军人")
        return found[0]
    found = queries.veterans_named(store, ref.value, area_prefix=_county(store) or None,
                                   include_deleted=include_deleted, limit=100)
    if not found:
        raise NotFound(f"找不到叫 {ref.value} 的退役军人", hint="可用 county-hub veteran list --search 查找")
    if len(found) > 1:
        lines = [f"叫 {ref.value} 的退役军人（{len(found)}人）："]
        lines += render(_CANDIDATE_COLUMNS, found, width=terminal_width())
        echo_lines(lines)
        raise ValidationError(f"全县有 {len(found)} 名退役军人叫 {ref.value}，请用编号或身份证号指定")
    return found[0]


def find_plain(store, table: str, text: Any) -> dict:
    """A visit or petition named by its id or the end of it."""
    ref = find.parse_reference(text)
    if ref.kind == "id":
        return store.get(table, ref.value)
    if ref.kind == "tail":
        return store.get(table, _by_tail(store, table, ref))
    if ref.kind == "number":
        _no_numbers(table, ref)
    raise NotFound(f"找不到{table_label(table)} {ref.text}：请用编号")


# --------------------------------------------------------------------------- options and pages


def _print_page(rows: list[dict], total: int, offset: int, columns: list[Column], **how: str) -> None:
    echo_lines(page_lines(rows, total, offset, columns, **how))


def _date(value: Any, what: str) -> str | None:
    return None if value in (None, "") else domain.parse_date(value, field_label=what)


def _enum(table: str, name: str, value: Any) -> str | None:
    return None if value in (None, "") else parse_value(table, name, value)


def _area(store, area: str | None) -> str | None:
    return domain.validate_area(area, scope=_county(store) or None) if area else None


_CANDIDATE_COLUMNS = [
    Column("编号", short_id, keep=True),
    Column("姓名", lambda r: r.get("name") or "", keep=True),
    Column("身份证号", lambda r: find.mask_id_number(r.get("id_number")), priority=5),
    Column("村/社区", lambda r: r.get("area") or "", priority=4),
    Column("出生日期", lambda r: r.get("birth_date") or "", priority=3),
]


# --------------------------------------------------------------------------- veteran


@click.group(cls=ChineseGroup, help="全县退役军人档案（只读）：列表、查看。")
def veteran() -> None:
    """Veteran records, county-wide, read-only."""


def _refresh_name_keys(store) -> None:
    from veterans.pinyin import name_key

    namekeys.refresh(store.rows, lambda name: tuple(name_key(name)))


@veteran.command("list", help="列出全县的退役军人（按姓名拼音排序），每页 50 人，可翻页；可按区划、类别、状态、"
                              "出生日期和关键字（姓名、身份证号、电话、住址，或姓名拼音/首字母如 zs）筛选。"
                              "身份证号中间 8 位隐去，加 --full 显示全号。编号列可用于 veteran show。")
@veteran_filters
@page_options
@json_option
@home_option
def veteran_list(area, search, category, status, born_from, born_until, order, full, limit, offset, as_json, home):
    from veterans.pinyin import is_pinyin_query, pinyin_query

    with _Opened(home) as store:
        text = find.normalize_name(search) if search and search.strip() else None
        pinyin = pinyin_query(text) if text and is_pinyin_query(text) else None
        flt = queries.VeteranFilter(
            area_prefix=_area(store, area), text=text, pinyin=pinyin,
            category=_enum("veterans", "category", category), status=_enum("veterans", "status", status),
            born_from=_date(born_from, "出生日期起"), born_until=_date(born_until, "出生日期止"))
        if order != "id" or pinyin:
            _refresh_name_keys(store)
        rows = queries.veteran_page(store, flt, order=order, limit=window(limit, as_json), offset=offset)
        places = area_names(store)
        if as_json:
            emit_json_array(with_area_name(r, places) for r in rows)
            return
        rows = list(rows)
        total = queries.count_veterans(store, flt)
    _print_page(rows, total, offset, veteran_columns(full=full, ids=True, places=places), title="全县退役军人", unit="人",
                more="county-hub veteran list" + repeat(area=area, search=search, category=category, status=status,
                                                        born_from=born_from, born_until=born_until,
                                                        sort=order if order != "name" else None, full=full,
                                                        limit=limit))


@veteran.command("show", help=f"查看一名退役军人的完整档案：档案信息、走访慰问（最新在前）、信访件及办理状态、"
                              f"未解决的冲突。REF：{REF_HELP}。")
@click.argument("veteran_id", metavar="REF")
@json_option
@home_option
def veteran_show(veteran_id, as_json, home):
    today = _dt.date.today()
    with _Opened(home) as store:
        vet = find_veteran(store, veteran_id)
        visits = list(queries.visit_page(store, veteran_id=vet["id"]))
        petitions = list(folded(store, queries.petition_page(store, veteran_id=vet["id"]), today))
        events = [s.id for s in queries.events_of(store, [p["id"] for p, _ in petitions])]
        about = [vet["id"], *(v["id"] for v in visits), *(p["id"] for p, _ in petitions), *events]
        conflicts = queries.open_conflicts_about(store, about)
        places = area_names(store)
    if as_json:
        emit_json({**with_area_name(vet, places), "visits": [with_area_name(v, places) for v in visits],
                   "petitions": [with_area_name(petition_json(p, s), places) for p, s in petitions],
                   "conflicts": conflicts})
        return
    rows = [{"k": F.field_label("veterans", k),
             "v": place(v, places) if k == "area" else F.display_value("veterans", k, v)}
            for k, v in vet.items() if k != "deleted" and v not in (None, "")]
    lines = [f"退役军人档案：{vet.get('name') or ''}"]
    lines += render([Column("字段", lambda r: r["k"], keep=True), Column("值", lambda r: r["v"], wrap=True, min_width=20)],
                    rows, width=terminal_width())
    lines += ["", f"走访慰问（{len(visits)}次，最新在前）"]
    lines += _numbered(visits, visit_columns(with_veteran=False, ids=True, area=True, places=places)) if visits else ["（无）"]
    lines += ["", f"信访件（{len(petitions)}件）"]
    lines += _numbered([{**p, "_state": s} for p, s in petitions],
                       petition_columns(ids=True, area=True, places=places)) if petitions else ["（无）"]
    lines += ["", f"未解决的冲突（{len(conflicts)}个）"]
    lines += render(conflict_columns(), conflicts, width=terminal_width()) if conflicts else ["（无）"]
    if conflicts:
        lines.append("查看与处理：county-hub conflicts show 编号")
    echo_lines(lines)


def _numbered(rows: list[dict], columns: list[Column]) -> list[str]:
    return render(columns, [{**r, "_no": str(n)} for n, r in enumerate(rows, start=1)], width=terminal_width())


# --------------------------------------------------------------------------- visit


@click.group(cls=ChineseGroup, help="全县走访慰问记录（只读）：列表。")
def visit() -> None:
    """Visit records, county-wide, read-only."""


def _names(store, ids: Iterable[str]) -> dict[str, str]:
    wanted = sorted({i for i in ids if i})
    loaded = store.load_many("veterans", wanted) if wanted else {}
    return {i: (state.values.get("name") or "") for i, (state, _) in loaded.items()}


@visit.command("list", help="列出全县的走访慰问记录（最新在前），每页 50 条，可翻页；可只看一名退役军人的"
                            "（--veteran 张三），按日期范围、方式和区划筛选。")
@visit_filters(REF_HELP)
@page_options
@json_option
@home_option
def visit_list(veteran_id, since, until, kind, area, limit, offset, as_json, home):
    with _Opened(home) as store:
        vet = find_veteran(store, veteran_id, include_deleted=True) if veteran_id else None
        args = dict(veteran_id=vet["id"] if vet else None, since=_date(since, "起始日期"), until=_date(until, "截止日期"),
                    kind=_enum("visits", "kind", kind), area_prefix=_area(store, area))
        rows = queries.visit_page(store, **args, limit=window(limit, as_json), offset=offset)
        places = area_names(store)
        if as_json:
            emit_json_array(with_area_name(r, places) for r in rows)
            return
        rows = list(rows)
        total = queries.count_visits(store, **args)
        names = _names(store, (r.get("veteran_id") for r in rows))
    title = f"走访慰问：{vet.get('name') or ''}" if vet else "全县走访慰问"
    columns = visit_columns(with_veteran=vet is None, names=names, ids=True, area=True, places=places)
    _print_page(rows, total, offset, columns, title=title, unit="次",
                more="county-hub visit list" + repeat(veteran=veteran_id, since=since, until=until, kind=kind,
                                                      area=area, limit=limit))


# --------------------------------------------------------------------------- petition


@click.group(cls=ChineseGroup, help="全县信访件（只读）：列表（含办理期限）、详情。检举控告类（保密）信访件县中心可见，"
                                    "信访人和内容照常显示。")
def petition() -> None:
    """Petition records, county-wide, read-only."""


@petition.command("list", help="列出全县的信访件（最新收到的在前），含当前状态和下一个办理期限，每页 50 件，可翻页；"
                               "--overdue 只列超期的；可只看一名退役军人的（--veteran 张三），按收到日期范围、"
                               "类别、形式、区划筛选。检举控告类（保密）信访件也列出：县中心可见。")
@petition_filters(REF_HELP)
@page_options
@json_option
@home_option
def petition_list(overdue, veteran_id, since, until, class_, channel, area, limit, offset, as_json, home):
    today = _dt.date.today()
    with _Opened(home) as store:
        vet = find_veteran(store, veteran_id, include_deleted=True) if veteran_id else None
        args = dict(veteran_id=vet["id"] if vet else None, since=_date(since, "起始日期"), until=_date(until, "截止日期"),
                    class_=_enum("petitions", "class", class_), channel=_enum("petitions", "channel", channel),
                    area_prefix=_area(store, area))
        size = window(limit, as_json)
        places = area_names(store)
        if overdue:  # every petition of the filter is folded to know; the page is cut from the overdue ones
            found = [(p, s) for p, s in folded(store, queries.petition_page(store, **args), today) if s.overdue]
            total = len(found)
            rows = found[offset:None if size is None else offset + size]
        else:
            rows = list(folded(store, queries.petition_page(store, **args, limit=size, offset=offset), today))
            total = None if as_json else queries.count_petitions(store, **args)
    if as_json:
        emit_json_array(with_area_name(petition_json(p, s), places) for p, s in rows)
        return
    title = ("超期" if overdue else "") + ("信访件" if vet else "全县信访件") + (f"：{vet.get('name') or ''}" if vet else "")
    _print_page([{**p, "_state": s} for p, s in rows], total, offset,
                petition_columns(ids=True, area=True, places=places),
                title=title, unit="件",
                more="county-hub petition list" + repeat(overdue=overdue, veteran=veteran_id, since=since,
                                                         until=until, **{"class": class_}, channel=channel,
                                                         area=area, limit=limit))


@petition.command("show", help=f"查看信访件详情：办理环节、当前状态、各项期限（到期日、是否完成、是否超期）。"
                               f"检举控告类（保密）信访件县中心可见。REF：{PLAIN_REF_HELP}。")
@click.argument("petition_id", metavar="REF")
@json_option
@home_option
def petition_show(petition_id, as_json, home):
    today = _dt.date.today()
    with _Opened(home) as store:
        pet = find_plain(store, "petitions", petition_id)
        events, state = petition_state(store, pet, today)
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
