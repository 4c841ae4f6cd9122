"""End to end with real processes over mutual TLS on 127.0.0.1: a hub and a
town with two of its villages, each a real `station-node` process per command."""

from __future__ import annotations

import itertools
import sqlite3

import pytest

from procs import COUNTY, TOWN, VILLAGE_A, VILLAGE_B, Hub, Station, id_number

pytestmark = pytest.mark.e2e


@pytest.fixture
def network(tmp_path):
    hub = Hub(tmp_path / "hub").start()
    stations = {
        "town": Station(tmp_path / "town", TOWN).enroll(hub),
        "va": Station(tmp_path / "va", VILLAGE_A).enroll(hub),
        "vb": Station(tmp_path / "vb", VILLAGE_B).enroll(hub),
    }
    yield hub, stations
    hub.stop()


def table_rows(home, table: str) -> dict:
    db = home / ("hub.db" if (home / "hub.db").exists() else "station.db")
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        return {r["id"]: (r["area"], r["_clock"], r["deleted"]) for r in conn.execute(f'SELECT * FROM "{table}"')}


def assert_exact_scopes(hub: Hub, stations: dict) -> None:
    for s in stations.values():
        for table in ("veterans", "visits", "petitions", "petition_events", "conflicts"):
            mine = table_rows(s.home, table)
            expected = {k: v for k, v in table_rows(hub.home, table).items() if v[0].startswith(s.code)}
            assert mine == expected, f"{s.code} {table}"


@pytest.mark.parametrize("order", list(itertools.permutations(["town", "va", "vb"]))[::2])
def test_offline_edits_then_syncs_in_any_order(network, order):
    hub, st = network
    a = st["va"].add_veteran(id_number(1), "李一")
    st["va"].cli("visit", "add", "--veteran", a, "--kind", "入户", "--summary", "春节走访")
    b = st["vb"].add_veteran(id_number(2), "王二")
    st["vb"].cli("petition", "open", "--veteran", b, "--channel", "走访", "--summary", "咨询优抚政策")
    t = st["town"].add_veteran(id_number(3), "赵三", VILLAGE_B)
    for name in order:
        st[name].sync()
    for name in order:  # a second round delivers what later stations pushed (compressed: same result)
        st[name].sync("--gzip")
    assert_exact_scopes(hub, st)
    assert set(table_rows(hub.home, "veterans")) == {a, b, t}
    town_ids = {r["id"] for r in st["town"].cli_json("veteran", "list")}
    assert town_ids == {a, b, t}
    assert {r["id"] for r in st["va"].cli_json("veteran", "list")} == {a}
    assert {r["id"] for r in st["vb"].cli_json("veteran", "list")} == {b, t}
    status = st["va"].cli_json("status")
    assert status["pending"] == 0 and status["last_sync"] and status["certificate"]["days_left"] > 700


def test_fresh_station_bootstraps_its_scope_and_moves_evict(network, tmp_path):
    hub, st = network
    ids = [st["town"].add_veteran(id_number(10 + i), f"周{i}", VILLAGE_A if i % 2 else VILLAGE_B) for i in range(6)]
    moved = ids[1]  # in village A
    st["town"].cli("visit", "add", "--veteran", moved, "--kind", "电话")
    report = st["town"].sync()
    assert report["pushed"] >= 7
    fresh = Station(tmp_path / "va2", VILLAGE_A)
    fresh.home.mkdir()
    # reinstall of village A: a new home, a new token, a new replica id
    fresh.enroll(hub)
    first = fresh.sync()
    assert first["pulled"] == 4  # 3 veterans + 1 visit of village A
    assert {r["id"] for r in fresh.cli_json("veteran", "list")} == {ids[1], ids[3], ids[5]}
    # the town moves a veteran (with its visit) from A to B: A gets evictions
    st["town"].cli("veteran", "edit", moved, "--set", f"area={VILLAGE_B}")
    st["town"].sync()
    after = fresh.sync()
    assert after["evicted"] == 2
    assert moved not in {r["id"] for r in fresh.cli_json("veteran", "list")}
    assert fresh.cli_json("visit", "list") == []
    st["vb"].sync()
    assert moved in {r["id"] for r in st["vb"].cli_json("veteran", "list")}
    assert len(st["vb"].cli_json("visit", "list")) == 1
