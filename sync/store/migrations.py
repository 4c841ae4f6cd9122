"""Numbered schema migrations, frozen.

Each migration is the literal DDL of its day: SQL text, never built from
``sync.engine.schema``, so the schema a migration makes stays the same whatever the
schema module says later. A migration that has shipped is never edited: a
change is a new migration (``ALTER TABLE … ADD COLUMN`` appends, as fields
are only ever appended, see ``sync.engine.clocks``). ``tests/test_migrations.py``
upgrades databases made at every earlier migration and checks that
``sync.engine.schema.TABLES`` and ``SCHEMA_VERSION`` agree with these.

Each migration runs in one transaction together with its row in
``_migrations``: a crash leaves the database at the previous version, never
between two. A database newer than this code is refused.

Migration 1 is, statement for statement, the DDL that sqlite-utils generated
for it before it was frozen (the same ``sqlite_master`` text).
"""

from __future__ import annotations

import sqlite3
import time
from typing import NamedTuple

from sync.engine.errors import StoreError

__all__ = ["migrate", "MIGRATIONS", "Migration", "current_version", "NEWEST"]


class Migration(NamedTuple):
    number: int
    name: str
    statements: tuple[str, ...]
    # Does it change the fields of the replicated tables (what a row carries on
    # the wire)? The newest such migration is sync.engine.schema.SCHEMA_VERSION.
    replicated: bool


# -- 1: initial schema ---------------------------------------------------------

