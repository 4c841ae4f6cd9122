"""The hub store's contract: one suite, run against every hub store implementation.

The servicer (``county_hub.service``) and ``sync.store.local_hub.LocalHub`` use a hub
store through a few methods only. These tests use exactly those, so that a
second implementation (PostgreSQL, for provinces) passes by being added to
:data:`HUB_STORE_FACTORIES` — the tests themselves stay unchanged. They never
reach into SQLite: no ``conn``, no SQL, no ``_``-prefixed attribute of the hub
store (``test_the_suite_uses_the_interface_only`` holds the file to that).

The interface the suite assumes (the contract)::

    bind_replica(replica_id, station) -> None
        binds at first sight; Forbidden if bound to another station or the hub's own
    apply_push(rows: list[RowState], *, station, scope, replica_id, seen_cursor=0) -> PushResult
        seen_cursor: the pusher's pull cursor; a row it changed over a state above it is sent back
        PushResult.acked     [(table, id, clock)]  the rows taken, with the versions pushed
        PushResult.refused   [(table, id, reason)]
        PushResult.conflicts int: conflicts filed by this push that the pusher may see
        PushResult.resolved  [(conflict id, resolved_by)]
        one transaction; Forbidden (nothing written) for a replica id of another station
    changes_since(cursor, scope, *, station="", replica_id="", limit=1000, max_bytes=...) -> PullBatch
        PullBatch.rows       [RowState] in scope, seq > cursor, in seq order, each row once,
                             its ``seq`` the hub's; station "": the hub's own view (all rows)
        PullBatch.evictions  [Eviction(table, id)] rows that left the scope after the cursor
        PullBatch.cursor     more: the seq of the last row given; not more: ``last_seq``
        PullBatch.more       rows may remain above the cursor
    write_as_hub(table, row_id, changes) -> RowState      NotFound for an unknown row
    sync.store.hub.history_of(store, row_id) -> [HistoryEntry(seq, table, row_id, station, at_ms,
                                                            fields={field: (value, version)})]
    last_seq            the highest seq given (int property)
    meta(key, default=None) -> str | None                  "county": the county code
    transaction(*, durable=True)                           context manager; a nested call joins
                                                           the outer one; an exception rolls back

A factory in :data:`HUB_STORE_FACTORIES` is a context manager ``factory(tmp_path)``
that yields an empty hub store of county ``440902`` (``meta("county")``) with the
domain checks (``veterans.hub_checks.HUB_CHECKS``) installed, and closes it after.

Pushed rows are built here as ``RowState`` values by :class:`Pusher` (a station
as the hub store sees it: a code, a scope, a replica id and its clock), or made
by station stores (``sync.store.station.Store``) that sync through ``LocalHub`` and
``sync_once`` — which also use nothing but the interface above.
"""

from __future__ import annotations

import contextlib
import re
import time
from pathlib import Path
from typing import Callable, Iterator

import pytest

from veterans.hub_checks import HUB_CHECKS
from veterans.values import id_number_check_digit, new_id
from sync.engine.errors import Forbidden, NotFound, ValidationError
from sync.engine.hlc import HLC, new_replica_id, replica_of
from sync.engine.rowstate import PullBatch
from sync.store.hub import HubStore, PushResult, history_of
from sync.store.local_hub import LocalHub
from sync.engine.replicate import sync_once
from sync.engine.rowstate import Eviction, RowState
from sync.store.station import Store

COUNTY = "440902"
TOWN = "440902001"
VA = "440902001001"  # village A of the town
VB = "440902001002"  # village B of the town
TOWN2 = "440902002"  # another town
VC = "440902002001"  # a village of the other town
TABLES = ("veterans", "visits", "petitions", "petition_events", "conflicts")


# --------------------------------------------------------------------------- implementations


@contextlib.contextmanager
def sqlite_hub_store(tmp_path: Path) -> Iterator[HubStore]:
    store = HubStore(tmp_path / "hub.db", create=True, checks=HUB_CHECKS)
    with store.transaction():
        store.set_meta("county", COUNTY)
    try:
        yield store
    finally:
        store.close()


# Add an implementation here (a context manager of tmp_path, see the module docstring).
HUB_STORE_FACTORIES: list = [  # pytest.param(factory, id=...): factory(tmp_path) is a context manager
    pytest.param(sqlite_hub_store, id="sqlite"),
]


@pytest.fixture(params=HUB_STORE_FACTORIES)
def hub_store(request, tmp_path):
    with request.param(tmp_path) as store:
        yield store


@pytest.fixture()
def stations(tmp_path):
    """``stations(name, code)``: a station store with its own database (closed after the test)."""
    made: list[Store] = []

    def make(name: str, code: str) -> Store:
        s = Store(tmp_path / f"station-{name}.db", create=True)
        with s.transaction():
            s.set_meta("station", code)
            s.set_meta("scope", code)
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()


# --------------------------------------------------------------------------- rows and pushers


def idn(n: int) -> str:
    first17 = f"44090219750203{n % 1000:03d}"
    return first17 + id_number_check_digit(first17)


def veteran_values(n: int, area: str, **over) -> dict:
    return {"id_number": idn(n), "name": f"退役军人{n}", "area": area, "status": "active", **over}


def visit_values(vet: RowState, station: str, **over) -> dict:
    return {"veteran_id": vet.id, "area": vet.area, "station": station, "visited_on": "2024-05-01",
            "kind": "home", **over}


def petition_values(vet: RowState, station: str, *, confidential: bool = False, **over) -> dict:
    return {"veteran_id": vet.id, "area": vet.area, "station": station, "petitioner": "甲", "channel": "letter",
            "received_on": "2024-05-01", "summary": "反映问题",
            "class": "accusation" if confidential else "appeal", "confidential": 1 if confidential else 0, **over}


def event_values(pet: RowState, kind: str = "register", from_status: str | None = None, **over) -> dict:
    values = {"petition_id": pet.id, "area": pet.area, "at": "2024-05-02", "kind": kind, **over}
    if from_status:
        values["from_status"] = from_status
    return values


