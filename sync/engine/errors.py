"""Errors of the sync engine.

The tree::

    VetsyncError                 base; ``hint`` is a one-line Chinese message for the clerk
    ├── ValidationError          bad input (ID number, area code, date, enum value, field name)
    │   └── ScopeError           an area outside this station's scope
    ├── NotFound                 no such record
    ├── StoreError               the local database cannot be used (missing, wrong schema)
    └── ProtocolError            a peer sent something the engine cannot accept (permanent)
        ├── ClockSkew            versions too far ahead of the hub's clock (fix the PC's date)
        └── Forbidden            a peer asked for what its identity does not allow (another
                                 station's replica id, a whole batch it may not push)

Every error is permanent for the engine: retrying the same call gives the same
answer. Transient failures (network) belong to the transport layers, which
keep their own errors modules.
"""

from __future__ import annotations

__all__ = [
    "VetsyncError",
    "ValidationError",
    "ScopeError",
    "NotFound",
    "StoreError",
    "ProtocolError",
    "ClockSkew",
    "Forbidden",
]


class VetsyncError(Exception):
    """Base of our errors. ``str(err)`` is the one-line message shown to the clerk."""

    retryable = False

    def __init__(self, message: str, *, hint: str | None = None):
        super().__init__(message)
        self.hint = hint

    def __str__(self) -> str:  # one line, hint appended when present
        msg = super().__str__()
        return f"{msg}（{self.hint}）" if self.hint else msg


class ValidationError(VetsyncError, ValueError):
    """Input that breaks a domain rule. The message names the field and the value."""


class ScopeError(ValidationError):
    """An area code outside the scope this station may see or write."""


class NotFound(VetsyncError, LookupError):
    """No such record."""


class StoreError(VetsyncError):
    """The database cannot be used as asked (missing home, unknown schema version)."""


class ProtocolError(VetsyncError):
    """A peer's message breaks the protocol; permanent, never retried."""


class ClockSkew(ProtocolError):
    """The station's clock is too far ahead of the hub's; the message names the skew."""


class Forbidden(ProtocolError):
    """The peer is known but may not do this (the transport answers PERMISSION_DENIED).
    Its message names nothing outside the peer's own scope."""
