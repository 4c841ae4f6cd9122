"""Conflicts as a clerk sees them: listing, showing, resolving.

The hub records conflicts (``sync.store.hub``) as rows of the replicated
``conflicts`` table; they reach every station whose scope holds the row.
This module reads them and settles them, on either side:

- :func:`list_conflicts` / :func:`get_conflict`: the conflict rows with the
  record's name (``record_name``) and the version times of both sides
  (``winner_at`` / ``loser_at``, local ``YYYY-MM-DD HH:MM:SS``);
- :func:`resolve`: one choice per conflict, applied in one transaction,
  then the conflict marked ``resolved`` with a short Chinese ``resolution``
  and ``resolved_by``. The conflict row itself is never deleted.

What each choice writes (``keep`` is ``winner`` or ``loser``)::

    kind                 keep winner              keep loser                          value / merge_into
    concurrent_edit      nothing                  the losing value on the field       value: parsed, written
    delete_edit          nothing (stays deleted)  deleted=0 + the losing edits        —
    refused_edit         nothing                  the refused values on the row       value: one-field edits only
    petition_transition  tombstone losing event   tombstone winning event             —
    duplicate_identity   —                        —                                   merge_into=ID: dependents
                                                                                      re-pointed (and moved to the
                                                                                      survivor's area), the other
                                                                                      veteran merged_into + tombstone

On a station a resolution is an ordinary local write (``Store.write``:
pending, pushed on the next sync; the hub accepts station writes to the
conflicts table for ``CONFLICT_RESOLUTION_FIELDS`` only). On the hub the
writes are the hub's own (``HubStore.write_as_hub``: no pending marks, they
replicate down on the stations' next pulls), and the resolution is audited
when the registry's ``_audit`` table exists.

Every row a resolution touches must be in ``scope`` (an area prefix): a
village cannot merge its veteran with one of another village — the town or
the county does that. Errors: :class:`NotFound`, :class:`ScopeError`,
:class:`ValidationError` (already resolved, a choice that does not fit the
kind, a value that does not parse).

No sqlite import here: the store does the SQL.
"""

from __future__ import annotations

import datetime as _dt
import json
import time
from typing import Any, Callable

from veterans import values as domain

from sync.store import queries
from sync.engine.errors import NotFound, ScopeError, ValidationError
from veterans.fields import display_value, field_label, parse_value
from veterans.labels import table_label
from sync.engine.hlc import wall_ms_of
from sync.engine.limits import text_limit
from sync.store.hub import HubStore
from sync.engine.schema import TABLES
from sync.engine.scope import in_scope as _in_scope
from sync.store.queries import AnyStore

__all__ = [
    "KEEP_CHOICES",
    "list_conflicts",
    "get_conflict",
    "resolve",
    "side_text",
    "display_row",
    "detail_rows",
    "LIST_COLUMNS",
    "DETAIL_COLUMNS",
    "version_time",
]

KEEP_CHOICES = ("winner", "loser")
_CONFLICT_FIELDS = tuple(f.name for f in TABLES["conflicts"].fields if f.name != "deleted")
_DECODED_KINDS = {"int", "real", "bool"}  # values the hub stored JSON-encoded (``enc``)


# --------------------------------------------------------------------------- reading


def version_time(version: str | None) -> str:
    """Local wall time of an HLC version (``YYYY-MM-DD HH:MM:SS``); ``""`` if none."""
    if not version:
        return ""
    try:
        ms = wall_ms_of(version)
    except (ValueError, AttributeError):
        return ""
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ms / 1000))


def local_time_text(iso: str | None) -> str:
    """``YYYY-MM-DD HH:MM`` in local time of an ISO 8601 time; one without a
    zone (conflicts detected before zones were written) is local already."""
    if not iso:
        return ""
    try:
        at = _dt.datetime.fromisoformat(iso)
    except ValueError:
        return iso
    if at.tzinfo is not None:
        at = at.astimezone()
    return at.strftime("%Y-%m-%d %H:%M")


def _state(store: AnyStore, table: str, row_id: str | None):
    if not row_id or table not in TABLES:
        return None
    loaded = store.load(table, row_id)
    return loaded[0] if loaded else None


def _veteran_name(store: AnyStore, veteran_id: str | None) -> str:
    vet = _state(store, "veterans", veteran_id)
    return (vet.values.get("name") or "") if vet else ""


