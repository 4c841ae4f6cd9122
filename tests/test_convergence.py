"""Property test of the engine: random offline writes on several replicas, random
sync orders with lost acknowledgements, duplicated batches, cut pulls and writes
made during a sync, with the hub's domain checks on. The scripts file veterans
(some sharing an ID number across stations), log visits, move veterans, register
petitions (confidential 检举控告类 ones too) and record their events — a town and
its village racing on one petition from the same status — void steps by 更正
(two stations voiding different steps, a step voided while another station adds
a later one), and resolve conflicts at a station or at the hub in the middle of
it all. Afterwards (``Model.check``):

1. **converged**: every station holds exactly the hub's state within its scope,
   less the confidential rows another station registered, and nothing pending;
2. **no lost write**: each write is the current value, was overwritten by a
   writer who had seen it, is the losing side of a recorded conflict, or is a
   refused edit kept in the station's rejected list; **no lost event**: every
   event a station recorded is at the hub (tombstoned only by a resolution) or
   in that station's rejected list;
3. **duplicate identity**: exactly one conflict per pair of live veterans sharing
   an ID number (never two for a pair), filed in the smallest area holding both
   and held by exactly the stations whose scope holds both;
4. **petition transition**: two concurrent events (neither writer had seen the
   other) from the same status to different statuses, both live, are the two
   sides of a recorded conflict; every such conflict is between concurrent events;
5. **visibility**: every conflict is held by exactly the stations whose scope
   holds its area (and, if it is confidential, by its registering station only);
6. **confidential petitions**: no other station ever received the petition, its
   events, a conflict about it or an eviction of any of them;
7. **resolutions**: a conflict resolved anywhere is resolved at the hub and at
   every station that holds it, with the same resolution (unless the resolving
   station's write was refused and kept in its rejected list);
8. **one fold**: every station holding a petition derives from its events the
   hub's history (order, voided steps) and state (status, deadlines), whatever
   order the events reached each store in.

Two engine bugs the scripts found are kept out of them (``ALLOW_*`` and
``STRICT_REFUSALS`` below) and pinned by the xfail tests after the property: a
station keeps the values the hub refused on a row the hub holds (two replicas
resolving one conflict concurrently, a merge into a veteran moved away
meanwhile), so it never converges on that row; a petition that comes back to a
status it had (上报 → 转送 → 上报) raises a false transition conflict. A third (a
pusher whose pull came in several batches skipped a row another station
changed) is fixed: pulls run in batches of ``PULL_ROWS`` rows.

``VETSYNC_SOAK_EXAMPLES=500`` runs a longer soak of the property."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import event as _event
from hypothesis import strategies as st

from enginekit import COUNTY, TOWN, VILLAGE_A, VILLAGE_B, Network, confidential_owner, sequential_ids, snapshot
from station_node import corrections, records
from veterans import petition as petition_rules
from veterans import resolve as R
from sync.engine.errors import VetsyncError
from sync.engine.hlc import replica_of
from sync.store.hub import history_of, history_versions
from sync.engine.merge import merge_row
from veterans.values import id_number_check_digit
from sync.engine.rowstate import RowState
from sync.engine.scope import common_area, in_scope

TABLES = ("veterans", "visits", "petitions", "petition_events", "conflicts")


def id_number(n: int) -> str:
    first17 = f"44090219700101{n % 1000:03d}"
    return first17 + id_number_check_digit(first17)


STATIONS = {"town": TOWN, "va": VILLAGE_A, "vb": VILLAGE_B}
EDIT_FIELDS = ("name", "phone", "note")
SHARED_IDS = 3  # ID numbers 1..3 may be filed by several stations; others are fresh
# Engine bugs found by these scripts, kept out of them until fixed (see the xfail tests):
ALLOW_CONCURRENT_RESOLUTIONS = False  # two replicas resolving one conflict without seeing each other
ALLOW_STATUS_REVISITS = False  # events from a status the petition had left once already
# A station keeps its refused values of a row the hub holds (at newer versions than
# the hub's): the comparison leaves out the fields of its rejected list.
STRICT_REFUSALS = False
PULL_ROWS = 3  # several pull batches a session (a pusher once missed a row across them)

SOAK = int(os.environ.get("VETSYNC_SOAK_EXAMPLES") or 0)

# The hub runs the domain checks (enginekit.Network): rows are built as a
# station's records build them (station_node.records), with values its validators accept.
station_names = st.sampled_from(sorted(STATIONS))
villages = st.sampled_from(("va", "vb"))
edits = st.one_of(
    st.tuples(st.sampled_from(("name", "note")), st.text("甲乙丙丁", min_size=1, max_size=3)),
    st.tuples(st.just("phone"), st.sampled_from(("13800000000", "13900000001", "0759-1234567"))),
)
writes = st.one_of(
    st.tuples(st.just("create"), station_names, st.booleans(), st.integers(0, SHARED_IDS + 2)),
    st.builds(lambda name, i, edit: ("edit", name, i, *edit), station_names, st.integers(0, 50), edits),
    st.tuples(st.just("delete"), station_names, st.integers(0, 50)),
    st.tuples(st.just("visit"), station_names, st.integers(0, 50)),
    st.tuples(st.just("move"), st.integers(0, 50)),
    st.tuples(st.just("petition"), station_names, st.integers(0, 50),
              st.sampled_from(("suggestion", "appeal", "accusation"))),
    st.tuples(st.just("event"), station_names, st.integers(0, 50), st.integers(0, 12)),
    st.tuples(st.just("race"), villages, st.integers(0, 50), st.integers(0, 12), st.integers(0, 12)),
    st.tuples(st.just("resolve"), st.sampled_from(("town", "va", "vb", "hub")), st.integers(0, 50), st.integers(0, 1)),
    st.tuples(st.just("correct"), station_names, st.integers(0, 50), st.integers(0, 12)),
)
syncs = st.tuples(st.just("sync"), station_names,
                  st.sampled_from(["ok", "ok", "lose_ack", "duplicate", "cut_pull", "write_during"]), st.integers(0, 2))
shared_creates = st.tuples(st.just("create"), station_names, st.booleans(), st.integers(0, SHARED_IDS - 1))
# Three steps in ten are syncs (one of them every station, twice in turn, so that
# rows spread and stations then race on them); of the writes, one in six files a veteran.
steps = st.integers(0, 9).flatmap(
    lambda n: st.just(("sync_all",)) if n == 0 else syncs if n < 3 else st.one_of(writes, shared_creates))


def event(text: str) -> None:
    """Count what a script reached (``--hypothesis-show-statistics``); nothing outside a test."""
    with contextlib.suppress(Exception):
        _event(text)


class Model:
    def __init__(self, net: Network):
        self.net = net
        self.writes: list[tuple[str, str, str, str, object]] = []  # (table, id, field, version, value)
        self.parent: dict[tuple, str] = {}  # (table, id, field, version) -> the version its writer had seen
        self.counter = 0
        self.events: dict[str, tuple[str, set[str]]] = {}  # event id -> (station, events its writer held)
        self.confidential: dict[str, str] = {}  # petition id -> registering station
        self.resolved: list[tuple[str, str]] = []  # (resolver, conflict id) of each resolve() that returned

    # -- writing, observed ---------------------------------------------------

    def _clocks(self, name: str) -> dict:
        store = self.net.stations[name]
        return {(t, s.id): (dict(s.clock), dict(s.values)) for t in TABLES for s, _ in store.read_states(t)}

    @contextlib.contextmanager
    def observed(self, name: str):
        """Every field version the station's replica stamps inside the block is a
        write, built on the version the field had before it."""
        store = self.net.stations[name]
        before = self._clocks(name)
        try:
            yield
        finally:
            for key, (clock, values) in self._clocks(name).items():
                old = before.get(key, ({}, {}))[0]
                for f, v in clock.items():
                    if v != old.get(f, "") and replica_of(v) == store.replica_id:
                        self.parent[(*key, f, v)] = old.get(f, "")
                        self.writes.append((*key, f, v, values.get(f)))

    def live(self, name: str, table: str = "veterans") -> list[str]:
        return [r["id"] for r in self.net.stations[name].select(table, order="id")]

    def pick(self, name: str, i: int, table: str = "veterans") -> str | None:
        ids = self.live(name, table)
        return ids[i % len(ids)] if ids else None

    def write(self, name: str, table: str, row_id: str, changes: dict, create: bool = False):
        with self.observed(name):
            self.net.stations[name].write(table, row_id, changes, create=create)

    # -- petitions ----------------------------------------------------------

    def kinds(self, name: str, petition_id: str) -> tuple[str | None, list[str]]:
        """The petition's status at the station, and the event kinds the script may add."""
        _, events, state = records.petition_detail(self.net.stations[name], petition_id)
        kinds = petition_rules.allowed_kinds(state.status)
        if state.extended:
            kinds = [k for k in kinds if k != "extend"]
        if not ALLOW_STATUS_REVISITS and state.status in {e.get("from_status") for e in events}:
            # The petition is back at a status it left once (上报 → 转送 → 上报, or two
            # concurrent steps folded): the hub takes a step from here for a race with
            # the old one (see test_a_petition_back_at_a_status_is_no_transition_conflict).
            return state.status, []
        return state.status, kinds

    def add_event(self, name: str, petition_id: str, kind: str) -> str | None:
        store = self.net.stations[name]
        held = {s.id for s, _ in store.read_states("petition_events", "petition_id = ?", (petition_id,))}
        try:
            with self.observed(name):
                ev, _ = records.add_petition_event(store, petition_id, kind, note="材料待补" if kind == "extend" else None)
        except VetsyncError:
            return None
        self.events[ev["id"]] = (name, held)
        return ev["id"]

    def visible_petitions(self, name: str) -> list[str]:
        return self.live(name, "petitions")

    # -- the script ---------------------------------------------------------

    def run(self, op):
        kind = op[0]
        net = self.net
        if kind == "create":
            _, name, second, pick = op
            scope = net.scope(name)
            area = scope if len(scope) == 12 else scope + ("002" if second else "001")
            self.counter += 1
            number = id_number(pick + 1 if pick < SHARED_IDS else 100 + self.counter)
            try:
                with self.observed(name):
                    records.add_veteran(net.stations[name], {"id_number": number, "name": "新", "area": area})
            except VetsyncError:  # this station already holds a live veteran with the number
                pass
        elif kind == "edit":
            _, name, i, field, value = op
            vid = self.pick(name, i)
            if vid:
                self.write(name, "veterans", vid, {field: value})
        elif kind == "delete":
            _, name, i = op
            vid = self.pick(name, i)
            if vid:
                self.write(name, "veterans", vid, {"deleted": 1})
        elif kind == "visit":
            _, name, i = op
            vid = self.pick(name, i)
            if vid:
                with self.observed(name):
                    records.add_visit(net.stations[name], vid, "home")
        elif kind == "move":
            _, i = op
            vid = self.pick("town", i)
            if vid:
                vet = net.stations["town"].get("veterans", vid)
                self.write("town", "veterans", vid, {"area": VILLAGE_B if vet["area"] == VILLAGE_A else VILLAGE_A})
        elif kind == "petition":
            _, name, i, cls = op
            vid = self.pick(name, i)
            if vid:
                store = net.stations[name]
                with self.observed(name):
                    pet = records.open_petition(store, channel="visit", summary="反映事项", veteran_id=vid, class_=cls)
                (reg,) = store.select("petition_events", "petition_id = ?", (pet["id"],))
                self.events[reg["id"]] = (name, set())
                if cls == "accusation":
                    self.confidential[pet["id"]] = store.meta("station")
        elif kind == "event":
            _, name, i, k = op
            pid = self.pick(name, i, "petitions")
            if pid:
                _, kinds = self.kinds(name, pid)
                if kinds:
                    self.add_event(name, pid, kinds[k % len(kinds)])
        elif kind == "race":
            # The town and a village, both holding one petition, each record a step
            # from the status they see, the village preferring one leading elsewhere.
            _, village, i, a, b = op
            shared = sorted(set(self.visible_petitions("town")) & set(self.visible_petitions(village)))
            if not shared:
                return
            pid = shared[i % len(shared)]
            town_status, town_kinds = self.kinds("town", pid)
            village_status, village_kinds = self.kinds(village, pid)
            if not town_kinds or not village_kinds:
                return
            mine = town_kinds[a % len(town_kinds)]
            if village_status == town_status:
                target = petition_rules.next_status(town_status, mine)
                other = [k for k in village_kinds if petition_rules.next_status(village_status, k) != target]
                village_kinds = other or village_kinds
            self.add_event("town", pid, mine)
            self.add_event(village, pid, village_kinds[b % len(village_kinds)])
        elif kind == "correct":
            # A 更正 voiding one of the petition's steps the station sees (not a 登记,
            # 更正 or voided one), perhaps while another station adds a later step.
            _, name, i, k = op
            pid = self.pick(name, i, "petitions")
            if pid:
                store = net.stations[name]
                _, events, _ = records.petition_detail(store, pid)
                voidable = [n for n, e in enumerate(events, start=1)
                            if e["kind"] not in ("register", "correct") and not e["voided_by"]]
                if voidable:
                    held = {e["id"] for e in events}
                    with self.observed(name):
                        done = corrections.correct_event(store, pid, str(voidable[k % len(voidable)]), note="录入有误")
                    self.events[done.event["id"]] = (name, held)
                    event("a step voided")
        elif kind == "resolve":
            _, who, i, choice = op
            self.resolve(who, i, choice)
        elif kind == "sync_all":
            self.settle()
        elif kind == "sync":
            _, name, fault, k = op
            faults = {
                "ok": {}, "duplicate": {"duplicate": True}, "lose_ack": {"lose_ack_at": k},
                "cut_pull": {"cut_pull_after": k},
                "write_during": {"between": lambda: self.run(("edit", name, k, "note", "中途"))},
            }[fault]
            net.sync(name, pull_rows=PULL_ROWS, **faults)

    def resolve(self, who: str, i: int, choice: int):
        net = self.net
        store = net.hub if who == "hub" else net.stations[who]
        scope = COUNTY if who == "hub" else STATIONS[who]
        candidates = sorted(R.list_conflicts(store), key=lambda c: (c["kind"], c["table"], c["row_id"], c["field"] or "",
                                                                     str(c["winner_value"]), str(c["loser_value"])))
        if not ALLOW_CONCURRENT_RESOLUTIONS:
            stores = [net.hub, *net.stations.values()]
            candidates = [c for c in candidates
                          if all((s.load("conflicts", c["id"]) or (RowState("", "", {}, {}),))[0].values.get("status")
                                 != "resolved" for s in stores)]
        if not candidates:
            return
        c = candidates[i % len(candidates)]
        how = {"merge_into": (c["row_id"], c["winner_value"])[choice]} if c["kind"] == "duplicate_identity" \
            else {"keep": ("winner", "loser")[choice]}
        try:
            if who == "hub":
                R.resolve(store, c["id"], by="county", scope=scope, **how)
            else:
                with self.observed(who):
                    R.resolve(store, c["id"], by=scope, scope=scope, **how)
        except VetsyncError:  # a choice that does not fit (a deleted survivor, a row out of scope): nothing written
            return
        self.resolved.append((who, c["id"]))
        event(f"resolved {c['kind']} at {'hub' if who == 'hub' else 'station'}")

    def settle(self):
        for _ in range(2):
            for name in sorted(STATIONS):
                self.net.sync(name, pull_rows=PULL_ROWS)

    # -- the invariants -----------------------------------------------------

    def check(self):
        self.check_converged()
        self.check_no_lost_write()
        self.check_no_lost_event()
        self.check_duplicate_identity()
        self.check_transitions()
        self.check_visibility()
        self.check_confidential()
        self.check_resolutions()
        self.check_folds()
        for (kind,) in self.net.hub.conn.execute("SELECT kind FROM conflicts"):
            event(f"conflict {kind}")

    def check_converged(self):
        hub = self.net.hub
        for name, scope in STATIONS.items():
            mine, hubs = snapshot(self.net.stations[name], scope), snapshot(hub, scope, station=scope)
            if not STRICT_REFUSALS:  # the station keeps the values the hub refused (see the xfail test)
                for r in self.net.stations[name].rejected():
                    for snap in (mine, hubs):
                        row = snap.get((r["table"], r["row_id"]))
                        for f in r["fields"] if row else ():
                            row[0].pop(f, None)
                            row[1].pop(f, None)
            assert mine == hubs, f"{name} diverged from the hub"
            assert self.net.stations[name].pending_count() == 0

    def rejected(self) -> set:
        out = set()
        for store in self.net.stations.values():
            for r in store.rejected():
                for f, v in r["fields"].items():
                    out.add((r["table"], r["row_id"], f, v))
        return out

    def check_no_lost_write(self):
        hub = self.net.hub
        losers = {r[0] for r in hub.conn.execute("SELECT loser_version FROM conflicts")}
        rejected = self.rejected()
        # The hub's own writes (dependents re-stamped by a move, resolutions) saw what the hub had.
        last: dict[tuple, str] = {}
        for table, row_id, station, fields, clock in hub.conn.execute(
            'SELECT "table", row_id, station, fields, clock FROM _history ORDER BY id'
        ):
            for f, version in history_versions(table, fields, clock).items():
                if station == hub.station_of(hub.replica_id):
                    self.parent.setdefault((table, row_id, f, version), last.get((table, row_id, f), ""))
                last[(table, row_id, f)] = version
        seen_by_later = set()  # (table, id, field, version) a later writer of the field had seen
        for (table, row_id, f, _v), p in self.parent.items():
            while p and (table, row_id, f, p) not in seen_by_later:
                seen_by_later.add((table, row_id, f, p))
                p = self.parent.get((table, row_id, f, p), "")
        for table, row_id, f, winner, loser in hub.conn.execute(
            'SELECT "table", row_id, field, winner_version, loser_version FROM conflicts '
            "WHERE kind = 'concurrent_edit' AND deleted IS NOT 1"
        ):
            p = self.parent.get((table, row_id, f, winner), "")
            while p:
                assert p != loser, f"false conflict: the writer of {winner} had seen {loser}"
                p = self.parent.get((table, row_id, f, p), "")
        def kept(table, row_id, field, version, value, current) -> bool:
            return ((current and current[0].clock.get(field) == version)
                    or (table, row_id, field, version) in seen_by_later or version in losers
                    or (table, row_id, field, value) in rejected)

        # Concurrent writes of one value lose nothing to each other and file no conflict:
        # such a write is kept when any write of that value to that field is.
        same_value: dict[tuple, list[str]] = {}
        for table, row_id, field, version, value in self.writes:
            same_value.setdefault((table, row_id, field, repr(value)), []).append(version)
        for row_id in {w[1] for w in self.writes}:  # and the hub's own writes (a merge's tombstone)
            for entry in history_of(hub, row_id):
                for field, (value, version) in entry.fields.items():
                    group = same_value.get((entry.table, row_id, field, repr(value)))
                    if group is not None and version not in group:
                        group.append(version)
        for table, row_id, field, version, value in self.writes:
            current = hub.load(table, row_id)
            if current and current[0].values.get(field) == value:
                continue  # a concurrent write of the same value: nothing to lose, no conflict
            assert any(kept(table, row_id, field, v, value, current)
                       for v in same_value[(table, row_id, field, repr(value))]), (
                f"lost write {table}/{row_id}.{field}={value!r} @ {version}")

    def transition_conflicts(self) -> list[dict]:
        return self.net.hub.select("conflicts", "kind = 'petition_transition'", order="id")

    def sides(self, c: dict) -> tuple[str, str | None]:
        """(losing event, winning event) of a petition_transition conflict."""
        hub = self.net.hub
        loser = hub.load("petition_events", c["row_id"])[0]
        for s, _ in hub.read_states("petition_events", "petition_id = ?", (loser.values["petition_id"],)):
            if s.id != loser.id and s.version("kind") == c["winner_version"]:
                return loser.id, s.id
        return loser.id, None

    def check_no_lost_event(self):
        hub = self.net.hub
        rejected = {(r["table"], r["row_id"]) for s in self.net.stations.values() for r in s.rejected()}
        settled = set()  # events a resolved transition conflict tombstoned
        for c in self.transition_conflicts():
            if c["status"] == "resolved":
                settled.update(self.sides(c))
        for eid, (name, _) in self.events.items():
            at_hub = hub.load("petition_events", eid)
            if at_hub is None:
                assert ("petition_events", eid) in rejected, f"event {eid} of {name} lost"
            elif at_hub[0].deleted:
                assert eid in settled, f"event {eid} of {name} deleted without a resolution"

    def check_duplicate_identity(self):
        hub = self.net.hub
        vets = {s.id: s for s, _ in hub.read_states("veterans")}
        filed: dict[tuple[str, str], list[dict]] = {}
        for c in hub.select("conflicts", "kind = 'duplicate_identity'"):
            filed.setdefault((c["row_id"], c["winner_value"]), []).append(c)
        for pair, cs in filed.items():
            assert len(cs) == 1, f"{len(cs)} duplicate_identity conflicts for the pair {pair}"
            a, b = (vets[x] for x in pair)
            assert a.values["id_number"] == b.values["id_number"]
            assert cs[0]["area"] == common_area(a.area, b.area), f"duplicate {pair} filed at {cs[0]['area']}"
            for name, scope in STATIONS.items():
                held = self.net.stations[name].load("conflicts", cs[0]["id"]) is not None
                assert held == (in_scope(a.area, scope) and in_scope(b.area, scope)), \
                    f"{name} {'holds' if held else 'misses'} the duplicate identity of {pair}"
        live = [s for s in vets.values() if not s.deleted and not s.values.get("merged_into")]
        for i, a in enumerate(live):
            for b in live[i + 1:]:
                if a.values["id_number"] == b.values["id_number"]:
                    assert tuple(sorted((a.id, b.id))) in filed, f"no duplicate_identity for {a.id}, {b.id}"

    def check_transitions(self):
        hub = self.net.hub
        pairs = set()
        for c in self.transition_conflicts():
            loser, winner = self.sides(c)
            assert winner is not None, f"transition conflict {c['id']} names no winning event"
            pairs.add(frozenset((loser, winner)))
            for x, y in ((loser, winner), (winner, loser)):
                if x in self.events:
                    assert y not in self.events[x][1], f"false transition conflict: {x} was recorded after seeing {y}"
        # A step voided by a 更正 is out of the course of handling: it races with nothing.
        voided = {s.values.get("voids") for s, _ in hub.read_states("petition_events")
                  if not s.deleted and s.values.get("kind") == "correct"}
        events = [s for s, _ in hub.read_states("petition_events")
                  if not s.deleted and s.id in self.events and s.id not in voided]
        for i, e in enumerate(events):
            for f in events[i + 1:]:
                if e.values["petition_id"] != f.values["petition_id"] or e.values.get("from_status") != f.values.get("from_status"):
                    continue
                if e.id in self.events[f.id][1] or f.id in self.events[e.id][1]:
                    continue  # one writer had seen the other: a sequence, not a race
                base = e.values.get("from_status")
                mine, theirs = (petition_rules.next_status(base, x.values["kind"]) for x in (e, f))
                if mine != theirs and base not in (mine, theirs):
                    assert frozenset((e.id, f.id)) in pairs, f"no petition_transition for {e.id} / {f.id}"

    def may_hold(self, name: str, c: dict) -> bool:
        scope = STATIONS[name]
        owner = confidential_owner(self.net.hub, "conflicts", c)
        return in_scope(c["area"], scope) and owner in (None, scope)

    def check_visibility(self):
        for c in self.net.hub.select("conflicts"):
            for name in STATIONS:
                held = self.net.stations[name].load("conflicts", c["id"]) is not None
                assert held == self.may_hold(name, c), f"{name} {'holds' if held else 'misses'} conflict {c['kind']} {c['id']}"

    def check_confidential(self):
        hub = self.net.hub
        secret: dict[tuple[str, str], str] = {}  # (table, id) -> registering station
        for pid, owner in self.confidential.items():
            secret[("petitions", pid)] = owner
            for s, _ in hub.read_states("petition_events", "petition_id = ?", (pid,)):
                secret[("petition_events", s.id)] = owner
        for c in hub.select("conflicts"):
            if (c["table"], c["row_id"]) in secret:
                assert c["confidential"] == 1 and c["station"] == secret[(c["table"], c["row_id"])]
                secret[("conflicts", c["id"])] = c["station"]
        refused = {(r["table"], r["row_id"]) for s in self.net.stations.values() for r in s.rejected()}
        for (table, row_id), owner in secret.items():
            assert hub.load(table, row_id) is not None or (table, row_id) in refused, \
                f"confidential {table}/{row_id} neither at the hub nor refused"
        for name, scope in STATIONS.items():
            for what, table, row_id in self.net.received[name]:
                owner = secret.get((table, row_id))
                assert owner in (None, scope), f"{name} received {what} of {owner}'s confidential {table}/{row_id}"
            for (table, row_id), owner in secret.items():
                if owner != scope:
                    assert self.net.stations[name].load(table, row_id) is None, f"{name} holds {owner}'s {table}/{row_id}"
        if secret:
            event("confidential petitions")

    def check_resolutions(self):
        hub = self.net.hub
        rejected = {(r["table"], r["row_id"]) for s in self.net.stations.values() for r in s.rejected()}
        for who, cid in self.resolved:
            at_hub = hub.get("conflicts", cid, include_deleted=True)
            if at_hub["status"] != "resolved":
                assert who != "hub" and ("conflicts", cid) in rejected, f"resolution of {cid} at {who} lost"
                continue
            for name in STATIONS:
                here = self.net.stations[name].load("conflicts", cid)
                if here is not None:
                    v = here[0].values
                    assert (v["status"], v["resolution"], v["resolved_by"]) == (
                        "resolved", at_hub["resolution"], at_hub["resolved_by"]), f"{name} shows {cid} otherwise"


    def check_folds(self):
        hub = self.net.hub
        for name in STATIONS:
            store = self.net.stations[name]
            for pet in store.select("petitions"):
                _, events, state = records.petition_detail(store, pet["id"])
                at_hub = petition_rules.fold_events(
                    hub.get("petitions", pet["id"]), [s for s, _ in hub.read_states(
                        "petition_events", "petition_id = ?", (pet["id"],))], today=state.today)
                assert ([(e["id"], e["voided_by"]) for e in events], state) == (
                    [(e["id"], e["voided_by"]) for e in at_hub[0]], at_hub[1]), f"{name} folds {pet['id']} otherwise"
                if any(e["voided_by"] for e in events):
                    event("a petition with a voided step, folded alike everywhere")


