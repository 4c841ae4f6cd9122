"""Backups of a store's database, the SQL side: an online copy, its check,
and what a copy holds.

- :func:`backup_to` copies a live database (WAL, other connections writing)
  into a new file with SQLite's online backup API, in steps of ``pages``
  pages, all of them read inside **one** read transaction of the source: the
  copy is the database as of one commit, and a writer never makes the copy
  start over (in WAL mode a reader holds its snapshot while writers go on).
  The copy is left in rollback-journal mode, one self-contained file.
- :func:`integrity_ok`: ``PRAGMA integrity_check`` → ``True``, or the first
  problem as text (also "not a database", "cannot open").
- :func:`inspect`: what a database file is — a hub's database (its
  registry's bookkeeping table and a ``county``), its county, epoch and row
  counts of the replicated tables — read without writing anything.

File handling (names, modes, renames, fsync) is the caller's
(``county_hub.backup``); nothing here writes outside the destination file.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from sync.engine.errors import StoreError
from sync.store.rows import REPLICATED

__all__ = ["BackupFacts", "backup_to", "integrity_ok", "inspect", "DEFAULT_STEP_PAGES"]

#: Pages copied per step (4 KiB pages: 16 MiB a step); the progress callback runs after each.
DEFAULT_STEP_PAGES = 4096

#: ``progress(copied_pages, total_pages)``.
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class BackupFacts:
    """What a database file holds. ``hub``: it is a hub's database (registry
    tables and a county in ``_meta``)."""

    hub: bool
    county: str = ""
    epoch: str = ""
    last_seq: int = 0
    tables: dict[str, int] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return sum(self.tables.values())


def _open_ro(path: Path) -> sqlite3.Connection:
    """A read-only connection that never creates the file."""
    if not Path(path).is_file():
        raise StoreError(f"数据库文件不存在：{path}")
    return sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True, timeout=30)


def backup_to(path: str | Path, dest: str | Path, *, progress: Progress | None = None,
              pages: int = DEFAULT_STEP_PAGES) -> int:
    """Copy the database at ``path`` (may be in use) into ``dest`` (an existing
    empty file, or none); returns the number of pages copied. Raises
    :class:`StoreError` when the source cannot be read."""
    if not Path(path).is_file():
        raise StoreError(f"数据库文件不存在：{path}")
    try:
        src = sqlite3.connect(path, isolation_level=None, timeout=30)
    except sqlite3.Error as exc:
        raise StoreError(f"无法打开数据库 {path}：{exc}") from exc
    try:
        dst = sqlite3.connect(dest, isolation_level=None)
        try:
            # One snapshot for every step: a read transaction held across the steps.
            src.execute("BEGIN")
            src.execute("SELECT count(*) FROM sqlite_master").fetchone()
            done = [0]

            def step(status: int, remaining: int, total: int) -> None:
                done[0] = total - remaining
                if progress is not None:
                    progress(total - remaining, total)

            src.backup(dst, pages=max(1, pages), progress=step, sleep=0)
            src.execute("COMMIT")
            dst.execute("PRAGMA journal_mode=DELETE")
            return done[0]
        finally:
            dst.close()
    except sqlite3.Error as exc:
        raise StoreError(f"备份数据库失败：{exc}") from exc
    finally:
        src.close()


def integrity_ok(path: str | Path) -> bool | str:
    """``True`` when ``PRAGMA integrity_check`` says ok; else the first problem."""
    try:
        conn = _open_ro(Path(path))
    except StoreError as exc:
        return str(exc)
    except sqlite3.Error as exc:
        return f"无法打开：{exc}"
    try:
        rows = [r[0] for r in conn.execute("PRAGMA integrity_check(20)").fetchall()]
    except sqlite3.Error as exc:
        return f"不是可用的 SQLite 数据库（{exc}）"
    finally:
        conn.close()
    if rows == ["ok"]:
        return True
    return "；".join(rows[:3]) or "完整性检查无结果"


def inspect(path: str | Path) -> BackupFacts:
    """What the database at ``path`` holds (read only). A database that is not
    a hub's gives ``BackupFacts(hub=False)``; one that cannot be read raises
    :class:`StoreError`."""
    try:
        conn = _open_ro(Path(path))
        try:
            names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if not {"_meta", "_hub_migrations"} <= names:
                return BackupFacts(hub=False)
            meta = dict(conn.execute("SELECT key, value FROM _meta").fetchall())
            if not meta.get("county"):
                return BackupFacts(hub=False)
            tables = {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in REPLICATED if t in names}
            return BackupFacts(hub=True, county=meta["county"], epoch=meta.get("epoch") or "",
                               last_seq=int(meta.get("seq") or 0), tables=tables)
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise StoreError(f"无法读取数据库 {path}：{exc}") from exc
