"""The gRPC servicers: thin. Each call takes the station from the client
certificate (never from the message), converts the request, calls one hub
function and converts the result. Errors become precise status codes; nothing
is half-applied (each push batch is one transaction) and nothing stops the hub.
"""

from __future__ import annotations

import functools
import logging
import time
from dataclasses import dataclass

import grpc

from county_hub.ca import CA, cert_serial_hex, station_code_from_cert
from county_hub.errors import HubError, Unauthenticated
from county_hub.registry import Registry
from sync import codec
from sync.codec import pb
from sync.errors import ClockSkew, Forbidden, ProtocolError, VetsyncError
from sync.gen.vetsync.v1 import sync_pb2_grpc
from sync.hub_store import HubStore
from sync.replicate import check_skew
from sync.schema import SCHEMA_VERSION

log = logging.getLogger("county_hub.service")

__all__ = ["SyncService", "EnrollmentService", "MAX_BATCH_ROWS", "add_services"]

MAX_BATCH_ROWS = 5000


@dataclass(frozen=True)
class Peer:
    station: str
    scope: str
    serial: str


def _status(exc: VetsyncError) -> grpc.StatusCode:
    if isinstance(exc, HubError):
        return getattr(grpc.StatusCode, exc.code)
    if isinstance(exc, ClockSkew):
        return grpc.StatusCode.FAILED_PRECONDITION
    if isinstance(exc, Forbidden):
        return grpc.StatusCode.PERMISSION_DENIED
    return grpc.StatusCode.INVALID_ARGUMENT


class _Malformed:
    """A request whose bytes do not parse. gRPC answers INTERNAL when a
    deserializer raises; ours returns this instead, and the servicer answers
    INVALID_ARGUMENT."""


MALFORMED = _Malformed()


def _tolerant(message_cls):
    def parse(data: bytes):
        try:
            return message_cls.FromString(data)
        except Exception:  # noqa: BLE001 - DecodeError, or whatever protobuf raises on junk
            return MALFORMED

    return parse


def add_services(server: grpc.Server, sync: "SyncService", enrollment: "EnrollmentService") -> None:
    """Register both services (like the generated ``add_*_to_server``), with
    deserializers that turn undecodable bytes into INVALID_ARGUMENT."""
    services = {
        "vetsync.v1.Sync": {
            "Handshake": grpc.unary_unary_rpc_method_handler(
                sync.Handshake, request_deserializer=_tolerant(pb.HandshakeRequest),
                response_serializer=pb.HandshakeResponse.SerializeToString),
            "Push": grpc.stream_stream_rpc_method_handler(
                sync.Push, request_deserializer=_tolerant(pb.PushRequest),
                response_serializer=pb.PushResponse.SerializeToString),
            "Pull": grpc.unary_stream_rpc_method_handler(
                sync.Pull, request_deserializer=_tolerant(pb.PullRequest),
                response_serializer=pb.PullResponse.SerializeToString),
        },
        "vetsync.v1.Enrollment": {
            "Enroll": grpc.unary_unary_rpc_method_handler(
                enrollment.Enroll, request_deserializer=_tolerant(pb.EnrollRequest),
                response_serializer=pb.EnrollResponse.SerializeToString),
        },
    }
    for name, handlers in services.items():
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(name, handlers),))
        server.add_registered_method_handlers(name, handlers)


def guarded(method):
    """Map our errors to status codes; an unexpected error is INTERNAL, logged
    without personal data, and never stops the server."""

    @functools.wraps(method)
    def wrapper(self, request, context):
        status = None
        try:
            if request is MALFORMED:
                raise ProtocolError("请求消息无法解析（不是本协议的消息）")
            result = method(self, request, context)
            if hasattr(result, "__next__"):
                yield from result
            else:
                yield result
        except VetsyncError as exc:
            status = (_status(exc), str(exc))
        except grpc.RpcError:  # the client went away mid-stream: nothing to answer
            return
        except Exception:  # noqa: BLE001 - the hub keeps serving
            log.exception("internal error in %s", method.__name__)
            status = (grpc.StatusCode.INTERNAL, "县中心内部错误，请联系管理员")
        if status:  # abort() raises: call it outside the try, once
            context.abort(*status)

    return wrapper


def _unary(method):
    g = guarded(method)

    @functools.wraps(method)
    def wrapper(self, request, context):
        return next(g(self, request, context))

    return wrapper


