"""Typed queries: what the record, roster, conflict and report layers read.

Part of the store (with ``sync.store.station`` and ``sync.store.hub``): the SQL text
lives here, so callers name what they want (``veterans(store, area_prefix=…,
text=…)``) instead of writing conditions, and a second store implementation
(PostgreSQL for a province) implements these functions and nothing else.

Records come back as plain dicts (``id`` + fields, live rows only) unless a
function says it returns row states. Every function reads; none writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Iterator, Union

from sync.engine.rowstate import RowState
from sync.engine.schema import TABLES
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
    "VeteranFilter",
    "veteran_page",
    "count_veterans",
    "veterans_named",
    "veterans_with_id_number",
    "ids_ending",
    "visit_page",
    "count_visits",
    "petition_page",
    "count_petitions",
    "overdue_petition_page",
    "count_overdue_petitions",
    "open_conflicts_about",
]

_VETERAN_ORDERS = {"place": "area, name, id", "id": "id"}
_SEARCHED = ("name", "id_number", "phone", "address")


def _searched(text: str) -> tuple[str, ...]:
    """The columns a search text can be part of: an ID number and a phone hold digits
    (and X, -, 、), so a text without a digit is not looked for there; a name holds
    none, so a text of digits only is not looked for in it (each column left out is
    a LIKE less on every veteran: a search as you type at 20,000)."""
    digits = any(c.isdigit() for c in text)
    if not digits:
        return ("name", "address")
    if all(c.isdigit() or c in "xX-" for c in text):
        return ("id_number", "phone", "address")
    return _SEARCHED


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


def plaques(store: AnyStore, *, veteran_id: str | None = None, area_prefix: str | None = None) -> list[dict]:
    """Live 光荣牌 rows (of one veteran, under an area), by hanging date then id."""
    where, params = [], []
    if veteran_id is not None:
        where.append("veteran_id = ?")
        params.append(veteran_id)
    _area(area_prefix, where, params)
    return store.select("plaques", " AND ".join(where) or "1", params, order="hung_on, id")


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


def veteran_rows_for_report(store: AnyStore, scope: str, columns: Iterable[str]) -> Iterator[dict]:
    """The live veterans in scope as dicts of ``id`` and ``columns`` (fields of the veterans
    table; anything else is refused): the upward counts read more than
    :func:`veterans_for_report` in one scan."""
    known = {f.name for f in TABLES["veterans"].fields}
    cols = list(dict.fromkeys(["id", *columns]))
    if unknown := [c for c in cols if c not in known]:
        raise ValueError(f"not fields of veterans: {unknown}")
    lo, hi = scope_range(scope)
    cur = store.conn.execute(
        f"SELECT {', '.join(cols)} FROM veterans WHERE deleted IS NOT 1 AND area >= ? AND area < ?", (lo, hi))
    for values in cur:
        yield dict(zip(cols, values))


def visits_between(store: AnyStore, first: str, after: str) -> Iterator[tuple]:
    """``(veteran_id, kind, occasion, aid_cash, aid_goods_value)`` of the live visits on a day in ``[first, after)``."""
    yield from store.conn.execute(
        "SELECT veteran_id, kind, occasion, aid_cash, aid_goods_value FROM visits "
        "WHERE deleted IS NOT 1 AND visited_on >= ? AND visited_on < ?", (first, after))


def petition_extras(store: AnyStore, scope: str) -> Iterator[tuple]:
    """``(id, group_size, collective, domain, petitioner, confidential)`` of the live petitions in scope."""
    lo, hi = scope_range(scope)
    yield from store.conn.execute(
        "SELECT id, group_size, collective, domain, petitioner, confidential FROM petitions "
        "WHERE deleted IS NOT 1 AND area >= ? AND area < ?", (lo, hi))


def plaques_in(store: AnyStore, scope: str) -> list[dict]:
    """Live 光荣牌 rows in scope (``veteran_id``), for the households' counts."""
    lo, hi = scope_range(scope)
    return [{"veteran_id": v} for (v,) in store.conn.execute(
        "SELECT veteran_id FROM plaques WHERE deleted IS NOT 1 AND area >= ? AND area < ?", (lo, hi))]


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