_M001 = (
    '''CREATE TABLE "_meta" (
   "key" TEXT PRIMARY KEY,
   "value" TEXT
)''',
    '''CREATE TABLE "veterans" (
   "id" TEXT PRIMARY KEY,
   "id_number" TEXT,
   "name" TEXT,
   "gender" TEXT,
   "birth_date" TEXT,
   "ethnicity" TEXT,
   "phone" TEXT,
   "address" TEXT,
   "area" TEXT,
   "category" TEXT,
   "branch" TEXT,
   "unit" TEXT,
   "enlisted_on" TEXT,
   "discharged_on" TEXT,
   "disability_level" TEXT,
   "disability_cause" TEXT,
   "honor_plaque" TEXT,
   "health" TEXT,
   "family" TEXT,
   "difficulties" TEXT,
   "needs" TEXT,
   "status" TEXT,
   "note" TEXT,
   "merged_into" TEXT,
   "deleted" INTEGER DEFAULT 0,
   "seq" INTEGER NOT NULL,
   "_clock" TEXT NOT NULL,
   "_pending" TEXT,
   "_extra" TEXT
)''',
    '''CREATE INDEX "veterans_seq"
    ON "veterans" ("seq")''',
    '''CREATE INDEX "veterans_area_seq"
    ON "veterans" ("area", "seq")''',
    '''CREATE INDEX "veterans_id_number"
    ON "veterans" ("id_number")''',
    '''CREATE INDEX "veterans_name"
    ON "veterans" ("name")''',
    '''CREATE INDEX "veterans_pending" ON "veterans" (seq) WHERE _pending IS NOT NULL''',
    '''CREATE TABLE "visits" (
   "id" TEXT PRIMARY KEY,
   "veteran_id" TEXT,
   "area" TEXT,
   "station" TEXT,
   "visitors" TEXT,
   "visited_on" TEXT,
   "kind" TEXT,
   "occasion" TEXT,
   "summary" TEXT,
   "difficulties" TEXT,
   "aid_cash" REAL,
   "aid_goods" TEXT,
   "follow_up" TEXT,
   "deleted" INTEGER DEFAULT 0,
   "seq" INTEGER NOT NULL,
   "_clock" TEXT NOT NULL,
   "_pending" TEXT,
   "_extra" TEXT
)''',
    '''CREATE INDEX "visits_seq"
    ON "visits" ("seq")''',
    '''CREATE INDEX "visits_area_seq"
    ON "visits" ("area", "seq")''',
    '''CREATE INDEX "visits_veteran_id"
    ON "visits" ("veteran_id")''',
    '''CREATE INDEX "visits_visited_on"
    ON "visits" ("visited_on")''',
    '''CREATE INDEX "visits_pending" ON "visits" (seq) WHERE _pending IS NOT NULL''',
    '''CREATE TABLE "petitions" (
   "id" TEXT PRIMARY KEY,
   "veteran_id" TEXT,
   "petitioner" TEXT,
   "contact" TEXT,
   "area" TEXT,
   "station" TEXT,
   "channel" TEXT,
   "group_size" INTEGER,
   "received_on" TEXT,
   "class" TEXT,
   "summary" TEXT,
   "handler" TEXT,
   "confidential" INTEGER,
   "deleted" INTEGER DEFAULT 0,
   "seq" INTEGER NOT NULL,
   "_clock" TEXT NOT NULL,
   "_pending" TEXT,
   "_extra" TEXT
)''',
    '''CREATE INDEX "petitions_seq"
    ON "petitions" ("seq")''',
    '''CREATE INDEX "petitions_area_seq"
    ON "petitions" ("area", "seq")''',
    '''CREATE INDEX "petitions_veteran_id"
    ON "petitions" ("veteran_id")''',
    '''CREATE INDEX "petitions_received_on"
    ON "petitions" ("received_on")''',
    '''CREATE INDEX "petitions_pending" ON "petitions" (seq) WHERE _pending IS NOT NULL''',
    '''CREATE TABLE "petition_events" (
   "id" TEXT PRIMARY KEY,
   "petition_id" TEXT,
   "area" TEXT,
   "at" TEXT,
   "kind" TEXT,
   "outcome" TEXT,
   "actor" TEXT,
   "note" TEXT,
   "from_status" TEXT,
   "deleted" INTEGER DEFAULT 0,
   "seq" INTEGER NOT NULL,
   "_clock" TEXT NOT NULL,
   "_pending" TEXT,
   "_extra" TEXT
)''',
    '''CREATE INDEX "petition_events_seq"
    ON "petition_events" ("seq")''',
    '''CREATE INDEX "petition_events_area_seq"
    ON "petition_events" ("area", "seq")''',
    '''CREATE INDEX "petition_events_petition_id"
    ON "petition_events" ("petition_id")''',
    '''CREATE INDEX "petition_events_pending" ON "petition_events" (seq) WHERE _pending IS NOT NULL''',
    '''CREATE TABLE "conflicts" (
   "id" TEXT PRIMARY KEY,
   "kind" TEXT,
   "table" TEXT,
   "row_id" TEXT,
   "field" TEXT,
   "area" TEXT,
   "winner_value" TEXT,
   "winner_version" TEXT,
   "winner_station" TEXT,
   "loser_value" TEXT,
   "loser_version" TEXT,
   "loser_station" TEXT,
   "detected_at" TEXT,
   "status" TEXT,
   "resolution" TEXT,
   "resolved_by" TEXT,
   "deleted" INTEGER DEFAULT 0,
   "seq" INTEGER NOT NULL,
   "_clock" TEXT NOT NULL,
   "_pending" TEXT,
   "_extra" TEXT
)''',
    '''CREATE INDEX "conflicts_seq"
    ON "conflicts" ("seq")''',
    '''CREATE INDEX "conflicts_area_seq"
    ON "conflicts" ("area", "seq")''',
    '''CREATE INDEX "conflicts_row_id"
    ON "conflicts" ("row_id")''',
    '''CREATE INDEX "conflicts_status"
    ON "conflicts" ("status")''',
    '''CREATE INDEX "conflicts_pending" ON "conflicts" (seq) WHERE _pending IS NOT NULL''',
    # Station side: edits the hub refused, kept outside the replicated tables.
    '''CREATE TABLE "_rejected" (
   "id" INTEGER PRIMARY KEY,
   "table" TEXT,
   "row_id" TEXT,
   "area" TEXT,
   "fields" TEXT,
   "reason" TEXT,
   "at_ms" INTEGER
)''',
    # Hub side: every accepted row change (one entry per change, holding the
    # fields it changed as ``{field: [value, version]}``), moves out of an
    # area, and the map of replica ids to station codes.
    '''CREATE TABLE "_history" (
   "id" INTEGER PRIMARY KEY,
   "seq" INTEGER,
   "table" TEXT,
   "row_id" TEXT,
   "station" TEXT,
   "at_ms" INTEGER,
   "fields" TEXT
)''',
    '''CREATE INDEX "_history_row"
    ON "_history" ("row_id")''',
    '''CREATE TABLE "_moves" (
   "seq" INTEGER,
   "table" TEXT,
   "row_id" TEXT,
   "old_area" TEXT,
   "new_area" TEXT
)''',
    '''CREATE INDEX "_moves_seq"
    ON "_moves" ("seq")''',
    '''CREATE TABLE "_replicas" (
   "replica_id" TEXT PRIMARY KEY,
   "station" TEXT,
   "first_seen_ms" INTEGER
)''',
)

