"""How much the hub gives any one peer: sizes, concurrency, time.

Every station may turn hostile and anyone on the county network can reach the
enrollment port (DESIGN §5), so each of the hub's two ports has its own server,
its own small thread pool for store work, a cap on calls in flight, a cap per
peer, and a time limit on every wait a peer can cause: the hub never waits for
a peer on a thread, and never for long. ``proto/PROTOCOL.md`` lists these
values; ``county-hub serve`` can shorten the waits (tests do).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Limits", "MAX_MESSAGE_BYTES", "MAX_ENROLL_MESSAGE_BYTES"]

# A push batch of 1,000 rows is ~0.5 MB; the station decodes up to 32 MiB.
MAX_MESSAGE_BYTES = 32 * 1024 * 1024
# A CSR and a token are a few KiB.
MAX_ENROLL_MESSAGE_BYTES = 64 * 1024


@dataclass(frozen=True)
class Limits:
    # --- the sync port (mutual TLS) -------------------------------------------
    #: calls in flight on the sync port, all stations together (beyond: RESOURCE_EXHAUSTED)
    sync_calls: int = 512
    #: calls in flight from one station (a session makes one at a time; beyond: UNAVAILABLE, retried later)
    calls_per_station: int = 4
    #: threads doing store work for the sync port
    sync_workers: int = 4
    #: seconds a peer has to send a call's request message (a unary call, a pull, a push's first batch)
    request_timeout_s: float = 20.0
    #: seconds a push stream may stay silent between batches
    idle_timeout_s: float = 60.0
    #: seconds a peer has to take one response (pull batch, push reply) off the wire
    write_timeout_s: float = 120.0
    #: seconds one push or pull may take in all
    call_deadline_s: float = 3600.0
    #: HTTP/2 streams one connection may hold open
    streams_per_connection: int = 8
    #: a connection with no call in flight is closed after this long
    connection_idle_ms: int = 5 * 60 * 1000
    #: every connection is closed after this long (its calls get ``connection_grace_ms`` to finish)
    connection_age_ms: int = 2 * 3600 * 1000
    connection_grace_ms: int = 10 * 60 * 1000

    # --- the enrollment port (server TLS, anyone may connect) -------------------
    #: Enroll calls in flight, all peers together
    enroll_calls: int = 64
    #: Enroll calls in flight from one network address
    enroll_calls_per_address: int = 8
    #: threads doing enrollment work (CSR checks, token look-ups)
    enroll_workers: int = 2
    #: failed enrollments one address may make per minute before it is refused without a look-up
    enroll_failures_per_minute: int = 20
    enroll_connection_age_ms: int = 60 * 1000
    enroll_connection_grace_ms: int = 10 * 1000
