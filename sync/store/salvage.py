"""Reading what is left of a station database: the pending edits of an old
(perhaps damaged) file, and a quick health check of a station's file.

- :func:`open_salvage` opens an old station database **read only**
  (``file:…?mode=ro``; never written, not even its WAL checkpointed) and
  :meth:`Salvage.pending_rows` yields every row whose ``_pending`` is not
  NULL as a :class:`SalvagedRow` (table, row id, ``{field: value}`` of the
  pending fields, and whether the row was made there and never acknowledged).
  It reads table by table and row by row: a damaged page stops a table's
  scan, the rows behind it are then looked up one by one (by the rowids the
  table's ``seq`` index still lists, else every rowid up to the table's last
  readable one) until a readable row is found, and the scan goes on from
  there. ``Salvage.unreadable`` counts the rows that could not be read,
  ``Salvage.unreadable_pending`` those of them the pending index listed.
- :func:`check_database` runs ``PRAGMA quick_check`` on a station's file
  (read only) and says what is wrong, or None.

Nothing here writes: applying the edits is the station store's ``write``.
"""

from __future__ import annotations

import sqlite3
from bisect import bisect_right
from pathlib import Path
from typing import Iterator, NamedTuple
from urllib.parse import quote

import orjson

from sync.engine.clocks import unpack_clock, unpack_pending
from sync.engine.errors import StoreError
from sync.engine.schema import TABLES

__all__ = ["SalvagedRow", "Salvage", "open_salvage", "check_database"]


class SalvagedRow(NamedTuple):
    table: str
    row_id: str
    fields: dict  # the pending fields and their values
    made_here: bool  # every field of the row pending with an empty base: the hub never had it


def _uri(path: Path, **params: str) -> str:
    query = "&".join(f"{k}={v}" for k, v in {"mode": "ro", **params}.items())
    return f"file:{quote(str(path.resolve()))}?{query}"


def _connect_ro(path: Path) -> sqlite3.Connection:
    """A read-only connection to an old file. With a WAL beside it (a PC that
    died holding the database open) the WAL is read too (SQLite may then make
    the -shm index file next to it); without one the file is opened immutable,
    so that nothing at all is created beside it."""
    wal = path.with_name(path.name + "-wal")
    params = {} if wal.exists() and wal.stat().st_size else {"immutable": "1"}
    conn = sqlite3.connect(_uri(path, **params), uri=True, isolation_level=None, timeout=10)
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except BaseException:
        conn.close()
        raise
    return conn


def check_database(path: str | Path) -> str | None:
    """What ``PRAGMA quick_check`` finds wrong with a database file (its first
    line), or None when it is fine. "file is not a database" and "database disk
    image is malformed" are findings too; a file that cannot be opened or is
    locked (``sqlite3.OperationalError``) is not a finding and is raised."""
    conn = sqlite3.connect(_uri(Path(path)), uri=True, isolation_level=None, timeout=30)
    try:
        rows = conn.execute("PRAGMA quick_check(1)").fetchall()
    except sqlite3.OperationalError:
        raise
    except sqlite3.DatabaseError as exc:
        return str(exc)
    finally:
        conn.close()
    first = str(rows[0][0]) if rows else "quick_check returned nothing"
    if first == "ok":
        return None
    # one line: "*** in database main ***\nPage 52: btreeInitPage() returns error code 11" -> "Page 52: …"
    return "; ".join(line.strip() for line in first.splitlines() if line.strip() and not line.startswith("***"))


def open_salvage(path: str | Path) -> "Salvage":
    """The old station database at ``path``, opened read only; StoreError when
    nothing of it can be read (missing, not a database, schema unreadable)."""
    path = Path(path)
    if not path.is_file():
        raise StoreError(f"找不到旧数据库文件：{path}")
    try:
        conn = _connect_ro(path)
    except sqlite3.Error as exc:
        raise StoreError(f"旧数据库 {path} 无法读取（{exc}），没有可找回的修改",
                         hint="可不加 --recover 直接登记") from None
    return Salvage(path, conn)


