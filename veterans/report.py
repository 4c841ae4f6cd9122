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
  whose ``visited_on`` falls in the period, counted at the veteran's area;
  ``visit_coverage_pct`` = visited / on file × 100, one decimal (``None``
  with nobody on file);
- 信访: ``petitions_received`` (``received_on`` in the period); the rest are
  the state as of the period's end (``as_of``), from :func:`veterans.petition.fold_events` (the
  one function every petition view calls: it orders each petition's
  events by version, not by this store's ``seq``, and folds them):
  ``petitions_open`` (``state.is_open``: status not closed / not_accepted /
  escalated, including a petition with no event yet), ``petitions_closed``
  (status closed), ``petitions_closed_in_month`` (closed on a day of
  the period — the key keeps its name for any period), ``petitions_overdue`` (``state.overdue``: open and past a
  legal deadline — a case handed up or refused is no longer this office's
  clock);
- ``conflicts_open``: conflicts with status ``open``, at their area.

The period (:class:`Period`, :func:`parse_period`) is a month (``2026-11``), a
quarter (``2026-Q4``), a year (``2026``) or a range of days
(``2026-10-01..2026-11-30``). ``as_of`` is its last day, or ``today`` while the
period is still running: the petitions are folded with ``today=as_of`` and
only over what was known on that day — a petition received after ``as_of``
is not counted, an event dated after it is left out of the fold — so a past
period's figures do not move as time passes, only when records dated inside
it arrive or change (a station synced late). Veterans on file (their status
has no date) and open conflicts are as of the making of the report.

``stale_stations`` lists the registered stations within the scope with no
sync in the 7 days before ``today`` (never synced, or last sync more than
7 days ago); a ``last_sync`` that cannot be read counts as stale.

``upward`` (made with ``period=`` only; JSON ``upward``): the counts a county sends upward,
for the scope as a whole (:class:`_Upward`; README, 上报统计): by category counting the main
and every further category once, 重点优抚对象 by type, 伤残等级 in :data:`DISABILITY_BANDS`,
档案完整 by :data:`REQUIRED_FIELDS`, 新增/迁出/去世 in the period, 光荣牌 households
(:func:`veterans.households.household_counts`), visits (人次) by kind and occasion, 重点
coverage, 慰问金/物资, and 信访 received in the period (件, 人次, 集体访 at
:data:`COLLECTIVE_SIZE`, by 领域), 按期受理/办结 over the fold's 受理告知期限/办理期限 met or
fallen overdue in the period, 复查/复核 requests dated in it. An archived report without
them is compared as before (only the rows' figures are).

``to_dict()`` is the JSON contract (English keys, stable, additive; ``month``
is the period's ``label``, ``YYYY-MM`` for a month as before; ``period``
(``kind``, ``label``, ``first``, ``last``) and ``as_of`` are added when made
with ``period=``, which the command lines always use);
``columns()`` and ``table_rows()`` feed :func:`veterans.tabular.write_table`
with Chinese headings.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
from dataclasses import dataclass, field
from typing import Any

from sync.engine.errors import ValidationError
from veterans.values import ENUMS, parse_date, parse_month, to_half_width, validate_area
from veterans.households import household_counts
from veterans.petition import HANDLING, NOTICE, fold_events
from sync.store import queries
from sync.engine.scope import AREA_LENGTHS, AREA_LEVELS
from sync.store.queries import AnyStore

__all__ = ["Report", "ReportRow", "StaleStation", "Period", "parse_period", "build_report", "report_from_dict", "FIGURES", "Change",
           "compare", "STALE_DAYS", "LEVEL_LABELS",
           "REQUIRED_FIELDS", "DISABILITY_BANDS", "COLLECTIVE_SIZE"]

STALE_DAYS = 7
NO_CATEGORY = "none"
LEVEL_LABELS = {"county": "县", "town": "镇（街道）", "village": "村（社区）"}
_CATEGORY_KEYS = (*ENUMS["category"], NO_CATEGORY)
_QUARTER_NAMES = {1: "一", 2: "二", 3: "三", 4: "四"}


@dataclass(frozen=True)
class Period:
    """The days a report covers, ``first`` to ``last`` inclusive; ``kind`` is
    ``month``, ``quarter``, ``year`` or ``range``."""

    kind: str
    first: _dt.date
    last: _dt.date

    @property
    def label(self) -> str:
        """How it is typed (``2026-11``, ``2026-Q4``, ``2026``, ``2026-10-01..2026-11-30``): the archive's key."""
        f = self.first
        if self.kind == "month":
            return f"{f.year:04d}-{f.month:02d}"
        if self.kind == "quarter":
            return f"{f.year:04d}-Q{(f.month - 1) // 3 + 1}"
        if self.kind == "year":
            return f"{f.year:04d}"
        return f"{f.isoformat()}..{self.last.isoformat()}"

    @property
    def title(self) -> str:
        """In Chinese: 2026年11月, 2026年第四季度, 2026年, 2026-10-01至2026-11-30."""
        f = self.first
        if self.kind == "month":
            return f"{f.year}年{f.month}月"
        if self.kind == "quarter":
            return f"{f.year}年第{_QUARTER_NAMES[(f.month - 1) // 3 + 1]}季度"
        if self.kind == "year":
            return f"{f.year}年"
        return f"{f.isoformat()}至{self.last.isoformat()}"

    @property
    def word(self) -> str:
        """本月, 本季度, 本年, 本期 (the column headings)."""
        return {"month": "本月", "quarter": "本季度", "year": "本年"}.get(self.kind, "本期")

    def as_of(self, today: _dt.date) -> _dt.date:
        """The day the figures are taken on: the period's last day, or ``today`` while it runs."""
        return min(self.last, today)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "label": self.label, "first": self.first.isoformat(), "last": self.last.isoformat()}


