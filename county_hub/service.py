"""The gRPC servicers: thin, asynchronous, and never waiting on a peer.

Each call takes the station from the client certificate (never from the
message), takes one of the peer's call slots (``county_hub.gate``), reads its
request within a time limit, hands the store work to the port's small thread
pool, and converts the result. A silent or slow peer holds a coroutine, not a
thread; it runs into a time limit (``county_hub.limits``) and is cut off.

Every method is registered with a streaming request, whatever its shape in the
``.proto`` (the wire is the same): so the servicer, not gRPC, reads the request
message, and can refuse a busy peer before it has sent one and time out one
that never does.

Errors become precise status codes; nothing is half-applied (each push batch
is one transaction) and nothing stops the hub. A full disk (or the size limit
of ``serve --max-db-mb``) is ``RESOURCE_EXHAUSTED`` and a disk I/O error
``UNAVAILABLE``, each with a Chinese reason: the call's transaction has rolled
back, nothing of it is acknowledged, and the next call succeeds once there is
room again (a station retries later). Revocation is checked on every
call and on every push and pull batch; a call with a certificate the hub does
not accept is ``UNAUTHENTICATED`` with the reason (``revoked``,
``superseded``, ``reenrolled``, ``expired``, ``unknown``) in the trailing
metadata ``vetsync-certificate``, so that the station can show it.

``Renew`` (PROTOCOL.md "Certificates") signs a certificate for a new key of the
station named in the presented certificate; the CSR is bounded, checked, and
trusted for nothing but its public key.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as _dt
import functools
import logging
import time
from concurrent.futures import Executor
from dataclasses import dataclass

import grpc

from county_hub.ca import CA, CSRError, MAX_CSR_BYTES, cert_serial_hex, public_key_id, station_code_from_cert
from county_hub.errors import CertificateRefused, HubError, RenewRefused, Unauthenticated
from county_hub.gate import Busy, FailureWindow, Slots
from county_hub.home import mark_served
from county_hub.limits import Limits
from county_hub.registry import Registry
from sync.wire import codec
from sync.wire.codec import pb
from sync.engine.errors import ClockSkew, Forbidden, ProtocolError, VetsyncError
from sync.store import digest
from sync.store.hub import HubStore
from sync.store.retention import Retention
from sync.store.rows import disk_fault
from sync.engine.defaults import DEFAULT_BATCH_ROWS, MAX_BATCH_ROWS
from sync.engine.replicate import check_skew
from sync.engine.limits import MAX_PULL_BATCH_BYTES
from sync.engine.schema import SCHEMA_VERSION, TABLES
from sync.engine.scope import AREA_LENGTHS, in_scope

log = logging.getLogger("county_hub.service")

__all__ = ["SyncService", "EnrollmentService", "MAX_BATCH_ROWS", "sync_handlers",
           "enrollment_handlers"]


@dataclass(frozen=True)
class Peer:
    station: str
    scope: str
    serial: str


#: trailing metadata of a call refused for its certificate: the reason (PROTOCOL.md "Certificates")
CERTIFICATE_METADATA = "vetsync-certificate"


#: A replica left behind by a prune (``sync.store.retention``): it may hold records deleted since.
STALE_REPLICA = "本站数据库停在县中心 {date} 的数据清理之前，其中可能仍有已在别处删除的记录，不能继续同步"
STALE_HINT = ("请向县中心申请新的登记令牌，用 station-node init --hub 县中心地址:端口 --token 令牌 --recover 旧数据库 "
              "在新目录重建本站，未上传的修改会一并找回")


def _local_date(ms: int) -> str:
    return _dt.datetime.fromtimestamp(ms / 1000).astimezone().strftime("%Y-%m-%d")


class TimedOut(HubError):
    code = "DEADLINE_EXCEEDED"


class TooMany(HubError):
    code = "RESOURCE_EXHAUSTED"


def _status(exc: VetsyncError) -> grpc.StatusCode:
    if isinstance(exc, HubError):
        return getattr(grpc.StatusCode, exc.code)
    if isinstance(exc, ClockSkew):
        return grpc.StatusCode.FAILED_PRECONDITION
    if isinstance(exc, Forbidden):
        return grpc.StatusCode.PERMISSION_DENIED
    return grpc.StatusCode.INVALID_ARGUMENT


def _disk_status(kind: str, method: str) -> tuple[grpc.StatusCode, str]:
    """The answer when the hub's disk failed a call (``sync.store.rows.disk_fault``)."""
    lost = "本批未保存，" if method == "Push" else ""
    if kind == "full":
        return grpc.StatusCode.RESOURCE_EXHAUSTED, f"县中心磁盘空间不足，{lost}请稍后再同步"
    return grpc.StatusCode.UNAVAILABLE, f"县中心磁盘读写出错，{lost}请稍后再同步"


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


