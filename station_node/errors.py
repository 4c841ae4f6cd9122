"""Errors of the station's network side.

The tree::

    sync.engine.errors.VetsyncError
    └── StationNetError                       ``retryable`` says whether a later try may succeed
        ├── HubUnreachable (retryable)        UNAVAILABLE / connection cut; DEADLINE_EXCEEDED: connected and
        │                                     no answer in time (a hung hub), never a certificate verdict
        ├── HubBusy (retryable)               the hub answered "later": RESOURCE_EXHAUSTED (its disk is full,
        │                                     too many calls) or UNAVAILABLE with a reason of its own (a disk
        │                                     I/O error, this station's calls at their limit); or it failed
        │                                     (INTERNAL, UNKNOWN, ABORTED): a later try may succeed
        ├── CertificateRejected               the TLS handshake failed: expired, revoked or unknown certificate
        ├── NotEnrolled                       no certificate in the station home: run init with a token
        ├── HubRefused                        the hub answered with a permanent status (UNAUTHENTICATED,
        │   │                                 PERMISSION_DENIED, INVALID_ARGUMENT, FAILED_PRECONDITION …)
        │   └── CertificateRevoked            UNAUTHENTICATED for the certificate itself: ``reason`` (revoked,
        │                                     superseded, reenrolled, expired, unknown) from the hub's trailing
        │                                     metadata; the session records it for ``status``
        └── EnrollmentFailed                  the hub's certificate does not match the token's fingerprint, …

gRPC errors are translated here, at the boundary (``from_rpc_error``); nothing
above this module sees ``grpc.RpcError``, and no message of gRPC's own (English)
reaches the clerk: the hub's own words (Chinese) are shown, gRPC's are said in Chinese. A retryable error is retried by the
session a few times with exponential backoff (``station_node.session``) and
then by the daemon at ever longer intervals; it never stops the daemon, and
nothing local is lost meanwhile (what the hub refused stays pending).
"""

from __future__ import annotations

import grpc

from sync.engine.errors import VetsyncError

__all__ = ["StationNetError", "HubUnreachable", "HubBusy", "CertificateRejected", "NotEnrolled", "HubRefused",
           "CertificateRevoked", "EnrollmentFailed", "from_rpc_error", "REENROLL_HINT"]

#: what to do when the hub no longer takes this station's certificate
REENROLL_HINT = "请向县中心申请新的登记令牌，运行 station-node init --reenroll --token 令牌；本站数据与未上传的修改都会保留"
#: the trailing metadata that carries why the hub refused a certificate (county_hub.service)
CERTIFICATE_METADATA = "vetsync-certificate"


class StationNetError(VetsyncError):
    retryable = False


class HubUnreachable(StationNetError):
    retryable = True


class HubBusy(StationNetError):
    """The hub is there and says "not now" (``code``: the gRPC status name)."""

    retryable = True

    def __init__(self, message: str, *, code: str = "", hint: str | None = None):
        super().__init__(message, hint=hint)
        self.code = code


class CertificateRejected(StationNetError):
    pass


class NotEnrolled(StationNetError):
    pass


class HubRefused(StationNetError):
    def __init__(self, message: str, *, code: str = "", hint: str | None = None):
        super().__init__(message, hint=hint)
        self.code = code


class CertificateRevoked(HubRefused):
    """The hub does not take this certificate any more (``reason``); not worth a retry."""

    def __init__(self, message: str, *, reason: str, code: str = "UNAUTHENTICATED", hint: str | None = None):
        super().__init__(message, code=code, hint=hint)
        self.reason = reason


class EnrollmentFailed(StationNetError):
    pass


_TLS_WORDS = ("handshake", "ssl", "tls", "certificate", "cert")
_LATER_HINT = "本站数据完好，未上传的修改仍保留"


def _from_hub(details: str) -> bool:
    """The hub's own words (Chinese), not gRPC's (English): the hub answered the call."""
    return any("\u4e00" <= c <= "\u9fff" for c in details)