_YEAR = re.compile(r"(\d{4})年?")
_QUARTER = re.compile(r"(\d{4})\s*-?\s*[Qq]([1-4])")
_RANGE = re.compile(r"(.+?)\s*(?:\.\.|至|~)\s*(.+)")


def _month_period(month: str) -> Period:
    year, mon = int(month[:4]), int(month[5:7])
    nxt = _dt.date(year + 1, 1, 1) if mon == 12 else _dt.date(year, mon + 1, 1)
    return Period("month", _dt.date(year, mon, 1), nxt - _dt.timedelta(days=1))


def parse_period(text: Any) -> Period:
    """A period as typed: ``2026-11`` (or any way :func:`~veterans.values.parse_month` reads a
    month), ``2026-Q4``, ``2026``, ``2026-10-01..2026-11-30`` (also ``至``); a
    :class:`datetime.date` is its month. ValidationError otherwise (one Chinese line)."""
    if isinstance(text, Period):
        return text
    if isinstance(text, _dt.date):
        return _month_period(parse_month(text))
    raw = to_half_width("" if text is None else str(text)).strip()
    hint = "格式如 2026-11（月）、2026-Q4（季度）、2026（年）或 2026-10-01..2026-11-30（日期范围）"
    if m := _QUARTER.fullmatch(raw):
        year, q = int(m.group(1)), int(m.group(2))
        last = _dt.date(year + 1, 1, 1) if q == 4 else _dt.date(year, 3 * q + 1, 1)
        return _check_years(Period("quarter", _dt.date(year, 3 * q - 2, 1), last - _dt.timedelta(days=1)), raw, hint)
    if m := _YEAR.fullmatch(raw):
        year = int(m.group(1))
        return _check_years(Period("year", _dt.date(year, 1, 1), _dt.date(year, 12, 31)), raw, hint)
    if m := _RANGE.fullmatch(raw):
        first = _dt.date.fromisoformat(parse_date(m.group(1), field_label="起始日期"))
        last = _dt.date.fromisoformat(parse_date(m.group(2), field_label="截止日期"))
        if last < first:
            raise ValidationError(f"统计期间 {raw} 的截止日期早于起始日期", hint=hint)
        return Period("range", first, last)
    try:
        return _month_period(parse_month(raw, field_label="统计期间"))
    except ValidationError:
        raise ValidationError(f"统计期间 {raw or '（空）'} 无效", hint=hint) from None


def _check_years(period: Period, raw: str, hint: str) -> Period:
    if not 1900 <= period.first.year <= 2100:
        raise ValidationError(f"统计期间 {raw} 的年份无效", hint=hint)
    return period