async def _read(context, timeout: float, *, what: str = "请求"):
    """The next request message, or ``grpc.aio.EOF``; refuses junk and silence."""
    try:
        request = await asyncio.wait_for(context.read(), timeout)
    except asyncio.TimeoutError:
        raise TimedOut(f"{timeout:g} 秒内未收到{what}，连接已断开") from None
    if request is MALFORMED:
        raise ProtocolError("请求消息无法解析（不是本协议的消息）")
    return request


async def _read_one(context, timeout: float):
    request = await _read(context, timeout)
    if request is grpc.aio.EOF:
        raise ProtocolError("调用中没有请求消息")
    return request


async def _write(context, message, timeout: float) -> None:
    try:
        await asyncio.wait_for(context.write(message), timeout)
    except asyncio.TimeoutError:
        raise TimedOut(f"站点 {timeout:g} 秒内未接收数据，连接已断开") from None


def guarded(method):
    """Bound the whole call in time; map our errors to status codes; an
    unexpected error is INTERNAL, logged without personal data, and never
    stops the server."""

    @functools.wraps(method)
    async def wrapper(self, request_iterator, context):
        trailer: tuple = ()
        try:
            async with asyncio.timeout(self.limits.call_deadline_s):
                return await method(self, context)
        except VetsyncError as exc:
            status = (_status(exc), str(exc))
            if isinstance(exc, CertificateRefused):  # the station records why (status: 已吊销 …)
                trailer = ((CERTIFICATE_METADATA, exc.reason),)
        except Busy:
            status = (grpc.StatusCode.UNAVAILABLE,
                      f"本站同时进行的同步已达上限 {self.limits.calls_per_station} 个，请稍后再试")
        except TimeoutError:
            status = (grpc.StatusCode.DEADLINE_EXCEEDED, f"一次同步超过 {self.limits.call_deadline_s:g} 秒，已中止")
        except Exception as exc:  # noqa: BLE001 - the hub keeps serving
            if kind := disk_fault(exc):  # rolled back; the operator must make room (or mend the disk)
                log.error("disk %s in %s, nothing of the call saved: %s", kind, method.__name__, exc)
                status = _disk_status(kind, method.__name__)
            else:
                log.exception("internal error in %s", method.__name__)
                status = (grpc.StatusCode.INTERNAL, "县中心内部错误，请联系管理员")
        await context.abort(*status, trailer)

    return wrapper


@contextlib.contextmanager
def _unless_disk_fault(what: str):
    """Bookkeeping a full or failing disk may skip (a handshake's, a pull's
    statistics): the call is served without it, so a hub that cannot write still
    serves pulls; it is logged, and the next call records it once there is room."""
    try:
        yield
    except Exception as exc:
        if (kind := disk_fault(exc)) is None:
            raise
        log.warning("disk %s: %s not recorded: %s", kind, what, exc)


class _Port:
    """What both servicers share: the store, the registry, a pool, the limits."""

    def __init__(self, hub: HubStore, registry: Registry, pool: Executor, limits: Limits):
        self.hub, self.registry, self.pool, self.limits = hub, registry, pool, limits

    async def run(self, fn, *args, **kw):
        """Store work, on this port's pool: the event loop never blocks on SQLite or the store's lock."""
        return await asyncio.get_running_loop().run_in_executor(self.pool, functools.partial(fn, *args, **kw))


