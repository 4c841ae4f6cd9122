"""The hub's side of the store: apply a station's push, serve a station's pull.

``apply_push`` takes one batch of row states from one station and, in one
transaction: checks scope per row (refusing with a reason), merges each row
field-wise (``sync.merge``), records history, moves dependents along with a
moved row (recording the move so the old scope gets evictions), and records
conflicts: concurrent edit, delete/edit, duplicate identity and petition
transition, plus *refused edit* for an out-of-scope edit of an existing row.

``changes_since`` answers a pull: rows in scope whose hub ``seq`` is above the
cursor, in seq order, with the evictions of rows that left the scope.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import orjson

from sync import petition as petition_rules
from sync.clocks import pack_clock, packed_names, unpack_clock
from sync.hlc import replica_of
from sync.merge import ConflictRecord, merge_row
from sync.rowstate import Eviction, RowState
from sync.schema import TABLES
from sync.store import Store, _q, scope_range
from sync.domain import new_id

__all__ = ["HubStore", "PushResult", "PullBatch", "DEPENDENTS", "HistoryEntry", "history_of", "history_versions"]

# A moved row drags these along: (table, column holding the parent's id).
DEPENDENTS: dict[str, tuple[tuple[str, str], ...]] = {
    "veterans": (("visits", "veteran_id"), ("petitions", "veteran_id")),
    "petitions": (("petition_events", "petition_id"),),
}
# Fields a station may write in the conflicts table (to resolve one).
CONFLICT_RESOLUTION_FIELDS = {"status", "resolution", "resolved_by"}


@dataclass
class PushResult:
    acked: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    refused: list[tuple[str, str, str]] = field(default_factory=list)  # (table, id, reason)
    conflicts: int = 0


@dataclass
class PullBatch:
    rows: list[RowState]
    evictions: list[Eviction]
    cursor: int
    more: bool


def in_scope(area: str | None, scope: str) -> bool:
    return bool(area) and area.startswith(scope)


class HubStore(Store):
    """The county hub's store: a Store plus the hub-only operations."""

    # -- identity ------------------------------------------------------------

    def register_replica(self, replica_id: str, station: str) -> None:
        self.conn.execute(
            "INSERT OR IGNORE INTO _replicas (replica_id, station, first_seen_ms) VALUES (?, ?, ?)",
            (replica_id, station, int(time.time() * 1000)),
        )

    def station_of(self, replica_id: str) -> str:
        if replica_id == self.replica_id:
            return self.meta("county", "") or "hub"
        row = self.conn.execute("SELECT station FROM _replicas WHERE replica_id = ?", (replica_id,)).fetchone()
        return row[0] if row else replica_id

    # -- push ----------------------------------------------------------------

    def apply_push(self, rows: list[RowState], *, station: str, scope: str, replica_id: str) -> PushResult:
        """Apply one pushed batch atomically; see the module docstring.

        Three phases in one transaction: merge every row in Python against
        the preloaded hub rows; write the changed rows and their history with
        one ``executemany`` each; then the rare follow-ups, in push order:
        moves (dependents re-stamped), duplicate identity, petition transitions."""
        result = PushResult()
        now_ms = int(time.time() * 1000)
        with self.transaction():
            self.register_replica(replica_id, station)
            self.hlc.observe(max((max(r.clock.values()) for r in rows if r.clock), default=""))
            batch = _Batch(self._preload(rows))
            for incoming in rows:
                reason = self._merge_one(incoming, batch, station=station, scope=scope, now_ms=now_ms,
                                         result=result, origin=replica_id)
                if reason:
                    result.refused.append((incoming.table, incoming.id, reason))
                else:
                    result.acked.append((incoming.table, incoming.id, incoming.clock))
            self._flush(batch, station, now_ms)
            for table, row_id, old_area, new_area in batch.moves:
                self._move(table, row_id, old_area, new_area)
            result.conflicts += self._check_duplicates(batch.veterans, now_ms)
            for event in batch.new_events:
                result.conflicts += self._check_transition(event, now_ms)
        return result

    def _preload(self, rows: list[RowState]) -> dict[tuple[str, str], RowState]:
        ids: dict[str, list[str]] = {}
        for r in rows:
            if r.table in TABLES:
                ids.setdefault(r.table, []).append(r.id)
        return {(table, rid): state for table, wanted in ids.items()
                for rid, (state, _) in self.load_many(table, wanted).items()}

    def _merge_one(self, incoming: RowState, batch: "_Batch", *, station: str, scope: str, now_ms: int,
                   result: PushResult, origin: str) -> str | None:
        t = TABLES.get(incoming.table)
        if t is None:
            return f"未知的数据表：{incoming.table}"
        key = (t.name, incoming.id)
        current = batch.current.get(key)
        area = incoming.values.get("area") or ""
        if current is None and not area:
            return "新记录缺少区划代码"
        if area and not area.startswith(scope):
            return self._refuse(current, incoming, station, f"区划代码 {area} 不在本站范围 {scope} 内")
        if current is not None and not in_scope(current.area, scope):
            return self._refuse(current, incoming, station, f"该记录现属 {current.area}，不在本站范围 {scope} 内")
        if t.hub_only_writes and (current is None or set(incoming.base) - CONFLICT_RESOLUTION_FIELDS):
            return "冲突记录只能由县中心生成，站点只能处理其状态"

        if current is None:  # new to the hub: adopt the pushed state whole (no field to merge with)
            state = RowState(t.name, incoming.id, dict(incoming.values), dict(incoming.clock))
            batch.current[key] = state
            batch.save(state, origin)
            batch.add_history(state, None)
            if t.name == "veterans":
                batch.veterans[state.id] = state
            elif t.name == "petition_events":
                batch.new_events.append(state)
            return None

        history = None

        def in_history(name: str, version: str) -> bool:
            nonlocal history
            if history is None:
                history = self._history_versions(t.name, incoming.id)
            return version in history.get(name, ())

        merged = merge_row(current, incoming, in_history=in_history)
        for c in merged.conflicts:
            self._record_conflict(c, area=(current or incoming).area, now_ms=now_ms)
            result.conflicts += 1
        if merged.changed:
            state = current or RowState(t.name, incoming.id, {}, {})
            old_area = state.area
            batch.add_history(state, merged.changed)  # before the change: it keeps the values replaced
            for name, (value, version) in merged.changed.items():
                state.values[name] = value
                state.clock[name] = version
            batch.current[key] = state
            # The pusher already has this state unless the hub kept a value of its own.
            batch.save(state, None if merged.resend else origin)
            if old_area and state.area != old_area:
                batch.moves.append((t.name, state.id, old_area, state.area))
            if t.name == "veterans":
                batch.veterans[state.id] = state
            elif t.name == "petition_events" and current is None:
                batch.new_events.append(state)
        elif merged.resend and current is not None:
            batch.save(current, None)
        return None

    def _flush(self, batch: "_Batch", station: str, now_ms: int) -> None:
        seqs = dict(zip(batch.saves, self.save_rows(
            [(state, None) for state, _ in batch.saves.values()],
            origins=[origin for _, origin in batch.saves.values()],
            clocks=[batch.packed.get(key) for key in batch.saves],
        )))
        self.conn.executemany(
            'INSERT INTO _history (seq, "table", row_id, station, at_ms, fields, clock, prior) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
            [(seqs[(table, row_id)], table, row_id, station, now_ms, fields, clock, prior)
             for table, row_id, fields, clock, prior in batch.history],
        )

    def _refuse(self, current: RowState | None, incoming: RowState, station: str, reason: str) -> str:
        edits = {n: incoming.values.get(n) for n in incoming.base if n != "deleted"}
        if current is not None and edits:
            self._record_conflict(
                ConflictRecord(
                    "refused_edit", incoming.table, incoming.id, ",".join(sorted(edits)),
                    {n: current.values.get(n) for n in edits}, "", edits,
                    max(incoming.clock.get(n, "") for n in edits),
                ),
                area=current.area,
                now_ms=int(time.time() * 1000),
                loser_station=station,
            )
        return reason

    def _history_versions(self, table: str, row_id: str) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for fields, clock in self.conn.execute(
            'SELECT fields, clock FROM _history WHERE row_id = ? AND "table" = ?', (row_id, table)
        ):
            for name, version in history_versions(table, fields, clock).items():
                out.setdefault(name, set()).add(version)
        return out

    def _save_own_change(self, state: RowState, changed: dict[str, tuple[Any, str]]) -> None:
        """Apply and save a change the hub makes itself, with its history entry."""
        entry = _history_entry(state, changed)  # before the change: it keeps the values replaced
        for name, (value, version) in changed.items():
            state.values[name] = value
            state.clock[name] = version
        [seq] = self.save_rows([(state, None)])
        self.conn.execute(
            'INSERT INTO _history (seq, "table", row_id, station, at_ms, fields, clock, prior) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
            (seq, state.table, state.id, self.station_of(self.replica_id), int(time.time() * 1000), *entry),
        )

    # -- moves ---------------------------------------------------------------

    def _move(self, table: str, row_id: str, old_area: str, new_area: str) -> None:
        """Record a move and re-stamp the row's dependents into the new area."""
        self.conn.execute(
            'INSERT INTO _moves (seq, "table", row_id, old_area, new_area) VALUES (?, ?, ?, ?, ?)',
            (self.last_seq, table, row_id, old_area, new_area),
        )
        followers = DEPENDENTS.get(table, ()) + ((("conflicts", "row_id"),) if table != "conflicts" else ())
        for dep_table, column in followers:
            t = TABLES[dep_table]
            ids = [r[0] for r in self.conn.execute(f"SELECT id FROM {_q(dep_table)} WHERE {_q(column)} = ?", (row_id,))]
            for dep_id, (state, _) in self.load_many(dep_table, ids).items():
                if state.area == new_area:
                    continue
                old = state.area
                self._save_own_change(state, {"area": (new_area, self.hlc.tick())})
                self._move(dep_table, dep_id, old, new_area)

    # -- conflicts -----------------------------------------------------------

    def _record_conflict(self, c: ConflictRecord, *, area: str, now_ms: int, loser_station: str | None = None) -> None:
        enc = lambda v: v if isinstance(v, str) or v is None else json.dumps(v, ensure_ascii=False, sort_keys=True)  # noqa: E731
        values = {
            "kind": c.kind, "table": c.table, "row_id": c.row_id, "field": c.field, "area": area,
            "winner_value": enc(c.winner_value), "winner_version": c.winner_version,
            "winner_station": self.station_of(replica_of(c.winner_version)) if c.winner_version else "",
            "loser_value": enc(c.loser_value), "loser_version": c.loser_version,
            "loser_station": loser_station or (self.station_of(replica_of(c.loser_version)) if c.loser_version else ""),
            "detected_at": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(now_ms / 1000)),
            "status": "open",
        }
        self._write_locked("conflicts", new_id(), values, create=True)
        self._clear_pending_of_hub()

    def _clear_pending_of_hub(self) -> None:
        # The hub is the authority: its own writes need no acknowledgement.
        self.conn.execute("UPDATE conflicts SET _pending = NULL WHERE _pending IS NOT NULL")

    def _check_duplicates(self, veterans: dict[str, RowState], now_ms: int) -> int:
        """Duplicate identity for the veterans a batch changed: one query finds
        the ID numbers held by more than one live veteran; only those are examined."""
        numbers = sorted({v.values.get("id_number") for v in veterans.values() if v.values.get("id_number")})
        shared: set[str] = set()
        for i in range(0, len(numbers), 500):
            chunk = numbers[i : i + 500]
            shared.update(r[0] for r in self.conn.execute(
                f"SELECT id_number FROM veterans WHERE id_number IN ({','.join('?' * len(chunk))}) "
                "AND deleted IS NOT 1 AND merged_into IS NULL GROUP BY id_number HAVING count(*) > 1", chunk))
        return sum(self._check_duplicate_identity(v, now_ms)
                   for v in veterans.values() if v.values.get("id_number") in shared)

    def _check_duplicate_identity(self, state: RowState, now_ms: int) -> int:
        if state.deleted or state.values.get("merged_into") or not state.values.get("id_number"):
            return 0
        others = self.conn.execute(
            "SELECT id FROM veterans WHERE id_number = ? AND id != ? AND deleted IS NOT 1 AND merged_into IS NULL",
            (state.values["id_number"], state.id),
        ).fetchall()
        count = 0
        for (other_id,) in others:
            pair = sorted([state.id, other_id])
            seen = self.conn.execute(
                "SELECT 1 FROM conflicts WHERE kind = 'duplicate_identity' AND row_id = ? AND winner_value = ?",
                (pair[0], pair[1]),
            ).fetchone()
            if seen:
                continue
            other = self.load("veterans", other_id)[0]
            first, second = (state, other) if state.id == pair[0] else (other, state)
            self._record_conflict(
                ConflictRecord("duplicate_identity", "veterans", pair[0], "id_number", pair[1],
                               second.version("id_number"), pair[0], first.version("id_number")),
                area=first.area, now_ms=now_ms,
            )
            count += 1
        return count

    def _check_transition(self, event: RowState, now_ms: int) -> int:
        """Two events built on the same prior status leading to different statuses."""
        v = event.values
        from_status, kind = v.get("from_status") or None, v.get("kind")
        mine = _next_status(from_status, kind)
        rows = self.conn.execute(
            "SELECT id, kind FROM petition_events WHERE petition_id = ? AND id != ? AND deleted IS NOT 1 AND from_status IS ?",
            (v.get("petition_id"), event.id, from_status),
        ).fetchall()
        for other_id, other_kind in rows:
            theirs = _next_status(from_status, other_kind)
            # An event that keeps the status (延期, 调解) is followed by the next one on the
            # same prior status legitimately: only two status *changes* can contend.
            if theirs != mine and from_status not in (mine, theirs):
                other = self.load("petition_events", other_id)[0]
                winner, loser = sorted([event, other], key=lambda s: s.version("kind"), reverse=True)
                self._record_conflict(
                    ConflictRecord("petition_transition", "petition_events", loser.id, "kind",
                                   winner.values.get("kind"), winner.version("kind"),
                                   loser.values.get("kind"), loser.version("kind")),
                    area=event.area, now_ms=now_ms,
                )
                return 1
        return 0

    # -- pull ----------------------------------------------------------------

    def changes_since(self, cursor: int, scope: str, *, station: str = "", replica_id: str = "",
                      limit: int = 1000) -> PullBatch:
        """Rows in scope with seq above ``cursor`` (at most ``limit``), in seq
        order, and the evictions of rows that left the scope; one snapshot.

        A row whose last change was ``replica_id``'s own push, built on a state
        that replica had already pulled (``_prev_seq <= cursor``), is skipped:
        the puller holds exactly that state already."""
        lo, hi = scope_range(scope)
        with self.transaction("DEFERRED"):
            snapshot_seq = self.last_seq
            cutoff = None
            for name in TABLES:
                where, params = self._scope_where(name, lo, hi, station, replica_id, cursor)
                row = self.conn.execute(
                    f"SELECT seq FROM {_q(name)} WHERE seq > ? AND {where} ORDER BY seq LIMIT 1 OFFSET ?",
                    (cursor, *params, limit - 1),
                ).fetchone()
                if row is not None and (cutoff is None or row[0] < cutoff):
                    cutoff = row[0]
            more = cutoff is not None and cutoff < snapshot_seq
            upto = cutoff if cutoff is not None else snapshot_seq
            rows: list[tuple[int, RowState]] = []
            for name in TABLES:
                where, params = self._scope_where(name, lo, hi, station, replica_id, cursor)
                for state, _ in self.read_states(name, f"seq > ? AND seq <= ? AND {where}", (cursor, upto, *params)):
                    values = state.values
                    state.values = {k: values.get(k) for k in state.clock}
                    rows.append((state.seq, state))
            rows.sort(key=lambda item: item[0])
            evictions = [
                Eviction(tbl, rid)
                for tbl, rid in self.conn.execute(
                    'SELECT "table", row_id FROM _moves WHERE seq > ? AND seq <= ? AND old_area >= ? AND old_area < ? '
                    "AND NOT (new_area >= ? AND new_area < ?) ORDER BY seq",
                    (cursor, upto, lo, hi, lo, hi),
                )
            ]
        return PullBatch([s for _, s in rows], evictions, upto, more)

    @staticmethod
    def _scope_where(table: str, lo: str, hi: str, station: str, replica_id: str = "", cursor: int = 0) -> tuple[str, tuple]:
        """The scope condition of a pull; confidential petitions reach only the
        station that registered them (and the hub)."""
        where, params = "area >= ? AND area < ?", (lo, hi)
        if replica_id:
            where += " AND (_origin IS NOT ? OR _prev_seq > ?)"
            params += (replica_id, cursor)
        if station and table == "petitions":
            where += " AND (confidential IS NOT 1 OR station = ?)"
            params += (station,)
        elif station and table == "petition_events":
            where += " AND petition_id NOT IN (SELECT id FROM petitions WHERE confidential = 1 AND station IS NOT ?)"
            params += (station,)
        return where, params

    # -- the hub's own writes (resolving a conflict) -------------------------

    def write_as_hub(self, table: str, row_id: str, changes: dict[str, Any]) -> RowState:
        """Write fields of an existing row as the hub itself.

        Stamped with the hub's HLC, saved with a new seq, recorded in the
        history under the hub's station name; a changed ``area`` moves the
        row (and its dependents) like a pushed move. No pending marks: the
        hub is the authority, so the change simply reaches the stations on
        their next pull. An unchanged value is no write. A veteran whose ID
        number, tombstone or merge changed is checked for duplicates again."""
        from sync.errors import NotFound

        t = TABLES[table]
        with self.transaction():
            loaded = self.load(t.name, row_id)
            if loaded is None:
                raise NotFound(f"找不到{t.label}记录：{row_id}")
            state, _pending = loaded
            old_area = state.area
            version = self.hlc.tick()  # one write, one version
            changed: dict[str, tuple[Any, str]] = {
                name: (value, version) for name, value in changes.items()
                if name != "id" and not (state.values.get(name) == value and name in state.clock)
            }
            if not changed:
                return state
            self._save_own_change(state, changed)
            if old_area and state.area != old_area:
                self._move(t.name, row_id, old_area, state.area)
            if t.name == "veterans" and changed.keys() & {"id_number", "deleted", "merged_into"}:
                self._check_duplicate_identity(state, int(time.time() * 1000))
            return state


