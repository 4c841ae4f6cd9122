"""``county-hub prune``: retention as the county office runs it (PROTOCOL.md
"Retention"; the rules and the SQL are in ``sync.store.retention``).

``prune(home, before)`` removes the tombstones, history entries and move records
older than ``before`` (a date, at local midnight) that every station in their scope
has pulled, never younger than six months (Cybersecurity Law art. 21): a later date
is refused. It runs beside ``county-hub serve``: it holds the home's serve lock
shared, as a serving hub does (``county_hub.backup.serve_lock``: a restore, which
takes it exclusively, cannot start meanwhile, nor a prune during a restore), and
``prune.lock`` exclusively (one prune at a time); the store works in short batches.
A prune cut short (a crash, a signal) is finished by the next ``prune`` first.

The registry says which stations a prune waits for: every enrolled station whose
newest certificate is not revoked, by the replica of its last handshake (a revoked
station cannot pull; a replica of it that a prune leaves behind must be rebuilt).
``dry_run`` reports and writes nothing.
"""

from __future__ import annotations

import datetime as _dt
import os
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from county_hub import backup as backup_mod
from county_hub.errors import HomeError, HubError
from county_hub.home import open_hub
from county_hub.registry import Registry
from sync.engine.errors import ValidationError
from sync.engine.schema import TABLES
from sync.store.retention import (MIN_RETENTION_DAYS, TOO_RECENT, PrunePlan, PruneResult, Progress, Retention,
                                  StationProgress)
from veterans.values import parse_date

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX (the hub runs on Linux)
    fcntl = None

__all__ = ["PruneReport", "prune", "parse_before", "latest_before", "LOCK_NAME"]

LOCK_NAME = "prune.lock"


def latest_before(today: _dt.date) -> _dt.date:
    """The latest ``--before`` allowed on ``today``: six months (183 days) back."""
    return today - _dt.timedelta(days=MIN_RETENTION_DAYS)


def parse_before(text: str, *, today: _dt.date | None = None) -> _dt.date:
    """``--before DATE`` (the usual ways dates are written); a date less than six
    months back is refused, naming the law."""
    day = _dt.date.fromisoformat(parse_date(text, field_label="清理截止日期"))
    today = today or _dt.date.today()
    if day > latest_before(today):
        raise ValidationError(TOO_RECENT.format(date=day.isoformat(), latest=latest_before(today).isoformat()))
    return day


def _midnight_ms(day: _dt.date) -> int:
    return int(_dt.datetime.combine(day, _dt.time()).astimezone().timestamp() * 1000)


def _iso(ms: int | None) -> str | None:
    if not ms:
        return None
    return _dt.datetime.fromtimestamp(ms / 1000, _dt.timezone.utc).isoformat(timespec="seconds")


@dataclass
class PruneReport:
    """What a prune found (``plan``) and, unless a dry run, did (``result``);
    ``resumed``: an earlier prune cut short, finished first."""

    before: _dt.date
    plan: PrunePlan
    result: PruneResult | None = None
    resumed: PruneResult | None = None
    unfinished: PrunePlan | None = None  # a dry run beside a prune cut short
    last_sync: dict[str, str | None] = field(default_factory=dict)  # station -> its last sync (ISO), for the holders

    @property
    def dry_run(self) -> bool:
        return self.result is None

    def as_json(self) -> dict:
        """The JSON of ``prune --json`` (a contract: fields are only added)."""
        p, r = self.plan, self.result
        removed = r.tombstones if r else p.tombstones
        out = {
            "dry_run": self.dry_run,
            "before": self.before.isoformat(),
            "requested_ms": p.requested_ms,
            "cutoff_ms": p.cutoff_ms,
            "cutoff": _iso(p.cutoff_ms),
            "previous_ms": p.previous_ms,
            "pruned_before_ms": r.announced_ms if r else p.previous_ms,
            "tombstones": {t: removed.get(t, 0) for t in TABLES},
            "history": r.history if r else p.history,
            "moves": r.moves if r else p.moves,
            "holders": [{"station": h.station, "scope": h.scope, "pulled": h.pulled, "oldest_ms": h.oldest_ms,
                         "oldest": _iso(h.oldest_ms), "tombstones": h.tombstones,
                         "last_sync": self.last_sync.get(h.station)} for h in p.holders],
            "not_counted": p.not_counted,
            "stale": p.stale_stations,
            "resumed": None,
        }
        if self.resumed:
            out["resumed"] = {"cutoff_ms": self.resumed.cutoff_ms, "tombstones": self.resumed.tombstones,
                              "history": self.resumed.history, "moves": self.resumed.moves}
        if self.unfinished:
            out["unfinished"] = {"cutoff_ms": self.unfinished.cutoff_ms, "started_ms": self.unfinished.started_ms}
        return out


def _stations(registry: Registry, retention: Retention) -> list[StationProgress]:
    """Every enrolled station, by the replica of its last handshake; a revoked one is not waited for."""
    replicas = retention.current_replicas()
    out = []
    for s in registry.stations():
        scope, replica = replicas.get(s["station"], (s["scope"], None))
        revoked = s["cert_state"] == "revoked"
        out.append(StationProgress(s["station"], scope or s["scope"], replica, counted=not revoked,
                                   reason="revoked" if revoked else ""))
    return out


@contextmanager
def _locks(home: Path) -> Iterator[None]:
    """The serve lock shared (no restore meanwhile) and the prune lock exclusive."""
    with ExitStack() as stack:
        try:
            stack.enter_context(backup_mod.serve_lock(home, exclusive=False))
        except HomeError as exc:
            if not home.is_dir():
                raise
            raise HubError(f"县中心正在恢复数据库（{home}），请待恢复完成后再清理") from exc
        if fcntl is not None:
            fd = os.open(home / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
            stack.callback(os.close, fd)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise HubError(f"另一个清理正在进行（{home}），请待其完成") from None
        yield


def _auditor(registry: Registry, plan: PrunePlan, *, resumed: bool):
    def audit(result: PruneResult) -> None:  # in the prune's last transaction
        registry.audit("prune", None, requested_ms=plan.requested_ms, cutoff_ms=result.cutoff_ms,
                       pruned_before_ms=result.announced_ms, tombstones=result.tombstones,
                       tombstones_total=sum(result.tombstones.values()), history=result.history, moves=result.moves,
                       holders=[h.station for h in plan.holders], stale=result.stale, resumed=resumed)
    return audit


def prune(home: Path, before: _dt.date, *, dry_run: bool = False, progress: Progress | None = None,
          batch_rows: int = 2000, now_ms: int | None = None) -> PruneReport:
    """Prune the hub of ``home`` of what is older than ``before`` (see the module's docstring)."""
    home = Path(home)
    with ExitStack() as stack:
        if not dry_run:
            stack.enter_context(_locks(home))
        store, registry = open_hub(home)
        stack.callback(store.close)
        retention = Retention(store)
        unfinished = retention.running()
        resumed = None
        if unfinished is not None and not dry_run:
            resumed = retention.run(unfinished, batch_rows=batch_rows, progress=progress,
                                    finish=_auditor(registry, unfinished, resumed=True))
        plan = retention.plan(_midnight_ms(before), _stations(registry, retention), now_ms=now_ms)
        last_sync = {s["station"]: s["last_sync"] for s in registry.stations()}
        if dry_run:
            return PruneReport(before, plan, unfinished=unfinished, last_sync=last_sync)
        result = retention.run(plan, batch_rows=batch_rows, progress=progress,
                               finish=_auditor(registry, plan, resumed=False))
        return PruneReport(before, plan, result, resumed=resumed, last_sync=last_sync)
