"""In-process helpers for engine tests: a hub and stations wired by LocalHub,
with faults injected at the peer boundary."""

from __future__ import annotations

import contextlib
import itertools
import shutil
import sqlite3
from pathlib import Path
from typing import Callable, Iterable, Iterator
from unittest import mock

from veterans.hub_checks import HUB_CHECKS
from sync.store.hub import HubStore
from sync.store.local_hub import LocalHub
from sync.engine.replicate import PushReply, sync_once
from sync.engine.rowstate import RowState
from sync.store.station import Store

COUNTY = "440902"
TOWN = "440902001"
VILLAGE_A = "440902001001"
VILLAGE_B = "440902001002"


class Cut(Exception):
    """The connection dropped."""


class FaultyHub(LocalHub):
    """A LocalHub that loses an acknowledgement, applies a batch twice, cuts a
    pull after some batches, or runs a hook (a local write) between push and pull.
    ``log``: every row and eviction a pull hands the station is appended to it
    as ``("row" | "evict", table, id)`` (what reached the station's PC at all).
    ``pull_rows``: the pull's batch size, when it is not the push's."""

    def __init__(self, *args, lose_ack_at: int | None = None, duplicate: bool = False,
                 cut_pull_after: int | None = None, between: Callable[[], None] | None = None,
                 log: list | None = None, pull_rows: int | None = None, **kw):
        super().__init__(*args, **kw)
        self.pull_rows = pull_rows  # rows per pull batch, if not the session's batch size
        self.lose_ack_at, self.duplicate = lose_ack_at, duplicate
        self.cut_pull_after, self.between = cut_pull_after, between
        self.log = log

    def push(self, batches: Iterable[list[RowState]], *, cursor: int = 0, recovery: str = "") -> Iterator[PushReply]:
        for i, rows in enumerate(batches):
            r = self.hub.apply_push(rows, station=self.station, scope=self.scope, replica_id=self.replica_id,
                                    seen_cursor=cursor, recovery=recovery)
            if self.duplicate:
                r = self.hub.apply_push(rows, station=self.station, scope=self.scope, replica_id=self.replica_id,
                                        seen_cursor=cursor, recovery=recovery)
            if self.lose_ack_at == i:
                raise Cut("ack lost")
            yield PushReply(r.acked, r.refused, r.conflicts, rows)

    def pull(self, cursor: int, batch_rows: int):
        if self.between:
            self.between()
        for i, batch in enumerate(super().pull(cursor, self.pull_rows or batch_rows)):
            if self.cut_pull_after == i:
                raise Cut("pull cut")
            if self.log is not None:
                self.log += [("row", r.table, r.id) for r in batch.rows]
                self.log += [("evict", e.table, e.id) for e in batch.evictions]
            yield batch


class Network:
    """A hub and stations in one process. ``checks``: the hub runs the domain
    checks on pushed rows, as a real hub does (``county_hub.home.open_hub``)."""

    def __init__(self, root: Path, stations: dict[str, str], *, checks: bool = True):
        self.hub = HubStore(root / "hub.db", create=True, checks=HUB_CHECKS if checks else ())
        with self.hub.transaction():
            self.hub.set_meta("county", COUNTY)
        self.stations: dict[str, Store] = {}
        for name, scope in stations.items():
            s = Store(root / f"{name}.db", create=True)
            with s.transaction():
                s.set_meta("station", scope)
                s.set_meta("scope", scope)
            self.stations[name] = s
        self.received: dict[str, list] = {name: [] for name in stations}  # FaultyHub.log per station

    def scope(self, name: str) -> str:
        return self.stations[name].meta("scope")

    def sync(self, name: str, *, batch_rows: int = 3, **faults):
        store = self.stations[name]
        peer = FaultyHub(self.hub, store.meta("station"), scope=self.scope(name), log=self.received[name], **faults)
        try:
            return sync_once(store, peer, batch_rows=batch_rows)
        except Cut:
            return None

    def backup_hub(self, dest: Path) -> None:
        """A consistent copy of the serving hub (SQLite's online backup)."""
        target = sqlite3.connect(dest)
        with target:
            self.hub.conn.backup(target)
        target.close()

    def put_back_hub(self, source: Path, *, new_epoch: bool = True) -> str:
        """Put a copy back in the hub's place: as ``county-hub restore`` does (a new
        epoch), or by hand (``new_epoch=False``). Returns the hub's epoch."""
        path = self.hub.path
        self.hub.close()
        for suffix in ("-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        shutil.copyfile(source, path)
        self.hub = HubStore(path, checks=HUB_CHECKS)
        return self.hub.new_epoch() if new_epoch else self.hub.epoch

    def peer_handshake(self, name: str):
        """The handshake the hub would give station ``name`` now (nothing else is done)."""
        store = self.stations[name]
        return LocalHub(self.hub, store.meta("station"), scope=self.scope(name)).handshake(store.replica_id, 0)

    def close(self):
        self.hub.close()
        for s in self.stations.values():
            s.close()


def confidential_owner(store: Store, table: str, values: dict) -> str | None:
    """The registering station of a confidential row as ``store`` holds it (a
    confidential petition, its events, a conflict marked confidential); None: not
    confidential."""
    if table in ("petitions", "conflicts"):
        return values.get("station") if values.get("confidential") == 1 else None
    if table == "petition_events":
        loaded = store.load("petitions", values.get("petition_id") or "")
        return confidential_owner(store, "petitions", loaded[0].values) if loaded else None
    return None


def snapshot(store: Store, scope: str, *, station: str | None = None) -> dict:
    """Every row (tombstones too) in scope: (table, id) -> (values, clock).
    ``station``: what that station may hold of it — without the confidential rows
    another station registered (compare a station with the hub's view for it)."""
    out = {}
    for table in ("veterans", "visits", "petitions", "petition_events", "conflicts"):
        for state, _ in store.read_states(table):
            if state.area.startswith(scope):
                if station is not None and confidential_owner(store, table, state.values) not in (None, station):
                    continue
                values = {k: state.values.get(k) for k in state.clock}
                out[(table, state.id)] = (values, dict(state.clock))
    return out


@contextlib.contextmanager
def sequential_ids(prefix: str = "id") -> Iterator[None]:
    """Row ids from ``veterans.values.new_id`` (the station's records) as ``id00001``,
    ``id00002`` …: a replayed script picks the same rows by position."""
    counter = itertools.count(1)
    with mock.patch("veterans.values.new_id", lambda: f"{prefix}{next(counter):05d}"):
        yield
