"""Reads for the contact duty (走访慰问): when each veteran was last contacted.

Part of the store (the SQL text lives here, like ``sync.store.queries``). A
veteran *on file* is one the county counts (the report's 在册 rule): live, not
merged into another, status 在册 (``active``) or unset. Every function reads.

- :func:`uncontacted_page` / :func:`count_uncontacted`: the on-file veterans under
  an area with no live visit dated ``since`` or later, each with the date of its
  last live visit (``None``: never), by area then name (pinyin; the name keys of
  ``sync.store.namekeys``, refreshed by the caller), a page at a time;
- :func:`last_visits`: the date of the last live visit of some veterans;
- :func:`veteran_areas`: the areas veterans under a prefix are filed in.
"""

from __future__ import annotations

from typing import Iterable, Iterator

from sync.engine.scope import scope_range
from sync.store.rows import RowStore

__all__ = ["uncontacted_page", "count_uncontacted", "last_visits", "veteran_areas"]

_ON_FILE = ("v.deleted IS NOT 1 AND (v.merged_into IS NULL OR v.merged_into = '') "
            "AND (v.status IS NULL OR v.status = 'active')")
# The veterans visited since the day, read once by the visit date index (a month's visits),
# not a probe of every veteran's visits.
_NOT_SINCE = ("v.id NOT IN (SELECT veteran_id FROM visits WHERE visited_on >= ? AND deleted IS NOT 1 "
              "AND veteran_id IS NOT NULL)")


def _where(area_prefix: str, since: str) -> tuple[str, list]:
    lo, hi = scope_range(area_prefix)
    return f"{_ON_FILE} AND v.area >= ? AND v.area < ? AND {_NOT_SINCE}", [lo, hi, since]


def uncontacted_page(store: RowStore, area_prefix: str, since: str, *, limit: int | None = None,
                     offset: int = 0) -> Iterator[tuple[dict, str | None]]:
    """``(veteran, date of its last live visit or None)`` of the on-file veterans under
    ``area_prefix`` not visited on ``since`` (``YYYY-MM-DD``) or later, by area, name
    (pinyin) and id; ``limit`` from ``offset`` (``limit`` None: to the end)."""
    where, params = _where(area_prefix, since)
    sql = (f"SELECT v.id FROM veterans v LEFT JOIN _name_keys k ON k.id = v.id WHERE {where} "
           "ORDER BY v.area, k.sort_key, v.id LIMIT ? OFFSET ?")
    found = [row_id for (row_id,) in store.conn.execute(
        sql, [*params, -1 if limit is None else max(0, int(limit)), max(0, int(offset))])]
    loaded = store.load_many("veterans", found)
    last = last_visits(store, found)
    for row_id in found:
        if row_id in loaded:
            state = loaded[row_id][0]
            yield {"id": state.id, **state.values}, last.get(row_id)


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
    """The distinct areas veterans under ``area_prefix`` are filed in (deleted ones
    too: a village once on file is still one of the scope), in order. A skip scan
    of the ``(area, seq)`` index: one probe per area, not a read of every row."""
    lo, hi = scope_range(area_prefix)
    out: list[str] = []
    probe = "SELECT min(area) FROM veterans WHERE area > ? AND area < ?"
    found = store.conn.execute("SELECT min(area) FROM veterans WHERE area >= ? AND area < ?", (lo, hi)).fetchone()[0]
    while found is not None:
        out.append(found)
        found = store.conn.execute(probe, (found, hi)).fetchone()[0]
    return out