class Pusher:
    """A station as the hub store sees it: its code and scope (from its
    certificate), its replica id, and the clock that stamps its writes."""

    def __init__(self, station: str, scope: str | None = None, replica_id: str | None = None):
        self.station, self.scope = station, scope or station
        self.replica_id = replica_id or new_replica_id()
        self.hlc = HLC(self.replica_id)
        self.seen = 0  # the hub seq up to which this pusher has the hub's rows (its pull cursor)

    def new(self, table: str, values: dict) -> RowState:
        """A new row: every field stamped with one version, each with base ``""``."""
        version = self.hlc.tick()
        values = {"deleted": 0, **values}
        return RowState(table, new_id(), values, dict.fromkeys(values, version), dict.fromkeys(values, ""))

    def edit(self, state: RowState, changes: dict) -> RowState:
        """An edit built on ``state`` (as pulled from the hub): the changed fields with
        their bases, plus the context fields (area, deleted) as the pusher holds them."""
        self.hlc.observe(max(state.clock.values()))
        self.seen = max(self.seen, state.seq)  # it holds the hub's row as of that seq
        version = self.hlc.tick()
        values = {"area": state.area, "deleted": state.values.get("deleted"), **changes}
        clock = {"area": state.clock["area"], "deleted": state.clock["deleted"], **dict.fromkeys(changes, version)}
        return RowState(state.table, state.id, values, clock, {n: state.clock.get(n, "") for n in changes})

    def push(self, hub, rows: list[RowState]) -> PushResult:
        return hub.apply_push(rows, station=self.station, scope=self.scope, replica_id=self.replica_id,
                              seen_cursor=self.seen)

    def pull(self, hub, cursor: int = 0, **kw) -> tuple[list[RowState], list[Eviction], int]:
        """Every batch from ``cursor`` on, as this pusher's pull: (rows, evictions, cursor)."""
        rows, evictions = [], []
        while True:
            batch = hub.changes_since(cursor, self.scope, station=self.station, replica_id=self.replica_id, **kw)
            rows += batch.rows
            evictions += batch.evictions
            cursor = batch.cursor
            if not batch.more:
                self.seen = max(self.seen, cursor)
                return rows, evictions, cursor


def pull_all(hub, scope: str = COUNTY, cursor: int = 0, **kw) -> tuple[list[RowState], list[Eviction], int]:
    """Every batch from ``cursor`` on (station "" unless given: the hub's own view)."""
    rows, evictions = [], []
    while True:
        batch = hub.changes_since(cursor, scope, **kw)
        rows += batch.rows
        evictions += batch.evictions
        cursor = batch.cursor
        if not batch.more:
            return rows, evictions, cursor


def hub_view(hub) -> dict[tuple[str, str], tuple[dict, dict]]:
    """The hub's whole state, read through a county pull: (table, id) -> (values, clock)."""
    rows, _, _ = pull_all(hub, max_bytes=None)
    return {(r.table, r.id): (dict(r.values), dict(r.clock)) for r in rows}


def hub_row(hub, table: str, row_id: str) -> RowState | None:
    rows, _, _ = pull_all(hub, max_bytes=None)
    return next((r for r in rows if (r.table, r.id) == (table, row_id)), None)


def hub_conflicts(hub) -> list[dict]:
    rows, _, _ = pull_all(hub, max_bytes=None)
    return [{"id": r.id, **r.values} for r in rows if r.table == "conflicts"]


def keys(rows) -> list[tuple[str, str]]:
    return [(r.table, r.id) for r in rows]


def sync(store: Store, hub, peer: type[LocalHub] = LocalHub, batch_rows: int = 50):
    return sync_once(store, peer(hub, store.meta("station"), scope=store.meta("scope")), batch_rows=batch_rows)


def held(store: Store, table: str, row_id: str) -> dict | None:
    """A station's copy of a row (tombstones too), or None."""
    try:
        return store.get(table, row_id, include_deleted=True)
    except NotFound:
        return None


class AckLost(Exception):
    """The connection dropped after the hub applied a batch, before its reply arrived."""


class LosesAcks(LocalHub):
    def push(self, batches, *, cursor=0):
        for _reply in super().push(batches, cursor=cursor):
            raise AckLost()
        return
        yield  # pragma: no cover - a generator


# --------------------------------------------------------------------------- the suite's own rule


def test_the_suite_uses_the_interface_only():
    """No SQLite in the helpers and tests: no connection, no SQL, no private attribute
    of the hub store, none of the SQLite store's own readers and writers (only the
    implementations' factories and the station stores' fixture, above the helpers,
    know what they open)."""
    text = Path(__file__).read_text(encoding="utf-8")
    start = text.index("# " + "-" * 75 + " rows and pushers")
    this = text.index("def " + "test_the_suite_uses_the_interface_only")
    after = text.index("\n\n\n", this)
    checked = text[start:this] + text[after:]
    dot = "."
    banned = [
        re.compile(re.escape(dot + "conn") + r"\b"),
        re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE)\s+(\w|\*)", re.I),
        re.compile(r"\b(hub|hub_store)" + re.escape(dot) + "_"),
        re.compile(re.escape(dot) + r"(load|load_many|read_states|select|save_rows|set_meta|checks)\b"),
    ]
    hits = [(p.pattern, m.group(0)) for p in banned for m in p.finditer(checked)]
    assert not hits, hits
    assert "class Pusher" in checked and "def test_write_as_hub_reaches_stations" in checked


# --------------------------------------------------------------------------- meta, last_seq, transaction


def test_meta_names_the_county_and_an_empty_hub_has_nothing(hub_store):
    assert hub_store.meta("county") == COUNTY
    assert hub_store.meta("no-such-key") is None
    assert hub_store.meta("no-such-key", "default") == "default"
    assert hub_store.last_seq == 0
    batch = hub_store.changes_since(0, COUNTY)
    assert isinstance(batch, PullBatch)
    assert (batch.rows, batch.evictions, batch.cursor, batch.more) == ([], [], 0, False)


def test_a_push_inside_a_transaction_that_fails_leaves_nothing(hub_store):
    va = Pusher(VA)
    with pytest.raises(RuntimeError):
        with hub_store.transaction():
            result = va.push(hub_store, [va.new("veterans", veteran_values(1, VA))])
            assert len(result.acked) == 1
            raise RuntimeError("the servicer's bookkeeping failed")
    assert hub_store.last_seq == 0
    assert hub_view(hub_store) == {}
    hub_store.bind_replica(va.replica_id, VB)  # the binding went with the rollback


def test_a_push_inside_a_transaction_commits_with_it(hub_store):
    va = Pusher(VA)
    with hub_store.transaction():
        with hub_store.transaction(durable=False):  # nested: joins the outer one
            va.push(hub_store, [va.new("veterans", veteran_values(1, VA))])
    assert len(hub_view(hub_store)) == 1
    assert hub_store.last_seq >= 1


