"""Size limits of what a station may write and what the hub sends: one place.

Pure constants (no imports). The hub checks every pushed field and row against
them at its door (``sync.store.hub``), the station's validators refuse the same
input locally (``veterans.fields.parse_value``), and the hub keeps what it sends
below what a station decodes (``sync.wire.codec.MAX_VALUE_LEN``, pull batches in
bytes). The limits are far above what a clerk types: they exist so that one
hostile or broken station cannot make rows that break other stations' sync.

Lengths are counted in characters (``len(str)``), bytes where the name says so.
"""

from __future__ import annotations

__all__ = [
    "MAX_VALUE_LEN",
    "MAX_SHORT_TEXT_CHARS",
    "MAX_MEDIUM_TEXT_CHARS",
    "MAX_LONG_TEXT_CHARS",
    "MAX_CODE_CHARS",
    "MAX_ROW_CHARS",
    "MAX_CONFLICT_VALUE_CHARS",
    "MAX_PULL_BATCH_BYTES",
    "LONG_TEXT_FIELDS",
    "MEDIUM_TEXT_FIELDS",
    "text_limit",
]

# What a station's decoder accepts for one string value of a pulled row
# (sync.wire.codec refuses a longer one, and with it the whole batch).
MAX_VALUE_LEN = 65_536

# Free text, by field (kind ``text`` in sync.engine.schema):
MAX_SHORT_TEXT_CHARS = 100    # names and short labels: name, ethnicity, petitioner, handler, actor, resolved_by …
MAX_MEDIUM_TEXT_CHARS = 500   # address, unit, visitors, aid_goods, contact
MAX_LONG_TEXT_CHARS = 4_000   # narrative text: summary, note, health, family, difficulties, needs, follow_up, resolution
# Every other kind (date, enum, area, phone, id_number, ref, numbers) is checked
# by its validator; as a plain size bound its strings stay within:
MAX_CODE_CHARS = 64

# The string values pushed in one row, together (a veteran with every long
# field full is 6 × 4,000 = 24,000 characters: a row of that size is refused).
MAX_ROW_CHARS = 16_000

# One value of a conflict row the hub writes (a losing value, the refused edits
# as JSON): kept below what a station decodes, truncated beyond (never seen in
# practice: a pushed row is at most MAX_ROW_CHARS, its JSON at most twice that).
MAX_CONFLICT_VALUE_CHARS = 60_000

# A pull batch, in bytes of its rows' values (estimated from above, UTF-8):
# at least one row per batch, whatever its size.
MAX_PULL_BATCH_BYTES = 4 * 1024 * 1024

LONG_TEXT_FIELDS = frozenset({
    "summary", "note", "health", "family", "difficulties", "needs", "follow_up", "resolution",
})
MEDIUM_TEXT_FIELDS = frozenset({"address", "unit", "visitors", "aid_goods", "contact"})
# Conflict fields only the hub writes (a value of the row it concerns, or JSON of several).
_CONFLICT_VALUES = frozenset({"winner_value", "loser_value", "field"})


def text_limit(table: str, name: str, kind: str) -> int:
    """The most characters a string value of field ``name`` may hold."""
    if table == "conflicts" and name in _CONFLICT_VALUES:
        return MAX_CONFLICT_VALUE_CHARS
    if kind != "text":
        return MAX_CODE_CHARS
    if name in LONG_TEXT_FIELDS:
        return MAX_LONG_TEXT_CHARS
    if name in MEDIUM_TEXT_FIELDS:
        return MAX_MEDIUM_TEXT_CHARS
    return MAX_SHORT_TEXT_CHARS
