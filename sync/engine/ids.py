"""Record ids: UUIDv7, sortable by creation time, unique without coordination."""

from __future__ import annotations

import os
import threading
import time
import uuid

__all__ = ["new_id"]

_id_lock = threading.Lock()
_last_stamp = 0  # (unix_ms << 12) | sub-millisecond fraction of the last id


def new_id() -> str:
    """A new UUIDv7 (RFC 9562) string; strictly increasing within this process.

    48 bits of Unix milliseconds, then 12 bits of sub-millisecond time
    (bumped when the clock stalls or steps back, so ids never go backwards
    here), then 62 random bits.
    """
    global _last_stamp
    ns = time.time_ns()
    stamp = ((ns // 1_000_000) << 12) | ((ns % 1_000_000) * 4096 // 1_000_000)
    with _id_lock:
        stamp = max(stamp, _last_stamp + 1)
        _last_stamp = stamp
    rand_b = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    unix_ms, rand_a = stamp >> 12, stamp & 0xFFF
    value = (
        (unix_ms & ((1 << 48) - 1)) << 80
        | 0x7 << 76
        | rand_a << 64
        | 0b10 << 62
        | rand_b
    )
    return str(uuid.UUID(int=value))
