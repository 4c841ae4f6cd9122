"""County reports (县级统计报表): figures per town and per village of a scope.

:func:`build_report` reads the replicated tables of a
:class:`~sync.store.station.Store` (hub or station: the same code serves
``county-hub report`` and ``station-node report``) and returns a
:class:`Report`. Its rows, for a scope ``S``:

- county scope: each town (9-digit prefix) followed by its villages
  (12-digit areas), then the county as the total row (合计);
- town scope: its villages, then the town as the total row;
- village scope: the village alone, which is also the total.

A record counts in every row whose code is a prefix of its ``area``; a
record held at town level (a 9-digit area) counts in its town and the
total, not in any village, so a town's figures may exceed the sum of its
villages. Areas appear when they hold any record or a registered station.

Figures (all over live rows, ``deleted IS NOT 1``):

- 在册人数 ``veterans_on_file``: veterans not merged into another
  (``merged_into`` empty) whose status is 在册 (``active``) or unset — 迁出
  and 已故 are off file; split by category (a column per
  ``ENUMS["category"]`` code, 未分类 for none or an unknown code);
- 走访覆盖 ``visited``: on-file veterans with at least one visit of any kind
  whose ``visited_on`` falls in ``month``, counted at the veteran's area;
  ``visit_coverage_pct`` = visited / on file × 100, one decimal (``None``
  with nobody on file);
- 信访: ``petitions_received`` (``received_on`` in ``month``); the rest are
  the state as of ``today``, from :func:`veterans.petition.fold_events` (the
  one function every petition view calls: it orders each petition's
  events by version, not by this store's ``seq``, and folds them):
  ``petitions_open`` (``state.is_open``: status not closed / not_accepted /
  escalated, including a petition with no event yet), ``petitions_closed``
  (status closed), ``petitions_closed_in_month`` (closed on a day of
  ``month``), ``petitions_overdue`` (``state.overdue``: open and past a
  legal deadline — a case handed up or refused is no longer this office's
  clock);
- ``conflicts_open``: conflicts with status ``open``, at their area.

``stale_stations`` lists the registered stations within the scope with no
sync in the 7 days before ``today`` (never synced, or last sync more than
7 days ago); a ``last_sync`` that cannot be read counts as stale.

``to_dict()`` is the JSON contract (English keys, stable, additive);
``columns()`` and ``table_rows()`` feed :func:`veterans.tabular.write_table`
with Chinese headings.
"""

from __future__ import annotations

import datetime as _dt
import json
from dataclasses import dataclass, field
from typing import Any

from veterans.values import ENUMS, parse_month, validate_area
from veterans.petition import fold_events
from sync.store import queries
from sync.engine.scope import AREA_LENGTHS, AREA_LEVELS
from sync.store.queries import AnyStore

__all__ = ["Report", "ReportRow", "StaleStation", "build_report", "STALE_DAYS", "LEVEL_LABELS"]

STALE_DAYS = 7
NO_CATEGORY = "none"
LEVEL_LABELS = {"county": "县", "town": "镇（街道）", "village": "村（社区）"}
_CATEGORY_KEYS = (*ENUMS["category"], NO_CATEGORY)


@dataclass
class ReportRow:
    """The figures of one area. ``total`` marks the row of the scope itself (合计)."""

    level: str
    area: str
    name: str
    total: bool = False
    veterans_on_file: int = 0
    by_category: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_CATEGORY_KEYS, 0))
    visited: int = 0
    petitions_received: int = 0
    petitions_open: int = 0
    petitions_closed: int = 0
    petitions_closed_in_month: int = 0
    petitions_overdue: int = 0
    conflicts_open: int = 0

    @property
    def visit_coverage_pct(self) -> float | None:
        """Visited / on file, in percent with one decimal; ``None`` when nobody is on file."""
        if not self.veterans_on_file:
            return None
        return round(100 * self.visited / self.veterans_on_file, 1)

    def to_dict(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "area": self.area,
            "name": self.name,
            "total": self.total,
            "veterans_on_file": self.veterans_on_file,
            "by_category": dict(self.by_category),
            "visited": self.visited,
            "visit_coverage_pct": self.visit_coverage_pct,
            "petitions_received": self.petitions_received,
            "petitions_open": self.petitions_open,
            "petitions_closed": self.petitions_closed,
            "petitions_closed_in_month": self.petitions_closed_in_month,
            "petitions_overdue": self.petitions_overdue,
            "conflicts_open": self.conflicts_open,
        }

    def table_row(self) -> dict[str, Any]:
        """Flat values for :meth:`Report.columns` (labels in Chinese, coverage as ``"66.7%"``)."""
        row = self.to_dict()
        del row["by_category"]
        row["level"] = "合计" if self.total else LEVEL_LABELS.get(self.level, self.level)
        pct = self.visit_coverage_pct
        row["visit_coverage_pct"] = "—" if pct is None else f"{pct:.1f}%"
        row.update({f"category_{code}": n for code, n in self.by_category.items()})
        return row


