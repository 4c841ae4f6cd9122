"""Retention (issue 11 part 7, PROTOCOL.md "Retention"), in process: the hub store's
prune (``sync.store.retention``) and the station's drop of pruned tombstones
(``Store.drop_pruned`` in ``sync_once``), over ``LocalHub``.

Rows are made old honestly: the work is done with the clock of every store set back
(``time.time`` and ``time.time_ns``, which the HLC, the hub's history and the skew check
read), then the clock comes back to now and the prune runs. The real-process version,
with every process's clock set back by libfaketime, is tests/test_e2e_prune.py.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import time
from unittest import mock

import pytest

from enginekit import COUNTY, TOWN, VILLAGE_A, VILLAGE_B, Network, snapshot
from county_hub.retention import latest_before, parse_before
from station_node import records
from station_node import verify as verify_mod
from sync.engine.errors import StoreError, ValidationError
from sync.engine.hlc import wall_ms_of
from sync.engine.replicate import PRUNED_APPLIED_META, sync_once
from sync.store import digest
from sync.store.hub import history_of
from sync.store.local_hub import LocalHub
from sync.store.retention import MIN_RETENTION_DAYS, Retention, StationProgress
from sync.store.station import Store
from veterans.values import id_number_check_digit

STATIONS = {"town": TOWN, "va": VILLAGE_A, "vb": VILLAGE_B}
DAY_MS = 86_400_000


@contextlib.contextmanager
def days_ago(days: float):
    """Every clock the stores read, set back by ``days``."""
    shift_s = days * 86_400
    real_time, real_ns = time.time, time.time_ns
    with mock.patch("time.time", lambda: real_time() - shift_s), \
            mock.patch("time.time_ns", lambda: real_ns() - int(shift_s * 1e9)):
        yield


def idn(n: int) -> str:
    body = f"44090219600101{n:03d}"
    return body + id_number_check_digit(body)


def now_ms() -> int:
    return int(time.time() * 1000)


def ago_ms(days: float) -> int:
    return now_ms() - int(days * DAY_MS)


def progress(net: Network, *names: str) -> list[StationProgress]:
    """The stations as the registry would list them: each by its station code and its replica."""
    return [StationProgress(net.scope(n), net.scope(n), net.stations[n].replica_id) for n in names]


def prune(net: Network, before_ms: int, names=tuple(STATIONS), **kw):
    retention = Retention(net.hub)
    plan = retention.plan(before_ms, progress(net, *names))
    return plan, retention.run(plan, **kw)


def catch_up(net: Network, *names: str) -> None:
    """Three sessions each: one pushes, the next pulls the others' pushes, and the hub learns
    at the third what it had applied (it counts what a station had when its last pull began)."""
    for _ in range(3):
        for name in names or STATIONS:
            net.sync(name)


def deleted_at(store, table: str, row_id: str) -> int:
    return wall_ms_of(store.load(table, row_id)[0].clock["deleted"])


class VerifyingHub(LocalHub):
    """LocalHub with the Verify calls, as the servicer makes them (pages of two rows)."""

    def verify_digests(self):
        buckets, seq = digest.hub_digests(self.hub, self.scope, self.station)
        return self.scope, seq, buckets

    def verify_rows(self, buckets, batch_rows):
        out, start, top = [], (0, 0), 0
        while start is not None:
            rows, start, seq = digest.hub_bucket_rows(self.hub, self.scope, self.station, buckets, start=start, limit=2)
            out += rows
            top = max(top, seq)
        return top, out


def verify(net: Network, name: str) -> str:
    store = net.stations[name]
    return verify_mod.verify_once(store, VerifyingHub(net.hub, net.scope(name), scope=net.scope(name))).result


def same_as_hub(net: Network, name: str) -> None:
    """The station holds exactly the hub's rows of its scope, tombstones included."""
    assert snapshot(net.stations[name], net.scope(name)) == snapshot(net.hub, net.scope(name))


@pytest.fixture()
def net(tmp_path):
    n = Network(tmp_path, STATIONS)
    yield n
    n.close()


# --------------------------------------------------------------------------- six months


def test_a_time_less_than_six_months_back_is_refused_in_one_line_naming_the_law(net):
    retention = Retention(net.hub)
    for days in (0, 100, MIN_RETENTION_DAYS - 1):
        with pytest.raises(ValidationError) as err:
            retention.plan(ago_ms(days), [])
        message = str(err.value)
        assert "网络安全法" in message and "第二十一条" in message and "\n" not in message
    retention.plan(ago_ms(MIN_RETENTION_DAYS) - 60_000, [])  # six months and a minute: taken