def run_script(script) -> None:
    with tempfile.TemporaryDirectory() as tmp, sequential_ids():
        net = Network(Path(tmp), STATIONS)
        try:
            model = Model(net)
            for op in script:
                model.run(op)
            model.settle()
            model.check()
        finally:
            net.close()


# Scripts that must always run, whatever hypothesis draws: each kind of conflict
# made, seen where it may be and resolved.
RACE = [("create", "va", False, 5), ("petition", "va", 0, "appeal"), ("sync", "va", "ok", 0),
        ("sync", "town", "ok", 0), ("race", "va", 0, 0, 0), ("sync", "town", "ok", 0), ("sync", "va", "lose_ack", 0),
        ("sync", "va", "ok", 0), ("sync", "town", "ok", 0)]
TWO_VILLAGES = [("create", "va", False, 0), ("create", "vb", False, 0), ("sync", "va", "ok", 0),
                ("sync", "vb", "duplicate", 0), ("sync", "town", "ok", 0)]
VILLAGE_AND_TOWN = [("create", "va", False, 1), ("create", "town", False, 1), ("sync", "town", "ok", 0),
                    ("sync", "va", "ok", 0)]
# A village records a step; the town voids it while the village, not having seen that,
# records the next one (skipped by the fold once the void arrives); then both void one more.
VOID_RACE = [("create", "va", False, 5), ("petition", "va", 0, "appeal"), ("event", "va", 0, 1),
             ("sync", "va", "ok", 0), ("sync", "town", "ok", 0), ("correct", "town", 0, 0), ("event", "va", 0, 0),
             ("sync", "town", "ok", 0), ("sync", "va", "ok", 0), ("sync", "town", "ok", 0)]
