"""The holiday calendar (``holidays.toml``, data) and 民法典 Art. 203.

A period of days whose last day falls on a rest day (a statutory holiday, or a
Saturday or Sunday that is not a make-up working day) ends on the next working
day. Which deadlines move this way is ``veterans.petition``'s (the petitioner's
复查/复核 windows); the office's own limits count calendar days.

The calendar is ``veterans/holidays.toml``, a table per year; a county's own file
of the same shape (``VETSYNC_HOLIDAYS``: its path) replaces the years it lists.
Stdlib only.
"""

from __future__ import annotations

import datetime as _dt
import os
import tomllib
from functools import lru_cache
from pathlib import Path

__all__ = ["Calendar", "calendar", "is_rest_day", "roll_forward", "ENV", "PACKAGE_FILE"]

ENV = "VETSYNC_HOLIDAYS"
PACKAGE_FILE = Path(__file__).with_name("holidays.toml")


class Calendar:
    """Rest days and make-up working days by year."""

    def __init__(self, years: dict[int, tuple[frozenset[_dt.date], frozenset[_dt.date]]]):
        self.years = years
        self.holidays = frozenset().union(*(h for h, _ in years.values())) if years else frozenset()
        self.workdays = frozenset().union(*(w for _, w in years.values())) if years else frozenset()

    @classmethod
    def parse(cls, text: str) -> "Calendar":
        """Read a calendar's TOML text; raise ``ValueError`` on a bad entry."""
        data = tomllib.loads(text)
        years: dict[int, tuple[frozenset[_dt.date], frozenset[_dt.date]]] = {}
        for key, table in data.items():
            year = int(key)
            days: set[_dt.date] = set()
            for first, last in table.get("holidays", []):
                a, b = _dt.date.fromisoformat(first), _dt.date.fromisoformat(last)
                if b < a or b - a > _dt.timedelta(days=31):
                    raise ValueError(f"{year} 年假期 {first}–{last} 无效")
                days.update(a + _dt.timedelta(days=i) for i in range((b - a).days + 1))
            work = frozenset(_dt.date.fromisoformat(d) for d in table.get("workdays", []))
            years[year] = (frozenset(days), work)
        return cls(years)

    def merged(self, other: "Calendar") -> "Calendar":
        return Calendar({**self.years, **other.years})

    def is_rest_day(self, day: _dt.date) -> bool:
        if day in self.workdays:
            return False
        return day in self.holidays or day.weekday() >= 5

    def roll_forward(self, day: _dt.date) -> _dt.date:
        """``day``, or the first working day after it if it is a rest day (民法典 Art. 203)."""
        while self.is_rest_day(day):
            day += _dt.timedelta(days=1)
        return day


@lru_cache(maxsize=4)
def _load(override: str | None) -> Calendar:
    cal = Calendar.parse(PACKAGE_FILE.read_text(encoding="utf-8"))
    if override:
        cal = cal.merged(Calendar.parse(Path(override).read_text(encoding="utf-8")))
    return cal


def calendar() -> Calendar:
    """The package's calendar, with the county's file (``VETSYNC_HOLIDAYS``) over it."""
    return _load(os.environ.get(ENV) or None)


def is_rest_day(day: _dt.date) -> bool:
    return calendar().is_rest_day(day)


def roll_forward(day: _dt.date) -> _dt.date:
    return calendar().roll_forward(day)