def test_the_date_of_the_command_line():
    today = dt.date(2026, 12, 2)
    assert latest_before(today) == dt.date(2026, 6, 2)
    assert parse_before("2026-06-02", today=today) == dt.date(2026, 6, 2)
    assert parse_before("2026年6月1日", today=today) == dt.date(2026, 6, 1)
    with pytest.raises(ValidationError, match="网络安全法.*2026-06-02"):
        parse_before("2026-06-03", today=today)
    for bad in ("2026-13-01", "明天", "", "2026-02-30"):
        with pytest.raises(ValidationError) as err:
            parse_before(bad, today=today)
        assert "\n" not in str(err.value) and "清理截止日期" in str(err.value)


# --------------------------------------------------------------------------- who holds the cutoff back


def _three_veterans_two_deleted(net: Network) -> tuple[str, str, str]:
    """300 days ago va files three veterans; 290 days ago it deletes one and everyone
    pulls that; 280 days ago the town deletes another, which va does not pull."""
    va, town = net.stations["va"], net.stations["town"]
    with days_ago(300):
        v1, v2, v3 = (records.add_veteran(va, {"id_number": idn(i), "name": f"张{i}", "area": VILLAGE_A})["id"]
                      for i in (1, 2, 3))
        net.sync("va")
        net.sync("town")
    with days_ago(290):
        records.delete_veteran(va, v1)
        net.sync("va")
        net.sync("town")
        net.sync("vb")
    with days_ago(280):
        records.delete_veteran(town, v2)
        net.sync("town")
    return v1, v2, v3


def test_a_station_that_has_not_pulled_a_deletion_holds_the_cutoff_and_then_receives_it(net):
    v1, v2, v3 = _three_veterans_two_deleted(net)
    retention = Retention(net.hub)
    asked = ago_ms(200)
    plan = retention.plan(asked, progress(net, *STATIONS))
    assert plan.cutoff_ms == deleted_at(net.hub, "veterans", v2) < asked
    assert [(h.station, h.tombstones) for h in plan.holders] == [(VILLAGE_A, 1)]  # va never pulled v2's
    assert plan.tombstones == {"veterans": 1, "visits": 0, "petitions": 0, "petition_events": 0, "plaques": 0,
                               "contact_triggers": 0, "conflicts": 0, "areas": 0}
    result = retention.run(plan)
    assert result.tombstones["veterans"] == 1 and result.announced_ms == plan.cutoff_ms
    assert net.hub.load("veterans", v1) is None  # everyone had it: gone
    assert net.hub.load("veterans", v2)[0].deleted  # va had not: kept
    assert net.hub.load("veterans", v3) is not None
    assert Retention(net.hub).pruned_before_ms == plan.cutoff_ms
    assert net.peer_handshake("va").pruned_before_ms == plan.cutoff_ms

    town = net.sync("town")
    assert town.pruned == 1 and net.stations["town"].load("veterans", v1) is None
    va = net.sync("va")
    assert va.pulled >= 1 and net.stations["va"].load("veterans", v2)[0].deleted  # the deletion still came
    assert va.pruned == 1 and net.stations["va"].load("veterans", v1) is None
    for name in ("town", "va", "vb"):
        same_as_hub(net, name)  # exactly the hub's tombstones
        assert verify(net, name) == "clean"

    plan2 = Retention(net.hub).plan(asked, progress(net, *STATIONS))
    assert [h.station for h in plan2.holders] == [VILLAGE_A]  # the hub knows what va had when it asked
    net.sync("va")  # the next session tells it
    plan2, result2 = prune(net, asked)  # va has pulled now: v2 goes too
    assert plan2.holders == [] and plan2.cutoff_ms == asked
    assert result2.tombstones["veterans"] == 1 and net.hub.load("veterans", v2) is None
    assert net.sync("town").pruned == 1 and net.sync("va").pruned == 1
    for name in ("town", "va", "vb"):
        same_as_hub(net, name)
        assert verify(net, name) == "clean"
    assert net.sync("va").pruned == 0  # once per announced value
    assert net.stations["va"].meta(PRUNED_APPLIED_META) == str(asked)


