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
from typing import Any, Callable, Iterable

import click

# Not from county_hub.cli: that module imports this one while it loads.
from county_hub import home as home_mod
from sync.engine.errors import NotFound, ValidationError
from sync.store import namekeys, queries
from veterans import fields as F
from veterans import find
from veterans import values as domain
from veterans.fields import parse_value
from veterans.labels import table_label
from veterans.petition import fold_events
from vetsync_cli import ChineseGroup, emit_json, json_option, make_home_option, print_record, print_table
from vetsync_cli.listing import Column, echo_lines, emit_json_array, render, terminal_width
from vetsync_cli.petition_view import deadline_text, petition_json, print_timeline

__all__ = ["register", "veteran", "visit", "petition"]

home_option = make_home_option("县中心目录", home_mod.ENV_VAR)

DEFAULT_LIMIT = 50
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


def _page_options(func: Callable) -> Callable:
    func = click.option("--offset", type=click.IntRange(min=0), default=0, metavar="N",
                        help="从第 N+1 条起列出（翻页：--offset 50 为第 51 条起）")(func)
    return click.option("--limit", type=click.IntRange(min=0), default=None, metavar="N",
                        help=f"最多列出 N 条（默认 {DEFAULT_LIMIT}；加 --json 时默认全部；0 为全部）")(func)


def _window(limit: int | None, as_json: bool) -> int | None:
    if limit is None:
        return None if as_json else DEFAULT_LIMIT
    return limit or None


def _date(value: Any, what: str) -> str | None:
    return None if value in (None, "") else domain.parse_date(value, field_label=what)


def _enum(table: str, name: str, value: Any) -> str | None:
    return None if value in (None, "") else parse_value(table, name, value)


def _area(store, area: str | None) -> str | None:
    return domain.validate_area(area, scope=_county(store) or None) if area else None


def _print_page(rows: list[dict], total: int, offset: int, columns: list[Column], *, title: str, unit: str,
                more: str) -> None:
    for n, row in enumerate(rows, start=offset + 1):
        row["_no"] = str(n)
    shown = f"第 {offset + 1}–{offset + len(rows)} {unit}" if rows else ""
    lines = [f"{title}：共 {total} {unit}" + (f"，显示{shown}" if rows and (offset or len(rows) < total) else "")]
    lines += render(columns, rows, width=terminal_width()) if rows else ["（无记录）"]
    if rows and offset + len(rows) < total:
        lines.append(f"下一页：{more} --offset {offset + len(rows)}")
    echo_lines(lines)


def _repeat(**options) -> str:
    out = []
    for name, value in options.items():
        if value in (None, False, ""):
            continue
        flag = "--" + name.replace("_", "-")
        text = str(value)
        quoted = text if all(c.isalnum() or c in "-_./:" for c in text) else "'" + text.replace("'", "'\\''") + "'"
        out.append(flag if value is True else f"{flag} {quoted}")
    return "".join(" " + o for o in out)


def _field(table: str, name: str) -> Callable[[dict], str]:
    return lambda r: F.display_value(table, name, r.get(name))


def _short_id(row: dict) -> str:
    """The id's last 12 hex digits: enough to name the record in ``show``."""
    return str(row.get("id") or "").split("-")[-1]


_CANDIDATE_COLUMNS = [
    Column("编号", _short_id, keep=True),
    Column("姓名", lambda r: r.get("name") or "", keep=True),
    Column("身份证号", lambda r: find.mask_id_number(r.get("id_number")), priority=5),
    Column("村/社区", lambda r: r.get("area") or "", priority=4),
    Column("出生日期", lambda r: r.get("birth_date") or "", priority=3),
]


# --------------------------------------------------------------------------- veteran


@click.group(cls=ChineseGroup, help="全县退役军人档案（只读）：列表、查看。")
def veteran() -> None:
    """Veteran records, county-wide, read-only."""


def _veteran_columns(full: bool) -> list[Column]:
    id_number = (lambda r: r.get("id_number") or "") if full else (lambda r: find.mask_id_number(r.get("id_number")))
    return [
        Column("序号", lambda r: r["_no"], keep=True, align="right"),
        Column("编号", _short_id, keep=True),
        Column("姓名", lambda r: r.get("name") or "", keep=True),
        Column("性别", _field("veterans", "gender"), priority=3),
        Column("出生日期", _field("veterans", "birth_date"), priority=7),
        Column("身份证号", id_number, priority=8),
        Column("村/社区", _field("veterans", "area"), priority=6),
        Column("类别", _field("veterans", "category"), priority=4, wrap=True, min_width=9),
        Column("联系电话", _field("veterans", "phone"), priority=5),
        Column("状态", _field("veterans", "status"), priority=2),
    ]


