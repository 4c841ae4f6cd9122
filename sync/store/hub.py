"""The hub's side of the store: apply a station's push, serve a station's pull.

``apply_push`` takes one batch of row states from one station and, in one
transaction: binds the push's replica id to the station (``bind_replica``),
admits each row (refusing with a reason), merges it field-wise
(``sync.engine.merge``), records history, moves dependents along with a moved row
(recording the move so the old scope gets evictions), and records conflicts:
concurrent edit and delete/edit, *refused edit* for an out-of-scope edit of an
existing row, and whatever the domain's ``after_push`` hooks file (duplicate
identity and petition transition, ``veterans.hub_checks``).

The store is a composition: a row gateway (``sync.store.rows.RowStore``, the
one a station's store is built on) holds the rows; this class adds the hub's
push, pull, moves, conflicts and history, and writes without pending marks.

What the hub admits, trusting nothing in a row that it can take from the
certificate or derive itself (DESIGN §5), per row and in this order:

1. sizes (``sync.engine.limits``): every pushed string within its field's limit, the
   row's strings within ``MAX_ROW_CHARS``; a field the hub does not know is
   refused (a station's schema is never newer than the hub's);
2. the domain checks handed in as hooks (``HubStore.checks``, see
   ``veterans.hub_checks``): canonical values, required fields, ``station``;
3. versions: a new row carries only the pusher's versions; in a known row a
   version of another replica is accepted only on a field the pusher did not
   write (area, deleted) and only if the hub holds it or something newer;
4. scope: the pushed area and the hub's area both in the pusher's scope; a
   confidential petition, its events and their conflicts only for the
   petition's registering station (for anyone else it reads as out of scope,
   and no conflict is filed); ``confidential`` never changes by a push;
5. conflicts rows: a station only resolves an open conflict it sees
   (``status`` → resolved with ``resolution`` and ``resolved_by``);
6. after the merge, the hooks' links: parents exist, lie in scope, and give
   the child its area.

The writer of a row's latest version (``recorded_by``, display only) is not
merged like the other fields: the newest version simply wins and no conflict is
filed over it (two people editing one record at two stations is one conflict
per field they both edited, not also one about who they are); a push whose
writer lost has the row re-sent. The hub's own writes record ``operator`` (the
dashboard's account, when set) or nobody.

Refusal reasons name nothing outside the pusher's scope. Rows of a batch are
applied parents first (veterans, petitions, visits, events, conflicts), so a
child may come before its new parent in the batch.

``changes_since`` answers a pull: rows in scope whose hub ``seq`` is above the
cursor, in seq order, with the evictions of rows that left the scope; at most
``limit`` rows and about ``max_bytes`` bytes (at least one row).
"""

from __future__ import annotations

import datetime as _dt
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Protocol, Sequence

import orjson

from sync.engine.clocks import pack_clock, packed_names, unpack_clock
from sync.engine.errors import Forbidden, NotFound, ValidationError
from sync.engine.hlc import new_replica_id, replica_of
from sync.engine.labels import label_of
from sync.engine.limits import MAX_CONFLICT_VALUE_CHARS, MAX_PULL_BATCH_BYTES, MAX_ROW_CHARS, text_limit
from sync.engine.merge import ConflictRecord, merge_row
from sync.engine.replicate import RECOVERY_REFUSED
from sync.engine.rowstate import Eviction, PullBatch, RowState
from sync.engine.schema import CONTEXT_FIELDS, PARENTS_FIRST, REFERENCES, TABLES, WRITER, WRITER_TABLES, writer_name
from sync.engine.scope import common_area, in_scope, scope_range
from sync.store.rows import READ_ONLY_REASON, STATION_READ_ONLY, RowStore, _q
from sync.engine.ids import new_id

__all__ = ["HubStore", "PushResult", "PullBatch", "PushHook", "PushedRows", "DEPENDENTS", "HistoryEntry", "history_of",
           "history_versions", "OUT_OF_SCOPE", "REPLICA_TAKEN", "RECOVERY_REFUSED"]

# A moved row drags these along: (table, column holding the parent's id), from the
# schema's references (a reference of a table to itself, a veteran merged into
# another, drags nothing).
DEPENDENTS: dict[str, tuple[tuple[str, str], ...]] = {}
for _child, _refs in REFERENCES.items():
    for _column, _parent in _refs:
        if _parent != _child:
            DEPENDENTS.setdefault(_parent, ())
            DEPENDENTS[_parent] += ((_child, _column),)
# A dependent's parent whose area it takes: table -> ((column, parent table), …).
_FOLLOWS: dict[str, tuple[tuple[str, str], ...]] = {}
for _parent, _children in DEPENDENTS.items():
    for _child, _column in _children:
        _FOLLOWS[_child] = (*_FOLLOWS.get(_child, ()), (_column, _parent))
# Fields a station may write in the conflicts table (to resolve one).
CONFLICT_RESOLUTION_FIELDS = frozenset({"status", "resolution", "resolved_by"})

# The one wording for a row the pusher may not touch: outside its scope, or
# another station's confidential petition (and its events and conflicts). It
# says nothing of where the row is, or whether it exists.
OUT_OF_SCOPE = "该记录不在本站范围 {scope} 内，未保存"
CONFLICT_FOUND_AGAIN = "县中心已重新发现这条冲突，本站改用县中心的记录"
REPLICA_TAKEN = "replica_id 已属于其他站点，不能使用（本机数据库可能是从别处复制来的）"
_FOREIGN_VERSION = "记录含有不属于本站的版本，未保存"
_HUB_ONLY = "冲突记录只能由县中心生成，站点只能处理其状态"

# The order a batch's rows are applied in: parents before children, conflicts last.
_RANK = {name: i for i, name in enumerate(PARENTS_FIRST)}
_LAST = len(PARENTS_FIRST)
# Per table: the most characters of each declared field's string value.
_LIMITS = {name: {f: text_limit(name, f, t.get(f).kind) for f in t.data_fields} for name, t in TABLES.items()}
_SMALLEST_LIMIT = min(n for fields in _LIMITS.values() for n in fields.values())


@dataclass
class PushResult:
    """What one pushed batch did. ``conflicts`` counts only the conflicts the
    pusher may see (a duplicate identity filed above its scope is not told);
    ``resolved`` holds ``(conflict id, resolved_by)`` of each resolution the
    hub accepted from this push, for the servicer to audit with the station."""

    acked: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    refused: list[tuple[str, str, str]] = field(default_factory=list)  # (table, id, reason)
    conflicts: int = 0
    resolved: list[tuple[str, str]] = field(default_factory=list)