def _record_name(store: AnyStore, table: str, row_id: str) -> str:
    """The person a row is about: the veteran, or the petitioner."""
    row = _state(store, table, row_id)
    if row is None:
        return ""
    v = row.values
    if table == "veterans":
        return v.get("name") or ""
    if table == "visits":
        return _veteran_name(store, v.get("veteran_id"))
    if table == "petition_events":
        row = _state(store, "petitions", v.get("petition_id"))
        if row is None:
            return ""
        v = row.values
        table = "petitions"
    if table == "petitions":
        return _veteran_name(store, v.get("veteran_id")) or (v.get("petitioner") or "")
    return ""


def _as_dict(store: AnyStore, row: dict) -> dict:
    out = {name: row.get(name) for name in _CONFLICT_FIELDS}
    out["record_name"] = _record_name(store, row.get("table") or "", row.get("row_id") or "")
    if row.get("kind") == "duplicate_identity":  # winner_value is the other veteran's id
        out["other_record_name"] = _veteran_name(store, row.get("winner_value"))
    out["winner_at"] = version_time(row.get("winner_version"))
    out["loser_at"] = version_time(row.get("loser_version"))
    return out


def list_conflicts(
    store: AnyStore, *, include_resolved: bool = False, kind: str | None = None, area: str | None = None
) -> list[dict]:
    """Conflicts (open ones unless ``include_resolved``), oldest first, optionally
    of one ``kind`` (code or Chinese label) and within ``area`` (a prefix)."""
    rows = queries.conflicts(
        store, include_resolved=include_resolved,
        kind=domain.parse_enum("conflict_kind", kind, field_label="冲突类型") if kind else None,
        area_prefix=domain.validate_area(area) if area else None,
    )
    return [_as_dict(store, r) for r in rows]


def get_conflict(store: AnyStore, conflict_id: str) -> dict:
    """One conflict (resolved or not), as :func:`list_conflicts` gives it; NotFound."""
    row = _state(store, "conflicts", (conflict_id or "").strip())
    if row is None:
        raise NotFound(f"找不到冲突记录：{conflict_id}")
    return _as_dict(store, {"id": row.id, **row.values})


# --------------------------------------------------------------------------- display (pure)


def _decode(table: str, name: str, raw: Any) -> Any:
    """A value as the hub stored it back to the value of the field: strings were
    stored as they are, numbers and booleans JSON-encoded."""
    f = TABLES[table].get(name) if table in TABLES else None
    if isinstance(raw, str) and f is not None and f.kind in _DECODED_KINDS:
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    return raw


def _decode_edits(raw: Any) -> dict:
    if isinstance(raw, dict):
        return raw
    try:
        edits = json.loads(raw or "{}")
    except (TypeError, ValueError):
        raise ValidationError(f"冲突记录中的修改内容无法读取：{raw}") from None
    if not isinstance(edits, dict):
        raise ValidationError(f"冲突记录中的修改内容无法读取：{raw}")
    return edits


def _show(table: str, name: str, value: Any) -> str:
    text = display_value(table, name, value) if table in TABLES else ("" if value is None else str(value))
    return text if text != "" else "（空）"


def _show_edits(table: str, edits: dict) -> str:
    return "；".join(f"{field_label(table, n)}：{_show(table, n, v)}" for n, v in edits.items()) or "（无）"


def side_text(c: dict, side: str) -> str:
    """Chinese text of one side (``winner`` / ``loser``) of a conflict."""
    table, name, kind = c.get("table") or "", c.get("field") or "", c.get("kind")
    raw = c.get(f"{side}_value")
    if kind == "duplicate_identity":
        name_key = "other_record_name" if side == "winner" else "record_name"
        who = c.get(name_key) or ""
        return f"{who}（档案 {raw}）" if who else f"档案 {raw}"
    if kind == "delete_edit":
        return "已删除" if side == "winner" else _show_edits(table, _decode_edits(raw))
    if kind == "refused_edit":
        try:
            return _show_edits(table, _decode_edits(raw))
        except ValidationError:
            return str(raw)
    if kind == "petition_transition":
        return domain.label("event_kind", raw) if raw else "（空）"
    return _show(table, name, _decode(table, name, raw))


def _field_text(c: dict) -> str:
    table, name = c.get("table") or "", c.get("field") or ""
    if table not in TABLES:
        return name
    return "、".join(field_label(table, n) for n in name.split(",") if n)