TWO_VOIDS = [("create", "va", False, 5), ("petition", "va", 0, "appeal"), ("event", "va", 0, 0),
             ("event", "va", 0, 0), ("sync", "va", "ok", 0), ("sync", "town", "ok", 0), ("correct", "town", 0, 0),
             ("correct", "va", 0, 1), ("sync", "va", "lose_ack", 0), ("sync", "town", "ok", 0)]
SECRET = [("create", "town", False, 5), ("sync", "town", "ok", 0), ("sync", "va", "ok", 0),
          ("petition", "va", 0, "accusation"), ("petition", "town", 0, "accusation"), ("event", "va", 0, 1),
          ("sync", "va", "ok", 0), ("sync", "town", "ok", 0), ("move", 0), ("sync", "town", "ok", 0),
          ("sync", "va", "ok", 0), ("sync", "vb", "ok", 0)]


@settings(max_examples=SOAK or 100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(steps, min_size=20, max_size=60))
@example(RACE + [("resolve", "town", 0, 1)])
@example(RACE + [("resolve", "hub", 0, 0), ("sync", "va", "ok", 0), ("race", "va", 0, 1, 1)])
@example(TWO_VILLAGES + [("resolve", "town", 0, 1), ("sync", "town", "ok", 0)])
@example(VOID_RACE)
@example(TWO_VOIDS)
@example(TWO_VILLAGES + [("move", 0), ("sync", "town", "ok", 0)])
@example(VILLAGE_AND_TOWN + [("resolve", "va", 0, 0), ("sync", "va", "cut_pull", 0)])
@example(SECRET + [("edit", "va", 0, "name", "乙"), ("edit", "town", 0, "name", "丙"), ("sync", "va", "ok", 0),
                   ("sync", "town", "ok", 0), ("resolve", "hub", 0, 0)])
