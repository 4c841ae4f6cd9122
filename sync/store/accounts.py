"""The accounts of a web page (the station's clerk page, the county's dashboard):
one small SQLite file of its own beside the node's database (``accounts.db`` in
the home), so that an account never replicates and a database restore never
brings back a removed one.

Rows only: a name, a role, the password's hash (made and checked by the caller,
``vetsync_web.accounts``; this module never sees a password), whether the
account may log in without a password on 127.0.0.1, and the count of wrong
passwords with the time the account is locked until.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

__all__ = ["AccountRow", "AccountStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    hash TEXT NOT NULL,
    auto_login INTEGER NOT NULL DEFAULT 0,
    created_ms INTEGER NOT NULL,
    failures INTEGER NOT NULL DEFAULT 0,
    locked_until_ms INTEGER NOT NULL DEFAULT 0,
    last_login_ms INTEGER
)
"""


@dataclass(frozen=True)
class AccountRow:
    name: str
    role: str
    hash: str
    auto_login: bool
    created_ms: int
    failures: int
    locked_until_ms: int
    last_login_ms: int | None


class AccountStore:
    """``accounts.db``: created (mode 0600) on first open."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if not self.path.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            self.path.touch(mode=0o600, exist_ok=True)
            self.path.chmod(0o600)
        self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.execute(_SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        self._conn.close()

    def _row(self, values) -> AccountRow:
        name, role, hash_, auto, created, failures, locked, last = values
        return AccountRow(name, role, hash_, bool(auto), created, failures, locked, last)

    _COLUMNS = "name, role, hash, auto_login, created_ms, failures, locked_until_ms, last_login_ms"

    def get(self, name: str) -> AccountRow | None:
        with self._lock:
            row = self._conn.execute(f"SELECT {self._COLUMNS} FROM accounts WHERE name = ?", (name,)).fetchone()
        return self._row(row) if row else None

    def all(self) -> list[AccountRow]:
        with self._lock:
            rows = self._conn.execute(f"SELECT {self._COLUMNS} FROM accounts ORDER BY name").fetchall()
        return [self._row(r) for r in rows]

    def insert(self, name: str, role: str, hash_: str, *, auto_login: bool, created_ms: int) -> bool:
        """Add an account; False when the name is taken (nothing written)."""
        with self._lock:
            try:
                self._conn.execute("INSERT INTO accounts (name, role, hash, auto_login, created_ms) VALUES (?, ?, ?, ?, ?)",
                                   (name, role, hash_, int(auto_login), created_ms))
            except sqlite3.IntegrityError:
                return False
        return True

    def set_hash(self, name: str, hash_: str) -> bool:
        with self._lock:
            return self._conn.execute("UPDATE accounts SET hash = ?, failures = 0, locked_until_ms = 0 WHERE name = ?",
                                      (hash_, name)).rowcount == 1

    def delete(self, name: str) -> bool:
        with self._lock:
            return self._conn.execute("DELETE FROM accounts WHERE name = ?", (name,)).rowcount == 1

    def note_failure(self, name: str, *, lock_after: int, locked_until_ms: int) -> int:
        """Count one wrong password; the ``lock_after``-th in a row locks the account
        until ``locked_until_ms`` (and starts the count again). Returns the count."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                row = self._conn.execute("SELECT failures FROM accounts WHERE name = ?", (name,)).fetchone()
                if row is None:
                    self._conn.execute("ROLLBACK")
                    return 0
                failures = row[0] + 1
                if failures >= lock_after:
                    self._conn.execute("UPDATE accounts SET failures = 0, locked_until_ms = ? WHERE name = ?",
                                       (locked_until_ms, name))
                else:
                    self._conn.execute("UPDATE accounts SET failures = ? WHERE name = ?", (failures, name))
                self._conn.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise
        return failures

    def note_login(self, name: str, at_ms: int) -> None:
        with self._lock:
            self._conn.execute("UPDATE accounts SET failures = 0, locked_until_ms = 0, last_login_ms = ? WHERE name = ?",
                               (at_ms, name))
