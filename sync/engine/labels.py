"""The names the engine's own messages give tables and fields.

The engine speaks to people in a few places: a refusal reason sent back to a
pushing station ("信访件字段 事项摘要 过长…"), a record not found, a record that
already exists. Those messages name a table or a field, and what a table or a
field is called is the domain's to say: ``veterans.labels`` registers the
Chinese labels here when it is imported (every program of ours imports it),
and until then a table or field is called by its own name.
"""

from __future__ import annotations

__all__ = ["register", "label_of"]

_NAMES: dict[tuple[str, str | None], str] = {}


def register(names: dict[tuple[str, str | None], str]) -> None:
    """Add display names: ``{(table, None): table label, (table, field): field label}``."""
    _NAMES.update(names)


def label_of(table: str, field: str | None = None) -> str:
    """The display name of ``table`` (or of its ``field``); the name itself when none is registered."""
    return _NAMES.get((table, field), field if field is not None else table)
