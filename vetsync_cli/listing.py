"""Lists as both command lines print them: tables that fit the terminal, a
pager, and JSON arrays streamed a record at a time.

Plain text (no box drawing, no Rich: a list of a county's 20,000 veterans
renders a page in milliseconds and imports nothing heavy), measured in
terminal cells (a Chinese character is two, ``unicodedata.east_asian_width``).

Fitting a width (:func:`layout`): columns are laid out at their natural
width; when that is too wide, the columns that may wrap (a summary, an
address) are narrowed down to their ``min_width`` and their text wraps onto
more lines; when it is still too wide, the columns of the lowest
``priority`` are left out, one by one (a note under the table names them).
A column marked ``keep`` (the row number, the name) is never left out and
never wraps: a name is shown whole, never cut to ``张 …``.

The width is the terminal's on a terminal; off a terminal (a pipe, a file)
it is ``$COLUMNS`` when set, else unlimited (every column, nothing wrapped).
:func:`echo_lines` sends a long output through the pager
(``click.echo_via_pager``, i.e. ``$PAGER`` or ``less``) on a terminal only.

:func:`emit_json_array` prints what ``emit_json(list(items))`` would, text for
text, without holding the list: ``--json`` of a list of 240,000 visits
streams them.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import shutil
import sys
import unicodedata
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, Sequence

import click

__all__ = ["Column", "cell_width", "wrap_cell", "layout", "render", "terminal_width", "echo_lines", "emit_json_array"]

GAP = 2
# Where a wrapped cell prefers to break (after the character).
_BREAKS = " /、，,；;：:）)。"


def cell_width(text: str) -> int:
    """Terminal cells of ``text``: 2 for wide (Chinese) characters, 0 for combining marks."""
    if text.isascii():
        return len(text)
    width = 0
    for ch in text:
        if unicodedata.combining(ch):
            continue
        width += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return width


def _clean(value: object) -> str:
    text = "" if value is None else str(value)
    return " ".join(text.split()) if any(c in text for c in "\n\r\t") else text


def wrap_cell(text: str, width: int) -> list[str]:
    """``text`` in lines of at most ``width`` cells (broken between characters,
    at a space when one is near); a character wider than ``width`` gets a line of its own."""
    if cell_width(text) <= width:
        return [text]
    lines, line, used = [], "", 0
    for ch in text:
        w = cell_width(ch)
        if used + w > width and line:
            cut = max(line.rfind(b) for b in _BREAKS)  # break after a separator when there is one
            if ch not in _BREAKS and cut > 0 and cut >= len(line) // 3:
                lines.append(line[:cut + 1].rstrip())
                line = line[cut + 1:].lstrip()
                used = cell_width(line)
            elif ch != " " and ch in _BREAKS and len(line) > 1:  # no punctuation at a line's start
                lines.append(line[:-1].rstrip())
                line = line[-1]
                used = cell_width(line)
            else:
                lines.append(line.rstrip())
                line, used = "", 0
            if ch == " ":
                continue
        line += ch
        used += w
    if line:
        lines.append(line)
    return lines


@dataclass
class Column:
    """A column: its ``heading`` and a function of a row to the cell's text.

    ``priority``: higher stays longer when the width is short; ``wrap``: its
    text may wrap (narrowed down to ``min_width`` cells); ``keep``: never left
    out and never wrapped; ``align``: ``left`` or ``right``."""

    heading: str
    get: Callable[[object], object]
    priority: int = 0
    wrap: bool = False
    min_width: int = 8
    keep: bool = False
    align: str = "left"


def layout(columns: Sequence[Column], cells: Sequence[Sequence[str]], width: int | None) -> tuple[list[int], list[int]]:
    """(indexes of the columns shown, their widths) for rows of ``cells`` within ``width``."""
    natural = [max([cell_width(c.heading), *(cell_width(row[i]) for row in cells)]) for i, c in enumerate(columns)]
    shown = list(range(len(columns)))
    while True:
        widths = {i: natural[i] for i in shown}
        if width is None:
            return shown, [widths[i] for i in shown]
        budget = width - GAP * (len(shown) - 1)
        excess = sum(widths.values()) - budget
        if excess > 0:  # narrow the wrapping columns, widest first
            wrapping = [i for i in shown if columns[i].wrap and not columns[i].keep]
            while excess > 0:
                room = [i for i in wrapping
                        if widths[i] > max(columns[i].min_width, cell_width(columns[i].heading))]
                if not room:
                    break
                widest = max(room, key=lambda i: widths[i])
                widths[widest] -= 1
                excess -= 1
        if excess <= 0:
            return shown, [widths[i] for i in shown]
        droppable = [i for i in shown if not columns[i].keep]
        if not droppable:
            return shown, [widths[i] for i in shown]
        shown.remove(min(droppable, key=lambda i: (columns[i].priority, -i)))


def _pad(text: str, width: int, align: str) -> str:
    fill = " " * max(0, width - cell_width(text))
    return fill + text if align == "right" else text + fill


def render(columns: Sequence[Column], rows: Iterable[object], *, width: int | None = None,
           hidden_note: str = "（窗口宽度不够，未显示：{names}）") -> list[str]:
    """The lines of a table of ``rows`` (one page: the rows are read once, into cells)."""
    cells = [[_clean(c.get(row)) for c in columns] for row in rows]
    shown, widths = layout(columns, cells, width)
    lines = ["  ".join(_pad(columns[i].heading, w, "left") for i, w in zip(shown, widths)).rstrip(),
             "  ".join("-" * w for w in widths)]
    for row in cells:
        parts = []
        for i, w in zip(shown, widths):
            col = columns[i]
            parts.append([row[i]] if col.keep or not col.wrap else wrap_cell(row[i], w))
        for k in range(max(len(p) for p in parts)):
            lines.append("  ".join(_pad(p[k] if k < len(p) else "", w, columns[i].align)
                                   for p, i, w in zip(parts, shown, widths)).rstrip())
    hidden = [columns[i].heading for i in range(len(columns)) if i not in shown]
    if hidden and hidden_note:
        lines.append(hidden_note.format(names="、".join(hidden)))
    return lines


def terminal_width() -> int | None:
    """The width to fit: the terminal's, else ``$COLUMNS``, else None (unlimited)."""
    if sys.stdout.isatty():
        return shutil.get_terminal_size().columns
    env = os.environ.get("COLUMNS", "")
    return int(env) if env.isdigit() and int(env) > 0 else None


def _interactive() -> bool:
    """Is someone at a terminal (output and keyboard both)?"""
    return sys.stdout.isatty() and sys.stdin.isatty()


def echo_lines(lines: Iterable[str]) -> None:
    """Print lines; through the pager when someone is at a terminal and they are taller than it."""
    lines = list(lines)
    if _interactive() and len(lines) > shutil.get_terminal_size().lines - 1:
        click.echo_via_pager(_with_newlines(lines))
        return
    if lines:
        click.echo("\n".join(lines))


def _with_newlines(lines: Iterable[str]) -> Iterator[str]:
    for line in lines:
        yield line + "\n"


def _json_default(value: object) -> object:
    if isinstance(value, (_dt.date, _dt.datetime)):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def emit_json_array(items: Iterable[object]) -> int:
    """Print ``items`` as an indented JSON array (the text of ``json.dumps(list, indent=2)``),
    one item at a time; returns how many."""
    n = 0
    for item in items:
        text = json.dumps(item, ensure_ascii=False, indent=2, default=_json_default)
        click.echo(("[\n" if n == 0 else ",\n") + "\n".join("  " + line for line in text.split("\n")), nl=False)
        n += 1
    click.echo("\n]" if n else "[]")
    return n