#: 档案完整: the fields of the national collection every veteran's file must have filled
#: (README, 上报统计). One place: the report counts by it and the README names it.
REQUIRED_FIELDS = {
    "id_number": "身份证号", "name": "姓名", "gender": "性别", "birth_date": "出生日期", "area": "区划",
    "category": "类别", "enlisted_on": "入伍时间", "discharged_on": "退役时间", "phone": "联系电话",
    "address": "住址", "political_status": "政治面貌", "placement": "安置方式",
}
#: 伤残等级 as a county's table groups them: 一至四级, 五至六级, 七至十级.
DISABILITY_BANDS = {"level1_4": ("一至四级", range(1, 5)), "level5_6": ("五至六级", range(5, 7)),
                    "level7_10": ("七至十级", range(7, 11))}
COLLECTIVE_SIZE = 5  # 集体访: marked collective, or five people or more (信访工作条例 Art. 20)


#: The figures of a row that an archived report is compared on, with their Chinese names.
FIGURES = {
    "veterans_on_file": "在册人数",
    "visited": "走访覆盖人数",
    "visit_coverage_pct": "走访覆盖率",
    "petitions_received": "收到信访",
    "petitions_open": "未办结信访",
    "petitions_closed": "已办结信访",
    "petitions_closed_in_month": "期内办结信访",
    "petitions_overdue": "超期信访",
    "conflicts_open": "待处理冲突",
}


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
    """A scope's report for one period; see the module docstring for the figures."""

    scope: str
    month: str  # the period's label (YYYY-MM for a month)
    today: _dt.date
    generated_at: str
    rows: list[ReportRow]
    stale_stations: list[StaleStation]
    period: Period | None = None
    as_of: _dt.date | None = None
    #: Made with ``period=``: petitions as of ``as_of`` (the JSON then has ``period`` and ``as_of``);
    #: False for the pages' ``month=`` (as of ``today``, the JSON as it always was).
    dated: bool = False
    #: The counts a county sends upward (:class:`_Upward`), for the scope as a whole, when made
    #: with ``period=`` (JSON ``upward``); ``None`` for ``month=`` and in a report archived before them.
    upward: dict[str, Any] | None = None
    #: The petitions overdue as of ``as_of`` (``id``, ``petitioner``, ``confidential``, ``area``,
    #: ``received_on``, the earliest ``deadline`` missed and its ``due``): the xlsx's 逾期信访; not in the JSON.
    overdue_petitions: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.period is None:
            self.period = parse_period(self.month)
        if self.as_of is None:
            self.as_of = self.period.as_of(self.today)

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
            **({"period": self.period.to_dict(), "as_of": self.as_of.isoformat()} if self.dated else {}),
            **({"upward": self.upward} if self.upward is not None else {}),
        }

    def to_json(self, **kw: Any) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, **kw)

    @staticmethod
    def columns(word: str = "本月") -> list[tuple[str, str]]:
        """``(key, Chinese heading)`` of the table and Excel output, in order; ``word``
        names the period in the headings (:meth:`period_columns`: 本月/本季度/本年/本期)."""
        return [
            ("area", "区划代码"),
            ("level", "层级"),
            ("veterans_on_file", "在册人数"),
            *((f"category_{c}", _category_label(c)) for c in _CATEGORY_KEYS),
            ("visited", "走访覆盖人数"),
            ("visit_coverage_pct", "走访覆盖率"),
            ("petitions_received", f"{word}收到信访"),
            ("petitions_open", "未办结信访"),
            ("petitions_closed", "已办结信访"),
            ("petitions_closed_in_month", f"{word}办结信访"),
            ("petitions_overdue", "超期信访"),
            ("conflicts_open", "待处理冲突"),
        ]

    def period_columns(self) -> list[tuple[str, str]]:
        """:meth:`columns` with this report's period in the headings."""
        return self.columns(self.period.word)

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
    return "未分类" if code == NO_CATEGORY else ENUMS["category"].get(code, code)


def report_from_dict(data: dict[str, Any]) -> Report:
    """A report again from its JSON contract (an archived one: its rows and stale stations as they were)."""
    keys = set(ReportRow.__dataclass_fields__)
    rows = []
    for r in data.get("rows", ()):
        row = ReportRow(**{k: v for k, v in r.items() if k in keys and k != "by_category"})
        row.by_category.update(r.get("by_category") or {})
        rows.append(row)
    stale = [StaleStation(s["station"], s.get("last_sync"), s.get("days_since_sync")) for s in data.get("stale_stations", ())]
    period = parse_period(data["period"]["label"]) if data.get("period") else parse_period(data["month"])
    as_of = _dt.date.fromisoformat(data["as_of"]) if data.get("as_of") else None
    return Report(data["scope"], data["month"], _dt.date.fromisoformat(data["today"]), data["generated_at"], rows, stale,
                  period, as_of, dated="as_of" in data, upward=data.get("upward"))