def _refresh_name_keys(store) -> None:
    from veterans.pinyin import name_key

    namekeys.refresh(store.rows, lambda name: tuple(name_key(name)))


@veteran.command("list", help="列出全县的退役军人（按姓名拼音排序），每页 50 人，可翻页；可按区划、类别、状态、"
                              "出生日期和关键字（姓名、身份证号、电话、住址，或姓名拼音/首字母如 zs）筛选。"
                              "身份证号中间 8 位隐去，加 --full 显示全号。编号列可用于 veteran show。")
@click.option("--area", metavar="CODE", default=None, help="只列此区划代码（前缀）内的")
@click.option("--search", metavar="TEXT", default=None, help="在姓名、身份证号、电话、住址中查找；或姓名拼音、首字母（zs、zhangsan）")
@click.option("--category", metavar="类别", default=None, help="只列此类别，如 退役士兵")
@click.option("--status", metavar="状态", default=None, help="只列此状态：在册、迁出、已故")
@click.option("--born-from", metavar="D", default=None, help="出生日期不早于 D")
@click.option("--born-until", metavar="D", default=None, help="出生日期不晚于 D")
@click.option("--sort", "order", type=click.Choice(["name", "area", "id"]), default="name",
              help="排序：name 姓名拼音（默认）、area 区划再姓名、id 建档先后")
