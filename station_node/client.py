"""The station's gRPC peer: implements ``sync.replicate.HubPeer`` over mutual TLS.

Push is a bidirectional stream with a small window of batches in flight; pull
is a server stream. Wire types stay in ``sync.codec``; gRPC errors are turned
into ours in ``station_node.errors``.
"""

from __future__ import annotations

import itertools
import queue
from collections import deque
from typing import Iterable, Iterator

import grpc

from station_node.errors import from_rpc_error
from sync import codec
from sync.codec import pb
from sync.gen.vetsync.v1 import sync_pb2_grpc
from sync.hub_store import PullBatch
from sync.replicate import Handshake, PushReply
from sync.rowstate import RowState
from sync.schema import SCHEMA_VERSION

__all__ = ["GrpcHub", "channel_options", "PUSH_WINDOW"]

PUSH_WINDOW = 4
MAX_MESSAGE_BYTES = 32 * 1024 * 1024
_SOFTWARE = "vetsync-station/0.1"


def channel_options(target_host: str | None = None) -> list[tuple[str, object]]:
    return [
        ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
        ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
        ("grpc.keepalive_time_ms", 30_000),
        ("grpc.enable_retries", 0),  # retry lives in one layer: tenacity around the session
    ]


class GrpcHub:
    """A connection to the hub's sync port. Use as a context manager."""

    def __init__(self, target: str, *, key: bytes, cert: bytes, ca: bytes, timeout: float = 60.0,
                 compression: bool = False):
        self.target = target
        self.timeout = timeout
        creds = grpc.ssl_channel_credentials(root_certificates=ca, private_key=key, certificate_chain=cert)
        self.channel = grpc.secure_channel(
            target, creds, options=channel_options(),
            compression=grpc.Compression.Gzip if compression else grpc.Compression.NoCompression,
        )
        self.stub = sync_pb2_grpc.SyncStub(self.channel)
        self.replica_id = ""

    def __enter__(self) -> "GrpcHub":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.channel.close()

    def _call(self, fn):
        try:
            return fn()
        except grpc.RpcError as exc:
            raise from_rpc_error(exc, self.target) from None

    def handshake(self, replica_id: str, wall_ms: int) -> Handshake:
        self.replica_id = replica_id
        req = pb.HandshakeRequest(protocol=codec.PROTOCOL_VERSION, schema=SCHEMA_VERSION, replica_id=replica_id,
                                  wall_ms=wall_ms, software=_SOFTWARE)
        resp = self._call(lambda: self.stub.Handshake(req, timeout=self.timeout, wait_for_ready=False))
        return Handshake(resp.station, resp.scope, resp.county, resp.hub_wall_ms, wall_ms - resp.hub_wall_ms,
                         resp.max_batch_rows or 1000)

    def push(self, batches: Iterable[list[RowState]]) -> Iterator[PushReply]:
        batches = iter(batches)
        first = next(batches, None)
        if first is None:  # nothing to push: no stream, no round trip
            return
        outbox: queue.Queue = queue.Queue()

        def requests():
            while (item := outbox.get()) is not None:
                yield item

        call = self.stub.Push(requests(), timeout=self.timeout * 10)
        inflight: deque[int] = deque()
        done = False
        try:
            for number, rows in enumerate(itertools.chain([first], batches)):
                outbox.put(pb.PushRequest(batch=number, replica_id=self.replica_id,
                                          rows=[codec.row_to_pb(r, with_base=True) for r in rows]))
                inflight.append(number)
                if len(inflight) >= PUSH_WINDOW:
                    yield self._reply(call, inflight.popleft())
            outbox.put(None)
            while inflight:
                yield self._reply(call, inflight.popleft())
            done = True
        except grpc.RpcError as exc:
            raise from_rpc_error(exc, self.target) from None
        finally:
            outbox.put(None)
            if not done:
                call.cancel()

    def _reply(self, call, expected: int) -> PushReply:
        resp = next(call)
        if resp.batch != expected:
            from sync.errors import ProtocolError

            raise ProtocolError(f"县中心确认的批次 {resp.batch} 与发送的 {expected} 不符")
        return PushReply(codec.acks_from_pb(resp.acks), [(r.table, r.id, r.reason) for r in resp.refused],
                         resp.conflicts)

    def pull(self, cursor: int, batch_rows: int) -> Iterator[PullBatch]:
        stream = self._call(lambda: self.stub.Pull(pb.PullRequest(cursor=cursor, batch_rows=batch_rows),
                                                    timeout=self.timeout * 10))
        try:
            for resp in stream:
                yield PullBatch([codec.row_from_pb(r) for r in resp.rows], codec.evictions_from_pb(resp.evictions),
                                resp.cursor, resp.more)
        except grpc.RpcError as exc:
            raise from_rpc_error(exc, self.target) from None