def display_row(c: dict) -> dict[str, str]:
    """One conflict as Chinese column heading → text, for the CLIs' tables: the
    two sides next to each other."""
    return {
        "编号": c.get("id") or "",
        "类型": domain.label("conflict_kind", c.get("kind") or ""),
        "记录": c.get("record_name") or c.get("row_id") or "",
        "数据表": table_label(c["table"]) if c.get("table") in TABLES else (c.get("table") or ""),
        "字段": _field_text(c),
        "采用值": side_text(c, "winner"),
        "采用站点": c.get("winner_station") or "",
        "采用时间": c.get("winner_at") or "",
        "未采用值": side_text(c, "loser"),
        "未采用站点": c.get("loser_station") or "",
        "未采用时间": c.get("loser_at") or "",
        "发现时间": local_time_text(c.get("detected_at")),
        "状态": domain.label("conflict_status", c.get("status") or ""),
        "处理结果": c.get("resolution") or "",
        "处理人": c.get("resolved_by") or "",
    }


#: The list's columns, ``(key of display_row, heading)``: the two sides next to each other.
LIST_COLUMNS: tuple[tuple[str, str], ...] = (
    ("编号", "编号"), ("类型", "类型"), ("记录", "记录"), ("字段", "字段"),
    ("采用值", "采用值"), ("采用站点", "站点"), ("采用时间", "时间"),
    ("未采用值", "未采用值"), ("未采用站点", "站点"), ("未采用时间", "时间"),
    ("发现时间", "发现时间"), ("状态", "状态"),
)
#: The columns of :func:`detail_rows`.
DETAIL_COLUMNS: tuple[tuple[str, str], ...] = (("item", "项目"), ("winner", "采用值"), ("loser", "未采用值"))


def detail_rows(c: dict) -> list[dict[str, str]]:
    """One conflict for ``show``: the two sides in two columns, then the rest
    (``item`` / ``winner`` / ``loser``; the rest in ``winner``)."""
    row = display_row(c)
    rows = [
        {"item": "值", "winner": row["采用值"], "loser": row["未采用值"]},
        {"item": "站点", "winner": row["采用站点"], "loser": row["未采用站点"]},
        {"item": "时间", "winner": row["采用时间"], "loser": row["未采用时间"]},
        {"item": "版本", "winner": c.get("winner_version") or "", "loser": c.get("loser_version") or ""},
    ]
    for heading in ("编号", "类型", "记录", "数据表", "字段", "发现时间", "状态", "处理结果", "处理人"):
        if row[heading]:
            rows.append({"item": heading, "winner": row[heading], "loser": ""})
    rows.append({"item": "记录编号", "winner": c.get("row_id") or "", "loser": ""})
    rows.append({"item": "区划代码", "winner": c.get("area") or "", "loser": ""})
    return rows


# --------------------------------------------------------------------------- resolving


class _Plan:
    def __init__(self) -> None:
        self.writes: list[tuple[str, str, dict[str, Any]]] = []
        self.resolution = ""

    def write(self, table: str, row_id: str, changes: dict[str, Any]) -> None:
        if changes:
            self.writes.append((table, row_id, changes))


def _row_in_scope(store: AnyStore, table: str, row_id: str, scope: str, *, hub: bool):
    """The row's state, refusing a row outside ``scope`` (or, on a station, not here at all)."""
    row = _state(store, table, row_id)
    label = table_label(table) if table in TABLES else table
    if row is None:
        if hub:
            raise NotFound(f"找不到{label}记录：{row_id}")
        raise ScopeError(f"{label}记录 {row_id} 不在本站范围内", hint="请由上级站点或县中心处理")
    if not _in_scope(row.area, scope):
        raise ScopeError(
            f"{label}记录 {row_id} 属于 {row.area or '（无区划）'}，不在 {scope} 范围内",
            hint="请由上级站点或县中心处理",
        )
    return row


def _check_area_value(changes: dict, scope: str) -> None:
    if "area" in changes and not _in_scope(changes["area"], scope):
        raise ScopeError(f"区划代码 {changes['area']} 不在 {scope} 范围内")


def _parse_given(table: str, name: str, value: str, scope: str) -> Any:
    f = TABLES[table].get(name)
    if f is None:
        raise ValidationError(f"字段 {name} 未知，不能用 --value 指定")
    if not f.settable:
        raise ValidationError(f"字段 {f.name}（{field_label(table, name)}）不能直接设置", hint="请用 --keep 选择一方")
    parsed = parse_value(table, name, value, scope=scope)
    if parsed is None and f.required:
        raise ValidationError(f"{field_label(table, name)}为必填项，不能清空")
    return parsed


def _plan_field_edit(store, c, plan, *, keep, value, scope, hub) -> None:
    table, row_id, name = c["table"], c["row_id"], c["field"] or ""
    _row_in_scope(store, table, row_id, scope, hub=hub)
    label = field_label(table, name)
    if value is not None:
        parsed = _parse_given(table, name, value, scope)
        plan.write(table, row_id, {name: parsed})
        plan.resolution = f"改为指定值（{label}：{_show(table, name, parsed)}）"
    elif keep == "winner":
        plan.resolution = f"保留采用值（{label}：{side_text(c, 'winner')}）"
    else:
        loser = _decode(table, name, c.get("loser_value"))
        changes = {name: loser}
        _check_area_value(changes, scope)
        plan.write(table, row_id, changes)
        plan.resolution = f"改用未采用值（{label}：{_show(table, name, loser)}）"


