"""The station's gRPC peer: implements ``sync.engine.replicate.HubPeer`` over mutual TLS.

Push is a bidirectional stream with a small window of batches in flight; pull
is a server stream. Wire types stay in ``sync.wire.codec``; gRPC errors are turned
into ours in ``station_node.errors``.
"""

from __future__ import annotations

import itertools
import queue
import socket
import ssl
from collections import deque
from typing import Iterable, Iterator

import grpc

from station_node.errors import REENROLL_HINT, CertificateRejected, HubUnreachable, from_rpc_error
from sync.wire import codec
from sync.wire.codec import pb
from sync.engine.defaults import DEFAULT_BATCH_ROWS
from sync.engine.errors import ProtocolError
from sync.wire.gen.vetsync.v1 import sync_pb2_grpc
from sync.engine.rowstate import PullBatch
from sync.engine.replicate import Handshake, PushReply
from sync.engine.rowstate import RowState
from sync.engine.schema import SCHEMA_VERSION
from sync.store.digest import MAX_FETCH_BUCKETS

__all__ = ["GrpcHub", "channel_options", "probe_client_certificate", "PUSH_WINDOW"]

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


def probe_client_certificate(target: str, tls_files, *, timeout: float = 5.0) -> str | None:
    """After a failed connect: why the hub refuses our certificate, or None
    (it accepts it, or it cannot be reached at all). With TLS 1.3 the hub
    checks the client certificate after the client's side of the handshake is
    done and just closes the connection; with TLS 1.2 it sends an alert."""
    host, _, port = target.rpartition(":")
    host = host.strip("[]")
    shaken = False
    try:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False  # only our certificate is in question here; gRPC checks the hub's name
        ctx.load_verify_locations(cafile=str(tls_files.ca))
        ctx.load_cert_chain(str(tls_files.cert), str(tls_files.key))
        ctx.set_alpn_protocols(["h2"])
        with socket.create_connection((host, int(port)), timeout=timeout) as raw:
            with ctx.wrap_socket(raw, server_hostname=host) as tls:
                shaken = True
                tls.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")  # the HTTP/2 preface: a hub that took us answers
                if tls.recv(1):
                    return None
    except ssl.SSLError as exc:
        if "ALERT" in (exc.reason or "").upper():
            return exc.reason
        if not shaken:  # not a TLS peer, or our CA does not know the hub: not a verdict on our certificate
            return None
    except ConnectionResetError:  # closed on us after the handshake
        if not shaken:
            return None
    except (OSError, ValueError):
        return None
    return "县中心在加密握手后即断开连接"


