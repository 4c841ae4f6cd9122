"""Reads for the contact duty (走访慰问): when each veteran was last contacted.

Part of the store (the SQL text lives here, like ``sync.store.queries``). A
veteran *on file* is one the county counts (the report's 在册 rule): live, not
merged into another, status 在册 (``active``) or unset. Every function reads.

- :func:`uncontacted_page` / :func:`count_uncontacted`: the on-file veterans under
  an area with no live visit dated ``since`` or later, each with the date of its
  last live visit (``None``: never), by area then name (pinyin; the name keys of
  ``sync.store.namekeys``, refreshed by the caller), a page at a time;
- :func:`last_visits`: the date of the last live visit of some veterans;
- :func:`veteran_areas`: the areas the live veterans under a prefix are filed in.
"""

from __future__ import annotations

from typing import Iterable, Iterator

from sync.engine.scope import scope_range
from sync.store.rows import RowStore

__all__ = ["uncontacted_page", "count_uncontacted", "last_visits", "veteran_areas"]

_ON_FILE = ("v.deleted IS NOT 1 AND (v.merged_into IS NULL OR v.merged_into = '') "
            "AND (v.status IS NULL OR v.status = 'active')")
_NOT_SINCE = ("NOT EXISTS (SELECT 1 FROM visits x WHERE x.veteran_id = v.id AND x.deleted IS NOT 1 "
              "AND x.visited_on >= ?)")
_LAST = "(SELECT max(x.visited_on) FROM visits x WHERE x.veteran_id = v.id AND x.deleted IS NOT 1)"


def _where(area_prefix: str, since: str) -> tuple[str, list]:
    lo, hi = scope_range(area_prefix)
    return f"{_ON_FILE} AND v.area >= ? AND v.area < ? AND {_NOT_SINCE}", [lo, hi, since]


def uncontacted_page(store: RowStore, area_prefix: str, since: str, *, limit: int | None = None,
                     offset: int = 0) -> Iterator[tuple[dict, str | None]]:
    """``(veteran, date of its last live visit or None)`` of the on-file veterans under
    ``area_prefix`` not visited on ``since`` (``YYYY-MM-DD``) or later, by area, name
    (pinyin) and id; ``limit`` from ``offset`` (``limit`` None: to the end)."""
    where, params = _where(area_prefix, since)
    sql = (f"SELECT v.id, {_LAST} FROM veterans v LEFT JOIN _name_keys k ON k.id = v.id WHERE {where} "
           "ORDER BY v.area, k.sort_key, v.id LIMIT ? OFFSET ?")
    found = store.conn.execute(sql, [*params, -1 if limit is None else max(0, int(limit)),
                                     max(0, int(offset))]).fetchall()
    loaded = store.load_many("veterans", [row_id for row_id, _ in found])
    for row_id, last in found:
        if row_id in loaded:
            state = loaded[row_id][0]
            yield {"id": state.id, **state.values}, last


def count_uncontacted(store: RowStore, area_prefix: str, since: str) -> int:
    """How many veterans :func:`uncontacted_page` has in all."""
    where, params = _where(area_prefix, since)
    return store.conn.execute(f"SELECT count(*) FROM veterans v WHERE {where}", params).fetchone()[0]


def last_visits(store: RowStore, veteran_ids: Iterable[str]) -> dict[str, str]:
    """``{veteran id: date of its last live visit}`` of those of ``veteran_ids`` ever visited."""
    wanted = sorted(set(veteran_ids))
    out: dict[str, str] = {}
    for i in range(0, len(wanted), 500):
        chunk = wanted[i : i + 500]
        out.update(store.conn.execute(
            f"SELECT veteran_id, max(visited_on) FROM visits WHERE deleted IS NOT 1 "
            f"AND veteran_id IN ({','.join('?' * len(chunk))}) GROUP BY veteran_id", chunk).fetchall())
    return out


def veteran_areas(store: RowStore, area_prefix: str) -> list[str]:
    """The distinct areas of the live veterans under ``area_prefix``, in order."""
    lo, hi = scope_range(area_prefix)
    return [a for (a,) in store.conn.execute(
        "SELECT DISTINCT area FROM veterans WHERE area >= ? AND area < ? AND deleted IS NOT 1 ORDER BY area",
        (lo, hi))]