# --------------------------------------------------------------------------- push, then pull


def test_new_rows_are_acked_and_pulled_in_seq_order_with_a_cursor(hub_store):
    va, town = Pusher(VA), Pusher(TOWN)
    rows = [va.new("veterans", veteran_values(n, VA)) for n in (1, 2, 3)]
    seqs = []
    for row in rows:  # one batch each: the order of the seqs is the order of the pushes
        result = va.push(hub_store, [row])
        assert isinstance(result, PushResult)
        assert result.acked == [("veterans", row.id, row.clock)]
        assert (result.refused, result.conflicts, result.resolved) == ([], 0, [])
        seqs.append(hub_store.last_seq)
    assert seqs[0] >= 1 and seqs == sorted(set(seqs))

    pulled, evictions, cursor = town.pull(hub_store)
    assert keys(pulled) == [("veterans", r.id) for r in rows]
    assert [r.seq for r in pulled] == seqs
    assert evictions == []
    assert cursor == hub_store.last_seq == seqs[-1]
    for sent, got in zip(rows, pulled):
        assert got.values == sent.values
        assert got.clock == sent.clock
    assert town.pull(hub_store, cursor) == ([], [], cursor)

    # An edit gives the row a new seq: it comes after the others, once.
    first = pulled[0]
    assert town.push(hub_store, [town.edit(first, {"note": "已核实"})]).acked
    again, _, cursor2 = pull_all(hub_store, TOWN, station=TOWN)
    assert keys(again) == [("veterans", rows[1].id), ("veterans", rows[2].id), ("veterans", rows[0].id)]
    assert again[-1].values["note"] == "已核实" and again[-1].seq == cursor2 == hub_store.last_seq > cursor
    since, _, _ = pull_all(hub_store, TOWN, cursor)
    assert keys(since) == [("veterans", first.id)]


def test_a_batch_of_a_veteran_and_its_dependents_is_acked_whole(hub_store):
    va = Pusher(VA)
    vet = va.new("veterans", veteran_values(1, VA))
    visit = va.new("visits", visit_values(vet, VA))
    pet = va.new("petitions", petition_values(vet, VA))
    ev = va.new("petition_events", event_values(pet))
    result = va.push(hub_store, [ev, visit, pet, vet])  # children before their parents: still admitted
    assert result.refused == []
    assert {(t, i) for t, i, _ in result.acked} == set(keys([vet, visit, pet, ev]))
    assert {(t, i): c for t, i, c in result.acked} == {(r.table, r.id): r.clock for r in (vet, visit, pet, ev)}
    view = hub_view(hub_store)
    for r in (vet, visit, pet, ev):
        assert view[(r.table, r.id)] == (r.values, r.clock)


def test_a_pusher_does_not_get_its_own_rows_back(hub_store, stations):
    va, va_tablet, town = Pusher(VA), Pusher(VA), Pusher(TOWN)
    vet = va.new("veterans", veteran_values(1, VA))
    va.push(hub_store, [vet, va.new("visits", visit_values(vet, VA))])
    assert va.pull(hub_store) == ([], [], hub_store.last_seq)
    # Others in scope get them, another replica of the same station too.
    assert len(va_tablet.pull(hub_store)[0]) == len(town.pull(hub_store)[0]) == 2
    # An edit built on what the pusher holds does not come back either.
    cursor = hub_store.last_seq
    va.push(hub_store, [va.edit(vet, {"note": "电话已更新"})])
    assert va.pull(hub_store, cursor) == ([], [], hub_store.last_seq)
    assert keys(town.pull(hub_store, cursor)[0]) == [("veterans", vet.id)]

    # A station store: its first sync pushes its rows and pulls none of them back.
    s = stations("vb", VB)
    s.write("veterans", new_id(), veteran_values(2, VB), create=True)
    report = sync(s, hub_store)
    assert (report.pushed, report.pulled, report.rejected, report.conflicts) == (1, 0, 0, 0)
    assert report.cursor == hub_store.last_seq
    assert s.pending_count() == 0


# --------------------------------------------------------------------------- scope


def test_a_pull_returns_the_scope_only(hub_store):
    made: dict[str, list[tuple[str, str]]] = {}
    for code, n in ((VA, 1), (VB, 2), (VC, 3)):
        p = Pusher(code)
        vet = p.new("veterans", veteran_values(n, code))
        visit = p.new("visits", visit_values(vet, code))
        assert not p.push(hub_store, [vet, visit]).refused
        made[code] = keys([vet, visit])
    town = Pusher(TOWN)
    town_row = town.new("petitions", {"area": TOWN, "station": TOWN, "petitioner": "乙", "channel": "visit",
                                      "received_on": "2024-05-01", "summary": "镇上来访",
                                      "class": "suggestion", "confidential": 0})
    assert not town.push(hub_store, [town_row]).refused

    def seen(code: str) -> set:
        return set(keys(pull_all(hub_store, code, station=code)[0]))

    assert seen(VA) == set(made[VA])
    assert seen(VB) == set(made[VB])
    assert seen(VC) == set(made[VC])
    assert seen(TOWN) == set(made[VA]) | set(made[VB]) | {("petitions", town_row.id)}
    assert seen(TOWN2) == set(made[VC])
    assert set(keys(pull_all(hub_store, COUNTY)[0])) == set(made[VA]) | set(made[VB]) | set(made[VC]) | {
        ("petitions", town_row.id)}
    assert all(r.area.startswith(VA) for r in pull_all(hub_store, VA, station=VA)[0])


# --------------------------------------------------------------------------- batches


@pytest.fixture()
def seven_rows(hub_store):
    """Seven veterans of village A, one push each, and one of village C pushed among them."""
    va, vc = Pusher(VA), Pusher(VC)
    for n in range(1, 8):
        va.push(hub_store, [va.new("veterans", veteran_values(n, VA))])
        if n == 4:
            vc.push(hub_store, [vc.new("veterans", veteran_values(50, VC))])
    return hub_store


