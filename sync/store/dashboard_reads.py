"""Reads for the county's dashboard that the CLI does not make.

- :func:`refused_by_station`: how many pushed edits the hub refused, per station,
  summed from the audit entries of its pushes (``refused`` of each ``push``);
- :func:`petitions_with_events`: the live petitions of a scope, each with its
  stored events (tombstones too, with their clocks, as
  ``veterans.petition.fold_events`` takes them), for the petitions overdue or
  due soon county-wide. Two reads in one read transaction.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sync.engine.rowstate import RowState
from sync.engine.scope import scope_range

if TYPE_CHECKING:
    from sync.store.hub import HubStore

__all__ = ["refused_by_station", "petitions_with_events"]


def refused_by_station(store: "HubStore") -> dict[str, int]:
    """``{station: edits refused}`` over the whole audit log (stations with none are left out).

    A push entry with refused rows always lists them (``refusals``, the registry's
    ``record_push``): only those entries' JSON is read (a scan of the log, ~0.25 s a
    million entries)."""
    with store.transaction("DEFERRED"):
        rows = store.conn.execute(
            "SELECT station, total(json_extract(detail, '$.refused')) FROM _audit "
            "WHERE kind = 'push' AND station IS NOT NULL AND detail LIKE '%\"refusals\"%' GROUP BY station").fetchall()
    return {station: int(n) for station, n in rows if n}


def petitions_with_events(store: "HubStore", scope: str) -> list[tuple[dict, list[RowState]]]:
    """``[(petition, its stored events)]`` for the live petitions whose area is in ``scope``,
    oldest received first; a petition is ``{"id", **its fields}``: every field, since the
    fold reads some of them (``address_unclear``: no notice due) and a view others (``linked_to``)."""
    lo, hi = scope_range(scope)
    with store.transaction("DEFERRED"):
        petitions = [{"id": s.id, **s.values}
                     for s, _ in store.read_states("petitions",
                                                   "deleted IS NOT 1 AND area >= ? AND area < ? "
                                                   "ORDER BY received_on, id", (lo, hi))]
        events: dict[str, list[RowState]] = {p["id"]: [] for p in petitions}
        for state, _ in store.read_states("petition_events"):
            of = events.get(state.values.get("petition_id"))
            if of is not None:
                of.append(state)
    return [(p, events[p["id"]]) for p in petitions]
