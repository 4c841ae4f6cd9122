"""Scope checksums (PROTOCOL.md "Verify", issue 11 part 3).

Three tiers: the digest on plain stores (order independence; a changed version,
value or id changes it; a row state hashes like the stored row it came from,
through the wire too; the hub's buckets are exactly what the station may
receive); ``verify_once`` in process (pending fields left alone, the station's
own versions the hub lacks pushed again, others' reported, a station behind the
hub catching up first); and real processes: a station's rows corrupted behind
the engine's back, found bucket by bucket and repaired with ``--repair``.
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid

import pytest

from procs import TOWN, VILLAGE_A, VILLAGE_B, Hub, Station, id_number, one_line_error
from station_node import verify as verify_mod
from sync.engine.hlc import make_version
from sync.engine.replicate import sync_once
from sync.engine.rowstate import RowState
from sync.store import digest
from sync.store.hub import HubStore
from sync.store.local_hub import LocalHub
from sync.store.station import Store
from sync.wire import codec

# --------------------------------------------------------------------------- the digest


def _v(n: int, replica: str = "a" * 16) -> str:
    return make_version(1_700_000_000_000 + n, 0, replica)


def _rows(n: int = 40) -> list[RowState]:
    out = []
    for i in range(n):
        area = VILLAGE_A if i % 2 else VILLAGE_B
        values = {"name": f"人{i}", "area": area, "deleted": 0, "phone": None if i % 3 else f"1380000{i:04d}"}
        clock = dict.fromkeys(values, _v(i))
        if i % 5 == 0:  # a second write: a clock of two versions
            clock["name"] = _v(1000 + i)
        out.append(RowState("veterans", f"v{i:03d}", values, clock))
    return out


def _store(path, rows: list[RowState]) -> Store:
    store = Store(path, create=True)
    with store.transaction():
        store.save_rows([(RowState(r.table, r.id, dict(r.values), dict(r.clock)), None) for r in rows])
    return store


def test_the_digest_does_not_depend_on_the_order_rows_are_stored_or_read(tmp_path):
    rows = _rows()
    forward = digest.station_digests(_store(tmp_path / "f.db", rows))
    backward = digest.station_digests(_store(tmp_path / "b.db", rows[::-1]))
    shuffled = digest.station_digests(_store(tmp_path / "s.db", rows[1::2] + rows[0::2]))
    assert forward == backward == shuffled
    assert set(forward) == {("veterans", VILLAGE_A), ("veterans", VILLAGE_B)}
    assert forward[("veterans", VILLAGE_A)][0] == 20
    hashes = [digest.state_hash(r) for r in rows]
    assert digest.combine(hashes) == digest.combine(reversed(hashes))
    # and it is not a constant: one row fewer is another digest
    fewer = digest.station_digests(_store(tmp_path / "l.db", rows[:1] + rows[2:]))  # v001, village A
    assert fewer[("veterans", VILLAGE_A)] != forward[("veterans", VILLAGE_A)]


@pytest.mark.parametrize("change", ["version", "value", "id", "tombstone", "new_field"])
def test_a_changed_version_value_or_id_changes_only_its_bucket(tmp_path, change):
    rows = _rows()
    base = digest.station_digests(_store(tmp_path / "base.db", rows))
    other = [RowState(r.table, r.id, dict(r.values), dict(r.clock)) for r in rows]
    row = other[7]  # village A
    if change == "version":  # the same value, another version
        row.clock["name"] = _v(5000)
    elif change == "value":  # the same version, another value
        row.values["name"] = "篡改"
    elif change == "id":
        row.id = "v999"
    elif change == "tombstone":
        row.values["deleted"] = 1
    else:  # a field written that was never written
        row.values["address"], row.clock["address"] = "某街1号", _v(5001)
    changed = digest.station_digests(_store(tmp_path / "changed.db", other))
    assert changed[("veterans", VILLAGE_A)][1] != base[("veterans", VILLAGE_A)][1]
    assert changed[("veterans", VILLAGE_A)][0] == base[("veterans", VILLAGE_A)][0]
    assert changed[("veterans", VILLAGE_B)] == base[("veterans", VILLAGE_B)]


def test_a_row_state_hashes_like_its_stored_row_also_through_the_wire(tmp_path):
    store = _store(tmp_path / "s.db", _rows())
    store.write("veterans", "v001", {"phone": "13912345678"})  # a third version, written by the store
    stored = digest.station_digests(store)
    for area in (VILLAGE_A, VILLAGE_B):
        states = [s for s, _ in store.read_states("veterans", "area = ?", (area,))]
        assert digest.combine(map(digest.state_hash, states)) == stored[("veterans", area)][1]
        travelled = [codec.row_from_pb(codec.row_to_pb(RowState(s.table, s.id, {k: s.values.get(k) for k in s.clock},
                                                                   s.clock))) for s in states]
        assert digest.combine(map(digest.state_hash, travelled)) == stored[("veterans", area)][1]


class VerifyingHub(LocalHub):
    """LocalHub with the Verify calls, as the servicer makes them."""

    fetched: list

    def verify_digests(self):
        buckets, seq = digest.hub_digests(self.hub, self.scope, self.station)
        return self.scope, seq, buckets

    def verify_rows(self, buckets, batch_rows):
        self.fetched = list(buckets)
        out, start, top = [], (0, 0), 0
        while start is not None:  # small pages: the paging is exercised too
            rows, start, seq = digest.hub_bucket_rows(self.hub, self.scope, self.station, buckets, start=start,
                                                      limit=2)
            out += rows
            top = max(top, seq)
        return top, out


def _network(tmp_path):
    hub = HubStore(tmp_path / "hub.db", create=True)
    a, town = Store(tmp_path / "a.db", create=True), Store(tmp_path / "t.db", create=True)
    return hub, a, town


def _vet(store: Store, n: int, area: str) -> str:
    row_id = str(uuid.uuid4())
    store.write("veterans", row_id, {"name": f"人{n}", "area": area, "id_number": id_number(n), "phone": None},
                create=True)
    return row_id


def test_the_hubs_buckets_are_exactly_what_the_station_may_receive(tmp_path):
    hub, a, town = _network(tmp_path)
    for n in range(6):
        _vet(a, n, VILLAGE_A)
    _vet(town, 10, VILLAGE_B)
    sync_once(a, LocalHub(hub, VILLAGE_A))
    sync_once(town, LocalHub(hub, TOWN))
    with hub.transaction():  # an accusation registered by the town about village A: not for village A
        hub.write_as_hub("petitions", "p1", {"area": VILLAGE_A, "station": TOWN, "confidential": 1, "summary": "检举",
                                             "deleted": 0}, create=True)
        hub.write_as_hub("petitions", "p2", {"area": VILLAGE_A, "station": TOWN, "confidential": 0, "summary": "建议",
                                             "deleted": 0}, create=True)
    sync_once(a, LocalHub(hub, VILLAGE_A))
    sync_once(town, LocalHub(hub, TOWN))
    mine, seq = digest.hub_digests(hub, VILLAGE_A, VILLAGE_A)
    assert mine == digest.station_digests(a)
    assert mine[("petitions", VILLAGE_A)][0] == 1  # p2 only
    assert {k[1] for k in mine} == {VILLAGE_A}
    assert seq == hub.last_seq and seq <= a.cursor
    towns, _ = digest.hub_digests(hub, TOWN, TOWN)
    assert towns == digest.station_digests(town)
    assert towns[("petitions", VILLAGE_A)][0] == 2
    rows, _, _ = digest.hub_bucket_rows(hub, VILLAGE_A, VILLAGE_A, [("petitions", VILLAGE_A)])
    assert [r.id for r in rows] == ["p2"]


def _save_behind_the_engines_back(store: Store, table: str, row_id: str, changes: dict, version: str) -> None:
    """A row written with ``version`` and no pending mark: what no engine path does."""
    loaded = store.load(table, row_id)
    state = loaded[0] if loaded else RowState(table, row_id, {}, {})
    for name, value in changes.items():
        state.values[name], state.clock[name] = value, version
    with store.transaction():
        store.save_rows([(state, None)])


def test_verify_in_process_leaves_pending_alone_pushes_own_versions_again_and_reports_others(tmp_path):
    hub, a, town = _network(tmp_path)
    ids = [_vet(a, n, VILLAGE_A) for n in range(4)]
    b = _vet(town, 9, VILLAGE_B)
    sync_once(a, LocalHub(hub, VILLAGE_A))
    sync_once(town, LocalHub(hub, TOWN))
    peer = VerifyingHub(hub, TOWN)
    assert verify_mod.verify_once(town, peer).result == "clean"

    own = town.hlc.tick()
    foreign = make_version(int(time.time() * 1000), 0, a.replica_id)
    _save_behind_the_engines_back(town, "veterans", ids[0], {"name": "本站改的"}, own)       # a version the hub lacks
    _save_behind_the_engines_back(town, "veterans", ids[1], {"phone": "13800000000"}, foreign)  # someone else's
    made_here = str(uuid.uuid4())
    _save_behind_the_engines_back(town, "veterans", made_here,
                                  {"name": "新", "area": VILLAGE_B, "id_number": id_number(20), "deleted": 0}, own)
    town.write("veterans", ids[2], {"name": "待上传"})  # pending: not compared, never overwritten
    with sqlite3.connect(tmp_path / "t.db") as conn:  # and a value changed beside the pending edit
        conn.execute("UPDATE veterans SET id_number = 'x' WHERE id = ?", (ids[2],))

    found = verify_mod.verify_once(town, peer)
    assert found.result == "differs"
    assert {(d.table, d.area) for d in found.differing} == {("veterans", VILLAGE_A), ("veterans", VILLAGE_B)}
    assert sorted(found.differing[0].ids) == sorted([ids[0], ids[1], ids[2]])
    assert found.differing[1].ids == [made_here] and found.differing[1].hub_rows == 1
    assert found.needs_recovery == [{"table": "veterans", "id": ids[1], "fields": ["phone"]}]
    assert town.pending_count() == 1  # verify alone changes nothing

    fixed = verify_mod.verify_once(town, peer, repair=True)
    assert fixed.repaired == {"taken": 1, "repushed": 2}
    assert fixed.result == "differs"  # the foreign version stays, reported
    assert [(d.table, d.area) for d in fixed.remaining] == [("veterans", VILLAGE_A)]
    assert fixed.remaining[0].ids == [ids[1]]
    row = town.get("veterans", ids[2])
    assert row["name"] == "待上传" and row["id_number"] == id_number(2)
    assert town.pending_count() == 3

    report = sync_once(town, LocalHub(hub, TOWN))
    assert report.pushed == 3 and report.rejected == 0
    assert hub.get("veterans", ids[0])["name"] == "本站改的"
    assert hub.get("veterans", made_here)["name"] == "新"
    assert hub.get("veterans", ids[2])["name"] == "待上传"
    assert hub.get("veterans", ids[1])["phone"] is None
    last = verify_mod.verify_once(town, peer)
    assert [d.ids for d in last.differing] == [[ids[1]]] and last.needs_recovery
    assert verify_mod.last_verify(town)["result"] == "differs"


def test_a_station_behind_the_hub_catches_up_before_it_compares(tmp_path):
    hub, a, town = _network(tmp_path)
    _vet(a, 1, VILLAGE_A)
    sync_once(a, LocalHub(hub, VILLAGE_A))
    sync_once(town, LocalHub(hub, TOWN))
    newer = _vet(a, 2, VILLAGE_A)
    sync_once(a, LocalHub(hub, VILLAGE_A))  # town has not pulled this
    assert town.load("veterans", newer) is None
    report = verify_mod.verify_once(town, VerifyingHub(hub, TOWN))
    assert report.result == "clean" and not report.differing
    assert town.load("veterans", newer) is not None
    # a row that left the scope at the hub and whose eviction never arrived: deleted by the repair
    with hub.transaction():
        hub.write_as_hub("veterans", newer, {"area": "440902002001"})
    stale = town.load("veterans", newer)[0]
    sync_once(town, LocalHub(hub, TOWN))
    _save_behind_the_engines_back(town, "veterans", newer, stale.values, stale.clock["area"])
    peer = VerifyingHub(hub, TOWN)
    found = verify_mod.verify_once(town, peer, repair=True)
    assert found.repaired == {"deleted": 1} and found.result == "repaired"
    assert town.load("veterans", newer) is None
    assert peer.fetched == [("veterans", VILLAGE_A)]


def test_a_row_in_the_wrong_bucket_is_moved_back_not_deleted_when_its_buckets_are_compared_apart(tmp_path, monkeypatch):
    hub, a, town = _network(tmp_path)
    moved = _vet(a, 1, VILLAGE_A)
    _vet(a, 2, VILLAGE_A)
    _vet(town, 3, VILLAGE_B)
    sync_once(a, LocalHub(hub, VILLAGE_A))
    with hub.transaction():
        hub.write_as_hub("veterans", moved, {"area": VILLAGE_B})
    sync_once(town, LocalHub(hub, TOWN))
    with sqlite3.connect(tmp_path / "t.db") as conn:  # its area put back, the version kept
        conn.execute("UPDATE veterans SET area = ? WHERE id = ?", (VILLAGE_A, moved))
    monkeypatch.setattr(verify_mod, "GROUP_ROWS", 1)  # each bucket fetched and compared on its own
    peer = VerifyingHub(hub, TOWN)
    found = verify_mod.verify_once(town, peer)
    assert {(d.area, tuple(d.ids)) for d in found.differing} == {(VILLAGE_A, (moved,)), (VILLAGE_B, (moved,))}
    fixed = verify_mod.verify_once(town, peer, repair=True)
    assert fixed.repaired == {"taken": 1} and fixed.result == "repaired"
    assert town.get("veterans", moved)["area"] == VILLAGE_B


# --------------------------------------------------------------------------- real processes

pytest_e2e = pytest.mark.e2e


def _db(station: Station) -> sqlite3.Connection:
    return sqlite3.connect(station.home / "station.db", timeout=10)


def _copy_row(station: Station, table: str, row_id: str, new_id: str) -> None:
    with _db(station) as conn:
        cols = [r[1] for r in conn.execute(f'PRAGMA table_info("{table}")')]
        names = ", ".join(f'"{c}"' for c in cols)
        picked = ", ".join("?" if c == "id" else f'"{c}"' for c in cols)
        conn.execute(f'INSERT INTO "{table}" ({names}) SELECT {picked} FROM "{table}" WHERE id = ?', (new_id, row_id))


_BOOKKEEPING = {"seq", "_pending", "_origin", "_prev_seq"}


def full_rows(home, table: str, scope: str) -> dict:
    """Every column but the store's own bookkeeping, of the rows in ``scope``."""
    db = home / ("hub.db" if (home / "hub.db").exists() else "station.db")
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    conn.row_factory = sqlite3.Row
    try:
        rows = [dict(r) for r in conn.execute(f'SELECT * FROM "{table}"')]
    finally:
        conn.close()
    return {r["id"]: {k: v for k, v in r.items() if k not in _BOOKKEEPING} for r in rows
            if (r["area"] or "").startswith(scope)}


