"""The merge rules of ``sync.engine.merge.merge_row`` as a table over plain values.

One row, a hub side and a pushed side, versions from ``sync.engine.hlc.make_version``.
Every case states the whole result: the fields adopted, the conflicts kept
and the ``resend`` flag. Rules that are symmetric (a concurrent edit: which
of the two writes happens to reach the hub first is chance) are checked in
both argument orders and must give the same winner. Pure and fast.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest

from sync.engine.hlc import make_version
from sync.engine.merge import CONCURRENT_EDIT, DELETE_EDIT, merge_row
from sync.engine.rowstate import RowState

A, B, C = "aaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbb", "cccccccccccccccc"
T0 = 1_750_000_000_000


def v(wall: int, replica: str, counter: int = 0) -> str:
    return make_version(T0 + wall, counter, replica)


V0 = v(0, C)  # what every side last got from the hub
AREA, AREA2, AREA3 = "440902001001", "440902001002", "440902001003"
CONTEXT = {"area": (AREA, V0), "deleted": (0, V0)}  # unchanged context, sent with every push


def row(fields: dict, base: dict | None = None, *, context: bool = True) -> RowState:
    """A veterans row from ``{field: (value, version)}`` (plus the unchanged context fields)."""
    fields = {**CONTEXT, **fields} if context else dict(fields)
    return RowState("veterans", "r1", {n: val for n, (val, _) in fields.items()},
                    {n: ver for n, (_, ver) in fields.items()}, dict(base or {}))


@dataclass
class Case:
    id: str
    hub: RowState | None
    incoming: RowState
    changed: dict  # field -> (value, version)
    conflicts: list  # (kind, field, winner_value, winner_version, loser_value, loser_version)
    resend: bool
    history: set = field(default_factory=set)  # (field, version) the hub accepted before


CASES = [
    Case("new row: every field adopted",
         None, row({"phone": ("p1", v(1, A))}, {"phone": ""}),
         {"area": (AREA, V0), "deleted": (0, V0), "phone": ("p1", v(1, A))}, [], False),
    Case("retry: the hub has this very version",
         row({"phone": ("p1", v(1, A))}), row({"phone": ("p1", v(1, A))}, {"phone": V0}),
         {}, [], False),
    Case("fast-forward: base is the hub's version",
         row({"phone": ("p0", V0)}), row({"phone": ("p1", v(1, A))}, {"phone": V0}),
         {"phone": ("p1", v(1, A))}, [], False),
    Case("fast-forward: the hub never had the field",
         row({}), row({"phone": ("p1", v(1, A))}, {"phone": ""}),
         {"phone": ("p1", v(1, A))}, [], False),
    Case("fast-forward: a newer write of the replica the hub has (base still the old one)",
         row({"phone": ("p1", v(1, A))}), row({"phone": ("p2", v(2, A))}, {"phone": V0}),
         {"phone": ("p2", v(2, A))}, [], False),
    Case("history retry: a lost ack, someone built on it since",
         row({"phone": ("p2", v(2, B))}), row({"phone": ("p1", v(1, A))}, {"phone": V0}),
         {}, [], True, {("phone", v(1, A))}),
    Case("history retry with the value the hub holds: nothing to resend",
         row({"phone": ("p1", v(2, B))}), row({"phone": ("p1", v(1, A))}, {"phone": V0}),
         {}, [], False, {("phone", v(1, A))}),
    Case("the same push without the history entry is a concurrent edit the hub wins",
         row({"phone": ("p2", v(2, B))}), row({"phone": ("p1", v(1, A))}, {"phone": V0}),
         {}, [(CONCURRENT_EDIT, "phone", "p2", v(2, B), "p1", v(1, A))], True),
    Case("history of another field does not count",
         row({"phone": ("p2", v(2, B))}), row({"phone": ("p1", v(1, A))}, {"phone": V0}),
         {}, [(CONCURRENT_EDIT, "phone", "p2", v(2, B), "p1", v(1, A))], True, {("address", v(1, A))}),
    Case("stale retry: older than the hub's version from the same replica",
         row({"phone": ("p2", v(2, A))}), row({"phone": ("p1", v(1, A))}, {"phone": V0}),
         {}, [], True),
    Case("stale retry with the value the hub holds: nothing to resend",
         row({"phone": ("p1", v(2, A))}), row({"phone": ("p1", v(1, A))}, {"phone": V0}),
         {}, [], False),
    Case("concurrent edit, the pushed version is higher: it wins, the hub's value is kept as the loser",
         row({"phone": ("hub", v(1, A))}), row({"phone": ("in", v(2, B))}, {"phone": V0}),
         {"phone": ("in", v(2, B))}, [(CONCURRENT_EDIT, "phone", "in", v(2, B), "hub", v(1, A))], False),
    Case("concurrent edit, the pushed version is lower: the hub's stays and is re-sent",
         row({"phone": ("hub", v(2, B))}), row({"phone": ("in", v(1, A))}, {"phone": V0}),
         {}, [(CONCURRENT_EDIT, "phone", "hub", v(2, B), "in", v(1, A))], True),
    Case("concurrent edit to the same value, higher: adopted, no conflict",
         row({"phone": ("p", v(1, A))}), row({"phone": ("p", v(2, B))}, {"phone": V0}),
         {"phone": ("p", v(2, B))}, [], False),
    Case("concurrent edit to the same value, lower: no conflict, the hub's version re-sent",
         row({"phone": ("p", v(2, B))}), row({"phone": ("p", v(1, A))}, {"phone": V0}),
         {}, [], True),
    Case("a field without a base was not written by the pusher: ignored",
         row({"phone": ("p0", V0)}), row({"phone": ("p1", v(1, A))}),
         {}, [], False),
    Case("context field the pusher did not write, behind the hub: kept, re-sent, no conflict",
         row({"area": (AREA2, v(2, B))}), row({"area": (AREA, V0)}),
         {}, [], True),
    Case("context field the pusher did not write, ahead of the hub: adopted, no conflict",
         row({"area": (AREA, V0)}), row({"area": (AREA2, v(2, B))}),
         {"area": (AREA2, v(2, B))}, [], False),
    Case("context field the pusher wrote concurrently: a conflict like any field",
         row({"area": (AREA2, v(2, B))}), row({"area": (AREA3, v(3, A))}, {"area": V0}),
         {"area": (AREA3, v(3, A))}, [(CONCURRENT_EDIT, "area", AREA3, v(3, A), AREA2, v(2, B))], False),
    Case("field-wise: one field fast-forwards while another loses a concurrent edit",
         row({"phone": ("p0", V0), "address": ("hub", v(2, B))}),
         row({"phone": ("p1", v(1, A)), "address": ("in", v(1, A))}, {"phone": V0, "address": V0}),
         {"phone": ("p1", v(1, A))}, [(CONCURRENT_EDIT, "address", "hub", v(2, B), "in", v(1, A))], True),
    Case("delete/edit: an edit from a replica that had not seen the delete",
         row({"deleted": (1, v(2, B)), "phone": ("p0", V0)}),
         row({"phone": ("p1", v(1, A))}, {"phone": V0}),
         {"phone": ("p1", v(1, A))},
         [(DELETE_EDIT, "deleted", True, v(2, B), json.dumps({"phone": "p1"}), v(1, A))], True),
    Case("an edit from a replica that had seen the delete: no delete/edit",
         row({"deleted": (1, v(2, B)), "phone": ("p0", V0)}),
         row({"deleted": (1, v(2, B)), "phone": ("p1", v(3, A))}, {"phone": V0}),
         {"phone": ("p1", v(3, A))}, [], False),
    Case("an undelete over the tombstone it saw: adopted, no delete/edit",
         row({"deleted": (1, v(2, B)), "phone": ("p0", V0)}),
         row({"deleted": (0, v(3, A)), "phone": ("p1", v(3, A))}, {"deleted": v(2, B), "phone": V0}),
         {"deleted": (0, v(3, A)), "phone": ("p1", v(3, A))}, [], False),
    Case("a push of only the context of a deleted row edits nothing: no delete/edit",
         row({"deleted": (1, v(2, B))}), row({}),
         {}, [], True),
]


def conflicts_of(result) -> list[tuple]:
    return [(c.kind, c.field, c.winner_value, c.winner_version, c.loser_value, c.loser_version)
            for c in result.conflicts]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_merge_rule(case: Case):
    result = merge_row(case.hub, case.incoming, in_history=lambda f, ver: (f, ver) in case.history)
    assert result.changed == case.changed
    assert conflicts_of(result) == case.conflicts
    assert result.resend is case.resend
    assert all(c.table == "veterans" and c.row_id == "r1" for c in result.conflicts)


# --------------------------------------------------------------------------- symmetric: concurrent edits


@dataclass
class Pair:
    id: str
    field: str
    x: tuple  # (value, version) written from base V0
    y: tuple
    winner: str  # the value that must win whichever side reaches the hub first


PAIRS = [
    Pair("later wall time wins", "phone", ("x", v(1, A)), ("y", v(2, B)), "y"),
    Pair("later wall time wins over a higher counter and replica", "phone", ("x", v(2, A)), ("y", v(1, C, 9)), "x"),
    Pair("same wall time: the higher counter wins", "phone", ("x", v(1, A, 5)), ("y", v(1, B, 3)), "x"),
    Pair("same wall time and counter: the higher replica id wins", "phone", ("x", v(1, B)), ("y", v(1, A)), "x"),
    Pair("a context field written on both sides", "area", (AREA2, v(1, A)), (AREA3, v(2, B)), AREA3),
]


def _apply(hub: RowState, result) -> RowState:
    values, clock = dict(hub.values), dict(hub.clock)
    for name, (value, version) in result.changed.items():
        values[name], clock[name] = value, version
    return RowState(hub.table, hub.id, values, clock)


@pytest.mark.parametrize("order", ["x at the hub", "y at the hub"])
@pytest.mark.parametrize("pair", PAIRS, ids=[p.id for p in PAIRS])
def test_concurrent_edit_has_the_same_winner_in_both_orders(pair: Pair, order: str):
    first, second = (pair.x, pair.y) if order == "x at the hub" else (pair.y, pair.x)
    hub, incoming = row({pair.field: first}), row({pair.field: second}, {pair.field: V0})
    result = merge_row(hub, incoming)
    after = _apply(hub, result)
    won, lost = (pair.x, pair.y) if pair.winner == pair.x[0] else (pair.y, pair.x)
    assert after.values[pair.field] == pair.winner and after.clock[pair.field] == won[1]
    assert conflicts_of(result) == [(CONCURRENT_EDIT, pair.field, *won, *lost)]
    assert result.resend is (second != won)  # re-sent exactly when the pusher lost


@pytest.mark.parametrize("pair", PAIRS, ids=[p.id for p in PAIRS])
def test_two_pushes_from_one_base_end_alike_in_either_arrival_order(pair: Pair):
    """The hub had V0; x and y were both written on it. Whichever arrives first
    fast-forwards, the other is a concurrent edit: the hub ends the same."""
    def arrive(*pushes) -> tuple[RowState, list]:
        hub, conflicts = row({pair.field: ((AREA if pair.field == "area" else "p0"), V0)}), []
        for value in pushes:
            result = merge_row(hub, row({pair.field: value}, {pair.field: V0}))
            hub, conflicts = _apply(hub, result), conflicts + conflicts_of(result)
        return hub, conflicts

    (one, c1), (two, c2) = arrive(pair.x, pair.y), arrive(pair.y, pair.x)
    assert one.values == two.values and one.clock == two.clock
    assert one.values[pair.field] == pair.winner
    assert c1 == c2 and len(c1) == 1


@pytest.mark.parametrize("side", [("p1", v(1, A)), ("p2", v(2, B))])
def test_a_re_sent_row_changes_nothing(side):
    """Idempotent: the push the hub already applied, sent again (its ack lost), is a no-op."""
    hub = row({"phone": ("p0", V0)})
    incoming = row({"phone": side}, {"phone": V0})
    hub = _apply(hub, merge_row(hub, incoming))
    again = merge_row(hub, incoming)
    assert again.changed == {} and again.conflicts == [] and again.resend is False
