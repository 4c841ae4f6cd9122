"""One sync session: handshake, push, then pull.

The replicator calls store methods and a ``HubPeer``; it cannot tell an
in-process hub (tests, benchmarks) from the gRPC client. Every step is
resumable: a push batch's pending marks are cleared only by its
acknowledgement, and a pull batch is applied together with its cursor in one
transaction, so a session cut at any point loses and duplicates nothing.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, Protocol

from sync.engine.defaults import DEFAULT_BATCH_ROWS, MAX_BATCH_ROWS
from sync.engine.errors import ClockSkew
from sync.engine.hlc import wall_ms_of
from sync.engine.rowstate import PullBatch, RowState

if TYPE_CHECKING:  # the session runs on a station's store; the engine imports none
    from sync.store.station import Store

__all__ = ["HubPeer", "Handshake", "PushReply", "SyncReport", "sync_once", "check_skew", "MAX_SKEW_MS", "SKEW_MS_META",
           "HUB_EPOCH_META", "RECOVERING_META", "RECOVERY_REFUSED", "PRUNED_APPLIED_META", "needs_recovery"]

# The store's meta key of the skew (station clock minus hub clock, ms) learnt at the last handshake.
SKEW_MS_META = "last_skew_ms"

# The store's meta keys of recovery: the hub epoch this station last synced with in
# full, and the epoch of a recovery begun and not yet finished.
HUB_EPOCH_META = "hub_epoch"
# The reason a hub gives every row of a re-offer it does not take at all (PROTOCOL.md "Recovery"):
# it says nothing of the row, so the station keeps it.
RECOVERY_REFUSED = "县中心未接收这批恢复数据（本站已与当前县中心数据库完整同步过，或县中心已再次更换）"
RECOVERING_META = "recovering_epoch"

# The store's meta key of the hub's ``pruned_before_ms`` whose tombstones this station has
# dropped (PROTOCOL.md "Retention"): a new value from the hub is applied once.
PRUNED_APPLIED_META = "pruned_applied_ms"

# The hub refuses versions more than this far ahead of its own clock.
MAX_SKEW_MS = 5 * 60 * 1000



def check_skew(rows: Iterable[RowState], hub_now_ms: int, *, max_skew_ms: int = MAX_SKEW_MS) -> None:
    """Refuse versions too far ahead of the hub's clock (a station PC with a wrong date)."""
    newest = wall_ms_of(max((max(r.clock.values()) for r in rows if r.clock), default=""))
    ahead = newest - hub_now_ms
    if ahead > max_skew_ms:
        raise ClockSkew(
            f"本站电脑时钟比县中心快 {ahead / 60000:.0f} 分钟",
            hint="请校正本机日期和时间后再同步",
        )


@dataclass(frozen=True)
class Handshake:
    station: str
    scope: str
    county: str
    hub_wall_ms: int
    skew_ms: int  # station clock minus hub clock, as seen at the handshake
    max_batch_rows: int = MAX_BATCH_ROWS
    epoch: str = ""  # the hub database's lineage ("": a hub from before epochs)
    hub_seq: int = -1  # the hub's newest change sequence (-1: not told)
    pruned_before_ms: int = 0  # the hub has removed the tombstones deleted before this (0: none)


@dataclass(frozen=True)
class PushReply:
    acked: list[tuple[str, str, dict[str, str]]]
    refused: list[tuple[str, str, str]]
    conflicts: int
    sent: list[RowState] = field(default_factory=list)  # the batch this replies to, as the store gave it


class HubPeer(Protocol):
    def handshake(self, replica_id: str, wall_ms: int) -> Handshake: ...

    def push(self, batches: Iterable[list[RowState]], *, cursor: int = 0, recovery: str = "") -> Iterator[PushReply]:
        """One reply per batch, in order. ``cursor``: the pusher's pull cursor (what it has seen);
        ``recovery``: the hub's epoch when the batches re-offer what the station holds."""

    def pull(self, cursor: int, batch_rows: int) -> Iterator[PullBatch]: ...


@dataclass
class SyncReport:
    station: str = ""
    pushed: int = 0
    pulled: int = 0
    evicted: int = 0
    rejected: int = 0
    conflicts: int = 0
    skew_ms: int = 0
    cursor: int = 0
    seconds: float = 0.0
    rejections: list[dict] = field(default_factory=list)
    # Recovery from a hub restored from a backup: rows re-offered, and those the hub refused.
    recovered: int = 0
    recovery_refused: int = 0
    # Retention: tombstones dropped because the hub has removed them (PROTOCOL.md "Retention").
    pruned: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


Progress = Callable[[str, int], None]  # (phase, rows done in this call)


def needs_recovery(store: Store, hello: Handshake) -> bool:
    """Is the hub not the one this station last synced with? A new epoch (it
    was restored from a backup), a hub sequence below this station's cursor (a
    database put back by hand), or a recovery begun and not finished."""
    if store.meta(RECOVERING_META):
        return True
    known = store.meta(HUB_EPOCH_META)
    if known and hello.epoch and known != hello.epoch:
        return True
    return 0 <= hello.hub_seq < store.cursor


