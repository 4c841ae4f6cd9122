"""The hub registry's tables: enrolled stations, their certificates, one-time
enrollment tokens (by the hash of their secret) and the audit log.

Part of the hub store (with ``sync.store.hub``): the SQL text lives here, and
``county_hub.registry`` calls these typed methods, so that a second hub store
(PostgreSQL) implements this class and nothing of the registry's rules.

The tables live in the hub database beside the replicated ones and are made by
their own numbered migrations (bookkept in ``_hub_migrations``, apart from the
replicated schema's ``_migrations``). Like ``sync.store.migrations`` they are
frozen: the literal DDL of their day, never edited once shipped; a change is a
new number.

No method opens a transaction except ``migrate``: the caller wraps each of its
steps in ``hub.transaction()``, so that the order of the statements inside
one is the caller's. Times are milliseconds since the epoch, given by the caller.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["RegistryTables", "MIGRATIONS", "TokenRow", "CertRow", "StationRow", "AuditRow"]

MIGRATIONS = [
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


class _Hub(Protocol):
    """What this module uses of ``sync.store.hub.HubStore``: its connection and its transactions."""

    conn: Any

    def transaction(self, mode: str = ..., *, durable: bool = ...) -> Any: ...


@dataclass(frozen=True)
class TokenRow:
    station: str
    expires_ms: int
    used_ms: int | None


@dataclass(frozen=True)
class CertRow:
    serial: str
    revoked_ms: int | None


@dataclass(frozen=True)
class StationRow:
    """A station with its newest certificate's expiry (ISO text) and revocation time."""

    station: str
    scope: str
    enrolled_ms: int | None
    last_sync_ms: int | None
    pushed: int
    pulled: int
    skew_ms: int | None
    cert_not_after: str | None
    cert_revoked_ms: int | None


@dataclass(frozen=True)
class AuditRow:
    at_ms: int
    kind: str
    station: str | None
    detail: dict