class PushHook(Protocol):
    """A check the hub hands ``apply_push`` (the domain's: ``veterans.admission``).
    A hook has any of these methods; each ``check_*`` returns None or a refusal
    reason (Chinese, naming nothing outside the pusher's scope)."""

    def check_values(self, incoming: RowState, current: RowState | None, pushed: tuple[str, ...],
                     station: str, *, recovery: bool = False) -> str | None:
        """Before the merge: the pushed fields of ``incoming`` (``current``: the hub's row, None if new).
        ``recovery`` (passed only when true): the row is re-offered to a restored hub."""

    def check_links(self, table: str, after: dict[str, Any], changed, is_new: bool, ctx: "_Links") -> str | None:
        """After the merge: the row's values as they would be (``changed``: the fields that change)."""

    def after_push(self, store: "HubStore", pushed: "PushedRows", now_ms: int) -> None:
        """After the batch is written, in its transaction: find what no single row
        shows (a duplicate identity, two contending petition steps) and file it
        with ``store.file_conflict``, reading through ``store.shared_values``,
        ``store.live_rows`` and ``store.conflict_filed``."""

    def after_hub_write(self, store: "HubStore", state: RowState, changed: frozenset[str], now_ms: int) -> None:
        """After the hub's own write of ``state`` (``write_as_hub``), in its transaction."""


@dataclass
class PushedRows:
    """What one push batch created or changed, for the ``after_push`` hooks."""

    changed: list[RowState]  # in push order (parents first)
    created: set[tuple[str, str]]  # (table, id) of the rows new to the hub


def _is_confidential(values: dict) -> bool:
    return values.get("confidential") == 1


