"""The state of one replicated row, as it travels between stores.

A ``RowState`` holds the row's field values and, per field, the HLC version
that wrote it (``clock``) and — on a push only — the ``base`` the writer had
when it edited the field (the version it last got from the hub, or its own
earlier write). ``deleted`` and ``area`` are fields like any other.

Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["RowState", "Eviction"]


@dataclass(slots=True)
class RowState:
    table: str
    id: str
    values: dict[str, Any]
    clock: dict[str, str]
    base: dict[str, str] = field(default_factory=dict)
    seq: int = 0  # the store's change sequence of this row when it was read (0: not stored)

    @property
    def area(self) -> str:
        return self.values.get("area") or ""

    @property
    def deleted(self) -> bool:
        return bool(self.values.get("deleted"))

    def version(self, name: str) -> str:
        return self.clock.get(name, "")

    def pending_fields(self) -> list[str]:
        """Fields carrying a base: the ones the pusher wrote (a push's payload)."""
        return list(self.base)


@dataclass(frozen=True, slots=True)
class Eviction:
    """A row that left the puller's scope: drop it (and nothing else)."""

    table: str
    id: str


@dataclass
class PullBatch:
    """One answer to a pull: rows in scope above the cursor, evictions of rows
    that left the scope, the new cursor, and whether more remain."""

    rows: list[RowState]
    evictions: list[Eviction]
    cursor: int
    more: bool
