"""Process set-up shared by the commands that sync (``county-hub serve``,
``station-node sync`` and ``daemon``)."""

from __future__ import annotations

import gc

__all__ = ["tune_gc"]


def tune_gc() -> None:
    """Garbage collection for a process that moves many rows: what is loaded
    at start is never collected again (``gc.freeze``), and the young
    generation is collected every 50,000 allocations instead of 700. A sync
    batch makes tens of thousands of short-lived dicts and no reference
    cycles; with the defaults the collector walked the whole heap several
    times per batch (py-spy and a ``gc.callbacks`` timer on the hub: ~2 µs
    of each pushed row; bench/README.md)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