# --------------------------------------------------------------------------- an archived report made again


@dataclass(frozen=True)
class Change:
    """A figure of one area that differs between the archived report and the report made now."""

    area: str
    name: str
    figure: str  # a key of FIGURES, or category_<code>
    label: str
    archived: Any
    now: Any

    def to_dict(self) -> dict[str, Any]:
        return {"area": self.area, "name": self.name, "figure": self.figure, "label": self.label,
                "archived": self.archived, "now": self.now}


def _figures_of(row: dict[str, Any] | None) -> dict[str, Any]:
    if row is None:
        return {}
    out = {k: row.get(k) for k in FIGURES}
    out.update({f"category_{c}": n for c, n in (row.get("by_category") or {}).items()})
    return out


def compare(archived: dict[str, Any], now: Report) -> list[Change]:
    """Per area and figure, what differs between ``archived`` (a report's JSON as submitted)
    and ``now`` (the same scope and period made again): records synced late but dated
    inside the period, records changed or deleted since. An area in only one of them
    counts as all zeros (no coverage) in the other. In the order of ``now``'s rows,
    then the areas only the archive has."""
    before = {r["area"]: r for r in archived.get("rows", ())}
    after = {r.area: r.to_dict() for r in now.rows}
    order = [*after, *(a for a in before if a not in after)]
    labels = {**FIGURES, **{f"category_{c}": f"在册人数（{_category_label(c)}）" for c in _CATEGORY_KEYS}}
    out = []
    for area in order:
        old, new = _figures_of(before.get(area)), _figures_of(after.get(area))
        row = after.get(area) or before.get(area) or {}
        name = "合计" if row.get("total") else str(row.get("name") or area)
        for key in dict.fromkeys([*old, *new]):
            default = None if key == "visit_coverage_pct" else 0
            a, b = old.get(key, default), new.get(key, default)
            if a != b:
                out.append(Change(area, name, key, labels.get(key, key), a, b))
    return out


# --------------------------------------------------------------------------- building


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


_VETERAN_COLUMNS = ("area", "category", "categories", "status", "merged_into", "soldier_id", "priority_type",
                    "disability_level", "registered_on", "moved_out_on", "died_on", *REQUIRED_FIELDS)
_BAND_OF = {f"level{n}": key for key, (_, band) in DISABILITY_BANDS.items() for n in band}
_REVIEW_KINDS = {"review_request": "review_requests", "recheck_request": "recheck_requests"}


def _pct(part: int, whole: int) -> float | None:
    return None if not whole else round(100 * part / whole, 1)