def _history_entry(state: RowState, changed: dict[str, tuple[Any, str]] | None) -> tuple[str | None, str, str | None]:
    """(fields, clock, prior) of the history entry of one accepted change,
    made *before* ``state`` takes it: the versions packed (``sync.clocks``),
    the values written and the values they replace as JSON arrays in the
    order of the packed clock's fields. ``changed`` is ``{field: (value,
    version)}``; ``None``: the row is new, and ``fields`` stays NULL — its
    values are the row's own until a later change, whose ``prior`` keeps
    them (``history_of``). A county's first push writes 263,000 of these."""
    if changed is None:
        return None, pack_clock(state.table, state.clock), None
    packed = pack_clock(state.table, {n: ver for n, (_, ver) in changed.items()})
    names = packed_names(state.table, packed)
    before = state.values
    return (orjson.dumps([changed[n][0] for n in names]).decode(), packed,
            orjson.dumps([before.get(n) for n in names]).decode())


def history_versions(table: str, fields: str | None, clock: str | None) -> dict[str, str]:
    """``{field: version}`` of a stored history entry."""
    if clock is None:  # written before migration 3: {field: [value, version]}
        return {name: version for name, (_value, version) in orjson.loads(fields).items()}
    return unpack_clock(table, clock)


@dataclass
class HistoryEntry:
    seq: int
    table: str
    row_id: str
    station: str
    at_ms: int
    fields: dict[str, tuple[Any, str]]  # field -> (value, version)