def test_a_pull_comes_in_batches_of_at_most_limit_rows(seven_rows):
    hub = seven_rows
    full, _, end = pull_all(hub, VA, station=VA)
    assert len(full) == 7 and end == hub.last_seq
    cursor, got, sizes = 0, [], []
    while True:
        batch = hub.changes_since(cursor, VA, station=VA, limit=3)
        assert len(batch.rows) <= 3
        assert all(r.seq > cursor for r in batch.rows)
        assert [r.seq for r in batch.rows] == sorted(r.seq for r in batch.rows)
        if batch.more:  # exact: the last row given, nothing skipped
            assert batch.rows and batch.cursor == batch.rows[-1].seq
        else:
            assert batch.cursor == hub.last_seq
        sizes.append(len(batch.rows))
        got += batch.rows
        cursor = batch.cursor
        if not batch.more:
            break
    assert sizes == [3, 3, 1]
    assert keys(got) == keys(full)
    assert hub.changes_since(cursor, VA, station=VA, limit=3).rows == []


def test_a_pull_resumes_from_any_cursor(seven_rows):
    hub = seven_rows
    full, _, _ = pull_all(hub, VA, station=VA)
    for cursor in range(0, hub.last_seq + 1):
        expected = [(r.table, r.id, r.seq) for r in full if r.seq > cursor]
        for limit in (1, 2, 1000):
            rows, _, end = pull_all(hub, VA, cursor, station=VA, limit=limit)
            assert [(r.table, r.id, r.seq) for r in rows] == expected, (cursor, limit)
            assert end == hub.last_seq


def test_max_bytes_caps_a_batch_but_gives_at_least_one_row(seven_rows):
    hub = seven_rows
    full, _, _ = pull_all(hub, VA, station=VA)
    batch = hub.changes_since(0, VA, station=VA, max_bytes=1)
    assert len(batch.rows) == 1 and batch.more and batch.cursor == batch.rows[0].seq == full[0].seq
    rows, _, end = pull_all(hub, VA, station=VA, max_bytes=1)
    assert keys(rows) == keys(full) and end == hub.last_seq
    cursor, n = 0, 0
    while True:
        batch = hub.changes_since(cursor, VA, station=VA, max_bytes=1)
        assert len(batch.rows) <= 1
        n += 1
        cursor = batch.cursor
        if not batch.more:
            break
    assert n >= 7
    assert len(hub.changes_since(0, VA, station=VA, max_bytes=None).rows) == 7
    assert len(hub.changes_since(0, VA, station=VA, max_bytes=10 * 1024 * 1024).rows) == 7


# --------------------------------------------------------------------------- moves


def test_a_town_moves_a_veteran_and_its_dependents_follow(hub_store):
    va, vb, town = Pusher(VA), Pusher(VB), Pusher(TOWN)
    vet = va.new("veterans", veteran_values(1, VA))
    visit = va.new("visits", visit_values(vet, VA))
    pet = va.new("petitions", petition_values(vet, VA))
    ev = va.new("petition_events", event_values(pet))
    assert not va.push(hub_store, [vet, visit, pet, ev]).refused
    moved = {("veterans", vet.id), ("visits", visit.id), ("petitions", pet.id), ("petition_events", ev.id)}
    va_cursor = vb_cursor = hub_store.last_seq
    _, _, town_cursor = town.pull(hub_store)

    # A village may not move its veteran to another village.
    refused = va.push(hub_store, [va.edit(vet, {"area": VB})])
    assert [(t, i) for t, i, _ in refused.refused] == [("veterans", vet.id)] and not refused.acked
    assert hub_row(hub_store, "veterans", vet.id).area == VA

    result = town.push(hub_store, [town.edit(hub_row(hub_store, "veterans", vet.id), {"area": VB})])
    assert result.refused == [] and len(result.acked) == 1
    # Conflicts about the veteran (the village's refused move may be kept as one) move with it.
    about = {("conflicts", c["id"]) for c in hub_conflicts(hub_store) if c["row_id"] == vet.id}

    def records(rows):
        return {k for k in keys(rows) if k[0] != "conflicts"}

    rows, evictions, _ = va.pull(hub_store, va_cursor)
    assert rows == []
    assert {(e.table, e.id) for e in evictions} == moved | about
    rows, evictions, _ = vb.pull(hub_store, vb_cursor)
    assert records(rows) == moved and set(keys(rows)) == moved | about and evictions == []
    assert all(r.area == VB for r in rows)
    assert next(r for r in rows if r.table == "visits").values["veteran_id"] == vet.id
    rows, evictions, _ = town.pull(hub_store, town_cursor)  # still in the town's scope: no eviction
    assert records(rows) == moved - {("veterans", vet.id)} and evictions == []  # the veteran: its own push
    assert all(hub_row(hub_store, t, i).area == VB for t, i in moved | about)
    # A pull from the start finds the rows where they are now (evictions of rows it
    # never held are allowed: a station drops what it has).
    assert records(vb.pull(hub_store)[0]) == moved
    assert va.pull(hub_store)[0] == []


def test_a_move_reaches_station_stores(hub_store, stations):
    a, b, t = stations("va", VA), stations("vb", VB), stations("town", TOWN)
    vid = new_id()
    a.write("veterans", vid, veteran_values(1, VA), create=True)
    visit_id = new_id()
    a.write("visits", visit_id, {"veteran_id": vid, "area": VA, "station": VA, "visited_on": "2024-05-01",
                                 "kind": "phone"}, create=True)
    for s in (a, b, t):
        sync(s, hub_store)
    assert held(t, "visits", visit_id) is not None and held(b, "veterans", vid) is None
    t.write("veterans", vid, {"area": VB})
    assert sync(t, hub_store).rejected == 0
    report = sync(a, hub_store)
    assert report.evicted == 2
    assert held(a, "veterans", vid) is None and held(a, "visits", visit_id) is None
    sync(b, hub_store)
    assert held(b, "veterans", vid)["area"] == VB and held(b, "visits", visit_id)["area"] == VB
    sync(t, hub_store)
    assert held(t, "visits", visit_id)["area"] == VB


# --------------------------------------------------------------------------- history


