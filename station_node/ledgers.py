"""台账: the visits and the petitions of the station as ``.xlsx`` / ``.csv`` ledgers.

Library code over a :class:`sync.store.station.Store` (no click, no printing),
beside :mod:`station_node.roster` (the veterans' roster).

- :func:`export_visits`: 走访慰问台账 — one row a visit, oldest first, with the
  veteran visited (name, ID number, category, phone, address) and every
  field of the visit, enum values as Chinese labels;
- :func:`export_petitions`: 信访台账 — one row a petition, oldest first, with
  its veteran, its status as the petition law derives it from the event log
  (the same fold ``petition show`` uses), the next deadline, whether it is
  overdue, the reply and closing dates. 检举控告类 petitions are confidential
  (信访工作条例): left out unless ``confidential=True``, and counted.

Both take an area under the station's scope and a date range (the visit's
date, the petition's date received; both ends included), read the store in
chunks (``sync.store.roster_reads.ledger_rows``) and stream the rows into the
file, so a county-sized ledger is never held in memory. Headings are the
schema's Chinese labels; ID numbers and area codes are text in both formats
(``veterans.tabular``: Excel does not turn them into numbers). The first
column is 序号.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

from veterans import petition as petition_rules
from veterans import values as domain
from sync.store import queries, roster_reads
from sync.engine.errors import ValidationError
from sync.store.station import Store
from veterans.fields import display_value
from veterans.labels import field_label
from sync.engine.schema import table as _table
from veterans.tabular import write_table

from station_node.records import station_scope

__all__ = ["LedgerResult", "export_visits", "export_petitions", "visit_columns", "petition_columns"]

#: ``progress(rows written so far)``.
Progress = Callable[[int], None]

_PROGRESS_EVERY = 1000
_SEQ = "序号"
_VETERAN_FIELDS = ("name", "id_number", "category", "phone", "address")


@dataclass(frozen=True)
class LedgerResult:
    """``rows`` written; ``withheld``: confidential petitions left out."""

    rows: int
    withheld: int = 0


def _veteran_columns() -> list[tuple[str, str]]:
    return [(f"veteran.{n}", field_label("veterans", n)) for n in _VETERAN_FIELDS]


def visit_columns() -> list[tuple[str, str]]:
    """``[(key, heading)]`` of the visit ledger."""
    own = [(n, field_label("visits", n)) for n in
           ("kind", "occasion", "visitors", "summary", "difficulties", "aid_cash", "aid_goods", "follow_up", "area",
            "station")]
    return [(_SEQ, _SEQ), ("visited_on", field_label("visits", "visited_on")), *_veteran_columns(), *own]


def petition_columns(*, confidential: bool = False) -> list[tuple[str, str]]:
    """``[(key, heading)]`` of the petition ledger (保密 only when confidential ones are in)."""
    cols = [
        (_SEQ, _SEQ),
        ("received_on", field_label("petitions", "received_on")),
        ("petitioner", field_label("petitions", "petitioner")),
        ("contact", field_label("petitions", "contact")),
        *_veteran_columns()[:2],
        ("area", field_label("petitions", "area")),
        ("channel", field_label("petitions", "channel")),
        ("class", field_label("petitions", "class")),
        ("group_size", field_label("petitions", "group_size")),
        ("summary", field_label("petitions", "summary")),
        ("handler", field_label("petitions", "handler")),
        ("status", "办理状态"),
        ("next_what", "下一期限"),
        ("next_due", "到期日"),
        ("overdue", "是否超期"),
        ("replied_on", "答复日期"),
        ("outcome", field_label("petition_events", "outcome")),
        ("closed_on", "办结日期"),
        ("station", field_label("petitions", "station")),
    ]
    if confidential:
        cols.append(("confidential", field_label("petitions", "confidential")))
    return cols


def _range(store: Store, area: str | None, since: Any, until: Any) -> tuple[str | None, str | None, str | None]:
    scope = station_scope(store)
    prefix = domain.validate_area(area, scope=scope) if area is not None else None
    first = domain.parse_date(since, field_label="起始日期") if since not in (None, "") else None
    last = domain.parse_date(until, field_label="截止日期") if until not in (None, "") else None
    if first and last and first > last:
        raise ValidationError(f"起始日期 {first} 晚于截止日期 {last}")
    return prefix, first, last


def _converter(table: str, name: str) -> Callable[[Any], Any]:
    """The ledger cell of a stored value of ``table.name``: enum labels, 是/否, numbers as
    numbers, None for empty (made once a column: a ledger has millions of cells)."""
    f = _table(table).get(name)
    kind = f.kind if f else "text"
    if kind == "enum":
        labels = domain.ENUMS[f.enum]
        return lambda v: None if v is None or v == "" else labels.get(v, v)
    if kind == "bool":
        return lambda v: None if v is None or v == "" else display_value(table, name, v)
    return lambda v: None if v is None or v == "" else v


def _converters(table: str, columns: list[tuple[str, str]]) -> list[tuple[str, Callable[[Any], Any]]]:
    return [(key, _converter(table, key)) for key, _ in columns if key != _SEQ and "." not in key]


_VETERAN_CONVERTERS = [(f"veteran.{n}", n, _converter("veterans", n)) for n in _VETERAN_FIELDS]


def _veteran_cells(vet: dict | None) -> dict[str, Any]:
    if not vet:
        return {}
    return {key: conv(vet.get(name)) for key, name, conv in _VETERAN_CONVERTERS}


def _counted(rows: Iterator[dict], progress: Progress | None, seen: list[int]) -> Iterator[dict]:
    for row in rows:
        seen[0] += 1
        row[_SEQ] = seen[0]
        if progress and seen[0] % _PROGRESS_EVERY == 0:
            progress(seen[0])
        yield row


def export_visits(store: Store, path: str | Path, *, area: str | None = None, since: Any = None,
                  until: Any = None, progress: Progress | None = None) -> LedgerResult:
    """Write the 走访慰问台账 to ``path`` (.xlsx or .csv); see the module docstring."""
    prefix, first, last = _range(store, area, since, until)
    columns = visit_columns()
    own = _converters("visits", columns)

    def rows() -> Iterator[dict]:
        for visit, vet in roster_reads.ledger_rows(store, "visits", area_prefix=prefix, first=first, last=last):
            row = {key: conv(visit.get(key)) for key, conv in own}
            row.update(_veteran_cells(vet))
            yield row

    seen = [0]
    write_table(path, columns, _counted(rows(), progress, seen), sheet="走访慰问台账")
    if progress:
        progress(seen[0])
    return LedgerResult(seen[0])


def _petition_chunks(store: Store, prefix, first, last) -> Iterator[list[tuple[dict, dict | None]]]:
    chunk: list[tuple[dict, dict | None]] = []
    for item in roster_reads.ledger_rows(store, "petitions", area_prefix=prefix, first=first, last=last):
        chunk.append(item)
        if len(chunk) >= roster_reads.CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _iso(day: _dt.date | None) -> str | None:
    return day.isoformat() if day else None


def export_petitions(store: Store, path: str | Path, *, area: str | None = None, since: Any = None,
                     until: Any = None, confidential: bool = False, today: _dt.date | None = None,
                     progress: Progress | None = None) -> LedgerResult:
    """Write the 信访台账 to ``path`` (.xlsx or .csv); see the module docstring."""
    prefix, first, last = _range(store, area, since, until)
    day = today or _dt.date.today()
    columns = petition_columns(confidential=confidential)
    own = _converters("petitions", columns)
    withheld = [0]

    def rows() -> Iterator[dict]:
        for chunk in _petition_chunks(store, prefix, first, last):
            events: dict[str, list] = {}
            for state in queries.events_of(store, [p["id"] for p, _ in chunk]):
                events.setdefault(state.values.get("petition_id"), []).append(state)
            for pet, vet in chunk:
                if pet.get("confidential") and not confidential:
                    withheld[0] += 1
                    continue
                _, state = petition_rules.fold_events(pet, events.get(pet["id"], []), today=day)
                row = {key: conv(pet.get(key)) for key, conv in own}
                row.update(_veteran_cells(vet))
                due = state.next_due
                row.update(
                    status=state.status_label,
                    next_what=due.what if due else None,
                    next_due=_iso(due.due) if due else None,
                    overdue="是" if state.overdue else "否",
                    replied_on=_iso(state.replied_on),
                    outcome=domain.label("outcome", state.outcome) if state.outcome else None,
                    closed_on=_iso(state.closed_on),
                )
                yield row

    seen = [0]
    write_table(path, columns, _counted(rows(), progress, seen), sheet="信访台账")
    if progress:
        progress(seen[0])
    return LedgerResult(seen[0], withheld[0])
