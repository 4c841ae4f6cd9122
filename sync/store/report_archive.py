"""The archive of reports submitted upward (``county-hub report --submit``).

A table of the hub's database, ``_report_archive``: one row per submission —
the ``scope``, the period's ``label``, its ``version`` (1, then 2… for each
``--resubmit``), when (``submitted_at``, ISO 8601 UTC) and by whom
(``submitted_by``), the report as its JSON contract (``report``, text) and the
SHA-256 of that text (``digest``). A bookkeeping table (its name starts with
``_``): no migration, no sync and no scope checksum sees it; it travels with
the hub's database, so a backup holds it.

Immutable: rows are only ever added (this module has no update or delete),
and two triggers refuse an ``UPDATE`` or ``DELETE`` of the table from anywhere
else; a read checks each row's digest against its text, so a row altered by
hand is refused rather than shown. Reading never creates the table.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sync.engine.errors import StoreError, ValidationError

__all__ = ["Submission", "submit", "latest", "submissions", "TABLE"]

TABLE = "_report_archive"

_DDL = (
    '''CREATE TABLE IF NOT EXISTS "_report_archive" (
   "scope" TEXT NOT NULL,
   "period" TEXT NOT NULL,
   "version" INTEGER NOT NULL,
   "submitted_at" TEXT NOT NULL,
   "submitted_by" TEXT NOT NULL,
   "report" TEXT NOT NULL,
   "digest" TEXT NOT NULL,
   PRIMARY KEY ("scope", "period", "version")
)''',
    '''CREATE TRIGGER IF NOT EXISTS "_report_archive_no_update" BEFORE UPDATE ON "_report_archive"
BEGIN SELECT RAISE(ABORT, 'archived reports are immutable'); END''',
    '''CREATE TRIGGER IF NOT EXISTS "_report_archive_no_delete" BEFORE DELETE ON "_report_archive"
BEGIN SELECT RAISE(ABORT, 'archived reports are immutable'); END''',
)

_COLUMNS = 'scope, period, version, submitted_at, submitted_by, report, digest'


@dataclass(frozen=True)
class Submission:
    """One archived report: ``report`` is the JSON contract as it was submitted."""

    scope: str
    period: str
    version: int
    submitted_at: str
    submitted_by: str
    report: dict[str, Any]

    def meta(self) -> dict[str, Any]:
        """Everything but the report itself (the ``--archive`` list, the ``archived`` key)."""
        return {"scope": self.scope, "period": self.period, "version": self.version,
                "submitted_at": self.submitted_at, "submitted_by": self.submitted_by,
                "generated_at": self.report.get("generated_at")}


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _has_table(store) -> bool:
    return store.conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (TABLE,)).fetchone() is not None


def _row(raw) -> Submission:
    scope, period, version, at, by, text, digest = raw
    if _digest(text) != digest:
        raise StoreError(f"已上报的报表 {scope} {period} 第 {version} 版已被改动（校验值不符），拒绝使用")
    return Submission(scope, period, int(version), at, by, json.loads(text))


def submit(store, scope: str, period: str, report: dict[str, Any], *, by: str, at: str,
           resubmit: bool = False) -> Submission:
    """Archive ``report`` as submitted for ``(scope, period)``: version 1, or — with
    ``resubmit`` — the next version, the earlier ones kept. A period already
    submitted is refused without ``resubmit``; a ``resubmit`` of a period never
    submitted is refused too (nothing half done: checked before writing)."""
    if not by or not str(by).strip():
        raise ValidationError("请用 --by 写明填报人")
    text = json.dumps(report, ensure_ascii=False, sort_keys=True)
    with store.transaction("IMMEDIATE") as conn:
        for sql in _DDL:
            conn.execute(sql)
        (last,) = conn.execute(f'SELECT max(version) FROM "{TABLE}" WHERE scope = ? AND period = ?',
                               (scope, period)).fetchone()
        if last is not None and not resubmit:
            raise ValidationError(f"{period} 的报表已于此前上报（第 {last} 版），不能重复上报",
                                  hint="确需更正后重报，加 --resubmit（另存为新版本，原版本保留）")
        if last is None and resubmit:
            raise ValidationError(f"{period} 的报表尚未上报，无需 --resubmit", hint="去掉 --resubmit 即为首次上报")
        version = (last or 0) + 1
        conn.execute(f'INSERT INTO "{TABLE}" ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)',
                     (scope, period, version, at, str(by).strip(), text, _digest(text)))
    return Submission(scope, period, version, at, str(by).strip(), json.loads(text))


def latest(store, scope: str, period: str) -> Submission | None:
    """The latest version submitted for ``(scope, period)``, or None."""
    if not _has_table(store):
        return None
    raw = store.conn.execute(
        f'SELECT {_COLUMNS} FROM "{TABLE}" WHERE scope = ? AND period = ? ORDER BY version DESC LIMIT 1',
        (scope, period)).fetchone()
    return None if raw is None else _row(raw)


def submissions(store, scope: str | None = None) -> list[Submission]:
    """Every submission (of ``scope``), by period then version."""
    if not _has_table(store):
        return []
    where, params = ("WHERE scope = ?", (scope,)) if scope else ("", ())
    return [_row(raw) for raw in store.conn.execute(
        f'SELECT {_COLUMNS} FROM "{TABLE}" {where} ORDER BY scope, period, version', params)]
