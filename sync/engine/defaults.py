"""The sync's numbers that more than one layer needs, in one place.

Pure constants. The engine, the hub's servicer, the station's client, session,
daemon and command line all take their defaults and bounds from here, so a
change is made once.
"""

from __future__ import annotations

__all__ = ["DEFAULT_BATCH_ROWS", "MAX_BATCH_ROWS", "SYNC_ATTEMPTS", "MAX_SYNC_ATTEMPTS", "DAEMON_INTERVAL_S",
           "DAEMON_MAX_BACKOFF_S"]

# Rows per push or pull batch. With several batches in flight, smaller batches
# keep the station and the hub busy at once; 500-1,000 pushed a county fastest
# (bench: ~37k rows/s at 1,000 against ~34k at 2,000 and ~30k at 4,000).
DEFAULT_BATCH_ROWS = 1000
# The most rows the hub takes in one push batch or sends in one pull batch.
MAX_BATCH_ROWS = 5000

# How many times `station-node sync` tries a session while the hub is unreachable,
# and the most a clerk may ask for.
SYNC_ATTEMPTS = 4
MAX_SYNC_ATTEMPTS = 20

# `station-node daemon`: seconds between syncs, and the longest wait while the hub is unreachable.
DAEMON_INTERVAL_S = 300.0
DAEMON_MAX_BACKOFF_S = 600.0
