"""Crafted calls for the attack tests: what a hostile station sends with its
real certificate, built by hand instead of by `station-node`."""

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path

import grpc

from procs import Hub, Station, mtls_channel, station_tls
from sync.wire.gen.vetsync.v1 import sync_pb2 as pb
from sync.wire.gen.vetsync.v1 import sync_pb2_grpc

__all__ = ["now_ms", "crafted_row", "station_stub", "enrollment_stub", "push_one"]

_counters = itertools.count(1)


def now_ms() -> int:
    return int(time.time() * 1000)


def crafted_row(table: str, row_id: str, values: dict, *, replica: str, base: dict | None = None,
                clock: dict | None = None, wall_ms: int | None = None) -> pb.Row:
    """A pushed row: every value stamped with one new version of ``replica`` (``clock`` overrides
    some), ``base`` empty for each (a new row) unless given."""
    from sync.engine.hlc import make_version

    version = make_version(wall_ms or now_ms(), next(_counters) % 10000, replica)
    clock = {**dict.fromkeys(values, version), **(clock or {})}
    base = base if base is not None else dict.fromkeys(values, "")
    enc = lambda o: json.dumps(o, ensure_ascii=False).encode()  # noqa: E731
    return pb.Row(table=table, id=row_id, values=enc(values), clock=enc(clock), base=enc(base))


def station_stub(hub: Hub, station: Station | Path) -> tuple[grpc.Channel, sync_pb2_grpc.SyncStub]:
    """A channel to the sync port with the station's own key and certificate (close it)."""
    key, cert, ca = station_tls(station.home if isinstance(station, Station) else station)
    channel = mtls_channel(hub.target, ca=ca, key=key, cert=cert)
    return channel, sync_pb2_grpc.SyncStub(channel)


def enrollment_stub(hub: Hub, ca: bytes) -> tuple[grpc.Channel, sync_pb2_grpc.EnrollmentStub]:
    channel = mtls_channel(f"127.0.0.1:{hub.enroll_port}", ca=ca)
    return channel, sync_pb2_grpc.EnrollmentStub(channel)


def push_one(stub, rows: list[pb.Row], replica: str, *, batch: int = 0, timeout: float = 30) -> pb.PushResponse:
    """One batch on its own Push stream; its one reply."""
    [resp] = list(stub.Push(iter([pb.PushRequest(batch=batch, replica_id=replica, rows=rows)]), timeout=timeout))
    return resp
