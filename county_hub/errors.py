"""Errors of the county hub.

The tree::

    sync.engine.errors.VetsyncError
    └── HubError                  hub-side refusal; ``code`` is the gRPC status name to answer with
        ├── Unauthenticated       no usable client certificate, or a revoked one (UNAUTHENTICATED)
        │   └── CertificateRefused  the certificate is revoked, superseded, expired or unknown to the hub;
        │                           ``reason`` travels to the station in the trailing metadata
        ├── TokenError            enrollment token unknown, used, expired or for another station (UNAUTHENTICATED)
        ├── NotEnrolled           a station code with no enrollment, a serial never issued (NOT_FOUND)
        ├── RenewRefused          a renewal the hub will not sign now (FAILED_PRECONDITION): too soon, key reused
        └── HomeError             hub home missing or already initialised (FAILED_PRECONDITION)

Engine errors (``sync.engine.errors``) reach the servicer too and are mapped there:
ValidationError/ProtocolError → INVALID_ARGUMENT.
"""

from __future__ import annotations

from sync.engine.errors import VetsyncError

__all__ = ["HubError", "Unauthenticated", "CertificateRefused", "TokenError", "NotEnrolled", "RenewRefused",
           "HomeError"]


class HubError(VetsyncError):
    code = "FAILED_PRECONDITION"


class Unauthenticated(HubError):
    code = "UNAUTHENTICATED"


class CertificateRefused(Unauthenticated):
    """``reason``: ``revoked``, ``superseded``, ``reenrolled``, ``expired`` or ``unknown`` (PROTOCOL.md
    "Certificates"); the servicer sends it as trailing metadata ``vetsync-certificate``."""

    def __init__(self, message: str, *, reason: str, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.reason = reason


class RenewRefused(HubError):
    code = "FAILED_PRECONDITION"


class TokenError(HubError):
    code = "UNAUTHENTICATED"


class NotEnrolled(HubError):
    code = "NOT_FOUND"


class HomeError(HubError):
    code = "FAILED_PRECONDITION"
