"""Scope is a prefix (DESIGN §1): the area codes a station sees and writes.

Pure code (no I/O). An area is an 统计用区划代码 of 6 (county), 9 (town) or 12
(village) digits; a station whose code is ``scope`` sees exactly the rows whose
``area`` starts with it. Every scope test, the level of a code and the smallest
area holding two codes are written here once.
"""

from __future__ import annotations

__all__ = ["AREA_LEVELS", "AREA_LENGTHS", "in_scope", "scope_range", "common_area"]

#: Digits of an area code → its level.
AREA_LEVELS = {6: "county", 9: "town", 12: "village"}
AREA_LENGTHS = tuple(AREA_LEVELS)


def in_scope(area: object, scope: str) -> bool:
    """Does ``area`` lie in ``scope``? (A row with no area lies nowhere.)"""
    return bool(area) and str(area).startswith(scope)


def scope_range(scope: str) -> tuple[str, str]:
    """``area >= lo AND area < hi`` selects exactly the codes starting with ``scope``
    (area codes are digit strings)."""
    if not scope:
        return "", "\x7f"
    return scope, scope[:-1] + chr(ord(scope[-1]) + 1)


def common_area(a: str, b: str) -> str:
    """The smallest area holding both codes: the village, the town, or the county ("" for none)."""
    for n in reversed(AREA_LENGTHS[1:]):
        if len(a) >= n and len(b) >= n and a[:n] == b[:n]:
            return a[:n]
    n = AREA_LENGTHS[0]
    return a[:n] if a[:n] == b[:n] else ""