@click.option("--full", is_flag=True, help="显示完整身份证号")
@_page_options
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
        rows = queries.veteran_page(store, flt, order=order, limit=_window(limit, as_json), offset=offset)
        if as_json:
            emit_json_array(rows)
            return
        rows = list(rows)
        total = queries.count_veterans(store, flt)
    _print_page(rows, total, offset, _veteran_columns(full), title="全县退役军人", unit="人",
                more="county-hub veteran list" + _repeat(area=area, search=search, category=category, status=status,
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
        petitions = list(_folded(store, queries.petition_page(store, veteran_id=vet["id"]), today))
        events = [s.id for s in queries.events_of(store, [p["id"] for p, _ in petitions])]
        about = [vet["id"], *(v["id"] for v in visits), *(p["id"] for p, _ in petitions), *events]
        conflicts = queries.open_conflicts_about(store, about)
    if as_json:
        emit_json({**vet, "visits": visits, "petitions": [petition_json(p, s) for p, s in petitions],
                   "conflicts": conflicts})
        return
    rows = [{"k": F.field_label("veterans", k), "v": F.display_value("veterans", k, v)}
            for k, v in vet.items() if k != "deleted" and v not in (None, "")]
    lines = [f"退役军人档案：{vet.get('name') or ''}"]
    lines += render([Column("字段", lambda r: r["k"], keep=True), Column("值", lambda r: r["v"], wrap=True, min_width=20)],
                    rows, width=terminal_width())
    lines += ["", f"走访慰问（{len(visits)}次，最新在前）"]
    lines += _numbered(visits, _visit_columns(with_veteran=False)) if visits else ["（无）"]
    lines += ["", f"信访件（{len(petitions)}件）"]
    lines += _numbered([{**p, "_state": s} for p, s in petitions], _petition_columns()) if petitions else ["（无）"]
    lines += ["", f"未解决的冲突（{len(conflicts)}个）"]
    lines += render(_CONFLICT_COLUMNS, conflicts, width=terminal_width()) if conflicts else ["（无）"]
    if conflicts:
        lines.append("查看与处理：county-hub conflicts show 编号")
    echo_lines(lines)


def _numbered(rows: list[dict], columns: list[Column]) -> list[str]:
    return render(columns, [{**r, "_no": str(n)} for n, r in enumerate(rows, start=1)], width=terminal_width())


_CONFLICT_COLUMNS = [
    Column("编号", lambda r: r.get("id") or "", keep=True),
    Column("类型", _field("conflicts", "kind"), priority=3),
    Column("字段", lambda r: F.field_label(r.get("table") or "veterans", r["field"]) if r.get("field") else "", priority=2),
    Column("发现时间", lambda r: str(r.get("detected_at") or ""), priority=1),
]


# --------------------------------------------------------------------------- visit


@click.group(cls=ChineseGroup, help="全县走访慰问记录（只读）：列表。")
def visit() -> None:
    """Visit records, county-wide, read-only."""


def _visit_columns(*, with_veteran: bool = True, names: dict | None = None) -> list[Column]:
    cols = [
        Column("序号", lambda r: r["_no"], keep=True, align="right"),
        Column("编号", _short_id, keep=True),
        Column("走访日期", _field("visits", "visited_on"), priority=9),
    ]
    if with_veteran:
        cols.append(Column("退役军人", lambda r: (names or {}).get(r.get("veteran_id"), ""), keep=True))
    return cols + [
        Column("村/社区", _field("visits", "area"), priority=5),
        Column("方式", _field("visits", "kind"), priority=8),
        Column("事由", _field("visits", "occasion"), priority=6),
        Column("走访人", lambda r: r.get("visitors") or "", priority=4, wrap=True, min_width=8),
        Column("情况摘要", lambda r: r.get("summary") or "", priority=7, wrap=True, min_width=16),
        Column("慰问金", _field("visits", "aid_cash"), priority=3, align="right"),
        Column("经办人", lambda r: r.get("recorded_by") or "", priority=2),
    ]


def _names(store, ids: Iterable[str]) -> dict[str, str]:
    wanted = sorted({i for i in ids if i})
    loaded = store.load_many("veterans", wanted) if wanted else {}
    return {i: (state.values.get("name") or "") for i, (state, _) in loaded.items()}


@visit.command("list", help="列出全县的走访慰问记录（最新在前），每页 50 条，可翻页；可只看一名退役军人的"
                            "（--veteran 张三），按日期范围、方式和区划筛选。")
@click.option("--veteran", "veteran_id", metavar="REF", default=None, help=f"只看此退役军人的：{REF_HELP}")
@click.option("--since", metavar="D", default=None, help="走访日期不早于 D")
@click.option("--until", metavar="D", default=None, help="走访日期不晚于 D")
@click.option("--kind", metavar="KIND", default=None, help="只列此方式：电话、入户、座谈、视频、其他")
@click.option("--area", metavar="CODE", default=None, help="只列此区划代码（前缀）内的")
@_page_options
@json_option
@home_option
def visit_list(veteran_id, since, until, kind, area, limit, offset, as_json, home):
    with _Opened(home) as store:
        vet = find_veteran(store, veteran_id, include_deleted=True) if veteran_id else None
        args = dict(veteran_id=vet["id"] if vet else None, since=_date(since, "起始日期"), until=_date(until, "截止日期"),
                    kind=_enum("visits", "kind", kind), area_prefix=_area(store, area))
        rows = queries.visit_page(store, **args, limit=_window(limit, as_json), offset=offset)
        if as_json:
            emit_json_array(rows)
            return
        rows = list(rows)
        total = queries.count_visits(store, **args)
        names = _names(store, (r.get("veteran_id") for r in rows))
    title = f"走访慰问：{vet.get('name') or ''}" if vet else "全县走访慰问"
    _print_page(rows, total, offset, _visit_columns(with_veteran=vet is None, names=names), title=title, unit="次",
                more="county-hub visit list" + _repeat(veteran=veteran_id, since=since, until=until, kind=kind,
                                                       area=area, limit=limit))


# --------------------------------------------------------------------------- petition


@click.group(cls=ChineseGroup, help="全县信访件（只读）：列表（含办理期限）、详情。检举控告类（保密）信访件县中心可见，"
                                    "信访人和内容照常显示。")
def petition() -> None:
    """Petition records, county-wide, read-only."""


def _folded(store, pets: Iterable[dict], day: _dt.date, chunk: int = 500):
    batch: list[dict] = []

    def fold(batch: list[dict]):
        events: dict[str, list] = {}
        for ev in queries.events_of(store, [p["id"] for p in batch]):
            events.setdefault(ev.values.get("petition_id"), []).append(ev)
        for pet in batch:
            yield pet, fold_events(pet, events.get(pet["id"], []), today=day)[1]

    for pet in pets:
        batch.append(pet)
        if len(batch) >= chunk:
            yield from fold(batch)
            batch = []
    if batch:
        yield from fold(batch)


def _next_due_text(state) -> str:
    d = state.next_due
    return f"{d.what} {d.due}" if d else ""


def _petition_columns() -> list[Column]:
    return [
        Column("序号", lambda r: r["_no"], keep=True, align="right"),
        Column("编号", _short_id, keep=True),
        Column("收到日期", _field("petitions", "received_on"), priority=9),
        Column("信访人", lambda r: r.get("petitioner") or "", keep=True),
        Column("村/社区", _field("petitions", "area"), priority=2),
        Column("形式", _field("petitions", "channel"), priority=5),
        Column("类别", _field("petitions", "class"), priority=4),
        Column("状态", lambda r: r["_state"].status_label, priority=8),
        Column("下一期限", lambda r: _next_due_text(r["_state"]), priority=7, wrap=True, min_width=12),
        Column("超期", lambda r: "是" if r["_state"].overdue else "", priority=6),
        Column("事项摘要", lambda r: r.get("summary") or "", priority=3, wrap=True, min_width=16),
    ]


@petition.command("list", help="列出全县的信访件（最新收到的在前），含当前状态和下一个办理期限，每页 50 件，可翻页；"
                               "--overdue 只列超期的；可只看一名退役军人的（--veteran 张三），按收到日期范围、"
                               "类别、形式、区划筛选。检举控告类（保密）信访件也列出：县中心可见。")
@click.option("--overdue", is_flag=True, help="只列有期限已超期的信访件")
@click.option("--veteran", "veteran_id", metavar="REF", default=None, help=f"只看此退役军人的：{REF_HELP}")
@click.option("--since", metavar="D", default=None, help="收到日期不早于 D")
@click.option("--until", metavar="D", default=None, help="收到日期不晚于 D")
@click.option("--class", "class_", metavar="CLASS", default=None, help="只列此类别：建议意见类、检举控告类、申诉求决类")
@click.option("--channel", metavar="CH", default=None, help="只列此形式：书信、走访、电话、网络、传真")
@click.option("--area", metavar="CODE", default=None, help="只列此区划代码（前缀）内的")
@_page_options
@json_option
@home_option
def petition_list(overdue, veteran_id, since, until, class_, channel, area, limit, offset, as_json, home):
    today = _dt.date.today()
    with _Opened(home) as store:
        vet = find_veteran(store, veteran_id, include_deleted=True) if veteran_id else None
        args = dict(veteran_id=vet["id"] if vet else None, since=_date(since, "起始日期"), until=_date(until, "截止日期"),
                    class_=_enum("petitions", "class", class_), channel=_enum("petitions", "channel", channel),
                    area_prefix=_area(store, area))
        size = _window(limit, as_json)
        if overdue:  # every petition of the filter is folded to know; the page is cut from the overdue ones
            found = [(p, s) for p, s in _folded(store, queries.petition_page(store, **args), today) if s.overdue]
            total = len(found)
            rows = found[offset:None if size is None else offset + size]
        else:
            rows = list(_folded(store, queries.petition_page(store, **args, limit=size, offset=offset), today))
            total = None if as_json else queries.count_petitions(store, **args)
    if as_json:
        emit_json_array(petition_json(p, s) for p, s in rows)
        return
    title = ("超期" if overdue else "") + ("信访件" if vet else "全县信访件") + (f"：{vet.get('name') or ''}" if vet else "")
    _print_page([{**p, "_state": s} for p, s in rows], total, offset, _petition_columns(), title=title, unit="件",
                more="county-hub petition list" + _repeat(overdue=overdue, veteran=veteran_id, since=since,
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
        events, state = fold_events(pet, list(queries.events_of(store, [pet["id"]])), today=today)
    if as_json:
        emit_json(petition_json(pet, state, events))
        return
    print_record("petitions", pet, title=f"信访件：{pet.get('petitioner') or ''}")
    click.echo(f"当前状态：{state.status_label}" + ("（有期限已超期）" if state.overdue else ""))
    print_table((("what", "期限"), ("due", "到期日"), ("state", "情况")),
                [{"what": d.what, "due": d.due.isoformat(), "state": deadline_text(d)} for d in state.deadlines],
                title="办理期限", empty="无")
    print_timeline(events)
    for anomaly in state.anomalies:
        click.echo(f"注意：{anomaly}")
