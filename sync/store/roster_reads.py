"""Typed queries of the roster import and the 台账 exports, streamed.

Part of the store (the SQL text lives here, like ``sync.store.queries``):

- :func:`veterans_by_id_number`: the live veterans holding some ID numbers,
  looked up by the ``id_number`` index in chunks (an import of 20,000 rows
  does not read the whole table into dicts);
- :func:`ledger_rows`: the live visits or petitions under an area, of a date
  range, oldest first, each with its veteran (``None`` when it has none),
  read in chunks while the caller writes them out — never a list of all.

Records are plain dicts (``id`` + fields); every function reads.
"""

from __future__ import annotations

from typing import Iterable, Iterator

from sync.engine.scope import scope_range
from sync.store.rows import RowStore

__all__ = ["veterans_by_id_number", "ledger_rows", "LEDGER_DATES", "CHUNK"]

#: Rows fetched per round trip.
CHUNK = 500

#: The date a ledger of each table is kept by.
LEDGER_DATES = {"visits": "visited_on", "petitions": "received_on"}


def veterans_by_id_number(store: RowStore, id_numbers: Iterable[str]) -> dict[str, list[dict]]:
    """``{id_number: [live veterans with it, by id]}`` for those of ``id_numbers`` on file."""
    wanted = sorted(set(id_numbers))
    out: dict[str, list[dict]] = {}
    for i in range(0, len(wanted), CHUNK):
        chunk = wanted[i : i + CHUNK]
        sql = f"deleted IS NOT 1 AND id_number IN ({','.join('?' * len(chunk))}) ORDER BY id"
        for state, _ in store.read_states("veterans", sql, chunk):
            out.setdefault(state.values.get("id_number"), []).append({"id": state.id, **state.values})
    return out


def ledger_rows(store: RowStore, table: str, *, area_prefix: str | None = None, first: str | None = None,
                last: str | None = None) -> Iterator[tuple[dict, dict | None]]:
    """``(record, its veteran or None)`` of the live ``visits`` or ``petitions``
    under ``area_prefix`` dated from ``first`` to ``last`` (``YYYY-MM-DD``, both
    included, either open), by date then id. A veteran deleted since is still
    given (the ledger names who was visited)."""
    date = LEDGER_DATES[table]
    where, params = ["deleted IS NOT 1"], []
    if area_prefix:
        lo, hi = scope_range(area_prefix)
        where.append("area >= ? AND area < ?")
        params += [lo, hi]
    if first:
        where.append(f"{date} >= ?")
        params.append(first)
    if last:
        where.append(f"{date} <= ?")
        params.append(last)
    sql = " AND ".join(where) + f" ORDER BY {date}, id"
    batch: list[dict] = []
    for state, _ in store.read_states(table, sql, params):
        batch.append({"id": state.id, **state.values})
        if len(batch) >= CHUNK:
            yield from _with_veterans(store, batch)
            batch = []
    if batch:
        yield from _with_veterans(store, batch)


def _with_veterans(store: RowStore, batch: list[dict]) -> Iterator[tuple[dict, dict | None]]:
    ids = sorted({r["veteran_id"] for r in batch if r.get("veteran_id")})
    vets = {vid: {"id": state.id, **state.values} for vid, (state, _) in store.load_many("veterans", ids).items()}
    for record in batch:
        yield record, vets.get(record.get("veteran_id"))
