"""``station-node verify``: compare the station's scope with the hub's, bucket by
bucket (PROTOCOL.md "Verify"), name the buckets that differ, and repair them.

One verify (``verify_once``) over an open connection to the hub:

1. a handshake; a hub restored from a backup is first recovered by ``sync``,
   never repaired from here (the hub lacks rows then, and a repair would drop
   them);
2. the hub's digests of the scope, each bucket (table × area) a row count and a
   digest. When the scope changed at the hub after this station's cursor, the
   station pulls and starts again (at most three rounds, then ``behind``);
3. the station's own digests; buckets whose count or digest differ are
   compared row by row, on the hub's rows of those buckets and the station's
   (``compare``, pure). Per field, a field still pending here is left alone
   (the next push sends it); otherwise
   - the hub's version is newer, or the same version holds another value
     here: the hub's field is taken;
   - this station holds a version the hub lacks: its own replica's is marked
     pending again, so the next push sends it (the hub accepts a replica's own
     versions) — unless the row is in the rejected list, when the refused edit
     stays there and the hub's field comes back; another replica's version is
     reported as needing recovery and kept.
   A row the station lacks is taken from the hub. A row the hub lacks in the
   scope: kept while pending; made only by this replica: marked pending as a
   new row; holding only others' versions: deleted; both: needs recovery.
4. with ``repair``, the fixes are applied in one transaction
   (``sync.store.digest.apply_fixes``), and the scope is compared again.

The last result is kept in the store (``last_verify``, shown by ``status``);
``sync`` runs a verify every ``verify_every`` sessions (``station_node.session``).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Protocol

import orjson

from station_node.errors import StationNetError
from sync.engine.defaults import DEFAULT_BATCH_ROWS
from sync.engine.hlc import replica_of
from sync.engine.replicate import Handshake, needs_recovery
from sync.engine.rowstate import PullBatch, RowState
from sync.store import digest
from sync.store.digest import RowFix
from sync.store.station import Store

__all__ = ["VerifyReport", "BucketDiff", "Plan", "compare", "verify_once", "last_verify", "record_failure",
           "verify_every", "set_verify_every", "DEFAULT_VERIFY_EVERY", "VERIFY_EVERY_META", "VERIFY_COUNTER_META", "LAST_VERIFY_META", "VerifyRefused"]

#: ``sync`` verifies every this many sessions (0: never), unless the store's ``verify_every`` says otherwise.
DEFAULT_VERIFY_EVERY = 20
VERIFY_EVERY_META = "verify_every"
VERIFY_COUNTER_META = "syncs_since_verify"
LAST_VERIFY_META = "last_verify"
ROUNDS = 3
GROUP_ROWS = 20_000  # the hub's rows fetched and compared at a time
_IDS_SHOWN = 20  # ids listed per differing bucket


class VerifyRefused(StationNetError):
    """Verify cannot compare now (the hub is being recovered): permanent until ``sync`` has run."""


class VerifyPeer(Protocol):
    def handshake(self, replica_id: str, wall_ms: int) -> Handshake: ...

    def pull(self, cursor: int, batch_rows: int): ...

    def verify_digests(self) -> tuple[str, int, digest.Digests]: ...

    def verify_rows(self, buckets: list[tuple[str, str]], batch_rows: int) -> tuple[int, list[RowState]]: ...


@dataclass
class BucketDiff:
    table: str
    area: str
    hub_rows: int
    local_rows: int
    ids: list[str] = field(default_factory=list)  # the first differing rows' ids
    rows: int = 0  # how many rows differ


@dataclass
class Plan:
    """What ``compare`` found: the differing rows per bucket, the fixes, and what it left alone."""

    diffs: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    fixes: list[RowFix] = field(default_factory=list)
    needs_recovery: list[dict] = field(default_factory=list)
    pending: int = 0  # rows that differ only in fields still pending here
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        ("taken", "inserted", "deleted", "repushed", "reverted"), 0))


@dataclass
class VerifyReport:
    result: str = "clean"  # clean | differs | repaired | behind
    scope: str = ""
    buckets: int = 0  # buckets compared (the hub's and the station's together)
    differing: list[BucketDiff] = field(default_factory=list)
    pending: int = 0
    repaired: dict[str, int] = field(default_factory=dict)  # fixes applied, by kind (with --repair)
    remaining: list[BucketDiff] = field(default_factory=list)  # still differing after the repair
    needs_recovery: list[dict] = field(default_factory=list)
    at_ms: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


def compare(hub_rows: list[RowState], local: dict[tuple[str, str], tuple[RowState, dict]], *, own: str,
            refused: set[tuple[str, str]] = frozenset()) -> Plan:
    """Row by row and field by field: the hub's rows of some buckets against the
    station's rows of the same buckets (and of those where only the station has
    rows). ``own``: this station's replica id; ``refused``: (table, id) of the
    rows in its rejected list. Pure."""
    plan = Plan()
    hub_by = {(r.table, r.id): r for r in hub_rows}

    def differs(key, *areas: str) -> None:
        for area in dict.fromkeys(areas):
            plan.diffs.setdefault((key[0], area), []).append(key[1])

    for key in sorted(hub_by.keys() | local.keys()):
        h, mine = hub_by.get(key), local.get(key)
        if mine is None:
            plan.fixes.append(RowFix(*key, insert=h))
            plan.counts["inserted"] += 1
            differs(key, h.area)
            continue
        state, pending = mine
        if h is None:
            if pending:
                plan.pending += 1
                continue
            replicas = {replica_of(v) for v in state.clock.values()}
            if replicas == {own}:
                plan.fixes.append(RowFix(*key, mark={f: (v, "") for f, v in state.clock.items()}))
                plan.counts["repushed"] += 1
            elif own in replicas:
                plan.needs_recovery.append({"table": key[0], "id": key[1], "fields": sorted(state.clock)})
            else:
                plan.fixes.append(RowFix(*key, delete=True))
                plan.counts["deleted"] += 1
            differs(key, state.area)
            continue
        if digest.state_hash(state) == digest.state_hash(h):
            continue
        fix, foreign = RowFix(*key), []
        for name in sorted(h.clock.keys() | state.clock.keys()):
            if name in pending:
                continue
            hv, lv = h.clock.get(name, ""), state.clock.get(name, "")
            if hv > lv or (hv == lv and not _same(h.values.get(name), state.values.get(name))):
                fix.take[name] = (h.values.get(name), hv)
            elif lv > hv and replica_of(lv) != own:
                foreign.append(name)
            elif lv > hv and key in refused:  # the refused edit lives on in the rejected list
                fix.take[name] = (h.values.get(name), hv)
            elif lv > hv:
                fix.mark[name] = (lv, hv)
        if not (fix.take or fix.mark or foreign) and pending:
            plan.pending += 1  # it differs only in what the next push sends
            continue
        if fix.take or fix.mark:
            plan.fixes.append(fix)
            kind = "reverted" if key in refused and fix.take and not fix.mark else "taken" if fix.take else "repushed"
            plan.counts[kind] += 1
        if foreign:
            plan.needs_recovery.append({"table": key[0], "id": key[1], "fields": foreign})
        differs(key, h.area, state.area)
    return plan


def _same(a, b) -> bool:
    """Equal as stored: 1 and 1.0 (or True) hash apart, so they differ here too."""
    return a == b and type(a) is type(b)


def _catch_up(store: Store, hub: VerifyPeer, batch_rows: int) -> None:
    """Pull what changed at the hub since this station's cursor (as ``sync`` does)."""
    batch: PullBatch
    for batch in hub.pull(store.cursor, batch_rows):
        store.apply_pulled(batch.rows, batch.evictions, batch.cursor)