def test_a_station_that_never_shook_hands_holds_nothing_back_one_that_never_pulled_does(net):
    _v1, v2, _v3 = _three_veterans_two_deleted(net)
    catch_up(net)
    retention = Retention(net.hub)
    asked = ago_ms(200)
    newcomer = StationProgress("440902001003", "440902001003", None)  # enrolled, never synced
    plan = retention.plan(asked, [*progress(net, *STATIONS), newcomer])
    assert plan.holders == [] and plan.cutoff_ms == asked
    silent = Store(net.hub.path.parent / "silent.db", create=True)  # shook hands (a replica), reported no pull
    try:
        waiting = StationProgress(VILLAGE_A, VILLAGE_A, silent.replica_id)
        plan = retention.plan(asked, [*progress(net, "town", "vb"), waiting])
        assert [(h.station, h.pulled) for h in plan.holders] == [(VILLAGE_A, 0)]
        assert plan.cutoff_ms < asked
    finally:
        silent.close()
    revoked = StationProgress(VILLAGE_A, VILLAGE_A, "f" * 16, counted=False, reason="revoked")
    plan = retention.plan(asked, [*progress(net, "town", "vb"), revoked])
    assert plan.holders == [] and plan.not_counted == [{"station": VILLAGE_A, "reason": "revoked"}]


def test_a_replica_left_behind_is_marked_stale_and_an_up_to_date_one_is_not(net, tmp_path):
    va = net.stations["va"]
    with days_ago(300):
        vid = records.add_veteran(va, {"id_number": idn(7), "name": "赵七", "area": VILLAGE_A})["id"]
        net.sync("va")
        net.sync("town")
        old_town = Store(tmp_path / "old_town.db", create=True)  # the town's first PC, reinstalled since
        with old_town.transaction():
            old_town.set_meta("station", TOWN)
            old_town.set_meta("scope", TOWN)
        net.hub.bind_replica(old_town.replica_id, TOWN)  # as the servicer's handshake does
        sync_once(old_town, LocalHub(net.hub, TOWN))
    with days_ago(290):
        records.delete_veteran(va, vid)
    catch_up(net)  # the town's present PC pulls the deletion; the old one never will
    plan, _result = prune(net, ago_ms(200))
    assert plan.stale == [old_town.replica_id] and plan.stale_stations == [TOWN]
    retention = Retention(net.hub)
    assert retention.stale_since(old_town.replica_id) == plan.cutoff_ms
    assert all(retention.stale_since(s.replica_id) == 0 for s in net.stations.values())
    old_town.close()


# --------------------------------------------------------------------------- what goes, what stays


def test_history_older_than_the_cutoff_goes_and_a_removed_rows_younger_history_keeps_its_values(net):
    va, vb = net.stations["va"], net.stations["vb"]
    with days_ago(300):
        kept = records.add_veteran(va, {"id_number": idn(1), "name": "王一", "area": VILLAGE_A})["id"]
        net.sync("va")
        late = records.add_veteran(vb, {"id_number": idn(2), "name": "王二", "area": VILLAGE_B})["id"]
        records.delete_veteran(vb, late)  # made and deleted on a PC offline ever since: it reaches the hub today
    with days_ago(250):
        records.edit_veteran(va, kept, {"phone": "13800000001"})
        net.sync("va")
    records.edit_veteran(va, kept, {"phone": "13800000002"})
    catch_up(net)
    before = [(e.at_ms, e.fields) for e in history_of(net.hub, kept)]
    assert len(before) == 3
    asked = ago_ms(200)
    plan, result = prune(net, asked)
    assert plan.cutoff_ms == asked and result.history == plan.history >= 2
    after = [(e.at_ms, e.fields) for e in history_of(net.hub, kept)]
    assert after == [h for h in before if h[0] >= asked] == before[2:]  # only the young entry stays
    assert net.hub.load("veterans", late) is None  # deleted 300 days ago: gone
    entries = history_of(net.hub, late)  # but its history arrived today and stays, values written in
    assert len(entries) == 1 and entries[0].fields["name"][0] == "王二" and entries[0].fields["deleted"][0] == 1
    assert net.sync("vb").pruned == 1 and net.sync("town").pruned == 1
    for name in STATIONS:
        same_as_hub(net, name)


def test_a_deleted_veteran_whose_visit_lives_on_stays_on_both_sides(net):
    va = net.stations["va"]
    with days_ago(300):
        vid = records.add_veteran(va, {"id_number": idn(3), "name": "孙三", "area": VILLAGE_A})["id"]
        records.add_visit(va, vid, "phone", date=dt.date.today() - dt.timedelta(days=300), summary="电话问候")
        records.delete_veteran(va, vid)
        net.sync("va")
        net.sync("town")
    plan, result = prune(net, ago_ms(200))
    assert plan.tombstones["veterans"] == 0 and result.tombstones["veterans"] == 0
    assert net.hub.load("veterans", vid)[0].deleted
    assert net.sync("va").pruned == 0 and net.stations["va"].load("veterans", vid) is not None
    assert verify(net, "va") == "clean"
    same_as_hub(net, "va")