class SyncService(_Port):
    def __init__(self, hub: HubStore, registry: Registry, pool: Executor, limits: Limits = Limits(), *,
                 ca: CA | None = None):
        super().__init__(hub, registry, pool, limits)
        self.ca = ca  # signs renewals (Renew); without it Renew is refused
        self._certs: dict[bytes, tuple[str, str]] = {}
        self.slots = Slots(limits.calls_per_station)
        self._refusals_audited: dict[str, float] = {}  # serial -> when its last refused call was audited

    # -- identity ------------------------------------------------------------

    def _identity(self, context) -> tuple[str, str]:
        """(station, serial) from the client certificate: pure, no store access."""
        pems = context.auth_context().get("x509_pem_cert")
        if not pems:
            raise Unauthenticated("需要站点证书（请通过同步端口的双向 TLS 连接）")
        pem = pems[0]
        if pem not in self._certs:
            station = station_code_from_cert(pem)
            if not station:
                raise Unauthenticated("证书中没有站点代码")
            self._certs[pem] = (station, cert_serial_hex(pem))
        return self._certs[pem]

    def _peer(self, station: str, serial: str, call: str) -> Peer:
        """The peer as the registry knows it now (on a pool thread): refused when its certificate is
        revoked, superseded, expired or unknown (``Registry.check_certificate``)."""
        with self.hub.lock:
            try:
                self.registry.check_certificate(station, serial)
            except CertificateRefused:
                self._audit_refusal(station, serial, call)
                raise
            return Peer(station, self.registry.scope_of(station), serial)

    def _audit_refusal(self, station: str, serial: str, call: str) -> None:
        """A call with a revoked or unknown certificate, audited at most once a minute per certificate."""
        now = time.monotonic()
        if now - self._refusals_audited.get(serial, -60.0) < 60.0:
            return
        self._refusals_audited[serial] = now
        with self.hub.transaction(durable=False):
            self.registry.audit("refused_certificate", station, serial=serial, call=call)

    # -- calls ---------------------------------------------------------------

    @guarded
    async def Handshake(self, context):
        station, serial = self._identity(context)
        with self.slots.take(station):
            request = await _read_one(context, self.limits.request_timeout_s)
            return await self.run(self._handshake, station, serial, request)

    def _handshake(self, station: str, serial: str, request) -> pb.HandshakeResponse:
        peer = self._peer(station, serial, "Handshake")
        if request.protocol != codec.PROTOCOL_VERSION:
            raise HubError(f"协议版本 {request.protocol} 与县中心 {codec.PROTOCOL_VERSION} 不一致，请升级 vetsync")
        if request.schema > SCHEMA_VERSION:
            raise HubError(f"站点数据版本 {request.schema} 比县中心 {SCHEMA_VERSION} 新，请先升级县中心")
        _check_replica(request.replica_id)
        if request.wall_ms < 0:  # would also overflow the skew column
            raise ProtocolError(f"站点时钟值不合法：{request.wall_ms}")
        retention = Retention(self.hub)
        if stale := retention.stale_since(request.replica_id):
            raise HubError(STALE_REPLICA.format(date=_local_date(stale)), hint=STALE_HINT)
        now = int(time.time() * 1000)
        skew_ms = request.wall_ms - now if request.wall_ms else 0
        self.hub.bind_replica(request.replica_id, peer.station)  # writes only at first sight
        with _unless_disk_fault("handshake"), self.hub.transaction(durable=False):
            self.registry.record_handshake(peer.station, request.replica_id, skew_ms)
        seq = self.hub.last_seq
        return pb.HandshakeResponse(
            protocol=codec.PROTOCOL_VERSION, schema=SCHEMA_VERSION, station=peer.station, scope=peer.scope,
            hub_wall_ms=now, county=self.hub.meta("county") or "", hub_seq=seq, max_batch_rows=MAX_BATCH_ROWS,
            epoch=self.hub.epoch, pruned_before_ms=retention.pruned_before_ms,
        )

    @guarded
    async def Push(self, context):
        station, serial = self._identity(context)
        with self.slots.take(station):
            timeout = self.limits.request_timeout_s  # the first batch; then the idle limit
            while (request := await _read(context, timeout, what="下一批数据")) is not grpc.aio.EOF:
                timeout = self.limits.idle_timeout_s
                reply = await self.run(self._push_batch, station, serial, request)
                await _write(context, reply, self.limits.write_timeout_s)

    def _push_batch(self, station: str, serial: str, request) -> pb.PushResponse:
        peer = self._peer(station, serial, "Push")  # per batch: a revocation cuts an open stream
        try:
            _check_replica(request.replica_id)
            if request.cursor >= 2**63:  # a hub seq is a SQLite INTEGER
                raise ProtocolError(f"同步游标不合法：{request.cursor}")
            if len(request.rows) > MAX_BATCH_ROWS:
                raise ProtocolError(f"一批最多 {MAX_BATCH_ROWS} 行，收到 {len(request.rows)} 行")
            if len(request.recovery) > 64:
                raise ProtocolError("恢复标记不合法")
            rows = [codec.row_from_pb(r) for r in request.rows]
            check_skew(rows, int(time.time() * 1000))
            recovery = request.recovery
            if recovery and not self.registry.enrolled_before(peer.station, self.hub.epoch_started_ms):
                recovery = "-"  # enrolled after the restore: it holds nothing the restore lost; refused row by row
            with self.hub.transaction():  # the batch and its bookkeeping: one durable commit
                result = self.hub.apply_push(rows, station=peer.station, scope=peer.scope,
                                             replica_id=request.replica_id, seen_cursor=request.cursor,
                                             recovery=recovery)
                self.registry.record_push(peer.station, len(result.acked), result.refused, result.conflicts,
                                          resolved=result.resolved)
                if request.recovery:  # who re-offered what to a restored hub, batch by batch
                    self.registry.audit("recovery", peer.station, batch=request.batch, rows=len(request.rows),
                                        taken=len(result.acked), refused=len(result.refused))
            self._note_served()
        except VetsyncError as exc:  # nothing of the batch was written; what was tried is kept
            with self.hub.transaction(durable=False):
                self.registry.audit("push_refused", peer.station, batch=request.batch, rows=len(request.rows),
                                    reason=str(exc)[:200])
            raise
        return pb.PushResponse(
            batch=request.batch,
            acks=codec.acks_to_pb(result.acked),
            refused=[pb.Refusal(table=t, id=i, reason=r) for t, i, r in result.refused],
            conflicts=result.conflicts,
        )

    _served_at = 0.0

    def _note_served(self) -> None:
        """Note beside the database what this hub has served (``county_hub.home.mark_served``), every
        few seconds at most: a copy of the database put back by hand is then found at the next start."""
        now = time.monotonic()
        if now - self._served_at >= 2.0:
            self._served_at = now
            mark_served(self.hub, self.hub.path.parent)

    @guarded
    async def Pull(self, context):
        station, serial = self._identity(context)
        with self.slots.take(station):
            request = await _read_one(context, self.limits.request_timeout_s)
            limit = max(1, min(request.batch_rows or DEFAULT_BATCH_ROWS, MAX_BATCH_ROWS))
            if request.cursor >= 2**63:  # a hub seq is a SQLite INTEGER
                raise ProtocolError(f"同步游标不合法：{request.cursor}")
            if request.replica_id:
                _check_replica(request.replica_id)
            cursor, total, peer = request.cursor, 0, None
            try:
                while True:
                    peer, batch, reply = await self.run(self._pull_batch, station, serial, request.replica_id,
                                                        cursor, limit)
                    await _write(context, reply, self.limits.write_timeout_s)
                    total += len(batch.rows)
                    cursor = batch.cursor
                    if not batch.more:
                        break
            finally:
                if peer is not None:
                    await self.run(self._record_pull, peer.station, total, request.cursor, cursor,
                                   request.replica_id)

    def _pull_batch(self, station: str, serial: str, replica_id: str, cursor: int, limit: int):
        peer = self._peer(station, serial, "Pull")  # per batch, like a push
        if replica_id:
            self.hub.bind_replica(replica_id, peer.station)
        batch = self.hub.changes_since(cursor, peer.scope, station=peer.station, replica_id=replica_id,
                                       limit=limit)  # and sync.engine.limits.MAX_PULL_BATCH_BYTES
        if replica_id and not batch.more:  # pulled to the end from this epoch: no more re-offers
            with _unless_disk_fault("end of pull"):  # else a later session may re-offer again: harmless
                self.hub.synced_in_full(replica_id)
        reply = pb.PullResponse(rows=[codec.row_to_pb(r) for r in batch.rows],
                                evictions=codec.evictions_to_pb(batch.evictions), cursor=batch.cursor,
                                more=batch.more)
        return peer, batch, reply

    def _record_pull(self, station: str, rows: int, from_cursor: int, to_cursor: int, replica_id: str = "") -> None:
        with _unless_disk_fault("pull"), self.hub.transaction(durable=False):
            self.registry.record_pull(station, rows, from_cursor=from_cursor, to_cursor=to_cursor)
            # what the station had applied when it asked: a prune waits for it (sync.store.retention)
            Retention(self.hub).note_pulled(replica_id, from_cursor)

    @guarded
    async def Verify(self, context):
        """Scope checksums: the digests of every bucket of the station's scope, or
        the rows of some of its buckets, in pages (PROTOCOL.md "Verify")."""
        station, serial = self._identity(context)
        with self.slots.take(station):
            request = await _read_one(context, self.limits.request_timeout_s)
            if len(request.fetch) > digest.MAX_FETCH_BUCKETS:
                raise ProtocolError(f"一次最多核对 {digest.MAX_FETCH_BUCKETS} 个分组，收到 {len(request.fetch)} 个")
            fetch = [(b.table, b.area) for b in request.fetch]
            if not fetch:
                for reply in await self.run(self._verify_digests, station, serial):
                    await _write(context, reply, self.limits.write_timeout_s)
                return
            limit = max(1, min(request.batch_rows or DEFAULT_BATCH_ROWS, MAX_BATCH_ROWS))
            start, total, peer = (0, 0), 0, None
            try:
                while start is not None:
                    peer, start, reply = await self.run(self._verify_rows, station, serial, fetch, start, limit)
                    await _write(context, reply, self.limits.write_timeout_s)
                    total += len(reply.rows)
            finally:
                if peer is not None and total:
                    await self.run(self._audit_verify, peer.station, total, len(fetch))

    def _verify_digests(self, station: str, serial: str) -> list[pb.VerifyResponse]:
        peer = self._peer(station, serial, "Verify")
        buckets, seq = digest.hub_digests(self.hub, peer.scope, peer.station)
        items = [pb.Bucket(table=t, area=a, rows=n, digest=d) for (t, a), (n, d) in buckets.items()]
        step = digest.DIGESTS_PER_RESPONSE
        chunks = [items[i : i + step] for i in range(0, len(items), step)] or [[]]
        return [pb.VerifyResponse(scope=peer.scope, seq=seq, buckets=chunk, more=i < len(chunks) - 1)
                for i, chunk in enumerate(chunks)]

    def _verify_rows(self, station: str, serial: str, fetch: list[tuple[str, str]], start: tuple[int, int],
                     limit: int):
        peer = self._peer(station, serial, "Verify")  # per page, like a pull batch
        for table, area in fetch:
            if table not in TABLES:
                raise ProtocolError(f"未知的数据表：{table[:40]!r}")
            if not (area.isdigit() and len(area) in AREA_LENGTHS):
                raise ProtocolError(f"区划代码不合法：{area[:40]!r}")
            if not in_scope(area, peer.scope):  # one wording: says nothing of the area asked about
                raise Forbidden(f"只能核对本站范围 {peer.scope} 内的数据")
        rows, start, seq = digest.hub_bucket_rows(self.hub, peer.scope, peer.station, fetch, start=start, limit=limit,
                                                  max_bytes=MAX_PULL_BATCH_BYTES)
        reply = pb.VerifyResponse(scope=peer.scope, seq=seq, rows=[codec.row_to_pb(r) for r in rows],
                                  more=start is not None)
        return peer, start, reply

    def _audit_verify(self, station: str, rows: int, buckets: int) -> None:
        with self.hub.transaction(durable=False):  # rows of personal data were read, like a pull
            self.registry.audit("verify_rows", station, rows=rows, buckets=buckets)

    @guarded
    async def Renew(self, context):
        """A certificate for a new key of the presenting station (PROTOCOL.md "Certificates")."""
        station, serial = self._identity(context)
        presented = context.auth_context()["x509_pem_cert"][0]
        with self.slots.take(station):
            request = await _read_one(context, self.limits.request_timeout_s)
            return await self.run(self._renew, station, serial, presented, request)

    def _renew(self, station: str, serial: str, presented: bytes, request) -> pb.RenewResponse:
        if self.ca is None:
            raise HubError("县中心未加载 CA，不能续期证书")
        if len(request.csr) > MAX_CSR_BYTES:
            raise ProtocolError(f"证书请求过大（{len(request.csr)} 字节，最多 {MAX_CSR_BYTES}）")
        with self.hub.lock:
            self._peer(station, serial, "Renew")
            try:
                renewal = self.registry.renew(station, serial, public_key_id(presented), request.csr, self.ca)
            except CSRError as exc:
                self._audit_renew_refusal(station, serial, str(exc))
                raise ProtocolError(f"证书请求无效：{exc}") from None
            except RenewRefused as exc:
                self._audit_renew_refusal(station, serial, str(exc))
                raise
        return pb.RenewResponse(certificate=renewal.cert_pem, ca_certificate=self.ca.cert_pem,
                                not_after=renewal.not_after)

    def _audit_renew_refusal(self, station: str, serial: str, reason: str) -> None:
        """A refused renewal, audited at most once a minute per station (a flood is one line a minute)."""
        now = time.monotonic()
        key = f"renew:{station}"
        if now - self._refusals_audited.get(key, -60.0) < 60.0:
            return
        self._refusals_audited[key] = now
        with self.hub.transaction(durable=False):
            self.registry.audit("renew_refused", station, serial=serial, reason=reason[:200])


