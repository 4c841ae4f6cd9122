"""The stored form of a row's clock and of its pending marks.

In memory a clock is ``{field: version}`` and the pending marks are
``{field: (version, base)}``. A write stamps every field it sets with one
version, so a row's fields share few versions: stored, a clock is a list of
groups, one per version, each naming its fields by a bit mask over the
table's ``data_fields``::

    0001795403624609-0000-b08ce5a036c74775:fff            one version, 12 fields
    0001795403624609-0000-b08ce5a036c74775:ff7 0001795403699999-0003-…:8

(groups in version order, so equal clocks are stored alike) and pending
marks likewise, one group per (version, base)::

    0001795403624609-0000-b08ce5a036c74775,:fff          new fields (empty base)

A clock naming a field the table does not declare (a newer schema's field)
is stored as a JSON object instead, which every reader also accepts. The
compact form is a fifth of the JSON's size; it is what keeps a county's
first push within the disk's and the CPU's budget (bench/README.md).

Bit ``i`` stands for ``data_fields[i]``: **fields are only ever appended to
a table** (``tests/test_clocks.py`` holds the order), so a stored mask keeps
its meaning across schema versions.
"""

from __future__ import annotations

from typing import Callable

import orjson

from sync.engine.schema import TABLES, Table

__all__ = ["pack_clock", "unpack_clock", "packed_names", "pack_pending", "unpack_pending", "pending_groups"]


class _Bits:
    """One table's field ↔ bit maps, with caches for the masks seen."""

    __slots__ = ("bit", "names", "by_keys")

    def __init__(self, t: Table):
        self.bit = {name: 1 << i for i, name in enumerate(t.data_fields)}
        self.names: dict[str, tuple[str, ...]] = {}  # hex mask -> field names
        self.by_keys: dict[tuple[str, ...], str | None] = {}  # field names -> hex mask (None: a field not declared)

    def names_of(self, mask: str) -> tuple[str, ...]:
        names = self.names.get(mask)
        if names is None:
            m = int(mask, 16)
            names = self.names[mask] = tuple(n for n, b in self.bit.items() if m & b)
        return names

    def mask_of(self, keys: tuple[str, ...]) -> str | None:
        try:
            return self.by_keys[keys]
        except KeyError:
            bit = self.bit
            mask = None if any(k not in bit for k in keys) else format(sum(bit[k] for k in keys), "x")
            if len(self.by_keys) < 4096:
                self.by_keys[keys] = mask
            return mask


_BITS = {name: _Bits(t) for name, t in TABLES.items()}


def pack_clock(table: str, clock: dict[str, str]) -> str:
    bits = _BITS[table]
    versions = set(clock.values())
    if len(versions) == 1:  # the usual row: one write made it
        mask = bits.mask_of(tuple(clock))
        if mask is not None:
            return f"{versions.pop()}:{mask}"
    elif clock:
        groups: dict[str, int] = {}
        try:
            for name, version in clock.items():
                groups[version] = groups.get(version, 0) | bits.bit[name]
        except KeyError:
            pass
        else:
            return " ".join(f"{version}:{mask:x}" for version, mask in sorted(groups.items()))
    return orjson.dumps(clock).decode()


def packed_names(table: str, packed: str) -> tuple[str, ...]:
    """The field names of a packed clock, in the order ``unpack_clock`` gives them."""
    if packed[0] == "{":
        return tuple(orjson.loads(packed))
    names_of = _BITS[table].names_of
    if " " not in packed:
        return names_of(packed.split(":")[1])
    return tuple(n for group in packed.split(" ") for n in names_of(group.split(":")[1]))


def unpack_clock(table: str, raw: str) -> dict[str, str]:
    if raw[0] == "{":
        return orjson.loads(raw)
    names_of = _BITS[table].names_of
    if " " not in raw:
        version, mask = raw.split(":")
        return dict.fromkeys(names_of(mask), version)
    clock: dict[str, str] = {}
    for group in raw.split(" "):
        version, mask = group.split(":")
        clock.update(dict.fromkeys(names_of(mask), version))
    return clock


def pack_pending(table: str, pending: dict[str, tuple[str, str]]) -> str:
    bits = _BITS[table].bit
    groups: dict[tuple[str, str], int] = {}
    try:
        for name, (version, base) in pending.items():
            key = (version, base)
            groups[key] = groups.get(key, 0) | bits[name]
    except KeyError:
        return orjson.dumps(pending).decode()
    return " ".join(f"{version},{base}:{mask:x}" for (version, base), mask in sorted(groups.items()))


def unpack_pending(table: str, raw: str) -> dict[str, tuple[str, str]]:
    pending: dict[str, tuple[str, str]] = {}
    for version, base, names in pending_groups(table, raw):
        pending.update(dict.fromkeys(names, (version, base)))
    return pending


def pending_groups(table: str, raw: str) -> list[tuple[str, str, tuple[str, ...]]]:
    """The stored pending marks as ``(version, base, field names)`` groups."""
    if raw[0] == "{":
        return [(version, base, (name,)) for name, (version, base) in orjson.loads(raw).items()]
    names_of: Callable[[str], tuple[str, ...]] = _BITS[table].names_of
    groups = []
    for group in raw.split(" "):
        vb, mask = group.split(":")
        version, base = vb.split(",")
        groups.append((version, base, names_of(mask)))
    return groups