def _verify(station: Station, *args: str):
    proc = station.cli("verify", "--json", *args, check=False)
    return proc, json.loads(proc.stdout)


TABLES = ("veterans", "visits", "petitions", "petition_events", "conflicts")


@pytest.fixture
def network(tmp_path):
    hub = Hub(tmp_path / "hub").start()
    town = Station(tmp_path / "town", TOWN).enroll(hub)
    va = Station(tmp_path / "va", VILLAGE_A).enroll(hub)
    yield hub, town, va
    hub.stop()


@pytest_e2e
def test_verify_finds_and_repairs_exactly_the_corrupted_buckets(network):
    hub, town, va = network
    a1 = va.add_veteran(id_number(1), "李一")
    va.add_veteran(id_number(2), "李二")
    visit_a = va.cli_json("visit", "add", "--veteran", a1, "--kind", "入户", "--summary", "春节走访")["id"]
    b1 = town.add_veteran(id_number(3), "王三", VILLAGE_B)
    b2 = town.add_veteran(id_number(4), "王四", VILLAGE_B)
    visit_b = town.cli_json("visit", "add", "--veteran", b1, "--kind", "电话", "--summary", "电话问候")["id"]
    va.sync()
    town.sync()
    town.sync()
    proc, clean = _verify(town)
    assert proc.returncode == 0, proc.stderr
    assert clean["result"] == "clean" and clean["scope"] == TOWN
    assert clean["buckets"] == 4  # veterans and visits, in each village

    # behind the engine's back: a value changed, a row deleted, a row added (another replica's versions)
    copied = str(uuid.uuid4())
    with _db(town) as conn:
        conn.execute("UPDATE veterans SET name = '篡改' WHERE id = ?", (a1,))
        conn.execute("DELETE FROM visits WHERE id = ?", (visit_b,))
    _copy_row(town, "visits", visit_a, copied)
    town.cli("veteran", "edit", b2, "--set", "phone=13800138000")  # a pending edit: not a difference
    before = {t: full_rows(town.home, t, TOWN) for t in TABLES}
    assert before != {t: full_rows(hub.home, t, TOWN) for t in TABLES}

    proc, found = _verify(town)
    assert one_line_error(proc)  # differences: a Chinese line and a non-zero exit
    assert found["result"] == "differs" and found["pending"] == 1
    by_bucket = {(d["table"], d["area"]): d for d in found["differing"]}
    assert set(by_bucket) == {("veterans", VILLAGE_A), ("visits", VILLAGE_B), ("visits", VILLAGE_A)}
    assert by_bucket[("veterans", VILLAGE_A)]["ids"] == [a1]
    assert (by_bucket[("visits", VILLAGE_B)]["hub_rows"], by_bucket[("visits", VILLAGE_B)]["local_rows"]) == (1, 0)
    assert by_bucket[("visits", VILLAGE_B)]["ids"] == [visit_b]
    assert (by_bucket[("visits", VILLAGE_A)]["hub_rows"], by_bucket[("visits", VILLAGE_A)]["local_rows"]) == (1, 2)
    assert by_bucket[("visits", VILLAGE_A)]["ids"] == [copied]
    assert {t: full_rows(town.home, t, TOWN) for t in TABLES} == before  # verify alone writes nothing
    status = town.cli_json("status")
    assert status["last_verify"]["result"] == "differs" and status["last_verify"]["differing"] == 3

    proc, repaired = _verify(town, "--repair")
    assert proc.returncode == 0, proc.stderr
    assert repaired["result"] == "repaired" and repaired["remaining"] == []
    assert repaired["repaired"] == {"taken": 1, "inserted": 1, "deleted": 1}
    proc, after = _verify(town)
    assert proc.returncode == 0 and after["result"] == "clean" and after["pending"] == 1
    assert town.cli_json("veteran", "show", b2)["phone"] == "13800138000"  # the pending edit survived
    assert town.cli_json("status")["pending"] == 1

    assert town.sync()["pushed"] == 1
    for t in TABLES:
        assert full_rows(town.home, t, TOWN) == full_rows(hub.home, t, TOWN), t
    assert full_rows(town.home, "veterans", TOWN)[a1]["name"] == "李一"


@pytest_e2e
def test_sync_verifies_every_n_sessions_and_status_shows_the_last(network):
    hub, town, va = network
    va.add_veteran(id_number(5), "李五")
    assert "verify" not in va.sync()  # the default: every 20th session
    assert va.cli_json("status")["last_verify"] is None
    assert "verify" not in va.sync("--verify-every", "3")
    third = va.sync()  # the setting is kept
    assert third["verify"]["result"] == "clean" and third["verify"]["scope"] == VILLAGE_A
    status = va.cli_json("status")
    assert status["last_verify"]["result"] == "clean" and status["last_verify"]["at"]
    with _db(va) as conn:
        conn.execute("UPDATE veterans SET name = '篡改'")
    assert "verify" not in va.sync() and "verify" not in va.sync()
    sixth = va.sync()
    assert sixth["verify"]["result"] == "differs"
    assert [(d["table"], d["area"]) for d in sixth["verify"]["differing"]] == [("veterans", VILLAGE_A)]
    assert va.cli_json("status")["last_verify"]["result"] == "differs"
    text = va.cli("status").stdout
    assert "上次核对" in text and "不一致" in text
    assert "verify" not in va.sync("--verify-every", "0")
    assert "verify" not in va.sync()
