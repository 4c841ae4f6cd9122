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

__all__ = ["HubPeer", "Handshake", "PushReply", "SyncReport", "sync_once", "check_skew", "MAX_SKEW_MS", "SKEW_MS_META"]

# The store's meta key of the skew (station clock minus hub clock, ms) learnt at the last handshake.
SKEW_MS_META = "last_skew_ms"

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


@dataclass(frozen=True)
class PushReply:
    acked: list[tuple[str, str, dict[str, str]]]
    refused: list[tuple[str, str, str]]
    conflicts: int
    sent: list[RowState] = field(default_factory=list)  # the batch this replies to, as the store gave it


class HubPeer(Protocol):
    def handshake(self, replica_id: str, wall_ms: int) -> Handshake: ...

    def push(self, batches: Iterable[list[RowState]], *, cursor: int = 0) -> Iterator[PushReply]:
        """One reply per batch, in order. ``cursor``: the pusher's pull cursor (what it has seen)."""

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

    def to_dict(self) -> dict:
        return asdict(self)


Progress = Callable[[str, int], None]  # (phase, rows done in this call)


def sync_once(store: Store, hub: HubPeer, *, batch_rows: int = DEFAULT_BATCH_ROWS, progress: Progress | None = None) -> SyncReport:
    started = time.monotonic()
    report = SyncReport()
    hello = hub.handshake(store.replica_id, int(time.time() * 1000))
    report.station, report.skew_ms = hello.station, hello.skew_ms
    with store.transaction(durable=False):  # bookkeeping: no promise rides on it
        store.set_meta(SKEW_MS_META, hello.skew_ms)
        store.set_meta("scope", hello.scope)
    batch_rows = max(1, min(batch_rows, hello.max_batch_rows))

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
        report.pulled += len(batch.rows)
        report.evicted += evicted
        report.cursor = batch.cursor
        if progress:
            progress("pull", len(batch.rows))
    report.cursor = store.cursor
    with store.transaction(durable=False):
        store.set_meta("last_sync_ms", int(time.time() * 1000))
    report.seconds = round(time.monotonic() - started, 4)
    return report
