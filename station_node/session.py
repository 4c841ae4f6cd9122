"""A sync session against the hub, with retries, and the station's status.

Retry lives here and only here: tenacity around one whole session
(exponential backoff with jitter, bounded), only for errors that say they are
worth retrying (hub unreachable, deadline exceeded, connection cut). A
rejected certificate, a refused request or bad data is permanent: it fails at
once with its message. Local data is never touched by a failed session beyond
what was durably acknowledged or applied.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Callable

import tenacity

from station_node import identity, verify
from station_node.client import GrpcHub
from station_node.errors import CertificateRejected, NotEnrolled
from station_node.verify import VerifyReport
from sync.engine.defaults import DEFAULT_BATCH_ROWS, SYNC_ATTEMPTS
from sync.engine.errors import VetsyncError
from sync.engine.replicate import SKEW_MS_META, Progress, SyncReport, sync_once
from sync.store.station import Store

__all__ = ["connect", "sync_with_retry", "station_status", "verify_session"]


def connect(home: Path, store: Store, *, timeout: float = 60.0, compression: bool = False) -> GrpcHub:
    target = store.meta("hub")
    if not target:
        raise NotEnrolled("本站是离线初始化的，没有县中心地址", hint="联网请用 station-node init --hub 主机:端口 --token 令牌 新建站点目录")
    try:
        info = identity.cert_info(home)
        key, cert, ca = identity.load_tls_material(home)
    except identity.IdentityError as exc:
        raise NotEnrolled(str(exc)) from None
    if info["days_left"] < 0:
        raise CertificateRejected(f"本站证书已于 {info['not_after'][:10]} 过期", hint="请联系县中心重新发放登记令牌")
    return GrpcHub(target, key=key, cert=cert, ca=ca, timeout=timeout, tls_files=identity.paths(home),
                   compression=compression)


def sync_with_retry(
    home: Path,
    store: Store,
    *,
    attempts: int = SYNC_ATTEMPTS,
    max_wait: float = 20.0,
    sleep: Callable[[float], None] = time.sleep,
    progress: Progress | None = None,
    on_retry: Callable[[Exception, float], None] | None = None,
    timeout: float = 60.0,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    compression: bool = False,
    verify_every: int | None = None,
    on_verify: Callable[[VerifyReport], None] | None = None,
) -> SyncReport:
    """A session, retried while the hub is unreachable; every ``verify_every``
    sessions (None: the store's ``verify_every``, else 20; 0: never) a verify
    follows on the same connection (``station_node.verify``), its result kept
    for ``status`` and handed to ``on_verify``; a failed verify fails no sync."""
    def before_sleep(state: tenacity.RetryCallState) -> None:
        if on_retry and state.outcome is not None:
            on_retry(state.outcome.exception(), state.next_action.sleep if state.next_action else 0)

    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception(lambda e: getattr(e, "retryable", False)),
        wait=tenacity.wait_random_exponential(multiplier=0.5, max=max_wait),
        stop=tenacity.stop_after_attempt(max(1, attempts)),
        sleep=sleep,
        reraise=True,
        before_sleep=before_sleep,
    )
    for attempt in retrying:
        with attempt:
            with connect(home, store, timeout=timeout, compression=compression) as hub:
                report = sync_once(store, hub, progress=progress, batch_rows=batch_rows)
                _verify_every_n(store, hub, verify_every, on_verify, batch_rows)
                return report
    raise AssertionError("unreachable")  # pragma: no cover


def _verify_every_n(store: Store, hub: GrpcHub, every: int | None, on_verify, batch_rows: int) -> None:
    """Count the session; at the n-th, verify (``sync.verify_every``) and start counting again."""
    every = verify.verify_every(store) if every is None else every
    count = int(store.meta(verify.VERIFY_COUNTER_META) or 0) + 1
    if every <= 0 or count < every:
        with store.transaction(durable=False):
            store.set_meta(verify.VERIFY_COUNTER_META, count)
        return
    try:
        result = verify.verify_once(store, hub, batch_rows=batch_rows)
    except VetsyncError as exc:  # the sync is done and kept; the verify is tried again in n sessions
        result = verify.record_failure(store, exc)
    if on_verify:
        on_verify(result)


def verify_session(home: Path, store: Store, *, repair: bool = False, timeout: float = 60.0,
                   batch_rows: int = DEFAULT_BATCH_ROWS) -> VerifyReport:
    """``station-node verify``: one verify (and repair) over a connection of its own, not retried."""
    with connect(home, store, timeout=timeout) as hub:
        return verify.verify_once(store, hub, repair=repair, batch_rows=batch_rows)


def _iso(ms: str | None) -> str | None:
    if not ms:
        return None
    return dt.datetime.fromtimestamp(int(ms) / 1000).astimezone().isoformat(timespec="seconds")


def station_status(home: Path, store: Store) -> dict:
    try:
        cert = identity.cert_info(home)
    except identity.IdentityError:
        cert = None
    skew_ms = store.meta(SKEW_MS_META)
    return {
        "station": store.meta("station"),
        "scope": store.meta("scope"),
        "hub": store.meta("hub"),
        "mode": store.meta("mode") or ("networked" if store.meta("hub") else "offline"),
        "last_sync": _iso(store.meta("last_sync_ms")),
        "pending": store.pending_count(),
        "rejected": store.rejected(),
        "clock_skew_ms": int(skew_ms) if skew_ms is not None else None,  # the JSON key is a contract
        "cursor": store.cursor,
        "certificate": cert,
        "last_verify": _last_verify(store),
    }


def _last_verify(store: Store) -> dict | None:
    last = verify.last_verify(store)
    return None if last is None else {**last, "at": _iso(str(last["at_ms"]))}