class HubStore:
    """The county hub's store: a row gateway (``sync.store.rows.RowStore``,
    the same one a station's store is built on) plus the hub's push, pull,
    moves, conflicts and history. The hub writes without pending marks: it is
    the authority, nothing of its own waits for an acknowledgement.

    ``checks``: the domain's checks of pushed rows, a sequence of hooks
    (:class:`PushHook`; the hub installs ``veterans.admission.HUB_CHECKS`` when it
    opens its store, ``county_hub.home.open_hub``). Empty: the engine's own
    checks only (sizes, versions, scope, confidentiality, conflicts)."""

    #: Who makes the hub's own writes (``write_as_hub``), asked once per write: the
    #: dashboard may set it to its account; None, or a None answer: nobody is recorded.
    operator: Callable[[], str | None] | None = None

    def __init__(self, path: str | Path, *, create: bool = False, checks: Sequence[PushHook] = ()):
        self.rows = RowStore(path, create=create)
        self.checks = checks
        if self.meta("epoch") is None:  # a new hub, or one made before epochs: its lineage starts now
            with self.transaction():
                self.set_meta("epoch", new_replica_id())  # no epoch_ms: a first epoch takes no re-offer

    # -- epoch: the lineage of this database ---------------------------------

    @property
    def epoch(self) -> str:
        """16 hex digits, sent in every handshake. A new epoch tells every
        station that this database is not the one it last synced with (it was
        restored from a backup): each re-offers what it holds (PROTOCOL.md
        "Recovery")."""
        return self.meta("epoch") or ""

    @property
    def epoch_started_ms(self) -> int:
        """When the present epoch began by ``new_epoch`` (a restore), in Unix ms; 0 for the
        database's first epoch, in which there is nothing to recover."""
        return int(self.meta("epoch_ms") or 0)

    def may_recover(self, replica_id: str, station: str, epoch: str) -> bool:
        """May this replica re-offer what it holds (``apply_push(recovery=epoch)``)?
        Only for the hub's present epoch; only a replica the restored database
        knew as the station's (bound before the epoch began), or, for a station
        of which it knew no replica (its first sync came after the backup), the
        one it presents; and only until that replica has pulled its scope in full
        from this epoch (``synced_in_full``): once per replica and restore. A
        replica id made up after the restore re-offers nothing."""
        started = self.epoch_started_ms
        if not epoch or epoch != self.epoch or not started:
            return False
        known = {rid: (first, synced) for rid, first, synced in self.conn.execute(
            "SELECT replica_id, first_seen_ms, synced_epoch FROM _replicas WHERE station = ?", (station,))}
        before = {rid for rid, (first, _s) in known.items() if first is not None and first < started}
        if replica_id in before:
            return known[replica_id][1] != epoch
        return not before and (replica_id not in known or known[replica_id][1] != epoch)

    def synced_in_full(self, replica_id: str) -> None:
        """The replica has pulled to the end from this epoch: it recovers no more.
        (Read first: at every sync's end, and nearly always already so.)"""
        epoch = self.epoch
        row = self.conn.execute("SELECT synced_epoch FROM _replicas WHERE replica_id = ?", (replica_id,)).fetchone()
        if row is None or row[0] == epoch:
            return
        with self.transaction(durable=False):
            self.conn.execute("UPDATE _replicas SET synced_epoch = ? WHERE replica_id = ?", (epoch, replica_id))

    def new_epoch(self) -> str:
        """Start a new lineage (after a restore); returns it."""
        epoch = new_replica_id()
        with self.transaction():
            self.set_meta("epoch", epoch)
            self.set_meta("epoch_ms", int(time.time() * 1000))
        return epoch

    @property
    def checks(self) -> tuple[PushHook, ...]:
        return self._checks

    @checks.setter
    def checks(self, hooks: Sequence[PushHook]) -> None:
        self._checks = tuple(hooks)
        # Per step, the hooks that take part in it (looked up once: apply_push is a hot path).
        self._value_checks = tuple(h.check_values for h in self._checks if hasattr(h, "check_values"))
        self._link_checks = tuple(h.check_links for h in self._checks if hasattr(h, "check_links"))
        self._after_push = tuple(h.after_push for h in self._checks if hasattr(h, "after_push"))
        self._after_hub_write = tuple(h.after_hub_write for h in self._checks if hasattr(h, "after_hub_write"))

    # -- the gateway's bookkeeping, as the hub's callers read it -------------

    @property
    def path(self) -> Path:
        return self.rows.path

    @property
    def conn(self):
        return self.rows.conn

    @property
    def lock(self):
        return self.rows.lock

    @property
    def hlc(self):
        return self.rows.hlc

    @property
    def replica_id(self) -> str:
        return self.rows.replica_id

    @property
    def last_seq(self) -> int:
        return self.rows.last_seq

    def close(self) -> None:
        self.rows.close()

    def transaction(self, mode: str = "IMMEDIATE", *, durable: bool = True):
        return self.rows.transaction(mode, durable=durable)

    def meta(self, key: str, default: str | None = None) -> str | None:
        return self.rows.meta(key, default)

    def set_meta(self, key: str, value: Any) -> None:
        self.rows.set_meta(key, value)

    def load(self, table: str, row_id: str) -> tuple[RowState, dict] | None:
        return self.rows.load(table, row_id)

    def load_many(self, table: str, ids: list[str]) -> dict[str, tuple[RowState, dict]]:
        return self.rows.load_many(table, ids)

    def read_states(self, table: str, where: str = "1", params: Iterable = ()) -> Iterator[tuple[RowState, dict]]:
        return self.rows.read_states(table, where, params)

    def get(self, table: str, row_id: str, *, include_deleted: bool = False) -> dict:
        return self.rows.get(table, row_id, include_deleted=include_deleted)

    def select(self, table: str, where: str = "1", params: Iterable = (), *, order: str = "seq",
               limit: int | None = None) -> list[dict]:
        return self.rows.select(table, where, params, order=order, limit=limit)

    # -- identity ------------------------------------------------------------

    def bind_replica(self, replica_id: str, station: str) -> None:
        """Bind ``replica_id`` to ``station`` at first sight; raise
        :class:`~sync.engine.errors.Forbidden` when it is bound to another station or
        is the hub's own (the message names neither)."""
        if replica_id == self.replica_id:
            raise Forbidden(REPLICA_TAKEN)
        known = "SELECT station FROM _replicas WHERE replica_id = ?"
        with self.lock:
            row = self.conn.execute(known, (replica_id,)).fetchone()
        if row is not None and row[0] == station:
            return  # bound already: nothing to write (so a hub that cannot write still serves it)
        with self.transaction():
            row = self.conn.execute(known, (replica_id,)).fetchone()
            if row is None:
                self.conn.execute(
                    "INSERT INTO _replicas (replica_id, station, first_seen_ms) VALUES (?, ?, ?)",
                    (replica_id, station, int(time.time() * 1000)),
                )
            elif row[0] != station:
                raise Forbidden(REPLICA_TAKEN)

    def station_of(self, replica_id: str) -> str:
        if replica_id == self.replica_id:
            return self.meta("county", "") or "hub"
        row = self.conn.execute("SELECT station FROM _replicas WHERE replica_id = ?", (replica_id,)).fetchone()
        return row[0] if row else replica_id

    # -- push ----------------------------------------------------------------

    def apply_push(self, rows: list[RowState], *, station: str, scope: str, replica_id: str,
                   seen_cursor: int = 0, recovery: str = "") -> PushResult:
        """Apply one pushed batch atomically; see the module docstring.

        ``station`` and ``scope`` come from the pusher's certificate. A
        ``replica_id`` bound to another station (or the hub's own) raises
        :class:`~sync.engine.errors.Forbidden` and nothing is written.

        ``seen_cursor``: the pusher's pull cursor when it read the batch. A row
        it changed is marked as its own (not sent back to it by ``changes_since``)
        only when the hub's state it changed is one it had pulled (the row's seq
        at most ``seen_cursor``) and the hub kept no value of its own; otherwise
        the pusher gets the merged row on its next pull, however that pull is
        cut into batches or sessions. 0 (an older station): every changed row is
        sent back.

        ``recovery``: the hub's epoch, as the pusher learnt it: the batch
        re-offers rows the pusher holds as acknowledged, to a hub restored from
        a backup (PROTOCOL.md "Recovery"). Taken only while ``may_recover``
        (this epoch, and once per replica); otherwise every row is refused
        with ``RECOVERY_REFUSED`` and nothing is written. It is the one deliberate exception to
        the version rule: the hub takes, field by field, every version newer
        than its own, whatever replica made it (original versions and authors
        kept), and files no conflict (a conflict recorded then is re-offered
        as a conflicts row, which a recovery may bring back); the history
        entries are marked as recovered. Every other check still applies, and
        an out-of-scope row is refused without a refused-edit conflict.

        Three phases in one transaction: merge every row in Python against
        the preloaded hub rows (parents first); write the changed rows and
        their history with one ``executemany`` each; then the rare follow-ups,
        in push order: moves (dependents re-stamped), duplicate identity,
        petition transitions."""
        result = PushResult()
        now_ms = int(time.time() * 1000)
        with self.transaction():
            self.bind_replica(replica_id, station)
            if recovery and not self.may_recover(replica_id, station, recovery):
                result.refused = [(r.table, r.id, RECOVERY_REFUSED) for r in rows]
                return result
            self.hlc.observe(max((max(r.clock.values()) for r in rows if r.clock), default=""))
            batch = _Batch(self._preload(rows))
            links = _Links(self, batch, rows, station, scope)
            self._filed = []
            try:
                for incoming in sorted(rows, key=lambda r: _RANK.get(r.table, _LAST)):
                    reason = self._merge_one(incoming, batch, links, station=station, scope=scope, now_ms=now_ms,
                                             result=result, origin=replica_id, seen_cursor=seen_cursor,
                                             recovery=bool(recovery))
                    if reason:
                        result.refused.append((incoming.table, incoming.id, reason))
                    else:
                        result.acked.append((incoming.table, incoming.id, incoming.clock))
                self._flush(batch, station, now_ms)
                for table, row_id, old_area, new_area in batch.moves:
                    self._move(table, row_id, old_area, new_area)
                if self._after_push:
                    pushed = PushedRows(list(batch.changed.values()), batch.created)
                    for hook in self._after_push:
                        hook(self, pushed, now_ms)
                result.conflicts = sum(1 for area, owner in self._filed
                                       if area.startswith(scope) and owner in (None, station))
            finally:
                self._filed = None
        return result

    _filed: list[tuple[str, str | None]] | None = None  # (area, owner) of the conflicts filed by this push

    def _preload(self, rows: list[RowState]) -> dict[tuple[str, str], RowState]:
        ids: dict[str, list[str]] = {}
        for r in rows:
            if r.table in TABLES:
                ids.setdefault(r.table, []).append(r.id)
        return {(table, rid): state for table, wanted in ids.items()
                for rid, (state, _) in self.load_many(table, wanted).items()}

    def _merge_one(self, incoming: RowState, batch: "_Batch", links: "_Links", *, station: str, scope: str,
                   now_ms: int, result: PushResult, origin: str, seen_cursor: int, recovery: bool) -> str | None:
        t = TABLES.get(incoming.table)
        if t is None:
            return f"未知的数据表：{incoming.table[:40]}"
        key = (t.name, incoming.id)
        current = batch.current.get(key)
        # The fields this push writes: all of a new row's; of a known row those with a
        # base, plus the context fields (the merge looks at nothing else).
        if current is None:
            pushed = tuple(incoming.clock)
        elif recovery:  # a re-offer writes the fields it holds newer than the hub
            pushed = tuple(n for n, v in incoming.clock.items() if v > current.clock.get(n, ""))
        else:
            pushed = _pushed_fields(incoming)
        problem = _size_problem(t, incoming.values, pushed)  # of the pushed values alone: tells nothing
        if problem:
            return problem
        owner = links.owner(t.name, current) if current is not None else None
        if owner is not None and owner != station:
            return OUT_OF_SCOPE.format(scope=scope)  # another station's confidential row: no conflict filed
        hidden = current is not None and not in_scope(current.area, scope)
        for check in self._value_checks:
            problem = check(incoming, current, pushed, station, recovery=recovery) if recovery else \
                check(incoming, current, pushed, station)
            if problem:
                break
        if not problem and not recovery and _foreign_versions(incoming, current, pushed, origin):
            problem = _FOREIGN_VERSION
        if problem:  # about a row outside the scope, a reason would tell of the row: none is given
            return OUT_OF_SCOPE.format(scope=scope) if hidden else problem
        area = incoming.values.get("area") or ""
        if current is None and not area:
            return "新记录缺少区划代码"
        if area and not in_scope(area, scope):
            reason = f"区划代码 {area} 不在本站范围 {scope} 内"
            return reason if recovery else self._refuse(current, incoming, station, owner, reason)
        if current is not None and not in_scope(current.area, scope):
            if recovery and "area" not in pushed and self._held_in_scope(incoming, scope):
                # Moved out of the pusher's scope by a change that reached the restored hub before
                # this re-offer: the pusher held the row where the hub's history had it, so its
                # newer fields (a delete, an edit acknowledged before the restore) are still taken.
                return self._recover_one(t, incoming, current, pushed, batch, links, station)
            reason = OUT_OF_SCOPE.format(scope=scope)
            return reason if recovery else self._refuse(current, incoming, station, owner, reason)
        if t.name in STATION_READ_ONLY and not (recovery and self._own_versions(incoming, pushed)):
            # A table a station writes nothing of (the area list): refused, new or changed, whatever
            # field; a recovery may re-offer only what the hub itself wrote (and lost).
            return READ_ONLY_REASON.format(label=label_of(t.name))
        if recovery:
            return self._recover_one(t, incoming, current, pushed, batch, links, station)
        if t.hub_only_writes and (current is None or set(incoming.base) - CONFLICT_RESOLUTION_FIELDS):
            return _HUB_ONLY
        if (t.name == "petitions" and current is not None and "confidential" in pushed
                and _is_confidential(incoming.values) != _is_confidential(current.values)):
            return "信访件的保密属性只能由县中心变更"

        if current is None:  # new to the hub: adopt the pushed state whole (no field to merge with)
            if t.hub_only_writes:
                return _HUB_ONLY
            if links.owner(t.name, incoming) not in (None, station):
                return OUT_OF_SCOPE.format(scope=scope)
            for check in self._link_checks:
                problem = check(t.name, incoming.values, incoming.clock, True, links)
                if problem:
                    return problem
            state = RowState(t.name, incoming.id, dict(incoming.values), dict(incoming.clock))
            batch.current[key] = state
            batch.save(state, origin)
            batch.add_history(state, None)
            batch.changed[key] = state
            batch.created.add(key)
            return None

        history = None

        def in_history(name: str, version: str) -> bool:
            nonlocal history
            if history is None:
                history = self._history_versions(t.name, incoming.id)
            return version in history.get(name, ())

        if WRITER in incoming.base:  # the writer: newest wins, no conflict (module docstring)
            writer = incoming
            incoming = RowState(t.name, incoming.id, incoming.values, incoming.clock,
                                {n: b for n, b in incoming.base.items() if n != WRITER}, incoming.seq)
            merged = merge_row(current, incoming, in_history=in_history)
            _merge_writer(current, writer, merged)
        else:
            merged = merge_row(current, incoming, in_history=in_history)
        if merged.changed:
            after = dict(current.values)
            for name, (value, _version) in merged.changed.items():
                after[name] = value
            if links.owner(t.name, RowState(t.name, incoming.id, after, {})) not in (None, station):
                return OUT_OF_SCOPE.format(scope=scope)
            if t.hub_only_writes:
                problem = _resolution_problem(current, after, merged.changed)
                if problem:
                    return problem
                result.resolved.append((incoming.id, after.get("resolved_by")))
            else:
                for check in self._link_checks:
                    problem = check(t.name, after, merged.changed, False, links)
                    if problem:
                        return problem
        if t.hub_only_writes and merged.conflicts:  # someone else settled it first
            return "该冲突已处理，不能再次处理"
        for c in merged.conflicts:
            if not self._conflict_known(c):  # a losing push retried (its ack lost) files nothing new
                self._record_conflict(c, area=current.area, now_ms=now_ms, owner=owner)
        if merged.changed:
            state = current
            seen = state.seq <= seen_cursor  # the pusher had pulled the state it changed
            old_area = state.area
            batch.add_history(state, merged.changed)  # before the change: it keeps the values replaced
            for name, (value, version) in merged.changed.items():
                state.values[name] = value
                state.clock[name] = version
            batch.current[key] = state
            # The pusher already has this state if it had the state it changed and the hub kept no value of its own.
            batch.save(state, origin if seen and not merged.resend else None)
            if old_area and state.area != old_area:
                batch.moves.append((t.name, state.id, old_area, state.area))
            batch.changed[key] = state
        elif merged.resend:
            batch.save(current, None)
        return None

    def _own_versions(self, incoming: RowState, pushed: tuple[str, ...]) -> bool:
        """Are the pushed fields' versions all the hub's own (a re-offer of what it had written)?"""
        return all(replica_of(incoming.clock.get(n) or "") == self.replica_id for n in pushed)

    def _hub_linked(self, table: str, clock: dict[str, str]) -> bool:
        """Does a re-offered row carry a reference the hub itself wrote (a merge of two
        files, for instance)? The hub's own writes passed no link check; their re-offer neither."""
        return any(replica_of(clock.get(column) or "") == self.replica_id for column, _p in REFERENCES.get(table, ()))

    def _held_in_scope(self, incoming: RowState, scope: str) -> bool:
        """Did the hub ever have the row where the re-offer has it, inside the pusher's scope
        (its area version one the hub's history holds)?"""
        version = incoming.clock.get("area")
        area = incoming.values.get("area")
        return bool(version and isinstance(area, str) and in_scope(area, scope)
                    and version in self._history_versions(incoming.table, incoming.id).get("area", ()))

    def _recover_one(self, t, incoming: RowState, current: RowState | None, pushed: tuple[str, ...],
                     batch: "_Batch", links: "_Links", station: str) -> str | None:
        """A re-offered row (``apply_push(recovery=epoch)``), past the size, value
        and scope checks: the fields it holds newer than the hub are taken as
        they are (versions and all), no conflict filed; links checked as for a push."""
        key = (t.name, incoming.id)
        if current is None:
            if links.owner(t.name, incoming) not in (None, station):
                return OUT_OF_SCOPE.format(scope=links.scope)
            if t.hub_only_writes and self._conflict_known(_as_conflict_record(incoming.values)):
                # Found again by this recovery's checks, under another id: the station drops its copy
                # (not taken, not sent) and receives the hub's.
                return CONFLICT_FOUND_AGAIN
            state = RowState(t.name, incoming.id, dict(incoming.values), dict(incoming.clock))
            # A dependent follows its parent's area, as a move would have dragged it (the
            # restored hub may hold the parent where a change it lost had put it). When the
            # parent has left the pusher's scope meanwhile, the dependent follows it only if the
            # parent did live where the pusher has the dependent (its history says so): it was
            # made there before the move, and the pusher is told to drop it (a move record).
            followed_out = None
            for column, parent_table in _FOLLOWS.get(t.name, ()):
                parent_id = state.values.get(column)
                parent = links.row(parent_table, parent_id) if isinstance(parent_id, str) else None
                if parent is None or not parent.area or parent.area == state.area:
                    continue
                if in_scope(parent.area, links.scope):
                    state.values["area"], state.clock["area"] = parent.area, self.hlc.tick()
                elif links.owner(t.name, state) != station and (
                        batch.followed.get((parent_table, parent_id)) == state.area
                        or self._lived_at(parent_table, parent_id, state.area)):
                    followed_out = (state.area, state.clock.get("area"))
                    state.values["area"], state.clock["area"] = parent.area, self.hlc.tick()
            if links.owner(t.name, state) == station:
                # The pusher's own confidential row: it stays with its station when its veteran
                # moves away (see _move), so its parent need only exist.
                for column, parent_table in _FOLLOWS.get(t.name, ()):
                    parent_id = state.values.get(column)
                    if parent_id is not None and (not isinstance(parent_id, str)
                                                  or links.row(parent_table, parent_id) is None):
                        return OUT_OF_SCOPE.format(scope=links.scope)
            elif followed_out is None and not t.hub_only_writes and not self._hub_linked(t.name, state.clock):
                for check in self._link_checks:
                    problem = check(t.name, state.values, state.clock, True, links)
                    if problem:
                        return problem
            batch.current[key] = state
            batch.save(state, None)
            if followed_out is None:
                batch.add_history(state, None, recovered=True)
            else:  # its history says where it was made, then that it followed its parent
                area, version = followed_out
                made = RowState(t.name, state.id, {**state.values, "area": area}, {**state.clock, "area": version})
                batch.add_history(made, None, recovered=True)
                batch.add_history(made, {"area": (state.area, state.clock["area"])}, recovered=True)
                batch.moves.append((t.name, state.id, area, state.area))
                batch.followed[key] = area
            batch.changed[key] = state
            batch.created.add(key)
            return None
        changed = {name: (incoming.values.get(name), incoming.clock[name]) for name in pushed}
        if not changed:
            return None
        after = {**current.values, **{n: v for n, (v, _) in changed.items()}}
        if links.owner(t.name, RowState(t.name, incoming.id, after, {})) not in (None, station):
            return OUT_OF_SCOPE.format(scope=links.scope)
        if (t.name == "petitions" and "confidential" in changed
                and _is_confidential(after) != _is_confidential(current.values)):
            return "信访件的保密属性只能由县中心变更"
        if not t.hub_only_writes and not self._hub_linked(t.name, {n: v for n, (_, v) in changed.items()}):
            for check in self._link_checks:
                problem = check(t.name, after, changed, False, links)
                if problem:
                    return problem
        old_area = current.area
        batch.add_history(current, changed, recovered=True)
        for name, (value, version) in changed.items():
            current.values[name] = value
            current.clock[name] = version
        batch.current[key] = current
        batch.save(current, None)
        batch.changed[key] = current
        if old_area and current.area != old_area:
            batch.moves.append((t.name, current.id, old_area, current.area))
        return None

    def _flush(self, batch: "_Batch", station: str, now_ms: int) -> None:
        seqs = dict(zip(batch.saves, self.rows.save_rows(
            [(state, None) for state, _ in batch.saves.values()],
            origins=[origin for _, origin in batch.saves.values()],
            clocks=[batch.packed.get(key) for key in batch.saves],
        )))
        self.conn.executemany(
            'INSERT INTO _history (seq, "table", row_id, station, at_ms, fields, clock, prior, recovered) '
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(seqs[(table, row_id)], table, row_id, station, now_ms, fields, clock, prior, recovered)
             for table, row_id, fields, clock, prior, recovered in batch.history],
        )

    def _refuse(self, current: RowState | None, incoming: RowState, station: str, owner: str | None,
                reason: str) -> str:
        """Refuse an out-of-scope row; an edit of a row the hub holds is kept as a
        *refused edit* conflict in the row's own area (for its station and the
        county to take over), unless the row is a conflict itself."""
        edits = {n: incoming.values.get(n) for n in incoming.base if n != "deleted"}
        if current is not None and edits and not TABLES[incoming.table].hub_only_writes:
            self._record_conflict(
                ConflictRecord(
                    "refused_edit", incoming.table, incoming.id, ",".join(sorted(edits)),
                    {n: current.values.get(n) for n in edits}, "", edits,
                    max(incoming.clock.get(n, "") for n in edits),
                ),
                area=current.area,
                now_ms=int(time.time() * 1000),
                loser_station=station,
                owner=owner,
            )
        return reason

    def _lived_at(self, table: str, row_id: str, area: str) -> bool:
        """Did the hub's history ever have the row at ``area``? (Rare path: a recovery only.)"""
        return any(entry.fields.get("area", (None,))[0] == area for entry in history_of(self, row_id)
                   if entry.table == table)

    def _history_versions(self, table: str, row_id: str) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for fields, clock in self.conn.execute(
            'SELECT fields, clock FROM _history WHERE row_id = ? AND "table" = ?', (row_id, table)
        ):
            for name, version in history_versions(table, fields, clock).items():
                out.setdefault(name, set()).add(version)
        return out

    def _save_own_change(self, state: RowState, changed: dict[str, tuple[Any, str]], *, new: bool = False) -> None:
        """Apply and save a change the hub makes itself (``new``: the row's first), with its history entry."""
        if not new:
            entry = _history_entry(state, changed)  # before the change: it keeps the values replaced
        for name, (value, version) in changed.items():
            state.values[name] = value
            state.clock[name] = version
        if new:
            entry = _history_entry(state, None)
        [seq] = self.rows.save_rows([(state, None)])
        self.conn.execute(
            'INSERT INTO _history (seq, "table", row_id, station, at_ms, fields, clock, prior) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
            (seq, state.table, state.id, self.station_of(self.replica_id), int(time.time() * 1000), *entry),
        )

    # -- moves ---------------------------------------------------------------

    def _owner_of(self, table: str, state: RowState) -> str | None:
        """The registering station of a confidential row (None: not confidential)."""
        def row(t: str, rid: str) -> RowState | None:
            loaded = self.load(t, rid)
            return loaded[0] if loaded else None

        return _owner(table, state, row)

    def _record_move(self, table: str, row_id: str, old_area: str, new_area: str, owner: str | None) -> None:
        # ``station``: the only station that may receive the eviction (a confidential row's
        # registering station); NULL: every station whose scope the row left.
        self.conn.execute(
            'INSERT INTO _moves (seq, "table", row_id, old_area, new_area, station) VALUES (?, ?, ?, ?, ?, ?)',
            (self.last_seq, table, row_id, old_area, new_area, owner),
        )

    def _move(self, table: str, row_id: str, old_area: str, new_area: str) -> None:
        """Record a move and re-stamp the row's dependents into the new area.

        Dependents follow their parent (a veteran's visits and petitions, a
        petition's events), and so do the conflicts about the row. One
        exception: a confidential petition follows its veteran only within its
        registering station's scope; otherwise it stays where it is, with its
        events and conflicts, so its registering station keeps it whole (no
        station holds half of it) and nobody else gains it."""
        loaded = self.load(table, row_id)
        owner = self._owner_of(table, loaded[0]) if loaded else None
        self._record_move(table, row_id, old_area, new_area, owner)
        for dep_table, column in DEPENDENTS.get(table, ()):
            ids = [r[0] for r in self.conn.execute(f"SELECT id FROM {_q(dep_table)} WHERE {_q(column)} = ?", (row_id,))]
            for dep_id, (state, _) in self.load_many(dep_table, ids).items():
                if state.area == new_area:
                    continue
                if dep_table == "petitions":
                    dep_owner = self._owner_of(dep_table, state)
                    if dep_owner is not None and not new_area.startswith(dep_owner or "\x00"):
                        continue
                old = state.area
                self._save_own_change(state, {"area": (new_area, self.hlc.tick())})
                self._move(dep_table, dep_id, old, new_area)
        if table != "conflicts":
            self._follow_conflicts(table, row_id, new_area)

    def _follow_conflicts(self, table: str, row_id: str, new_area: str) -> None:
        """Conflicts about (table, row_id) move with it; a duplicate identity
        stays at the smallest area holding both its veterans."""
        ids = [r[0] for r in self.conn.execute(
            'SELECT id FROM conflicts WHERE ("table" = ? AND row_id = ?) '
            "OR (? = 'veterans' AND kind = 'duplicate_identity' AND winner_value = ?)",
            (table, row_id, table, row_id))]
        for cid, (c, _) in self.load_many("conflicts", ids).items():
            target = new_area
            if c.values.get("kind") == "duplicate_identity":
                areas = [s.area for s in (self._state("veterans", c.values.get("row_id")),
                                          self._state("veterans", c.values.get("winner_value"))) if s]
                target = common_area(*areas) if len(areas) == 2 else new_area
            if not target or c.area == target:
                continue
            old = c.area
            self._save_own_change(c, {"area": (target, self.hlc.tick())})
            self._record_move("conflicts", cid, old, target, self._owner_of("conflicts", c))

    def _state(self, table: str, row_id: Any) -> RowState | None:
        loaded = self.load(table, row_id) if isinstance(row_id, str) else None
        return loaded[0] if loaded else None

    # -- conflicts -----------------------------------------------------------

    def _record_conflict(self, c: ConflictRecord, *, area: str, now_ms: int, loser_station: str | None = None,
                         owner: str | None = None) -> None:
        """File a conflict in ``area``. ``owner``: the registering station of the
        confidential row it concerns (then only the hub and that station see it).
        Every value stays below what a station decodes (``MAX_CONFLICT_VALUE_CHARS``)."""
        values = {
            "kind": c.kind, "table": c.table, "row_id": c.row_id, "field": c.field, "area": area,
            # no winner (a refused edit): None, the canonical empty value its own checks take on a re-offer
            "winner_value": _conflict_value(c.winner_value), "winner_version": c.winner_version or None,
            "winner_station": self.station_of(replica_of(c.winner_version)) if c.winner_version else None,
            "loser_value": _conflict_value(c.loser_value), "loser_version": c.loser_version or None,
            "loser_station": loser_station or (self.station_of(replica_of(c.loser_version)) if c.loser_version else None),
            "detected_at": _utc_iso(now_ms),
            "status": "open",
        }
        if owner is not None:
            values.update(confidential=1, station=owner)
        self.rows.stamp("conflicts", new_id(), values, create=True, pending=False)
        if self._filed is not None:
            self._filed.append((area, owner))

    def _conflict_known(self, c: ConflictRecord) -> bool:
        """Is this losing write already kept? (Rare path: only a push that loses gets here.)"""
        return self.conn.execute(
            'SELECT 1 FROM conflicts WHERE row_id = ? AND "table" = ? AND kind = ? AND field = ? AND loser_version = ?',
            (c.row_id, c.table, c.kind, c.field, c.loser_version),
        ).fetchone() is not None

    # -- what the domain's hooks read and file (after the merge) -------------

    def shared_values(self, table: str, field: str, values: Iterable[Any], *, unset: tuple[str, ...] = ()) -> set:
        """Of ``values``, those that more than one live row of ``table`` holds in
        ``field`` (live: not deleted, and every field of ``unset`` empty). One
        indexed query per 500 values."""
        _known(table, field, *unset)
        wanted = sorted({v for v in values if v is not None})
        extra = "".join(f" AND {_q(n)} IS NULL" for n in unset)
        shared: set = set()
        for i in range(0, len(wanted), 500):
            chunk = wanted[i : i + 500]
            shared.update(r[0] for r in self.conn.execute(
                f"SELECT {_q(field)} FROM {_q(table)} WHERE {_q(field)} IN ({','.join('?' * len(chunk))}) "
                f"AND deleted IS NOT 1{extra} GROUP BY {_q(field)} HAVING count(*) > 1", chunk))
        return shared

    def live_rows(self, table: str, equal: dict[str, Any], *, unset: tuple[str, ...] = (),
                  other_than: str | None = None) -> list[RowState]:
        """The live rows of ``table`` whose fields equal ``equal`` (None matches
        an empty field), every field of ``unset`` empty, ``id`` not ``other_than``."""
        _known(table, *equal, *unset)
        where = " AND ".join(["deleted IS NOT 1", *(f"{_q(n)} IS ?" for n in equal), *(f"{_q(n)} IS NULL" for n in unset)])
        params: tuple = tuple(equal.values())
        if other_than is not None:
            where += " AND id != ?"
            params += (other_than,)
        return [state for state, _ in self.read_states(table, where, params)]

    def conflict_filed(self, kind: str, row_id: str, winner_value: Any) -> bool:
        """Is a conflict of ``kind`` about ``row_id`` with this winning value on file (open or not)?"""
        return self.conn.execute(
            "SELECT 1 FROM conflicts WHERE kind = ? AND row_id = ? AND winner_value = ?",
            (kind, row_id, _conflict_value(winner_value)),
        ).fetchone() is not None

    def file_conflict(self, c: ConflictRecord, *, area: str, now_ms: int, owner: str | None = None) -> None:
        """File a conflict a hook found, in ``area`` (see ``_record_conflict``)."""
        self._record_conflict(c, area=area, now_ms=now_ms, owner=owner)

    def owner_of(self, table: str, state: RowState) -> str | None:
        """The registering station of a confidential row (None: not confidential)."""
        return self._owner_of(table, state)

    # -- pull ----------------------------------------------------------------

    def changes_since(self, cursor: int, scope: str, *, station: str = "", replica_id: str = "",
                      limit: int = 1000, max_bytes: int | None = MAX_PULL_BATCH_BYTES) -> PullBatch:
        """Rows in scope with seq above ``cursor`` (at most ``limit`` rows and,
        estimated from above, ``max_bytes`` bytes of values — but at least one
        row), in seq order, and the evictions of rows that left the scope, up
        to the returned cursor; one snapshot. ``more``: rows in scope remain
        above the cursor. ``max_bytes`` None: no byte cap.

        With ``station``, confidential rows (a confidential petition, its
        events, conflicts marked confidential) and their evictions reach only
        their registering station.

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
            if max_bytes is not None and len(rows) > 1:
                total = 0
                for i, (_seq, state) in enumerate(rows):
                    total += _wire_bytes(state.values)
                    if total > max_bytes and i > 0:
                        upto, more = rows[i - 1][0], True
                        del rows[i:]
                        break
            only = " AND (station IS NULL OR station = ?)" if station else ""
            evictions = [
                Eviction(tbl, rid)
                for tbl, rid in self.conn.execute(
                    'SELECT "table", row_id FROM _moves WHERE seq > ? AND seq <= ? AND old_area >= ? AND old_area < ? '
                    f"AND NOT (new_area >= ? AND new_area < ?){only} ORDER BY seq",
                    (cursor, upto, lo, hi, lo, hi, *((station,) if station else ())),
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
        elif station and table == "conflicts":
            where += " AND (confidential IS NOT 1 OR station = ?)"
            params += (station,)
        return where, params

    # -- the hub's own writes (resolving a conflict) -------------------------

    def write_as_hub(self, table: str, row_id: str, changes: dict[str, Any], *, create: bool = False) -> RowState:
        """Write fields of a row as the hub itself (``create``: a new row).

        Stamped with the hub's HLC, saved with a new seq, recorded in the
        history under the hub's station name; a changed ``area`` moves the
        row (and its dependents) like a pushed move. No pending marks: the
        hub is the authority, so the change simply reaches the stations on
        their next pull. An unchanged value is no write. The hooks'
        ``after_hub_write`` run after it (a veteran whose ID number, tombstone
        or merge changed is checked for duplicates again)."""
        t = TABLES[table]
        with self.transaction():
            loaded = self.load(t.name, row_id)
            if create and loaded is not None:
                raise ValidationError(f"{label_of(t.name)}记录已存在：{row_id}")
            if loaded is None and not create:
                raise NotFound(f"找不到{label_of(t.name)}记录：{row_id}")
            if create:
                state = RowState(t.name, row_id, {}, {})
                changes = {"deleted": 0, **changes}
            else:
                state, _pending = loaded
            old_area = state.area
            version = self.hlc.tick()  # one write, one version
            changed: dict[str, tuple[Any, str]] = {
                name: (value, version) for name, value in changes.items()
                if name != "id" and not (state.values.get(name) == value and name in state.clock)
            }
            if not changed:
                return state
            if t.name in WRITER_TABLES and WRITER not in changed:
                who = writer_name(self.operator()) if self.operator is not None else None
                if who is not None or state.values.get(WRITER) is not None:
                    changed[WRITER] = (who, version)
            self._save_own_change(state, changed, new=create)
            if old_area and state.area != old_area:
                self._move(t.name, row_id, old_area, state.area)
            for hook in self._after_hub_write:
                hook(self, state, frozenset(changed), int(time.time() * 1000))
            return state


def _merge_writer(current: RowState, incoming: RowState, merged) -> None:
    """The pushed writer of a known row into ``merged``: taken when its version is the
    newest; when the hub keeps another writer, the row is re-sent."""
    v_in, v_hub = incoming.clock.get(WRITER, ""), current.clock.get(WRITER, "")
    if v_in > v_hub:
        merged.changed[WRITER] = (incoming.values.get(WRITER), v_in)
    elif v_in < v_hub and incoming.values.get(WRITER) != current.values.get(WRITER):
        merged.resend = True


def _as_conflict_record(values: dict) -> ConflictRecord:
    """The identity of a conflicts row's values, as ``_conflict_known`` compares it."""
    return ConflictRecord(values.get("kind"), values.get("table"), values.get("row_id"), values.get("field"),
                          values.get("winner_value"), values.get("winner_version"),
                          values.get("loser_value"), values.get("loser_version"))


