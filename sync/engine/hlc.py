"""Hybrid logical clock.

A version is ``(wall_ms, counter, replica_id)``, totally ordered in that order
(wall time, then counter, then replica id). It is written as one fixed-width
string so that the string order *is* the version order, in Python and in SQL::

    0001732345678901-0000-3f9a0c1d2e4b5a69
    └─ wall_ms (16) ─┘ └ctr┘ └ replica (16 hex) ┘

The empty string is the version of a field never written; it sorts first.
This module is pure: no I/O beyond reading the wall clock (which is
injectable for tests).
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from typing import Callable

__all__ = ["HLC", "Version", "make_version", "parse_version", "replica_of", "wall_ms_of", "new_replica_id", "ZERO"]

ZERO = ""
_WALL_DIGITS = 16
_COUNTER_MAX = 9999
_REPLICA_LEN = 16


def new_replica_id() -> str:
    """A random replica id: 16 lower-case hex digits (64 bits)."""
    return os.urandom(8).hex()


def make_version(wall_ms: int, counter: int, replica_id: str) -> str:
    return f"{wall_ms:0{_WALL_DIGITS}d}-{counter:04d}-{replica_id}"


@dataclass(frozen=True, order=True)
class Version:
    wall_ms: int
    counter: int
    replica_id: str

    def __str__(self) -> str:
        return make_version(self.wall_ms, self.counter, self.replica_id)


def parse_version(text: str) -> Version:
    """Parse a version string; raises ValueError if it is not one."""
    wall, counter, replica = text.split("-")
    if len(wall) != _WALL_DIGITS or len(counter) != 4 or len(replica) != _REPLICA_LEN:
        raise ValueError(f"not a version: {text!r}")
    return Version(int(wall), int(counter), replica)


_VERSION_RE = re.compile(r"\d{16}-\d{4}-[0-9a-f]{16}")


def is_version(text: str) -> bool:
    """Is ``text`` a well-formed version string? (Hot: every pushed field.)"""
    return isinstance(text, str) and _VERSION_RE.fullmatch(text) is not None


def replica_of(version: str) -> str:
    """The replica id that wrote ``version`` ('' for the zero version)."""
    return version[_WALL_DIGITS + 6 :] if version else ""


def wall_ms_of(version: str) -> int:
    return int(version[:_WALL_DIGITS]) if version else 0


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class HLC:
    """The clock of one replica.

    ``tick()`` stamps a local write; ``observe(version)`` advances the clock
    past a version received from elsewhere, so that what this replica writes
    next is newer than anything it has seen.
    """

    def __init__(self, replica_id: str, *, last: str = ZERO, now_ms: Callable[[], int] = _now_ms):
        if len(replica_id) != _REPLICA_LEN:
            raise ValueError(f"replica id must be {_REPLICA_LEN} hex digits: {replica_id!r}")
        self.replica_id = replica_id
        self._now_ms = now_ms
        self._wall = wall_ms_of(last)
        self._counter = int(last[_WALL_DIGITS + 1 : _WALL_DIGITS + 5]) if last else 0

    @property
    def last(self) -> str:
        """The highest version this clock has issued or observed."""
        return make_version(self._wall, self._counter, self.replica_id) if self._wall else ZERO

    def tick(self) -> str:
        now = self._now_ms()
        if now > self._wall:
            self._wall, self._counter = now, 0
        elif self._counter < _COUNTER_MAX:
            self._counter += 1
        else:  # counter exhausted within one millisecond: borrow the next one
            self._wall, self._counter = self._wall + 1, 0
        return make_version(self._wall, self._counter, self.replica_id)

    def observe(self, version: str) -> None:
        if not version:
            return
        wall = wall_ms_of(version)
        counter = int(version[_WALL_DIGITS + 1 : _WALL_DIGITS + 5])
        if (wall, counter) > (self._wall, self._counter):
            self._wall, self._counter = wall, counter
