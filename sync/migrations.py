"""Numbered schema migrations.

Each migration runs in one transaction together with its row in
``_migrations``: a crash leaves the database at the previous version, never
between two. Tables are built from ``sync.schema`` with sqlite-utils.
"""

from __future__ import annotations

import sqlite3
import time
from typing import Callable

import sqlite_utils

from sync.errors import StoreError
from sync.schema import TABLES

__all__ = ["migrate", "MIGRATIONS", "current_version"]


# Fields appended to a table by a later migration (its own ALTER TABLE): the
# initial schema is the schema of its day, without them.
_ADDED_LATER = {("conflicts", "confidential"), ("conflicts", "station")}


def _m001_initial(db: sqlite_utils.Database) -> None:
    db["_meta"].create({"key": str, "value": str}, pk="key")
    for t in TABLES.values():
        columns = {"id": str}
        for f in t.fields[1:]:
            if (t.name, f.name) in _ADDED_LATER:
                continue
            columns[f.name] = {"INTEGER": int, "REAL": float}.get(f.sql_type, str)
        columns.update({"seq": int, "_clock": str, "_pending": str, "_extra": str})
        db[t.name].create(columns, pk="id", not_null={"seq", "_clock"}, defaults={"deleted": 0})
        db[t.name].create_index(["seq"], index_name=f"{t.name}_seq")
        db[t.name].create_index(["area", "seq"], index_name=f"{t.name}_area_seq")
        for cols in t.indexes:
            db[t.name].create_index(list(cols), index_name=f"{t.name}_{'_'.join(cols)}")
        db.execute(f'CREATE INDEX "{t.name}_pending" ON "{t.name}" (seq) WHERE _pending IS NOT NULL')
    # Station side: edits the hub refused, kept outside the replicated tables.
    db["_rejected"].create(
        {"id": int, "table": str, "row_id": str, "area": str, "fields": str, "reason": str, "at_ms": int}, pk="id"
    )
    # Hub side: every accepted row change (one entry per change, holding the
    # fields it changed with value and version), moves out of an area, and the
    # map of replica ids to station codes.
    db["_history"].create(
        {"id": int, "seq": int, "table": str, "row_id": str, "station": str, "at_ms": int, "fields": str}, pk="id"
    )
    db["_history"].create_index(["row_id"], index_name="_history_row")
    db["_moves"].create({"seq": int, "table": str, "row_id": str, "old_area": str, "new_area": str})
    db["_moves"].create_index(["seq"], index_name="_moves_seq")
    db["_replicas"].create({"replica_id": str, "station": str, "first_seen_ms": int}, pk="replica_id")


def _m002_origin(db: sqlite_utils.Database) -> None:
    # Hub side: which replica's push made the row's last change, and the row's
    # seq before it. A pull skips rows whose last change came from the puller
    # when the puller had already seen the state it was built on.
    for t in TABLES.values():
        db.execute(f'ALTER TABLE "{t.name}" ADD COLUMN _origin TEXT')
        db.execute(f'ALTER TABLE "{t.name}" ADD COLUMN _prev_seq INTEGER')


def _m003_history_clock(db: sqlite_utils.Database) -> None:
    # Hub side: a history entry keeps its versions apart, packed as in
    # sync.clocks (``clock``), and its values as JSON arrays in the order of
    # the clock's fields: ``fields`` (the values written) and ``prior`` (the
    # values they replaced). A row's first entry (it came new in a push) has
    # ``fields`` NULL: its values are the row's, see sync.hub_store.history_of.
    # Entries written before keep ``{field: [value, version]}`` with ``clock`` NULL.
    db.execute("ALTER TABLE _history ADD COLUMN clock TEXT")
    db.execute("ALTER TABLE _history ADD COLUMN prior TEXT")


def _m004_confidential_conflicts(db: sqlite_utils.Database) -> None:
    # A conflict about a confidential petition or its events is confidential too:
    # only the hub and ``station`` (the petition's registering station) see it.
    # A move of a confidential row names the only station that may receive its
    # eviction (``_moves.station``; NULL: every station whose scope it left).
    db.execute("ALTER TABLE conflicts ADD COLUMN confidential INTEGER")
    db.execute("ALTER TABLE conflicts ADD COLUMN station TEXT")
    db.execute("ALTER TABLE _moves ADD COLUMN station TEXT")


MIGRATIONS: list[tuple[int, str, Callable[[sqlite_utils.Database], None]]] = [
    (1, "initial schema", _m001_initial),
    (2, "origin of the last change", _m002_origin),
    (3, "history versions apart", _m003_history_clock),
    (4, "confidential conflicts and evictions", _m004_confidential_conflicts),
]


def current_version(conn: sqlite3.Connection) -> int:
    exists = conn.execute("SELECT 1 FROM sqlite_master WHERE name = '_migrations'").fetchone()
    if not exists:
        return 0
    return conn.execute("SELECT coalesce(max(id), 0) FROM _migrations").fetchone()[0]


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the database up to the newest migration; returns its number."""
    known = MIGRATIONS[-1][0]
    version = current_version(conn)
    if version > known:
        raise StoreError(f"数据库版本 {version} 比本程序支持的 {known} 新", hint="请升级 vetsync")
    db = sqlite_utils.Database(conn)
    for number, name, step in MIGRATIONS:
        if number <= version:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute("CREATE TABLE IF NOT EXISTS _migrations (id INTEGER PRIMARY KEY, name TEXT, applied_ms INTEGER)")
            step(db)
            conn.execute("INSERT INTO _migrations VALUES (?, ?, ?)", (number, name, int(time.time() * 1000)))
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        version = number
    return version