def history_of(store: Store, row_id: str) -> list[HistoryEntry]:
    """Every accepted change of the record ``row_id`` (any table), in the
    order the hub accepted it, with the values and versions it wrote.

    A row's first entry stores no values (``fields`` NULL): each of its fields
    has the value that the next entry changing that field replaced
    (``prior``), or, if none did, the row's value now."""
    entries: list[HistoryEntry] = []
    replaced: list[dict[str, Any]] = []  # per entry: the values it replaced
    first: list[int] = []  # entries whose values are the row's
    for seq, table, rid, station, at_ms, fields, clock, prior in store.conn.execute(
        'SELECT seq, "table", row_id, station, at_ms, fields, clock, prior FROM _history WHERE row_id = ? ORDER BY seq, id',
        (row_id,),
    ):
        versions = history_versions(table, fields, clock)
        if clock is None:  # {field: [value, version]}
            values, before = {name: value for name, (value, _v) in orjson.loads(fields).items()}, {}
        elif fields is None:
            values, before = {}, {}
            first.append(len(entries))
        else:
            values = dict(zip(versions, orjson.loads(fields)))
            before = dict(zip(versions, orjson.loads(prior))) if prior else {}
        entries.append(HistoryEntry(seq, table, rid, station, at_ms,
                                    {n: (values.get(n), v) for n, v in versions.items()}))
        replaced.append(before)
    for i in first:
        entry = entries[i]
        loaded = store.load(entry.table, entry.row_id) if entry.table in TABLES else None
        now = loaded[0].values if loaded else {}
        for name, (_value, version) in entry.fields.items():
            value = next((r[name] for r in replaced[i + 1 :] if name in r), now.get(name))
            entry.fields[name] = (value, version)
    return entries


