"""The hub's registry: enrolled stations and their certificates, one-time
enrollment tokens (stored hashed), revocations, per-station sync figures and
the audit log. Its tables live in the hub database beside the replicated ones
and are created by the registry's own numbered migrations.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Callable

from county_hub import tokens
from county_hub.ca import CA, cert_serial_hex, sign_station_csr
from county_hub.errors import NotEnrolled, TokenError
from veterans.values import validate_area
from sync.engine.errors import ValidationError
from sync.store.hub import HubStore

__all__ = ["Registry"]

_MIGRATIONS = [
    (
        1,
        """
        CREATE TABLE _stations (station TEXT PRIMARY KEY, scope TEXT NOT NULL, enrolled_ms INTEGER,
            last_sync_ms INTEGER, pushed INTEGER NOT NULL DEFAULT 0, pulled INTEGER NOT NULL DEFAULT 0,
            skew_ms INTEGER, replica_id TEXT);
        CREATE TABLE _certs (serial TEXT PRIMARY KEY, station TEXT NOT NULL, issued_ms INTEGER, not_after TEXT,
            revoked_ms INTEGER);
        CREATE INDEX _certs_station ON _certs (station);
        CREATE TABLE _tokens (secret_hash TEXT PRIMARY KEY, station TEXT NOT NULL, created_ms INTEGER,
            expires_ms INTEGER NOT NULL, used_ms INTEGER);
        CREATE TABLE _audit (id INTEGER PRIMARY KEY, at_ms INTEGER NOT NULL, kind TEXT NOT NULL, station TEXT,
            detail TEXT);
        CREATE INDEX _audit_at ON _audit (at_ms);
        """,
    ),
]


def _now_ms() -> int:
    return int(time.time() * 1000)


class Registry:
    """``clock``: seconds since the epoch, as ``time.time`` (the default); the
    tokens' creation and expiry go by it, so tests can age a token without sleeping."""

    def __init__(self, store: HubStore, *, clock: Callable[[], float] = time.time):
        self.store = store
        self.conn = store.conn
        self.clock = clock
        self._migrate()

    def _clock_ms(self) -> int:
        return int(self.clock() * 1000)

    def _migrate(self) -> None:
        with self.store.transaction():
            self.conn.execute("CREATE TABLE IF NOT EXISTS _hub_migrations (id INTEGER PRIMARY KEY, applied_ms INTEGER)")
            done = {r[0] for r in self.conn.execute("SELECT id FROM _hub_migrations")}
            for number, sql in _MIGRATIONS:
                if number not in done:
                    for statement in filter(str.strip, sql.split(";")):
                        self.conn.execute(statement)
                    self.conn.execute("INSERT INTO _hub_migrations VALUES (?, ?)", (number, _now_ms()))

    # -- audit ---------------------------------------------------------------

    def audit(self, kind: str, station: str | None, /, **detail) -> None:
        self.conn.execute(
            "INSERT INTO _audit (at_ms, kind, station, detail) VALUES (?, ?, ?, ?)",
            (_now_ms(), kind, station, json.dumps(detail, ensure_ascii=False) if detail else None),
        )

    def audit_log(self, since_ms: int = 0) -> list[dict]:
        rows = self.conn.execute(
            "SELECT at_ms, kind, station, detail FROM _audit WHERE at_ms >= ? ORDER BY id", (since_ms,)
        )
        return [
            {"at_ms": r[0], "kind": r[1], "station": r[2], "detail": json.loads(r[3]) if r[3] else {}} for r in rows
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
            self.conn.execute(
                "INSERT INTO _tokens (secret_hash, station, created_ms, expires_ms) VALUES (?, ?, ?, ?)",
                (secret_hash, station, now, now + int(ttl_hours * 3600_000)),
            )
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
            row = self.conn.execute(
                "SELECT station, expires_ms, used_ms FROM _tokens WHERE secret_hash = ?",
                (tokens.hash_secret(token.secret),),
            ).fetchone()
            if row is None or row[0] != token.station:
                raise TokenError("令牌无效")
            if row[2] is not None:
                raise TokenError("令牌已使用过，请向县中心重新申请")
            now = self._clock_ms()
            if row[1] < now:
                raise TokenError("令牌已过期，请向县中心重新申请")
            cert_pem, serial, not_after = sign_station_csr(ca, csr_pem, token.station)
            self.conn.execute("UPDATE _tokens SET used_ms = ? WHERE secret_hash = ?", (now, tokens.hash_secret(token.secret)))
            # Re-enrollment (a reinstalled PC, a lost key): the station's older certificates stop working now.
            replaced = self.conn.execute(
                "UPDATE _certs SET revoked_ms = ? WHERE station = ? AND revoked_ms IS NULL", (now, token.station)
            ).rowcount
            self.conn.execute(
                "INSERT INTO _certs (serial, station, issued_ms, not_after) VALUES (?, ?, ?, ?)",
                (f"{serial:x}", token.station, now, not_after.isoformat()),
            )
            self.conn.execute(
                "INSERT INTO _stations (station, scope, enrolled_ms) VALUES (?, ?, ?) "
                "ON CONFLICT(station) DO UPDATE SET enrolled_ms = excluded.enrolled_ms",
                (token.station, token.station, now),
            )
            self.audit("enroll", token.station, serial=f"{serial:x}", revoked=replaced)
        return cert_pem, token.station

    # -- revocation ------------------------------------------------------------

    def revoke(self, station: str) -> int:
        with self.store.transaction():
            if not self.conn.execute("SELECT 1 FROM _stations WHERE station = ?", (station,)).fetchone():
                raise NotEnrolled(f"站点 {station} 未注册")
            n = self.conn.execute(
                "UPDATE _certs SET revoked_ms = ? WHERE station = ? AND revoked_ms IS NULL", (_now_ms(), station)
            ).rowcount
            self.audit("revoke", station, certificates=n)
        return n

    def is_revoked(self, serial_hex: str) -> bool:
        """Checked on every call; a serial the hub never issued counts as revoked."""
        row = self.conn.execute("SELECT revoked_ms FROM _certs WHERE serial = ?", (serial_hex,)).fetchone()
        return row is None or row[0] is not None

    def scope_of(self, station: str) -> str:
        row = self.conn.execute("SELECT scope FROM _stations WHERE station = ?", (station,)).fetchone()
        if row is None:
            raise NotEnrolled(f"站点 {station} 未注册")
        return row[0]

    # -- sync figures ------------------------------------------------------------

    def record_handshake(self, station: str, replica_id: str, skew_ms: int) -> None:
        with self.store.transaction(durable=False):
            self.conn.execute(
                "UPDATE _stations SET replica_id = ?, skew_ms = ? WHERE station = ?", (replica_id, skew_ms, station)
            )

    def record_push(self, station: str, rows: int, refused: list[tuple[str, str, str]], conflicts: int, *,
                    resolved: list[tuple[str, str]] = ()) -> None:
        """One accepted push batch: the station's figures, an audit entry with
        the refused rows and their reasons (the first 20), and one entry per
        conflict the station resolved (who, by the station's word)."""
        with self.store.transaction():
            self.conn.execute(
                "UPDATE _stations SET pushed = pushed + ?, last_sync_ms = ? WHERE station = ?", (rows, _now_ms(), station)
            )
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
            self.conn.execute(
                "UPDATE _stations SET pulled = pulled + ?, last_sync_ms = ? WHERE station = ?", (rows, _now_ms(), station)
            )
            if rows:
                self.audit("pull", station, rows=rows, from_cursor=from_cursor, to_cursor=to_cursor)

    def stations(self) -> list[dict]:
        now = _now_ms()
        out = []
        for r in self.conn.execute(
            "SELECT s.station, s.scope, s.enrolled_ms, s.last_sync_ms, s.pushed, s.pulled, s.skew_ms, "
            "(SELECT not_after FROM _certs c WHERE c.station = s.station ORDER BY issued_ms DESC LIMIT 1), "
            "(SELECT revoked_ms FROM _certs c WHERE c.station = s.station ORDER BY issued_ms DESC LIMIT 1) "
            "FROM _stations s ORDER BY s.station"
        ):
            not_after = r[7]
            state = "revoked" if r[8] else ("expired" if not_after and not_after < _iso(now) else "valid")
            out.append({
                "station": r[0], "scope": r[1], "enrolled_at": _iso(r[2]), "last_sync": _iso(r[3]),
                "pushed": r[4], "pulled": r[5], "skew_ms": r[6], "cert_not_after": not_after, "cert_state": state,
            })
        return out


def _iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    return dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc).isoformat(timespec="seconds")

