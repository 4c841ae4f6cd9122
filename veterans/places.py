"""Place names beside area codes, for every list and page a person reads.

Pure formatting over a ``{code: name}`` mapping (``sync.store.areas.area_names``
reads one from either store): a code the county's area list names is shown as
``某某村（440902001001）`` (a record's page; a list's narrow column shows the name
alone), one it does not name (no list yet, or a code filed before the list) as
the bare code, so nothing is hidden and nothing guessed. The JSON keeps the code
in ``area`` and adds ``area_name``.
"""

from __future__ import annotations

from typing import Mapping

__all__ = ["place", "place_name", "place_or_code", "with_area_name", "town_of"]

_TOWN_LEN, _VILLAGE_LEN = 9, 12


def place_name(code: str | None, names: Mapping[str, str]) -> str | None:
    """The name the list gives ``code`` (None: not named)."""
    if not code:
        return None
    return names.get(code) or None


def place(code: str | None, names: Mapping[str, str]) -> str:
    """``名称（代码）`` when ``code`` is named, else the bare code ("" for none)."""
    if not code:
        return ""
    name = names.get(code)
    return f"{name}（{code}）" if name else code


def place_or_code(code: str | None, names: Mapping[str, str]) -> str:
    """The name alone when ``code`` is named (a list's narrow column), else the bare code."""
    if not code:
        return ""
    return names.get(code) or code


def with_area_name(row: dict, names: Mapping[str, str]) -> dict:
    """The record with ``area_name`` added (its area's name, None when unnamed): the JSON
    of every list and record keeps ``area`` (the code) and gains the name beside it."""
    return {**row, "area_name": place_name(row.get("area"), names)}


def town_of(code: str | None) -> str | None:
    """The town (9 digits) a village or town code lies in; None for a county code or none."""
    if not code or len(code) < _TOWN_LEN:
        return None
    return code[:_TOWN_LEN]
