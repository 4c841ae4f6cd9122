"""The petitions' earliest open deadline: a station-local cache, kept by the
store, so that ``petition list --overdue`` finds the overdue petitions of a
county with one indexed query instead of folding every petition's events.

``_petition_dues`` holds, per petition, ``due``: the earliest deadline still
unmet (not a petitioner's window) of a petition still open, as the domain's
fold of its events says (``YYYY-MM-DD``; NULL: none). A deadline does not
depend on the day it is looked at, so a petition is overdue on ``today``
exactly when its ``due`` is before ``today``. The store never computes it: the
caller hands :func:`refresh` the function (``station_node.records``, over
``veterans.petition.fold_events``) and the *rules* it stands for (a
fingerprint of the fold's code): other rules, and every row is folded again.

Like ``sync.store.namekeys``: a cache, not part of the replicated schema
(made here when first needed, never replicated, in no digest, safe to drop),
kept fresh by the store's change sequence — ``_meta.petition_dues_seq``: the
petitions written, or whose events were written, after it are folded again.
"""

from __future__ import annotations

from typing import Callable

from sync.engine.rowstate import RowState
from sync.store.rows import RowStore

__all__ = ["MARK", "RULES", "DueOf", "refresh", "fresh"]

MARK = "petition_dues_seq"
RULES = "petition_dues_rules"

#: (petition as a dict, its stored events) -> the earliest open due date, or None.
DueOf = Callable[[dict, list[RowState]], "str | None"]

_DDL = (
    'CREATE TABLE IF NOT EXISTS "_petition_dues" ("id" TEXT PRIMARY KEY, "due" TEXT)',
    'CREATE INDEX IF NOT EXISTS "_petition_dues_due" ON "_petition_dues" ("due")',
)


def _has_table(store: RowStore) -> bool:
    return store.conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_petition_dues'").fetchone() is not None


def fresh(store: RowStore, rules: str) -> bool:
    """Does the cache hold every petition as written, under these rules?"""
    if not _has_table(store) or store.meta(RULES) != rules:
        return False
    mark = int(store.meta(MARK, "0") or 0)
    return all(store.conn.execute(f"SELECT 1 FROM {t} WHERE seq > ? LIMIT 1", (mark,)).fetchone() is None
               for t in ("petitions", "petition_events"))


def refresh(store: RowStore, rules: str, due_of: DueOf, *, chunk: int = 500) -> int:
    """Fold again the petitions written (or whose events were) since the last refresh,
    or all of them under new ``rules``; returns how many. Not fsynced: a cache."""
    if fresh(store, rules):
        return 0
    done = 0
    with store.transaction(durable=False):
        for sql in _DDL:
            store.conn.execute(sql)
        mark = int(store.meta(MARK, "0") or 0) if store.meta(RULES) == rules else 0
        if not mark:
            store.conn.execute("DELETE FROM _petition_dues")
        top = store.last_seq
        cur = store.conn.execute(
            "SELECT id FROM petitions WHERE seq > ? UNION SELECT petition_id FROM petition_events WHERE seq > ?",
            (mark, mark))
        while ids := [r[0] for r in cur.fetchmany(chunk) if r[0]]:
            pets = store.load_many("petitions", ids)
            events: dict[str, list[RowState]] = {}
            for state, _ in store.read_states("petition_events", f"petition_id IN ({','.join('?' * len(ids))})", ids):
                events.setdefault(state.values.get("petition_id"), []).append(state)
            rows = []
            for pid in ids:
                loaded = pets.get(pid)
                if loaded is None or loaded[0].deleted:
                    rows.append((pid, None))
                else:
                    rows.append((pid, due_of({"id": pid, **loaded[0].values}, events.get(pid, []))))
            store.conn.executemany(
                "INSERT INTO _petition_dues (id, due) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET due = excluded.due",
                rows)
            done += len(rows)
        if mark and done:  # petitions that left the store since (evictions)
            store.conn.execute("DELETE FROM _petition_dues WHERE id NOT IN (SELECT id FROM petitions)")
        store.set_meta(MARK, top)
        store.set_meta(RULES, rules)
    return done