# --------------------------------------------------------------------------- finding and listing (pages)
#
# Lists come a page at a time (``limit`` rows from ``offset``; ``limit=None``: to the
# end) and are streamed: a page is read from a cursor, never as a list of every row.


def _window(limit: int | None, offset: int) -> tuple[str, list]:
    return " LIMIT ? OFFSET ?", [-1 if limit is None else max(0, int(limit)), max(0, int(offset))]


@dataclass(frozen=True)
class VeteranFilter:
    """Which veterans a list shows: under ``area_prefix``; ``text`` a substring of
    name, ID number, phone or address, or — ``pinyin``, which then replaces ``text`` —
    the start of the name's pinyin initials or spelling (``zs``, ``zhangs``; needs the
    name keys, ``sync.store.namekeys``); of one ``category`` (the main one or a further one of
    ``categories``) and ``status`` code; born in
    ``[born_from, born_until]`` (``YYYY-MM-DD``)."""

    area_prefix: str | None = None
    text: str | None = None
    pinyin: str | None = None
    category: str | None = None
    status: str | None = None
    born_from: str | None = None
    born_until: str | None = None


def _veteran_where(f: VeteranFilter, *, include_deleted: bool = False) -> tuple[str, list, bool]:
    """(condition on ``v`` and ``k``, params, whether it reads the name keys ``k``)."""
    where, params = ([] if include_deleted else ["v.deleted IS NOT 1"]), []
    if f.area_prefix:
        lo, hi = scope_range(f.area_prefix)
        where.append("v.area >= ? AND v.area < ?")
        params += [lo, hi]
    needs_keys = False
    text = (f.text or "").strip()
    if text or f.pinyin:
        terms = []
        # A pinyin query (Latin letters only) is looked for in the name keys alone: an ID
        # number or phone holds no such text, and testing every veteran's columns too made
        # a query whose matches sort late walk the whole county (200 ms at 20,000 veterans).
        if text and not f.pinyin:
            columns = _searched(text)
            terms += [f"v.{c} LIKE ? ESCAPE '\\'" for c in columns]
            params += [_like(text)] * len(columns)
        if f.pinyin:
            needs_keys = True
            start = f.pinyin.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            terms += ["k.initials LIKE ? ESCAPE '\\'", "k.spelled LIKE ? ESCAPE '\\'"]
            params += [start, start]
        where.append("(" + " OR ".join(terms) + ")")
    if f.category:  # the main category or one of the further ones (codes joined by ",")
        where.append("(v.category = ? OR ',' || v.categories || ',' LIKE ?)")
        params += [f.category, f"%,{f.category},%"]
    if f.status:
        where.append("v.status = ?")
        params.append(f.status)
    if f.born_from:
        where.append("v.birth_date >= ?")
        params.append(f.born_from)
    if f.born_until:
        where.append("v.birth_date <= ?")
        params.append(f.born_until)
    return " AND ".join(where) or "1", params, needs_keys


_PAGE_ORDERS = {"name": "k.sort_key, k.id", "area": "v.area, k.sort_key, k.id", "id": "v.id"}


def veteran_page(store: AnyStore, filter: VeteranFilter = VeteranFilter(), *, order: str = "name",
                 limit: int | None = None, offset: int = 0, include_deleted: bool = False,
                 chunk: int = 200) -> Iterator[dict]:
    """The veterans of ``filter``, ``limit`` from ``offset``, in ``order``: ``name``
    (pinyin, from the name keys: ``sync.store.namekeys.refresh`` first), ``area``
    (then pinyin) or ``id`` (creation). Streamed: the ids come from one cursor and
    the records are read ``chunk`` at a time."""
    where, params, _ = _veteran_where(filter, include_deleted=include_deleted)
    window, wparams = _window(limit, offset)
    if order == "id":
        join = "LEFT JOIN _name_keys k ON k.id = v.id" if filter.pinyin else ""
    else:
        join = "JOIN _name_keys k ON k.id = v.id"
    cur = store.conn.execute(f"SELECT v.id FROM veterans v {join} WHERE {where} ORDER BY {_PAGE_ORDERS[order]}{window}",
                             [*params, *wparams])
    while ids := [r[0] for r in cur.fetchmany(chunk)]:
        loaded = store.load_many("veterans", ids)
        for row_id in ids:
            if row_id in loaded:
                state = loaded[row_id][0]
                yield {"id": state.id, **state.values}


