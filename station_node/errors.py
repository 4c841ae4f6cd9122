"""Errors of the station's network side.

The tree::

    sync.engine.errors.VetsyncError
    └── StationNetError                       ``retryable`` says whether a later try may succeed
        ├── HubUnreachable (retryable)        UNAVAILABLE / DEADLINE_EXCEEDED / connection cut
        ├── HubBusy (retryable)               the hub answered "later": RESOURCE_EXHAUSTED (its disk is full,
        │                                     too many calls) or UNAVAILABLE with a reason of its own (a disk
        │                                     I/O error, this station's calls at their limit)
        ├── CertificateRejected               the TLS handshake failed: expired, revoked or unknown certificate
        ├── NotEnrolled                       no certificate in the station home: run init with a token
        ├── HubRefused                        the hub answered with a permanent status (UNAUTHENTICATED,
        │   │                                 PERMISSION_DENIED, INVALID_ARGUMENT, FAILED_PRECONDITION …)
        │   └── CertificateRevoked            UNAUTHENTICATED for the certificate itself: ``reason`` (revoked,
        │                                     superseded, reenrolled, expired, unknown) from the hub's trailing
        │                                     metadata; the session records it for ``status``
        └── EnrollmentFailed                  the hub's certificate does not match the token's fingerprint, …

gRPC errors are translated here, at the boundary (``from_rpc_error``); nothing
above this module sees ``grpc.RpcError``. A retryable error is retried by the
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
        return HubBusy(f"县中心暂时无法处理（{code.name}）：{details or '资源不足'}", code=code.name, hint=_LATER_HINT)
    if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED):
        debug = (getattr(exc, "debug_error_string", lambda: "")() or "").lower()
        if any(w in (details + debug).lower() for w in _TLS_WORDS) and "connection refused" not in debug:
            return CertificateRejected(
                f"与县中心 {target} 的加密握手失败：本站证书不被接受（可能已过期、已吊销或不是本县签发）",
                hint=REENROLL_HINT,
            )
        return HubUnreachable(f"连不上县中心 {target}（{_short(details)}）", hint="本地数据完好，网络恢复后再同步")
    name = code.name if code else "UNKNOWN"
    if code == grpc.StatusCode.UNAUTHENTICATED and (reason := _certificate_reason(exc)):
        return CertificateRevoked(f"县中心拒绝了请求（{name}）：{details}", reason=reason, hint=REENROLL_HINT)
    return HubRefused(f"县中心拒绝了请求（{name}）：{details}", code=name)


def _certificate_reason(exc: grpc.RpcError) -> str | None:
    try:
        trailer = exc.trailing_metadata() or ()
    except Exception:  # noqa: BLE001 - not a call's error (no metadata)
        return None
    for key, value in trailer:
        if key == CERTIFICATE_METADATA:
            return str(value)[:20]
    return None


def _short(details: str) -> str:
    details = details.strip().splitlines()[0] if details.strip() else "无响应"
    return details[:120]