def test_history_holds_every_accepted_change_in_order(hub_store):
    va, town = Pusher(VA), Pusher(TOWN)
    vet = va.new("veterans", veteran_values(1, VA, note="初建"))
    va.push(hub_store, [vet])
    e1 = va.edit(vet, {"name": "改名"})
    va.push(hub_store, [e1])
    va.push(hub_store, [e1])  # a retry: no new entry
    e2 = town.edit(hub_row(hub_store, "veterans", vet.id), {"note": "镇核实", "phone": None})
    town.push(hub_store, [e2])
    vb = Pusher(VB)
    assert vb.push(hub_store, [vb.edit(hub_row(hub_store, "veterans", vet.id), {"note": "越权"})]).refused
    hub_state = hub_store.write_as_hub("veterans", vet.id, {"note": "县中心更正"})

    entries = history_of(hub_store, vet.id)
    assert [e.station for e in entries] == [VA, VA, TOWN, COUNTY]
    assert all((e.table, e.row_id) == ("veterans", vet.id) for e in entries)
    assert [e.seq for e in entries] == sorted(e.seq for e in entries) and len({e.seq for e in entries}) == 4
    assert entries[-1].seq == hub_store.last_seq
    assert all(isinstance(e.at_ms, int) and e.at_ms > 0 for e in entries)
    # The first entry: the row as created, even the fields changed since.
    assert entries[0].fields == {n: (vet.values[n], vet.clock[n]) for n in vet.clock}
    assert entries[1].fields == {"name": ("改名", e1.clock["name"])}
    assert entries[2].fields == {"note": ("镇核实", e2.clock["note"]), "phone": (None, e2.clock["phone"])}
    assert entries[3].fields == {"note": ("县中心更正", hub_state.clock["note"])}
    assert history_of(hub_store, "no-such-row") == []


# --------------------------------------------------------------------------- conflicts


@pytest.mark.parametrize("second", ["loser", "winner"])
def test_a_concurrent_edit_is_kept_with_both_values_and_the_loser_gets_the_winner(hub_store, stations, second):
    """Village A and its town edit one field without seeing each other; the town writes
    later (higher version) and wins, whichever pushes first."""
    a, t = stations("va", VA), stations("town", TOWN)
    vid = new_id()
    a.write("veterans", vid, veteran_values(1, VA), create=True)
    sync(a, hub_store)
    sync(t, hub_store)
    lost = a.write("veterans", vid, {"note": "村里填的"}).clock["note"]
    time.sleep(0.003)
    won = t.write("veterans", vid, {"note": "镇里填的"}).clock["note"]
    assert won > lost
    first, then = (t, a) if second == "loser" else (a, t)
    assert sync(first, hub_store).conflicts == 0
    before = hub_store.last_seq
    assert sync(then, hub_store).conflicts == 1
    assert hub_store.last_seq > before
    for s in (a, t, a, t):
        sync(s, hub_store)

    [c] = hub_conflicts(hub_store)
    assert (c["kind"], c["table"], c["row_id"], c["field"], c["area"], c["status"]) == (
        "concurrent_edit", "veterans", vid, "note", VA, "open")
    assert (c["winner_value"], c["winner_version"], c["winner_station"]) == ("镇里填的", won, TOWN)
    assert (c["loser_value"], c["loser_version"], c["loser_station"]) == ("村里填的", lost, VA)
    assert hub_row(hub_store, "veterans", vid).values["note"] == "镇里填的"
    assert held(a, "veterans", vid)["note"] == held(t, "veterans", vid)["note"] == "镇里填的"
    assert held(a, "conflicts", c["id"])["loser_value"] == "村里填的"  # both stations see it
    assert held(t, "conflicts", c["id"]) is not None
    assert a.pending_count() == t.pending_count() == 0


def _a_losing_edit(hub_store) -> tuple[Pusher, RowState, RowState, RowState]:
    """Village A and its town edit one note from the same state; the town's (later)
    edit reaches the hub first. Returns (village A, its veteran, A's edit, the town's)."""
    va, town = Pusher(VA), Pusher(TOWN)
    vet = va.new("veterans", veteran_values(1, VA))
    va.push(hub_store, [vet])
    seen = hub_row(hub_store, "veterans", vet.id)
    mine = va.edit(seen, {"note": "村"})
    time.sleep(0.003)
    theirs = town.edit(seen, {"note": "镇"})
    assert theirs.clock["note"] > mine.clock["note"]
    town.push(hub_store, [theirs])
    return va, vet, mine, theirs


def test_the_losing_pusher_is_sent_the_winner_again(hub_store):
    """The incoming side loses: the row is re-sent to its pusher (which holds its own value)."""
    va, vet, mine, theirs = _a_losing_edit(hub_store)
    # Village A pulled the winner while its own note was pending (so it kept its own).
    assert keys(va.pull(hub_store, 0)[0]) == [("veterans", vet.id)]
    cursor = hub_store.last_seq
    result = va.push(hub_store, [mine])
    assert result.conflicts == 1 and result.refused == []
    assert ("veterans", vet.id) in {(t, i) for t, i, _ in result.acked}
    rows, _, _ = va.pull(hub_store, cursor)
    got = next(r for r in rows if r.table == "veterans")
    assert (got.values["note"], got.clock["note"]) == ("镇", theirs.clock["note"])
    assert [r.values["kind"] for r in rows if r.table == "conflicts"] == ["concurrent_edit"]


class WritesDuringSync(LocalHub):
    """Runs ``between`` after the push and before the pull (a clerk typing during a sync)."""

    between: Callable[[], None] = staticmethod(lambda: None)

    def pull(self, cursor, batch_rows):
        self.between()
        yield from super().pull(cursor, batch_rows)


def test_a_station_that_pulled_the_winner_while_its_edit_was_pending_gets_it_again(hub_store, stations):
    a, t = stations("va", VA), stations("town", TOWN)
    vid = new_id()
    a.write("veterans", vid, veteran_values(1, VA), create=True)
    sync(a, hub_store)
    sync(t, hub_store)

    def meanwhile():
        a.write("veterans", vid, {"note": "村"})
        time.sleep(0.003)
        t.write("veterans", vid, {"note": "镇"})
        sync(t, hub_store)

    class Peer(WritesDuringSync):
        between = staticmethod(meanwhile)

    sync(a, hub_store, peer=Peer)  # pulls the town's note, keeps its pending one
    assert held(a, "veterans", vid)["note"] == "村"
    assert sync(a, hub_store).conflicts == 1  # its note loses: the row comes back
    assert held(a, "veterans", vid)["note"] == "镇" == hub_row(hub_store, "veterans", vid).values["note"]
    assert a.pending_count() == 0