def from_rpc_error(exc: grpc.RpcError, target: str) -> StationNetError:
    code = exc.code() if hasattr(exc, "code") else None
    details = (exc.details() if hasattr(exc, "details") else "") or ""
    # RESOURCE_EXHAUSTED is "later" (a full disk, too many calls), except gRPC's own for a message over the
    # size bound: the same message would be refused again.
    if ((code == grpc.StatusCode.RESOURCE_EXHAUSTED and "larger than max" not in details)
            or (code == grpc.StatusCode.UNAVAILABLE and _from_hub(details))):
        said = details if _from_hub(details) else "县中心繁忙，同时处理的请求已达上限"
        return HubBusy(f"县中心暂时无法处理（{code.name}）：{said}", code=code.name, hint=_LATER_HINT)
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        # Connected (or connecting) and no answer in time: a hub that hangs, a link that drops everything,
        # a TLS handshake never finished. Not a verdict on the certificate: a refused one is refused at once.
        return HubUnreachable(f"县中心 {target} 无响应（在时限内没有应答）",
                              hint="县中心可能正忙或网络时断时续；本地数据完好，稍后自动重试")
    if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED):
        debug = (getattr(exc, "debug_error_string", lambda: "")() or "").lower()
        words = (details + " " + debug).lower()
        if (any(w in words for w in _TLS_WORDS) and "connection refused" not in words
                and not any(w in words for w in _TIMEOUT_WORDS)):
            return CertificateRejected(
                f"与县中心 {target} 的加密握手失败：本站证书不被接受（可能已过期、已吊销或不是本县签发）",
                hint=REENROLL_HINT,
            )
        return HubUnreachable(f"连不上县中心 {target}（{network_cause(words)}）", hint="本地数据完好，网络恢复后再同步")
    name = code.name if code else "UNKNOWN"
    said = details if _from_hub(details) else _GRPC_SAYS.get(name, "县中心返回了无法识别的错误")
    if code == grpc.StatusCode.UNAUTHENTICATED and (reason := _certificate_reason(exc)):
        return CertificateRevoked(f"县中心拒绝了请求（{name}）：{said}", reason=reason, hint=REENROLL_HINT)
    if name in _LATER_CODES:  # the hub failed, not the request: worth another try later
        return HubBusy(f"县中心出错（{name}）：{said}", code=name, hint=_LATER_HINT)
    return HubRefused(f"县中心拒绝了请求（{name}）：{said}", code=name)


def _certificate_reason(exc: grpc.RpcError) -> str | None:
    try:
        trailer = exc.trailing_metadata() or ()
    except Exception:  # noqa: BLE001 - not a call's error (no metadata)
        return None
    for key, value in trailer:
        if key == CERTIFICATE_METADATA:
            return str(value)[:20]
    return None


_TIMEOUT_WORDS = ("timeout", "timed out", "deadline")
#: gRPC's own words (English) as a clerk reads them; the hub's own (Chinese) are shown as they are
_NETWORK_CAUSES = (
    (("connection refused",), "对方拒绝连接：县中心服务可能未启动，或端口不对"),
    (("dns", "name resolution", "resolve", "unknown host", "no address", "not known"), "找不到这个地址：请核对县中心地址"),
    (("network is unreachable", "no route"), "网络不通：请检查本机网络"),
    (("timeout", "timed out", "deadline"), "连接超时：网络不通或县中心无响应"),
    (("reset", "socket closed", "broken pipe", "eof", "closed"), "连接被中断"),
)
_GRPC_SAYS = {
    "INVALID_ARGUMENT": "请求内容不合规", "RESOURCE_EXHAUSTED": "数据超过大小上限",
    "UNIMPLEMENTED": "县中心不支持这个请求，可能版本不一致，请升级 vetsync",
    "PERMISSION_DENIED": "无权进行此操作", "UNAUTHENTICATED": "身份验证失败",
    "INTERNAL": "县中心内部错误", "UNKNOWN": "县中心内部错误", "DATA_LOSS": "县中心数据出错",
}
_LATER_CODES = frozenset({"INTERNAL", "UNKNOWN", "ABORTED"})


def network_cause(words: str) -> str:
    """gRPC's or the OS's words for a failed connection (lower case), said in Chinese."""
    for keys, said in _NETWORK_CAUSES:
        if any(k in words for k in keys):
            return said
    return "网络不通或县中心未运行"
