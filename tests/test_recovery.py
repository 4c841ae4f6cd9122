"""A hub restored from a backup heals from its stations (PROTOCOL.md "Recovery").

In process (the engine, the stores and ``LocalHub``; the real-process version
is in tests/test_e2e_recovery.py): the hub's database is copied, the stations
do a day's work that the hub acknowledges, the copy is put back with a new
epoch, and every station's next sync re-offers what it holds. Nothing any
station still holds is lost, the conflicts filed after the backup that a
station had received are found again, and a station enrolled after the
restore receives everything.
"""

from __future__ import annotations

import pytest

from enginekit import COUNTY, TOWN, VILLAGE_A, VILLAGE_B, Network, snapshot
from station_node import records
from sync.engine.replicate import HUB_EPOCH_META, RECOVERING_META, needs_recovery, sync_once
from sync.store.hub import RECOVERY_REFUSED, history_of
from sync.store.local_hub import LocalHub
from sync.store.station import Store
from veterans import resolve as R
from veterans.values import id_number_check_digit

STATIONS = {"town": TOWN, "va": VILLAGE_A, "vb": VILLAGE_B}


def idn(n: int) -> str:
    body = f"44090219600101{n:03d}"
    return body + id_number_check_digit(body)


def sync_all(net: Network, rounds: int = 2) -> list:
    return [net.sync(name, batch_rows=7) for _ in range(rounds) for name in ("town", "va", "vb")]


def rows_of(store, scope: str) -> dict:
    """What a store holds in scope: (table, id) -> (values, clock)."""
    return snapshot(store, scope)


@pytest.fixture()
def net(tmp_path):
    n = Network(tmp_path, STATIONS)
    yield n
    n.close()


def test_nothing_a_station_holds_is_lost_when_the_hub_is_put_back(net, tmp_path):
    va, vb, town = (net.stations[n] for n in ("va", "vb", "town"))
    kept = records.add_veteran(va, {"id_number": idn(1), "name": "张一", "area": VILLAGE_A})
    moved = records.add_veteran(va, {"id_number": idn(2), "name": "张二", "area": VILLAGE_A})
    doomed = records.add_veteran(vb, {"id_number": idn(3), "name": "李三", "area": VILLAGE_B})
    records.add_visit(va, moved["id"], "phone", date="2026-11-02", summary="电话问候")
    sync_all(net)
    copy = tmp_path / "backup.db"
    net.backup_hub(copy)
    before_epoch = net.hub.epoch

    # A day's work, every bit of it acknowledged by the hub:
    new = records.add_veteran(va, {"id_number": idn(4), "name": "王四", "area": VILLAGE_A})  # a create
    records.add_visit(va, new["id"], "home", date="2026-11-20", summary="入户走访")
    records.edit_veteran(vb, doomed["id"], {"phone": "13800000003"})  # an edit
    records.delete_veteran(vb, doomed["id"])  # a delete
    records.edit_veteran(town, moved["id"], {"area": VILLAGE_B})  # a move, with its visit
    sync_all(net)
    records.edit_veteran(va, kept["id"], {"note": "村里记的"})  # a concurrent edit: a conflict
    records.edit_veteran(town, kept["id"], {"note": "镇里记的"})
    net.sync("va")
    net.sync("town")
    sync_all(net)
    pet = records.open_petition(va, channel="visit", summary="反映优待金", veteran_id=new["id"],
                                received="2026-11-21")
    sync_all(net)
    conflicts_before = sorted((c["kind"], c["row_id"], c["loser_version"]) for c in R.list_conflicts(
        net.hub, include_resolved=True))
    assert conflicts_before, "the script made no conflict to find again"
    held_before = {name: rows_of(net.stations[name], scope) for name, scope in STATIONS.items()}
    hub_before = rows_of(net.hub, COUNTY)

    epoch = net.put_back_hub(copy)
    assert epoch != before_epoch
    lost = set(hub_before) - set(rows_of(net.hub, COUNTY))
    assert (("veterans", new["id"]) in lost and ("petitions", pet["id"]) in lost), "the restore lost nothing to heal"
    assert all(needs_recovery(net.stations[n], net.peer_handshake(n)) for n in STATIONS)

    reports = sync_all(net)
    assert sum(r.recovered for r in reports) > 0 and not any(r.recovery_refused for r in reports)
    # Every station equals the hub within its scope, and holds what it held before.
    for name, scope in STATIONS.items():
        store = net.stations[name]
        assert rows_of(store, scope) == rows_of(net.hub, scope), f"{name} diverged from the hub"
        assert rows_of(store, scope) == held_before[name], f"{name} lost or changed a row"
        assert store.meta(HUB_EPOCH_META) == epoch and store.meta(RECOVERING_META) is None
    # The hub holds all it had acknowledged, versions and authors as before.
    assert rows_of(net.hub, COUNTY) == hub_before
    assert sorted((c["kind"], c["row_id"], c["loser_version"]) for c in R.list_conflicts(
        net.hub, include_resolved=True)) == conflicts_before
    entries = history_of(net.hub, new["id"])
    assert entries and all(e.recovered for e in entries) and {e.station for e in entries} <= {VILLAGE_A, TOWN}

    # A station enrolled after the restore receives everything of its scope.
    late = Store(tmp_path / "late.db", create=True)
    try:
        with late.transaction():
            late.set_meta("station", VILLAGE_A)
            late.set_meta("scope", VILLAGE_A)
        report = sync_once(late, LocalHub(net.hub, VILLAGE_A), batch_rows=5)
        assert report.recovered == 0 and report.pulled == len(held_before["va"])
        assert rows_of(late, VILLAGE_A) == held_before["va"]
    finally:
        late.close()