def test_the_hub_runs_the_domain_checks_it_was_given(hub_store):
    va = Pusher(VA)
    vet = va.new("veterans", veteran_values(1, VA))
    pet = va.new("petitions", petition_values(vet, VA))
    assert not va.push(hub_store, [vet, pet, va.new("petition_events", event_values(pet))]).refused
    wrong_digit = idn(3)[:-1] + ("1" if idn(3)[-1] != "1" else "2")
    state = hub_view(hub_store)
    bad = {
        "another station's visit": va.new("visits", visit_values(vet, VB)),
        "a visit of no veteran": va.new("visits", {**visit_values(vet, VA), "veteran_id": new_id()}),
        "a date not in its canonical form": va.new("visits", visit_values(vet, VA, visited_on="2024/5/1")),
        "a required field missing": va.new("veterans", {"id_number": idn(2), "area": VA}),
        "a bad ID number": va.new("veterans", veteran_values(3, VA, id_number=wrong_digit)),
        "an impossible petition step": va.new("petition_events", event_values(pet, "review_opinion", "registered")),
        "an accusation not confidential": va.new("petitions", {**petition_values(vet, VA), "class": "accusation"}),
    }
    seq = hub_store.last_seq
    for what, row in bad.items():
        result = va.push(hub_store, [row])
        assert [(t, i) for t, i, _ in result.refused] == [(row.table, row.id)], what
        assert result.acked == [], what
    assert hub_store.last_seq == seq
    assert hub_view(hub_store) == state


def test_an_edit_of_a_row_deleted_meanwhile_is_a_delete_edit_conflict(hub_store):
    va, town = Pusher(VA), Pusher(TOWN)
    vet = va.new("veterans", veteran_values(1, VA))
    va.push(hub_store, [vet])
    seen_by_town = hub_row(hub_store, "veterans", vet.id)
    deletion = va.edit(vet, {"deleted": 1})
    assert va.push(hub_store, [deletion]).acked
    result = town.push(hub_store, [town.edit(seen_by_town, {"note": "补充情况"})])
    assert result.conflicts == 1 and result.refused == []
    [c] = hub_conflicts(hub_store)
    assert (c["kind"], c["table"], c["row_id"], c["area"], c["status"]) == ("delete_edit", "veterans", vet.id, VA, "open")
    assert c["winner_version"] == deletion.clock["deleted"]
    assert "补充情况" in c["loser_value"] and c["loser_station"] == TOWN
    assert hub_row(hub_store, "veterans", vet.id).deleted


def test_two_live_veterans_with_one_id_number_are_a_duplicate_identity(hub_store):
    va, vb, town = Pusher(VA), Pusher(VB), Pusher(TOWN)
    one = va.new("veterans", veteran_values(7, VA))
    other = vb.new("veterans", veteran_values(7, VB, name="同一人"))
    assert va.push(hub_store, [one]).conflicts == 0
    result = vb.push(hub_store, [other])
    assert result.refused == [] and len(result.acked) == 1
    assert result.conflicts == 0  # filed in the town: above village B's scope, it is not told
    [c] = hub_conflicts(hub_store)
    assert c["kind"] == "duplicate_identity" and c["area"] == TOWN and c["status"] == "open"
    assert {c["row_id"], c["winner_value"]} == {one.id, other.id}
    assert [r.id for r in town.pull(hub_store)[0] if r.table == "conflicts"] == [c["id"]]
    for p in (va, vb):  # neither village learns of the other's veteran
        assert all(r.table != "conflicts" for r in p.pull(hub_store)[0])
    vb.push(hub_store, [other])  # a retry files nothing more
    va.push(hub_store, [va.edit(one, {"note": "再次保存"})])
    assert len(hub_conflicts(hub_store)) == 1


def test_two_events_from_one_status_to_different_ones_are_a_petition_transition(hub_store):
    va, town = Pusher(VA), Pusher(TOWN)
    vet = va.new("veterans", veteran_values(1, VA))
    pet = va.new("petitions", petition_values(vet, VA))
    va.push(hub_store, [vet, pet, va.new("petition_events", event_values(pet))])
    accept = va.new("petition_events", event_values(pet, "accept", "registered"))
    reject = town.new("petition_events", event_values(pet, "reject", "registered", note="不属受理范围"))
    assert va.push(hub_store, [accept]).conflicts == 0
    result = town.push(hub_store, [reject])
    assert result.refused == [] and result.conflicts == 1
    [c] = hub_conflicts(hub_store)
    assert (c["kind"], c["table"], c["field"], c["area"]) == ("petition_transition", "petition_events", "kind", VA)
    assert {c["winner_value"], c["loser_value"]} == {"accept", "reject"}
    assert {c["winner_version"], c["loser_version"]} == {accept.clock["kind"], reject.clock["kind"]}
    assert c["row_id"] in (accept.id, reject.id)
    for e in (accept, reject):  # both events are kept
        assert not hub_row(hub_store, "petition_events", e.id).deleted


# --------------------------------------------------------------------------- idempotent retries


def _batch_of(kind: str, hub) -> tuple[Pusher, list[RowState]]:
    """A pusher and a batch of ``kind`` against a hub holding one veteran of village A
    that the town has edited (so village A's copy is behind)."""
    va, town = Pusher(VA), Pusher(TOWN)
    old = va.new("veterans", veteran_values(1, VA))
    va.push(hub, [old])
    town.push(hub, [town.edit(hub_row(hub, "veterans", old.id), {"phone": None})])
    if kind == "new rows":
        vet = va.new("veterans", veteran_values(2, VA))
        pet = va.new("petitions", petition_values(vet, VA))
        return va, [vet, va.new("visits", visit_values(vet, VA)), pet, va.new("petition_events", event_values(pet))]
    if kind == "edit":
        return va, [va.edit(old, {"note": "补充"})]
    if kind == "winning concurrent edit":
        town.push(hub, [town.edit(hub_row(hub, "veterans", old.id), {"note": "镇"})])
        time.sleep(0.003)
        return va, [va.edit(old, {"note": "村，未见镇的修改"})]
    if kind == "move":
        return town, [town.edit(hub_row(hub, "veterans", old.id), {"area": VB})]
    if kind == "delete":
        return town, [town.edit(hub_row(hub, "veterans", old.id), {"deleted": 1})]
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["new rows", "edit", "winning concurrent edit", "move", "delete"])
def test_the_same_batch_applied_twice_changes_nothing(hub_store, kind):
    pusher, batch = _batch_of(kind, hub_store)
    first = pusher.push(hub_store, batch)
    assert first.refused == [] and {(t, i) for t, i, _ in first.acked} == set(keys(batch))
    assert first.conflicts == (1 if kind == "winning concurrent edit" else 0)
    state, seq, conflicts = hub_view(hub_store), hub_store.last_seq, hub_conflicts(hub_store)
    histories = {k: history_of(hub_store, k[1]) for k in state}

    again = pusher.push(hub_store, batch)
    assert again.refused == [] and again.conflicts == 0
    assert sorted(again.acked) == sorted(first.acked)
    assert hub_store.last_seq == seq
    assert hub_view(hub_store) == state
    assert hub_conflicts(hub_store) == conflicts
    assert {k: history_of(hub_store, k[1]) for k in state} == histories
    assert pusher.pull(hub_store, seq) == ([], [], seq)


