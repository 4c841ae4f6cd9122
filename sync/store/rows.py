"""The row gateway both stores are built on: one SQLite database of the
replicated tables (``sync.engine.schema``) with their sync columns, and the
bookkeeping tables whose names start with ``_``.

It reads and writes row states and nothing of pushing, pulling or pending
marks: the station's store (``sync.store.station.Store``) adds those on top,
and the hub's store (``sync.store.hub.HubStore``) holds one of these and adds
the hub's push, pull and history.

WAL mode, ``synchronous=FULL``: a commit that returns is on disk. Hot paths use
plain ``sqlite3`` with ``executemany``; the schema is built by numbered
migrations (``sync.store.migrations``), each applied with its record in one
transaction.
"""

from __future__ import annotations

import errno
import math
import sqlite3
import threading
from contextlib import contextmanager
from operator import itemgetter
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import orjson

from sync.engine.clocks import pack_clock, pack_pending, unpack_clock, unpack_pending
from sync.engine.errors import NotFound, StoreError, ValidationError
from sync.engine.hlc import HLC, new_replica_id
from sync.engine.rowstate import RowState
from sync.engine.labels import label_of
from sync.engine.schema import TABLES, WRITER, WRITER_TABLES, Table, writer_name

__all__ = ["RowStore", "REPLICATED", "STATION_READ_ONLY", "READ_ONLY_REASON", "DatabaseError", "disk_fault", "is_corrupt"]

#: What a failing database operation raises (for callers that turn it into a message).
DatabaseError = sqlite3.Error

_NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


def is_corrupt(exc: BaseException) -> bool:
    """Is it SQLite's SQLITE_CORRUPT or SQLITE_NOTADB ("database disk image is malformed")?"""
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(exc, sqlite3.Error) and code is not None and (code & 0xFF) in (
        sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)