def _utc_iso(ms: int) -> str:
    """ISO 8601 in UTC with its zone (``2026-12-01T14:05:09+00:00``): sorts as text, shows in any zone."""
    return _dt.datetime.fromtimestamp(ms / 1000, _dt.timezone.utc).isoformat(timespec="seconds")


def _wire_bytes(values: dict) -> int:
    """An upper estimate of a row's size on the wire: 4 bytes per character of
    its strings (UTF-8, quotes escaped), room for each field's name and version."""
    n = 64
    for v in values.values():
        n += (len(v) << 2) + 64 if type(v) is str else 80
    return n


_TRUNCATED = "…（已截断）"


def _conflict_value(v: Any) -> Any:
    """A value as a conflict row keeps it: a string as it is, anything else as
    JSON; cut to ``MAX_CONFLICT_VALUE_CHARS`` so that a station always decodes it."""
    if v is not None and not isinstance(v, str):
        v = json.dumps(v, ensure_ascii=False, sort_keys=True)
    if isinstance(v, str) and len(v) > MAX_CONFLICT_VALUE_CHARS:
        v = v[: MAX_CONFLICT_VALUE_CHARS - len(_TRUNCATED)] + _TRUNCATED
    return v


def _history_entry(state: RowState, changed: dict[str, tuple[Any, str]] | None) -> tuple[str | None, str, str | None]:
    """(fields, clock, prior) of the history entry of one accepted change,
    made *before* ``state`` takes it: the versions packed (``sync.engine.clocks``),
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
    recovered: bool = False  # re-offered by ``station`` to a hub restored from a backup


def history_of(store: RowStore | HubStore, row_id: str) -> list[HistoryEntry]:
    """Every accepted change of the record ``row_id`` (any table), in the
    order the hub accepted it, with the values and versions it wrote.

    A row's first entry stores no values (``fields`` NULL): each of its fields
    has the value that the next entry changing that field replaced
    (``prior``), or, if none did, the row's value now."""
    entries: list[HistoryEntry] = []
    replaced: list[dict[str, Any]] = []  # per entry: the values it replaced
    first: list[int] = []  # entries whose values are the row's
    for seq, table, rid, station, at_ms, fields, clock, prior, recovered in store.conn.execute(
        'SELECT seq, "table", row_id, station, at_ms, fields, clock, prior, recovered FROM _history '
        "WHERE row_id = ? ORDER BY seq, id",
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
                                    {n: (values.get(n), v) for n, v in versions.items()}, bool(recovered)))
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
        # (table, row id, fields, clock, prior, recovered)
        self.history: list[tuple[str, str, str | None, str, str | None, int | None]] = []
        self.packed: dict[tuple[str, str], str] = {}  # clocks packed for the history of a new row, reused for the row
        self.moves: list[tuple[str, str, str, str]] = []
        self.changed: dict[tuple[str, str], RowState] = {}  # every row the batch created or changed, in push order
        self.created: set[tuple[str, str]] = set()
        self.followed: dict[tuple[str, str], str] = {}  # re-offered dependents that followed their parent out: area made at

    def add_history(self, state: RowState, changed: dict | None, *, recovered: bool = False) -> None:
        """The history entry of one change (``changed`` None: a new row), made
        before ``state`` takes it; ``recovered``: re-offered to a restored hub."""
        key = (state.table, state.id)
        fields, clock, prior = _history_entry(state, changed)
        self.history.append((*key, fields, clock, prior, 1 if recovered else None))
        if changed is None:
            self.packed[key] = clock
        else:
            self.packed.pop(key, None)

    def save(self, state: RowState, origin: str | None) -> None:
        key = (state.table, state.id)
        if key in self.saves and self.saves[key][1] != origin:
            origin = None  # changed twice in one batch, not all by the pusher: send it back
        self.saves[key] = (state, origin)


