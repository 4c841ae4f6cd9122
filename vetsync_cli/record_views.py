"""Record lists as both command lines print them (``station-node veteran/visit/petition
list/show`` and the county's read-only ``county-hub`` ones): the columns of veterans,
visits and petitions, pages (``--limit``/``--offset`` and the command of the next
page), and petitions folded a chunk at a time with the Art. 36 repeat flag.

The columns are lists built by one function per table, each column a line, so a
column is added in one place for both programs. What differs between them is
said by a keyword: the hub names a record by its 编号 (``ids``: the station's
clerk uses the row number) and lists the county's villages (``area``: a
station's own are few).

The fold of one petition is :func:`veterans.petition.fold_events` (the one
derivation); :func:`folded` only reads the events of ``chunk`` petitions at once
through :mod:`sync.store.queries` and flags a petition whose earlier one of the same
matter (``linked_to``) was closed by a 复核意见 (信访工作条例 Art. 36): every list and
page of either program says what ``petition show`` says.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
from typing import Any, Callable, Iterable, Iterator, Sequence

import click

from sync.engine.errors import NotFound
from sync.store import queries
from veterans import fields as F
from veterans import petition as petition_rules
from veterans.find import mask_id_number
from veterans.places import place_or_code
from vetsync_cli.listing import Column, render, terminal_width
from vetsync_cli.petition_view import deadline_label

__all__ = [
    "DEFAULT_LIMIT",
    "veteran_filters",
    "visit_filters",
    "petition_filters",
    "page_options",
    "window",
    "page_lines",
    "repeat",
    "field",
    "short_id",
    "veteran_columns",
    "visit_columns",
    "petition_columns",
    "conflict_columns",
    "next_due_text",
    "REPEAT_TAG",
    "folded",
    "petition_state",
    "rechecked",
    "flag_repeat",
]

#: Rows of a page when ``--limit`` is not given (human output; ``--json`` gives every row).
DEFAULT_LIMIT = 50

#: The tag of a petition whose matter was already closed by 复核 (as the station's page shows it).
REPEAT_TAG = "已复核终结的事项"
REPEAT_ANOMALY = "同一事项已经复核终结，不再受理（信访工作条例第三十六条）"

# --------------------------------------------------------------------------- filters
#
# The options of the list commands, the same in both programs (the parameters'
# names are the functions' arguments); an option is added here for both.


def _options(*options: Callable) -> Callable:
    """One decorator of several ``click.option``s, shown in the order given."""
    def decorate(func: Callable) -> Callable:
        for option in reversed(options):
            func = option(func)
        return func
    return decorate


def _area_option() -> Callable:
    return click.option("--area", metavar="CODE", default=None, help="只列此区划代码（前缀）内的")


def _veteran_option(ref_help: str) -> Callable:
    return click.option("--veteran", "veteran_id", metavar="REF", default=None, help=f"只看此退役军人的：{ref_help}")


def veteran_filters(func: Callable) -> Callable:
    """``veteran list``: --area --search --category --status --born-from --born-until --sort --full."""
    return _options(
        _area_option(),
        click.option("--search", metavar="TEXT", default=None,
                     help="在姓名、身份证号、电话、住址中查找；或姓名拼音、首字母（zs、zhangsan）"),
        click.option("--category", metavar="类别", default=None, help="只列此类别，如 退役士兵"),
        click.option("--status", metavar="状态", default=None, help="只列此状态：在册、迁出、已故"),
        click.option("--born-from", metavar="D", default=None, help="出生日期不早于 D"),
        click.option("--born-until", metavar="D", default=None, help="出生日期不晚于 D"),
        click.option("--sort", "order", type=click.Choice(["name", "area", "id"]), default="name",
                     help="排序：name 姓名拼音（默认）、area 区划再姓名、id 建档先后"),
        click.option("--full", is_flag=True, help="显示完整身份证号"),
    )(func)


def visit_filters(ref_help: str) -> Callable:
    """``visit list``: --veteran REF --since --until --kind --area (``ref_help``: how a veteran is named)."""
    return _options(
        _veteran_option(ref_help),
        click.option("--since", metavar="D", default=None, help="走访日期不早于 D"),
        click.option("--until", metavar="D", default=None, help="走访日期不晚于 D"),
        click.option("--kind", metavar="KIND", default=None, help="只列此方式：电话、入户、座谈、视频、其他"),
        _area_option(),
    )


def petition_filters(ref_help: str) -> Callable:
    """``petition list``: --overdue --veteran REF --since --until --class --channel --area."""
    return _options(
        click.option("--overdue", is_flag=True, help="只列有期限已超期的信访件"),
        _veteran_option(ref_help),
        click.option("--since", metavar="D", default=None, help="收到日期不早于 D"),
        click.option("--until", metavar="D", default=None, help="收到日期不晚于 D"),
        click.option("--class", "class_", metavar="CLASS", default=None, help="只列此类别：建议意见类、检举控告类、申诉求决类"),
        click.option("--channel", metavar="CH", default=None, help="只列此形式：书信、走访、电话、网络、传真"),
        _area_option(),
    )


# --------------------------------------------------------------------------- pages


def page_options(func: Callable) -> Callable:
    """``--limit N`` and ``--offset N``."""
    func = click.option("--offset", type=click.IntRange(min=0), default=0, metavar="N",
                        help="从第 N+1 条起列出（翻页：--offset 50 为第 51 条起）")(func)
    return click.option("--limit", type=click.IntRange(min=0), default=None, metavar="N",
                        help=f"最多列出 N 条（默认 {DEFAULT_LIMIT}；加 --json 时默认全部；0 为全部）")(func)


def window(limit: int | None, as_json: bool) -> int | None:
    """The page length: ``--limit`` as given; else every row for ``--json``, :data:`DEFAULT_LIMIT` for people."""
    if limit is None:
        return None if as_json else DEFAULT_LIMIT
    return limit or None


def page_lines(rows: list[dict], total: int | None, offset: int, columns: Sequence[Column], *, title: str,
               unit: str, more: str, empty: str = "（无记录）") -> list[str]:
    """The lines of one page of a list: its title with the total, the rows numbered
    (``_no``) from ``offset + 1``, and the command of the next page when there is one."""
    for n, row in enumerate(rows, start=offset + 1):
        row["_no"] = str(n)
    shown = f"第 {offset + 1}–{offset + len(rows)} {unit}" if rows else ""
    lines = [f"{title}：共 {total} {unit}" + (f"，显示{shown}" if rows and (offset or len(rows) < total) else "")]
    lines += render(columns, rows, width=terminal_width()) if rows else [empty]
    if rows and offset + len(rows) < total:
        lines.append(f"下一页：{more} --offset {offset + len(rows)}")
    return lines


def repeat(**options: Any) -> str:
    """The options of a list command again (for its next page): `` --area 440902 --full``."""
    out = []
    for name, value in options.items():
        if value in (None, False, ""):
            continue
        flag = "--" + name.replace("_", "-")
        out.append(flag if value is True else f"{flag} {_quoted(str(value))}")
    return "".join(" " + o for o in out)


def _quoted(text: str) -> str:
    return text if text and all(c.isalnum() or c in "-_./:" for c in text) else "'" + text.replace("'", "'\\''") + "'"


# --------------------------------------------------------------------------- columns


def field(table: str, name: str) -> Callable[[dict], str]:
    """A cell: the field as people read it (labels, not codes)."""
    return lambda r: F.display_value(table, name, r.get(name))


def short_id(row: dict) -> str:
    """The id's last 12 hex digits: enough to name the record in ``show``."""
    return str(row.get("id") or "").split("-")[-1]


