"""Undoing a veteran's delete is an ordinary write of ``deleted`` = 0 with a newer
version (issue 12, "Correct"): the hub takes it as a fast-forward of its
tombstone, files no conflict, and every station in scope gets the veteran back;
what the delete left (visits, petitions) was never touched. In process
(``enginekit.Network``); the same with real processes: tests/test_e2e_corrections.py."""

from __future__ import annotations

import pytest

from enginekit import TOWN, VILLAGE_A, VILLAGE_B, Network
from station_node import corrections, records
from sync.engine.merge import merge_row
from sync.engine.rowstate import RowState
from veterans.values import id_number_check_digit

BODY = "44090219600101001"
ID1 = BODY + id_number_check_digit(BODY)


@pytest.fixture()
def net(tmp_path):
    n = Network(tmp_path, {"town": TOWN, "va": VILLAGE_A, "vb": VILLAGE_B})
    yield n
    n.close()


def _settle(net: Network) -> None:
    for _ in range(2):
        for name in ("va", "town", "vb"):
            net.sync(name)


def test_the_merge_takes_an_undelete_as_a_fast_forward():
    a, b = "a" * 16, "b" * 16
    hub = RowState("veterans", "v", {"name": "甲", "area": VILLAGE_A, "deleted": 1},
                   {"name": f"{1:016d}-0000-{a}", "area": f"{1:016d}-0000-{a}", "deleted": f"{2:016d}-0000-{a}"})
    undelete = RowState("veterans", "v", {"area": VILLAGE_A, "deleted": 0},
                        {"area": hub.clock["area"], "deleted": f"{3:016d}-0000-{b}"}, {"deleted": hub.clock["deleted"]})
    result = merge_row(hub, undelete)
    assert result.changed == {"deleted": (0, f"{3:016d}-0000-{b}")}
    assert result.conflicts == [] and not result.resend


def test_deleted_at_one_station_restored_at_another_is_back_everywhere(net):
    va, town = net.stations["va"], net.stations["town"]
    vid = records.add_veteran(va, {"id_number": ID1, "name": "张三", "area": VILLAGE_A})["id"]
    visit = records.add_visit(va, vid, "phone", date="2024-01-05")["id"]
    pet = records.open_petition(va, veteran_id=vid, channel="letter", summary="反映问题", received="2024-03-01")["id"]
    _settle(net)
    vet, deps = corrections.delete_veteran(va, vid)
    assert (deps.visits, deps.petitions, deps.open_petitions) == (1, 1, 1)
    _settle(net)
    assert net.hub.load("veterans", vid)[0].deleted and town.load("veterans", vid)[0].deleted
    restored, _ = corrections.restore_veteran(town, vid)
    assert restored["name"] == "张三"
    _settle(net)
    for store in (net.hub, va, town):
        assert store.get("veterans", vid)["name"] == "张三"
        assert store.get("visits", visit)["veteran_id"] == vid and store.get("petitions", pet)["veteran_id"] == vid
    assert net.hub.select("conflicts") == []
    assert net.stations["vb"].load("veterans", vid) is None  # out of its scope, before and after


def test_deleted_and_restored_before_any_sync_reaches_the_hub_as_a_live_row(net):
    va = net.stations["va"]
    vid = records.add_veteran(va, {"id_number": ID1, "name": "张三", "area": VILLAGE_A})["id"]
    corrections.delete_veteran(va, vid)
    corrections.restore_veteran(va, vid)
    _settle(net)
    assert not net.hub.load("veterans", vid)[0].deleted and net.hub.select("conflicts") == []
    assert net.stations["town"].get("veterans", vid)["name"] == "张三"
