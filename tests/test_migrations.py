"""Frozen migrations (sync.store.migrations) and the schema version.

- each migration's DDL is literal and never changes (a fingerprint per migration);
- ``sync.engine.schema.TABLES`` declares exactly the replicated columns the
  migrations make, and ``SCHEMA_VERSION`` is the newest migration that changed
  them;
- a database made at every earlier migration, filled the way the code of that
  day wrote it (its own SQL, not today's Store), upgrades to the schema of a
  fresh database and keeps every datum — rows, pending marks, cursor — and
  every pending edit still reaches the hub;
- a database newer than the code is refused; a failed migration leaves the
  database at the previous one;
- a row carrying a field this code does not know (a newer schema's) is kept
  in ``_extra`` and sent on unchanged.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import pytest

from enginekit import COUNTY, VILLAGE_A, Network
from sync.store import migrations
from sync.engine.errors import StoreError
from sync.store.hub import HubStore, history_of
from sync.store.local_hub import LocalHub
from sync.engine.replicate import sync_once
from sync.engine.rowstate import RowState
from sync.engine.schema import SCHEMA_VERSION, SYNC_COLUMNS, TABLES
from sync.store.station import Store

NEWEST = migrations.NEWEST

# sha256 of each migration's schema (sqlite_master text, exactly) at migration
# N. A shipped migration is never edited: a change is a new migration, with
# its fingerprint added here. Migration 1's text is, byte for byte, what
# sqlite-utils generated for it before it was frozen.
FINGERPRINTS = {
    1: "51e737f69f85fdb6b13793053764d86d79fd7226be8d1ea05b8b0059bb7048c4",
    2: "8417f2d1bde371b25f89cd569940d84408d168e54aa1dcad525f3f57787bf948",
    3: "5d27a0ce0ef6d13cdd21bded012a2c9662efbf9bba1b14fce3435284f4db194a",
    4: "2172c942c56324b77f97bd332840ee1caca26a133168a669b6f8b5a89538da44",
    5: "e0019ec8febbfc38e75d1f2ce6e0ff56b49de427fdf05de02c7f6409b424859e",
    6: "a63f7f8a4ba1d54ef7300bb5f2532a260a107aa9f59fe0a585ac345ef44a5cc9",
    7: "3d16a9a80eb1ccbf4f82427ba6e19766df0915a9e83885d71d33a0172add8b7b",
    8: "7b48b7ad58c70f89560c20046d02f1a4e4d2f8103c4cdd70ba3efd120e85f005",
    9: "c00cd08ce2b27e021dc41404eccf38232c5f9573ec45ce4f1ce109644aea1948",
}


def _db(n: int | None = None) -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    if n != 0:
        migrations.migrate(conn, upto=n)
    return conn


def _master(conn: sqlite3.Connection) -> list[tuple[str, str, str, str | None]]:
    """The schema: every object with its SQL, whitespace normalised, by name."""
    rows = conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name")
    return [(t, n, tbl, " ".join(sql.split()) if sql else None) for t, n, tbl, sql in rows]


def _fingerprint(conn: sqlite3.Connection) -> str:
    rows = conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY rowid").fetchall()
    return hashlib.sha256(json.dumps(rows, ensure_ascii=False).encode()).hexdigest()


def _replicated_columns(conn: sqlite3.Connection) -> dict[str, dict[str, str]]:
    """``{table: {column: type}}`` of the replicated tables (bookkeeping tables
    start with ``_``), without the sync and bookkeeping columns (``seq``, names
    starting with ``_``): the fields a replicated row carries."""
    out = {}
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"):
        if name.startswith(("_", "sqlite_")):
            continue
        out[name] = {c[1]: c[2] for c in conn.execute(f'PRAGMA table_info("{name}")')
                     if c[1] != "seq" and not c[1].startswith("_")}
    return out


# -- frozen DDL, schema and version --------------------------------------------


def test_migrations_are_numbered_one_by_one():
    assert [m.number for m in migrations.MIGRATIONS] == list(range(1, NEWEST + 1))
    assert set(FINGERPRINTS) == set(range(1, NEWEST + 1)), "add the new migration's fingerprint"


@pytest.mark.parametrize("n", range(1, NEWEST + 1))
def test_a_shipped_migration_never_changes(n):
    assert _fingerprint(_db(n)) == FINGERPRINTS[n], (
        f"migration {n} now makes another schema: a shipped migration is never edited, add a new one")


def test_migration_1_is_the_ddl_sqlite_utils_made():
    """A few of the exact texts (the fingerprint holds all of them)."""
    master = dict(_db(1).execute("SELECT name, sql FROM sqlite_master"))
    assert master["_meta"] == 'CREATE TABLE "_meta" (\n   "key" TEXT PRIMARY KEY,\n   "value" TEXT\n)'
    assert master["veterans_area_seq"] == 'CREATE INDEX "veterans_area_seq"\n    ON "veterans" ("area", "seq")'
    assert '   "deleted" INTEGER DEFAULT 0,\n   "seq" INTEGER NOT NULL,\n   "_clock" TEXT NOT NULL,\n' in master["visits"]
    assert master["sqlite_autoindex_veterans_1"] is None


def test_schema_declares_exactly_the_replicated_columns_the_migrations_make():
    columns = _replicated_columns(_db())
    assert set(columns) == set(TABLES), "a replicated table without its migration (or a migration's table not in sync.engine.schema)"
    for name, t in TABLES.items():
        declared = {f.name: f.sql_type for f in t.fields}
        missing = declared.keys() - columns[name].keys()
        undeclared = columns[name].keys() - declared.keys()
        assert not missing, f"{name}: sync.engine.schema declares {sorted(missing)} but no migration creates them"
        assert not undeclared, f"{name}: a migration creates {sorted(undeclared)} but sync.engine.schema lacks them"
        assert columns[name] == declared, f"{name}: column types differ from sync.engine.schema"


def test_replicated_tables_have_their_sync_columns():
    conn = _db()
    for name in TABLES:
        cols = {c[1]: c for c in conn.execute(f'PRAGMA table_info("{name}")')}
        assert {*SYNC_COLUMNS, "_origin", "_prev_seq"} <= cols.keys()
        assert cols["id"][5] == 1 and cols["seq"][3] == 1 and cols["_clock"][3] == 1  # pk, NOT NULL
        assert cols["deleted"][4] == "0"


def test_schema_version_is_the_newest_migration_that_changed_the_replicated_fields():
    """SCHEMA_VERSION (sync.engine.schema): a migration that adds or changes a field
    of a replicated table must come with SCHEMA_VERSION set to its number; a
    bookkeeping migration leaves it alone."""
    conn = _db(0)
    before: dict = {}
    changed = []
    for m in migrations.MIGRATIONS:
        migrations.migrate(conn, upto=m.number)
        now = _replicated_columns(conn)
        if now != before:
            changed.append(m.number)
        assert m.replicated == (now != before), (
            f"migration {m.number}: replicated={m.replicated}, but it "
            f"{'changes' if now != before else 'does not change'} the replicated fields")
        before = now
    assert SCHEMA_VERSION == changed[-1], (
        f"migration {changed[-1]} changed the replicated fields: set sync.engine.schema.SCHEMA_VERSION = {changed[-1]}")


# -- refusal and atomicity -------------------------------------------------------


def test_a_database_newer_than_the_code_is_refused(tmp_path):
    path = tmp_path / "s.db"
    Store(path, create=True).close()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("INSERT INTO _migrations VALUES (?, ?, ?)", (NEWEST + 1, "from a newer vetsync", 0))
    before = _master(conn)
    with pytest.raises(StoreError) as err:
        Store(path)
    message = str(err.value)
    assert message == f"数据库版本 {NEWEST + 1} 比本程序支持的 {NEWEST} 新（请升级 vetsync）"
    assert "\n" not in message
    with pytest.raises(StoreError):
        migrations.migrate(conn)
    assert _master(conn) == before and migrations.current_version(conn) == NEWEST + 1


def test_a_failed_migration_leaves_the_previous_one():
    """Migration 4's third statement fails (its column is already there): its
    first two are undone with it, and the database stays at migration 3."""
    conn = _db(3)
    conn.execute("ALTER TABLE _moves ADD COLUMN station TEXT")
    with pytest.raises(sqlite3.OperationalError):
        migrations.migrate(conn)
    assert migrations.current_version(conn) == 3
    assert "confidential" not in {c[1] for c in conn.execute("PRAGMA table_info(conflicts)")}
    assert not conn.in_transaction


def test_migrate_upto_stops_there():
    conn = _db(2)
    assert migrations.current_version(conn) == 2
    assert "clock" not in {c[1] for c in conn.execute("PRAGMA table_info(_history)")}
    assert migrations.migrate(conn) == NEWEST


# -- upgrades of databases made at every earlier migration ---------------------

ME = "00000000000000a1"  # the station's replica id
HUB = "00000000000000b2"  # the hub's
V1 = f"0001767225600000-0000-{ME}"  # 2026-01-01, pushed and acknowledged
VH = f"0001767400000000-0000-{HUB}"  # the hub's conflict record
V2 = f"0001767600000000-0000-{ME}"  # new rows, not yet pushed
V3 = f"0001767700000000-0001-{ME}"  # an edit of a synced row, not yet pushed
AT_MS = 1767700000000

# (table, id, seq, values, extra, clock, pending, compact clock, compact pending):
# the rows of a station that has synced once and worked offline since. Compact
# forms (sync.engine.clocks, from migration 3's day): None is the JSON form (a clock
# naming a field the schema lacks).
_V1_VALUES = {"id_number": "440902195001010013", "name": "张三", "area": VILLAGE_A, "deleted": 0}
_V2_VALUES = {"id_number": "440902196002020023", "name": "李四", "area": VILLAGE_A, "deleted": 0}
_X1_VALUES = {"veteran_id": "v1", "area": VILLAGE_A, "visited_on": "2026-01-05", "kind": "home",
              "summary": "电话回访，腿伤复发", "aid_cash": 500.0, "deleted": 0}
_P1_VALUES = {"petitioner": "王五", "area": VILLAGE_A, "station": VILLAGE_A, "channel": "visit", "group_size": 3,
              "received_on": "2026-01-06", "summary": "反映优待金发放", "confidential": 0, "deleted": 0}
_E1_VALUES = {"petition_id": "p1", "area": VILLAGE_A, "at": "2026-01-06", "kind": "register", "deleted": 0}
_C1_VALUES = {"kind": "concurrent_edit", "table": "veterans", "row_id": "v1", "field": "name", "area": VILLAGE_A,
              "winner_value": "张三", "winner_version": V1, "loser_value": "张叁", "loser_version": VH,
              "detected_at": "2026-01-04T08:00:00+08:00", "status": "open", "deleted": 0}
_X1_CLOCK = {**dict.fromkeys(_X1_VALUES, V1), "summary": V3, "aid_cash": V3}
_X1_PENDING = {"summary": (V3, V1), "aid_cash": (V3, V1)}
ROWS = [
    ("veterans", "v1", 1, _V1_VALUES, {"rank": "上士"}, dict.fromkeys([*_V1_VALUES, "rank"], V1), {}, None, None),
    ("conflicts", "c1", 2, _C1_VALUES, None, dict.fromkeys(_C1_VALUES, VH), {}, f"{VH}:9b7f", None),
    ("veterans", "v2", 3, _V2_VALUES, None, dict.fromkeys(_V2_VALUES, V2), dict.fromkeys(_V2_VALUES, (V2, "")),
     f"{V2}:800083", f"{V2},:800083"),
    ("visits", "x1", 4, _X1_VALUES, None, _X1_CLOCK, _X1_PENDING, f"{V1}:1033 {V3}:280", f"{V3},{V1}:280"),
    ("petitions", "p1", 5, _P1_VALUES, None, dict.fromkeys(_P1_VALUES, V2), dict.fromkeys(_P1_VALUES, (V2, "")),
     f"{V2}:1afa", f"{V2},:1afa"),
    ("petition_events", "e1", 6, _E1_VALUES, None, dict.fromkeys(_E1_VALUES, V2), dict.fromkeys(_E1_VALUES, (V2, "")),
     f"{V2}:10f", f"{V2},:10f"),
]
META = {"replica_id": ME, "seq": "8", "cursor": "42", "hlc_last": V3, "station": VILLAGE_A, "scope": VILLAGE_A,
        "county": COUNTY}
REJECTED = ("visits", "x0", VILLAGE_A, {"summary": "春节慰问"}, "记录已移出本站范围，本地未同步的修改未能上传", AT_MS)


def _fill(conn: sqlite3.Connection, n: int) -> None:
    """Rows written the way the code of migration ``n``'s day wrote them, with
    that day's SQL. The database holds both sides' bookkeeping (the schema is
    one): a station's pending marks, cursor and rejected edits, and a hub's
    history, moves, replicas and row origins.

    Days 1-2: clocks and pending marks as JSON, history as ``{field: [value,
    version]}``. Day 3: compact clocks (sync.engine.clocks), history with ``clock``
    (a row's first entry has ``fields`` NULL). Day 4: conflicts carry
    ``confidential`` and ``station``, moves their ``station``. Day 5 writes as day 4
    (its two columns, ``_history.recovered`` and ``_replicas.synced_epoch``, start NULL),
    and day 6 as day 5 (``petition_events.voids`` is set by a 更正 only, of which this
    station has none), and day 7 as day 6 (``recorded_by`` is stamped only by a write
    with a person acting, ``Store.operator``: these rows were written by a store
    without one; tests/test_operator.py upgrades a database of day 6 and writes them),
    and day 8 as day 7 (the petition-law fields of migration 8 start NULL: rows
    written before have none; veterans.petition folds them as before), and day 9 as day 8
    (the fields of migration 9 start NULL and its new tables empty)."""
    if n == 0:
        return
    if n > 9:
        pytest.fail(f"write the fill of migration {n}'s day: how the code of that day writes its rows")
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO _meta (key, value) VALUES (?, ?)", META.items())
    for table, row_id, seq, values, extra, clock, pending, packed, packed_pending in ROWS:
        if n >= 4 and table == "conflicts":
            values = {**values, "confidential": 0}
            clock = {**clock, "confidential": VH}
            packed = f"{VH}:19b7f"
        if n <= 2:
            clock_text = json.dumps(clock, separators=(",", ":"))
            pending_text = json.dumps(pending, separators=(",", ":")) if pending else None
        else:
            clock_text = packed or json.dumps(clock, separators=(",", ":"))
            pending_text = packed_pending
        cols = {"id": row_id, **values, "seq": seq, "_clock": clock_text, "_pending": pending_text,
                "_extra": json.dumps(extra, ensure_ascii=False) if extra else None}
        if n >= 2:  # a hub's row: which replica's push made its last change
            cols.update({"_origin": ME if table != "conflicts" else None, "_prev_seq": 0 if table != "conflicts" else None})
        conn.execute(f'INSERT INTO "{table}" ({", ".join(map(json.dumps, cols))}) VALUES ({", ".join("?" * len(cols))})',
                     tuple(cols.values()))
    table, row_id, area, fields, reason, at_ms = REJECTED
    conn.execute('INSERT INTO _rejected ("table", row_id, area, fields, reason, at_ms) VALUES (?, ?, ?, ?, ?, ?)',
                 (table, row_id, area, json.dumps(fields, ensure_ascii=False), reason, at_ms))
    v1_history = {name: [value, V1] for name, value in _V1_VALUES.items()}
    if n <= 2:
        conn.execute('INSERT INTO _history (seq, "table", row_id, station, at_ms, fields) VALUES (?, ?, ?, ?, ?, ?)',
                     (1, "veterans", "v1", VILLAGE_A, AT_MS, json.dumps(v1_history, ensure_ascii=False)))
    else:
        conn.execute('INSERT INTO _history (seq, "table", row_id, station, at_ms, fields, clock, prior) '
                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (1, "veterans", "v1", VILLAGE_A, AT_MS, None, f"{V1}:800083", None))
    if n <= 3:
        conn.execute('INSERT INTO _moves (seq, "table", row_id, old_area, new_area) VALUES (?, ?, ?, ?, ?)',
                     (7, "veterans", "v9", VILLAGE_A, "440902002001"))
    else:
        conn.execute('INSERT INTO _moves (seq, "table", row_id, old_area, new_area, station) VALUES (?, ?, ?, ?, ?, ?)',
                     (7, "veterans", "v9", VILLAGE_A, "440902002001", None))
    conn.execute("INSERT INTO _replicas (replica_id, station, first_seen_ms) VALUES (?, ?, ?)", (ME, VILLAGE_A, AT_MS))
    conn.execute("COMMIT")


def _contents(conn: sqlite3.Connection) -> dict[str, tuple[list[str], list[tuple]]]:
    """Every table: its columns and its rows in rowid order."""
    out = {}
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
        cur = conn.execute(f'SELECT * FROM "{name}" ORDER BY rowid')
        out[name] = ([d[0] for d in cur.description], cur.fetchall())
    return out


def _made_at(path: Path, n: int) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    if n:
        migrations.migrate(conn, upto=n)
    _fill(conn, n)
    return conn


@pytest.mark.parametrize("n", range(NEWEST + 1))  # NEWEST: no upgrade, the fill of today read by today's code
def test_upgrade_gives_the_fresh_schema_and_keeps_every_datum(tmp_path, n):
    conn = _made_at(tmp_path / "s.db", n)
    assert migrations.current_version(conn) == n
    before = _contents(conn)
    assert migrations.migrate(conn) == NEWEST
    assert _master(conn) == _master(_db())
    after = _contents(conn)
    for name, (columns, rows) in before.items():
        new_columns, new_rows = after[name]
        assert new_columns[: len(columns)] == columns, f"{name}: columns moved"
        if name == "_migrations":
            assert new_rows[: len(rows)] == rows and [r[0] for r in new_rows] == list(range(1, NEWEST + 1))
            continue
        assert [r[: len(columns)] for r in new_rows] == rows, f"{name}: a datum changed in the upgrade"
        assert all(v is None for r in new_rows for v in r[len(columns):]), f"{name}: a new column is not empty"
    conn.close()


def _expected_rows(n: int) -> list[tuple]:
    return [] if n == 0 else ROWS


@pytest.mark.parametrize("n", range(NEWEST + 1))
def test_after_the_upgrade_the_store_reads_every_row_and_pending_edit(tmp_path, n):
    _made_at(tmp_path / "s.db", n).close()
    store = Store(tmp_path / "s.db")  # opening migrates
    rows = _expected_rows(n)
    for table, row_id, _seq, values, extra, clock, pending, *_ in rows:
        state, got_pending = store.load(table, row_id)
        if n >= 4 and table == "conflicts":
            values, clock = {**values, "confidential": 0}, {**clock, "confidential": VH}
        assert {k: state.values[k] for k in clock} == {**values, **(extra or {})}
        assert all(state.values[k] is None for k in TABLES[table].data_fields if k not in clock)
        assert state.clock == clock and got_pending == pending
    pending_rows = {(r[0], r[1]): r for r in rows if r[6]}
    sent = {(s.table, s.id): s for batch in store.pending_batches(batch_size=2) for s in batch}
    assert sent.keys() == pending_rows.keys(), "an upgrade lost (or invented) a pending edit"
    for key, (_t, _id, _seq, values, _extra, _clock, pending, *_) in pending_rows.items():
        state = sent[key]
        assert {f: (state.clock[f], state.base[f]) for f in pending} == pending
        assert {f: state.values[f] for f in pending} == {f: values[f] for f in pending}
    assert store.cursor == (42 if n else 0) and store.last_seq == (8 if n else 0)
    if n:
        assert store.replica_id == ME and store.meta("scope") == VILLAGE_A
        [rejected] = store.rejected()
        assert (rejected["table"], rejected["row_id"], rejected["fields"]) == ("visits", "x0", {"summary": "春节慰问"})
        [entry] = history_of(store, "v1")
        assert entry.fields == {name: (value, V1) for name, value in _V1_VALUES.items()}
        assert store.conn.execute("SELECT station FROM _replicas WHERE replica_id = ?", (ME,)).fetchone()[0] == VILLAGE_A
    store.close()


@pytest.mark.parametrize("n", range(1, NEWEST + 1))
def test_after_the_upgrade_every_pending_edit_reaches_the_hub(tmp_path, n):
    """The upgraded station syncs with a hub that holds what it pushed before
    (v1, x1 as of V1): every pending edit is acknowledged, none refused."""
    _made_at(tmp_path / "s.db", n).close()
    store = Store(tmp_path / "s.db")
    hub = HubStore(tmp_path / "hub.db", create=True)
    x1_before = {**_X1_VALUES, "summary": "入户走访", "aid_cash": 300.0}
    hub.apply_push([RowState("veterans", "v1", dict(_V1_VALUES), dict.fromkeys(_V1_VALUES, V1), dict.fromkeys(_V1_VALUES, "")),
                    RowState("visits", "x1", x1_before, dict.fromkeys(x1_before, V1), dict.fromkeys(x1_before, ""))],
                   station=VILLAGE_A, scope=VILLAGE_A, replica_id=ME)
    report = sync_once(store, LocalHub(hub, VILLAGE_A), batch_rows=2)
    assert report.rejected == 0 and store.pending_count() == 0 and not store.rejected()[1:]
    for table, row_id, _seq, values, _extra, _clock, pending, *_ in ROWS:
        if pending:
            state = hub.load(table, row_id)[0]
            assert {f: state.values[f] for f in pending} == {f: values[f] for f in pending}
            assert {f: state.clock[f] for f in pending} == {f: v for f, (v, _b) in pending.items()}
    store.close()
    hub.close()


# -- a field of a newer schema ---------------------------------------------------


def test_a_field_this_code_does_not_know_is_kept_and_sent_on(tmp_path):
    """The hub's row carries ``service_medal``, a field of a schema newer than
    the stations' (in this process no side declares it, so both keep it as a
    newer field): a station pulls it into ``_extra``, edits another field and
    pushes; the hub still has the field with its version, and another station
    receives it unchanged."""
    net = Network(tmp_path, {"a": VILLAGE_A, "b": VILLAGE_A})
    a, b = net.stations["a"], net.stations["b"]
    a.write("veterans", "v1", {"id_number": "440902195001010013", "name": "张三", "area": VILLAGE_A,
                               "phone": "13800000000"}, create=True)
    assert net.sync("a").rejected == 0
    net.hub.write_as_hub("veterans", "v1", {"service_medal": "三等功"})
    medal_version = net.hub.load("veterans", "v1")[0].clock["service_medal"]

    net.sync("a")
    raw = a.conn.execute("SELECT _extra FROM veterans WHERE id = 'v1'").fetchone()[0]
    assert json.loads(raw) == {"service_medal": "三等功"}
    assert "service_medal" not in {c[1] for c in a.conn.execute("PRAGMA table_info(veterans)")}
    assert a.load("veterans", "v1")[0].clock["service_medal"] == medal_version

    a.write("veterans", "v1", {"phone": "13900000000"})
    [[pushed]] = list(a.pending_batches())
    assert "service_medal" not in pushed.clock  # not the station's edit: not pushed
    assert net.sync("a").rejected == 0 and a.pending_count() == 0

    at_hub = net.hub.load("veterans", "v1")[0]
    assert at_hub.values["phone"] == "13900000000"
    assert at_hub.values["service_medal"] == "三等功" and at_hub.clock["service_medal"] == medal_version
    assert json.loads(a.conn.execute("SELECT _extra FROM veterans WHERE id = 'v1'").fetchone()[0]) == {"service_medal": "三等功"}

    net.sync("b")
    at_b = b.load("veterans", "v1")[0]
    assert at_b.values["service_medal"] == "三等功" and at_b.clock["service_medal"] == medal_version
    assert at_b.values["phone"] == "13900000000"
    net.close()