def sync_once(store: Store, hub: HubPeer, *, batch_rows: int = DEFAULT_BATCH_ROWS, progress: Progress | None = None) -> SyncReport:
    """One session: handshake, push, pull. When the hub is not the one this
    station last synced with (``needs_recovery``), the session first re-offers
    every row the station holds as acknowledged and then pulls its scope again
    from the start (PROTOCOL.md "Recovery"); a session cut short resumes the
    recovery next time. A session that pulled to the end under a new
    ``pruned_before_ms`` drops the tombstones the hub has removed
    (``Store.drop_pruned``, PROTOCOL.md "Retention")."""
    started = time.monotonic()
    report = SyncReport()
    hello = hub.handshake(store.replica_id, int(time.time() * 1000))
    report.station, report.skew_ms = hello.station, hello.skew_ms
    recovering = needs_recovery(store, hello)
    with store.transaction(durable=not recovering):  # bookkeeping: no promise rides on it, but the recovery mark
        store.set_meta(SKEW_MS_META, hello.skew_ms)
        store.set_meta("scope", hello.scope)
        if recovering:
            store.set_meta(RECOVERING_META, hello.epoch or "-")
            store.set_meta("cursor", 0)  # everything in scope comes again
        elif hello.epoch and store.meta(HUB_EPOCH_META) is None:
            store.set_meta(HUB_EPOCH_META, hello.epoch)  # first contact, or a station from before epochs
    batch_rows = max(1, min(batch_rows, hello.max_batch_rows))

    # Rows the restored hub refused in the re-offer for what they are (out of the scope now, for
    # instance): unless the pull brings them, they are no longer this station's.
    stale: set[tuple[str, str]] = set()
    if recovering:
        # Nothing of the station changes: its rows are as they were; a refusal is counted, not kept.
        # A row the hub could not take without its pending fields (it lost the row, and needs e.g.
        # its area) is offered again whole.
        again: set[tuple[str, str]] = set()
        for reply in hub.push(store.acknowledged_batches(batch_rows), cursor=0, recovery=hello.epoch or "-"):
            report.recovered += len(reply.acked)
            again.update((table, row_id) for table, row_id, reason in reply.refused if reason != RECOVERY_REFUSED)
            report.recovery_refused += sum(1 for *_k, reason in reply.refused if reason == RECOVERY_REFUSED)
            if progress:
                progress("recover", len(reply.acked) + len(reply.refused))
        if again:
            for reply in hub.push(store.acknowledged_batches(batch_rows, whole=again), cursor=0,
                                  recovery=hello.epoch or "-"):
                report.recovered += len(reply.acked)
                report.recovery_refused += len(reply.refused)
                stale.update((table, row_id) for table, row_id, reason in reply.refused if reason != RECOVERY_REFUSED)

    for reply in hub.push(store.pending_batches(batch_rows), cursor=store.cursor):
        store.acknowledge(reply.acked, reply.sent)
        for table, row_id, reason in reply.refused:
            store.reject(table, row_id, reason)
            report.rejections.append({"table": table, "id": row_id, "reason": reason})
        report.pushed += len(reply.acked)
        report.rejected += len(reply.refused)
        report.conflicts += reply.conflicts
        if progress:
            progress("push", len(reply.acked) + len(reply.refused))

    for batch in hub.pull(store.cursor, batch_rows):
        changed, evicted = store.apply_pulled(batch.rows, batch.evictions, batch.cursor)
        if stale:
            stale.difference_update((r.table, r.id) for r in batch.rows)
        report.pulled += len(batch.rows)
        report.evicted += evicted
        report.cursor = batch.cursor
        if progress:
            progress("pull", len(batch.rows))
    report.cursor = store.cursor
    if stale:  # the whole scope came from 0: a row the hub refused and did not send is no longer ours
        report.evicted += store.drop_unless_pending(stale)
    # Pulled to the end: this station holds what the hub held when it announced the value, and
    # drops the tombstones the hub removed (once per value; again while one waits on a pending field).
    pruned = max(0, hello.pruned_before_ms)
    settle = bool(pruned) and store.meta(PRUNED_APPLIED_META) != str(pruned)
    if settle:
        report.pruned, waiting = store.drop_pruned(pruned)
        settle = not waiting  # a tombstone with a pending field: dropped by a later session
    with store.transaction(durable=recovering):
        store.set_meta("last_sync_ms", int(time.time() * 1000))
        if settle:
            store.set_meta(PRUNED_APPLIED_META, pruned)
        if recovering:  # pushed and pulled in full: this hub is the one we sync with now
            store.set_meta(HUB_EPOCH_META, hello.epoch or None)
            store.set_meta(RECOVERING_META, None)
    report.seconds = round(time.monotonic() - started, 4)
    return report