class _Batch:
    """Working state of one push batch: the hub rows as merged so far, and what to write."""

    def __init__(self, current: dict[tuple[str, str], RowState]):
        self.current = current
        self.saves: dict[tuple[str, str], tuple[RowState, str | None]] = {}
        self.history: list[tuple[str, str, str | None, str, str | None]] = []  # (table, row id, fields, clock, prior)
        self.packed: dict[tuple[str, str], str] = {}  # clocks packed for the history of a new row, reused for the row
        self.moves: list[tuple[str, str, str, str]] = []
        self.veterans: dict[str, RowState] = {}
        self.new_events: list[RowState] = []

    def add_history(self, state: RowState, changed: dict | None) -> None:
        """The history entry of one change (``changed`` None: a new row), made
        before ``state`` takes it."""
        key = (state.table, state.id)
        fields, clock, prior = _history_entry(state, changed)
        self.history.append((*key, fields, clock, prior))
        if changed is None:
            self.packed[key] = clock
        else:
            self.packed.pop(key, None)

    def save(self, state: RowState, origin: str | None) -> None:
        key = (state.table, state.id)
        if key in self.saves and self.saves[key][1] != origin:
            origin = None  # changed twice in one batch, not all by the pusher: send it back
        self.saves[key] = (state, origin)


def _next_status(status: str | None, kind: str | None) -> str | None:
    try:
        return petition_rules.next_status(status, kind)
    except Exception:  # an impossible transition leads nowhere known
        return None
