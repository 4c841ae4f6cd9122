"""The hub's registry: enrolled stations and their certificates, one-time
enrollment tokens (stored hashed), revocations, per-station sync figures and
the audit log. Its tables live in the hub database beside the replicated ones
and are created by the registry's own numbered migrations; their SQL lives in
``sync.store.registry``, called here through ``RegistryTables``.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Callable

from county_hub import tokens
from county_hub.ca import CA, sign_station_csr
from county_hub.errors import NotEnrolled, TokenError
from veterans.values import validate_area
from sync.engine.errors import ValidationError
from sync.store.hub import HubStore
from sync.store.registry import RegistryTables

__all__ = ["Registry"]

def _now_ms() -> int:
    return int(time.time() * 1000)


class Registry:
    """``clock``: seconds since the epoch, as ``time.time`` (the default); the
    tokens' creation and expiry go by it, so tests can age a token without sleeping."""

    def __init__(self, store: HubStore, *, clock: Callable[[], float] = time.time):
        self.store = store
        self.conn = store.conn
        self.tables = RegistryTables(store)
        self.clock = clock
        self._migrate()

    def _clock_ms(self) -> int:
        return int(self.clock() * 1000)

    def _migrate(self) -> None:
        self.tables.migrate()

    # -- audit ---------------------------------------------------------------

    def audit(self, kind: str, station: str | None, /, **detail) -> None:
        self.tables.audit(_now_ms(), kind, station, detail)

    def audit_log(self, since_ms: int = 0) -> list[dict]:
        return [
            {"at_ms": r.at_ms, "kind": r.kind, "station": r.station, "detail": r.detail}
            for r in self.tables.audit_since(since_ms)
        ]

    # -- tokens and enrollment ------------------------------------------------

    def create_token(self, station: str, ca: CA, *, ttl_hours: float = 72, county_scope: bool = False) -> str:
        """A one-time enrollment token for ``station``, a town (9 digits) or
        village (12 digits) of this county. The county code itself (a station
        of the county office, which then sees the whole county) only with
        ``county_scope``, so that nobody hands out county-wide access by a
        typo; ``county_scope`` with any other code is refused too."""
        county = self.store.meta("county") or ""
        station = validate_area(station, scope=county)
        if county_scope and station != county:
            raise ValidationError(f"--county-scope 只能用于本县代码 {county}，站点 {station} 不是县级站点")
        if len(station) == 6 and not county_scope:
            raise ValidationError(
                f"站点代码 {station} 是县级代码，站点代码应为镇（9 位）或村（12 位）",
                hint="如确需为县中心本级站点发放令牌，请加 --county-scope",
            )
        if ttl_hours <= 0 or ttl_hours > 24 * 30:
            raise ValidationError(f"有效期 {ttl_hours} 小时不合理（应在 0 到 720 小时之间）")
        text, secret_hash = tokens.make_token(station, ca.fingerprint)
        now = self._clock_ms()
        with self.store.transaction():
            self.tables.insert_token(secret_hash, station, now, now + int(ttl_hours * 3600_000))
            self.audit("token", station, expires_ms=now + int(ttl_hours * 3600_000))
        return text

    def enroll(self, token_text: str, csr_pem: bytes, ca: CA) -> tuple[bytes, str]:
        """Redeem a one-time token: sign the CSR for the token's station.
        Returns (certificate PEM, station code)."""
        try:
            token = tokens.parse_token(token_text)
        except tokens.TokenFormatError as exc:
            raise TokenError(str(exc)) from None
        if token.ca_fingerprint != ca.fingerprint:
            raise TokenError("令牌不是本县中心签发的（CA 指纹不符）")
        with self.store.transaction():
            row = self.tables.token(tokens.hash_secret(token.secret))
            if row is None or row.station != token.station:
                raise TokenError("令牌无效")
            if row.used_ms is not None:
                raise TokenError("令牌已使用过，请向县中心重新申请")
            now = self._clock_ms()
            if row.expires_ms < now:
                raise TokenError("令牌已过期，请向县中心重新申请")
            cert_pem, serial, not_after = sign_station_csr(ca, csr_pem, token.station)
            self.tables.mark_token_used(tokens.hash_secret(token.secret), now)
            # Re-enrollment (a reinstalled PC, a lost key): the station's older certificates stop working now.
            replaced = self.tables.revoke_certs_of(token.station, now)
            self.tables.record_cert(f"{serial:x}", token.station, now, not_after.isoformat())
            self.tables.note_enrolled(token.station, token.station, now)
            self.audit("enroll", token.station, serial=f"{serial:x}", revoked=replaced)
        return cert_pem, token.station

    # -- revocation ------------------------------------------------------------

    def revoke(self, station: str) -> int:
        with self.store.transaction():
            if not self.tables.is_enrolled(station):
                raise NotEnrolled(f"站点 {station} 未注册")
            n = self.tables.revoke_certs_of(station, _now_ms())
            self.audit("revoke", station, certificates=n)
        return n

    def is_revoked(self, serial_hex: str) -> bool:
        """Checked on every call; a serial the hub never issued counts as revoked."""
        cert = self.tables.cert(serial_hex)
        return cert is None or cert.revoked_ms is not None

    def enrolled_before(self, station: str, at_ms: int) -> bool:
        """Was the station's certificate in force before ``at_ms``? (Enrolled, or last re-enrolled, earlier.)"""
        enrolled = self.tables.enrolled_ms(station)
        return enrolled is not None and enrolled < at_ms

    def scope_of(self, station: str) -> str:
        scope = self.tables.scope_of(station)
        if scope is None:
            raise NotEnrolled(f"站点 {station} 未注册")
        return scope

    # -- sync figures ------------------------------------------------------------

    def record_handshake(self, station: str, replica_id: str, skew_ms: int) -> None:
        with self.store.transaction(durable=False):
            self.tables.note_handshake(station, replica_id, skew_ms)

    def record_push(self, station: str, rows: int, refused: list[tuple[str, str, str]], conflicts: int, *,
                    resolved: list[tuple[str, str]] = ()) -> None:
        """One accepted push batch: the station's figures, an audit entry with
        the refused rows and their reasons (the first 20), and one entry per
        conflict the station resolved (who, by the station's word)."""
        with self.store.transaction():
            self.tables.add_pushed(station, rows, _now_ms())
            detail = {"rows": rows, "refused": len(refused), "conflicts": conflicts}
            if refused:
                detail["refusals"] = [{"table": t, "id": i, "reason": r} for t, i, r in refused[:20]]
            if rows or refused or conflicts:  # an empty batch (a peer's idle chatter) is no audit entry
                self.audit("push", station, **detail)
            for conflict_id, by in resolved:
                self.audit("resolve", station, conflict=conflict_id, resolved_by=by)

    def record_pull(self, station: str, rows: int, *, from_cursor: int = 0, to_cursor: int = 0) -> None:
        """A pull reads personal data: each one that returned rows is audited; an empty one only
        updates the station's figures (a daemon's idle syncs are no audit flood)."""
        with self.store.transaction(durable=False):
            self.tables.add_pulled(station, rows, _now_ms())
            if rows:
                self.audit("pull", station, rows=rows, from_cursor=from_cursor, to_cursor=to_cursor)

    def stations(self) -> list[dict]:
        now = _now_ms()
        out = []
        for r in self.tables.stations():
            not_after = r.cert_not_after
            state = "revoked" if r.cert_revoked_ms else ("expired" if not_after and not_after < _iso(now) else "valid")
            out.append({
                "station": r.station, "scope": r.scope, "enrolled_at": _iso(r.enrolled_ms), "last_sync": _iso(r.last_sync_ms),
                "pushed": r.pushed, "pulled": r.pulled, "skew_ms": r.skew_ms, "cert_not_after": not_after,
                "cert_state": state,
            })
        return out


def _iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    return dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc).isoformat(timespec="seconds")

