"""Reads of the county's area list (``areas``: 统计用区划代码 → place name).

Part of the store (the SQL text lives here, like ``sync.store.contacts``). The
``areas`` table is written by the hub only (``county-hub areas import``) and
reaches each station by the ordinary pull: a row's ``area`` is its own code, so a
station holds the names of its own subtree. Every function reads a live row
(not a tombstone) and works on both stores (anything with a ``conn``): the
station's :class:`~sync.store.station.Store` and the :class:`~sync.store.hub.HubStore`.

- :func:`area_names`: ``{code: name}`` under a prefix;
- :func:`area_rows`: the rows themselves (code, name, level), in code order;
- :func:`has_area_list`: whether the store holds a list at all (no list: no code is
  refused, as before the list existed);
- :func:`unknown_areas`: which of some codes are not on the list;
- :func:`area_states`: every row, tombstones too (what an import compares with).
"""

from __future__ import annotations

from typing import Iterable

from sync.engine.scope import scope_range

__all__ = ["area_names", "area_rows", "has_area_list", "unknown_areas", "area_states"]

_LIVE = "deleted IS NOT 1 AND area IS NOT NULL"


def area_names(store, prefix: str = "") -> dict[str, str]:
    """``{code: name}`` of the live areas whose code starts with ``prefix`` ("" : all)."""
    lo, hi = scope_range(prefix or "")
    return {code: name for code, name in store.conn.execute(
        f"SELECT area, name FROM areas WHERE {_LIVE} AND area >= ? AND area < ? ORDER BY area", (lo, hi))}


def area_rows(store, prefix: str = "") -> list[dict]:
    """The live areas under ``prefix``, ``{"code", "name", "level"}`` each, in code order."""
    lo, hi = scope_range(prefix or "")
    return [{"code": code, "name": name, "level": level} for code, name, level in store.conn.execute(
        f"SELECT area, name, level FROM areas WHERE {_LIVE} AND area >= ? AND area < ? ORDER BY area",
        (lo, hi))]


def has_area_list(store) -> bool:
    """Whether the store holds any live area (then an area code must be on the list)."""
    return store.conn.execute(f"SELECT 1 FROM areas WHERE {_LIVE} LIMIT 1").fetchone() is not None


def unknown_areas(store, codes: Iterable[str]) -> set[str]:
    """Those of ``codes`` that are not the code of a live area (all of them when the
    store holds no list: the caller asks :func:`has_area_list` first)."""
    wanted = sorted({c for c in codes if isinstance(c, str)})
    known: set[str] = set()
    for i in range(0, len(wanted), 500):
        chunk = wanted[i : i + 500]
        known.update(code for (code,) in store.conn.execute(
            f"SELECT area FROM areas WHERE {_LIVE} AND area IN ({','.join('?' * len(chunk))})", chunk))
    return set(wanted) - known


def area_states(store) -> dict[str, dict]:
    """``{code: {"area", "name", "level", "deleted"}}`` of every areas row, removed ones
    (tombstones) too, keyed by the row's id (the code: the import makes rows so)."""
    return {row_id: {"area": area, "name": name, "level": level, "deleted": 1 if deleted == 1 else 0}
            for row_id, area, name, level, deleted in store.conn.execute(
                "SELECT id, area, name, level, deleted FROM areas")}