class Salvage:
    """An old station database, read only. Use as a context manager or ``close()``."""

    def __init__(self, path: Path, conn: sqlite3.Connection):
        self.path = path
        self.conn = conn
        self.unreadable = 0  # rows that could not be read (of the tables read so far)
        self.unreadable_pending: int | None = 0  # of them, rows the pending index lists (None: index unreadable)

    def __enter__(self) -> "Salvage":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.conn.close()

    def meta(self, key: str) -> str | None:
        """A value of the old file's ``_meta`` (None when absent or unreadable)."""
        try:
            row = self.conn.execute("SELECT value FROM _meta WHERE key = ?", (key,)).fetchone()
        except sqlite3.Error:
            return None
        return row[0] if row else None

    def pending_rows(self) -> Iterator[SalvagedRow]:
        """Every readable row with pending marks, table by table in rowid order."""
        for table in TABLES:
            yield from self._table(table)

    # -- one table --------------------------------------------------------

    def _table(self, table: str) -> Iterator[SalvagedRow]:
        try:
            columns = [r[1] for r in self.conn.execute(f'PRAGMA table_info("{table}")')]
        except sqlite3.DatabaseError:
            columns = []
        if not columns:  # not in this file's schema (an older one)
            return
        if "_pending" not in columns:
            raise StoreError(f"{self.path} 不是站点数据库（表 {table} 没有待上传标记）")
        at = {name: i + 1 for i, name in enumerate(columns)}  # + 1: rowid comes first
        last = 0
        lost: list[int] = []
        candidates: list[int] | None = None
        while True:
            try:
                for row in self.conn.execute(f'SELECT rowid, * FROM "{table}" WHERE rowid > ? ORDER BY rowid', (last,)):
                    last = row[0]
                    if row[at["_pending"]] is not None:
                        found = self._salvaged(table, row, at)
                        if found is not None:
                            yield found
                break
            except sqlite3.DatabaseError:
                pass
            # A damaged page: look the rows behind it up one by one until one reads.
            if candidates is None:
                candidates = self._rowids(table)
            resumed = False
            for rowid in candidates[bisect_right(candidates, last):]:
                try:
                    row = self.conn.execute(f'SELECT rowid, * FROM "{table}" WHERE rowid = ?', (rowid,)).fetchone()
                except sqlite3.DatabaseError:
                    lost.append(rowid)
                    last = rowid
                    continue
                if row is None:
                    continue
                last = rowid
                if row[at["_pending"]] is not None:
                    found = self._salvaged(table, row, at)
                    if found is not None:
                        yield found
                resumed = True
                break
            if not resumed:
                break
        self.unreadable += len(lost)
        if lost and self.unreadable_pending is not None:
            pending = self._pending_rowids(table)
            self.unreadable_pending = None if pending is None else self.unreadable_pending + len(pending & set(lost))

    def _rowids(self, table: str) -> list[int]:
        """The table's rowids as its ``seq`` index lists them (index pages only);
        where the index cannot be read, also every rowid up to the highest the
        table itself still shows."""
        found: set[int] = set()
        try:
            for (rowid,) in self.conn.execute(f'SELECT rowid FROM "{table}" INDEXED BY "{table}_seq" WHERE seq IS NOT NULL'):
                found.add(rowid)
            return sorted(found)
        except sqlite3.DatabaseError:
            pass
        top = max(found, default=0)
        try:
            for (rowid,) in self.conn.execute(f'SELECT rowid FROM "{table}" ORDER BY rowid DESC'):
                top = max(top, rowid)
                break
        except sqlite3.DatabaseError:
            pass
        return sorted(found | set(range(1, top + 1)))

    def _pending_rowids(self, table: str) -> set[int] | None:
        try:
            return {r for (r,) in self.conn.execute(
                f'SELECT rowid FROM "{table}" INDEXED BY "{table}_pending" WHERE _pending IS NOT NULL')}
        except sqlite3.Error:
            return None

    def _salvaged(self, table: str, row: tuple, at: dict[str, int]) -> SalvagedRow | None:
        """The row's pending fields; None (counted unreadable) when its marks,
        clock or extra fields do not decode (a page read whole but garbled)."""
        try:
            pending = unpack_pending(table, row[at["_pending"]])
            extra = orjson.loads(row[at["_extra"]]) if "_extra" in at and row[at["_extra"]] else {}
            fields = {name: (row[at[name]] if name in at else extra.get(name)) for name in pending}
            clock = unpack_clock(table, row[at["_clock"]]) if row[at["_clock"]] else {}
        except (ValueError, TypeError, KeyError, IndexError, AttributeError):  # orjson's error is a ValueError
            self.unreadable += 1
            if self.unreadable_pending is not None:
                self.unreadable_pending += 1
            return None
        made_here = bool(pending) and clock.keys() <= pending.keys() and not any(b for _, b in pending.values())
        return SalvagedRow(table, str(row[at["id"]]), fields, made_here)
