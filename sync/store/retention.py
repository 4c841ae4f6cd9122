"""Retention (PROTOCOL.md "Retention"): the hub forgets old tombstones, old history
and the move records every station has pulled — never younger than six months
(Cybersecurity Law art. 21) and never a tombstone that a station still has to pull.

What the hub knows of each station's progress: the pull cursor each replica
reports when it pulls (``note_pulled``, kept in ``_meta`` as
``pulled_seq:<replica>``; the servicer records it at the end of every pull). A
station counts by its **current replica** (the one of its last handshake,
``_stations.replica_id``):

- a station that never shook hands holds nothing the hub sent (a station gets
  rows only by pulling, and pulls only after a handshake): it holds nothing back;
- a replica that shook hands but never reported a pull counts as cursor 0 (it may
  have pushed rows that others then deleted): it holds back every tombstone of its
  scope until its next pull;
- a station the caller does not count (revoked: it cannot pull) holds nothing back;
  instead each of its replicas, like every replica that is no station's current one,
  whose cursor is below a removed tombstone or move of its scope, is marked
  **stale** (``prune_stale:<replica>``): it may still hold rows deleted since, and the
  hub refuses its handshake (``stale_since``) — it is rebuilt from the hub.

A prune (``plan`` then ``run``):

1. the **cutoff**: the requested time, lowered to the deletion time of the oldest
   tombstone some counted station whose scope covers its area has not pulled (its
   seq above the station's cursor, and not the station's own push over a state it
   had pulled, which a pull does not send back); those stations are the plan's
   ``holders``;
2. every tombstone deleted before the cutoff (its ``deleted`` version's wall time),
   with a seq at most the hub's seq when the plan was made (``horizon``: a row changed
   since is left for the next prune), and that no live row refers to (a visit of a
   deleted veteran still shows its name; an open conflict about it still needs it);
3. the history entries below the first one at or after the cutoff, in seq order (a
   row loses a prefix of its history, never an entry in the middle; a kept entry of a
   removed row gets its values written in, as ``history_of`` read them from the row);
4. the move records (evictions) that every counted station they evict from (its scope
   holds the old area and not the new) has pulled.

``run`` works in batches, each one short transaction (the hub serves meanwhile),
re-checking every row. Its first transaction marks the stale replicas, announces
``pruned_before_ms`` = the greatest cutoff so far (monotone; sent in every handshake)
and keeps the plan in ``_meta.prune_running`` until the end: a run cut short is
resumed by the next (``running``). The last transaction runs the caller's ``finish``
(the audit entry).

A station drops, on each new announced value, its own tombstones deleted before it that
hold no pending field and that no live row of its own refers to
(``sync.store.station.Store.drop_pruned``); a tombstone deleted before the announced
value is *retired*: it still replicates (a deletion that reaches the hub late must reach
the stations holding the row), but neither side counts it in a scope checksum
(``retired``, ``sync.store.digest``), so what one side kept and the other dropped never
shows as a difference.
"""

from __future__ import annotations

import datetime as _dt
import time
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence

import orjson

from sync.engine.clocks import packed_names, unpack_clock
from sync.engine.errors import StoreError, ValidationError
from sync.engine.hlc import wall_ms_of
from sync.engine.schema import REFERENCES, TABLES
from sync.engine.scope import scope_range
from sync.store.rows import _q

if TYPE_CHECKING:
    from sync.store.hub import HubStore

__all__ = ["Retention", "StationProgress", "Holder", "PrunePlan", "PruneResult", "Progress", "MIN_RETENTION_DAYS",
           "TOO_RECENT", "PRUNED_META", "deleted_ms", "retired", "live_references"]

#: The least age of what a prune removes: six months (Cybersecurity Law art. 21), counted generously.
MIN_RETENTION_DAYS = 183
_DAY_MS = 86_400_000
#: The hub's announced value (handshake ``pruned_before_ms``).
PRUNED_META = "pruned_before_ms"
RUNNING_META = "prune_running"
_PULLED = "pulled_seq:"
_STALE = "prune_stale:"

TOO_RECENT = ("清理截止日期 {date} 距今不足六个月：《中华人民共和国网络安全法》第二十一条要求网络日志留存不少于六个月，"
              "截止日期最晚为 {latest}")


