"""Scope checksums (PROTOCOL.md "Verify"): what the hub and a station each hold
of the station's scope, per *bucket* — one table in one area — as a row count
and a 64-bit digest, so that the two can be compared without sending the rows.

A row's hash is the first 8 bytes (big-endian) of BLAKE2b over its id, its
clock in the canonical stored form (``sync.engine.clocks``: groups in version
order, fields as bit masks; a clock naming a field the table does not declare
is JSON with sorted keys) and the JSON array of the values of the fields its
clock names, in the order the packed clock names them. A bucket's digest is
the sum of its rows' hashes modulo 2**64: independent of the order the rows
are read in, one streaming pass over the rows, nothing sorted. Tombstones are
rows like any other, but for the *retired* ones: deleted before the hub's
``pruned_before_ms`` (``sync.store.retention``), which neither side counts (the
hub removed them, a station drops them; one that either side still holds is no
difference).

The hub's buckets hold exactly the rows the station may receive: its scope,
and confidential petitions, their events and conflicts only of that station
(the pull's condition, ``HubStore._scope_where``). The station's buckets hold
every row it has, in whatever area.

Also here, being SQL: the rows of some buckets (the hub's, paged, for a
repair; the station's, to compare row by row) and the station's repair writes
(``apply_fixes``), which never touch a pending field.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any, Callable, Iterable, Iterator

import orjson

from sync.engine.clocks import pack_clock, packed_names
from sync.engine.rowstate import RowState
from sync.engine.schema import TABLES
from sync.engine.scope import scope_range
from sync.store.hub import HubStore
from sync.store.retention import Retention, deleted_ms, retired
from sync.store.rows import RowStore, _loads, _q

__all__ = ["MAX_FETCH_BUCKETS", "DIGESTS_PER_RESPONSE", "Digests", "RowFix", "row_hash", "state_hash", "hub_digests", "hub_bucket_rows", "station_digests",
           "station_bucket_rows", "apply_fixes", "combine"]

#: The bounds of a Verify call (PROTOCOL.md): buckets one request may fetch, digests per response.
MAX_FETCH_BUCKETS = 10_000
DIGESTS_PER_RESPONSE = 5_000

#: (table, area) -> (rows, digest)
Digests = dict[tuple[str, str], tuple[int, int]]

_MASK = (1 << 64) - 1
_blake2b = hashlib.blake2b
_from_bytes = int.from_bytes


def _canonical_clock(table: str, packed: str) -> str:
    """The stored clock as both sides store it: JSON-form clocks (a field the
    table does not declare, or a database from before the compact form)
    repacked, and when still JSON, with sorted keys."""
    if packed and packed[0] != "{":
        return packed
    clock = orjson.loads(packed or "{}")
    repacked = pack_clock(table, clock)
    if repacked[0] != "{":
        return repacked
    return orjson.dumps(clock, option=orjson.OPT_SORT_KEYS).decode()


def row_hash(row_id: str, clock: str, values: tuple) -> int:
    """The 64-bit hash of one row (``clock`` canonical, ``values`` those of the fields it names, in its order)."""
    data = b"%s\x00%s\x00%s" % (row_id.encode(), clock.encode(), orjson.dumps(values))
    return _from_bytes(_blake2b(data, digest_size=8).digest(), "big")


def state_hash(state: RowState) -> int:
    """The hash of a row state (a fetched row, a loaded one): equal to the hash
    of the stored row it came from."""
    clock = _canonical_clock(state.table, pack_clock(state.table, state.clock))
    values = state.values
    return row_hash(state.id, clock, tuple(values.get(n) for n in packed_names(state.table, clock)))


def combine(hashes: Iterable[int]) -> int:
    """A bucket's digest of its rows' hashes."""
    return sum(hashes) & _MASK


def _scan(conn, table: str, where: str, params: tuple, retired_before: int = 0) -> Iterator[tuple[str, int, int]]:
    """(area, seq, hash) of each row of ``table`` matching ``where``, streamed; a
    tombstone deleted before ``retired_before`` comes with the hash None (not counted)."""
    fields = TABLES[table].data_fields
    cur = conn.cursor()
    cur.row_factory = None  # plain tuples: this reads every row of a scope
    cols = ", ".join(_q(c) for c in ("id", "area", "seq", "_clock", "_extra", *fields))
    cur.execute(f"SELECT {cols} FROM {_q(table)} WHERE {where}", params)
    at = {name: i + 5 for i, name in enumerate(fields)}
    deleted_at = at["deleted"]
    getters: dict[tuple[str, ...], Callable[[tuple], tuple] | None] = {}  # field names -> a getter of their values

    def getter(names: tuple[str, ...]) -> Callable[[tuple], tuple] | None:
        if any(n not in at for n in names):
            return None  # a field kept in _extra
        if len(names) == 1:
            one = itemgetter(at[names[0]])
            return lambda row: (one(row),)
        return itemgetter(*(at[n] for n in names)) if names else (lambda row: ())

    for row in cur:
        row_id, area, seq, clock, extra = row[0], row[1], row[2], row[3], row[4]
        if retired_before and row[deleted_at] == 1 and deleted_ms(table, clock) < retired_before:
            yield area or "", seq, None
            continue
        if not clock or clock[0] == "{":
            clock = _canonical_clock(table, clock)
        names = packed_names(table, clock)
        try:
            get = getters[names]
        except KeyError:
            get = getter(names)
            if len(getters) < 4096:
                getters[names] = get
        if get is None or extra:
            kept = _loads(extra) if extra else {}
            values = tuple(row[at[n]] if n in at else kept.get(n) for n in names)
        else:
            values = get(row)
        yield area or "", seq, row_hash(row_id, clock, values)


def _add(buckets: dict[tuple[str, str], list[int]], table: str, rows: Iterator[tuple[str, int, int | None]]) -> None:
    """Fold scanned rows into ``buckets`` ([rows, sum] per (table, area)); a retired row (hash None) is not counted."""
    for area, _seq, h in rows:
        if h is None:
            continue
        b = buckets.get((table, area))
        if b is None:
            buckets[(table, area)] = [1, h]
        else:
            b[0] += 1
            b[1] += h


def _finish(buckets: dict[tuple[str, str], list[int]]) -> Digests:
    return {k: (n, s & _MASK) for k, (n, s) in sorted(buckets.items())}


def _scope_seq(hub: HubStore, lo: str, hi: str, station: str) -> int:
    """The scope's newest change at the hub: of a row in it, or of a move of a row
    out of its areas (within the scope too: the row may have been read in neither)."""
    top = 0
    for name in TABLES:
        where, params = HubStore._scope_where(name, lo, hi, station)
        top = max(top, hub.conn.execute(f"SELECT max(seq) FROM {_q(name)} WHERE {where}", params).fetchone()[0] or 0)
    only = " AND (station IS NULL OR station = ?)" if station else ""
    moved = hub.conn.execute(f"SELECT max(seq) FROM _moves WHERE old_area >= ? AND old_area < ?{only}",
                             (lo, hi, *((station,) if station else ()))).fetchone()[0]
    return max(top, moved or 0)


def _paged(hub: HubStore, table: str, where: str, params: tuple, lo: str, page: int,
           retired_before: int = 0) -> Iterator[tuple[str, int, int]]:
    """``_scan`` of the areas from ``lo`` on, in pages of ``page`` rows in (area,
    seq) order, each page its own read transaction: the hub's lock is never held
    for a whole county. (The row value comes first: SQLite seeks the (area, seq)
    index with it.)"""
    after: tuple[str, int] = (lo, -1)
    while True:
        with hub.transaction("DEFERRED"):
            rows = list(_scan(hub.conn, table, f"(area, seq) > (?, ?) AND ({where}) ORDER BY area, seq LIMIT ?",
                              (*after, *params, page), retired_before))
        yield from rows
        if len(rows) < page:
            return
        after = rows[-1][:2]


def hub_digests(hub: HubStore, scope: str, station: str, *, page: int = 5000) -> tuple[Digests, int]:
    """The hub's buckets of a station's scope, in (table, area) order, and the
    scope's newest seq, read after the rows: a row changed while they were read
    either was read as it was before (and the station, behind that change, holds
    it so too) or has a seq at most the one returned (and the station, behind
    it, compares nothing). Retired tombstones are not counted."""
    lo, hi = scope_range(scope)
    retired_before = Retention(hub).pruned_before_ms
    buckets: dict[tuple[str, str], list[int]] = {}
    for name in TABLES:
        where, params = HubStore._scope_where(name, lo, hi, station)
        _add(buckets, name, _paged(hub, name, where, params, lo, page, retired_before))
    with hub.transaction("DEFERRED"):
        top = _scope_seq(hub, lo, hi, station)
    return _finish(buckets), top


def hub_bucket_rows(hub: HubStore, scope: str, station: str, buckets: list[tuple[str, str]], *,
                    start: tuple[int, int] = (0, 0), limit: int = 1000,
                    max_bytes: int = 4 * 1024 * 1024) -> tuple[list[RowState], tuple[int, int] | None, int]:
    """One page of the hub's rows of ``buckets`` (each in the station's scope;
    the caller checks), as a pull sends them: ``limit`` rows and about
    ``max_bytes`` bytes of values at most (at least one row). ``start``: (index
    of the bucket, seq after which its rows continue). Returns the rows, where
    the next page starts (None: done) and the scope's newest seq (as of this page).
    Retired tombstones are not sent."""
    lo, hi = scope_range(scope)
    out: list[RowState] = []
    size = 0
    index, after = start
    with hub.transaction("DEFERRED"):
        top = _scope_seq(hub, lo, hi, station)
        retired_before = Retention(hub).pruned_before_ms
        while index < len(buckets):
            table, area = buckets[index]
            where, params = HubStore._scope_where(table, lo, hi, station)
            while True:
                want = limit - len(out) + 1
                page = list(hub.read_states(table, f"area = ? AND seq > ? AND {where} ORDER BY seq LIMIT ?",
                                            (area, after, *params, want)))
                for state, _ in page:
                    if len(out) >= limit or (out and size > max_bytes):
                        return out, (index, after), top
                    after = state.seq
                    if retired(state, retired_before):
                        continue
                    values = state.values
                    state.values = {k: values.get(k) for k in state.clock}
                    size += len(orjson.dumps(state.values)) + len(state.id) + 40 * len(set(state.clock.values()))
                    out.append(state)
                if len(page) < want:  # the bucket is done (a page of retired rows alone reads on)
                    break
            index, after = index + 1, 0
    return out, None, top


def station_digests(store: RowStore, *, retired_before: int = 0) -> Digests:
    """The station's buckets: every row it holds, whatever its area, but the tombstones
    deleted before ``retired_before`` (the hub's ``pruned_before_ms``, from the handshake)."""
    buckets: dict[tuple[str, str], list[int]] = {}
    with store.transaction("DEFERRED"):
        for name in TABLES:
            _add(buckets, name, _scan(store.conn, name, "1", (), retired_before))
    return _finish(buckets)


def station_bucket_rows(store: RowStore, buckets: Iterable[tuple[str, str]], *,
                        retired_before: int = 0) -> dict[tuple[str, str], tuple[RowState, dict]]:
    """The station's rows of ``buckets``: (table, id) -> (state, pending marks); retired
    tombstones (deleted before ``retired_before``) left out."""
    out: dict[tuple[str, str], tuple[RowState, dict]] = {}
    with store.transaction("DEFERRED"):
        for table, area in buckets:
            where, params = ("area = ?", (area,)) if area else ("(area IS NULL OR area = '')", ())
            for state, pending in store.read_states(table, where, params):
                if not retired(state, retired_before):
                    out[(table, state.id)] = (state, pending)
    return out


@dataclass
class RowFix:
    """What a repair does to one row of the station.

    ``take``: fields set to the hub's (value, version) (version "": the hub has
    no such field, the station drops it); ``insert``: the hub's row, for a row
    the station lacks; ``mark``: pending marks (version, base) added, so the
    next push sends those versions; ``delete``: the row goes. A field pending
    at the station is never overwritten, and a row with pending marks is never
    deleted."""

    table: str
    id: str
    take: dict[str, tuple[Any, str]] = field(default_factory=dict)
    insert: RowState | None = None
    mark: dict[str, tuple[str, str]] = field(default_factory=dict)
    delete: bool = False


def apply_fixes(store: RowStore, fixes: list[RowFix]) -> int:
    """Apply a repair in one durable transaction; returns the rows changed."""
    changed = 0
    with store.transaction():
        saves = []
        newest = ""
        for fix in fixes:
            loaded = store.load(fix.table, fix.id)
            if fix.delete:
                if loaded is not None and not loaded[1]:
                    store.conn.execute(f"DELETE FROM {_q(fix.table)} WHERE id = ? AND _pending IS NULL", (fix.id,))
                    changed += 1
                continue
            if loaded is None:
                if fix.insert is None:
                    continue
                state, pending = RowState(fix.table, fix.id, dict(fix.insert.values), dict(fix.insert.clock)), {}
                newest = max(newest, max(state.clock.values(), default=""))
            else:
                state, pending = loaded
            for name, (value, version) in fix.take.items():
                if name in pending:
                    continue
                if version:
                    state.values[name] = value
                    state.clock[name] = version
                    newest = max(newest, version)
                else:
                    state.values.pop(name, None)
                    state.clock.pop(name, None)
            for name, mark in fix.mark.items():
                if name not in pending and name in state.clock:
                    pending[name] = mark
            saves.append((state, pending or None))
        if saves:
            store.save_rows(saves)
            changed += len(saves)
        if newest:
            store.hlc.observe(newest)
    return changed