def test_a_losing_edit_applied_twice_files_its_conflict_once(hub_store):
    va, vet, mine, _theirs = _a_losing_edit(hub_store)
    assert va.push(hub_store, [mine]).conflicts == 1
    conflicts = hub_conflicts(hub_store)
    again = va.push(hub_store, [mine])  # the reply was lost: the same batch again
    assert again.conflicts == 0 and [a[1] for a in again.acked] == [mine.id]
    assert hub_conflicts(hub_store) == conflicts
    # The winner is sent to the loser once more (a re-send is harmless, and the hub cannot
    # tell whether the loser skipped the first one while its own edit was unacknowledged).
    assert hub_row(hub_store, "veterans", vet.id).values["note"] == "镇"


def test_a_lost_ack_retried_after_someone_built_on_it_is_no_conflict(hub_store, stations):
    a, t = stations("va", VA), stations("town", TOWN)
    vid = new_id()
    a.write("veterans", vid, veteran_values(1, VA), create=True)
    with pytest.raises(AckLost):
        sync(a, hub_store, peer=LosesAcks)
    assert a.pending_count() == 1  # the hub has the row; the station does not know
    sync(t, hub_store)
    t.write("veterans", vid, {"name": "镇改的名字"})
    assert sync(t, hub_store).pushed == 1
    report = sync(a, hub_store)  # the retry of the first push
    assert (report.conflicts, report.rejected) == (0, 0)
    assert hub_conflicts(hub_store) == []
    assert hub_row(hub_store, "veterans", vid).values["name"] == "镇改的名字"
    assert held(a, "veterans", vid)["name"] == "镇改的名字"
    assert a.pending_count() == 0


def test_a_lost_ack_retried_by_hand_is_acked_and_files_nothing(hub_store):
    va, town = Pusher(VA), Pusher(TOWN)
    vet = va.new("veterans", veteran_values(1, VA))
    va.push(hub_store, [vet])  # the reply is lost
    built = town.edit(hub_row(hub_store, "veterans", vet.id), {"name": "新名"})
    town.push(hub_store, [built])
    cursor = hub_store.last_seq
    result = va.push(hub_store, [vet])
    assert result.conflicts == 0 and result.refused == [] and len(result.acked) == 1
    assert hub_conflicts(hub_store) == []
    rows, _, _ = va.pull(hub_store, 0)
    assert [(r.id, r.values["name"]) for r in rows] == [(vet.id, "新名")]
    assert hub_row(hub_store, "veterans", vet.id).clock["name"] == built.clock["name"]
    assert hub_store.last_seq >= cursor


# --------------------------------------------------------------------------- refusals


def test_rows_outside_the_pushers_scope_are_refused_with_a_reason(hub_store):
    va, vb = Pusher(VA), Pusher(VB)
    theirs = vb.new("veterans", veteran_values(2, VB))
    vb.push(hub_store, [theirs])
    mine = va.new("veterans", veteran_values(1, VA))
    foreign_new = va.new("veterans", veteran_values(3, VB))
    foreign_edit = va.edit(hub_row(hub_store, "veterans", theirs.id), {"note": "不该改"})
    seq = hub_store.last_seq
    result = va.push(hub_store, [mine, foreign_new, foreign_edit])
    assert [(t, i) for t, i, _ in result.acked] == [("veterans", mine.id)]
    assert {(t, i) for t, i, _ in result.refused} == {("veterans", foreign_new.id), ("veterans", theirs.id)}
    assert all(isinstance(reason, str) and reason for _, _, reason in result.refused)
    assert all("不该改" not in reason for _, _, reason in result.refused)
    assert hub_row(hub_store, "veterans", foreign_new.id) is None
    assert "note" not in hub_row(hub_store, "veterans", theirs.id).values
    assert hub_store.last_seq > seq  # the accepted row (and the refused edit kept as a conflict)
    # A row pushed with another replica's versions is refused too.
    forged = va.new("veterans", veteran_values(4, VA))
    forged.clock = {n: vb.hlc.tick() for n in forged.clock}
    assert [(t, i) for t, i, _ in va.push(hub_store, [forged]).refused] == [("veterans", forged.id)]
    assert hub_row(hub_store, "veterans", forged.id) is None


def test_an_edit_of_a_row_that_moved_away_is_refused_and_kept_for_its_new_station(hub_store):
    va, vb, town = Pusher(VA), Pusher(VB), Pusher(TOWN)
    vet = va.new("veterans", veteran_values(1, VA))
    va.push(hub_store, [vet])
    town.push(hub_store, [town.edit(hub_row(hub_store, "veterans", vet.id), {"area": VB})])
    result = va.push(hub_store, [va.edit(vet, {"phone": None, "note": "村里离线时改的"})])  # it had not pulled
    assert [(t, i) for t, i, _ in result.refused] == [("veterans", vet.id)] and not result.acked
    assert "note" not in hub_row(hub_store, "veterans", vet.id).values
    [c] = hub_conflicts(hub_store)
    assert (c["kind"], c["row_id"], c["area"], c["loser_station"]) == ("refused_edit", vet.id, VB, VA)
    assert "村里离线时改的" in c["loser_value"]
    assert [r.id for r in vb.pull(hub_store)[0] if r.table == "conflicts"] == [c["id"]]
    assert all(r.table != "conflicts" for r in va.pull(hub_store)[0])


