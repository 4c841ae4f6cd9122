"""The station's record operations: veterans, visits, petitions and their events.

Library code over a :class:`sync.store.station.Store` (no click, no printing). Every
input is validated through :mod:`veterans.fields` before anything is written, so
a refused call leaves the database unchanged. Writes go through
``store.write`` (stamped with this replica's HLC and marked pending for the
next push); a write of several rows runs inside one ``store.transaction()``.

The station's code and scope come from the store's meta (``station``,
``scope``; see :mod:`station_node.home`). A petition's status is never
stored: it is derived from its events by :func:`veterans.petition.fold_events`,
which also orders them (no function here orders events).

Moving a veteran (changing ``area``) does not touch its visits and
petitions here: the hub re-stamps dependents on a move (DESIGN §4), and a
local re-stamp would only race with it.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field as _field
from typing import Any, Iterable, Iterator, Protocol

from veterans import values as domain

from veterans import petition as petition_rules

from sync.store import areas, duecache, namekeys, queries
from sync.engine.errors import NotFound, StoreError, ValidationError
from veterans import find
from veterans.fields import parse_value
from veterans.labels import field_label, table_label
from veterans.admission import complete_veteran, row_problem, unlisted_area
from sync.engine.schema import table as _table
from sync.store.rows import DatabaseError
from sync.store.station import Store
from vetsync_cli import record_views

__all__ = [
    "station_code",
    "station_scope",
    "default_area",
    "check_listed_area",
    "RowNumbers",
    "find_veteran",
    "find_visit",
    "find_petition",
    "refresh_name_keys",
    "refresh_petition_dues",
    "Page",
    "veteran_page",
    "visit_page",
    "petition_page",
    "VeteranFile",
    "add_plaque",
    "replace_plaque",
    "get_plaque",
    "list_plaques",
    "soldier_of",
    "veteran_file",
    "add_veteran",
    "edit_veteran",
    "delete_veteran",
    "get_veteran",
    "veteran_names",
    "add_visit",
    "open_petition",
    "check_petition_law",
    "add_petition_event",
    "petition_detail",
    "list_petitions",
]

# Event kinds that carry an outcome (答复意见).
_REPLY_KINDS = frozenset({"reply", "review_opinion", "recheck_opinion"})


# --------------------------------------------------------------------------- helpers


def station_code(store: Store) -> str:
    code = store.meta("station")
    if not code:
        raise StoreError("数据库缺少站点信息", hint="请先运行 station-node init")
    return code


def station_scope(store: Store) -> str:
    scope = store.meta("scope")
    if not scope:
        raise StoreError("数据库缺少站点范围", hint="请先运行 station-node init")
    return scope


def default_area(store: Store) -> str | None:
    """The area a record takes when none is given: a village station's own code
    (its scope is one village); None at a town or county station (it must be said)."""
    scope = station_scope(store)
    return scope if len(scope) == 12 else None


def check_listed_area(store: Store, area: str | None) -> None:
    """Refuse an area code the county's area list (pulled from the hub) does not hold,
    when the station holds one (``veterans.admission.unlisted_area``: the hub's own rule)."""
    problem = unlisted_area(area, on_list=lambda code: not areas.unknown_areas(store, [code]),
                            has_list=lambda: areas.has_area_list(store))
    if problem:
        raise ValidationError(problem, hint="请核对区划代码；名单有误请县中心更新区划名单")


def _today(today: _dt.date | None) -> _dt.date:
    return today or _dt.date.today()


def _clean(table: str, values: dict[str, Any] | None, scope: str) -> dict[str, Any]:
    """Parse caller-supplied values; refuse fields the caller may not set."""
    t = _table(table)
    out: dict[str, Any] = {}
    for name, value in (values or {}).items():
        f = t.get(name)
        if f is None or not f.settable:
            allowed = "、".join(f"{x.name}（{field_label(t, x)}）" for x in t.fields if x.settable)
            shown = f"{name}（{field_label(t, name)}）" if f else name
            raise ValidationError(f"{table_label(t)}字段 {shown} 不能设置，可设置的字段：{allowed}")
        out[name] = parse_value(t, name, value, scope=scope)
    return out


def _no_veteran_field(fields: dict[str, Any] | None) -> None:
    if fields and "veteran_id" in fields:
        raise ValidationError("退役军人不能用 --set 设置", hint="用 --veteran 指定")


def _require(table: str, values: dict[str, Any], names: Iterable[str]) -> None:
    t = _table(table)
    missing = [field_label(t, n) for n in names if values.get(n) in (None, "")]
    if missing:
        raise ValidationError(f"{table_label(t)}缺少必填项：{'、'.join(missing)}")


def _not_future(label: str, value: str, today: _dt.date) -> None:
    if _dt.date.fromisoformat(value) > today:
        raise ValidationError(f"{label} {value} 晚于今天 {today.isoformat()}", hint="请检查电脑日期或输入")


def _put(store: Store, table: str, row_id: str, values: dict[str, Any], *, create: bool) -> dict:
    store.write(table, row_id, values, create=create)
    return store.get(table, row_id, include_deleted=True)


# --------------------------------------------------------------------------- veterans


def _check_unique_id_number(store: Store, id_number: str | None, *, own_id: str | None = None) -> None:
    if not id_number:
        return
    for other in queries.veterans(store, id_number=id_number):
        if other["id"] != own_id:
            raise ValidationError(
                f"身份证号 {id_number} 已登记：{other.get('name') or ''}（编号 {other['id']}）",
                hint="请修改已有档案，不要重复建档",
            )


def add_veteran(store: Store, fields: dict[str, Any]) -> dict:
    """File a new veteran; returns the record.

    Requires id_number, name and area (in this station's scope); refuses a
    second live veteran with the same ID number. Birth date and gender come
    from the ID number when not given, and may not contradict it; what cannot
    be true is refused (:func:`veterans.admission.complete_veteran`); status
    defaults to 在册 (active), 建档日期 to today.
    """
    values = _clean("veterans", fields, station_scope(store))
    _require("veterans", values, ("id_number", "name", "area"))
    check_listed_area(store, values["area"])
    _check_unique_id_number(store, values["id_number"])
    _resolve_soldier(store, values)
    values = complete_veteran(values)
    if values.get("status") is None:
        values["status"] = "active"
    if values.get("registered_on") is None:  # 建档日期: the day the file is opened, unless given
        values["registered_on"] = _dt.date.today().isoformat()
    row_id = domain.new_id()
    row = _put(store, "veterans", row_id, {k: v for k, v in values.items() if v is not None}, create=True)
    _keep_name_keys(store)
    return row


def _resolve_soldier(store: Store, values: dict[str, Any], *, own_id: str | None = None) -> None:
    """A family member's soldier (``soldier_id``), typed as the soldier's record id or 身份证号:
    a live veteran this station holds, not merged into another, not the person itself
    (the hub's rule too: ``veterans.admission``). Stored as the soldier's id."""
    text = values.get("soldier_id")
    if text is None:
        return
    soldier = soldier_of(store, text)
    if soldier is None:
        raise ValidationError(f"关联军人 {text} 不是本站的退役军人档案", hint="填写军人的档案编号或身份证号")
    if soldier["id"] == own_id:
        raise ValidationError("关联军人不能是本人")
    values["soldier_id"] = soldier["id"]


def soldier_of(store: Store, text: str) -> dict | None:
    """The live, unmerged veteran named by a record id or a 身份证号 (None: none here)."""
    try:
        vet = store.get("veterans", str(text).strip())
    except NotFound:
        vet = None
    if vet is None and len(str(text).strip()) == 18:
        found = queries.veterans(store, id_number=str(text).strip().upper())
        vet = found[0] if len(found) == 1 else None
    return vet if vet is not None and not vet.get("merged_into") else None


def _keep_name_keys(store: Store) -> None:
    """Key the new name now (pypinyin is loaded by this write, not by the next list).
    A cache: should it fail, the next list keys it; the write stands."""
    try:
        refresh_name_keys(store)
    except DatabaseError:
        pass


def get_veteran(store: Store, veteran_id: str) -> dict:
    """A live veteran, or NotFound."""
    return store.get("veterans", veteran_id.strip())


def edit_veteran(store: Store, veteran_id: str, changes: dict[str, Any]) -> dict:
    """Change fields of a veteran; returns the record.

    A new area must lie in this station's scope: a village station cannot
    move a veteran to another village, its town can. Required fields cannot
    be cleared, and the ID number must stay unique. A new ID number brings its
    gender and birth date unless they are given; what cannot be true is refused.
    """
    current = get_veteran(store, veteran_id)
    if not changes:
        raise ValidationError("没有要修改的字段", hint="用 --set 字段=值 指定")
    values = _clean("veterans", changes, station_scope(store))
    _require("veterans", {**current, **values}, ("id_number", "name", "area"))
    if "area" in values and values["area"] != current.get("area"):
        check_listed_area(store, values["area"])
    if "id_number" in values and values["id_number"] != current.get("id_number"):
        _check_unique_id_number(store, values["id_number"], own_id=current["id"])
    _resolve_soldier(store, values, own_id=current["id"])
    values = complete_veteran(values, current)
    row = _put(store, "veterans", current["id"], values, create=False)
    _keep_name_keys(store)
    return row


def delete_veteran(store: Store, veteran_id: str) -> dict:
    """Delete a veteran (a tombstone that syncs); returns the record as it was."""
    current = get_veteran(store, veteran_id)
    store.write("veterans", current["id"], {"deleted": 1})
    return current


def veteran_names(store: Store, ids: Iterable[str]) -> dict[str, str]:
    """``{id: name}`` of the given veterans (deleted ones included)."""
    wanted = sorted({i for i in ids if i})
    return {i: state.values.get("name") or "" for i, (state, _) in store.load_many("veterans", wanted).items()}


# --------------------------------------------------------------------------- visits


def add_visit(
    store: Store,
    veteran_id: str,
    kind: str,
    *,
    date: Any = None,
    visitors: str | Iterable[str] | None = None,
    summary: str | None = None,
    fields: dict[str, Any] | None = None,
    today: _dt.date | None = None,
) -> dict:
    """Log a visit or call to a veteran; returns the record.

    ``date`` defaults to today (a future date is refused); ``visitors`` may be
    a list of names. The visit takes the veteran's area and this station's code.
    """
    _no_veteran_field(fields)
    vet = get_veteran(store, veteran_id)
    if visitors is not None and not isinstance(visitors, str):
        visitors = "、".join(v.strip() for v in visitors if v and v.strip()) or None
    given = dict(fields or {})
    for name, value in (("kind", kind), ("visited_on", date), ("visitors", visitors), ("summary", summary)):
        if value is not None:
            given[name] = value
    values = _clean("visits", given, station_scope(store))
    values.setdefault("visited_on", None)
    if values["visited_on"] is None:
        values["visited_on"] = _today(today).isoformat()
    _require("visits", values, ("kind", "visited_on"))
    _not_future("走访日期", values["visited_on"], _today(today))
    _visit_rules(values, values.keys(), _today(today))
    values.update(veteran_id=vet["id"], area=vet["area"], station=station_code(store))
    return _put(store, "visits", domain.new_id(), {k: v for k, v in values.items() if v is not None}, create=True)


def _visit_rules(row: dict[str, Any], changed, today: _dt.date) -> None:
    """The hub's rules of a visit (``veterans.admission.row_problem``): a follow-up due and
    done not before the visit, done not in the future."""
    problem = row_problem("visits", row, frozenset(changed), latest=today.isoformat())
    if problem:
        raise ValidationError(problem)


# --------------------------------------------------------------------------- petitions


def open_petition(
    store: Store,
    *,
    channel: str,
    summary: str,
    veteran_id: str | None = None,
    received: Any = None,
    petitioner: str | None = None,
    area: str | None = None,
    class_: str | None = None,
    fields: dict[str, Any] | None = None,
    today: _dt.date | None = None,
) -> dict:
    """Register a petition and its 登记 event in one transaction; returns the petition.

    With a veteran, the petitioner defaults to the veteran's name and the
    area is the veteran's. Without one, area and petitioner are required.
    ``received`` defaults to today. A 检举控告类 petition is confidential.
    """
    scope = station_scope(store)
    _no_veteran_field(fields)
    vet = get_veteran(store, veteran_id) if veteran_id else None
    given = dict(fields or {})
    for name, value in (("channel", channel), ("summary", summary), ("received_on", received),
                        ("petitioner", petitioner), ("area", area), ("class", class_)):
        if value is not None:
            given[name] = value
    values = _clean("petitions", given, scope)
    if vet is not None:
        if values.get("area") not in (None, vet["area"]):
            raise ValidationError(
                f"区划代码 {values['area']} 与退役军人 {vet.get('name')} 的区划代码 {vet['area']} 不一致",
                hint="关联退役军人的信访件随其区划",
            )
        values["area"] = vet["area"]
        values["veteran_id"] = vet["id"]
        if not values.get("petitioner"):
            values["petitioner"] = vet.get("name")
    elif values.get("area") is None:
        raise ValidationError("未关联退役军人的信访件须指定区划代码", hint="用 --area 指定")
    else:
        check_listed_area(store, values["area"])
    if values.get("received_on") is None:
        values["received_on"] = _today(today).isoformat()
    _require("petitions", values, ("petitioner", "area", "channel", "received_on", "summary"))
    _not_future("收到日期", values["received_on"], _today(today))
    check_petition_law(store, values)
    values["confidential"] = 1 if values.get("class") == "accusation" else (values.get("confidential") or 0)
    values["station"] = station_code(store)
    values = {k: v for k, v in values.items() if v is not None}
    pid = domain.new_id()
    event = {"petition_id": pid, "area": values["area"], "at": values["received_on"], "kind": "register"}
    with store.transaction():
        store.write("petitions", pid, values, create=True)
        store.write("petition_events", domain.new_id(), event, create=True)
    return store.get("petitions", pid)


def check_petition_law(store: Store, values: dict[str, Any], *, own_id: str | None = None) -> None:
    """信访工作条例 on a petition's own fields, at entry and on every edit (``values``:
    the fields given; ``own_id``: the petition edited): at most five representatives
    of a 集体访 (Art. 20); the earlier petition of the same matter (Art. 36) exists and
    is another one."""
    reps = values.get("representatives")
    if reps is not None and not 1 <= int(reps) <= petition_rules.COLLECTIVE_MAX:
        raise ValidationError(f"代表人数 {reps} 无效：多人走访应推选代表，不超过 {petition_rules.COLLECTIVE_MAX} 人",
                              hint="信访工作条例第二十条")
    if values.get("group_size") is not None and int(values["group_size"]) < 1:
        raise ValidationError(f"人数 {values['group_size']} 无效")
    linked = values.get("linked_to")
    if linked:
        if own_id is not None and linked == own_id:
            raise ValidationError("前次信访件不能是本件", hint="填写同一事项此前的信访件编号（信访工作条例第三十六条）")
        if _petition_or_none(store, linked) is None:
            raise ValidationError(f"前次信访件 {linked} 不存在", hint="填写本站可见的信访件编号")


def _petition_or_none(store: Store, petition_id: str) -> dict | None:
    try:
        return store.get("petitions", petition_id)
    except NotFound:
        return None


def petition_detail(
    store: Store, petition_id: str, today: _dt.date | None = None
) -> tuple[dict, list[dict], petition_rules.PetitionState]:
    """(petition, its live events in history order, its derived state as of ``today``),
    both from :func:`veterans.petition.fold_events`."""
    pet = store.get("petitions", petition_id.strip())
    events, state = record_views.petition_state(store, pet, _today(today))  # flagged as a repeat (Art. 36)
    return pet, events, state


def add_petition_event(
    store: Store,
    petition_id: str,
    kind: str,
    *,
    note: str | None = None,
    at: Any = None,
    outcome: str | None = None,
    actor: str | None = None,
    method: str | None = None,
    days: Any = None,
    approver: str | None = None,
    served_on: Any = None,
    today: _dt.date | None = None,
) -> tuple[dict, petition_rules.PetitionState]:
    """Record a step in handling a petition; returns (event, state after it).

    The step must be allowed from the derived current status (信访工作条例:
    e.g. no 复核申请 before a 复查意见, one 延期 only, which needs a reason).
    ``at`` defaults to today and may be neither in the future nor before
    the petition was received. An outcome only goes with a reply or opinion;
    ``method`` (处理方式) with a 受理, ``days`` with a 延期 or 听证, ``approver`` with
    a 延期, ``served_on`` (the day the petitioner received the notice or reply)
    with a routing step, 延期, 答复, 复查意见 or 告知/送达. What each step must
    carry is :func:`veterans.petition.check_event`'s.
    """
    pet, _, state = petition_detail(store, petition_id, today)
    given = {"kind": kind, "at": at, "outcome": outcome, "actor": actor, "note": note, "method": method,
             "days": days, "approver": approver, "served_on": served_on}
    given = {k: (v.strip() if isinstance(v, str) else v) for k, v in given.items()}
    given = {k: v for k, v in given.items() if v not in (None, "")}
    values = _clean("petition_events", {k: v for k, v in given.items() if v is not None}, station_scope(store))
    _require("petition_events", values, ("kind",))
    if values.get("at") is None:
        values["at"] = _today(today).isoformat()
    _not_future("日期", values["at"], _today(today))
    if pet.get("received_on") and values["at"] < pet["received_on"]:
        raise ValidationError(f"日期 {values['at']} 早于收到日期 {pet['received_on']}")
    kind_code = values["kind"]
    if values.get("outcome") and kind_code not in _REPLY_KINDS:
        raise ValidationError(f"“{domain.label('event_kind', kind_code)}”不需要答复意见，只有答复、复查意见、复核意见有")
    for name, kinds, what in (("method", {"accept"}, "处理方式只用于受理"),
                              ("days", {"extend", "hearing"}, "天数只用于延期和听证"),
                              ("approver", {"extend"}, "批准人只用于延期")):
        if values.get(name) is not None and kind_code not in kinds:
            raise ValidationError(f"“{domain.label('event_kind', kind_code)}”不需要此项：{what}")
    if values.get("served_on"):
        _not_future("送达/告知日期", values["served_on"], _today(today))
    if kind_code == "extend" and not values.get("note"):
        raise ValidationError("延期须说明理由", hint="用 --note 填写（信访工作条例第三十四条）")
    if kind_code == "accept" and not values.get("method"):
        # 处理方式 is recorded on every new 受理; not given, it is the one with the 60 days
        # (a 信访处理意见书, Art. 31(6)): a default never hides a deadline.
        values["method"] = petition_rules.OPINION
    if kind_code == "accept" and state.repeat_of:
        raise ValidationError("同一事项已经复核终结，不再受理", hint="信访工作条例第三十六条；可登记“不予受理”并告知信访人")
    petition_rules.check_event(state.status, kind_code, extended=state.extended, state=state, values=values)
    values.update(petition_id=pet["id"], area=pet["area"], from_status=state.status)
    event = _put(store, "petition_events", domain.new_id(),
                 {k: v for k, v in values.items() if v is not None}, create=True)
    _, _, after = petition_detail(store, pet["id"], today)  # the one fold, over what is stored now
    return event, after


def list_petitions(
    store: Store, overdue: bool = False, today: _dt.date | None = None
) -> list[tuple[dict, petition_rules.PetitionState]]:
    """Every live petition with its derived state, newest received first; only the
    overdue ones (``state.overdue``: open and past a legal deadline) when ``overdue``.
    A list of all: for tests and small stores; a command pages (:func:`petition_page`)."""
    return list(petition_page(store, overdue=overdue, today=today).rows)


# --------------------------------------------------------------------------- finding a record
#
# What a clerk types where a command needs one record (veterans.find): an id, the
# end of an id, a row number of the last list, and for a veteran also the ID
# number or the name (unique in the station's scope). One function per table; the
# CLI passes the row numbers kept in the home (station_node.shortcodes), the web
# page none.


class RowNumbers(Protocol):
    """The row numbers of the last lists (``station_node.shortcodes.LastLists``)."""

    def id_of(self, table: str, number: int) -> str: ...


def _by_number(table: str, number: int, numbers: RowNumbers | None) -> str:
    if numbers is None:
        raise ValidationError(f"序号 {number} 只在命令行中有效", hint="请用编号")
    return numbers.id_of(table, number)


def _by_tail(store: Store, table: str, ref: find.Reference) -> str:
    ids = queries.ids_ending(store, table, ref.value)
    if not ids:
        raise NotFound(f"找不到编号以 {ref.text} 结尾的{table_label(table)}记录")
    if len(ids) > 1:
        raise find.Ambiguous(f"编号以 {ref.text} 结尾的{table_label(table)}记录不止一条，请多输入几位", [{"id": i} for i in ids])
    return ids[0]


def _get(store: Store, table: str, row_id: str, include_deleted: bool) -> dict:
    return store.get(table, row_id, include_deleted=include_deleted)


def find_veteran(store: Store, text: Any, *, numbers: RowNumbers | None = None, include_deleted: bool = False) -> dict:
    """The veteran a clerk names by id, end of id, row number, ID number or name
    (unique among the station's veterans); NotFound, or :class:`veterans.find.Ambiguous`
    with the candidates (a name several veterans have)."""
    ref = find.parse_reference(text)
    if ref.kind == "id":
        return _get(store, "veterans", ref.value, include_deleted)
    if ref.kind == "number":
        return _get(store, "veterans", _by_number("veterans", ref.value, numbers), include_deleted)
    if ref.kind == "tail":
        return _get(store, "veterans", _by_tail(store, "veterans", ref), include_deleted)
    if ref.kind == "id_number":
        found = queries.veterans_with_id_number(store, ref.value, include_deleted=include_deleted)
        if not found:
            raise NotFound(f"找不到身份证号为 {ref.value} 的退役军人", hint=_id_number_hint(ref.value))
        return found[0]
    scope = station_scope(store)
    found = queries.veterans_named(store, ref.value, area_prefix=scope, include_deleted=include_deleted,
                                   limit=_MAX_CANDIDATES)
    if not found:
        if ref.value.isascii():
            raise NotFound(f"找不到退役军人 {ref.text}：不是序号、身份证号或编号，本站也没有叫这个名字的人",
                           hint="可用 veteran list --search 查找")
        raise NotFound(f"找不到叫 {ref.value} 的退役军人（本站范围 {scope} 内）", hint="可用 veteran list --search 查找")
    if len(found) > 1:
        many = f"至少 {len(found)}" if len(found) >= _MAX_CANDIDATES else str(len(found))
        raise find.Ambiguous(f"本站有 {many} 名退役军人叫 {ref.value}，请用序号或身份证号指定", found)
    return found[0]


#: The candidates a name lists at most (the message says "at least" then).
_MAX_CANDIDATES = 100


def _id_number_hint(value: str) -> str | None:
    try:
        domain.validate_id_number(value)
    except ValidationError as exc:
        return f"请核对身份证号：{exc}"
    return None


def find_visit(store: Store, text: Any, *, numbers: RowNumbers | None = None, include_deleted: bool = False) -> dict:
    """The visit a clerk names by id, end of id or row number (of the last list of visits)."""
    return _find_plain(store, "visits", text, numbers, include_deleted)


def find_petition(store: Store, text: Any, *, numbers: RowNumbers | None = None, include_deleted: bool = False) -> dict:
    """The petition a clerk names by id, end of id or row number (of the last list of petitions)."""
    return _find_plain(store, "petitions", text, numbers, include_deleted)


def _find_plain(store: Store, table: str, text: Any, numbers: RowNumbers | None, include_deleted: bool) -> dict:
    ref = find.parse_reference(text)
    if ref.kind == "id":
        return _get(store, table, ref.value, include_deleted)
    if ref.kind == "number":
        return _get(store, table, _by_number(table, ref.value, numbers), include_deleted)
    if ref.kind == "tail":
        return _get(store, table, _by_tail(store, table, ref), include_deleted)
    command = "visit" if table == "visits" else "petition"
    raise NotFound(f"找不到{table_label(table)} {ref.text}：请用序号或编号",
                   hint=f"先用 station-node {command} list（可加 --veteran 姓名）列出，再用序号")


# --------------------------------------------------------------------------- pages


@dataclass
class Page:
    """One page of a list: ``rows`` (streamed: read once), ``total`` over every page,
    and where the page starts (``offset``) and how long it may be (``limit``; None: to the end)."""

    rows: Iterator[Any]
    total: int
    offset: int
    limit: int | None

    @property
    def first_number(self) -> int:
        """The row number (序号) of the page's first row."""
        return self.offset + 1


def _name_key(name: str) -> tuple[str, str, str]:
    from veterans.pinyin import name_key  # pypinyin, only when a name needs a new key

    return tuple(name_key(name))  # type: ignore[return-value]


def refresh_name_keys(store: Store) -> int:
    """Key the names written since the last list (pinyin order and search); returns how many."""
    return namekeys.refresh(store, _name_key)


def _date_option(value: Any, label: str) -> str | None:
    return None if value in (None, "") else domain.parse_date(value, field_label=label)


def _enum_option(table: str, name: str, value: Any) -> str | None:
    return None if value in (None, "") else parse_value(table, name, value)


def _window(limit: int | None, offset: int | None) -> tuple[int | None, int]:
    if limit is not None and limit < 0:
        raise ValidationError(f"每页条数 {limit} 不能为负数")
    if offset is not None and offset < 0:
        raise ValidationError(f"起始位置 {offset} 不能为负数")
    return (None if not limit else int(limit)), int(offset or 0)


def veteran_page(store: Store, *, area: str | None = None, search: str | None = None, category: Any = None,
                 status: Any = None, born_from: Any = None, born_until: Any = None, order: str = "name",
                 limit: int | None = None, offset: int = 0, include_deleted: bool = False) -> Page:
    """A page of the station's veterans, in pinyin order of their names (``order="area"``:
    by area first; ``"id"``: in the order they were filed). ``search``: a part of the
    name, ID number (full-width digits too), phone or address, or the start of the
    name's pinyin (``zs``, ``zhangsan``); ``category``, ``status``: a code or label;
    ``born_from``/``born_until``: dates. ``limit`` 0 or None: every row."""
    if order not in ("name", "area", "id"):
        raise ValidationError(f"排序方式 {order} 无效，可选：name（姓名拼音）、area（区划）、id（建档先后）")
    limit, offset = _window(limit, offset)
    prefix = domain.validate_area(area, scope=station_scope(store)) if area else None
    text = find.normalize_name(search) if search and search.strip() else None
    from veterans.pinyin import is_pinyin_query, pinyin_query  # (no pypinyin: only the query's form)

    pinyin = pinyin_query(text) if text and is_pinyin_query(text) else None
    if order != "id" or pinyin:
        refresh_name_keys(store)
    flt = queries.VeteranFilter(
        area_prefix=prefix, text=text, pinyin=pinyin,
        category=_enum_option("veterans", "category", category), status=_enum_option("veterans", "status", status),
        born_from=_date_option(born_from, "出生日期起"), born_until=_date_option(born_until, "出生日期止"))
    total = queries.count_veterans(store, flt, include_deleted=include_deleted)
    rows = queries.veteran_page(store, flt, order=order, limit=limit, offset=offset, include_deleted=include_deleted)
    return Page(rows, total, offset, limit)


def visit_page(store: Store, *, veteran_id: str | None = None, since: Any = None, until: Any = None,
               kind: Any = None, area: str | None = None, limit: int | None = None, offset: int = 0) -> Page:
    """A page of the visits (of one veteran, by id), newest first; ``since``/``until``:
    dates (inclusive); ``kind``: 电话, 入户 … (code or label)."""
    limit, offset = _window(limit, offset)
    args = dict(veteran_id=veteran_id, since=_date_option(since, "起始日期"), until=_date_option(until, "截止日期"),
                kind=_enum_option("visits", "kind", kind),
                area_prefix=domain.validate_area(area, scope=station_scope(store)) if area else None)
    return Page(queries.visit_page(store, **args, limit=limit, offset=offset), queries.count_visits(store, **args),
                offset, limit)


def petition_page(store: Store, *, veteran_id: str | None = None, overdue: bool = False, since: Any = None,
                  until: Any = None, class_: Any = None, channel: Any = None, area: str | None = None,
                  limit: int | None = None, offset: int = 0, today: _dt.date | None = None) -> Page:
    """A page of the petitions with their derived state (rows are ``(petition, state)``),
    newest received first; ``overdue``: only those past a legal deadline (every
    petition is folded to know, a chunk at a time, and only the page is kept);
    ``since``/``until``: received in that range; ``class_``, ``channel``: code or label."""
    limit, offset = _window(limit, offset)
    day = _today(today)
    args = dict(veteran_id=veteran_id, since=_date_option(since, "起始日期"), until=_date_option(until, "截止日期"),
                class_=_enum_option("petitions", "class", class_), channel=_enum_option("petitions", "channel", channel),
                area_prefix=domain.validate_area(area, scope=station_scope(store)) if area else None)
    if not overdue:
        pets = queries.petition_page(store, **args, limit=limit, offset=offset)
        return Page(record_views.folded(store, pets, day), queries.count_petitions(store, **args), offset, limit)
    refresh_petition_dues(store)
    pets = queries.overdue_petition_page(store, day.isoformat(), **args, limit=limit, offset=offset)
    return Page(record_views.folded(store, pets, day), queries.count_overdue_petitions(store, day.isoformat(), **args),
                offset, limit)


def _earliest_due(pet: dict, events: list) -> str | None:
    """The earliest deadline still unmet (not a window) of an open petition: it is
    overdue on any day after this one (``PetitionState.overdue``)."""
    _, state = petition_rules.fold_events(pet, events, today=_dt.date.min)
    if not state.is_open:
        return None
    due = min((d.due for d in state.deadlines if d.counts and d.met_on is None), default=None)
    return due.isoformat() if due else None


_RULES: str | None = None


def _fold_rules() -> str:
    """A fingerprint of the fold's code (veterans.petition and the value parsers it
    uses): the cached due dates are folded again under any other code."""
    global _RULES
    if _RULES is None:
        import hashlib
        from pathlib import Path

        digest = hashlib.sha256()
        for module in (petition_rules, domain):
            digest.update(Path(module.__file__).read_bytes())
        _RULES = digest.hexdigest()[:16]
    return _RULES


def refresh_petition_dues(store: Store) -> int:
    """Fold the petitions written since the last overdue list (their earliest due dates, cached)."""
    return duecache.refresh(store, _fold_rules(), _earliest_due)


# --------------------------------------------------------------------------- a veteran's whole file


@dataclass
class VeteranFile:
    """A veteran's whole file: the record, the visits (newest first), the petitions
    (newest first) with their derived state, and the open conflicts about any of them."""

    veteran: dict
    visits: list[dict]
    petitions: list[tuple[dict, petition_rules.PetitionState]]
    conflicts: list[dict]
    plaques: list[dict] = _field(default_factory=list)  # 光荣牌, by hanging date


def veteran_file(store: Store, veteran_id: str, today: _dt.date | None = None) -> VeteranFile:
    """The whole file of one veteran (by id; see :func:`find_veteran` for what a clerk types)."""
    vet = store.get("veterans", veteran_id)
    visits = list(queries.visit_page(store, veteran_id=vet["id"]))
    petitions = list(record_views.folded(store, queries.petition_page(store, veteran_id=vet["id"]), _today(today)))
    events = [s.id for s in queries.events_of(store, [p["id"] for p, _ in petitions])]
    about = [vet["id"], *(v["id"] for v in visits), *(p["id"] for p, _ in petitions), *events]
    plaques = queries.plaques(store, veteran_id=vet["id"])
    about += [p["id"] for p in plaques]
    return VeteranFile(vet, visits, petitions, queries.open_conflicts_about(store, about), plaques)


# --------------------------------------------------------------------------- 光荣牌 (plaques)

_ONE_PLAQUE = "该退役军人已有未更换的光荣牌（编号 {id}，{hung_on} 悬挂），请先登记更换"


def add_plaque(store: Store, veteran_id: str, fields: dict[str, Any], *, today: _dt.date | None = None) -> dict:
    """Record a 光荣牌 hung at a veteran's household (国办发〔2018〕72号); returns the row.

    ``hung_on`` is required and not in the future; the plaque takes its veteran's area (a
    visit's rule); ``household`` (户主) defaults to the veteran's name and ``address`` to
    theirs. A veteran has at most one live plaque not yet replaced: a second is refused
    (record the replacement of the first with :func:`replace_plaque`)."""
    _no_veteran_field(fields)
    vet = get_veteran(store, veteran_id)
    values = _clean("plaques", fields, station_scope(store))
    _require("plaques", values, ("hung_on",))
    _plaque_dates(values, _today(today))
    current = next((p for p in queries.plaques(store, veteran_id=vet["id"]) if not p.get("replaced_on")), None)
    if current is not None:
        raise ValidationError(_ONE_PLAQUE.format(id=current["id"], hung_on=current.get("hung_on")),
                              hint="station-node plaque replace 编号 --on 日期 --reason 原因")
    values.setdefault("household", None)
    values["household"] = values["household"] or vet.get("name")
    values["address"] = values.get("address") or vet.get("address")
    values.update(veteran_id=vet["id"], area=vet["area"])
    return _put(store, "plaques", domain.new_id(), {k: v for k, v in values.items() if v is not None}, create=True)


def _plaque_dates(values: dict[str, Any], today: _dt.date) -> None:
    _not_future("悬挂日期", values["hung_on"], today)
    if values.get("replaced_on"):
        _not_future("更换日期", values["replaced_on"], today)
        if values["replaced_on"] < values["hung_on"]:
            raise ValidationError(f"更换日期 {values['replaced_on']} 早于悬挂日期 {values['hung_on']}")


def replace_plaque(store: Store, plaque_id: str, *, on: Any, reason: Any, today: _dt.date | None = None) -> dict:
    """Record that a plaque was replaced (worn, damaged, household moved): the day and why.
    A new plaque, if one is hung, is recorded with :func:`add_plaque` afterwards."""
    current = store.get("plaques", str(plaque_id).strip())
    if current.get("replaced_on"):
        raise ValidationError(f"光荣牌 {current['id']} 已于 {current['replaced_on']} 更换")
    values = _clean("plaques", {"replaced_on": on, "replace_reason": reason}, station_scope(store))
    _require("plaques", values, ("replaced_on", "replace_reason"))
    _plaque_dates({**current, **values}, _today(today))
    return _put(store, "plaques", current["id"], values, create=False)


def get_plaque(store: Store, plaque_id: str) -> dict:
    """A live plaque, or NotFound."""
    return store.get("plaques", str(plaque_id).strip())


def list_plaques(store: Store, *, area: str | None = None) -> list[dict]:
    """The live plaques in scope (under ``area``), by hanging date."""
    prefix = domain.validate_area(area, scope=station_scope(store)) if area else None
    return queries.plaques(store, area_prefix=prefix)
