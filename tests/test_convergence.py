"""Property test of the engine: random offline writes on several replicas, random
sync orders with lost acknowledgements, duplicated batches, cut pulls and writes
made during a sync. Afterwards every replica holds exactly the hub's state within
its scope, and no write is lost: each is the current value, was overwritten by a
writer who had seen it, or is the losing side of a recorded conflict (or a refused
edit kept in the station's rejected list)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from enginekit import TOWN, VILLAGE_A, VILLAGE_B, Network, snapshot
from sync.hub_store import history_versions
from sync.merge import merge_row
from sync.domain import id_number_check_digit
from sync.rowstate import RowState


def id_number(n: int) -> str:
    first17 = f"44090219700101{n % 1000:03d}"
    return first17 + id_number_check_digit(first17)

STATIONS = {"town": TOWN, "va": VILLAGE_A, "vb": VILLAGE_B}
EDIT_FIELDS = ("name", "phone", "note")

# The hub runs the domain checks (enginekit.Network): rows are built as a
# station's records would build them, with values its validators accept.
station_names = st.sampled_from(sorted(STATIONS))
edits = st.one_of(
    st.tuples(st.sampled_from(("name", "note")), st.text("甲乙丙丁", min_size=1, max_size=3)),
    st.tuples(st.just("phone"), st.sampled_from(("13800000000", "13900000001", "0759-1234567"))),
)
ops = st.one_of(
    st.tuples(st.just("create"), station_names, st.booleans()),
    st.builds(lambda name, i, edit: ("edit", name, i, *edit), station_names, st.integers(0, 50), edits),
    st.tuples(st.just("delete"), station_names, st.integers(0, 50)),
    st.tuples(st.just("visit"), station_names, st.integers(0, 50)),
    st.tuples(st.just("move"), st.integers(0, 50)),
    st.tuples(st.just("sync"), station_names, st.sampled_from(["ok", "lose_ack", "duplicate", "cut_pull", "write_during"]), st.integers(0, 2)),
)


class Model:
    def __init__(self, net: Network):
        self.net = net
        self.writes: list[tuple[str, str, str, str, object]] = []  # (table, id, field, version, value)
        self.parent: dict[str, str] = {}  # version -> the version the writer had seen
        self.counter = 0

    def live(self, name: str, table: str = "veterans") -> list[str]:
        return [r["id"] for r in self.net.stations[name].select(table, order="id")]

    def write(self, name: str, table: str, row_id: str, changes: dict, create: bool = False):
        store = self.net.stations[name]
        before = store.load(table, row_id)
        state = store.write(table, row_id, changes, create=create)
        for f in changes:
            v = state.clock[f]
            old = before[0].clock.get(f, "") if before else ""
            if v != old:  # an unchanged value is no write
                self.parent[v] = old
                self.writes.append((table, row_id, f, v, changes[f]))

    def run(self, op):
        kind = op[0]
        if kind == "create":
            _, name, second = op
            scope = self.net.scope(name)
            area = scope if len(scope) == 12 else scope + ("002" if second else "001")
            self.counter += 1
            self.write(name, "veterans", f"v{self.counter}",
                       {"id_number": id_number(self.counter), "name": "新", "area": area}, create=True)
        elif kind == "edit":
            _, name, i, field, value = op
            ids = self.live(name)
            if ids:
                self.write(name, "veterans", ids[i % len(ids)], {field: value})
        elif kind == "delete":
            _, name, i = op
            ids = self.live(name)
            if ids:
                self.write(name, "veterans", ids[i % len(ids)], {"deleted": 1})
        elif kind == "visit":
            _, name, i = op
            ids = self.live(name)
            if ids:
                vet = self.net.stations[name].get("veterans", ids[i % len(ids)])
                self.counter += 1
                self.write(name, "visits", f"w{self.counter}",
                           {"veteran_id": vet["id"], "area": vet["area"], "kind": "home", "visited_on": "2024-05-01",
                            "station": self.net.stations[name].meta("station")}, create=True)
        elif kind == "move":
            _, i = op
            ids = self.live("town")
            if ids:
                vet = self.net.stations["town"].get("veterans", ids[i % len(ids)])
                self.write("town", "veterans", vet["id"], {"area": VILLAGE_B if vet["area"] == VILLAGE_A else VILLAGE_A})
        elif kind == "sync":
            _, name, fault, k = op
            faults = {
                "ok": {}, "duplicate": {"duplicate": True}, "lose_ack": {"lose_ack_at": k},
                "cut_pull": {"cut_pull_after": k},
                "write_during": {"between": lambda: self.run(("edit", name, k, "note", "中途"))},
            }[fault]
            self.net.sync(name, **faults)

    def settle(self):
        for _ in range(2):
            for name in sorted(STATIONS):
                self.net.sync(name)

    def check(self):
        hub = self.net.hub
        for name, scope in STATIONS.items():
            assert snapshot(self.net.stations[name], scope) == snapshot(hub, scope), f"{name} diverged from the hub"
            assert self.net.stations[name].pending_count() == 0
        losers = {r[0] for r in hub.conn.execute("SELECT loser_version FROM conflicts")}
        rejected = set()
        for store in self.net.stations.values():
            for r in store.rejected():
                for f, v in r["fields"].items():
                    rejected.add((r["table"], r["row_id"], f, v))
        # The hub's own writes (dependents re-stamped by a move) saw what the hub had.
        last: dict[tuple, str] = {}
        for table, row_id, station, fields, clock in hub.conn.execute(
            'SELECT "table", row_id, station, fields, clock FROM _history ORDER BY id'
        ):
            for f, version in history_versions(table, fields, clock).items():
                if station == hub.station_of(hub.replica_id):
                    self.parent.setdefault(version, last.get((table, row_id, f), ""))
                last[(table, row_id, f)] = version
        seen_by_later = set()
        for v in self.parent:
            p = self.parent[v]
            while p and p not in seen_by_later:
                seen_by_later.add(p)
                p = self.parent.get(p, "")
        for winner, loser in hub.conn.execute(
            "SELECT winner_version, loser_version FROM conflicts WHERE kind = 'concurrent_edit' AND deleted IS NOT 1"
        ):
            p = self.parent.get(winner, "")
            while p:
                assert p != loser, f"false conflict: the writer of {winner} had seen {loser}"
                p = self.parent.get(p, "")
        for table, row_id, field, version, value in self.writes:
            current = hub.load(table, row_id)
            if current and current[0].clock.get(field) == version:
                continue
            if current and current[0].values.get(field) == value:
                continue  # a concurrent write of the same value: nothing to lose, no conflict
            assert (
                version in seen_by_later or version in losers or (table, row_id, field, value) in rejected
            ), f"lost write {table}/{row_id}.{field}={value!r} @ {version}"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ops, min_size=5, max_size=40))
def test_replicas_converge_and_lose_nothing(script):
    with tempfile.TemporaryDirectory() as tmp:
        net = Network(Path(tmp), STATIONS)
        try:
            model = Model(net)
            for op in script:
                model.run(op)
            model.settle()
            model.check()
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