class EnrollmentService(_Port):
    def __init__(self, hub: HubStore, registry: Registry, ca: CA, pool: Executor, limits: Limits = Limits()):
        super().__init__(hub, registry, pool, limits)
        self.ca = ca
        self.slots = Slots(limits.enroll_calls_per_address)
        self.failures = FailureWindow(limits.enroll_failures_per_minute)

    @guarded
    async def Enroll(self, context):
        address = _address(context.peer())
        if self.failures.blocked(address):
            raise TooMany("登记失败次数过多，请一分钟后再试")
        try:
            with self.slots.take(address):
                request = await _read_one(context, self.limits.request_timeout_s)
                return await self.run(self._enroll, request)
        except Busy:
            raise TooMany("来自同一地址的登记请求过多，请稍后再试") from None
        except VetsyncError as exc:
            self.failures.failed(address)
            await self.run(self._audit_failure, address, exc)
            raise

    def _enroll(self, request) -> pb.EnrollResponse:
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

    def _audit_failure(self, address: str, exc: VetsyncError) -> None:
        with self.hub.transaction(durable=False):
            self.registry.audit("enroll_failed", None, address=address, reason=str(exc)[:200])


class WrongPort:
    """The Sync service as the enrollment port answers it: a pointer to the right port."""

    limits = Limits()

    @guarded
    async def refuse(self, context):
        raise Unauthenticated("需要站点证书（请通过同步端口的双向 TLS 连接）")