# --------------------------------------------------------------------------- admission helpers


def _pushed_fields(incoming: RowState) -> tuple[str, ...]:
    """The fields of a known row the merge looks at: those with a base, and the context fields."""
    base = incoming.base
    return (*base, *(n for n in CONTEXT_FIELDS if n not in base and n in incoming.clock))


def _size_problem(t, values: dict, pushed) -> str | None:
    limits = _LIMITS[t.name]
    if not limits.keys() >= set(pushed):
        unknown = next(n for n in pushed if n not in limits)
        return f"{label_of(t.name)}没有字段 {str(unknown)[:40]}"
    lengths = [len(v) if type(v) is str else 0 for v in map(values.get, pushed)]
    if not lengths:
        return None
    if max(lengths) > _SMALLEST_LIMIT:
        for name, n in zip(pushed, lengths):
            if n > limits[name]:
                return f"{label_of(t.name)}字段 {label_of(t.name, name)} 过长（{n} 字，最多 {limits[name]} 字）"
    total = sum(lengths)
    if total > MAX_ROW_CHARS:
        return f"{label_of(t.name)}记录内容过长（{total} 字，一条记录最多 {MAX_ROW_CHARS} 字）"
    return None


def _foreign_versions(incoming: RowState, current: RowState | None, pushed, origin: str) -> bool:
    """Does the row carry a version of another replica that the pusher may not
    offer? A new row: any. A known row: one on a field the pusher wrote (it has
    a base), or one newer than the hub's (the pusher cannot have pulled it)."""
    clock = incoming.clock
    if current is None:
        return any(replica_of(v) != origin for v in set(clock.values()))
    hub, base = current.clock, incoming.base
    for name in pushed:
        v = clock.get(name)
        if not v or replica_of(v) == origin or v == hub.get(name):
            continue
        if name in base or v > hub.get(name, ""):
            return True
    return False