def test_replicas_converge_and_lose_nothing(script):
    run_script(script)


# -- engine bugs the scripts found (kept out of them by the ALLOW_* switches) -----


@pytest.mark.xfail(strict=True, reason="engine bug: Store.reject keeps the refused values of a row the hub holds in "
                   "the replicated table at newer versions, so the station never takes the hub's state of it "
                   "(here: a resolution refused because another station resolved the conflict first)")
def test_two_stations_resolving_one_conflict_converge(tmp_path):
    net = Network(tmp_path, {"town": TOWN, "va": VILLAGE_A})
    try:
        with sequential_ids():
            vid = records.add_veteran(net.stations["town"], {"id_number": id_number(1), "name": "张三", "area": VILLAGE_A})["id"]
        for name in ("town", "va"):
            net.sync(name)
        records.edit_veteran(net.stations["va"], vid, {"name": "甲"})
        records.edit_veteran(net.stations["town"], vid, {"name": "乙"})
        for name in ("va", "town", "va"):
            net.sync(name)
        (c,) = R.list_conflicts(net.stations["va"])
        R.resolve(net.stations["town"], c["id"], keep="winner", by=TOWN, scope=TOWN)  # neither has seen the other's
        R.resolve(net.stations["va"], c["id"], keep="loser", by=VILLAGE_A, scope=VILLAGE_A)
        net.sync("town")
        assert [r["reason"] for r in net.sync("va").rejections] == ["该冲突已处理，不能再次处理"]
        for _ in range(2):
            for name in ("town", "va"):
                net.sync(name)
        assert snapshot(net.stations["va"], VILLAGE_A) == snapshot(net.hub, VILLAGE_A, station=VILLAGE_A)
    finally:
        net.close()