class GrpcHub:
    """A connection to the hub's sync port. Use as a context manager."""

    def __init__(self, target: str, *, key: bytes, cert: bytes, ca: bytes, timeout: float = 60.0,
                 compression: bool = False, tls_files=None):
        self.target = target
        self.timeout = timeout
        self.tls_files = tls_files  # (key, cert, ca) paths: to tell a refused certificate from a network fault
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
        try:
            resp = self._call(lambda: self.stub.Handshake(req, timeout=self.timeout, wait_for_ready=False))
        except HubUnreachable:
            # With TLS 1.3 the hub refuses a client certificate after the client's side of the handshake
            # is done, and gRPC reports only "Socket closed": ask the hub once more, over plain TLS.
            alert = (probe_client_certificate(self.target, self.tls_files, timeout=min(5.0, self.timeout))
                     if self.tls_files else None)
            if alert:
                raise CertificateRejected(
                    f"与县中心 {self.target} 的加密握手失败：本站证书不被接受（{alert}；可能已过期、已吊销或不是本县签发）",
                    hint=REENROLL_HINT,
                ) from None
            raise
        return Handshake(resp.station, resp.scope, resp.county, resp.hub_wall_ms, wall_ms - resp.hub_wall_ms,
                         resp.max_batch_rows or DEFAULT_BATCH_ROWS, epoch=resp.epoch, hub_seq=resp.hub_seq,
                         pruned_before_ms=resp.pruned_before_ms)

    def push(self, batches: Iterable[list[RowState]], *, cursor: int = 0, recovery: str = "") -> Iterator[PushReply]:
        batches = iter(batches)
        first = next(batches, None)
        if first is None:  # nothing to push: no stream, no round trip
            return
        outbox: queue.Queue = queue.Queue()

        def requests():
            while (item := outbox.get()) is not None:
                yield item

        call = self.stub.Push(requests(), timeout=self.timeout * 10)
        inflight: deque[tuple[int, list[RowState]]] = deque()
        done = False
        try:
            for number, rows in enumerate(itertools.chain([first], batches)):
                outbox.put(pb.PushRequest(batch=number, replica_id=self.replica_id, cursor=cursor, recovery=recovery,
                                          rows=[codec.row_to_pb(r, with_base=True) for r in rows]))
                inflight.append((number, rows))
                if len(inflight) >= PUSH_WINDOW:
                    yield self._reply(call, *inflight.popleft())
            outbox.put(None)
            while inflight:
                yield self._reply(call, *inflight.popleft())
            done = True
        except grpc.RpcError as exc:
            raise from_rpc_error(exc, self.target) from None
        finally:
            outbox.put(None)
            if not done:
                call.cancel()

    def _reply(self, call, expected: int, rows: list[RowState]) -> PushReply:
        resp = next(call)
        if resp.batch != expected:
            raise ProtocolError(f"县中心确认的批次 {resp.batch} 与发送的 {expected} 不符")
        return PushReply(codec.acks_from_pb(resp.acks, rows), [(r.table, r.id, r.reason) for r in resp.refused],
                         resp.conflicts, rows)

    def pull(self, cursor: int, batch_rows: int) -> Iterator[PullBatch]:
        stream = self._call(lambda: self.stub.Pull(pb.PullRequest(cursor=cursor, batch_rows=batch_rows,
                                                                   replica_id=self.replica_id),
                                                    timeout=self.timeout * 10))
        try:
            for resp in stream:
                yield PullBatch([codec.row_from_pb(r) for r in resp.rows], codec.evictions_from_pb(resp.evictions),
                                resp.cursor, resp.more)
        except grpc.RpcError as exc:
            raise from_rpc_error(exc, self.target) from None

    # -- certificate renewal (station_node.session.renew) -------------------------

    def renew(self, csr: bytes) -> tuple[bytes, bytes, str]:
        """(certificate, CA certificate, not_after) for the key of ``csr``, over this channel (the
        present certificate names the station)."""
        resp = self._call(lambda: self.stub.Renew(pb.RenewRequest(csr=csr), timeout=self.timeout))
        return resp.certificate, resp.ca_certificate, resp.not_after

    # -- scope checksums (station_node.verify) ---------------------------------

    def verify_digests(self) -> tuple[str, int, dict[tuple[str, str], tuple[int, int]]]:
        """(scope, the scope's newest hub seq, {(table, area): (rows, digest)}) as the hub holds them."""
        stream = self._call(lambda: self.stub.Verify(pb.VerifyRequest(), timeout=self.timeout * 10))
        scope, seq, buckets = "", 0, {}
        try:
            for resp in stream:
                scope, seq = resp.scope, max(seq, resp.seq)
                buckets.update(((b.table, b.area), (b.rows, b.digest)) for b in resp.buckets)
        except grpc.RpcError as exc:
            raise from_rpc_error(exc, self.target) from None
        return scope, seq, buckets

    def verify_rows(self, buckets: list[tuple[str, str]], batch_rows: int) -> tuple[int, list[RowState]]:
        """(the scope's newest hub seq, the hub's rows of ``buckets``), in requests of at most
        ``MAX_FETCH_BUCKETS`` buckets."""
        seq, rows = 0, []
        for i in range(0, len(buckets), MAX_FETCH_BUCKETS):
            req = pb.VerifyRequest(fetch=[pb.Bucket(table=t, area=a) for t, a in buckets[i : i + MAX_FETCH_BUCKETS]],
                                   batch_rows=batch_rows)
            stream = self._call(lambda: self.stub.Verify(req, timeout=self.timeout * 10))
            try:
                for resp in stream:
                    seq = max(seq, resp.seq)
                    rows.extend(codec.row_from_pb(r) for r in resp.rows)
            except grpc.RpcError as exc:
                raise from_rpc_error(exc, self.target) from None
        return seq, rows
