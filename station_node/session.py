"""A sync session against the hub, with retries, and the station's status.

Retry lives here and only here: tenacity around one whole session
(exponential backoff with jitter, bounded), only for errors that say they are
worth retrying (hub unreachable, deadline exceeded, connection cut). A
rejected certificate, a refused request or bad data is permanent: it fails at
once with its message. Local data is never touched by a failed session beyond
what was durably acknowledged or applied.

Certificates (PROTOCOL.md "Certificates"): a session whose certificate has
fewer than 30 days left renews it on the same connection after the sync
(``renew``: a new key made here, its CSR over mutual TLS, the new pair swapped
in atomically by ``station_node.identity``); a failed renewal fails no sync and
is tried again at the next. A call the hub refuses for the certificate itself
(revoked, superseded, unknown) is recorded (``_meta.cert_refused``) and
``status`` shows it until the station re-enrolls.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import tenacity

from station_node import identity, verify
from station_node.client import GrpcHub
from station_node.errors import REENROLL_HINT, CertificateRejected, CertificateRevoked, EnrollmentFailed, NotEnrolled
from station_node.verify import VerifyReport
from sync.engine.defaults import DEFAULT_BATCH_ROWS, SYNC_ATTEMPTS
from sync.engine.errors import VetsyncError
from sync.engine.replicate import SKEW_MS_META, Progress, SyncReport, sync_once
from sync.store.station import Store

__all__ = ["connect", "sync_with_retry", "station_status", "verify_session", "renew", "renew_session",
           "renewal_due", "RenewalReport", "RENEW_WITHIN_DAYS", "CERT_REFUSED_META", "clear_refusal"]

#: seconds without an answer from the hub before a call counts as unanswered (``sync --timeout``)
DEFAULT_TIMEOUT_S = 60.0

#: a certificate with fewer days than this left is renewed by the next sync (the hub's window too)
RENEW_WITHIN_DAYS = 30
#: the hub's last refusal of this station's certificate: JSON {serial, reason, at_ms}
CERT_REFUSED_META = "cert_refused"


def connect(home: Path, store: Store, *, timeout: float = DEFAULT_TIMEOUT_S, compression: bool = False) -> GrpcHub:
    target = store.meta("hub")
    if not target:
        raise NotEnrolled("本站是离线初始化的，没有县中心地址",
                          hint="联网请向县中心申请登记令牌，运行 station-node init --reenroll --hub 主机:端口 --token 令牌；"
                               "本站数据保留，下次同步上传")
    try:
        info = identity.cert_info(home)
        key, cert, ca = identity.load_tls_material(home)
    except identity.IdentityError as exc:
        raise NotEnrolled(str(exc)) from None
    if _seconds_left(info) < 0:
        raise CertificateRejected(f"本站证书已于 {info['not_after'][:10]} 过期", hint=REENROLL_HINT)
    return GrpcHub(target, key=key, cert=cert, ca=ca, timeout=timeout, tls_files=identity.paths(home),
                   compression=compression)


def _seconds_left(info: dict) -> float:
    return (dt.datetime.fromisoformat(info["not_after"]) - dt.datetime.now(dt.timezone.utc)).total_seconds()


# --------------------------------------------------------------------------- certificates


@dataclass
class RenewalReport:
    """A renewal: ``result`` ``renewed`` or ``failed`` (``error``: why; the next sync tries again).
    The ``renewal`` object of ``sync --json`` and the output of ``renew --json`` (a contract)."""

    result: str
    serial: str | None = None
    not_after: str | None = None
    previous_serial: str | None = None
    error: str | None = None
    confirmed: bool | None = None  # renew by hand: the hub took the new certificate on a new connection

    def to_dict(self) -> dict:
        return asdict(self)

    def line(self) -> str:
        """The one line a sync prints."""
        if self.result == "renewed":
            return f"证书已续期：新证书有效期至 {self.not_after[:10]}（序列号 {self.serial}）"
        return f"证书续期失败（下次同步时再试）：{self.error}"


def renewal_due(home: Path) -> bool:
    """Fewer than 30 days left on the certificate (and not expired: that needs a re-enrollment)."""
    try:
        left = _seconds_left(identity.cert_info(home))
    except identity.IdentityError:
        return False
    return 0 <= left < RENEW_WITHIN_DAYS * 86_400


def renew(home: Path, store: Store, hub: GrpcHub) -> RenewalReport:
    """Renew the station's certificate over ``hub``'s mutual-TLS channel: a CSR for a new key made here
    (or the key still pending from a renewal whose answer was lost), the certificate that comes back
    checked and swapped in atomically with its key. The channel keeps the old certificate; the next
    connection uses the new one."""
    info = identity.cert_info(home)
    station = info["station"] or store.meta("station")
    csr = identity.pending_csr(home, station)
    cert, ca, _not_after = hub.renew(csr)
    try:
        new = identity.install_pending(home, cert, ca, expected_ca_fp=info["ca_fingerprint"], expected_station=station)
    except identity.IdentityError as exc:
        identity.discard_pending(home)
        raise EnrollmentFailed(f"续期失败：县中心返回的证书不可用：{exc}") from None
    with store.transaction():
        store.set_meta("cert_renewed_ms", int(time.time() * 1000))
    return RenewalReport("renewed", serial=new["serial"], not_after=new["not_after"], previous_serial=info["serial"])


def _renew_if_due(home: Path, store: Store, hub: GrpcHub) -> RenewalReport | None:
    """After a sync: renew when due; a failure is reported, never raised (the sync is done and kept)."""
    if not renewal_due(home):
        return None
    try:
        return renew(home, store, hub)
    except CertificateRevoked as exc:
        note_refusal(home, store, exc)
        return RenewalReport("failed", error=str(exc))
    except (VetsyncError, identity.IdentityError, OSError) as exc:
        return RenewalReport("failed", error=str(exc))


def renew_session(home: Path, store: Store, *, timeout: float = DEFAULT_TIMEOUT_S) -> RenewalReport:
    """``station-node renew``: renew now, whatever is left, then make one call with the new certificate
    (the hub then retires the old ones). Errors are raised (one line for the clerk)."""
    try:
        with connect(home, store, timeout=timeout) as hub:
            report = renew(home, store, hub)
        with connect(home, store, timeout=timeout) as hub:
            hub.handshake(store.replica_id, int(time.time() * 1000))
        report.confirmed = True
    except CertificateRevoked as exc:
        note_refusal(home, store, exc)
        raise
    return report


def note_refusal(home: Path, store: Store, exc: CertificateRevoked) -> None:
    """Record that the hub refused the present certificate (``status`` shows it)."""
    try:
        serial = identity.cert_info(home)["serial"]
    except identity.IdentityError:
        serial = None
    with store.transaction():
        store.set_meta(CERT_REFUSED_META, json.dumps({"serial": serial, "reason": exc.reason,
                                                       "at_ms": int(time.time() * 1000)}))


def clear_refusal(store: Store) -> None:
    """The hub took the present certificate (a session went through, a re-enrollment): no refusal to show."""
    if store.meta(CERT_REFUSED_META):
        with store.transaction():
            store.set_meta(CERT_REFUSED_META, "")


def _refusal(home: Path, store: Store, serial: str | None) -> dict | None:
    """The recorded refusal of the certificate ``serial``, if any."""
    text = store.meta(CERT_REFUSED_META)
    if not text:
        return None
    try:
        mark = json.loads(text)
    except ValueError:
        return None
    return mark if mark.get("serial") == serial else None


def sync_with_retry(
    home: Path,
    store: Store,
    *,
    attempts: int = SYNC_ATTEMPTS,
    max_wait: float = 20.0,
    sleep: Callable[[float], None] = time.sleep,
    progress: Progress | None = None,
    on_retry: Callable[[Exception, float], None] | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    compression: bool = False,
    verify_every: int | None = None,
    on_verify: Callable[[VerifyReport], None] | None = None,
    on_renew: Callable[[RenewalReport], None] | None = None,
) -> SyncReport:
    """A session, retried while the hub is unreachable; every ``verify_every``
    sessions (None: the store's ``verify_every``, else 20; 0: never) a verify
    follows on the same connection (``station_node.verify``), its result kept
    for ``status`` and handed to ``on_verify``; a failed verify fails no sync.
    Then, when the certificate has fewer than 30 days left, a renewal on the same
    connection, handed to ``on_renew``; a failed renewal fails no sync either.
    A certificate the hub refuses is recorded for ``status``."""
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
    try:
        for attempt in retrying:
            with attempt:
                with connect(home, store, timeout=timeout, compression=compression) as hub:
                    report = sync_once(store, hub, progress=progress, batch_rows=batch_rows)
                    clear_refusal(store)
                    _verify_every_n(store, hub, verify_every, on_verify, batch_rows)
                    renewal = _renew_if_due(home, store, hub)
                    if renewal is not None and on_renew:
                        on_renew(renewal)
                    return report
    except CertificateRevoked as exc:
        note_refusal(home, store, exc)
        raise
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


def verify_session(home: Path, store: Store, *, repair: bool = False, timeout: float = DEFAULT_TIMEOUT_S,
                   batch_rows: int = DEFAULT_BATCH_ROWS) -> VerifyReport:
    """``station-node verify``: one verify (and repair) over a connection of its own, not retried."""
    try:
        with connect(home, store, timeout=timeout) as hub:
            return verify.verify_once(store, hub, repair=repair, batch_rows=batch_rows)
    except CertificateRevoked as exc:
        note_refusal(home, store, exc)
        raise


def _iso(ms: str | None) -> str | None:
    if not ms:
        return None
    return dt.datetime.fromtimestamp(int(ms) / 1000).astimezone().isoformat(timespec="seconds")


#: ``status``: the certificate's ``state``, by the reason the hub gave when it refused it
_REFUSED_STATE = {"revoked": "revoked", "superseded": "revoked", "reenrolled": "revoked", "expired": "expired",
                  "unknown": "unknown"}


def _certificate_status(home: Path, store: Store) -> dict | None:
    """``status``'s certificate: the file's facts, and ``state`` — ``valid``, ``expired``, ``revoked``
    (the hub refused it as revoked, superseded or replaced by a re-enrollment) or ``unknown`` (the hub
    has no record of it: restored from an older backup) — with ``refused`` (reason, at) when the hub
    refused it, and ``renew_due`` (fewer than 30 days left: the next sync renews it)."""
    try:
        cert = identity.cert_info(home)
    except identity.IdentityError:
        return None
    left = _seconds_left(cert)
    refused = _refusal(home, store, cert["serial"])
    state = "expired" if left < 0 else "valid"
    if refused:
        state = _REFUSED_STATE.get(refused.get("reason"), "revoked")
    return {**cert, "state": state,
            "refused": None if not refused else {"reason": refused.get("reason"), "at": _iso(str(refused.get("at_ms") or ""))},
            "renew_due": state == "valid" and left < RENEW_WITHIN_DAYS * 86_400}


def station_status(home: Path, store: Store) -> dict:
    cert = _certificate_status(home, store)
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