def _area(table: str, places: dict | None) -> Callable[[dict], str]:
    """The 村/社区 cell: the place's name when the county's area list names it (``places``:
    code → name, ``sync.store.areas.area_names``), else the code."""
    return (lambda r: place_or_code(r.get("area"), places)) if places else field(table, "area")


def _number() -> Column:
    return Column("序号", lambda r: r["_no"], keep=True, align="right")


def _id() -> Column:
    return Column("编号", short_id, keep=True)


def veteran_columns(*, full: bool = False, ids: bool = False, places: dict | None = None) -> list[Column]:
    """序号 姓名 … 状态; ``full``: the whole ID number (else its middle 8 digits hidden); ``ids``: a 编号 column;
    ``places``: the place names the 村/社区 column shows."""
    id_number = (lambda r: r.get("id_number") or "") if full else (lambda r: mask_id_number(r.get("id_number")))
    return [
        _number(),
        *([_id()] if ids else []),
        Column("姓名", lambda r: r.get("name") or "", keep=True),
        Column("性别", field("veterans", "gender"), priority=3),
        Column("出生日期", field("veterans", "birth_date"), priority=7),
        Column("身份证号", id_number, priority=8),
        Column("村/社区", _area("veterans", places), priority=6),
        Column("类别", field("veterans", "category"), priority=4, wrap=True, min_width=9),
        Column("联系电话", field("veterans", "phone"), priority=5),
        Column("状态", field("veterans", "status"), priority=2),
    ]