def deleted_ms(table: str, packed_clock: str | None) -> int:
    """The wall time (ms) of a row's ``deleted`` version, from its stored clock (0: none)."""
    if not packed_clock:
        return 0
    return wall_ms_of(unpack_clock(table, packed_clock).get("deleted", ""))


def retired(state, before_ms: int) -> bool:
    """Is this row a tombstone deleted before ``before_ms`` (the hub's announced
    ``pruned_before_ms``)? Such a row is left out of scope checksums on both sides."""
    return bool(before_ms) and state.deleted and wall_ms_of(state.clock.get("deleted", "")) < before_ms


def live_references(conn, table: str, ids: Sequence[str]) -> set[str]:
    """The ids of ``ids`` (rows of ``table``) that a live row refers to: a child row
    (``sync.engine.schema.REFERENCES``) or an open conflict about it (a duplicate
    identity names its other veteran in ``winner_value``). In chunks of 500 ids."""
    found: set[str] = set()
    refs = [(child, column) for child, columns in REFERENCES.items() for column, parent in columns if parent == table]
    for i in range(0, len(ids), 500):
        chunk = list(ids[i : i + 500])
        marks = ",".join("?" * len(chunk))
        for child, column in refs:
            found.update(r[0] for r in conn.execute(
                f"SELECT {_q(column)} FROM {_q(child)} WHERE {_q(column)} IN ({marks}) AND deleted IS NOT 1", chunk))
        found.update(r[0] for r in conn.execute(
            f'SELECT row_id FROM conflicts WHERE row_id IN ({marks}) AND "table" = ? AND deleted IS NOT 1 '
            "AND status IS NOT 'resolved'", (*chunk, table)))
        if table == "veterans":
            found.update(r[0] for r in conn.execute(
                f"SELECT winner_value FROM conflicts WHERE winner_value IN ({marks}) AND kind = 'duplicate_identity' "
                "AND deleted IS NOT 1 AND status IS NOT 'resolved'", chunk))
    return found


def _move_key(old_area: str | None, new_area: str | None, station: str | None) -> str:
    return f"{old_area or ''}|{new_area or ''}|{station or ''}"


def _evicts(s: "StationProgress", old_area: str, new_area: str, only: str | None) -> bool:
    """Does a move from ``old_area`` to ``new_area`` reach station ``s`` as an eviction
    (``HubStore.changes_since``)?"""
    return old_area.startswith(s.scope) and not new_area.startswith(s.scope) and only in (None, s.station)


def _local_date(ms: int) -> str:
    return _dt.datetime.fromtimestamp(ms / 1000).astimezone().strftime("%Y-%m-%d")


@dataclass(frozen=True)
class StationProgress:
    """A station as a prune sees it: its scope, its current replica (None: it never
    shook hands), and whether the prune waits for it (``counted``; ``reason``: why not)."""

    station: str
    scope: str
    replica_id: str | None
    counted: bool = True
    reason: str = ""


@dataclass
class Holder:
    """A station that holds the cutoff back: it has not pulled ``tombstones``
    tombstones deleted before the requested time, the oldest at ``oldest_ms``."""

    station: str
    scope: str
    replica_id: str
    pulled: int
    oldest_ms: int
    tombstones: int


@dataclass
class PrunePlan:
    requested_ms: int
    cutoff_ms: int
    previous_ms: int  # the value announced before this prune
    horizon: int  # the hub's seq when the plan was made: nothing changed since is touched
    history_below: int  # history entries with a seq below this go
    move_bounds: dict[str, int]  # "old|new|station" -> the greatest seq of such a move that goes
    tombstones: dict[str, int]  # per table, what would go (as planned; run re-checks every row)
    history: int
    moves: int
    holders: list[Holder] = field(default_factory=list)
    not_counted: list[dict] = field(default_factory=list)  # {station, reason}
    stale: list[str] = field(default_factory=list)  # replica ids to mark stale
    stale_stations: list[str] = field(default_factory=list)
    started_ms: int = 0
    done: dict[str, Any] = field(default_factory=dict)  # removed so far: tombstones per table, history, moves

    def to_json(self) -> str:
        return orjson.dumps(asdict(self)).decode()

    @classmethod
    def from_json(cls, text: str) -> "PrunePlan":
        data = orjson.loads(text)
        data["holders"] = [Holder(**h) for h in data.get("holders", ())]
        return cls(**data)


@dataclass
class PruneResult:
    cutoff_ms: int
    announced_ms: int
    tombstones: dict[str, int]
    history: int
    moves: int
    stale: list[str]
    resumed: bool = False