@dataclass(frozen=True)
class StaleStation:
    """A station with no sync in the last ``STALE_DAYS`` days."""

    station: str
    last_sync: str | None
    days_since_sync: int | None  # None: never synced, or unreadable last_sync

    def to_dict(self) -> dict[str, Any]:
        return {"station": self.station, "last_sync": self.last_sync, "days_since_sync": self.days_since_sync}


@dataclass
class Report:
    """A scope's report for one month; see the module docstring for the figures."""

    scope: str
    month: str
    today: _dt.date
    generated_at: str
    rows: list[ReportRow]
    stale_stations: list[StaleStation]

    @property
    def total(self) -> ReportRow:
        return next(r for r in self.rows if r.total)

    def row(self, area: str) -> ReportRow | None:
        return next((r for r in self.rows if r.area == area), None)

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract: English keys, stable, new keys only ever added."""
        return {
            "scope": self.scope,
            "month": self.month,
            "today": self.today.isoformat(),
            "generated_at": self.generated_at,
            "categories": [{"code": c, "label": _category_label(c)} for c in _CATEGORY_KEYS],
            "rows": [r.to_dict() for r in self.rows],
            "stale_stations": [s.to_dict() for s in self.stale_stations],
        }

    def to_json(self, **kw: Any) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, **kw)

    @staticmethod
    def columns() -> list[tuple[str, str]]:
        """``(key, Chinese heading)`` of the table and Excel output, in order."""
        return [
            ("area", "区划代码"),
            ("level", "层级"),
            ("veterans_on_file", "在册人数"),
            *((f"category_{c}", _category_label(c)) for c in _CATEGORY_KEYS),
            ("visited", "走访覆盖人数"),
            ("visit_coverage_pct", "走访覆盖率"),
            ("petitions_received", "本月收到信访"),
            ("petitions_open", "未办结信访"),
            ("petitions_closed", "已办结信访"),
            ("petitions_closed_in_month", "本月办结信访"),
            ("petitions_overdue", "超期信访"),
            ("conflicts_open", "待处理冲突"),
        ]

    def table_rows(self) -> list[dict[str, Any]]:
        return [r.table_row() for r in self.rows]

    @staticmethod
    def stale_columns() -> list[tuple[str, str]]:
        """Headings of the second table, 超过7天未同步的站点."""
        return [("station", "站点代码"), ("last_sync", "最近同步时间"), ("days_since_sync", "未同步天数")]

    def stale_rows(self) -> list[dict[str, Any]]:
        return [
            {
                "station": s.station,
                "last_sync": s.last_sync or "从未同步",
                "days_since_sync": "—" if s.days_since_sync is None else s.days_since_sync,
            }
            for s in self.stale_stations
        ]


def _category_label(code: str) -> str:
    return "未分类" if code == NO_CATEGORY else ENUMS["category"][code]


# --------------------------------------------------------------------------- building


def _month_bounds(month: str) -> tuple[str, str]:
    """``[first day, first day of next month)`` as ISO strings (dates are stored ``YYYY-MM-DD``)."""
    year, mon = int(month[:4]), int(month[5:7])
    nxt = (year + 1, 1) if mon == 12 else (year, mon + 1)
    return f"{year:04d}-{mon:02d}-01", f"{nxt[0]:04d}-{nxt[1]:02d}-01"


class _Rows:
    """Rows by area code, created on first touch; a record counts in each prefix row."""

    def __init__(self, scope: str):
        self.scope = scope
        self.by_area: dict[str, ReportRow] = {}
        self.touch(scope)

    def touch(self, area: str) -> list[ReportRow]:
        out = []
        for n in AREA_LENGTHS:
            if n < len(self.scope) or len(area) < n:
                continue
            code = area[:n]
            row = self.by_area.get(code)
            if row is None:
                row = ReportRow(AREA_LEVELS[n], code, code, total=code == self.scope)
                self.by_area[code] = row
            out.append(row)
        return out

    def ordered(self) -> list[ReportRow]:
        """Towns each followed by their villages, the total last."""
        return sorted(
            (r for r in self.by_area.values() if not r.total), key=lambda r: r.area
        ) + [self.by_area[self.scope]]


def _date_of(value: Any) -> _dt.date | None:
    if not value:
        return None
    try:
        return _dt.datetime.fromisoformat(str(value).strip().replace("Z", "+00:00")).date()
    except ValueError:
        return None


def _stale(stations: list[dict] | None, scope: str, today: _dt.date, rows: _Rows) -> list[StaleStation]:
    out = []
    for entry in stations or ():
        code = str(entry.get("station") or "")
        if not code.startswith(scope):
            continue
        rows.touch(code)
        raw = entry.get("last_sync")
        last = _date_of(raw)
        days = None if last is None else (today - last).days
        if days is None or days > STALE_DAYS:
            out.append(StaleStation(code, None if raw is None else str(raw), days))
    out.sort(key=lambda s: (s.days_since_sync is not None, -(s.days_since_sync or 0), s.station))
    return out


def build_report(
    store: AnyStore,
    scope: str,
    *,
    month: str | None = None,
    today: _dt.date,
    stations: list[dict] | None = None,
    generated_at: _dt.datetime | None = None,
) -> "Report":
    """Compute the report of ``scope`` for ``month`` (``YYYY-MM``; default: the month of ``today``).

    ``stations`` is the hub's registry, ``[{"station": code, "last_sync": ISO or None}]``.
    Raises :class:`~sync.engine.errors.ValidationError` for a malformed scope or month.
    Reads in a single read transaction, so the figures are one consistent snapshot.
    """
    scope = validate_area(scope)
    month = parse_month(month if month is not None else today)
    first, after = _month_bounds(month)
    rows = _Rows(scope)
    with store.transaction("DEFERRED"):
        # veterans on file, by category
        on_file: dict[str, list[ReportRow]] = {}
        for vid, area, category, status, merged in queries.veterans_for_report(store, scope):
            if merged or (status and status != "active"):  # 迁出, 已故, or unknown
                rows.touch(area)
                continue
            cat = category if category in ENUMS["category"] else NO_CATEGORY
            targets = rows.touch(area)
            on_file[vid] = targets
            for row in targets:
                row.veterans_on_file += 1
                row.by_category[cat] += 1
        # visit coverage: distinct veterans visited in the month, at the veteran's area
        for vid in queries.visited_between(store, first, after):
            for row in on_file.get(vid, ()):
                row.visited += 1
        # petitions: one query for the petitions, one read of the events with their
        # clocks; veterans.petition.fold_events orders each petition's events and folds them
        petitions = {
            pid: {"area": area, "received_on": received_on}
            for pid, area, received_on in queries.petitions_in(store, scope)
        }
        events: dict[str, list] = {pid: [] for pid in petitions}
        for ev in queries.events_of(store):
            of = events.get(ev.values.get("petition_id"))
            if of is not None:  # an event of a petition in the scope
                of.append(ev)
        for pid, petition in petitions.items():
            _, state = fold_events(petition, events[pid], today=today)
            received = str(petition["received_on"] or "")
            closed_in_month = state.closed_on is not None and first <= state.closed_on.isoformat() < after
            for row in rows.touch(petition["area"]):
                row.petitions_received += first <= received < after
                row.petitions_open += state.is_open
                row.petitions_closed += state.status == "closed"
                row.petitions_closed_in_month += closed_in_month
                row.petitions_overdue += state.overdue
        # open conflicts
        for area, n in queries.open_conflicts_by_area(store, scope):
            for row in rows.touch(area):
                row.conflicts_open += n
    stale = _stale(stations, scope, today, rows)
    stamp = (generated_at or _dt.datetime.now().astimezone()).isoformat(timespec="seconds")
    return Report(scope, month, today, stamp, rows.ordered(), stale)
