"""Per-peer bounds the servicers apply before they read a request: how many
calls one peer may have in flight, and how often one address may fail to
enroll. Used from the server's event loop only (no locks)."""

from __future__ import annotations

import time
from collections import deque
from contextlib import contextmanager
from typing import Callable, Iterator

__all__ = ["Slots", "FailureWindow", "Busy"]


class Busy(Exception):
    """This peer already holds all the calls it may."""


class Slots:
    """At most ``per_key`` calls in flight per key (a station code, an address)."""

    def __init__(self, per_key: int):
        self.per_key = per_key
        self._held: dict[str, int] = {}

    def held(self, key: str) -> int:
        return self._held.get(key, 0)

    @contextmanager
    def take(self, key: str) -> Iterator[None]:
        if self._held.get(key, 0) >= self.per_key:
            raise Busy(key)
        self._held[key] = self._held.get(key, 0) + 1
        try:
            yield
        finally:
            left = self._held[key] - 1
            if left:
                self._held[key] = left
            else:
                del self._held[key]


class FailureWindow:
    """Failures per key over the last ``window_s`` seconds; ``blocked`` once
    ``limit`` of them fall inside the window. Keys whose failures have all
    aged out are forgotten, so a flood of addresses cannot grow it for long."""

    def __init__(self, limit: int, window_s: float = 60.0, *, clock: Callable[[], float] = time.monotonic):
        self.limit, self.window_s, self.clock = limit, window_s, clock
        self._at: dict[str, deque[float]] = {}

    def _recent(self, key: str) -> deque[float]:
        now = self.clock()
        times = self._at.get(key)
        if times is None:
            return deque()
        while times and times[0] <= now - self.window_s:
            times.popleft()
        if not times:
            del self._at[key]
        return times

    def blocked(self, key: str) -> bool:
        return len(self._recent(key)) >= self.limit

    def failed(self, key: str) -> None:
        self._recent(key)
        self._at.setdefault(key, deque()).append(self.clock())
        if len(self._at) > 10_000:  # forget the stalest keys first
            for stale in sorted(self._at, key=lambda k: self._at[k][-1])[:5_000]:
                del self._at[stale]
