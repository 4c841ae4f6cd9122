"""Errors of the county hub.

The tree::

    sync.engine.errors.VetsyncError
    └── HubError                  hub-side refusal; ``code`` is the gRPC status name to answer with
        ├── Unauthenticated       no usable client certificate, or a revoked one (UNAUTHENTICATED)
        ├── TokenError            enrollment token unknown, used, expired or for another station (UNAUTHENTICATED)
        ├── NotEnrolled           a station code with no enrollment (NOT_FOUND)
        └── HomeError             hub home missing or already initialised (FAILED_PRECONDITION)

Engine errors (``sync.engine.errors``) reach the servicer too and are mapped there:
ValidationError/ProtocolError → INVALID_ARGUMENT.
"""

from __future__ import annotations

from sync.engine.errors import VetsyncError

__all__ = ["HubError", "Unauthenticated", "TokenError", "NotEnrolled", "HomeError"]


class HubError(VetsyncError):
    code = "FAILED_PRECONDITION"


class Unauthenticated(HubError):
    code = "UNAUTHENTICATED"


class TokenError(HubError):
    code = "UNAUTHENTICATED"


class NotEnrolled(HubError):
    code = "NOT_FOUND"


class HomeError(HubError):
    code = "FAILED_PRECONDITION"
