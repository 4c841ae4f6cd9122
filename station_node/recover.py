"""A station PC that died: ``station-node init --hub … --token … --recover OLD_DB``.

1. The old database file is read first, read only (``sync.store.salvage``):
   every row with pending marks — the edits the hub never acknowledged —
   and how many rows could not be read. A file of which nothing can be read,
   or one that belongs to another station, is refused here, before the token
   is spent.
2. The new home is enrolled as usual (``station_node.enroll``).
3. It is rebuilt from the hub: one sync session, which with nothing pending
   is a full pull of the station's scope.
4. The salvaged edits are applied again as this station's own local writes
   (stamped now, marked pending), in one transaction, so that the next
   ``sync`` pushes them: a row the hub does not have and that was made at the
   old station is created; a row the hub has gets the old pending fields
   written over the pulled values (they were the clerk's last word); a value
   the hub already holds is no write. A row the hub does not have but had
   once (moved out of the scope since), or outside the scope, is skipped.

If step 3 or 4 fails, the new home is taken down again (database and TLS
files; the whole directory when this command made it): nothing half made is
left, and the old file is untouched — run the command again with a new token.
"""

from __future__ import annotations

import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

from station_node import home as home_mod
from station_node import identity
from station_node.enroll import enroll
from station_node.errors import EnrollmentFailed
from station_node.session import sync_with_retry
from sync.engine.errors import StoreError, VetsyncError
from sync.engine.scope import in_scope
from sync.store.salvage import SalvagedRow, open_salvage
from sync.store.station import Store

__all__ = ["RecoveryReport", "OldEdits", "read_old_edits", "apply_salvaged", "recover"]


@dataclass
class OldEdits:
    """What could be read of the old file."""

    source: str
    station: str | None
    rows: list[SalvagedRow]
    unreadable: int
    unreadable_pending: int | None


@dataclass
class RecoveryReport:
    """The ``recovery`` object of ``init --recover --json`` (a contract: fields only added)."""

    source: str
    pulled: int = 0  # rows pulled from the hub
    salvaged: int = 0  # rows with pending edits read from the old file
    recovered: int = 0  # of them, applied again (created + updated)
    created: int = 0  # rows the hub did not have, made again
    updated: int = 0  # rows the hub has, their pending fields written over the pulled values
    unchanged: int = 0  # the hub already held these values
    skipped: int = 0  # no longer the station's (outside the scope, or gone from the hub after a sync)
    unreadable: int = 0  # rows of the old file that could not be read
    unreadable_pending: int | None = 0  # of them, rows with pending edits (None: unknown)

    def to_dict(self) -> dict:
        return asdict(self)


def read_old_edits(path: str | Path) -> OldEdits:
    """Every readable pending edit of the old station database (read only)."""
    path = Path(path).expanduser()
    with open_salvage(path) as old:
        station = old.meta("station")
        rows = list(old.pending_rows())
        return OldEdits(str(path), station, rows, old.unreadable, old.unreadable_pending)


def apply_salvaged(store: Store, rows: list[SalvagedRow], report: RecoveryReport) -> RecoveryReport:
    """Apply salvaged edits as this station's local writes, in one transaction."""
    scope = store.meta("scope") or ""
    with store.transaction():
        for row in rows:
            loaded = store.load(row.table, row.row_id)
            if loaded is None:
                if not row.made_here or not in_scope(row.fields.get("area"), scope):
                    report.skipped += 1
                    continue
                store.write(row.table, row.row_id, row.fields, create=True)
                report.created += 1
                continue
            state, _pending = loaded
            if not in_scope(row.fields.get("area", state.values.get("area")), scope):
                report.skipped += 1
                continue
            if all(name in state.clock and state.values.get(name) == value for name, value in row.fields.items()):
                report.unchanged += 1
                continue
            store.write(row.table, row.row_id, row.fields)
            report.updated += 1
        store.set_meta("recovered_from", report.source)
    report.recovered = report.created + report.updated
    return report


def recover(home: Path, target: str, token_text: str, old_db: str | Path, *,
            station: str | None = None) -> tuple[dict, RecoveryReport]:
    """Enroll ``home``, rebuild it from the hub and apply the old file's pending edits.
    Returns the enrollment info and the report."""
    home = Path(home)
    old_path = Path(old_db).expanduser()
    if old_path.resolve() == home_mod.db_path(home).resolve():
        raise StoreError("旧数据库就在要新建的站点目录中", hint="请用 --home 指定一个新的目录")
    try:
        token = identity.parse_token(token_text)
    except identity.TokenFormatError as exc:
        raise EnrollmentFailed(str(exc)) from None
    old = read_old_edits(old_path)
    if old.station and old.station != token.station:
        raise StoreError(f"旧数据库属于站点 {old.station}，令牌是发给站点 {token.station} 的",
                         hint="请用本站的令牌，或核对旧数据库文件")
    home_existed, tls_existed = home.exists(), home_mod.tls_dir(home).exists()
    info = enroll(home, target, token_text, station=station)
    report = RecoveryReport(source=old.source, salvaged=len(old.rows), unreadable=old.unreadable,
                            unreadable_pending=old.unreadable_pending)
    try:
        store = home_mod.open_store(home)
        try:
            report.pulled = sync_with_retry(home, store).pulled
            apply_salvaged(store, old.rows, report)
        finally:
            store.close()
    except BaseException as exc:
        _take_down(home, home_existed=home_existed, tls_existed=tls_existed)
        if isinstance(exc, VetsyncError):
            raise EnrollmentFailed(f"恢复未完成，新站点目录已撤销：{exc.args[0] if exc.args else exc}",
                                   hint="旧数据库未改动；请向县中心重新索取令牌后再运行 init --recover") from exc
        raise
    return info, report


def _take_down(home: Path, *, home_existed: bool, tls_existed: bool) -> None:
    """Remove what the enrollment made in ``home``."""
    if not home_existed:
        shutil.rmtree(home, ignore_errors=True)
        return
    db = home_mod.db_path(home)
    for p in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        p.unlink(missing_ok=True)
    if not tls_existed:
        shutil.rmtree(home_mod.tls_dir(home), ignore_errors=True)
    else:
        for p in identity.paths(home):
            p.unlink(missing_ok=True)