def _address(peer: str) -> str:
    """The network address of a gRPC peer string (``ipv4:1.2.3.4:5``, ``ipv6:[::1]:5``), without its port."""
    kind, _, rest = peer.partition(":")
    if kind in ("ipv4", "ipv6"):
        return rest.rpartition(":")[0].strip("[]")
    return peer


def _streaming(fn, request, response, *, replies_stream: bool):
    make = grpc.stream_stream_rpc_method_handler if replies_stream else grpc.stream_unary_rpc_method_handler
    return make(fn, request_deserializer=_tolerant(request), response_serializer=response.SerializeToString)


def sync_handlers(sync: SyncService) -> grpc.GenericRpcHandler:
    return grpc.method_handlers_generic_handler("vetsync.v1.Sync", {
        "Handshake": _streaming(sync.Handshake, pb.HandshakeRequest, pb.HandshakeResponse, replies_stream=False),
        "Push": _streaming(sync.Push, pb.PushRequest, pb.PushResponse, replies_stream=True),
        "Pull": _streaming(sync.Pull, pb.PullRequest, pb.PullResponse, replies_stream=True),
        "Verify": _streaming(sync.Verify, pb.VerifyRequest, pb.VerifyResponse, replies_stream=True),
        "Renew": _streaming(sync.Renew, pb.RenewRequest, pb.RenewResponse, replies_stream=False),
    })