def test_a_station_recovers_once_per_restore(net, tmp_path):
    va = net.stations["va"]
    records.add_veteran(va, {"id_number": idn(5), "name": "赵五", "area": VILLAGE_A})
    sync_all(net, 1)
    copy = tmp_path / "backup.db"
    net.backup_hub(copy)
    epoch = net.put_back_hub(copy)
    first = net.sync("va")
    assert first.recovered == 1 and va.meta(HUB_EPOCH_META) == epoch
    # Having pulled in full from this epoch, a re-offer is refused, row by row, and writes nothing.
    replica = va.replica_id
    assert not net.hub.may_recover(replica, VILLAGE_A, epoch)
    seq = net.hub.last_seq
    rows = next(va.acknowledged_batches(10))
    result = net.hub.apply_push(rows, station=VILLAGE_A, scope=VILLAGE_A, replica_id=replica, recovery=epoch)
    assert not result.acked and {r for _, _, r in result.refused} == {RECOVERY_REFUSED}
    assert net.hub.last_seq == seq
    # A re-offer for another epoch is refused too, and so is one from a replica id the
    # station made up after the restore (the restored hub knew its replica).
    assert not net.hub.may_recover(replica, VILLAGE_A, "ffffffffffffffff")
    assert not net.hub.may_recover("0123456789abcdef", VILLAGE_A, epoch)
    result = net.hub.apply_push(rows, station=VILLAGE_A, scope=VILLAGE_A, replica_id="0123456789abcdef",
                                recovery=epoch)
    assert not result.acked and net.hub.last_seq == seq
    assert net.sync("va").recovered == 0


def test_a_recovery_cut_short_resumes_and_loses_nothing(net, tmp_path):
    va = net.stations["va"]
    for n in range(6, 12):
        records.add_veteran(va, {"id_number": idn(n), "name": f"钱{n}", "area": VILLAGE_A})
    copy = tmp_path / "backup.db"
    net.backup_hub(copy)  # before any push: the hub will have lost all of it
    sync_all(net, 1)
    held = rows_of(va, VILLAGE_A)
    net.put_back_hub(copy)
    assert net.sync("va", cut_pull_after=0) is None  # re-offered, then cut in the pull
    assert va.meta(RECOVERING_META) and rows_of(va, VILLAGE_A) == held
    report = net.sync("va")
    assert report is not None and va.meta(RECOVERING_META) is None
    assert rows_of(va, VILLAGE_A) == rows_of(net.hub, VILLAGE_A) == held


def test_a_hub_put_back_by_hand_is_found_by_its_sequence(net, tmp_path):
    """The database file copied back without ``restore`` (same epoch): a station whose
    cursor is beyond the hub's newest change knows the hub lost work."""
    va = net.stations["va"]
    records.add_veteran(va, {"id_number": idn(20), "name": "孙二十", "area": VILLAGE_A})
    copy = tmp_path / "backup.db"
    net.backup_hub(copy)
    sync_all(net, 1)
    net.put_back_hub(copy, new_epoch=False)
    hello = net.peer_handshake("va")
    assert hello.hub_seq < va.cursor and needs_recovery(va, hello)


def test_a_hub_never_restored_takes_no_re_offer(net):
    """The first epoch of a database: nothing was lost, so nothing is re-offered."""
    va = net.stations["va"]
    records.add_veteran(va, {"id_number": idn(30), "name": "郑三十", "area": VILLAGE_A})
    net.sync("va")
    rows = next(va.acknowledged_batches(10))
    assert not net.hub.may_recover(va.replica_id, VILLAGE_A, net.hub.epoch)
    result = net.hub.apply_push(rows, station=VILLAGE_A, scope=VILLAGE_A, replica_id=va.replica_id,
                                recovery=net.hub.epoch)
    assert not result.acked and {r for _, _, r in result.refused} == {RECOVERY_REFUSED}


def test_a_recovery_the_hub_already_counts_as_done_drops_nothing(net, tmp_path):
    """The station pulled in full (the hub marked its replica) but died before it cleared
    its recovery mark: the next session's re-offer is refused as a whole, and the station
    keeps every row — also those a pull does not send back (its own pushes)."""
    va = net.stations["va"]
    copy = tmp_path / "backup.db"
    net.backup_hub(copy)
    for n in range(40, 44):
        records.add_veteran(va, {"id_number": idn(n), "name": f"冯{n}", "area": VILLAGE_A})
    net.sync("va")
    net.put_back_hub(copy)
    assert net.sync("va").recovered == 4
    held = rows_of(va, VILLAGE_A)
    with va.transaction():
        va.set_meta(RECOVERING_META, net.hub.epoch)  # as if the session had died before its last step
    report = net.sync("va")
    assert report.recovery_refused == 4 and report.recovered == 0 and report.evicted == 0
    assert rows_of(va, VILLAGE_A) == held == rows_of(net.hub, VILLAGE_A)
    assert va.meta(RECOVERING_META) is None
