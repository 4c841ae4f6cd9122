"""光荣牌 households (国办发〔2018〕72号): which households should have a plaque, which have one.

A plaque is hung at a household's door, not at a person's, so the hanging rate a county
reports counts households. The records hold persons; a household is made of them:

- its **head** is a veteran row with no ``soldier_id`` (a veteran in their own right);
- its **members** are the rows whose ``soldier_id`` names the head (烈属, 军属 and other
  family members linked to their soldier, with their ``relationship``).

A household is **eligible** when its head is live (not deleted, not merged into another)
and someone in it is living: the head, or a live member. "Living" means on file: status
在册 or unset. A head or member who is 已故 is not living; one who is 迁出 (moved out of
the county) is not either: the household is no longer this county's to count. So an
烈士遗属 family whose soldier is 已故 stays eligible while a parent or spouse linked to
him is on file.

A household is **hung** when it is eligible and has a live plaque (``deleted`` not set)
recorded against its head or any of its members. A replaced plaque row still counts: a
replacement is a new hanging of the same household, not its loss (kept simple on
purpose: any live plaque row).

A member whose ``soldier_id`` names no live head (a typo, a head deleted or merged) belongs
to no household here. Rows are plain dicts (the stores' rows or the report's reads): the
functions are pure, so the report of the hub and of a station count the same way, and
tests call them on plain values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

__all__ = ["Household", "households", "household_counts", "household_counts_by_area", "is_living"]

Row = Mapping[str, Any]

_OFF_FILE = frozenset({"deceased", "moved_out"})


def _live(row: Row) -> bool:
    return not row.get("deleted") and not row.get("merged_into")


def is_living(row: Row) -> bool:
    """A live row whose person is on file (status 在册 or unset: not 已故, not 迁出)."""
    return _live(row) and (row.get("status") or "active") not in _OFF_FILE


@dataclass
class Household:
    """One household: its head's id and area, its members' ids, whether it counts and is hung."""

    head_id: str
    area: str
    member_ids: list[str] = field(default_factory=list)
    eligible: bool = False
    hung: bool = False


def households(veterans: Iterable[Row], plaques: Iterable[Row]) -> list[Household]:
    """Every household whose head is live, in the order of the heads given."""
    rows = list(veterans)
    heads: dict[str, Household] = {}
    living: dict[str, bool] = {}
    for row in rows:
        if not row.get("soldier_id") and _live(row):
            heads[row["id"]] = Household(row["id"], row.get("area") or "")
            living[row["id"]] = is_living(row)
    owner: dict[str, str] = {head: head for head in heads}
    for row in rows:
        head = row.get("soldier_id")
        if head and head in heads and _live(row) and row["id"] not in heads:
            heads[head].member_ids.append(row["id"])
            owner[row["id"]] = head
            living[head] = living[head] or is_living(row)
    for head, household in heads.items():
        household.eligible = living[head]
    for plaque in plaques:
        if plaque.get("deleted"):
            continue
        head = owner.get(plaque.get("veteran_id") or "")
        if head is not None and heads[head].eligible:
            heads[head].hung = True
    return list(heads.values())


def household_counts(veterans: Iterable[Row], plaques: Iterable[Row]) -> tuple[int, int]:
    """``(eligible, hung)``: the households that should have a 光荣牌, and those that have one."""
    found = households(veterans, plaques)
    return sum(h.eligible for h in found), sum(h.hung for h in found)


def household_counts_by_area(veterans: Iterable[Row], plaques: Iterable[Row]) -> dict[str, tuple[int, int]]:
    """``{area: (eligible, hung)}`` at each head's own area (only areas with an eligible
    household). A report adds up the areas under each of its rows' prefixes."""
    out: dict[str, tuple[int, int]] = {}
    for h in households(veterans, plaques):
        if h.eligible:
            eligible, hung = out.get(h.area, (0, 0))
            out[h.area] = (eligible + 1, hung + int(h.hung))
    return out
