"""Correcting a mistake at the station: edit or delete a visit, edit a petition,
void a wrong step of a petition (更正), delete a veteran and restore it.

Library code over a :class:`sync.store.station.Store`, like
:mod:`station_node.records` (no click, no printing): every input is checked
before anything is written, and each operation is one write that syncs
(``store.write``: stamped with this replica's HLC, pending for the next push).

- Records are named through :func:`find_record`, as a clerk names them
  (:func:`station_node.records.find_veteran` and its kin: the id or its end, a
  row number of the last list when ``numbers`` are given, a veteran's ID
  number or unique name).
- A station edits only rows in its own scope, and a new area only within it
  (the hub refuses the rest again, and keeps a refused edit of a row that has
  moved away as a conflict for its new station).
- The petition event log stays append-only: a wrong step is voided by a 更正
  event (:func:`correct_event`, checked by
  :func:`veterans.petition.check_correction`); the status, deadlines and
  reports follow the fold, the history keeps both.
- Deleting a veteran is a tombstone of the veteran alone: its visits and
  petitions stay as they are (live, synced, a petition's deadlines still
  running), as the engine leaves a deleted row's dependents; :func:`dependents`
  counts them for the confirmation. :func:`restore_veteran` is an ordinary
  write of ``deleted`` = 0 with a newer version — the hub takes it as a
  fast-forward of its tombstone — for as long as the station holds the
  tombstone (``county-hub prune`` removes old ones, but not one a live visit or
  petition refers to, and the station drops them after it; a restore pushed
  between the hub's prune and the station's next sync is refused by the hub and
  kept in the rejected list, PROTOCOL.md "Retention").
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import Any

from station_node import records
from sync.engine.errors import NotFound, ValidationError
from sync.engine.schema import table as schema_table
from sync.engine.scope import in_scope
from sync.store import queries
from sync.store.station import Store
from veterans import petition as petition_rules
from veterans import values as domain
from veterans.fields import parse_value
from veterans.labels import field_label, table_label

__all__ = [
    "find_record",
    "edit_visit",
    "delete_visit",
    "edit_petition",
    "Correction",
    "correct_event",
    "is_correction",
    "Dependents",
    "dependents",
    "delete_veteran",
    "restore_veteran",
]

# Fields of a petition a clerk does not edit here: derived, or the petition's link.
_PETITION_DERIVED = {"station": "登记站点", "confidential": "保密属性（由类别决定：检举控告类保密）"}


# --------------------------------------------------------------------------- finding a record


_FINDERS = {"veterans": records.find_veteran, "visits": records.find_visit, "petitions": records.find_petition}


def find_record(store: Store, table: str, ref: str, *, numbers: records.RowNumbers | None = None,
                include_deleted: bool = False) -> dict:
    """The record of ``table`` (veterans, visits, petitions) that ``ref`` names, as
    :mod:`station_node.records` finds it (``numbers``: the row numbers of the last
    lists, at the command line); NotFound, or :class:`veterans.find.Ambiguous`
    for a name several veterans have. Every operation of this module finds its
    records here. An exact id is taken as it is, whatever its form."""
    loaded = store.load(table, ref.strip()) if isinstance(ref, str) and ref.strip() else None
    if loaded is not None and (include_deleted or not loaded[0].deleted):
        return {"id": loaded[0].id, **loaded[0].values}
    return _FINDERS[table](store, ref, numbers=numbers, include_deleted=include_deleted)


def _in_scope(store: Store, table: str, row: dict) -> None:
    scope = records.station_scope(store)
    if not in_scope(row.get("area") or "", scope):
        raise ValidationError(f"该{table_label(table)}记录不在本站范围 {scope} 内，不能修改")


def _changes(table: str, changes: dict[str, Any], scope: str, *, forbidden: dict[str, str]) -> dict[str, Any]:
    """Canonical values of ``changes`` (as :func:`veterans.fields.parse_assignments`
    gives them, or as typed); refuse fields not settable here."""
    if not changes:
        raise ValidationError("没有要修改的字段", hint="用 --set 字段=值 指定")
    t = schema_table(table)
    out: dict[str, Any] = {}
    for name, value in changes.items():
        if name in forbidden:
            raise ValidationError(f"{forbidden[name]}不能在此修改")
        f = t.get(name)
        if f is None or not f.settable:
            allowed = "、".join(f"{x.name}（{field_label(t, x)}）" for x in t.fields
                               if x.settable and x.name not in forbidden)
            raise ValidationError(f"{table_label(t)}字段 {field_label(t, name)} 不能修改，可修改的字段：{allowed}")
        out[name] = parse_value(t, name, value, scope=scope)
    return out


def _required(table: str, values: dict[str, Any], names: tuple[str, ...]) -> None:
    cleared = [field_label(table, n) for n in names if values.get(n) in (None, "")]
    if cleared:
        raise ValidationError(f"{table_label(table)}的必填项不能清空：{'、'.join(cleared)}")


def _not_future(label: str, value: str | None, today: _dt.date) -> None:
    if value and _dt.date.fromisoformat(value) > today:
        raise ValidationError(f"{label} {value} 晚于今天 {today.isoformat()}", hint="请检查电脑日期或输入")


def _write(store: Store, table: str, row_id: str, values: dict[str, Any]) -> dict:
    store.write(table, row_id, values)
    return store.get(table, row_id, include_deleted=True)


# --------------------------------------------------------------------------- visits


def edit_visit(store: Store, visit_ref: str, changes: dict[str, Any], *, veteran_ref: str | None = None,
               numbers: records.RowNumbers | None = None, today: _dt.date | None = None) -> dict:
    """Change fields of a visit; returns the record. ``veteran_ref``: the visit
    was logged against the wrong person — it moves to this veteran (and its area)."""
    today = today or _dt.date.today()
    visit = find_record(store, "visits", visit_ref, numbers=numbers)
    _in_scope(store, "visits", visit)
    values = _changes("visits", changes, records.station_scope(store),
                      forbidden={"veteran_id": "退役军人（请用 --veteran 指定）"}) if changes else {}
    if veteran_ref is not None:
        vet = find_record(store, "veterans", veteran_ref, numbers=numbers)
        _in_scope(store, "veterans", vet)
        if vet["id"] != visit.get("veteran_id"):
            values.update(veteran_id=vet["id"], area=vet["area"])
    if not values:
        raise ValidationError("没有要修改的字段", hint="用 --set 字段=值 或 --veteran 指定")
    _required("visits", {**visit, **values}, ("kind", "visited_on"))
    if "visited_on" in values:
        _not_future("走访日期", values["visited_on"], today)
    records._visit_rules({**visit, **values}, values.keys(), today)
    return _write(store, "visits", visit["id"], values)


def delete_visit(store: Store, visit_ref: str, *, numbers: records.RowNumbers | None = None) -> dict:
    """Delete a visit (a tombstone that syncs); returns the record as it was."""
    visit = find_record(store, "visits", visit_ref, numbers=numbers)
    _in_scope(store, "visits", visit)
    store.write("visits", visit["id"], {"deleted": 1})
    return visit


# --------------------------------------------------------------------------- petitions


def edit_petition(store: Store, petition_ref: str, changes: dict[str, Any], *, veteran_ref: str | None = None,
                  numbers: records.RowNumbers | None = None, today: _dt.date | None = None) -> dict:
    """Change fields of a petition (not its event log); returns the record.

    A petition linked to a veteran has the veteran's area (``veteran_ref``
    links it to another one, whose area it takes); only an unlinked one takes
    an area of its own, within the scope. The class cannot move into or out of
    检举控告类 (the county reclassifies: confidentiality follows the class).
    ``received_on`` may be neither in the future nor after a step of handling
    (the 登记 step aside: it records when it was registered). The fields the
    petition law bounds are checked as at entry (``records.check_petition_law``).
    """
    today = today or _dt.date.today()
    scope = records.station_scope(store)
    pet = find_record(store, "petitions", petition_ref, numbers=numbers)
    _in_scope(store, "petitions", pet)
    forbidden = {**_PETITION_DERIVED, "veteran_id": "关联的退役军人（请用 --veteran 指定）"}
    values = _changes("petitions", changes, scope, forbidden=forbidden) if changes else {}
    if veteran_ref is not None:
        vet = find_record(store, "veterans", veteran_ref, numbers=numbers)
        _in_scope(store, "veterans", vet)
        if "area" in values and values["area"] != vet["area"]:
            raise ValidationError("关联退役军人的信访件随其区划，不能另指定区划代码")
        if vet["id"] != pet.get("veteran_id"):
            values["veteran_id"] = vet["id"]
        if vet["area"] != pet.get("area"):
            values["area"] = vet["area"]
    elif "area" in values and pet.get("veteran_id") and values["area"] != pet.get("area"):
        raise ValidationError("关联退役军人的信访件随其区划，不能单独修改区划代码",
                              hint="改关联的退役军人用 --veteran")
    elif "area" in values and values["area"] != pet.get("area"):
        records.check_listed_area(store, values["area"])
    if not values:
        raise ValidationError("没有要修改的字段", hint="用 --set 字段=值 指定")
    if "class" in values and (values["class"] == "accusation") != (pet.get("class") == "accusation"):
        raise ValidationError("检举控告类信访件的类别只能由县中心变更")
    _required("petitions", {**pet, **values}, ("petitioner", "area", "channel", "received_on", "summary"))
    if "received_on" in values:
        _not_future("收到日期", values["received_on"], today)
        _received_before_steps(store, pet, values["received_on"], today)
    records.check_petition_law(store, values, own_id=pet["id"])  # as at entry (Arts. 20, 36)
    return _write(store, "petitions", pet["id"], values)


def _received_before_steps(store: Store, pet: dict, received_on: str, today: _dt.date) -> None:
    _, events, _ = records.petition_detail(store, pet["id"], today)
    for n, event in enumerate(events, start=1):
        if event.get("kind") in ("register", petition_rules.CORRECT) or event.get("voided_by"):
            continue
        if event.get("at") and event["at"] < received_on:
            raise ValidationError(
                f"收到日期 {received_on} 晚于第{n}条“{domain.label('event_kind', event['kind'])}”的日期 {event['at']}")


@dataclass(frozen=True)
class Correction:
    """What :func:`correct_event` did: the 更正 written, the event it voids (and
    its number in the history), the petition's state after it, and the notes
    of the fold that the void brought (a later step that no longer fits)."""

    event: dict
    voided: dict
    voided_no: int
    state: petition_rules.PetitionState
    new_anomalies: tuple[str, ...]


def is_correction(kind: Any) -> bool:
    """Does ``kind`` (a code, label or alias, as typed) name a 更正?"""
    try:
        return domain.parse_enum("event_kind", kind) == petition_rules.CORRECT
    except ValidationError:
        return False


def _event_ref(events: list[dict], ref: str) -> str:
    """The id of the event ``ref`` names: its number in the history (as ``petition
    show`` numbers them) or its id."""
    ref = (ref or "").strip()
    if ref.isdigit():
        n = int(ref)
        if 1 <= n <= len(events):
            return events[n - 1]["id"]
    elif any(e["id"] == ref for e in events):
        return ref
    raise ValidationError(f"该信访件没有序号或编号为 {ref} 的办理环节",
                          hint=f"序号见 petition show 的办理记录，共 {len(events)} 条")


def correct_event(store: Store, petition_ref: str, of: str | None, *, note: str | None, at: Any = None,
                  actor: str | None = None, outcome: str | None = None,
                  numbers: records.RowNumbers | None = None, today: _dt.date | None = None) -> Correction:
    """Void the step ``of`` (its number in the history or its id) of a petition by a 更正 event.

    The 更正 needs a reason (``note``); it is dated ``at`` (default today, not in
    the future nor before the petition was received) and carries the status
    it was recorded on (``from_status``). Neither a 登记 nor another 更正 can be
    voided, nor a step voided already.
    """
    today = today or _dt.date.today()
    if of is None or not str(of).strip():
        raise ValidationError("更正须指明要作废的环节", hint="用 --of 指定 petition show 中的序号或环节编号")
    if outcome is not None:
        raise ValidationError("“更正”不需要答复意见，只有答复、复查意见、复核意见有")
    pet, events, state = records.petition_detail(
        store, find_record(store, "petitions", petition_ref, numbers=numbers)["id"], today)
    _in_scope(store, "petitions", pet)
    index = petition_rules.check_correction(events, _event_ref(events, str(of)))
    target = events[index]
    given = {"at": at, "actor": actor, "note": note}
    values = {k: parse_value("petition_events", k, v) for k, v in given.items() if v is not None}
    if not values.get("note"):
        raise ValidationError("更正须说明理由", hint="用 --note 填写")
    values.setdefault("at", today.isoformat())
    _not_future("日期", values["at"], today)
    if pet.get("received_on") and values["at"] < pet["received_on"]:
        raise ValidationError(f"日期 {values['at']} 早于收到日期 {pet['received_on']}")
    values.update(petition_id=pet["id"], area=pet["area"], kind=petition_rules.CORRECT, voids=target["id"],
                  from_status=state.status)
    event = store.write("petition_events", domain.new_id(), {k: v for k, v in values.items() if v is not None},
                        create=True)
    _, _, after = records.petition_detail(store, pet["id"], today)  # the one fold, over what is stored now
    new = tuple(a for a in after.anomalies if a not in state.anomalies)
    return Correction({"id": event.id, **event.values}, target, index + 1, after, new)


# --------------------------------------------------------------------------- veterans


@dataclass(frozen=True)
class Dependents:
    """A veteran's live visits and petitions (and how many of those are still open)."""

    visits: int
    petitions: int
    open_petitions: int

    def text(self) -> str:
        """走访记录 3 条、信访件 2 件（其中未办结 1 件） — what there is of it."""
        parts = [f"走访记录 {self.visits} 条"] if self.visits else []
        if self.petitions:
            parts.append(f"信访件 {self.petitions} 件" + (f"（其中未办结 {self.open_petitions} 件）"
                                                          if self.open_petitions else ""))
        return "、".join(parts)