def test_moves_go_once_every_station_they_evict_from_has_pulled_them(net):
    va, town = net.stations["va"], net.stations["town"]
    with days_ago(300):
        vid = records.add_veteran(va, {"id_number": idn(4), "name": "周四", "area": VILLAGE_A})["id"]
        net.sync("va")
        net.sync("town")
        records.edit_veteran(town, vid, {"area": VILLAGE_B})  # va must receive the eviction
        net.sync("town")
    moves = lambda: net.hub.conn.execute("SELECT count(*) FROM _moves").fetchone()[0]  # noqa: E731
    assert moves() == 1
    plan, result = prune(net, ago_ms(200))
    assert plan.moves == 0 and result.moves == 0 and moves() == 1
    assert net.sync("va").evicted == 1 and va.load("veterans", vid) is None
    net.sync("va")  # which the hub learns at va's next pull
    plan, result = prune(net, ago_ms(200))
    assert plan.moves == result.moves == 1 and moves() == 0
    catch_up(net)
    for name in STATIONS:
        same_as_hub(net, name)


def test_a_dry_run_writes_nothing(net):
    _three_veterans_two_deleted(net)
    catch_up(net)

    def dump() -> str:
        return hashlib.sha256("\n".join(net.hub.conn.iterdump()).encode()).hexdigest()

    before = dump()
    plan = Retention(net.hub).plan(ago_ms(200), progress(net, *STATIONS))
    assert plan.tombstones["veterans"] == 2 and plan.history > 0
    assert dump() == before


def test_the_announced_value_only_grows(net):
    _three_veterans_two_deleted(net)
    catch_up(net)
    _plan, first = prune(net, ago_ms(200))
    assert first.announced_ms == first.cutoff_ms and first.tombstones["veterans"] == 2
    _plan, earlier = prune(net, ago_ms(250))
    assert earlier.cutoff_ms < first.cutoff_ms and earlier.announced_ms == first.announced_ms
    assert Retention(net.hub).pruned_before_ms == first.announced_ms


def test_a_tombstone_with_a_pending_field_waits_at_the_station_until_the_push_settles_it(net):
    va = net.stations["va"]
    with days_ago(300):
        vid = records.add_veteran(va, {"id_number": idn(5), "name": "吴五", "area": VILLAGE_A})["id"]
        net.sync("va")
        net.sync("town")
        records.delete_veteran(net.stations["town"], vid)
        net.sync("town")
        net.sync("va")
        with va.transaction():  # an edit of the deleted record that never left the PC
            va.stamp("veterans", vid, {"note": "删除前写的"})
    catch_up(net, "town", "vb")
    Retention(net.hub).note_pulled(va.replica_id, va.cursor)  # as va's next pull would tell (before it pushes)
    prune(net, ago_ms(200))
    assert net.hub.load("veterans", vid) is None
    dropped, waiting = va.drop_pruned(Retention(net.hub).pruned_before_ms)
    assert (dropped, waiting) == (0, 1) and va.load("veterans", vid) is not None
    first = net.sync("va")  # the push is refused (the record is gone at the hub), the edit kept as rejected
    assert first.rejected == 1 and first.pruned == 1 and va.load("veterans", vid) is None
    assert [r["row_id"] for r in va.rejected()] == [vid]
    same_as_hub(net, "va")


# --------------------------------------------------------------------------- late deletions, checksums


def test_a_deletion_that_reaches_the_hub_after_the_prune_is_received_and_verify_agrees(net):
    va, vb = net.stations["va"], net.stations["vb"]
    with days_ago(300):
        w = records.add_veteran(vb, {"id_number": idn(6), "name": "郑六", "area": VILLAGE_B})["id"]
        net.sync("vb")
        net.sync("town")
        records.delete_veteran(vb, w)  # offline ever since
        gone = records.add_veteran(va, {"id_number": idn(8), "name": "冯八", "area": VILLAGE_A})["id"]
        records.delete_veteran(va, gone)
    catch_up(net, "va", "town")
    prune(net, ago_ms(200))
    assert net.sync("town").pruned == 1
    late = net.sync("vb")  # the old deletion arrives: the hub keeps it (the town still has the row to delete)
    assert late.pushed == 1 and net.hub.load("veterans", w)[0].deleted
    assert vb.load("veterans", w) is None  # vb dropped its own: it is older than the announced value
    net.sync("town")
    assert net.stations["town"].load("veterans", w)[0].deleted  # the town received the deletion
    for name in STATIONS:  # what either side keeps of a retired tombstone is no difference
        assert verify(net, name) == "clean", name