Progress = Callable[[str, int, int], None]  # (phase, done, total)


class Retention:
    """Retention over a hub store's connection (the SQL of it lives here)."""

    def __init__(self, hub: "HubStore"):
        self.hub = hub

    @property
    def _conn(self):
        return self.hub.conn

    # -- what the handshake and the pull use --------------------------------

    @property
    def pruned_before_ms(self) -> int:
        """The announced value: every tombstone deleted before it that the hub held
        when it last pruned is gone, or going (a prune running), or retired (0: never pruned)."""
        return int(self.hub.meta(PRUNED_META) or 0)

    def note_pulled(self, replica_id: str, cursor: int) -> None:
        """A replica pulled from ``cursor``: it holds every change of its scope up to it
        (the station stored it with the rows, durably at its handshake). Bookkeeping,
        not fsynced: lost, the older value holds back more, never less."""
        if not replica_id:
            return
        with self.hub.transaction(durable=False):
            self.hub.set_meta(_PULLED + replica_id, max(0, min(int(cursor), self.hub.last_seq)))

    def pulled(self) -> dict[str, int]:
        """Every replica's last reported cursor."""
        return {key[len(_PULLED):]: int(value) for key, value in self._conn.execute(
            "SELECT key, value FROM _meta WHERE key >= ? AND key < ?", (_PULLED, _PULLED[:-1] + ";"))}

    def stale_since(self, replica_id: str) -> int:
        """The cutoff of the prune that left this replica behind (0: it is not stale)."""
        return int(self.hub.meta(_STALE + replica_id) or 0) if replica_id else 0

    def current_replicas(self) -> dict[str, tuple[str, str | None]]:
        """station -> (scope, replica id of its last handshake), from the registry's table."""
        if self._conn.execute("SELECT 1 FROM sqlite_master WHERE name = '_stations'").fetchone() is None:
            return {}
        return {s: (scope, rid) for s, scope, rid in self._conn.execute(
            "SELECT station, scope, replica_id FROM _stations ORDER BY station")}

    def running(self) -> PrunePlan | None:
        """A prune begun and not finished (resumed by ``run``)."""
        raw = self.hub.meta(RUNNING_META)
        return PrunePlan.from_json(raw) if raw else None

    # -- planning (reads only) ----------------------------------------------

    def plan(self, before_ms: int, stations: Iterable[StationProgress], *, now_ms: int | None = None) -> PrunePlan:
        """What a prune of what is older than ``before_ms`` would remove, in one read
        snapshot; writes nothing. A time later than six months ago is refused."""
        now_ms = int(time.time() * 1000) if now_ms is None else now_ms
        latest = now_ms - MIN_RETENTION_DAYS * _DAY_MS
        if before_ms > latest:
            raise ValidationError(TOO_RECENT.format(date=_local_date(before_ms), latest=_local_date(latest)))
        stations = list(stations)
        conn = self._conn
        with self.hub.transaction("DEFERRED"):
            horizon = self.hub.last_seq
            previous = self.pruned_before_ms
            reported = self.pulled()
            counted = [s for s in stations if s.counted and s.replica_id]
            pulled = {s.replica_id: min(reported.get(s.replica_id, 0), horizon) for s in counted}

            # 1. the cutoff, and who holds it back
            holders: list[Holder] = []
            for s in counted:
                lo, hi = scope_range(s.scope)
                oldest, n = None, 0
                mine = pulled[s.replica_id]
                for table in TABLES:
                    # above its cursor, unless its own push made the row's last change over a state it
                    # had pulled: it holds that state (a pull does not send it back, HubStore._scope_where)
                    for clock, in conn.execute(
                            f"SELECT _clock FROM {_q(table)} WHERE deleted = 1 AND area >= ? AND area < ? "
                            "AND seq > ? AND (_origin IS NOT ? OR _prev_seq > ?)",
                            (lo, hi, mine, s.replica_id, mine)):
                        at = deleted_ms(table, clock)
                        if at < before_ms:
                            n += 1
                            oldest = at if oldest is None else min(oldest, at)
                if n:
                    holders.append(Holder(s.station, s.scope, s.replica_id, pulled[s.replica_id], oldest, n))
            holders.sort(key=lambda h: (h.oldest_ms, h.station))
            cutoff = min([before_ms, *(h.oldest_ms for h in holders)])

            # 2. the tombstones (every one deleted before the cutoff goes into the stale check;
            #    those a live row refers to stay)
            tombstones: dict[str, int] = {}
            top: dict[str, int] = {}  # area -> the greatest seq of something removed there
            for table in TABLES:
                found = [(rid, area, seq) for rid, area, seq, clock in conn.execute(
                    f"SELECT id, area, seq, _clock FROM {_q(table)} WHERE deleted = 1 AND seq <= ?", (horizon,))
                    if deleted_ms(table, clock) < cutoff]
                for _rid, area, seq in found:
                    top[area or ""] = max(top.get(area or "", 0), seq)
                kept = live_references(conn, table, [rid for rid, _a, _s in found])
                tombstones[table] = sum(1 for rid, _a, _s in found if rid not in kept)

            # 3. history: below the first entry (in seq order) at or after the cutoff
            first = conn.execute("SELECT min(seq) FROM _history WHERE at_ms >= ?", (cutoff,)).fetchone()[0]
            below = min(horizon + 1, first if first is not None else horizon + 1)
            history = conn.execute("SELECT count(*) FROM _history WHERE seq < ?", (below,)).fetchone()[0]

            # 4. moves every counted station they evict from has pulled (its scope holds the old
            #    area and not the new; a confidential row's: only its registering station)
            bounds: dict[str, int] = {}
            moves = 0
            for old_area, new_area, only, seq in conn.execute(
                    "SELECT old_area, new_area, station, seq FROM _moves WHERE seq <= ?", (horizon,)):
                key = _move_key(old_area, new_area, only)
                if key not in bounds:
                    bounds[key] = min([horizon, *(pulled[s.replica_id] for s in counted
                                                  if _evicts(s, old_area or "", new_area or "", only))])
                if seq <= bounds[key]:
                    moves += 1
                    top[old_area or ""] = max(top.get(old_area or "", 0), seq)

            # replicas left behind: no station's current counted replica, cursor below something removed
            current = {s.replica_id for s in counted}
            scopes = {s.station: s.scope for s in stations}
            stale, stale_stations = [], set()
            for rid, station in conn.execute("SELECT replica_id, station FROM _replicas ORDER BY replica_id"):
                if rid in current or self.stale_since(rid):
                    continue
                scope = scopes.get(station, station or "")
                behind = reported.get(rid, 0)
                if any(seq > behind for area, seq in top.items() if area.startswith(scope)):
                    stale.append(rid)
                    stale_stations.add(station)
        not_counted = [{"station": s.station, "reason": s.reason or "not_counted"} for s in stations if not s.counted]
        return PrunePlan(before_ms, cutoff, previous, horizon, below, bounds, tombstones, history, moves,
                         holders, not_counted, stale, sorted(stale_stations), started_ms=now_ms)

    # -- the run (batches) ----------------------------------------------------

    def run(self, plan: PrunePlan, *, batch_rows: int = 2000, progress: Progress | None = None,
            finish: Callable[[PruneResult], None] | None = None) -> PruneResult:
        """Remove what ``plan`` names, in batches of ``batch_rows`` rows, each its own
        transaction. ``plan``: a new one from ``plan`` (refused while another is
        running), or the one ``running`` gives back, which is continued. ``finish``
        runs in the last transaction, with the totals."""
        resumed = bool(plan.done)  # a plan read back from ``running``
        if not resumed:
            if self.running() is not None:
                raise StoreError("上一次清理尚未完成，须先将其完成", hint="再次运行清理命令即可继续")
            plan.done = {"tombstones": dict.fromkeys(TABLES, 0), "history": 0, "moves": 0}
            with self.hub.transaction():
                for rid in plan.stale:  # first: a replica left behind can never sync past what goes
                    self.hub.set_meta(_STALE + rid, plan.cutoff_ms)
                # announced before anything goes: what the stations drop meanwhile, and what the hub
                # still holds until its batch comes, are retired tombstones, no difference to a verify
                self.hub.set_meta(PRUNED_META, max(self.pruned_before_ms, plan.cutoff_ms))
                self.hub.set_meta(RUNNING_META, plan.to_json())
        done = plan.done
        batch_rows = max(1, batch_rows)

        for table in TABLES:
            with self.hub.transaction("DEFERRED"):
                ids = [rid for rid, clock in self._conn.execute(
                    f"SELECT id, _clock FROM {_q(table)} WHERE deleted = 1 AND seq <= ?", (plan.horizon,))
                    if deleted_ms(table, clock) < plan.cutoff_ms]
            for i in range(0, len(ids), batch_rows):
                with self.hub.transaction():
                    done["tombstones"][table] += self._remove_tombstones(table, ids[i : i + batch_rows], plan)
                    self.hub.set_meta(RUNNING_META, plan.to_json())
                if progress:
                    progress(f"tombstones:{table}", min(i + batch_rows, len(ids)), len(ids))

        with self.hub.transaction("DEFERRED"):
            lo, hi = self._conn.execute("SELECT min(id), max(id) FROM _history WHERE seq < ?",
                                        (plan.history_below,)).fetchone()
        if lo is not None:
            step = batch_rows * 5  # history entries are small
            for start in range(lo, hi + 1, step):
                with self.hub.transaction():
                    done["history"] += self._conn.execute(
                        "DELETE FROM _history WHERE id >= ? AND id < ? AND seq < ?",
                        (start, start + step, plan.history_below)).rowcount
                    self.hub.set_meta(RUNNING_META, plan.to_json())
                if progress:
                    progress("history", min(start + step, hi + 1) - lo, hi + 1 - lo)

        with self.hub.transaction("DEFERRED"):
            victims = [rowid for rowid, old_area, new_area, only, seq in self._conn.execute(
                "SELECT rowid, old_area, new_area, station, seq FROM _moves WHERE seq <= ?", (plan.horizon,))
                if seq <= plan.move_bounds.get(_move_key(old_area, new_area, only), -1)]
        for i in range(0, len(victims), batch_rows):
            chunk = victims[i : i + batch_rows]
            with self.hub.transaction():
                done["moves"] += self._conn.execute(
                    f"DELETE FROM _moves WHERE rowid IN ({','.join('?' * len(chunk))})", chunk).rowcount
                self.hub.set_meta(RUNNING_META, plan.to_json())
            if progress:
                progress("moves", min(i + batch_rows, len(victims)), len(victims))

        with self.hub.transaction():
            self.hub.set_meta(RUNNING_META, None)
            result = PruneResult(plan.cutoff_ms, self.pruned_before_ms, dict(done["tombstones"]), done["history"],
                                 done["moves"], list(plan.stale_stations), resumed)
            if finish:
                finish(result)
        return result

    def _remove_tombstones(self, table: str, ids: list[str], plan: PrunePlan) -> int:
        """In the caller's transaction: remove those of ``ids`` that are still
        tombstones deleted before the cutoff, unchanged since the plan, and that no
        live row refers to; a kept history entry of theirs gets its values written in."""
        loaded = self.hub.load_many(table, ids)
        gone = [rid for rid, (state, _p) in loaded.items()
                if state.deleted and state.seq <= plan.horizon
                and wall_ms_of(state.clock.get("deleted", "")) < plan.cutoff_ms]
        kept = live_references(self._conn, table, gone)
        gone = [rid for rid in gone if rid not in kept]
        for rid in gone:
            self._write_in_history(loaded[rid][0], plan.history_below)
        for i in range(0, len(gone), 500):
            chunk = gone[i : i + 500]
            self._conn.execute(f"DELETE FROM {_q(table)} WHERE id IN ({','.join('?' * len(chunk))})", chunk)
        return len(gone)

    def _write_in_history(self, state, below: int) -> None:
        """A removed row's first history entry stores no values (they were the row's,
        ``sync.store.hub.history_of``); if that entry stays, its values are written in:
        each field's value is what the next entry changing it replaced, else the row's."""
        entries = self._conn.execute(
            'SELECT id, seq, fields, clock, prior FROM _history WHERE row_id = ? AND "table" = ? ORDER BY seq, id',
            (state.id, state.table)).fetchall()
        for i, (hid, seq, fields, clock, _prior) in enumerate(entries):
            if fields is not None or clock is None or seq < below:
                continue
            names = packed_names(state.table, clock)
            values = []
            for name in names:
                value = state.values.get(name)
                for _h, _s, later_fields, later_clock, later_prior in entries[i + 1 :]:
                    if later_prior and later_clock and name in packed_names(state.table, later_clock):
                        value = orjson.loads(later_prior)[packed_names(state.table, later_clock).index(name)]
                        break
                values.append(value)
            self._conn.execute("UPDATE _history SET fields = ? WHERE id = ?", (orjson.dumps(values).decode(), hid))
