"""The entry side of 常态化联系 at the station: must-visit triggers (必访事项) recorded,
closed and deleted, and a visit's follow-up marked done (闭环).

Library code over a :class:`sync.store.station.Store`, written like a visit
(:func:`station_node.records.add_visit`): the values parsed by the schema's validators,
the row taking its veteran's area, written through ``store.write`` (stamped with the
operator, marked pending). What cannot be true is refused by the rule the hub applies
to a pushed row, :func:`veterans.admission.row_problem` (a trigger not in the future, due
and closed not before it occurred; a follow-up due and done not before the visit, done not
in the future), so that what the station writes is what the hub admits. A refused call
writes nothing.

Whether a trigger was met or missed is derived from the visits by the lists
(``station_node.cli_contact``), never stored; ``due_by`` left empty here is derived
there from the veteran's contact policy.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from station_node import records
from sync.engine.errors import NotFound, ValidationError
from sync.store.station import Store
from veterans import values as domain
from veterans.admission import row_problem

__all__ = ["add_trigger", "close_trigger", "delete_trigger", "get_trigger", "follow_up_done", "check_rules"]

_TABLE = "contact_triggers"


def check_rules(table: str, row: dict[str, Any], changed, today: _dt.date | None = None) -> None:
    """Refuse (ValidationError) what the hub would refuse of ``row`` as it will be stored,
    looking at the rules that involve a field of ``changed``; today is the latest date."""
    problem = row_problem(table, row, frozenset(changed), latest=(today or _dt.date.today()).isoformat())
    if problem:
        raise ValidationError(problem)


def add_trigger(store: Store, veteran_id: str, fields: dict[str, Any], *, today: _dt.date | None = None) -> dict:
    """Record a must-visit trigger of a live veteran; returns the row. ``kind`` and
    ``occurred_on`` are required; ``due_by`` may be left empty (the policy derives it)."""
    if "veteran_id" in fields:
        raise ValidationError("退役军人不能用 --set 设置", hint="用 --veteran 指定")
    vet = records.get_veteran(store, veteran_id)
    if vet.get("merged_into"):
        raise ValidationError(f"退役军人档案 {vet['id']} 已合并到 {vet['merged_into']}，请登记在合并后的档案上")
    values = records._clean(_TABLE, fields, records.station_scope(store))
    records._require(_TABLE, values, ("kind", "occurred_on"))
    if values.get("closed_on"):
        raise ValidationError("新登记的必访事项不能带关闭日期", hint="登记后用 station-node trigger close 编号 --on 日期")
    values = {k: v for k, v in values.items() if v is not None}
    check_rules(_TABLE, values, values.keys(), today)
    values.update(veteran_id=vet["id"], area=vet["area"])
    return records._put(store, _TABLE, domain.new_id(), values, create=True)


def get_trigger(store: Store, trigger_id: Any) -> dict:
    """A live trigger by its id, or NotFound (one wording: none here, or deleted)."""
    text = str(trigger_id or "").strip()
    try:
        return store.get(_TABLE, text)
    except NotFound:
        raise NotFound(f"找不到必访事项 {text}", hint="用 station-node trigger list 列出编号") from None


def close_trigger(store: Store, trigger_id: Any, *, on: Any, today: _dt.date | None = None) -> dict:
    """Close a trigger on a day (the matter settled): not before it occurred, not in the future."""
    current = get_trigger(store, trigger_id)
    if current.get("closed_on"):
        raise ValidationError(f"必访事项 {current['id']} 已于 {current['closed_on']} 关闭")
    values = records._clean(_TABLE, {"closed_on": on}, records.station_scope(store))
    records._require(_TABLE, values, ("closed_on",))
    check_rules(_TABLE, {**current, **values}, values.keys(), today)
    return records._put(store, _TABLE, current["id"], values, create=False)


def delete_trigger(store: Store, trigger_id: Any) -> dict:
    """Delete a trigger recorded by mistake (a tombstone that syncs); returns it as it was."""
    current = get_trigger(store, trigger_id)
    store.write(_TABLE, current["id"], {"deleted": 1})
    return current


def follow_up_done(store: Store, visit: dict, *, on: Any, today: _dt.date | None = None) -> dict:
    """Mark a visit's follow-up done on a day (闭环): not before the visit, not in the future.
    ``visit``: the live visit (found by the caller, as ``visit edit`` finds it)."""
    if visit.get("follow_up_done"):
        raise ValidationError(f"该走访的跟进已于 {visit['follow_up_done']} 完成",
                              hint="日期有误可用 station-node visit edit 编号 --set 跟进完成日期=YYYY-MM-DD")
    values = records._clean("visits", {"follow_up_done": on}, records.station_scope(store))
    records._require("visits", values, ("follow_up_done",))
    check_rules("visits", {**visit, **values}, values.keys(), today)
    return records._put(store, "visits", visit["id"], values, create=False)
