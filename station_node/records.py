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
from typing import Any, Iterable

from veterans import values as domain

from veterans import petition as petition_rules

from sync.store import queries
from sync.engine.errors import StoreError, ValidationError
from veterans.fields import parse_value
from veterans.labels import field_label, table_label
from sync.engine.schema import table as _table
from sync.store.station import Store

__all__ = [
    "station_code",
    "station_scope",
    "add_veteran",
    "edit_veteran",
    "delete_veteran",
    "get_veteran",
    "list_veterans",
    "veteran_names",
    "add_visit",
    "list_visits",
    "open_petition",
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
    from the ID number when not given; status defaults to 在册 (active).
    """
    values = _clean("veterans", fields, station_scope(store))
    _require("veterans", values, ("id_number", "name", "area"))
    _check_unique_id_number(store, values["id_number"])
    if values.get("birth_date") is None:
        values["birth_date"] = domain.birth_date_from_id(values["id_number"])
    if values.get("gender") is None:
        values["gender"] = domain.gender_from_id(values["id_number"])
    if values.get("status") is None:
        values["status"] = "active"
    row_id = domain.new_id()
    return _put(store, "veterans", row_id, {k: v for k, v in values.items() if v is not None}, create=True)


def get_veteran(store: Store, veteran_id: str) -> dict:
    """A live veteran, or NotFound."""
    return store.get("veterans", veteran_id.strip())


def edit_veteran(store: Store, veteran_id: str, changes: dict[str, Any]) -> dict:
    """Change fields of a veteran; returns the record.

    A new area must lie in this station's scope: a village station cannot
    move a veteran to another village, its town can. Required fields cannot
    be cleared, and the ID number must stay unique.
    """
    current = get_veteran(store, veteran_id)
    if not changes:
        raise ValidationError("没有要修改的字段", hint="用 --set 字段=值 指定")
    values = _clean("veterans", changes, station_scope(store))
    _require("veterans", {**current, **values}, ("id_number", "name", "area"))
    if "id_number" in values and values["id_number"] != current.get("id_number"):
        _check_unique_id_number(store, values["id_number"], own_id=current["id"])
    return _put(store, "veterans", current["id"], values, create=False)


def delete_veteran(store: Store, veteran_id: str) -> dict:
    """Delete a veteran (a tombstone that syncs); returns the record as it was."""
    current = get_veteran(store, veteran_id)
    store.write("veterans", current["id"], {"deleted": 1})
    return current


def list_veterans(store: Store, area: str | None = None, search: str | None = None) -> list[dict]:
    """Live veterans, optionally within ``area`` (a prefix in scope) and matching
    ``search`` (a substring of name, ID number, phone or address)."""
    prefix = domain.validate_area(area, scope=station_scope(store)) if area else None
    return queries.veterans(store, area_prefix=prefix, text=search)


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
    values.update(veteran_id=vet["id"], area=vet["area"], station=station_code(store))
    return _put(store, "visits", domain.new_id(), {k: v for k, v in values.items() if v is not None}, create=True)


def list_visits(store: Store, veteran_id: str | None = None) -> list[dict]:
    """Live visits, newest first; of one veteran when ``veteran_id`` is given."""
    if veteran_id:
        vet = store.get("veterans", veteran_id.strip(), include_deleted=True)
        return queries.visits(store, veteran_id=vet["id"])
    return queries.visits(store)


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
    if values.get("received_on") is None:
        values["received_on"] = _today(today).isoformat()
    _require("petitions", values, ("petitioner", "area", "channel", "received_on", "summary"))
    _not_future("收到日期", values["received_on"], _today(today))
    values["confidential"] = 1 if values.get("class") == "accusation" else (values.get("confidential") or 0)
    values["station"] = station_code(store)
    values = {k: v for k, v in values.items() if v is not None}
    pid = domain.new_id()
    event = {"petition_id": pid, "area": values["area"], "at": values["received_on"], "kind": "register"}
    with store.transaction():
        store.write("petitions", pid, values, create=True)
        store.write("petition_events", domain.new_id(), event, create=True)
    return store.get("petitions", pid)


def _stored_events(store: Store, petition_id: str | None = None) -> dict[str, list]:
    """Stored events (with their clocks) grouped by petition — of one petition,
    or of all — in no particular order: :func:`veterans.petition.fold_events`
    orders them and drops tombstones."""
    out: dict[str, list] = {}
    for state in queries.events_of(store, None if petition_id is None else [petition_id]):
        out.setdefault(state.values.get("petition_id"), []).append(state)
    return out


def petition_detail(
    store: Store, petition_id: str, today: _dt.date | None = None
) -> tuple[dict, list[dict], petition_rules.PetitionState]:
    """(petition, its live events in history order, its derived state as of ``today``),
    both from :func:`veterans.petition.fold_events`."""
    pet = store.get("petitions", petition_id.strip())
    events, state = petition_rules.fold_events(
        pet, _stored_events(store, pet["id"]).get(pet["id"], []), today=_today(today)
    )
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
    today: _dt.date | None = None,
) -> tuple[dict, petition_rules.PetitionState]:
    """Record a step in handling a petition; returns (event, state after it).

    The step must be allowed from the derived current status (信访工作条例:
    e.g. no 复核申请 before a 复查意见, one 延期 only, which needs a reason).
    ``at`` defaults to today and may be neither in the future nor before
    the petition was received. An outcome only goes with a reply or opinion.
    """
    pet, _, state = petition_detail(store, petition_id, today)
    given = {"kind": kind, "at": at, "outcome": outcome, "actor": actor, "note": note}
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
    if kind_code == "extend" and not values.get("note"):
        raise ValidationError("延期须说明理由", hint="用 --note 填写（信访工作条例第三十四条）")
    petition_rules.check_event(state.status, kind_code, extended=state.extended)
    values.update(petition_id=pet["id"], area=pet["area"], from_status=state.status)
    event = _put(store, "petition_events", domain.new_id(),
                 {k: v for k, v in values.items() if v is not None}, create=True)
    _, _, after = petition_detail(store, pet["id"], today)  # the one fold, over what is stored now
    return event, after


def list_petitions(
    store: Store, overdue: bool = False, today: _dt.date | None = None
) -> list[tuple[dict, petition_rules.PetitionState]]:
    """Live petitions with their derived state, newest received first;
    only the overdue ones (``state.overdue``: open and past a legal deadline)
    when ``overdue``."""
    day = _today(today)
    pets = queries.petitions(store)
    events = _stored_events(store)
    out = []
    for pet in pets:
        _, state = petition_rules.fold_events(pet, events.get(pet["id"], []), today=day)
        if not overdue or state.overdue:
            out.append((pet, state))
    return out
