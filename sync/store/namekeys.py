"""The veterans' name keys: a station-local cache, kept by the store, of each
veteran's name in a sort and search form (pinyin, made by the domain:
``veterans.pinyin.name_key``), so that a list of 20,000 names comes out in
pinyin order from an index and a pinyin search (``zs``, ``zhangsan``) needs no
pinyin at read time.

``_name_keys`` (``id`` of the veteran, the ``name`` the key was made from,
``sort_key``, ``initials``, ``spelled``) is a cache, not part of the
replicated schema: made by this module when first needed (``CREATE TABLE IF
NOT EXISTS``), derived from ``veterans`` alone, never replicated, in no
digest, and safe to drop at any time (it is rebuilt on the next read).
A bookkeeping table (its name starts with ``_``), so that the migrations,
the sync and the scope checksums never see it.

Freshness goes by the store's change sequence: ``_meta.name_keys_seq`` is
the ``seq`` up to which every veteran's name has a key. Every write of a row
gives it a new seq (local writes, pulled rows, imports, repairs alike), so
:func:`refresh` finds the rows written since with the ``seq`` index, keys the
names that changed, and moves the mark — one indexed look-up when nothing
changed. Keys of rows that left the store (evictions) are dropped then too.
"""

from __future__ import annotations

from typing import Callable

from sync.store.rows import RowStore

__all__ = ["MARK", "KeyOf", "refresh", "ensure_table", "keyed"]

#: ``_meta`` key: the seq up to which the veterans' names are keyed.
MARK = "name_keys_seq"

#: name -> (sort_key, initials, spelled)
KeyOf = Callable[[str], tuple[str, str, str]]

_DDL = (
    '''CREATE TABLE IF NOT EXISTS "_name_keys" (
   "id" TEXT PRIMARY KEY,
   "name" TEXT,
   "sort_key" TEXT NOT NULL,
   "initials" TEXT,
   "spelled" TEXT
)''',
    'CREATE INDEX IF NOT EXISTS "_name_keys_sort" ON "_name_keys" ("sort_key", "id")',
    # a pinyin search walks the names in order reading only the keys (a covering index)
    'CREATE INDEX IF NOT EXISTS "_name_keys_search" ON "_name_keys" ("sort_key", "id", "initials", "spelled")',
)


def _has_table(store: RowStore) -> bool:
    return store.conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_name_keys'").fetchone() is not None


def ensure_table(store: RowStore) -> None:
    """Make the cache table (inside a write transaction)."""
    for sql in _DDL:
        store.conn.execute(sql)


def _mark(store: RowStore) -> int:
    return int(store.meta(MARK, "0") or 0)


def keyed(store: RowStore) -> bool:
    """Is every veteran's name keyed (nothing written since the last refresh)?"""
    if not _has_table(store):
        return False
    return store.conn.execute("SELECT 1 FROM veterans WHERE seq > ? LIMIT 1", (_mark(store),)).fetchone() is None


def refresh(store: RowStore, key_of: KeyOf, *, chunk: int = 2_000) -> int:
    """Key the names written since the last refresh; returns how many were (re)keyed.

    Nothing is written when nothing changed. Not fsynced (``durable=False``):
    the keys are a cache, and one lost in a power cut is made again."""
    if keyed(store):
        return 0
    done = 0
    with store.transaction(durable=False):
        ensure_table(store)
        mark = _mark(store)
        top = store.last_seq
        cur = store.conn.execute(
            "SELECT v.id, v.name FROM veterans v LEFT JOIN _name_keys k ON k.id = v.id "
            "WHERE v.seq > ? AND (k.id IS NULL OR k.name IS NOT v.name)", (mark,))
        while rows := cur.fetchmany(chunk):
            store.conn.executemany(
                "INSERT INTO _name_keys (id, name, sort_key, initials, spelled) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET name = excluded.name, sort_key = excluded.sort_key, "
                "initials = excluded.initials, spelled = excluded.spelled",
                [(row_id, name, *key_of(name or "")) for row_id, name in rows])
            done += len(rows)
        if mark and done:  # rows that left the store since (evictions, a dropped refused row)
            store.conn.execute("DELETE FROM _name_keys WHERE id NOT IN (SELECT id FROM veterans)")
        store.set_meta(MARK, top)
    return done