class SyncService(sync_pb2_grpc.SyncServicer):
    def __init__(self, hub: HubStore, registry: Registry):
        self.hub = hub
        self.registry = registry
        self._certs: dict[bytes, tuple[str, str]] = {}

    def _peer(self, context) -> Peer:
        pems = context.auth_context().get("x509_pem_cert")
        if not pems:
            raise Unauthenticated("需要站点证书（请通过同步端口的双向 TLS 连接）")
        pem = pems[0]
        if pem not in self._certs:
            station = station_code_from_cert(pem)
            if not station:
                raise Unauthenticated("证书中没有站点代码")
            self._certs[pem] = (station, cert_serial_hex(pem))
        station, serial = self._certs[pem]
        with self.hub.lock:
            if self.registry.is_revoked(serial):
                raise Unauthenticated(f"站点 {station} 的证书已被吊销，请联系县中心")
            scope = self.registry.scope_of(station)
        return Peer(station, scope, serial)

    @_unary
    def Handshake(self, request, context):
        peer = self._peer(context)
        if request.protocol != codec.PROTOCOL_VERSION:
            raise HubError(f"协议版本 {request.protocol} 与县中心 {codec.PROTOCOL_VERSION} 不一致，请升级 vetsync")
        if request.schema > SCHEMA_VERSION:
            raise HubError(f"站点数据版本 {request.schema} 比县中心 {SCHEMA_VERSION} 新，请先升级县中心")
        _check_replica(request.replica_id)
        if request.wall_ms < 0:  # would also overflow the skew column
            raise ProtocolError(f"站点时钟值不合法：{request.wall_ms}")
        now = int(time.time() * 1000)
        skew = request.wall_ms - now if request.wall_ms else 0
        with self.hub.lock:
            self.registry.record_handshake(peer.station, request.replica_id, skew)
            seq = self.hub.last_seq
        return pb.HandshakeResponse(
            protocol=codec.PROTOCOL_VERSION, schema=SCHEMA_VERSION, station=peer.station, scope=peer.scope,
            hub_wall_ms=now, county=self.hub.meta("county") or "", hub_seq=seq, max_batch_rows=MAX_BATCH_ROWS,
        )

    @guarded
    def Push(self, request_iterator, context):
        peer = self._peer(context)
        for request in request_iterator:
            if request is MALFORMED:
                raise ProtocolError("请求消息无法解析（不是本协议的消息）")
            _check_replica(request.replica_id)
            if len(request.rows) > MAX_BATCH_ROWS:
                raise ProtocolError(f"一批最多 {MAX_BATCH_ROWS} 行，收到 {len(request.rows)} 行")
            rows = [codec.row_from_pb(r) for r in request.rows]
            check_skew(rows, int(time.time() * 1000))
            with self.hub.transaction():  # the batch and its bookkeeping: one durable commit
                result = self.hub.apply_push(rows, station=peer.station, scope=peer.scope,
                                             replica_id=request.replica_id)
                self.registry.record_push(peer.station, len(result.acked), len(result.refused), result.conflicts)
            yield pb.PushResponse(
                batch=request.batch,
                acks=codec.acks_to_pb(result.acked),
                refused=[pb.Refusal(table=t, id=i, reason=r) for t, i, r in result.refused],
                conflicts=result.conflicts,
            )

    @guarded
    def Pull(self, request, context):
        peer = self._peer(context)
        limit = max(1, min(request.batch_rows or 1000, MAX_BATCH_ROWS))
        if request.cursor >= 2**63:  # a hub seq is a SQLite INTEGER
            raise ProtocolError(f"同步游标不合法：{request.cursor}")
        cursor, total = request.cursor, 0
        while True:
            batch = self.hub.changes_since(cursor, peer.scope, station=peer.station, replica_id=request.replica_id,
                                           limit=limit)
            total += len(batch.rows)
            yield pb.PullResponse(
                rows=[codec.row_to_pb(r) for r in batch.rows],
                evictions=codec.evictions_to_pb(batch.evictions),
                cursor=batch.cursor, more=batch.more,
            )
            cursor = batch.cursor
            if not batch.more:
                break
        with self.hub.lock:
            self.registry.record_pull(peer.station, total)


class EnrollmentService(sync_pb2_grpc.EnrollmentServicer):
    def __init__(self, hub: HubStore, registry: Registry, ca: CA):
        self.hub, self.registry, self.ca = hub, registry, ca

    @_unary
    def Enroll(self, request, context):
        if len(request.csr) > 16384 or len(request.token) > 512:
            raise ProtocolError("注册请求过大")
        with self.hub.lock:
            try:
                cert_pem, station = self.registry.enroll(request.token, request.csr, self.ca)
            except ValueError as exc:  # a CSR the CA refuses
                if isinstance(exc, VetsyncError):
                    raise
                raise ProtocolError(f"证书签名请求无效：{exc}") from None
        return pb.EnrollResponse(
            certificate=cert_pem, ca_certificate=self.ca.cert_pem, station=station, scope=station,
            county=self.hub.meta("county") or "",
        )


def _check_replica(replica_id: str) -> None:
    if len(replica_id) != 16 or any(c not in "0123456789abcdef" for c in replica_id):
        raise ProtocolError("replica_id 应为 16 位十六进制")
