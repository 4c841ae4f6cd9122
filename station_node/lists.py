"""What the station's record commands share for finding and listing: a record
named as the clerk names it (id, row number, ID number, name — see
:mod:`veterans.find`), the candidates of a name several veterans have, and
pages of a list (numbered rows kept for the next command, ``--limit`` /
``--offset``, 80 columns, a pager on a terminal).

The finding itself is :mod:`station_node.records` (``find_veteran`` …) and the
numbers kept in the home :mod:`station_node.shortcodes`; this module only
connects them to click.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator, Sequence

from station_node import home as home_mod
from station_node import records
from station_node.shortcodes import LastLists
from veterans import find
from vetsync_cli import CliError
from vetsync_cli.listing import Column, echo_lines, emit_json_array, render, terminal_width
from vetsync_cli.record_views import DEFAULT_LIMIT, page_lines, page_options, window

__all__ = [
    "DEFAULT_LIMIT",
    "REF_HELP",
    "numbers",
    "resolving",
    "veteran_ref",
    "visit_ref",
    "petition_ref",
    "page_options",
    "window",
    "print_page",
    "emit_page_json",
    "record_lines",
    "candidate_columns",
]

REF_HELP = "序号（上次列表中的）、身份证号、姓名（本站唯一时）或档案编号"


def numbers(home: str | None) -> LastLists:
    """The row numbers kept in this station home."""
    return LastLists(home_mod.resolve_home(home))


def candidate_columns() -> list[Column]:
    return [
        Column("序号", lambda r: r["_no"], keep=True, align="right"),
        Column("姓名", lambda r: r.get("name") or "", keep=True),
        Column("身份证号", lambda r: find.mask_id_number(r.get("id_number")), priority=5),
        Column("村/社区", lambda r: r.get("area") or "", priority=4),
        Column("出生日期", lambda r: r.get("birth_date") or "", priority=3),
    ]


@contextmanager
def resolving(home: str | None) -> Iterator[None]:
    """Turn :class:`veterans.find.Ambiguous` into the candidates (printed, numbered,
    kept as the last list) and a one-line refusal."""
    try:
        yield
    except find.Ambiguous as exc:
        rows = exc.candidates
        if rows and "name" in rows[0]:  # veterans: name, masked ID number, village, birth date
            numbered = [{**r, "_no": str(n)} for n, r in enumerate(rows, start=1)]
            numbers(home).remember("veterans", [r["id"] for r in rows], first=1)
            title = f"叫 {rows[0]['name']} 的退役军人（{len(rows)}人）："
            echo_lines([title, *render(candidate_columns(), numbered, width=terminal_width())])
        else:  # ids only
            echo_lines(r["id"] for r in rows)
        raise CliError(str(exc)) from exc


def veteran_ref(store, home: str | None, text: Any, *, include_deleted: bool = False) -> dict:
    """The veteran named by ``text`` (raises :class:`veterans.find.Ambiguous` inside :func:`resolving`)."""
    return records.find_veteran(store, text, numbers=numbers(home), include_deleted=include_deleted)


def visit_ref(store, home: str | None, text: Any, *, include_deleted: bool = False) -> dict:
    return records.find_visit(store, text, numbers=numbers(home), include_deleted=include_deleted)


def petition_ref(store, home: str | None, text: Any, *, include_deleted: bool = False) -> dict:
    return records.find_petition(store, text, numbers=numbers(home), include_deleted=include_deleted)


def emit_page_json(rows: Iterable[Any]) -> None:
    emit_json_array(rows)


def print_page(page: records.Page, columns: Sequence[Column], *, table: str, home: str | None, title: str,
               unit: str, more: str, empty: str = "（无记录）", convert: Callable[[Any], dict] | None = None) -> None:
    """One page of a list, numbered from the page's first row; the numbers are kept
    (``table``'s last list) for the next command; ``more``: the command of the next page."""
    rows = [convert(r) if convert else r for r in page.rows]
    lines = page_lines(rows, page.total, page.offset, columns, title=title, unit=unit, more=more, empty=empty)
    numbers(home).remember(table, [r["id"] for r in rows], first=page.first_number)
    echo_lines(lines)


def record_lines(pairs: Iterable[tuple[str, str]], *, title: str | None = None) -> list[str]:
    """A record as a table 字段 / 值 (the value wraps to the width; empty values left out)."""
    rows = [{"k": k, "v": v} for k, v in pairs if v not in (None, "")]
    out = [title] if title else []
    out += render([Column("字段", lambda r: r["k"], keep=True), Column("值", lambda r: r["v"], wrap=True, min_width=20)],
                  rows, width=terminal_width())
    return out