def disk_fault(exc: BaseException | None) -> str | None:
    """What a failed operation says of the disk: ``"full"`` when it takes no
    more (SQLite's ``SQLITE_FULL``, "database or disk is full": the disk, or the
    size limit of :meth:`RowStore.limit_size`; an ``OSError`` ENOSPC, EDQUOT or
    EFBIG), ``"io"`` when it fails to read or write (``SQLITE_IOERR`` and its
    extended codes: ``SQLITE_IOERR_WRITE`` is what a quota or a file-size limit
    gives; an ``OSError`` EIO), else None. The error the operation was raised
    from or during counts too. SQLite rolls the transaction back on either, and
    the next one may succeed once there is room: both are worth retrying later."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, sqlite3.Error) and getattr(exc, "sqlite_errorcode", None) is not None:
            primary = exc.sqlite_errorcode & 0xFF  # the extended codes keep the primary in the low byte
            if primary == sqlite3.SQLITE_FULL:
                return "full"
            if primary == sqlite3.SQLITE_IOERR:
                return "io"
        elif isinstance(exc, OSError) and exc.errno in _NO_SPACE:
            return "full"
        elif isinstance(exc, OSError) and exc.errno == errno.EIO:
            return "io"
        exc = exc.__cause__ or exc.__context__
    return None

REPLICATED = tuple(TABLES)
#: The tables a station writes nothing of: the hub-only ones (``hub_only_writes``) but
#: ``conflicts``, whose resolution fields a station writes when it settles one. Their rows
#: reach a station by the pull only (the county's area list, for one).
STATION_READ_ONLY: frozenset[str] = frozenset(n for n, t in TABLES.items() if t.hub_only_writes and n != "conflicts")
#: Why a station may not write such a table (its own store, or the hub refusing a push).
READ_ONLY_REASON = "{label}只能由县中心写入，站点不能新增或修改，未保存"
_loads = orjson.loads  # hot paths: extra fields

#: The newest migration (``sync.store.migrations.NEWEST``, held equal by
#: tests/test_cli_imports.py): a database at it opens without loading the migrations.
CURRENT_MIGRATION = 9


def _schema_is_current(conn: sqlite3.Connection) -> bool:
    try:
        return conn.execute("SELECT max(id) FROM _migrations").fetchone()[0] == CURRENT_MIGRATION
    except sqlite3.OperationalError:  # no _migrations yet: a new database
        return False


def _dumps(obj) -> str:
    """Compact JSON text (UTF-8, not escaped) for a TEXT column."""
    return orjson.dumps(obj).decode()


def _q(name: str) -> str:
    return f'"{name}"'


class RowStore:
    """A replica's database: rows in, rows out. Not safe to share between threads without ``lock``."""

    #: Who is writing now, asked once per write that changes a row (a station's store is
    #: given ``station_node.operator.current``); None, or a None answer: nobody is recorded.
    operator: Callable[[], str | None] | None = None

    def __init__(self, path: str | Path, *, create: bool = False):
        self.path = Path(path)
        if not create and not self.path.exists():
            raise StoreError(f"数据库不存在：{self.path}", hint="请先运行 init")
        # Veterans' files: a directory we make is 0700 and a database we make is
        # 0600 whatever the umask. The file is made (empty, which SQLite takes as
        # a new database) before SQLite opens it, so it is never readable by
        # others, not even for a moment; SQLite gives the -wal and -shm files the
        # permissions of the database file. Existing files are left as they are.
        parent = self.path.parent
        if not parent.exists():
            parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            parent.chmod(0o700)
        if not self.path.exists():
            self.path.touch(mode=0o600, exist_ok=True)
            self.path.chmod(0o600)
        self.conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        self.conn.row_factory = sqlite3.Row
        # Deleted rows (evictions, replaced versions) are overwritten with zeros,
        # not left readable in free pages of the file.
        self.conn.execute("PRAGMA secure_delete=ON")
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=FULL")
        # Checkpoint the WAL every ~40 MB, not every 4 MB: an index page dirtied by
        # many commits is copied into the database once per checkpoint.
        self.conn.execute("PRAGMA wal_autocheckpoint=10000")
        self.conn.execute("PRAGMA foreign_keys=OFF")
        self.lock = threading.RLock()
        if not _schema_is_current(self.conn):  # new, older or newer than this code: the migrations decide
            from sync.store import migrations

            migrations.migrate(self.conn)
        if self.meta("replica_id") is None:
            self.conn.execute("BEGIN IMMEDIATE")
            self.set_meta("replica_id", new_replica_id())
            self.conn.execute("COMMIT")
        self.replica_id = self.meta("replica_id")
        self.hlc = HLC(self.replica_id, last=self.meta("hlc_last") or "")
        self._sql_cache: dict[tuple[str, str], str] = {}

    def close(self) -> None:
        self.conn.close()

    def limit_size(self, max_bytes: int) -> int:
        """Let this connection grow the database to at most ``max_bytes`` (SQLite's
        ``max_page_count``; the hub's ``serve --max-db-mb``): a write beyond fails
        with ``SQLITE_FULL`` and its transaction rolls back, as on a full disk.
        SQLite never sets the limit below the database's present size. Returns the
        limit in force, in bytes."""
        page = self.conn.execute("PRAGMA page_size").fetchone()[0]
        pages = self.conn.execute(f"PRAGMA max_page_count = {max(1, math.ceil(max_bytes / page))}").fetchone()[0]
        return pages * page

    # -- transactions and bookkeeping -------------------------------------

    @contextmanager
    def transaction(self, mode: str = "IMMEDIATE", *, durable: bool = True) -> Iterator[sqlite3.Connection]:
        """One transaction (a nested call joins the outer one). ``durable=False``
        commits without waiting for the disk: for bookkeeping nobody was promised
        (sync statistics); WAL keeps commits in order, so the next durable
        commit makes it durable too."""
        with self.lock:
            if self.conn.in_transaction:  # nested: join the outer one
                yield self.conn
                return
            if not durable:
                self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.execute(f"BEGIN {mode}")
            try:
                yield self.conn
                if mode != "DEFERRED":
                    self.set_meta("hlc_last", self.hlc.last)
                self.conn.execute("COMMIT")
            except BaseException:
                # SQLite may have rolled back already (it does on a full disk or an
                # I/O error, even at COMMIT): roll back what is still open, so no
                # transaction is left dangling and the error that stopped this one
                # is the one the caller sees (not "cannot rollback").
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise
            finally:
                if not durable:
                    self.conn.execute("PRAGMA synchronous=FULL")

    def meta(self, key: str, default: str | None = None) -> str | None:
        row = self.conn.execute("SELECT value FROM _meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: Any) -> None:
        self.conn.execute(
            "INSERT INTO _meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, None if value is None else str(value)),
        )

    def next_seqs(self, n: int) -> range:
        """Allocate ``n`` change sequence numbers (inside a write transaction)."""
        last = int(self.meta("seq", "0"))
        self.set_meta("seq", last + n)
        return range(last + 1, last + n + 1)

    @property
    def last_seq(self) -> int:
        return int(self.meta("seq", "0"))

    # -- rows -------------------------------------------------------------

    def _columns(self, t: Table) -> tuple[str, ...]:
        return ("id", *t.data_fields, "seq", "_clock", "_pending", "_extra", "_origin", "_prev_seq")

    def _upsert_sql(self, t: Table) -> str:
        key = (t.name, "upsert")
        if key not in self._sql_cache:
            cols = self._columns(t)
            sets = ", ".join(f"{_q(c)} = excluded.{_q(c)}" for c in cols[1:])
            self._sql_cache[key] = (
                f"INSERT INTO {_q(t.name)} ({', '.join(map(_q, cols))}) VALUES ({', '.join('?' * len(cols))}) "
                f"ON CONFLICT(id) DO UPDATE SET {sets}"
            )
        return self._sql_cache[key]

    def read_states(self, table: str, where: str = "1", params: Iterable = ()) -> Iterator[tuple[RowState, dict]]:
        """(state, pending) of each row of ``table`` matching a SQL condition
        (rows read as plain tuples, fields picked by one C-level getter)."""
        t = TABLES[table]
        cur = self.conn.cursor()
        cur.row_factory = None
        cur.execute(f"SELECT * FROM {_q(t.name)} WHERE {where}", tuple(params))
        read = _state_reader(t, cur.description)
        for row in cur:
            yield read(row)

    def _row_params(self, t: Table, state: RowState, seq: int, pending: dict | None, origin: str | None = None,
                    clock: str | None = None) -> tuple:
        values = state.values
        extra = None if values.keys() <= t.by_name.keys() else {k: values[k] for k in values.keys() - t.by_name.keys()}
        return (
            state.id,
            *map(values.get, t.data_fields),
            seq,
            clock or pack_clock(t.name, state.clock),
            pack_pending(t.name, pending) if pending else None,
            _dumps(extra) if extra else None,
            origin,
            state.seq if origin else None,
        )

    def save_rows(self, items: Iterable[tuple[RowState, dict | None]], *, origin: str | None = None,
                  origins: list[str | None] | None = None, clocks: list[str | None] | None = None) -> range:
        """Write rows (state, pending) with fresh seqs, in order; inside a
        transaction. ``origin`` (or one per row in ``origins``): the replica
        whose push made this change (hub side); ``clocks``: the rows' clocks
        already packed, where known. Returns the seqs given."""
        by_table: dict[str, list] = {}
        items = list(items)
        seqs = self.next_seqs(len(items))
        for i, ((state, pending), seq) in enumerate(zip(items, seqs)):
            t = TABLES[state.table]
            row_origin = origins[i] if origins is not None else origin
            by_table.setdefault(t.name, []).append(
                self._row_params(t, state, seq, pending, row_origin, clocks[i] if clocks is not None else None))
        for name, params in by_table.items():
            self.conn.executemany(self._upsert_sql(TABLES[name]), params)
        return seqs

    def load(self, table: str, row_id: str) -> tuple[RowState, dict] | None:
        found = list(self.read_states(table, "id = ?", (row_id,)))  # read to the end: the statement is done
        return found[0] if found else None

    def load_many(self, table: str, ids: list[str]) -> dict[str, tuple[RowState, dict]]:
        out: dict[str, tuple[RowState, dict]] = {}
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            for state, pending in self.read_states(table, f"id IN ({','.join('?' * len(chunk))})", chunk):
                out[state.id] = (state, pending)
        return out

    def get(self, table: str, row_id: str, *, include_deleted: bool = False) -> dict:
        """A record as a plain dict (``id`` + fields), or NotFound."""
        loaded = self.load(table, row_id)
        if loaded is None or (loaded[0].deleted and not include_deleted):
            raise NotFound(f"找不到{label_of(table)}记录：{row_id}")
        return {"id": loaded[0].id, **loaded[0].values}

    def select(self, table: str, where: str = "1", params: Iterable = (), *, order: str = "seq", limit: int | None = None) -> list[dict]:
        """Live records matching a SQL condition, as dicts (for reads by the CLI layers)."""
        sql = f"deleted IS NOT 1 AND ({where}) ORDER BY {order}"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [{"id": s.id, **s.values} for s, _ in self.read_states(table, sql, params)]

    # -- stamped writes ----------------------------------------------------

    def stamp(self, table: str, row_id: str, changes: dict[str, Any], *, create: bool = False,
              pending: bool = True) -> RowState:
        """Write fields of one row as this replica, inside a transaction: one
        HLC version for the write, an unchanged value no write. ``pending``: mark
        the fields as not yet acknowledged (a station's edit); the hub, the
        authority, writes without marks."""
        t = TABLES[table]
        loaded = self.load(table, row_id)
        if create and loaded is not None:
            raise ValidationError(f"{label_of(t.name)}记录已存在：{row_id}")
        if not create and loaded is None:
            raise NotFound(f"找不到{label_of(t.name)}记录：{row_id}")
        state, marks = loaded if loaded else (RowState(table, row_id, {}, {}), {})
        if create:
            changes = {"deleted": 0, **changes}
        touched = False
        version = self.hlc.tick()  # one write, one version: its fields share it
        for name, value in changes.items():
            if not create and state.values.get(name) == value and name in state.clock:
                continue
            base = marks[name][1] if name in marks else state.clock.get(name, "")
            state.values[name] = value
            state.clock[name] = version
            if pending:
                marks[name] = (version, base)
            touched = True
        if touched and self.operator is not None and table in WRITER_TABLES:
            # The person is stamped with the write's version even when the same person
            # wrote the last one: every version names its writer (the hub takes the
            # newest, files no conflict over it: sync.store.hub).
            who = writer_name(self.operator())
            if who is not None:
                base = marks[WRITER][1] if WRITER in marks else state.clock.get(WRITER, "")
                state.values[WRITER] = who
                state.clock[WRITER] = version
                if pending:
                    marks[WRITER] = (version, base)
        if touched:
            self.save_rows([(state, marks or None)])
        return state


_READERS: dict[tuple[str, tuple[str, ...]], Callable[[tuple], tuple[RowState, dict]]] = {}


def _state_reader(t: Table, description) -> Callable[[tuple], tuple[RowState, dict]]:
    """A function of a ``SELECT *`` row tuple to (state, pending); unknown fields come from ``_extra``."""
    columns = tuple(d[0] for d in description)
    key = (t.name, columns)
    if key not in _READERS:
        at = {name: i for i, name in enumerate(columns)}
        fields = t.data_fields
        get_values = itemgetter(*(at[n] for n in fields))
        i_id, i_seq, i_clock, i_pending, i_extra = (at[c] for c in ("id", "seq", "_clock", "_pending", "_extra"))
        table = t.name

        def read(row: tuple) -> tuple[RowState, dict]:
            values = dict(zip(fields, get_values(row)))
            if row[i_extra]:
                values.update(_loads(row[i_extra]))
            state = RowState(table, row[i_id], values, unpack_clock(table, row[i_clock]), seq=row[i_seq])
            return state, (unpack_pending(table, row[i_pending]) if row[i_pending] else {})

        _READERS[key] = read
    return _READERS[key]