def _resolution_problem(current: RowState, after: dict, changed: dict) -> str | None:
    """A station resolves an open conflict: status becomes 'resolved' together
    with a resolution and who resolved it; nothing else of a conflict changes."""
    if set(changed) - CONFLICT_RESOLUTION_FIELDS:
        return _HUB_ONLY
    if current.values.get("status") == "resolved":
        return "该冲突已处理，不能再次处理"
    if set(changed) != CONFLICT_RESOLUTION_FIELDS or after.get("status") != "resolved":
        return "处理冲突须同时填写状态（已解决）、处理结果和处理人"
    for name in ("resolution", "resolved_by"):
        value = after.get(name)
        if not isinstance(value, str) or not value.strip():
            return "处理冲突须填写处理结果和处理人"
    return None


class _Links:
    """What the admission of one batch looks up: the hub's rows as merged so far
    (the batch's own rows first), and the registering station of a confidential
    row. The rows that pushed rows refer to are loaded once per batch."""

    def __init__(self, store: HubStore, batch: "_Batch", rows: list[RowState], station: str, scope: str):
        self.store, self.batch, self.station, self.scope = store, batch, station, scope
        wanted: dict[str, set[str]] = {}
        for r in rows:
            for name, parent in REFERENCES.get(r.table, ()):
                v = r.values.get(name)
                if type(v) is str and (parent, v) not in batch.current:
                    wanted.setdefault(parent, set()).add(v)
            if r.table == "petition_events":
                cur = batch.current.get((r.table, r.id))
                pid = cur.values.get("petition_id") if cur is not None else None
                if type(pid) is str and ("petitions", pid) not in batch.current:
                    wanted.setdefault("petitions", set()).add(pid)
        self.loaded: dict[tuple[str, str], RowState | None] = {}
        self._has_rows: dict[str, bool] = {}
        for table, ids in wanted.items():
            found = store.load_many(table, sorted(ids))
            for rid in ids:
                self.loaded[(table, rid)] = found[rid][0] if rid in found else None

    def row(self, table: str, row_id: str) -> RowState | None:
        key = (table, row_id)
        state = self.batch.current.get(key)
        if state is not None:
            return state
        if key not in self.loaded:
            loaded = self.store.load(table, row_id) if table in TABLES and isinstance(row_id, str) else None
            self.loaded[key] = loaded[0] if loaded else None
        return self.loaded[key]

    def owner(self, table: str, state: RowState) -> str | None:
        return _owner(table, state, self.row)

    def has_rows(self, table: str) -> bool:
        """Does the hub hold any live row of ``table``? (Asked once a batch; a hub-only table's
        rows, the area list, do not change during a push.)"""
        if table not in self._has_rows:
            self._has_rows[table] = self.store.conn.execute(
                f"SELECT 1 FROM {_q(TABLES[table].name)} WHERE deleted IS NOT 1 LIMIT 1").fetchone() is not None
        return self._has_rows[table]


def _owner(table: str, state: RowState, row) -> str | None:
    """The registering station of a confidential row (a confidential petition,
    its events, a conflict marked confidential); None: not confidential."""
    values = state.values
    if table == "petitions" or table == "conflicts":
        return (values.get("station") or "") if _is_confidential(values) else None
    if table == "petition_events":
        pid = values.get("petition_id")
        petition = row("petitions", pid) if isinstance(pid, str) else None
        return _owner("petitions", petition, row) if petition is not None else None
    return None


def _known(table: str, *names: str) -> None:
    """A hook's query names only declared fields (they go into SQL text)."""
    t = TABLES[table]
    for name in names:
        if name not in t.by_name:
            raise KeyError(f"{table}.{name}")
