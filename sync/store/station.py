"""The station's store: the row gateway (``sync.store.rows``) plus what a
station's sync session needs, and nothing of the network:

- local writes stamped by this replica's HLC, remembered as *pending*, with the
  person who made them (``recorded_by``, from ``operator``: set by whoever opens
  the store, ``station_node.home.open_store``; the store knows no login);
- ``pending_batches()``: the rows holding fields the hub has not acknowledged;
- ``acknowledge()``: the hub has them (only the exact versions acked are cleared);
- ``reject()``: the hub refused a row; the edit is kept in ``_rejected``;
- ``apply_pulled()``: rows and evictions from the hub, with the cursor, in one
  transaction; never overwrites a pending field.
"""

from __future__ import annotations

import time
from operator import itemgetter
from typing import Any, Callable, Iterable, Iterator

from sync.engine.clocks import pack_pending, pending_groups, unpack_clock, unpack_pending
from sync.engine.rowstate import Eviction, RowState
from sync.engine.schema import CONTEXT_FIELDS, PARENTS_FIRST, REFERENCES, TABLES, Table
from sync.engine.errors import ValidationError
from sync.engine.labels import label_of
from sync.store.rows import READ_ONLY_REASON, REPLICATED, STATION_READ_ONLY, RowStore, _dumps, _loads, _q

__all__ = ["Store", "REPLICATED"]


