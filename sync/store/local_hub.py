"""An in-process ``HubPeer`` over a ``HubStore``: for tests and benchmarks of
the engine without a network. It applies the same rules as the gRPC servicer
(scope from the registered station, clock-skew refusal, the pulled cursor
noted for retention)."""

from __future__ import annotations

import time
from typing import Iterable, Iterator

from sync.engine.rowstate import PullBatch
from sync.store.hub import HubStore
from sync.store.retention import Retention
from sync.engine.replicate import Handshake, PushReply, check_skew
from sync.engine.rowstate import RowState

__all__ = ["LocalHub"]


class LocalHub:
    def __init__(self, hub: HubStore, station: str, *, scope: str | None = None):
        self.hub = hub
        self.station = station
        self.scope = scope if scope is not None else station
        self.replica_id = ""

    def handshake(self, replica_id: str, wall_ms: int) -> Handshake:
        self.replica_id = replica_id
        now = int(time.time() * 1000)
        return Handshake(self.station, self.scope, self.hub.meta("county", "") or "", now, wall_ms - now,
                         epoch=self.hub.epoch, hub_seq=self.hub.last_seq,
                         pruned_before_ms=Retention(self.hub).pruned_before_ms)

    def push(self, batches: Iterable[list[RowState]], *, cursor: int = 0, recovery: str = "") -> Iterator[PushReply]:
        for rows in batches:
            check_skew(rows, int(time.time() * 1000))
            r = self.hub.apply_push(rows, station=self.station, scope=self.scope, replica_id=self.replica_id,
                                    seen_cursor=cursor, recovery=recovery)
            yield PushReply(r.acked, r.refused, r.conflicts, rows)

    def pull(self, cursor: int, batch_rows: int) -> Iterator[PullBatch]:
        Retention(self.hub).note_pulled(self.replica_id, cursor)  # what the servicer records of a pull
        while True:
            batch = self.hub.changes_since(cursor, self.scope, station=self.station, replica_id=self.replica_id,
                                           limit=batch_rows)
            yield batch
            cursor = batch.cursor
            if not batch.more:
                self.hub.synced_in_full(self.replica_id)
                return