class RegistryTables:
    """The registry's reads and writes over the hub store's connection."""

    def __init__(self, hub: _Hub):
        self.hub = hub

    @property
    def _conn(self):
        return self.hub.conn

    def migrate(self) -> None:
        """Apply the migrations not yet applied, all in one transaction with their bookkeeping rows."""
        with self.hub.transaction():
            self._conn.execute("CREATE TABLE IF NOT EXISTS _hub_migrations (id INTEGER PRIMARY KEY, applied_ms INTEGER)")
            done = {r[0] for r in self._conn.execute("SELECT id FROM _hub_migrations")}
            for number, sql in MIGRATIONS:
                if number not in done:
                    for statement in filter(str.strip, sql.split(";")):
                        self._conn.execute(statement)
                    self._conn.execute("INSERT INTO _hub_migrations VALUES (?, ?)", (number, int(time.time() * 1000)))

    # -- audit ---------------------------------------------------------------

    def audit(self, at_ms: int, kind: str, station: str | None, detail: dict | None) -> None:
        """One audit entry; an empty ``detail`` is stored as none."""
        self._conn.execute(
            "INSERT INTO _audit (at_ms, kind, station, detail) VALUES (?, ?, ?, ?)",
            (at_ms, kind, station, json.dumps(detail, ensure_ascii=False) if detail else None),
        )

    def audit_since(self, since_ms: int) -> list[AuditRow]:
        """The entries from ``since_ms`` on, oldest first (in the order written)."""
        rows = self._conn.execute(
            "SELECT at_ms, kind, station, detail FROM _audit WHERE at_ms >= ? ORDER BY id", (since_ms,)
        )
        return [AuditRow(r[0], r[1], r[2], json.loads(r[3]) if r[3] else {}) for r in rows]

    # -- tokens ----------------------------------------------------------------

    def insert_token(self, secret_hash: str, station: str, created_ms: int, expires_ms: int) -> None:
        self._conn.execute(
            "INSERT INTO _tokens (secret_hash, station, created_ms, expires_ms) VALUES (?, ?, ?, ?)",
            (secret_hash, station, created_ms, expires_ms),
        )

    def token(self, secret_hash: str) -> TokenRow | None:
        row = self._conn.execute(
            "SELECT station, expires_ms, used_ms FROM _tokens WHERE secret_hash = ?", (secret_hash,)
        ).fetchone()
        return None if row is None else TokenRow(row[0], row[1], row[2])

    def mark_token_used(self, secret_hash: str, at_ms: int) -> None:
        self._conn.execute("UPDATE _tokens SET used_ms = ? WHERE secret_hash = ?", (at_ms, secret_hash))

    # -- certificates ------------------------------------------------------------

    def record_cert(self, serial_hex: str, station: str, issued_ms: int, not_after_iso: str) -> None:
        self._conn.execute(
            "INSERT INTO _certs (serial, station, issued_ms, not_after) VALUES (?, ?, ?, ?)",
            (serial_hex, station, issued_ms, not_after_iso),
        )

    def revoke_certs_of(self, station: str, at_ms: int) -> int:
        """Revoke the station's certificates not yet revoked; returns how many."""
        return self._conn.execute(
            "UPDATE _certs SET revoked_ms = ? WHERE station = ? AND revoked_ms IS NULL", (at_ms, station)
        ).rowcount

    def cert(self, serial_hex: str) -> CertRow | None:
        """The certificate of that serial, or None if the hub never issued it."""
        row = self._conn.execute("SELECT revoked_ms FROM _certs WHERE serial = ?", (serial_hex,)).fetchone()
        return None if row is None else CertRow(serial_hex, row[0])

    # -- stations ----------------------------------------------------------------

    def note_enrolled(self, station: str, scope: str, at_ms: int) -> None:
        """Add the station, or (re-enrollment) only update its enrollment time."""
        self._conn.execute(
            "INSERT INTO _stations (station, scope, enrolled_ms) VALUES (?, ?, ?) "
            "ON CONFLICT(station) DO UPDATE SET enrolled_ms = excluded.enrolled_ms",
            (station, scope, at_ms),
        )

    def is_enrolled(self, station: str) -> bool:
        return self._conn.execute("SELECT 1 FROM _stations WHERE station = ?", (station,)).fetchone() is not None

    def enrolled_ms(self, station: str) -> int | None:
        row = self._conn.execute("SELECT enrolled_ms FROM _stations WHERE station = ?", (station,)).fetchone()
        return None if row is None else row[0]

    def scope_of(self, station: str) -> str | None:
        row = self._conn.execute("SELECT scope FROM _stations WHERE station = ?", (station,)).fetchone()
        return None if row is None else row[0]

    def note_handshake(self, station: str, replica_id: str, skew_ms: int) -> None:
        self._conn.execute(
            "UPDATE _stations SET replica_id = ?, skew_ms = ? WHERE station = ?", (replica_id, skew_ms, station)
        )

    def add_pushed(self, station: str, rows: int, at_ms: int) -> None:
        self._conn.execute(
            "UPDATE _stations SET pushed = pushed + ?, last_sync_ms = ? WHERE station = ?", (rows, at_ms, station)
        )

    def add_pulled(self, station: str, rows: int, at_ms: int) -> None:
        self._conn.execute(
            "UPDATE _stations SET pulled = pulled + ?, last_sync_ms = ? WHERE station = ?", (rows, at_ms, station)
        )

    def stations(self) -> list[StationRow]:
        """All stations in code order, each with its newest certificate's expiry and revocation."""
        return [
            StationRow(*r)
            for r in self._conn.execute(
                "SELECT s.station, s.scope, s.enrolled_ms, s.last_sync_ms, s.pushed, s.pulled, s.skew_ms, "
                "(SELECT not_after FROM _certs c WHERE c.station = s.station ORDER BY issued_ms DESC LIMIT 1), "
                "(SELECT revoked_ms FROM _certs c WHERE c.station = s.station ORDER BY issued_ms DESC LIMIT 1) "
                "FROM _stations s ORDER BY s.station"
            )
        ]