def _plan_delete_edit(store, c, plan, *, keep, scope, hub) -> None:
    table, row_id = c["table"], c["row_id"]
    _row_in_scope(store, table, row_id, scope, hub=hub)
    if keep == "winner":
        plan.resolution = "维持删除"
        return
    edits = {n: v for n, v in _decode_edits(c.get("loser_value")).items() if n != "deleted"}
    _check_area_value(edits, scope)
    plan.write(table, row_id, {"deleted": 0, **edits})
    plan.resolution = f"撤销删除，恢复修改（{_show_edits(table, edits)}）"


def _plan_refused_edit(store, c, plan, *, keep, value, scope, hub) -> None:
    table, row_id = c["table"], c["row_id"]
    _row_in_scope(store, table, row_id, scope, hub=hub)
    if value is not None:
        names = [n for n in (c.get("field") or "").split(",") if n]
        if len(names) != 1:
            raise ValidationError("被拒修改涉及多个字段，不能用 --value 指定", hint="请用 --keep winner 或 --keep loser")
        parsed = _parse_given(table, names[0], value, scope)
        plan.write(table, row_id, {names[0]: parsed})
        plan.resolution = f"改为指定值（{field_label(table, names[0])}：{_show(table, names[0], parsed)}）"
    elif keep == "winner":
        plan.resolution = "维持现值，不采用被拒修改"
    else:
        edits = {n: v for n, v in _decode_edits(c.get("loser_value")).items() if n != "deleted"}
        _check_area_value(edits, scope)
        plan.write(table, row_id, edits)
        plan.resolution = f"采用被拒修改（{_show_edits(table, edits)}）"


def _winning_event(store: AnyStore, c: dict, loser) -> str:
    """The id of the event that won a petition transition (the hub records the
    losing event's id and the winner's kind and version)."""
    pet = loser.values.get("petition_id")
    candidates = queries.other_events(store, pet, loser.id)
    for ev in candidates:
        state = _state(store, "petition_events", ev["id"])
        if state is not None and state.version("kind") == c.get("winner_version"):
            return ev["id"]
    for ev in candidates:  # the version may have been rewritten since: match by meaning
        if ev.get("kind") == c.get("winner_value") and ev.get("from_status") == loser.values.get("from_status"):
            return ev["id"]
    raise NotFound("找不到与之冲突的另一条信访办理记录", hint="该记录可能已被删除")


def _plan_transition(store, c, plan, *, keep, scope, hub) -> None:
    loser = _row_in_scope(store, "petition_events", c["row_id"], scope, hub=hub)
    winner_id = _winning_event(store, c, loser)
    _row_in_scope(store, "petition_events", winner_id, scope, hub=hub)
    won, lost = domain.label("event_kind", c.get("winner_value") or ""), domain.label("event_kind", c.get("loser_value") or "")
    if keep == "winner":
        plan.write("petition_events", loser.id, {"deleted": 1})
        plan.resolution = f"保留“{won}”，作废“{lost}”记录"
    else:
        plan.write("petition_events", winner_id, {"deleted": 1})
        plan.resolution = f"保留“{lost}”，作废“{won}”记录"


def _plan_merge(store, c, plan, *, merge_into, scope, hub) -> None:
    pair = [c["row_id"], c.get("winner_value") or ""]
    survivor_id = (merge_into or "").strip()
    if survivor_id not in pair:
        raise ValidationError(f"--merge-into 应为 {pair[0]} 或 {pair[1]} 之一：{merge_into}")
    other_id = pair[1] if survivor_id == pair[0] else pair[0]
    survivor = _row_in_scope(store, "veterans", survivor_id, scope, hub=hub)
    _row_in_scope(store, "veterans", other_id, scope, hub=hub)  # the other one in scope too, or refused
    if survivor.deleted:
        raise ValidationError(f"档案 {survivor_id} 已删除，不能作为保留档案", hint=f"请用 --merge-into {other_id}")
    area = survivor.area
    moved = 0
    for dep_table in ("visits", "petitions"):
        for dep in queries.dependents_of(store, dep_table, other_id):
            changes = {"veteran_id": survivor_id}
            if dep.get("area") != area:
                # The petition's events follow it: the hub re-stamps them on the move.
                changes["area"] = area
            _row_in_scope(store, dep_table, dep["id"], scope, hub=hub)
            plan.write(dep_table, dep["id"], changes)
            moved += 1
    plan.write("veterans", other_id, {"merged_into": survivor_id, "deleted": 1})
    name = survivor.values.get("name") or ""
    plan.resolution = (
        f"并入档案 {survivor_id}" + (f"（{name}）" if name else "")
        + f"，注销重复档案 {other_id}" + (f"，转移走访/信访 {moved} 条" if moved else "")
    )


