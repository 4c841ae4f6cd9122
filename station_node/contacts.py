"""The contact duty (走访慰问): who in the station's scope has not been visited or
called this calendar month, with the day of the last contact.

Over :mod:`sync.store.contacts` (the SQL); a veteran counts as the county report
counts one on file (live, not merged, status 在册 or unset), so that this list and
the report's 走访覆盖 agree: on file = visited this month + this list.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import Iterator

from station_node import records
from sync.store import contacts as reads
from sync.store.station import Store
from veterans import values as domain

__all__ = ["Uncontacted", "month_start", "uncontacted_page", "areas_in_scope", "last_visits"]


@dataclass(frozen=True)
class Uncontacted:
    """A veteran not contacted this month: the record, the date of the last visit
    (None: never visited) and the days since it (None: never)."""

    veteran: dict
    last_visit: str | None
    days_since: int | None


def month_start(today: _dt.date | None = None) -> _dt.date:
    return (today or _dt.date.today()).replace(day=1)


def uncontacted_page(store: Store, *, area: str | None = None, today: _dt.date | None = None,
                     limit: int | None = 50, offset: int = 0) -> records.Page:
    """A page of the on-file veterans under ``area`` (default: the station's scope)
    with no visit since the first of ``today``'s month, by area then name; rows are
    :class:`Uncontacted`."""
    day = today or _dt.date.today()
    scope = records.station_scope(store)
    prefix = domain.validate_area(area, scope=scope) if area else scope
    since = month_start(day).isoformat()
    records.refresh_name_keys(store)
    total = reads.count_uncontacted(store, prefix, since)

    def rows() -> Iterator[Uncontacted]:
        for vet, last in reads.uncontacted_page(store, prefix, since, limit=limit or None, offset=offset):
            days = None
            if last:
                try:
                    days = (day - _dt.date.fromisoformat(last)).days
                except ValueError:
                    days = None
            yield Uncontacted(vet, last, days)

    return records.Page(rows(), total, offset, limit or None)


def areas_in_scope(store: Store) -> list[str]:
    """The villages a clerk chooses from: the station's own (a village station), and
    the areas its veterans are filed in."""
    scope = records.station_scope(store)
    areas = set(reads.veteran_areas(store, scope))
    if len(scope) == 12:
        areas.add(scope)
    return sorted(areas)


def last_visits(store: Store, veteran_ids) -> dict[str, str]:
    """``{veteran id: date of the last visit}`` of those ever visited."""
    return reads.last_visits(store, veteran_ids)