def _groups(candidates: list[tuple[str, str]], theirs: digest.Digests, size: int) -> list[list[tuple[str, str]]]:
    """The candidate buckets in groups of about ``size`` of the hub's rows (a bucket alone when bigger)."""
    groups, group, rows = [], [], 0
    for key in candidates:
        n = theirs.get(key, (0, 0))[0]
        if group and rows + n > size:
            groups.append(group)
            group, rows = [], 0
        group.append(key)
        rows += n
    return groups + [group] if group else groups


def _merge(plan: Plan, part: Plan) -> None:
    for key, ids in part.diffs.items():
        plan.diffs.setdefault(key, []).extend(ids)
    plan.fixes += part.fixes
    plan.needs_recovery += part.needs_recovery
    plan.pending += part.pending
    for kind, n in part.counts.items():
        plan.counts[kind] += n


def _round(store: Store, hub: VerifyPeer, batch_rows: int, *, repair: bool = False, retired_before: int = 0):
    """One comparison (and, with ``repair``, its fixes applied): None when the
    station is behind the hub, else (scope, buckets compared, bucket counts, plan).

    The differing buckets are fetched and compared in groups of about
    ``GROUP_ROWS`` of the hub's rows, so that a county's station never holds its
    whole scope in memory. A hub row is compared with the station's row of the
    same id wherever it lies; a station row that no fetched hub row matches is
    decided on at the end (the hub may hold it in a bucket of a later group).
    ``retired_before``: the hub's ``pruned_before_ms``; older tombstones are left out
    on both sides (PROTOCOL.md "Retention")."""
    scope, seq, theirs = hub.verify_digests()
    if seq > store.cursor:
        return None
    ours = digest.station_digests(store, retired_before=retired_before)
    counts = {k: (theirs.get(k, (0, 0))[0], ours.get(k, (0, 0))[0]) for k in theirs.keys() | ours.keys()}
    candidates = sorted(k for k in counts if theirs.get(k) != ours.get(k))
    plan = Plan()
    own = store.replica_id
    refused = {(r["table"], r["row_id"]) for r in store.rejected()}
    seen: set[tuple[str, str]] = set()  # (table, id) of every hub row fetched
    alone: dict[tuple[str, str], tuple[RowState, dict]] = {}  # station rows no hub row has matched yet
    for group in _groups(candidates, theirs, GROUP_ROWS):
        fetch = [k for k in group if k in theirs]
        hub_rows: list[RowState] = []
        if fetch:
            seq, hub_rows = hub.verify_rows(fetch, batch_rows)
            if seq > store.cursor:
                return None
        keys = {(r.table, r.id) for r in hub_rows}
        seen |= keys
        local = digest.station_bucket_rows(store, group, retired_before=retired_before)
        for table in {t for t, _ in keys}:
            missing = [i for t, i in keys if t == table and (t, i) not in local]
            local.update(((table, i), loaded) for i, loaded in store.load_many(table, missing).items())
        alone.update((k, v) for k, v in local.items() if k not in keys)
        part = compare(hub_rows, {k: v for k, v in local.items() if k in keys}, own=own, refused=refused)
        if repair and part.fixes:
            digest.apply_fixes(store, part.fixes)
        _merge(plan, part)
    part = compare([], {k: v for k, v in alone.items() if k not in seen}, own=own, refused=refused)
    if repair and part.fixes:
        digest.apply_fixes(store, part.fixes)
    _merge(plan, part)
    return scope, len(counts), counts, plan