def visit_columns(*, with_veteran: bool = True, names: dict | None = None, ids: bool = False,
                  area: bool = False, places: dict | None = None) -> list[Column]:
    """序号 走访日期 (退役军人) … 经办人; ``names``: veteran id → name for the 退役军人 column."""
    return [
        _number(),
        *([_id()] if ids else []),
        Column("走访日期", field("visits", "visited_on"), priority=9),
        *([Column("退役军人", lambda r: (names or {}).get(r.get("veteran_id"), ""), keep=True)] if with_veteran else []),
        *([Column("村/社区", _area("visits", places), priority=5)] if area else []),
        Column("方式", field("visits", "kind"), priority=8),
        Column("事由", field("visits", "occasion"), priority=6),
        Column("走访人", lambda r: r.get("visitors") or "", priority=4, wrap=True, min_width=8),
        Column("情况摘要", lambda r: r.get("summary") or "", priority=7, wrap=True, min_width=16),
        Column("慰问金", field("visits", "aid_cash"), priority=3, align="right"),
        Column("经办人", lambda r: r.get("recorded_by") or "", priority=2),  # who recorded it (not the visitors)
    ]


def next_due_text(state: petition_rules.PetitionState) -> str:
    """下一期限: the nearest running deadline and its day, marked when it is the upper
    organ's (复查/复核答复, Arts. 35–36: not this office's overdue)."""
    d = state.next_due
    return f"{deadline_label(d)} {d.due}" if d else ""


def _status_text(state: petition_rules.PetitionState) -> str:
    """The status, tagged when the matter was already closed by 复核 (Art. 36)."""
    return state.status_label + (f"（{REPEAT_TAG}）" if state.repeat_of else "")


def petition_columns(*, with_petitioner: bool = True, ids: bool = False, area: bool = False,
                     places: dict | None = None) -> list[Column]:
    """序号 收到日期 信访人 … 事项摘要 of rows holding the derived state in ``_state``."""
    return [
        _number(),
        *([_id()] if ids else []),
        Column("收到日期", field("petitions", "received_on"), priority=9),
        *([Column("信访人", lambda r: r.get("petitioner") or "", keep=True)] if with_petitioner else []),
        *([Column("村/社区", _area("petitions", places), priority=2)] if area else []),
        Column("形式", field("petitions", "channel"), priority=5),
        Column("类别", field("petitions", "class"), priority=4),
        Column("状态", lambda r: _status_text(r["_state"]), priority=8),
        Column("下一期限", lambda r: next_due_text(r["_state"]), priority=7, wrap=True, min_width=12),
        Column("超期", lambda r: "是" if r["_state"].overdue else "", priority=6),
        Column("事项摘要", lambda r: r.get("summary") or "", priority=3, wrap=True, min_width=16),
    ]