@pytest.mark.xfail(strict=True, reason="engine bug: the hub's transition check pairs a new event with every older "
                   "event from the same status, also one its writer had seen (a petition back at a status)")
def test_a_petition_back_at_a_status_is_no_transition_conflict(tmp_path):
    net = Network(tmp_path, {"va": VILLAGE_A})
    try:
        va = net.stations["va"]
        vid = records.add_veteran(va, {"id_number": id_number(1), "name": "张三", "area": VILLAGE_A})["id"]
        pid = records.open_petition(va, channel="visit", summary="反映事项", veteran_id=vid)["id"]
        for kind in ("escalate", "forward", "escalate", "reply"):  # 上报, 转送, 上报 again, 答复: one clerk, in turn
            # a 答复 states its outcome (信访工作条例 Art. 32, issue 14)
            records.add_petition_event(va, pid, kind, outcome="support" if kind == "reply" else None)
            net.sync("va")
        assert net.hub.select("conflicts") == []
    finally:
        net.close()


def test_a_pusher_pulling_in_batches_gets_the_change_it_built_over(tmp_path):
    net = Network(tmp_path, {"town": TOWN, "va": VILLAGE_A})
    try:
        town, va = net.stations["town"], net.stations["va"]
        town.write("veterans", "x", {"id_number": id_number(1), "name": "甲", "area": VILLAGE_A}, create=True)
        net.sync("town")
        net.sync("va")
        town.write("veterans", "x", {"note": "镇里补记"})
        for n in (2, 3, 4):  # rows the town changes after the note: they fill va's first pull batch
            town.write("veterans", f"y{n}", {"id_number": id_number(n), "name": "乙", "area": VILLAGE_A}, create=True)
        net.sync("town")
        va.write("veterans", "x", {"name": "丙"})  # va has not seen the note
        net.sync("va", batch_rows=3)  # push x (over a state va had not pulled), then pull: y2 y3 y4 | x
        assert va.get("veterans", "x")["note"] == "镇里补记"
    finally:
        net.close()