def count_veterans(store: AnyStore, filter: VeteranFilter = VeteranFilter(), *, include_deleted: bool = False) -> int:
    """How many veterans :func:`veteran_page` has in all (every page)."""
    where, params, needs_keys = _veteran_where(filter, include_deleted=include_deleted)
    if needs_keys:  # a pinyin query tests the keys alone: walk them, and look up only the veterans they match
        return store.conn.execute(f"SELECT count(*) FROM _name_keys k JOIN veterans v ON v.id = k.id WHERE {where}",
                                  params).fetchone()[0]
    return store.conn.execute(f"SELECT count(*) FROM veterans v WHERE {where}", params).fetchone()[0]


def veterans_named(store: AnyStore, name: str, *, area_prefix: str | None = None, include_deleted: bool = False,
                   limit: int = 100) -> list[dict]:
    """The veterans (live, or deleted too) with exactly this name, by area and id (at most ``limit``)."""
    where, params = ["name = ?"], [name]
    if not include_deleted:
        where.append("deleted IS NOT 1")
    _area(area_prefix, where, params)
    return [{"id": s.id, **s.values} for s, _ in store.read_states(
        "veterans", " AND ".join(where) + f" ORDER BY area, id LIMIT {int(limit)}", params)]


def veterans_with_id_number(store: AnyStore, id_number: str, *, include_deleted: bool = False) -> list[dict]:
    """The veterans (live first, then deleted ones when ``include_deleted``) with this ID number."""
    where = "id_number = ?" + ("" if include_deleted else " AND deleted IS NOT 1")
    return [{"id": s.id, **s.values} for s, _ in store.read_states(
        "veterans", where + " ORDER BY deleted IS 1, id", (id_number,))]


def ids_ending(store: AnyStore, table: str, tail: str, *, limit: int = 20) -> list[str]:
    """The ids of ``table`` (live or not) that end with ``tail`` (a fragment of an id's random end)."""
    if table not in TABLES:
        raise ValueError(f"not a replicated table: {table}")
    return [r[0] for r in store.conn.execute(
        f'SELECT id FROM "{table}" WHERE id LIKE ? ESCAPE \'\\\' ORDER BY id LIMIT ?', ("%" + _like(tail)[1:-1], limit))]


def _dated(column: str, since: str | None, until: str | None, where: list[str], params: list) -> None:
    if since:
        where.append(f"{column} >= ?")
        params.append(since)
    if until:
        where.append(f"{column} <= ?")
        params.append(until)


def _visit_where(veteran_id, since, until, kind, area_prefix) -> tuple[str, list]:
    where, params = ["deleted IS NOT 1"], []
    if veteran_id is not None:
        where.append("veteran_id = ?")
        params.append(veteran_id)
    _dated("visited_on", since, until, where, params)
    if kind:
        where.append("kind = ?")
        params.append(kind)
    _area(area_prefix, where, params)
    return " AND ".join(where), params


def visit_page(store: AnyStore, *, veteran_id: str | None = None, since: str | None = None, until: str | None = None,
               kind: str | None = None, area_prefix: str | None = None, limit: int | None = None,
               offset: int = 0) -> Iterator[dict]:
    """Live visits (of one veteran; visited in ``[since, until]``; of one ``kind``
    code), newest first, ``limit`` from ``offset``; streamed."""
    where, params = _visit_where(veteran_id, since, until, kind, area_prefix)
    window, wparams = _window(limit, offset)
    for state, _ in store.read_states("visits", f"{where} ORDER BY visited_on DESC, id DESC{window}", [*params, *wparams]):
        yield {"id": state.id, **state.values}


def count_visits(store: AnyStore, *, veteran_id: str | None = None, since: str | None = None,
                 until: str | None = None, kind: str | None = None, area_prefix: str | None = None) -> int:
    where, params = _visit_where(veteran_id, since, until, kind, area_prefix)
    return store.conn.execute(f"SELECT count(*) FROM visits WHERE {where}", params).fetchone()[0]