class _Upward:
    """The counts a county sends upward, for the scope as a whole (see README, 上报统计).

    Over veterans not merged into another: 在册 as the rows count them (status 在册 or
    unset); by category counting the main and each further category once; 新增/迁出/去世
    by ``registered_on``/``moved_out_on``/``died_on`` on a day of the period. Visits of the
    scope's veterans in the period (人次). Petitions received in the period (件, 人次 by
    ``group_size``, default 1), folded as of the period's end by the one petition fold."""

    def __init__(self, first: str, after: str):
        self.first, self.after = first, after
        self.in_scope: set[str] = set()
        self.priority_ids: set[str] = set()
        self.priority_visited: set[str] = set()
        self.categories = dict.fromkeys(ENUMS["category"], 0)
        self.priority = dict.fromkeys(ENUMS["priority_type"], 0)
        self.bands = dict.fromkeys(DISABILITY_BANDS, 0)
        self.on_file = self.complete = self.new = self.moved_out = self.deceased = 0
        self.by_kind = dict.fromkeys(ENUMS["visit_kind"], 0)
        self.by_occasion = dict.fromkeys(ENUMS["occasion"], 0)
        self.visits = 0
        self.aid_cash = self.aid_goods = 0.0
        self.pet = dict.fromkeys(("batches", "person_times", "collective", "review_requests", "recheck_requests",
                                  "notice_due", "notice_on_time", "handling_due", "handling_on_time"), 0)
        self.by_domain: dict[str, int] = {}
        self.plaque_households = self.plaque_hung = 0

    def _in(self, value: Any) -> bool:
        return bool(value) and self.first <= str(value)[:10] < self.after

    def veteran(self, v: dict) -> None:
        if v["merged_into"]:
            return
        self.in_scope.add(v["id"])
        first, after = self.first, self.after
        for key, attr in (("registered_on", "new"), ("moved_out_on", "moved_out"), ("died_on", "deceased")):
            day = v[key]
            if day and first <= str(day)[:10] < after:
                setattr(self, attr, getattr(self, attr) + 1)
        if v["status"] and v["status"] != "active":
            return
        self.on_file += 1
        cats = self.categories
        if v["category"] in cats:
            cats[v["category"]] += 1
        for code in str(v["categories"] or "").split(","):
            if code in cats and code != v["category"]:
                cats[code] += 1
        kind = v["priority_type"]
        if kind in self.priority:
            self.priority[kind] += 1
            self.priority_ids.add(v["id"])
        band = _BAND_OF.get(v["disability_level"])
        if band:
            self.bands[band] += 1
        for f in REQUIRED_FIELDS:
            if v[f] is None or v[f] == "":
                return
        self.complete += 1

    def visit(self, vid: str, kind: Any, occasion: Any, cash: Any, goods: Any) -> None:
        self.visits += 1
        if kind in self.by_kind:
            self.by_kind[kind] += 1
        if occasion in self.by_occasion:
            self.by_occasion[occasion] += 1
        for attr, value in (("aid_cash", cash), ("aid_goods", goods)):
            try:
                setattr(self, attr, getattr(self, attr) + float(value or 0))
            except (TypeError, ValueError):
                pass
        if vid in self.priority_ids:
            self.priority_visited.add(vid)

    def households(self, vets: list[dict], plaques: list[dict]) -> None:
        self.plaque_households, self.plaque_hung = household_counts(vets, plaques)

    def petition(self, petition: dict, state: Any, extras: tuple, events: list) -> None:
        size, collective, domain = extras
        pet = self.pet
        for ev in events:  # 复查/复核 asked for in the period
            key = _REVIEW_KINDS.get(ev.values.get("kind"))
            if key and self._in(ev.values.get("at")):
                pet[key] += 1
        for d in state.deadlines:  # 按期受理/办结: the fold's deadlines, met or fallen due in the period
            key = {NOTICE: "notice", HANDLING: "handling"}.get(d.what)
            if key and (self._in(d.met_on.isoformat()) if d.met_on else d.overdue and self._in(d.due.isoformat())):
                pet[f"{key}_due"] += 1
                pet[f"{key}_on_time"] += d.met_on is not None and d.met_on <= d.due
        if not self._in(petition["received_on"]):
            return
        try:
            people = max(int(size or 1), 1)
        except (TypeError, ValueError):
            people = 1
        pet["batches"] += 1
        pet["person_times"] += people
        pet["collective"] += bool(collective and str(collective) not in ("0", "false")) or people >= COLLECTIVE_SIZE
        name = str(domain or "").strip() or "未填"
        self.by_domain[name] = self.by_domain.get(name, 0) + 1

    def to_dict(self) -> dict[str, Any]:
        pet = self.pet
        return {
            "veterans_on_file": self.on_file,
            "by_category": dict(self.categories),
            "by_priority_type": dict(self.priority),
            "disability_bands": dict(self.bands),
            "files_complete": self.complete,
            "files_complete_pct": _pct(self.complete, self.on_file),
            "new": self.new, "moved_out": self.moved_out, "deceased": self.deceased,
            "plaque_households": self.plaque_households, "plaque_hung": self.plaque_hung,
            "plaque_hung_pct": _pct(self.plaque_hung, self.plaque_households),
            "visits": self.visits,
            "visits_by_kind": dict(self.by_kind),
            "visits_by_occasion": dict(self.by_occasion),
            "priority_on_file": len(self.priority_ids),
            "priority_contacted": len(self.priority_visited),
            "priority_coverage_pct": _pct(len(self.priority_visited), len(self.priority_ids)),
            "aid_cash": round(self.aid_cash, 2), "aid_goods_value": round(self.aid_goods, 2),
            "petition_batches": pet["batches"], "petition_person_times": pet["person_times"],
            "petitions_collective": pet["collective"],
            "petitions_notice_due": pet["notice_due"], "petitions_notice_on_time": pet["notice_on_time"],
            "notice_on_time_pct": _pct(pet["notice_on_time"], pet["notice_due"]),
            "petitions_handling_due": pet["handling_due"], "petitions_handling_on_time": pet["handling_on_time"],
            "handling_on_time_pct": _pct(pet["handling_on_time"], pet["handling_due"]),
            "review_requests": pet["review_requests"], "recheck_requests": pet["recheck_requests"],
            "petitions_by_domain": dict(sorted(self.by_domain.items())),
        }