def test_the_hub_sends_no_retired_row_for_a_repair_across_pages(net):
    va = net.stations["va"]
    with days_ago(300):
        ids = [records.add_veteran(va, {"id_number": idn(20 + i), "name": f"韩{i}", "area": VILLAGE_A})["id"]
               for i in range(6)]
        records.add_visit(va, ids[0], "phone", date=dt.date.today() - dt.timedelta(days=300))
        for vid in ids[:5]:
            records.delete_veteran(va, vid)  # ids[0] stays (its visit refers to it)
        net.sync("va")
    with net.hub.transaction():
        net.hub.set_meta("pruned_before_ms", ago_ms(200))  # as a prune that kept them all would announce
    rows, start, _seq = [], (0, 0), 0
    while start is not None:
        page, start, _seq = digest.hub_bucket_rows(net.hub, VILLAGE_A, VILLAGE_A, [("veterans", VILLAGE_A)],
                                                   start=start, limit=1)
        rows += page
    assert sorted(r.id for r in rows) == [ids[5]]  # the four retired tombstones are neither sent nor counted
    buckets, _ = digest.hub_digests(net.hub, VILLAGE_A, VILLAGE_A)
    assert buckets[("veterans", VILLAGE_A)][0] == 1


# --------------------------------------------------------------------------- a run cut short


def test_a_prune_cut_short_is_finished_by_the_next_and_marks_stale_replicas_first(net, tmp_path):
    va = net.stations["va"]
    with days_ago(300):
        ids = [records.add_veteran(va, {"id_number": idn(30 + i), "name": f"冯{i}", "area": VILLAGE_A})["id"]
               for i in range(5)]
        net.sync("va")
        old_va = Store(tmp_path / "old_va.db", create=True)
        with old_va.transaction():
            old_va.set_meta("station", VILLAGE_A)
            old_va.set_meta("scope", VILLAGE_A)
        net.hub.bind_replica(old_va.replica_id, VILLAGE_A)  # as the servicer's handshake does
        sync_once(old_va, LocalHub(net.hub, VILLAGE_A))
        for vid in ids:
            records.delete_veteran(va, vid)
    catch_up(net)
    retention = Retention(net.hub)
    plan = retention.plan(ago_ms(200), progress(net, *STATIONS))
    assert plan.tombstones["veterans"] == 5

    class Crash(Exception):
        pass

    def crash_after_first(phase, done, total):
        raise Crash(phase)

    with pytest.raises(Crash):
        retention.run(plan, batch_rows=2, progress=crash_after_first)
    assert retention.stale_since(old_va.replica_id) == plan.cutoff_ms  # marked before anything went
    assert retention.pruned_before_ms == plan.cutoff_ms  # announced first: the rest is retired meanwhile
    assert net.sync("va").pruned == 5 and verify(net, "va") == "clean"  # a station syncing during the prune
    assert sum(net.hub.load("veterans", v) is None for v in ids) == 2
    again = retention.plan(ago_ms(200), progress(net, *STATIONS))
    with pytest.raises(StoreError):  # a new prune waits for the one cut short
        retention.run(again)
    running = retention.running()
    assert running is not None and running.cutoff_ms == plan.cutoff_ms
    result = retention.run(running)
    assert result.resumed and result.tombstones["veterans"] == 5 and retention.running() is None
    assert all(net.hub.load("veterans", v) is None for v in ids)
    assert retention.pruned_before_ms == plan.cutoff_ms
    assert net.sync("va").pruned == 0  # it had dropped them during the prune
    same_as_hub(net, "va")
    old_va.close()


def test_the_audit_and_the_pulled_cursor_are_what_the_servicer_keeps(net):
    _three_veterans_two_deleted(net)
    before = Retention(net.hub).pulled()
    cursor = net.stations["town"].cursor
    net.sync("town")
    assert Retention(net.hub).pulled()[net.stations["town"].replica_id] == cursor  # what it had applied when it asked
    assert before.keys() <= Retention(net.hub).pulled().keys()
    audited = []
    plan = Retention(net.hub).plan(ago_ms(200), progress(net, *STATIONS))
    Retention(net.hub).run(plan, finish=audited.append)
    assert audited and audited[0].tombstones["veterans"] == 1 and audited[0].cutoff_ms == plan.cutoff_ms
    assert COUNTY  # the county's hub: every scope above is one of its areas