# -- 2: origin of the last change ------------------------------------------------
# Hub side: which replica's push made the row's last change, and the row's seq
# before it. A pull skips rows whose last change came from the puller when the
# puller had already seen the state it was built on. Bookkeeping columns, not
# replicated fields.

_M002 = (
    'ALTER TABLE "veterans" ADD COLUMN _origin TEXT',
    'ALTER TABLE "veterans" ADD COLUMN _prev_seq INTEGER',
    'ALTER TABLE "visits" ADD COLUMN _origin TEXT',
    'ALTER TABLE "visits" ADD COLUMN _prev_seq INTEGER',
    'ALTER TABLE "petitions" ADD COLUMN _origin TEXT',
    'ALTER TABLE "petitions" ADD COLUMN _prev_seq INTEGER',
    'ALTER TABLE "petition_events" ADD COLUMN _origin TEXT',
    'ALTER TABLE "petition_events" ADD COLUMN _prev_seq INTEGER',
    'ALTER TABLE "conflicts" ADD COLUMN _origin TEXT',
    'ALTER TABLE "conflicts" ADD COLUMN _prev_seq INTEGER',
)

# -- 3: history versions apart -----------------------------------------------------
# Hub side: a history entry keeps its versions apart, packed as in sync.engine.clocks
# (``clock``), and its values as JSON arrays in the order of the clock's
# fields: ``fields`` (the values written) and ``prior`` (the values they
# replaced). A row's first entry (it came new in a push) has ``fields`` NULL:
# its values are the row's, see sync.store.hub.history_of. Entries written
# before keep ``{field: [value, version]}`` with ``clock`` NULL.

_M003 = (
    "ALTER TABLE _history ADD COLUMN clock TEXT",
    "ALTER TABLE _history ADD COLUMN prior TEXT",
)

# -- 4: confidential conflicts and evictions ----------------------------------------
# A conflict about a confidential petition or its events is confidential too:
# only the hub and ``station`` (the petition's registering station) see it
# (two replicated fields of ``conflicts``). A move of a confidential row names
# the only station that may receive its eviction (``_moves.station``; NULL:
# every station whose scope it left).

_M004 = (
    "ALTER TABLE conflicts ADD COLUMN confidential INTEGER",
    "ALTER TABLE conflicts ADD COLUMN station TEXT",
    "ALTER TABLE _moves ADD COLUMN station TEXT",
)

# -- 5: recovery ----------------------------------------------------------------------
# Hub side: a history entry of a row re-offered to a hub restored from a backup
# (PROTOCOL.md "Recovery") is marked ``recovered`` = 1 (NULL: an ordinary push);
# a replica that has pulled its scope in full from the hub's present epoch is
# marked with it (``_replicas.synced_epoch``) and re-offers no more.

_M005 = (
    "ALTER TABLE _history ADD COLUMN recovered INTEGER",
    "ALTER TABLE _replicas ADD COLUMN synced_epoch TEXT",
)

# -- 6: petition event corrections ----------------------------------------------------
# A 更正 event (kind ``correct``) names the event of the same petition it voids
# (``petition_events.voids``, a replicated field); the event log stays append-only.

_M006 = (
    "ALTER TABLE petition_events ADD COLUMN voids TEXT",
)

# -- 7: who did it --------------------------------------------------------------------
# The person who wrote a row's latest version at a station (``recorded_by``, a
# replicated field shown as 经办人, 录入人 of an event): stamped by the station's store
# on every write, for display only. Rows written before start NULL (nobody recorded).

_M007 = (
    "ALTER TABLE veterans ADD COLUMN recorded_by TEXT",
    "ALTER TABLE visits ADD COLUMN recorded_by TEXT",
    "ALTER TABLE petitions ADD COLUMN recorded_by TEXT",
    "ALTER TABLE petition_events ADD COLUMN recorded_by TEXT",
)