def build_report(
    store: AnyStore,
    scope: str,
    *,
    month: str | None = None,
    period: "str | Period | None" = None,
    today: _dt.date,
    stations: list[dict] | None = None,
    generated_at: _dt.datetime | None = None,
) -> "Report":
    """Compute the report of ``scope`` for ``period`` (see :func:`parse_period`), its
    petitions as of the period's end (:meth:`Period.as_of`).

    ``month`` (``YYYY-MM``), the keyword of the pages, is kept as it was: the month's
    report with the petitions as of ``today``; with neither, the month of ``today``.
    ``stations`` is the hub's registry, ``[{"station": code, "last_sync": ISO or None}]``.
    Raises :class:`~sync.engine.errors.ValidationError` for a malformed scope, month or period.
    Reads in a single read transaction, so the figures are one consistent snapshot.
    """
    scope = validate_area(scope)
    if period is not None:
        per = parse_period(period)
        as_of = per.as_of(today)
        cutoff: str | None = as_of.isoformat()  # what was known on that day
    else:
        per = _month_period(parse_month(month if month is not None else today))
        as_of, cutoff = today, None
    first, after = per.first.isoformat(), (per.last + _dt.timedelta(days=1)).isoformat()
    rows = _Rows(scope)
    with store.transaction("DEFERRED"):
        # veterans on file, by category
        on_file: dict[str, list[ReportRow]] = {}
        up = _Upward(first, after)
        vets = list(queries.veteran_rows_for_report(store, scope, _VETERAN_COLUMNS))
        for v in vets:
            vid, area, category, status, merged = v["id"], v["area"], v["category"], v["status"], v["merged_into"]
            up.veteran(v)
            if merged or (status and status != "active"):  # 迁出, 已故, or unknown
                rows.touch(area)
                continue
            cat = category if category in ENUMS["category"] else NO_CATEGORY
            targets = rows.touch(area)
            on_file[vid] = targets
            for row in targets:
                row.veterans_on_file += 1
                row.by_category[cat] += 1
        # visit coverage: distinct veterans visited in the period, at the veteran's area
        seen: set[str] = set()
        for vid, kind, occasion, cash, goods in queries.visits_between(store, first, after):
            if vid in up.in_scope:
                up.visit(vid, kind, occasion, cash, goods)
            if vid in seen:
                continue
            seen.add(vid)
            for row in on_file.get(vid, ()):
                row.visited += 1
        up.households(vets, queries.plaques_in(store, scope))
        # petitions: one query for the petitions, one read of the events with their
        # clocks; veterans.petition.fold_events orders each petition's events and folds them
        petitions = {
            pid: {"area": area, "received_on": received_on}
            for pid, area, received_on in queries.petitions_in(store, scope)
            if cutoff is None or not received_on or str(received_on)[:10] <= cutoff
        }
        events: dict[str, list] = {pid: [] for pid in petitions}
        for ev in queries.events_of(store):
            of = events.get(ev.values.get("petition_id"))
            if of is None:  # not an event of a petition in the scope
                continue
            if cutoff is not None and str(ev.values.get("at") or "")[:10] > cutoff:
                continue  # dated after the period's end: not yet happened then
            of.append(ev)
        extras = {pid: rest for pid, *rest in queries.petition_extras(store, scope)}
        overdue = []
        for pid, petition in petitions.items():
            _, state = fold_events(petition, events[pid], today=as_of)
            size, coll, dom, petitioner, confidential = extras.get(pid, (None,) * 5)
            up.petition(petition, state, (size, coll, dom), events[pid])
            if state.overdue:
                missed = min((d for d in state.deadlines if d.counts and d.overdue), key=lambda d: d.due)
                overdue.append({"id": pid, "petitioner": petitioner, "confidential": bool(confidential),
                                "area": petition["area"], "received_on": petition["received_on"],
                                "deadline": missed.what, "due": missed.due.isoformat()})
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
    return Report(scope, per.label, today, stamp, rows.ordered(), stale, per, as_of, dated=cutoff is not None,
                  upward=up.to_dict() if cutoff is not None else None,
                  overdue_petitions=sorted(overdue, key=lambda o: (o["due"], o["id"])))
