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

_CERT_COLUMNS = ("serial, station, issued_ms, not_after, revoked_ms, revoked_reason, spki, pem, renewed_from, "
                 "used_ms")

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
    (
        2,
        # Certificate renewal (PROTOCOL.md "Certificates"): a certificate's public key (SHA-256 of its
        # SubjectPublicKeyInfo, hex) and PEM, so that a renewal whose answer was lost gets the same
        # certificate again; the serial it was renewed from; its first use (which supersedes the
        # station's older certificates); why it was revoked. A token may set its certificate's lifetime.
        """
        ALTER TABLE _certs ADD COLUMN spki TEXT;
        ALTER TABLE _certs ADD COLUMN pem TEXT;
        ALTER TABLE _certs ADD COLUMN renewed_from TEXT;
        ALTER TABLE _certs ADD COLUMN used_ms INTEGER;
        ALTER TABLE _certs ADD COLUMN revoked_reason TEXT;
        CREATE INDEX _certs_spki ON _certs (spki);
        ALTER TABLE _tokens ADD COLUMN cert_days INTEGER;
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
    cert_days: int | None = None


@dataclass(frozen=True)
class CertRow:
    """A certificate the hub issued. ``not_after`` is ISO 8601 text (UTC); ``revoked_reason`` one of
    ``revoked`` (by the county), ``reenrolled``, ``superseded`` (a renewed certificate of the station
    came into use), or None for one revoked before reasons were kept; ``spki`` and ``pem`` are None
    for certificates issued before renewal existed."""

    serial: str
    station: str = ""
    issued_ms: int | None = None
    not_after: str | None = None
    revoked_ms: int | None = None
    revoked_reason: str | None = None
    spki: str | None = None
    pem: str | None = None
    renewed_from: str | None = None
    used_ms: int | None = None


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
    cert_serial: str | None = None


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

    def insert_token(self, secret_hash: str, station: str, created_ms: int, expires_ms: int, *,
                     cert_days: int | None = None) -> None:
        self._conn.execute(
            "INSERT INTO _tokens (secret_hash, station, created_ms, expires_ms, cert_days) VALUES (?, ?, ?, ?, ?)",
            (secret_hash, station, created_ms, expires_ms, cert_days),
        )

    def token(self, secret_hash: str) -> TokenRow | None:
        row = self._conn.execute(
            "SELECT station, expires_ms, used_ms, cert_days FROM _tokens WHERE secret_hash = ?", (secret_hash,)
        ).fetchone()
        return None if row is None else TokenRow(row[0], row[1], row[2], row[3])

    def mark_token_used(self, secret_hash: str, at_ms: int) -> None:
        self._conn.execute("UPDATE _tokens SET used_ms = ? WHERE secret_hash = ?", (at_ms, secret_hash))

    # -- certificates ------------------------------------------------------------

    def record_cert(self, serial_hex: str, station: str, issued_ms: int, not_after_iso: str, *,
                    spki: str | None = None, pem: str | None = None, renewed_from: str | None = None) -> None:
        self._conn.execute(
            "INSERT INTO _certs (serial, station, issued_ms, not_after, spki, pem, renewed_from) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (serial_hex, station, issued_ms, not_after_iso, spki, pem, renewed_from),
        )

    def revoke_certs_of(self, station: str, at_ms: int, *, reason: str | None = None) -> int:
        """Revoke the station's certificates not yet revoked; returns how many."""
        return self._conn.execute(
            "UPDATE _certs SET revoked_ms = ?, revoked_reason = ? WHERE station = ? AND revoked_ms IS NULL",
            (at_ms, reason, station),
        ).rowcount

    def revoke_cert(self, serial_hex: str, at_ms: int, *, reason: str) -> bool:
        """Revoke one certificate if it is not yet revoked; True if it was revoked now."""
        return self._conn.execute(
            "UPDATE _certs SET revoked_ms = ?, revoked_reason = ? WHERE serial = ? AND revoked_ms IS NULL",
            (at_ms, reason, serial_hex),
        ).rowcount == 1

    def supersede_older(self, station: str, serial_hex: str, issued_ms: int, at_ms: int) -> int:
        """Revoke (``superseded``) the station's other certificates issued up to ``issued_ms`` and not yet
        revoked; returns how many."""
        return self._conn.execute(
            "UPDATE _certs SET revoked_ms = ?, revoked_reason = 'superseded' "
            "WHERE station = ? AND serial != ? AND issued_ms <= ? AND revoked_ms IS NULL",
            (at_ms, station, serial_hex, issued_ms),
        ).rowcount

    def note_cert_used(self, serial_hex: str, at_ms: int) -> None:
        self._conn.execute("UPDATE _certs SET used_ms = ? WHERE serial = ? AND used_ms IS NULL", (at_ms, serial_hex))

    def cert(self, serial_hex: str) -> CertRow | None:
        """The certificate of that serial, or None if the hub never issued it."""
        row = self._conn.execute(f"SELECT {_CERT_COLUMNS} FROM _certs WHERE serial = ?", (serial_hex,)).fetchone()
        return None if row is None else CertRow(*row)

    def newest_cert(self, station: str) -> CertRow | None:
        """The certificate the hub issued last to ``station`` (revoked or not), or None."""
        row = self._conn.execute(
            f"SELECT {_CERT_COLUMNS} FROM _certs WHERE station = ? ORDER BY issued_ms DESC, rowid DESC LIMIT 1",
            (station,),
        ).fetchone()
        return None if row is None else CertRow(*row)

    def certs_with_key(self, station: str, spki: str) -> list[CertRow]:
        """The station's certificates for the public key ``spki``."""
        return [CertRow(*r) for r in self._conn.execute(
            f"SELECT {_CERT_COLUMNS} FROM _certs WHERE spki = ? AND station = ? ORDER BY issued_ms", (spki, station))]

    def certs(self, station: str | None = None) -> list[CertRow]:
        """Every certificate issued (of one station), by station and then in the order issued."""
        if station is None:
            rows = self._conn.execute(f"SELECT {_CERT_COLUMNS} FROM _certs ORDER BY station, issued_ms, rowid")
        else:
            rows = self._conn.execute(
                f"SELECT {_CERT_COLUMNS} FROM _certs WHERE station = ? ORDER BY issued_ms, rowid", (station,))
        return [CertRow(*r) for r in rows]

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
                "(SELECT revoked_ms FROM _certs c WHERE c.station = s.station ORDER BY issued_ms DESC LIMIT 1), "
                "(SELECT serial FROM _certs c WHERE c.station = s.station ORDER BY issued_ms DESC LIMIT 1) "
                "FROM _stations s ORDER BY s.station"
            )
        ]
