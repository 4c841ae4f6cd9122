"""Field-wise merge of a pushed row into the hub's row, with conflict detection.

The total order of versions is the HLC order of ``sync.engine.hlc`` (wall time, then
counter, then replica id); the higher version of a field wins everywhere.
For each pushed field ``(v_in, base_in)`` against the hub's ``v_hub``, in order:

1. ``v_in == v_hub``                                → already there (retry): no-op.
2. ``v_hub`` empty, ``base_in == v_hub``, or ``v_hub`` written by the same
   replica and ``v_in`` newer                       → fast-forward: adopt ``v_in``.
3. ``v_in`` in the hub's history of accepted versions → a retry whose
   acknowledgement was lost, after someone built on it: no-op.
4. ``v_in`` older than ``v_hub`` from the same replica → stale retry: no-op.
5. otherwise the writer did not see ``v_hub``        → **concurrent edit**: the
   higher version wins and a conflict keeps the losing side.

In cases 3–5 where the hub keeps a value other than the pushed one, the row
is *re-sent* (its ``seq`` bumped) so that a pusher which skipped the hub's
value in an earlier pull (its own field was unacknowledged then) gets it.

A **delete/edit** conflict is reported when the hub's row is deleted and the
push edits it from a replica that had not seen that delete (its ``deleted``
version is older than the hub's tombstone).

``merge_row`` is pure and never raises for a conflict: conflicts are data.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable

from sync.engine.hlc import replica_of
from sync.engine.rowstate import RowState

__all__ = ["merge_row", "MergeResult", "ConflictRecord", "CONCURRENT_EDIT", "DELETE_EDIT"]

CONCURRENT_EDIT = "concurrent_edit"
DELETE_EDIT = "delete_edit"
_CONTEXT = {"area", "deleted"}


@dataclass(frozen=True, slots=True)
class ConflictRecord:
    """One losing write kept for a person to see: both sides with their versions."""

    kind: str
    table: str
    row_id: str
    field: str
    winner_value: Any
    winner_version: str
    loser_value: Any
    loser_version: str


@dataclass(slots=True)
class MergeResult:
    changed: dict[str, tuple[Any, str]] = field(default_factory=dict)  # field -> (value, version)
    conflicts: list[ConflictRecord] = field(default_factory=list)
    resend: bool = False

    @property
    def adopted(self) -> bool:
        return bool(self.changed)


def merge_row(
    current: RowState | None,
    incoming: RowState,
    *,
    in_history: Callable[[str, str], bool] = lambda field, version: False,
) -> MergeResult:
    """Merge the pushed fields of ``incoming`` (those with a base, plus the
    context fields) into ``current`` (the hub's row, or None if new)."""
    result = MergeResult()
    if current is None:
        for name, version in incoming.clock.items():
            result.changed[name] = (incoming.values.get(name), version)
        return result

    edits_fields = False
    for name in _pushed_fields(incoming):
        v_in = incoming.clock.get(name, "")
        if not v_in:
            continue
        v_hub = current.clock.get(name, "")
        val_in = incoming.values.get(name)
        if v_in == v_hub:
            continue
        base_in = incoming.base.get(name, v_in if name in _CONTEXT else "")
        if not v_hub or base_in == v_hub or (v_in > v_hub and replica_of(v_in) == replica_of(v_hub)):
            if v_in > v_hub:
                result.changed[name] = (val_in, v_in)
                if name not in _CONTEXT and name in incoming.base:
                    edits_fields = True
            continue
        val_hub = current.values.get(name)
        if in_history(name, v_in) or (v_in < v_hub and replica_of(v_in) == replica_of(v_hub)):
            if val_hub != val_in:
                result.resend = True
            continue
        if name in _CONTEXT and name not in incoming.base:
            # A context field the pusher did not write: it is simply behind.
            result.resend = result.resend or v_in < v_hub
            if v_in > v_hub:
                result.changed[name] = (val_in, v_in)
            continue
        # Concurrent edit: the writer did not see v_hub.
        if name not in _CONTEXT:
            edits_fields = True
        if v_in > v_hub:
            result.changed[name] = (val_in, v_in)
            winner, loser = (val_in, v_in), (val_hub, v_hub)
        else:
            winner, loser = (val_hub, v_hub), (val_in, v_in)
            result.resend = True
        if winner[0] != loser[0]:
            result.conflicts.append(
                ConflictRecord(CONCURRENT_EDIT, incoming.table, incoming.id, name, winner[0], winner[1], loser[0], loser[1])
            )

    hub_deleted_v = current.clock.get("deleted", "")
    if (
        current.deleted
        and edits_fields
        and incoming.clock.get("deleted", "") < hub_deleted_v
        and "deleted" not in result.changed
    ):
        edits = {n: incoming.values.get(n) for n in incoming.base if n not in _CONTEXT}
        result.conflicts.append(
            ConflictRecord(
                DELETE_EDIT, incoming.table, incoming.id, "deleted",
                True, hub_deleted_v, json.dumps(edits, ensure_ascii=False, sort_keys=True),
                max((incoming.clock.get(n, "") for n in edits), default=""),
            )
        )
    return result


def _pushed_fields(incoming: RowState):
    seen = set()
    for name in incoming.base:
        seen.add(name)
        yield name
    for name in _CONTEXT:
        if name not in seen and name in incoming.clock:
            yield name