class Store(RowStore):
    """A station's database: the row gateway with pending marks, pushes and pulls."""

    def write(self, table: str, row_id: str, changes: dict[str, Any], *, create: bool = False) -> RowState:
        """Write fields of one row as this replica, stamped and marked pending; a
        write that changes the row records the person acting (``operator``, see
        :meth:`RowStore.stamp`) as its ``recorded_by``. A table only the hub writes
        (``STATION_READ_ONLY``) is refused: its rows land here by the pull alone."""
        if table in STATION_READ_ONLY:
            raise ValidationError(READ_ONLY_REASON.format(label=label_of(table)))
        with self.transaction():
            return self.stamp(table, row_id, changes, create=create)

    # -- push side -----------------------------------------------------------

    def pending_count(self) -> int:
        return sum(
            self.conn.execute(f"SELECT count(*) FROM {_q(t)} WHERE _pending IS NOT NULL").fetchone()[0]
            for t in REPLICATED
        )

    def pending_batches(self, batch_size: int = 500) -> Iterator[list[RowState]]:
        """Pending rows in seq order, in batches. Each state carries the pending
        fields (with their bases) and the context fields (area, deleted).

        A row comes no later than the rows referring to it: when a row of a
        batch names a parent that is itself pending in a later batch (a veteran
        edited after its visit was logged), the parent joins this batch — the
        hub admits a child only with its parent (``veterans.admission``)."""
        after = 0
        forwarded: dict[tuple[str, str], int] = {}  # rows sent early, by the seq they had
        while True:
            cutoff = None  # the batch ends at the smallest n-th pending seq over the tables (index only)
            for name in REPLICATED:
                nth = self.conn.execute(
                    f"SELECT seq FROM {_q(name)} WHERE _pending IS NOT NULL AND seq > ? ORDER BY seq LIMIT 1 OFFSET ?",
                    (after, batch_size - 1),
                ).fetchone()
                if nth is not None and (cutoff is None or nth[0] < cutoff):
                    cutoff = nth[0]
            rows: list[tuple[int, RowState]] = []
            for name in REPLICATED:
                t = TABLES[name]
                cur = self.conn.cursor()
                cur.row_factory = None  # plain tuples: this loop reads every pending row
                cur.execute(f"SELECT * FROM {_q(name)} WHERE _pending IS NOT NULL AND seq > ? AND seq <= ?",
                            (after, cutoff if cutoff is not None else self.last_seq))
                index = {d[0]: i for i, d in enumerate(cur.description)}
                seq_at = index["seq"]
                for row in cur:
                    rows.append((row[seq_at], _push_state_of_row(t, row, index)))
            if forwarded:
                rows = [(seq, st) for seq, st in rows if forwarded.get((st.table, st.id)) != seq]
            if not rows and cutoff is not None:
                after = cutoff
                continue
            if not rows:
                return
            rows.sort(key=lambda item: item[0])
            after = rows[-1][0]
            batch = [state for _, state in rows]
            batch += self._pending_parents(batch, after, forwarded)
            yield batch

    def _pending_parents(self, rows: list[RowState], after: int, forwarded: dict) -> list[RowState]:
        """The rows that ``rows`` refer to and that are pending beyond seq ``after``
        (their parents' parents too); recorded in ``forwarded``."""
        out: list[RowState] = []
        todo = rows
        for _level in range(4):  # event -> petition -> veteran (-> merged_into)
            wanted: dict[str, set[str]] = {}
            for st in todo:
                for name, parent in REFERENCES.get(st.table, ()):
                    v = st.values.get(name)
                    if type(v) is str and (parent, v) not in forwarded:
                        wanted.setdefault(parent, set()).add(v)
            todo = []
            for parent, ids in wanted.items():
                t = TABLES[parent]
                chunk_ids = sorted(ids)
                for i in range(0, len(chunk_ids), 500):
                    chunk = chunk_ids[i : i + 500]
                    cur = self.conn.cursor()
                    cur.row_factory = None
                    cur.execute(f"SELECT * FROM {_q(parent)} WHERE _pending IS NOT NULL AND seq > ? "
                                f"AND id IN ({','.join('?' * len(chunk))})", (after, *chunk))
                    index = {d[0]: i for i, d in enumerate(cur.description)}
                    for row in cur:
                        state = _push_state_of_row(t, row, index)
                        forwarded[(parent, state.id)] = state.seq
                        todo.append(state)
            if not todo:
                break
            out += todo
        return out

    def acknowledge(self, acks: Iterable[tuple[str, str, dict[str, str]]], sent: Iterable[RowState] = ()) -> int:
        """Clear the pending marks of exactly the acknowledged versions.

        A field written again since it was pushed keeps its newer pending
        version (and its original base). ``sent``: the rows as this store's
        ``pending_batches`` gave them. A row acked for exactly the versions
        sent and not rewritten since it was read (same ``seq``) holds just
        the marks that were sent: those are cleared whole, without reading
        the row; any other row is compared field by field."""
        by_table: dict[str, dict[str, dict[str, str]]] = {}
        for table, row_id, fields in acks:
            by_table.setdefault(table, {})[row_id] = fields
        as_read = {(r.table, r.id): r for r in sent if r.seq}
        cleared = 0
        with self.transaction():
            for table, rows in by_table.items():
                whole = []
                for row_id, fields in rows.items():
                    r = as_read.get((table, row_id))
                    if r is not None and (fields is r.clock or fields == r.clock):
                        whole.append((row_id, r.seq))
                if whole:
                    done = self.conn.executemany(
                        f"UPDATE {_q(table)} SET _pending = NULL WHERE id = ? AND seq = ? AND _pending IS NOT NULL", whole
                    ).rowcount
                    cleared += done
                    if done == len(whole) == len(rows):
                        continue
                cleared += self._acknowledge_fields(table, rows)  # the rest (rows cleared above are skipped)
        return cleared

    def _acknowledge_fields(self, table: str, rows: dict[str, dict[str, str]]) -> int:
        ids = list(rows)
        updates = []
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            sql = f"SELECT id, _pending FROM {_q(table)} WHERE id IN ({','.join('?' * len(chunk))})"
            for row_id, raw in self.conn.execute(sql, chunk):
                if not raw:
                    continue
                pending, acked = unpack_pending(table, raw), rows[row_id]
                left = {f: vb for f, vb in pending.items() if acked.get(f) != vb[0]}
                if len(left) != len(pending):
                    updates.append((pack_pending(table, left) if left else None, row_id))
        self.conn.executemany(f"UPDATE {_q(table)} SET _pending = ? WHERE id = ?", updates)
        return len(updates)

    def reject(self, table: str, row_id: str, reason: str) -> None:
        """The hub refused this row: keep the refused edit in ``_rejected`` and stop pushing it.

        A row the hub never had (made here, none of its fields ever acknowledged)
        leaves the replicated table: it lives on in the rejected list only, and no
        row that exists only here stays behind among the synced ones."""
        with self.transaction():
            loaded = self.load(table, row_id)
            if loaded is None:
                return
            state, pending = loaded
            self._keep_rejected(state, pending, reason)
            made_here = bool(pending) and state.clock.keys() <= pending.keys() and not any(b for _, b in pending.values())
            if made_here:
                self.conn.execute(f"DELETE FROM {_q(table)} WHERE id = ?", (row_id,))
            else:
                self.conn.execute(f"UPDATE {_q(table)} SET _pending = NULL WHERE id = ?", (row_id,))

    def _keep_rejected(self, state: RowState, pending: dict, reason: str) -> None:
        if not pending:
            return
        fields = {f: state.values.get(f) for f in pending}
        self.conn.execute(
            'INSERT INTO _rejected ("table", row_id, area, fields, reason, at_ms) VALUES (?, ?, ?, ?, ?, ?)',
            (state.table, state.id, state.area, _dumps(fields), reason, int(time.time() * 1000)),
        )

    def rejected(self) -> list[dict]:
        rows = self.conn.execute('SELECT id, "table", row_id, area, fields, reason, at_ms FROM _rejected ORDER BY id')
        return [dict(r) | {"fields": _loads(r["fields"])} for r in rows]

    # -- recovery ------------------------------------------------------------

    def acknowledged_batches(self, batch_size: int = 500, *,
                             whole: set[tuple[str, str]] | None = None) -> Iterator[list[RowState]]:
        """Every row this station holds, as the hub had acknowledged it: each
        row's fields with their versions, less the fields still pending (their
        acknowledged value is not kept; the ordinary push sends them, over the
        base they were written on), rows of which nothing is acknowledged left
        out. Parents' tables first; for the re-offer to a hub restored from a
        backup (PROTOCOL.md "Recovery").

        ``whole``: only these (table, id), with their pending fields too: the
        rows a restored hub could not take without them (it had lost the row,
        and a pending field is one it needs, such as the area)."""
        batch: list[RowState] = []
        for name in PARENTS_FIRST:
            if whole is not None:
                ids = [rid for table, rid in whole if table == name]
                states = (s for chunk in range(0, len(ids), 500)
                          for s in self.load_many(name, ids[chunk:chunk + 500]).values())
                states = sorted(states, key=lambda sp: sp[0].seq)
            else:
                states = self.read_states(name, "1 ORDER BY seq")
            for state, pending in states:
                if pending and whole is None:
                    for field in pending:
                        state.clock.pop(field, None)
                        state.values.pop(field, None)
                    if not state.clock:
                        continue
                state.values = {k: state.values.get(k) for k in state.clock}
                batch.append(state)
                if len(batch) >= batch_size:
                    yield batch
                    batch = []
        if batch:
            yield batch

    def drop_unless_pending(self, rows: set[tuple[str, str]]) -> int:
        """At the end of a recovery: drop these rows (table, id) — the ones the restored
        hub refused in the re-offer and did not send in the pull from cursor 0, which left
        this station's scope by a change the hub no longer recorded — but never a row
        with a pending field. Returns how many were dropped."""
        dropped = 0
        with self.transaction():
            for name in PARENTS_FIRST:
                ids = [rid for table, rid in rows if table == name]
                for i in range(0, len(ids), 500):
                    chunk = ids[i : i + 500]
                    dropped += self.conn.execute(
                        f"DELETE FROM {_q(name)} WHERE _pending IS NULL AND id IN ({','.join('?' * len(chunk))})",
                        chunk).rowcount
        return dropped

    # -- retention -------------------------------------------------------------

    def drop_pruned(self, before_ms: int) -> tuple[int, int]:
        """The hub has removed the tombstones deleted before ``before_ms`` (its
        ``pruned_before_ms``, PROTOCOL.md "Retention"): drop this station's own, in one
        transaction — those that hold no pending field and that no live row here refers
        to (a visit of a deleted veteran still shows its name), as the hub keeps those.
        Returns (dropped, kept for a pending field): a tombstone kept for a pending
        field is dropped by a later call, once the push has settled it."""
        from sync.store.retention import deleted_ms, live_references  # ~10 ms to import: only a sync prunes

        dropped = pending_kept = 0
        with self.transaction():
            for name in PARENTS_FIRST:
                old, busy = [], 0
                for row_id, clock, pending in self.conn.execute(
                        f"SELECT id, _clock, _pending FROM {_q(name)} WHERE deleted = 1"):
                    if deleted_ms(name, clock) < before_ms:
                        if pending:
                            busy += 1
                        else:
                            old.append(row_id)
                referred = live_references(self.conn, name, old)
                old = [row_id for row_id in old if row_id not in referred]
                for i in range(0, len(old), 500):
                    chunk = old[i : i + 500]
                    dropped += self.conn.execute(
                        f"DELETE FROM {_q(name)} WHERE _pending IS NULL AND id IN ({','.join('?' * len(chunk))})",
                        chunk).rowcount
                pending_kept += busy
        return dropped, pending_kept

    # -- pull side -----------------------------------------------------------

    def apply_pulled(self, rows: list[RowState], evictions: list[Eviction], cursor: int) -> tuple[int, int]:
        """Apply one pulled batch and advance the cursor, in one transaction.

        Highest version wins per field; a field still pending here is left
        alone (the hub will have it after our next push). Returns
        (rows changed, rows evicted).

        Not fsynced: nobody was promised this batch. Lost in a power cut, it
        goes together with its cursor and the next sync pulls it again; WAL
        keeps commits in order, so the next durable commit persists it too."""
        with self.transaction(durable=False):
            evicted = self._evict(evictions)
            by_table: dict[str, list[RowState]] = {}
            for state in rows:
                by_table.setdefault(state.table, []).append(state)
            out = []
            self.hlc.observe(max((max(r.clock.values()) for r in rows if r.clock), default=""))
            for table, states in by_table.items():
                local = self.load_many(table, [s.id for s in states])
                for incoming in states:
                    merged = _merge_pulled(local.get(incoming.id), incoming)
                    if merged is not None:
                        out.append(merged)
            self.save_rows(out)
            self.set_meta("cursor", cursor)
        return len(out), evicted

    def _evict(self, evictions: list[Eviction]) -> int:
        count = 0
        for ev in evictions:
            loaded = self.load(ev.table, ev.id)
            if loaded is None:
                continue
            state, pending = loaded
            self._keep_rejected(state, pending, "记录已移出本站范围，本地未同步的修改未能上传")
            self.conn.execute(f"DELETE FROM {_q(ev.table)} WHERE id = ?", (ev.id,))
            count += 1
        return count

    @property
    def cursor(self) -> int:
        return int(self.meta("cursor", "0"))