# -- the merge rules, table-tested in both argument orders ---------------------

A, B = "a" * 16, "b" * 16


def v(ms: int, replica: str, counter: int = 0) -> str:
    return f"{ms:016d}-{counter:04d}-{replica}"


def row(values, clock, base=None):
    return RowState("veterans", "r1", values, clock, base or {})


def test_fast_forward_is_not_a_conflict():
    hub = row({"name": "甲"}, {"name": v(1, A)})
    r = merge_row(hub, row({"name": "乙"}, {"name": v(2, B)}, {"name": v(1, A)}))
    assert r.changed == {"name": ("乙", v(2, B))} and not r.conflicts and not r.resend


def test_concurrent_edit_keeps_the_loser_whichever_order():
    base = v(1, A)
    x = row({"name": "甲"}, {"name": v(5, A)}, {"name": base})
    y = row({"name": "乙"}, {"name": v(6, B)}, {"name": base})
    for first, second in ((x, y), (y, x)):
        r = merge_row(RowState("veterans", "r1", dict(first.values), dict(first.clock)), second)
        (c,) = r.conflicts
        assert (c.winner_value, c.loser_value) == ("乙", "甲")
        assert c.winner_version == v(6, B) and c.loser_version == v(5, A)
        assert r.resend == (second is x)  # the incoming side lost: resend the winner