# -- 8: petition law ------------------------------------------------------------------
# 信访工作条例 (2022): a petition's 信访信息系统 case number, 涉及领域, 被投诉单位,
# 集体访 and its representatives, name or address unclear, the earlier petition of
# the same matter; an event's 处理方式, days, approver and 送达 date. Rows written
# before start NULL (veterans.petition says how they are folded).

_M008 = (
    "ALTER TABLE petitions ADD COLUMN case_no TEXT",
    "ALTER TABLE petitions ADD COLUMN domain TEXT",
    "ALTER TABLE petitions ADD COLUMN respondent TEXT",
    "ALTER TABLE petitions ADD COLUMN collective INTEGER",
    "ALTER TABLE petitions ADD COLUMN representatives INTEGER",
    "ALTER TABLE petitions ADD COLUMN address_unclear INTEGER",
    "ALTER TABLE petitions ADD COLUMN linked_to TEXT",
    "ALTER TABLE petition_events ADD COLUMN method TEXT",
    "ALTER TABLE petition_events ADD COLUMN days INTEGER",
    "ALTER TABLE petition_events ADD COLUMN approver TEXT",
    "ALTER TABLE petition_events ADD COLUMN served_on TEXT",
)

# -- 9: the national collection, contact duty, the area list ---------------------------
# Veterans: further categories beside the main one (codes joined by commas), 政治面貌,
# 安置方式, 就业, 重点优抚对象 type, 评残日期 and 残疾军人证号, the death date, a family
# member's soldier (a veteran id) and relationship, the contact policy and the person
# responsible (包联人/网格员), the day the file was opened (建档) and the day the person
# moved out. Visits: a follow-up's due date and the day it was done, the goods' value.
# New tables: 光荣牌 by household (plaques), must-visit triggers (contact_triggers), and the
# county's list of place names (areas: written by the hub only, one row per code, its
# ``area`` the code itself, so each station receives its own subtree). Rows written before
# start NULL.

