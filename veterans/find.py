"""How a clerk names a record, and how a person is shown in a list (domain, pure code).

A *reference* is what a command takes where it needs one record
(``veteran show 张三``, ``visit list --veteran 3``, ``petition show 1a2b3c4d``).
:func:`parse_reference` tells which of these it is; the look-up itself is the
station's (``station_node.records.find_veteran`` and friends), over typed
store queries:

==============  =============================================  ====================
kind            what the clerk types                           value
==============  =============================================  ====================
``id``          the record's id, with or without dashes        the id, lower case
``number``      a row number of the last list (``3``, ``#3``)   the number
``id_number``   a 公民身份号码: 18 characters, any case of X,   the 18 characters,
                full-width digits, spaces anywhere             X upper case
``tail``        the end of an id, 8–31 hex digits (ids are      the end of the id's
                UUIDv7: their start is a time and collides,     text, lower case,
                the end is random)                              dashes put back
``name``        anything else: a name                           :func:`normalize_name`
==============  =============================================  ====================

Row numbers are the ``序号`` printed by every list (``veteran list``,
``visit list``, ``petition list``, and the tables of ``veteran show``): each
list keeps the ids it printed, by number, in the station home, per table
(``station_node.shortcodes``); the next command takes the number.

A name must be unique in the station's scope: :class:`Ambiguous` carries the
candidates, each shown by :func:`candidate_row` (name, ID number masked in the
middle, village, birth date), so that the clerk picks one by its number.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from sync.engine.errors import ValidationError
from veterans.typed import canonical_name

__all__ = [
    "Reference",
    "Ambiguous",
    "parse_reference",
    "normalize_id_number",
    "normalize_name",
    "mask_id_number",
    "candidate_row",
    "TAIL_MIN",
]

#: The shortest id fragment taken (8 hex digits: one in 4 billion).
TAIL_MIN = 8

_UUID = re.compile(r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}")
_NUMBER = re.compile(r"#?(\d{1,6})")
_ID_NUMBER = re.compile(r"\d{17}[\dX]")
_TAIL = re.compile(r"[0-9a-f-]{%d,35}" % TAIL_MIN)


@dataclass(frozen=True)
class Reference:
    """A parsed reference: ``kind`` (see the module docstring), ``value``, and the ``text`` as typed."""

    kind: str
    value: Any
    text: str


class Ambiguous(ValidationError):
    """A reference that names several records; ``candidates`` are the records (dicts)."""

    def __init__(self, message: str, candidates: list[dict], *, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.candidates = candidates


def _compact(text: object) -> str:
    return "".join(unicodedata.normalize("NFKC", "" if text is None else str(text)).split())


def normalize_id_number(text: object) -> str | None:
    """The 18 characters of an ID number as typed in any usual way (full-width digits,
    spaces, a lower-case x), or None when it is not shaped like one (no check digit test)."""
    value = _compact(text).upper()
    return value if _ID_NUMBER.fullmatch(value) else None


def normalize_name(text: object) -> str:
    """A name as it is stored and compared (:func:`veterans.typed.canonical_name`: full-width
    letters plain, any dot typed between its parts ``·``, no blanks between Chinese characters)."""
    return canonical_name("" if text is None else str(text))


def parse_reference(text: object) -> Reference:
    """What a reference is (see the module docstring); ValidationError when it is empty."""
    raw = "" if text is None else str(text).strip()
    compact = _compact(raw)
    if not compact:
        raise ValidationError("没有指定记录", hint="可用序号、身份证号、姓名或编号")
    low = compact.lower()
    if _UUID.fullmatch(low):
        hexes = low.replace("-", "")
        return Reference("id", f"{hexes[:8]}-{hexes[8:12]}-{hexes[12:16]}-{hexes[16:20]}-{hexes[20:]}", raw)
    if m := _NUMBER.fullmatch(compact):
        return Reference("number", int(m.group(1)), raw)
    if (id_number := normalize_id_number(compact)) is not None:
        return Reference("id_number", id_number, raw)
    if _TAIL.fullmatch(low) and TAIL_MIN <= len(low.replace("-", "")) < 32:
        return Reference("tail", _dashed_tail(low.replace("-", "")), raw)
    return Reference("name", normalize_name(raw), raw)


def _dashed_tail(hexes: str) -> str:
    """The end of an id's text form that holds these last hex digits (dashes put back)."""
    out, rest = [], hexes
    for size in (12, 4, 4, 4, 8):
        if not rest:
            break
        out.append(rest[-size:])
        rest = rest[:-size]
    return "-".join(reversed(out))


def mask_id_number(value: str | None) -> str:
    """An ID number with its middle eight digits (the birth date) hidden: ``440902********1234``."""
    if not value:
        return ""
    if len(value) != 18:
        return value[:2] + "*" * max(0, len(value) - 4) + value[-2:] if len(value) > 4 else "*" * len(value)
    return value[:6] + "*" * 8 + value[14:]


def candidate_row(row: dict) -> dict:
    """What a candidate shows: 姓名, 身份证号 (masked), 村/社区 (area code), 出生日期."""
    return {
        "id": row.get("id"),
        "name": row.get("name") or "",
        "id_number": mask_id_number(row.get("id_number")),
        "area": row.get("area") or "",
        "birth_date": row.get("birth_date") or "",
    }