def enrollment_handlers(enrollment: EnrollmentService) -> list[grpc.GenericRpcHandler]:
    wrong = WrongPort()
    return [
        grpc.method_handlers_generic_handler("vetsync.v1.Enrollment", {
            "Enroll": _streaming(enrollment.Enroll, pb.EnrollRequest, pb.EnrollResponse, replies_stream=False),
        }),
        grpc.method_handlers_generic_handler("vetsync.v1.Sync", {
            "Handshake": _streaming(wrong.refuse, pb.HandshakeRequest, pb.HandshakeResponse, replies_stream=False),
            "Push": _streaming(wrong.refuse, pb.PushRequest, pb.PushResponse, replies_stream=True),
            "Pull": _streaming(wrong.refuse, pb.PullRequest, pb.PullResponse, replies_stream=True),
            "Verify": _streaming(wrong.refuse, pb.VerifyRequest, pb.VerifyResponse, replies_stream=True),
            "Renew": _streaming(wrong.refuse, pb.RenewRequest, pb.RenewResponse, replies_stream=False),
        }),
    ]


def _check_replica(replica_id: str) -> None:
    if len(replica_id) != 16 or any(c not in "0123456789abcdef" for c in replica_id):
        raise ProtocolError("replica_id 应为 16 位十六进制")