def test_a_replica_id_of_another_station_is_forbidden(hub_store):
    va = Pusher(VA)
    hub_store.bind_replica(va.replica_id, VA)
    hub_store.bind_replica(va.replica_id, VA)  # again: fine
    with pytest.raises(Forbidden):
        hub_store.bind_replica(va.replica_id, VB)
    vet = va.new("veterans", veteran_values(1, VA))
    va.push(hub_store, [vet])
    state, seq = hub_view(hub_store), hub_store.last_seq

    impostor = Pusher(TOWN, replica_id=va.replica_id)  # the town with a copy of village A's database
    with pytest.raises(Forbidden):
        impostor.push(hub_store, [impostor.edit(hub_row(hub_store, "veterans", vet.id), {"note": "冒用"}),
                                  impostor.new("veterans", veteran_values(2, VB))])
    assert hub_store.last_seq == seq and hub_view(hub_store) == state

    first_seen = Pusher(VB)  # a push binds a replica id at first sight
    first_seen.push(hub_store, [first_seen.new("veterans", veteran_values(3, VB))])
    with pytest.raises(Forbidden):
        hub_store.bind_replica(first_seen.replica_id, VA)


def test_the_hubs_own_replica_id_is_forbidden_to_stations(hub_store):
    va = Pusher(VA)
    vet = va.new("veterans", veteran_values(1, VA))
    va.push(hub_store, [vet])
    hub_replica = replica_of(hub_store.write_as_hub("veterans", vet.id, {"note": "县"}).clock["note"])
    assert hub_replica != va.replica_id
    with pytest.raises(Forbidden):
        hub_store.bind_replica(hub_replica, VA)
    seq = hub_store.last_seq
    posing = Pusher(VA, replica_id=hub_replica)
    with pytest.raises(Forbidden):
        posing.push(hub_store, [posing.new("veterans", veteran_values(2, VA))])
    assert hub_store.last_seq == seq


# --------------------------------------------------------------------------- confidential petitions


def test_a_confidential_petition_reaches_only_its_registering_station(hub_store, stations):
    va, town, vb = Pusher(VA), Pusher(TOWN), Pusher(VB)
    vet = va.new("veterans", veteran_values(1, VA))
    secret = va.new("petitions", petition_values(vet, VA, confidential=True))
    secret_event = va.new("petition_events", event_values(secret))
    open_one = va.new("petitions", petition_values(vet, VA))
    assert not va.push(hub_store, [vet, secret, secret_event, open_one]).refused
    hidden = {("petitions", secret.id), ("petition_events", secret_event.id)}

    town_rows = set(keys(town.pull(hub_store)[0]))
    assert ("veterans", vet.id) in town_rows and ("petitions", open_one.id) in town_rows
    assert not town_rows & hidden
    assert vb.pull(hub_store)[0] == []
    assert hidden <= set(keys(pull_all(hub_store)[0]))  # the hub's own view
    reinstalled = Pusher(VA)  # village A on a new PC: a new replica id, the same station
    assert hidden <= set(keys(reinstalled.pull(hub_store)[0]))

    # The town may not touch it, and learns nothing from trying.
    seq, conflicts = hub_store.last_seq, hub_conflicts(hub_store)
    result = town.push(hub_store, [town.edit(hub_row(hub_store, "petitions", secret.id), {"handler": "镇干部"})])
    assert [(t, i) for t, i, _ in result.refused] == [("petitions", secret.id)] and result.conflicts == 0
    assert hub_store.last_seq == seq and hub_conflicts(hub_store) == conflicts
    assert not set(keys(town.pull(hub_store)[0])) & hidden

    # A station store of the town syncs everything else, never the confidential rows.
    t = stations("town", TOWN)
    sync(t, hub_store)
    assert held(t, "petitions", open_one.id) is not None
    assert held(t, "petitions", secret.id) is None and held(t, "petition_events", secret_event.id) is None


# --------------------------------------------------------------------------- the hub's own writes


def test_write_as_hub_reaches_stations_on_their_next_pull(hub_store, stations):
    a, b = stations("va", VA), stations("vb", VB)
    vid = new_id()
    a.write("veterans", vid, veteran_values(1, VA), create=True)
    sync(a, hub_store)
    sync(b, hub_store)
    cursor = hub_store.last_seq

    state = hub_store.write_as_hub("veterans", vid, {"note": "县中心核实"})
    assert isinstance(state, RowState) and state.values["note"] == "县中心核实"
    assert hub_store.last_seq == cursor + 1
    assert replica_of(state.clock["note"]) not in ("", a.replica_id)
    assert hub_store.write_as_hub("veterans", vid, {"note": "县中心核实"}).values["note"] == "县中心核实"
    assert hub_store.last_seq == cursor + 1  # an unchanged value is no write

    pulled, _, _ = Pusher(VA, replica_id=a.replica_id).pull(hub_store, cursor)
    assert [(r.id, r.values["note"], r.clock["note"]) for r in pulled] == [(vid, "县中心核实", state.clock["note"])]
    report = sync(a, hub_store)
    assert report.pulled == 1 and held(a, "veterans", vid)["note"] == "县中心核实"
    assert sync(b, hub_store).pulled == 0

    # A move by the hub moves like a pushed one.
    hub_store.write_as_hub("veterans", vid, {"area": VB})
    assert sync(a, hub_store).evicted == 1 and held(a, "veterans", vid) is None
    sync(b, hub_store)
    assert held(b, "veterans", vid)["area"] == VB and held(b, "veterans", vid)["note"] == "县中心核实"

    with pytest.raises(NotFound):
        hub_store.write_as_hub("veterans", "no-such-row", {"note": "x"})


def test_a_row_the_hub_creates_reaches_the_stations_in_its_scope_only(hub_store, stations):
    a, b = stations("va", VA), stations("vb", VB)
    vid = new_id()
    state = hub_store.write_as_hub("veterans", vid, veteran_values(7, VA), create=True)
    assert state.values["deleted"] == 0 and replica_of(state.clock["name"]) not in ("", a.replica_id, b.replica_id)
    assert len({state.clock[n] for n in state.clock}) == 1  # one write, one version
    assert sync(a, hub_store).pulled == 1 and held(a, "veterans", vid)["name"] == state.values["name"]
    assert sync(b, hub_store).pulled == 0 and held(b, "veterans", vid) is None
    assert [e.station for e in history_of(hub_store, vid)] == [COUNTY]
    with pytest.raises(ValidationError, match="记录已存在"):
        hub_store.write_as_hub("veterans", vid, {"note": "x"}, create=True)
    assert hub_store.write_as_hub("veterans", vid, {"note": "县中心补录"}).values["note"] == "县中心补录"