def _diffs(plan: Plan, counts: dict) -> list[BucketDiff]:
    return [BucketDiff(t, a, *counts.get((t, a), (0, 0)), ids=ids[:_IDS_SHOWN], rows=len(ids))
            for (t, a), ids in sorted(plan.diffs.items())]


def _compared(store: Store, hub: VerifyPeer, batch_rows: int, *, repair: bool = False, retired_before: int = 0):
    """A round the station is not behind in: pull and start over when it is (None: still behind)."""
    for attempt in range(ROUNDS):
        found = _round(store, hub, batch_rows, repair=repair, retired_before=retired_before)
        if found is not None:
            return found
        if attempt < ROUNDS - 1:
            _catch_up(store, hub, batch_rows)
    return None


def verify_once(store: Store, hub: VerifyPeer, *, repair: bool = False,
                batch_rows: int = DEFAULT_BATCH_ROWS) -> VerifyReport:
    """Compare the station's scope with the hub's and, with ``repair``, fix what
    differs; the result is kept in the store (``last_verify``)."""
    started = time.monotonic()
    report = VerifyReport(at_ms=int(time.time() * 1000))
    hello = hub.handshake(store.replica_id, report.at_ms)
    if needs_recovery(store, hello):
        raise VerifyRefused("县中心的数据库已从备份恢复，本站尚未完成恢复，暂不能核对",
                            hint="请先运行 station-node sync，完成后再核对")
    batch_rows = max(1, min(batch_rows, hello.max_batch_rows))
    retired_before = hello.pruned_before_ms
    found = _compared(store, hub, batch_rows, repair=repair, retired_before=retired_before)
    if found is None:
        report.result = "behind"
    else:
        report.scope, report.buckets, counts, plan = found
        report.differing, report.pending, report.needs_recovery = _diffs(plan, counts), plan.pending, plan.needs_recovery
        report.result = "differs" if plan.diffs else "clean"
        if repair and plan.fixes:
            report.repaired = {k: n for k, n in plan.counts.items() if n}
            again = _compared(store, hub, batch_rows, retired_before=retired_before)
            if again is None:
                report.result = "behind"
            else:
                _scope, _n, counts, plan = again
                report.remaining, report.needs_recovery = _diffs(plan, counts), plan.needs_recovery
                report.result = "differs" if plan.diffs else "repaired"
    report.seconds = round(time.monotonic() - started, 4)
    _record(store, report)
    return report


def _record(store: Store, report: VerifyReport, error: str | None = None) -> None:
    summary = {
        "at_ms": report.at_ms,
        "result": report.result,
        "differing": len(report.remaining if report.repaired else report.differing),
        "needs_recovery": len(report.needs_recovery),
        "error": error,
    }
    with store.transaction(durable=False):  # bookkeeping: nobody was promised it
        store.set_meta(LAST_VERIFY_META, orjson.dumps(summary).decode())
        store.set_meta(VERIFY_COUNTER_META, 0)


def record_failure(store: Store, exc: Exception) -> VerifyReport:
    """A verify that could not be made (the hub unreachable, or refusing): kept as ``failed``."""
    report = VerifyReport(result="failed", at_ms=int(time.time() * 1000))
    _record(store, report, error=str(exc)[:200])
    return report


def last_verify(store: Store) -> dict | None:
    """The last verify's summary: ``at_ms``, ``result``, ``differing`` (buckets),
    ``needs_recovery`` (rows), ``error``; None when none was made."""
    raw = store.meta(LAST_VERIFY_META)
    return orjson.loads(raw) if raw else None


def verify_every(store: Store) -> int:
    """Sessions between two verifies of ``sync`` (0: never)."""
    raw = store.meta(VERIFY_EVERY_META)
    return int(raw) if raw is not None and raw.isdigit() else DEFAULT_VERIFY_EVERY


def set_verify_every(store: Store, every: int) -> None:
    """Remember ``sync --verify-every`` for later sessions (the daemon's too)."""
    with store.transaction():
        store.set_meta(VERIFY_EVERY_META, max(0, int(every)))