_GETTERS: dict[tuple[str, tuple[str, ...]], Callable[[tuple], tuple] | None] = {}


def _columns_getter(table: str, names: tuple[str, ...], index: dict[str, int]) -> Callable[[tuple], tuple] | None:
    """A C-level getter of the columns ``names`` from a row tuple (None: a name is not a column)."""
    key = (table, names)
    if key not in _GETTERS:
        if any(n not in index for n in names):
            _GETTERS[key] = None
        else:
            get = itemgetter(*(index[n] for n in names))
            _GETTERS[key] = get if len(names) > 1 else (lambda row, get=get: (get(row),))
    return _GETTERS[key]


def _push_state_of_row(t: Table, row: tuple, index: dict[str, int]) -> RowState:
    """The push payload of a stored row: its pending fields with their bases,
    plus the context fields. The clock is decoded only when a context field
    is not itself pending (never for a new row)."""
    values, clock, base = {}, {}, {}
    for version, b, names in pending_groups(t.name, row[index["_pending"]]):
        clock.update(dict.fromkeys(names, version))
        base.update(dict.fromkeys(names, b))
        getter = _columns_getter(t.name, names, index)
        if getter is not None:
            values.update(zip(names, getter(row)))
        else:  # a field of a newer schema, kept in _extra
            extra = _loads(row[index["_extra"]] or "{}")
            values.update((n, row[index[n]] if n in index else extra.get(n)) for n in names)
    missing = [name for name in CONTEXT_FIELDS if name not in clock]
    if missing:
        full = unpack_clock(t.name, row[index["_clock"]])
        for name in missing:
            if name in full:
                values[name] = row[index[name]]
                clock[name] = full[name]
    return RowState(t.name, row[index["id"]], values, clock, base, row[index["seq"]])


def _merge_pulled(local: tuple[RowState, dict] | None, incoming: RowState) -> tuple[RowState, dict | None] | None:
    if local is None:  # the incoming state is ours to keep (decoded for this batch only)
        return incoming, None
    state, pending = local
    changed = False
    for name, version in incoming.clock.items():
        if name in pending or version <= state.clock.get(name, ""):
            continue
        state.values[name] = incoming.values.get(name)
        state.clock[name] = version
        changed = True
    return (state, pending or None) if changed else None