def _petition_where(veteran_id, since, until, class_, channel, area_prefix) -> tuple[str, list]:
    where, params = ["deleted IS NOT 1"], []
    if veteran_id is not None:
        where.append("veteran_id = ?")
        params.append(veteran_id)
    _dated("received_on", since, until, where, params)
    for column, value in (("class", class_), ("channel", channel)):
        if value:
            where.append(f'"{column}" = ?')
            params.append(value)
    _area(area_prefix, where, params)
    return " AND ".join(where), params


def petition_page(store: AnyStore, *, veteran_id: str | None = None, since: str | None = None,
                  until: str | None = None, class_: str | None = None, channel: str | None = None,
                  area_prefix: str | None = None, limit: int | None = None, offset: int = 0) -> Iterator[dict]:
    """Live petitions (of one veteran; received in ``[since, until]``; of one class
    and channel code), newest received first, ``limit`` from ``offset``; streamed."""
    where, params = _petition_where(veteran_id, since, until, class_, channel, area_prefix)
    window, wparams = _window(limit, offset)
    for state, _ in store.read_states("petitions", f"{where} ORDER BY received_on DESC, id DESC{window}",
                                      [*params, *wparams]):
        yield {"id": state.id, **state.values}


def count_petitions(store: AnyStore, *, veteran_id: str | None = None, since: str | None = None,
                    until: str | None = None, class_: str | None = None, channel: str | None = None,
                    area_prefix: str | None = None) -> int:
    where, params = _petition_where(veteran_id, since, until, class_, channel, area_prefix)
    return store.conn.execute(f"SELECT count(*) FROM petitions WHERE {where}", params).fetchone()[0]


def overdue_petition_page(store: AnyStore, today: str, *, veteran_id: str | None = None, since: str | None = None,
                          until: str | None = None, class_: str | None = None, channel: str | None = None,
                          area_prefix: str | None = None, limit: int | None = None, offset: int = 0) -> Iterator[dict]:
    """As :func:`petition_page`, only the petitions whose earliest open deadline is before
    ``today`` (``YYYY-MM-DD``), from the cache of ``sync.store.duecache`` (refresh it first)."""
    where, params = _petition_where(veteran_id, since, until, class_, channel, area_prefix)
    window, wparams = _window(limit, offset)
    cur = store.conn.execute(
        f"SELECT p.id FROM petitions p JOIN _petition_dues d ON d.id = p.id WHERE d.due < ? AND {where} "
        f"ORDER BY p.received_on DESC, p.id DESC{window}", [today, *params, *wparams])
    while ids := [r[0] for r in cur.fetchmany(200)]:
        loaded = store.load_many("petitions", ids)
        for row_id in ids:
            if row_id in loaded:
                state = loaded[row_id][0]
                yield {"id": state.id, **state.values}


def count_overdue_petitions(store: AnyStore, today: str, *, veteran_id: str | None = None, since: str | None = None,
                            until: str | None = None, class_: str | None = None, channel: str | None = None,
                            area_prefix: str | None = None) -> int:
    where, params = _petition_where(veteran_id, since, until, class_, channel, area_prefix)
    return store.conn.execute(
        f"SELECT count(*) FROM petitions p JOIN _petition_dues d ON d.id = p.id WHERE d.due < ? AND {where}",
        [today, *params]).fetchone()[0]


def open_conflicts_about(store: AnyStore, row_ids: Iterable[str]) -> list[dict]:
    """The live open conflicts about any of these rows, oldest first."""
    ids = sorted(set(row_ids))
    out: list[dict] = []
    for i in range(0, len(ids), 500):
        part = ids[i:i + 500]
        out += [{"id": s.id, **s.values} for s, _ in store.read_states(
            "conflicts", f"deleted IS NOT 1 AND status IS NOT 'resolved' AND row_id IN ({','.join('?' * len(part))})",
            part)]
    return sorted(out, key=lambda c: (c.get("detected_at") or "", c["id"]))