def test_retry_found_in_history_is_silent_and_resends():
    hub = row({"name": "乙"}, {"name": v(6, B)})
    retry = row({"name": "甲"}, {"name": v(5, A)}, {"name": v(1, A)})
    r = merge_row(hub, retry, in_history=lambda f, ver: ver == v(5, A))
    assert not r.conflicts and not r.changed and r.resend


def test_own_newer_write_after_a_lost_ack_is_a_fast_forward():
    hub = row({"name": "甲"}, {"name": v(5, A)})
    again = row({"name": "丙"}, {"name": v(7, A)}, {"name": v(1, B)})  # base still the original
    r = merge_row(hub, again)
    assert r.changed == {"name": ("丙", v(7, A))} and not r.conflicts


def test_stale_retry_from_the_same_replica_is_a_no_op():
    hub = row({"name": "丙"}, {"name": v(7, A)})
    r = merge_row(hub, row({"name": "甲"}, {"name": v(5, A)}, {"name": v(1, B)}))
    assert not r.changed and not r.conflicts


def test_edit_of_a_row_deleted_unseen_is_a_delete_edit_conflict():
    hub = row({"name": "甲", "deleted": 1}, {"name": v(1, A), "deleted": v(9, B)})
    edit = row({"name": "乙", "deleted": 0}, {"name": v(5, A), "deleted": v(1, A)}, {"name": v(1, A)})
    r = merge_row(hub, edit)
    assert [c.kind for c in r.conflicts] == ["delete_edit"]
    assert r.changed == {"name": ("乙", v(5, A))}


