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
        │                                     PERMISSION_DENIED, INVALID_ARGUMENT, FAILED_PRECONDITION …)
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
           "EnrollmentFailed", "from_rpc_error"]


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
                hint="请联系县中心重新发放登记令牌",
            )
        return HubUnreachable(f"连不上县中心 {target}（{_short(details)}）", hint="本地数据完好，网络恢复后再同步")
    name = code.name if code else "UNKNOWN"
    return HubRefused(f"县中心拒绝了请求（{name}）：{details}", code=name)


def _short(details: str) -> str:
    details = details.strip().splitlines()[0] if details.strip() else "无响应"
    return details[:120]
