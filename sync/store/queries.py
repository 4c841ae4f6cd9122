"""Typed queries: what the record, roster, conflict and report layers read.

Part of the store (with ``sync.store.station`` and ``sync.store.hub``): the SQL text
lives here, so callers name what they want (``veterans(store, area_prefix=…,
text=…)``) instead of writing conditions, and a second store implementation
(PostgreSQL for a province) implements these functions and nothing else.

Records come back as plain dicts (``id`` + fields, live rows only) unless a
function says it returns row states. Every function reads; none writes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Iterator, Union

from sync.engine.rowstate import RowState
from sync.engine.scope import scope_range
from sync.store.rows import RowStore

if TYPE_CHECKING:
    from sync.store.hub import HubStore

#: A store the typed queries read: a station's (a ``RowStore``) or the hub's.
AnyStore = Union[RowStore, "HubStore"]

__all__ = [
    "AnyStore",
    "veterans",
    "visits",
    "petitions",
    "events_of",
    "other_events",
    "dependents_of",
    "conflicts",
    "veterans_for_report",
    "visited_between",
    "petitions_in",
    "open_conflicts_by_area",
]

_VETERAN_ORDERS = {"place": "area, name, id", "id": "id"}
_SEARCHED = ("name", "id_number", "phone", "address")


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _area(area_prefix: str | None, where: list[str], params: list) -> None:
    if area_prefix:
        lo, hi = scope_range(area_prefix)
        where.append("area >= ? AND area < ?")
        params += [lo, hi]


def veterans(store: AnyStore, *, area_prefix: str | None = None, text: str | None = None,
             id_number: str | None = None, order: str = "place") -> list[dict]:
    """Live veterans under ``area_prefix``, whose name, ID number, phone or address
    contains ``text``, with exactly ``id_number``; ``order``: ``place`` (area,
    name) or ``id``."""
    where, params = ["1"], []
    _area(area_prefix, where, params)
    if text and text.strip():
        where.append("(" + " OR ".join(f"{c} LIKE ? ESCAPE '\\'" for c in _SEARCHED) + ")")
        params += [_like(text.strip())] * len(_SEARCHED)
    if id_number is not None:
        where.append("id_number = ?")
        params.append(id_number)
    return store.select("veterans", " AND ".join(where), params, order=_VETERAN_ORDERS[order])


def visits(store: AnyStore, *, veteran_id: str | None = None) -> list[dict]:
    """Live visits (of one veteran), newest first."""
    if veteran_id is None:
        return store.select("visits", order="visited_on DESC, id DESC")
    return store.select("visits", "veteran_id = ?", (veteran_id,), order="visited_on DESC, id DESC")


def petitions(store: AnyStore) -> list[dict]:
    """Live petitions, newest first."""
    return store.select("petitions", order="received_on DESC, id DESC")


def events_of(store: AnyStore, petition_ids: Iterable[str] | None = None) -> list[RowState]:
    """The stored events (tombstones too, with their clocks) of these petitions, or of all.
    In no particular order: ``veterans.petition.fold_events`` orders them."""
    if petition_ids is None:
        return [state for state, _ in store.read_states("petition_events")]
    ids = list(petition_ids)
    out: list[RowState] = []
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        out += [s for s, _ in store.read_states("petition_events", f"petition_id IN ({','.join('?' * len(chunk))})",
                                                chunk)]
    return out


def other_events(store: AnyStore, petition_id: str, except_id: str) -> list[dict]:
    """The petition's live events but one, by id."""
    return store.select("petition_events", "petition_id = ? AND id != ?", (petition_id, except_id), order="id")


def dependents_of(store: AnyStore, table: str, veteran_id: str) -> list[dict]:
    """The live visits or petitions of a veteran, by id."""
    if table not in ("visits", "petitions"):
        raise ValueError(f"not a dependent table of veterans: {table}")
    return store.select(table, "veteran_id = ?", (veteran_id,), order="id")


def conflicts(store: AnyStore, *, include_resolved: bool = False, kind: str | None = None,
              area_prefix: str | None = None) -> list[dict]:
    """Live conflicts (open ones unless ``include_resolved``) of one ``kind`` code,
    under ``area_prefix``; oldest first."""
    where, params = ["1"], []
    if not include_resolved:
        where.append("status IS NOT 'resolved'")
    if kind:
        where.append("kind = ?")
        params.append(kind)
    _area(area_prefix, where, params)
    return store.select("conflicts", " AND ".join(where), params, order="detected_at, id")


# --------------------------------------------------------------------------- the report's reads


def veterans_for_report(store: AnyStore, scope: str) -> Iterator[tuple[str, str, str | None, str | None, str | None]]:
    """``(id, area, category, status, merged_into)`` of the live veterans in scope."""
    lo, hi = scope_range(scope)
    yield from store.conn.execute(
        "SELECT id, area, category, status, merged_into FROM veterans WHERE deleted IS NOT 1 AND area >= ? AND area < ?",
        (lo, hi))


def visited_between(store: AnyStore, first: str, after: str) -> Iterator[str]:
    """The veterans visited on a day in ``[first, after)`` (each once)."""
    for (vid,) in store.conn.execute(
        "SELECT DISTINCT veteran_id FROM visits WHERE deleted IS NOT 1 AND visited_on >= ? AND visited_on < ?",
        (first, after),
    ):
        yield vid


def petitions_in(store: AnyStore, scope: str) -> Iterator[tuple[str, str, str | None]]:
    """``(id, area, received_on)`` of the live petitions in scope."""
    lo, hi = scope_range(scope)
    yield from store.conn.execute(
        "SELECT id, area, received_on FROM petitions WHERE deleted IS NOT 1 AND area >= ? AND area < ?", (lo, hi))


def open_conflicts_by_area(store: AnyStore, scope: str) -> Iterator[tuple[str, int]]:
    """``(area, number of open conflicts)`` in scope."""
    lo, hi = scope_range(scope)
    yield from store.conn.execute(
        "SELECT area, count(*) FROM conflicts WHERE deleted IS NOT 1 AND status = 'open' AND area >= ? AND area < ? "
        "GROUP BY area", (lo, hi))