def dependents(store: Store, veteran_id: str, today: _dt.date | None = None) -> Dependents:
    """Count a veteran's live visits and petitions (deleted or not, the veteran)."""
    today = today or _dt.date.today()
    visits = queries.dependents_of(store, "visits", veteran_id)
    petitions = queries.dependents_of(store, "petitions", veteran_id)
    open_ = 0
    for pet in petitions:
        _, _, state = records.petition_detail(store, pet["id"], today)
        open_ += state.is_open
    return Dependents(len(visits), len(petitions), open_)


def delete_veteran(store: Store, veteran_ref: str, *,
                   numbers: records.RowNumbers | None = None) -> tuple[dict, Dependents]:
    """Delete a veteran (a tombstone that syncs); returns the record as it was
    and its visits and petitions, which stay as they are."""
    vet = find_record(store, "veterans", veteran_ref, numbers=numbers)
    _in_scope(store, "veterans", vet)
    deps = dependents(store, vet["id"])
    store.write("veterans", vet["id"], {"deleted": 1})
    return vet, deps


def restore_veteran(store: Store, veteran_ref: str, *,
                    numbers: records.RowNumbers | None = None) -> tuple[dict, Dependents]:
    """Undo the delete of a veteran: ``deleted`` back to 0, a write that syncs.

    Refused when the station no longer holds the tombstone (never filed here,
    or pruned), when the record is not deleted, when it was merged into another
    (a resolved duplicate: the merge, not a delete), and when another live
    veteran has its ID number now."""
    try:
        vet = find_record(store, "veterans", veteran_ref, numbers=numbers, include_deleted=True)
    except NotFound:
        raise NotFound(f"找不到已删除的退役军人档案：{(veteran_ref or '').strip()}",
                       hint="从未在本站登记，或删除已久、记录已被县中心清理，不能再恢复") from None
    if not vet.get("deleted"):
        raise ValidationError(f"档案未删除：{vet.get('name') or ''}（编号 {vet['id']}），无需恢复")
    _in_scope(store, "veterans", vet)
    if vet.get("merged_into"):
        into = records.veteran_names(store, [vet["merged_into"]]).get(vet["merged_into"], "")
        raise ValidationError(f"该档案已合并到 {into}（编号 {vet['merged_into']}），不能恢复",
                              hint="合并是重复登记冲突的处理结果，如有误请联系县中心")
    if vet.get("id_number"):
        for other in queries.veterans(store, id_number=vet["id_number"]):
            if other["id"] != vet["id"]:
                raise ValidationError(
                    f"身份证号 {vet['id_number']} 已登记：{other.get('name') or ''}（编号 {other['id']}），不能恢复",
                    hint="同一人不能有两份档案；请修改已有档案")
    store.write("veterans", vet["id"], {"deleted": 0})
    return store.get("veterans", vet["id"]), dependents(store, vet["id"])