def conflict_columns(when: Callable[[Any], str] = lambda v: str(v or "")) -> list[Column]:
    """编号 类型 字段 发现时间 of open conflicts; ``when``: how 发现时间 is written."""
    return [
        Column("编号", lambda r: r.get("id") or "", keep=True),
        Column("类型", field("conflicts", "kind"), priority=3),
        Column("字段", lambda r: F.field_label(r.get("table") or "veterans", r["field"]) if r.get("field") else "",
               priority=2),
        Column("发现时间", lambda r: when(r.get("detected_at")), priority=1),
    ]


# --------------------------------------------------------------------------- petitions folded


def _events_of(store, petition_ids: list[str]) -> dict[str, list]:
    out: dict[str, list] = {}
    for state in queries.events_of(store, petition_ids):
        out.setdefault(state.values.get("petition_id"), []).append(state)
    return out


def _petition_or_none(store, petition_id: str) -> dict | None:
    try:
        return store.get("petitions", petition_id)
    except NotFound:
        return None


def rechecked(store, petition_ids: Iterable[str | None], day: _dt.date) -> set[str]:
    """Those of ``petition_ids`` closed by a 复核意见: their matter is not accepted again (Art. 36)."""
    ids = sorted({i for i in petition_ids if i})
    if not ids:
        return set()
    events = _events_of(store, ids)
    out = set()
    for pid in ids:
        earlier = _petition_or_none(store, pid)
        if earlier is not None and petition_rules.fold_events(earlier, events.get(pid, []), today=day)[1].rechecked:
            out.add(pid)
    return out


def flag_repeat(pet: dict, state: petition_rules.PetitionState, closed: set[str]) -> petition_rules.PetitionState:
    """The state of a petition whose earlier petition (``linked_to``) is among ``closed``
    (closed by a 复核意见, :func:`rechecked`), flagged: ``repeat_of`` and an anomaly."""
    linked = pet.get("linked_to")
    if not linked or linked == pet.get("id") or linked not in closed:
        return state
    return dataclasses.replace(state, repeat_of=linked, anomalies=(*state.anomalies, REPEAT_ANOMALY))


def petition_state(store, pet: dict, day: _dt.date) -> tuple[list[dict], petition_rules.PetitionState]:
    """(its live events in history order, its state as of ``day``, flagged as a repeat)."""
    events, state = petition_rules.fold_events(pet, _events_of(store, [pet["id"]]).get(pet["id"], []), today=day)
    if pet.get("linked_to"):
        state = flag_repeat(pet, state, rechecked(store, [pet["linked_to"]], day))
    return events, state


def folded(store, pets: Iterable[dict], day: _dt.date, chunk: int = 500
           ) -> Iterator[tuple[dict, petition_rules.PetitionState]]:
    """Each petition with its derived state as of ``day`` (flagged as a repeat), the
    events read ``chunk`` petitions at a time: a county's list never holds them all."""
    batch: list[dict] = []

    def fold(batch: list[dict]) -> Iterator[tuple[dict, petition_rules.PetitionState]]:
        events = _events_of(store, [p["id"] for p in batch])
        closed = rechecked(store, (p.get("linked_to") for p in batch), day)
        for pet in batch:
            _, state = petition_rules.fold_events(pet, events.get(pet["id"], []), today=day)
            yield pet, flag_repeat(pet, state, closed)

    for pet in pets:
        batch.append(pet)
        if len(batch) >= chunk:
            yield from fold(batch)
            batch = []
    if batch:
        yield from fold(batch)