_RESOLUTION_CHARS = text_limit("conflicts", "resolution", "text")


def _clip(text: str) -> str:
    """A resolution within the field's limit (the hub refuses a longer one): the
    values it quotes may be long, the choice it names comes first."""
    return text if len(text) <= _RESOLUTION_CHARS else text[: _RESOLUTION_CHARS - 1] + "…"


def resolve(
    store: AnyStore,
    conflict_id: str,
    *,
    keep: str | None = None,
    value: str | None = None,
    merge_into: str | None = None,
    by: str,
    scope: str,
    audit: Callable[..., None] | None = None,
) -> dict:
    """Settle one conflict (see the module docstring); returns the conflict as
    :func:`get_conflict` gives it after, plus ``writes``: the rows written
    (``[{"table", "id", "fields"}]``). One transaction: all or nothing.
    ``audit(kind, who, **detail)``: records the resolution (the hub passes its
    registry's audit log), inside that transaction."""
    given = [n for n, v in (("--keep", keep), ("--value", value), ("--merge-into", merge_into)) if v is not None]
    if len(given) != 1:
        raise ValidationError(
            "请指定一种处理方式：--keep winner|loser、--value 值 或 --merge-into 编号"
            + (f"（不能同时用 {'、'.join(given)}）" if given else "")
        )
    if keep is not None and keep not in KEEP_CHOICES:
        raise ValidationError(f"--keep 应为 winner（采用值）或 loser（未采用值）：{keep}")
    if not by:
        raise ValidationError("缺少处理人")
    hub = isinstance(store, HubStore)
    with store.transaction():
        c = get_conflict(store, conflict_id)
        if c.get("status") == "resolved":
            raise ValidationError(
                f"冲突 {c['id']} 已处理：{c.get('resolution') or ''}（{c.get('resolved_by') or ''}）",
                hint="已处理的冲突不能再次处理",
            )
        if not _in_scope(c.get("area"), scope):
            raise ScopeError(f"冲突 {c['id']} 属于 {c.get('area') or '（无区划）'}，不在 {scope} 范围内")
        kind = c.get("kind")
        if kind == "duplicate_identity":
            if merge_into is None:
                raise ValidationError(
                    "重复登记须用 --merge-into 指定保留的档案编号",
                    hint=f"可选：{c['row_id']} 或 {c.get('winner_value')}",
                )
        elif merge_into is not None:
            raise ValidationError("--merge-into 只用于重复登记冲突")
        if value is not None and kind not in ("concurrent_edit", "refused_edit"):
            raise ValidationError(
                f"{domain.label('conflict_kind', kind or '')}冲突不能用 --value 指定值",
                hint="请用 --keep winner 或 --keep loser",
            )
        plan = _Plan()
        if kind == "concurrent_edit":
            _plan_field_edit(store, c, plan, keep=keep, value=value, scope=scope, hub=hub)
        elif kind == "delete_edit":
            _plan_delete_edit(store, c, plan, keep=keep, scope=scope, hub=hub)
        elif kind == "refused_edit":
            _plan_refused_edit(store, c, plan, keep=keep, value=value, scope=scope, hub=hub)
        elif kind == "petition_transition":
            _plan_transition(store, c, plan, keep=keep, scope=scope, hub=hub)
        elif kind == "duplicate_identity":
            _plan_merge(store, c, plan, merge_into=merge_into, scope=scope, hub=hub)
        else:
            raise ValidationError(f"未知的冲突类型：{kind}")

        write = store.write_as_hub if hub else store.write
        for table, row_id, changes in plan.writes:
            write(table, row_id, changes)
        write("conflicts", c["id"], {"status": "resolved", "resolution": _clip(plan.resolution), "resolved_by": by})
        if audit is not None:  # in the same transaction: the resolution and its record go together
            audit("resolve", by, conflict=c["id"], kind=kind, table=c.get("table"), row_id=c.get("row_id"),
                  resolution=plan.resolution)
        out = get_conflict(store, c["id"])
    out["writes"] = [{"table": t, "id": i, "fields": ch} for t, i, ch in plan.writes]
    return out