_M009 = (
    "ALTER TABLE veterans ADD COLUMN categories TEXT",
    "ALTER TABLE veterans ADD COLUMN political_status TEXT",
    "ALTER TABLE veterans ADD COLUMN placement TEXT",
    "ALTER TABLE veterans ADD COLUMN employment TEXT",
    "ALTER TABLE veterans ADD COLUMN priority_type TEXT",
    "ALTER TABLE veterans ADD COLUMN disability_rated_on TEXT",
    "ALTER TABLE veterans ADD COLUMN disability_cert_no TEXT",
    "ALTER TABLE veterans ADD COLUMN died_on TEXT",
    "ALTER TABLE veterans ADD COLUMN soldier_id TEXT",
    "ALTER TABLE veterans ADD COLUMN relationship TEXT",
    "ALTER TABLE veterans ADD COLUMN contact_policy TEXT",
    "ALTER TABLE veterans ADD COLUMN liaison TEXT",
    "ALTER TABLE veterans ADD COLUMN registered_on TEXT",
    "ALTER TABLE veterans ADD COLUMN moved_out_on TEXT",
    "ALTER TABLE visits ADD COLUMN follow_up_due TEXT",
    "ALTER TABLE visits ADD COLUMN follow_up_done TEXT",
    "ALTER TABLE visits ADD COLUMN aid_goods_value REAL",
    '''CREATE TABLE "plaques" (
   "id" TEXT PRIMARY KEY,
   "veteran_id" TEXT,
   "area" TEXT,
   "household" TEXT,
   "address" TEXT,
   "hung_on" TEXT,
   "hung_by" TEXT,
   "signed_by" TEXT,
   "replaced_on" TEXT,
   "replace_reason" TEXT,
   "note" TEXT,
   "deleted" INTEGER DEFAULT 0,
   "seq" INTEGER NOT NULL,
   "_clock" TEXT NOT NULL,
   "_pending" TEXT,
   "_extra" TEXT,
   "_origin" TEXT,
   "_prev_seq" INTEGER,
   "recorded_by" TEXT
)''',
    '''CREATE INDEX "plaques_seq"
    ON "plaques" ("seq")''',
    '''CREATE INDEX "plaques_area_seq"
    ON "plaques" ("area", "seq")''',
    '''CREATE INDEX "plaques_veteran_id"
    ON "plaques" ("veteran_id")''',
    '''CREATE INDEX "plaques_pending" ON "plaques" (seq) WHERE _pending IS NOT NULL''',
    '''CREATE TABLE "contact_triggers" (
   "id" TEXT PRIMARY KEY,
   "veteran_id" TEXT,
   "area" TEXT,
   "kind" TEXT,
   "occurred_on" TEXT,
   "due_by" TEXT,
   "note" TEXT,
   "closed_on" TEXT,
   "deleted" INTEGER DEFAULT 0,
   "seq" INTEGER NOT NULL,
   "_clock" TEXT NOT NULL,
   "_pending" TEXT,
   "_extra" TEXT,
   "_origin" TEXT,
   "_prev_seq" INTEGER,
   "recorded_by" TEXT
)''',
    '''CREATE INDEX "contact_triggers_seq"
    ON "contact_triggers" ("seq")''',
    '''CREATE INDEX "contact_triggers_area_seq"
    ON "contact_triggers" ("area", "seq")''',
    '''CREATE INDEX "contact_triggers_veteran_id"
    ON "contact_triggers" ("veteran_id")''',
    '''CREATE INDEX "contact_triggers_due_by"
    ON "contact_triggers" ("due_by")''',
    '''CREATE INDEX "contact_triggers_pending" ON "contact_triggers" (seq) WHERE _pending IS NOT NULL''',
    '''CREATE TABLE "areas" (
   "id" TEXT PRIMARY KEY,
   "area" TEXT,
   "name" TEXT,
   "level" TEXT,
   "deleted" INTEGER DEFAULT 0,
   "seq" INTEGER NOT NULL,
   "_clock" TEXT NOT NULL,
   "_pending" TEXT,
   "_extra" TEXT,
   "_origin" TEXT,
   "_prev_seq" INTEGER
)''',
    '''CREATE INDEX "areas_seq"
    ON "areas" ("seq")''',
    '''CREATE INDEX "areas_area_seq"
    ON "areas" ("area", "seq")''',
    '''CREATE INDEX "areas_pending" ON "areas" (seq) WHERE _pending IS NOT NULL''',
)


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "initial schema", _M001, replicated=True),
    Migration(2, "origin of the last change", _M002, replicated=False),
    Migration(3, "history versions apart", _M003, replicated=False),
    Migration(4, "confidential conflicts and evictions", _M004, replicated=True),
    Migration(5, "recovery", _M005, replicated=False),
    Migration(6, "petition event corrections", _M006, replicated=True),
    Migration(7, "who did it", _M007, replicated=True),
    Migration(8, "petition law", _M008, replicated=True),
    Migration(9, "national collection, contact duty, area list", _M009, replicated=True),
)

# sync.store.rows.CURRENT_MIGRATION is this number too: a database at it opens without this module.
NEWEST = MIGRATIONS[-1].number

_BOOKKEEPING = "CREATE TABLE IF NOT EXISTS _migrations (id INTEGER PRIMARY KEY, name TEXT, applied_ms INTEGER)"


def current_version(conn: sqlite3.Connection) -> int:
    exists = conn.execute("SELECT 1 FROM sqlite_master WHERE name = '_migrations'").fetchone()
    if not exists:
        return 0
    return conn.execute("SELECT coalesce(max(id), 0) FROM _migrations").fetchone()[0]


def migrate(conn: sqlite3.Connection, *, upto: int | None = None) -> int:
    """Bring the database up to the newest migration (or to migration ``upto``:
    for tests of upgrades); returns its number. ``conn`` in autocommit mode
    (``isolation_level=None``)."""
    version = current_version(conn)
    if version > NEWEST:
        raise StoreError(f"数据库版本 {version} 比本程序支持的 {NEWEST} 新", hint="请升级 vetsync")
    target = NEWEST if upto is None else upto
    for number, name, statements, _replicated in MIGRATIONS:
        if number <= version or number > target:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(_BOOKKEEPING)
            for sql in statements:
                conn.execute(sql)
            conn.execute("INSERT INTO _migrations VALUES (?, ?, ?)", (number, name, int(time.time() * 1000)))
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        version = number
    return version