def test_a_push_built_on_an_unseen_change_comes_back_with_that_change(tmp_path):
    """The hub does not send a pusher back its own rows — unless the row also holds
    a change the pusher had not pulled yet (its last state was built on it)."""
    net = Network(tmp_path, {"town": TOWN, "va": VILLAGE_A})
    try:
        net.stations["va"].write("veterans", "v1", {"id_number": id_number(1), "name": "甲", "area": VILLAGE_A},
                                 create=True)
        net.sync("va")
        net.sync("town")
        net.stations["town"].write("veterans", "v1", {"phone": "13800000000"})
        net.sync("town")
        net.stations["va"].write("veterans", "v1", {"name": "乙"})  # va has not seen the phone
        report = net.sync("va")
        assert report.pulled == 1
        assert net.stations["va"].get("veterans", "v1")["phone"] == "13800000000"
        assert snapshot(net.stations["va"], VILLAGE_A) == snapshot(net.hub, VILLAGE_A)
        again = net.sync("va")  # a row the pusher already holds is not sent back
        net.stations["va"].write("veterans", "v1", {"note": "丙"})
        assert again.pulled == 0 and net.sync("va").pulled == 0
    finally:
        net.close()


# -- a hub restored to an earlier snapshot heals from its stations ------------------


def found_again(net: Network, conflict_id: str, held: dict) -> bool:
    """Does the hub hold the same conflict (kind, row, field, losing version) under another id?"""
    c = held.get(conflict_id)
    return c is not None and any(
        (o["kind"], o["table"], o["row_id"], o["field"], o["loser_version"])
        == (c["kind"], c["table"], c["row_id"], c["field"], c["loser_version"]) for o in net.hub.select("conflicts"))


def run_restore_script(before, after) -> None:
    """``before``; a snapshot of the hub; ``after``; the snapshot put back; every station
    syncs. Then every station equals the hub within its scope, no version any station held
    at the restore is lost or went back (field by field, the hub holds it or a newer one),
    and confidential petitions reached no one else. (The write-by-write accounting of the
    main test does not hold across a restore: a conflict filed after the snapshot that no
    station had received is not filed again, PROTOCOL.md "Recovery".)"""
    with tempfile.TemporaryDirectory() as tmp, sequential_ids():
        net = Network(Path(tmp), STATIONS)
        try:
            model = Model(net)
            for op in before:
                model.run(op)
            net.backup_hub(Path(tmp) / "snapshot.db")
            snapshot_rows = {(t, s.id) for t in TABLES for s, _ in net.hub.read_states(t)}
            for op in after:
                model.run(op)
            held = {name: {(t, s.id): dict(s.clock) for t in TABLES for s, _ in store.read_states(t)}
                    for name, store in net.stations.items()}
            held_conflicts = {name: {c["id"]: c for c in store.select("conflicts")}
                              for name, store in net.stations.items()}
            # Rows some station was moving (its area pending) at the restore, that the hub had from
            # after the snapshot: the restored hub learns the row from that station at its new area,
            # and another station's edits from the old one are then out of its scope with no record
            # of it ever having been there (PROTOCOL.md "What a recovery cannot bring back").
            moving = {s.id for store in net.stations.values() for t in TABLES
                      for s, pending in store.read_states(t) if "area" in pending and (t, s.id) not in snapshot_rows}
            for _ in range(3):  # and their dependents, which live where they do
                moving |= {s.id for store in net.stations.values() for t in TABLES for s, _ in store.read_states(t)
                           if {s.values.get(k) for k in ("veteran_id", "petition_id", "row_id")} & moving}
            net.put_back_hub(Path(tmp) / "snapshot.db")
            model.settle()
            model.check_converged()
            for name, rows in held.items():
                # What the hub refused a station is kept in its rejected list, as without a restore
                # (an edit of a row that has left its scope meanwhile, for instance).
                refused = {(r["table"], r["row_id"], f) for r in net.stations[name].rejected() for f in r["fields"]}
                for (table, row_id), clock in rows.items():
                    if row_id in moving:
                        event("a row moving at the restore")
                        continue
                    at_hub = net.hub.load(table, row_id)
                    if at_hub is None and table == "conflicts" and found_again(net, row_id, held_conflicts[name]):
                        continue  # the hub's checks filed the same conflict again, under another id
                    for field, version in clock.items():
                        if (table, row_id, field) in refused:
                            continue
                        assert at_hub is not None, f"{name}'s {table}/{row_id} lost in the restore"
                        assert at_hub[0].clock.get(field, "") >= version, (
                            f"{name}'s {table}/{row_id}.{field} @ {version} went back in the restore")
            model.check_confidential()
            event("restored")
        finally:
            net.close()


@settings(max_examples=SOAK or 30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(steps, min_size=5, max_size=25), st.lists(steps, min_size=5, max_size=30))
@example(SECRET, RACE + [("resolve", "town", 0, 1), ("sync_all",)])
@example(TWO_VILLAGES, [("move", 0), ("sync", "town", "ok", 0), ("delete", "va", 0), ("sync_all",)])
# found by these scripts: a refused-edit conflict the hub filed was refused on its re-offer (its
# empty winner was not canonical); a petition and its event made in a village before their veteran
# moved out, new to the restored hub, were refused instead of following it
@example([("sync_all",), ("create", "town", True, 0)],
         [("sync_all",), ("sync", "vb", "write_during", 0), ("move", 0), ("sync_all",)])
@example([("sync_all",), ("create", "town", False, 0), ("sync_all",), ("petition", "va", 0, "suggestion")],
         [("sync", "town", "ok", 0), ("move", 0), ("sync", "va", "ok", 0)])
def test_a_hub_restored_to_an_earlier_snapshot_heals(before, after):
    run_restore_script(before, after)
