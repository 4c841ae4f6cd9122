"""Tests of bench.generate: the seeded county dataset (at scale 0.01)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import pytest

from bench.generate import Counts, generate_county, main
from sync.engine.clocks import unpack_clock
from veterans.values import ENUMS, gender_from_id, validate_id_number, validate_phone
from veterans.petition import derive, next_status
from sync.engine.schema import SYNC_COLUMNS, TABLES
from sync.store.station import Store

SCALE = 0.01
AS_OF = dt.date(2025, 6, 30)
COUNTY = "440902"
DATA_TABLES = ("veterans", "visits", "petitions", "petition_events", "plaques")


def make(path, **kw) -> tuple[Store, Counts]:
    store = Store(path, create=True)
    kw = {"scale": SCALE, "seed": 1, "as_of": AS_OF, **kw}
    return store, generate_county(store, **kw)


def dump(store: Store) -> dict[str, list[tuple]]:
    """Every table's rows without the sync columns, by id."""
    out = {}
    for name in DATA_TABLES:
        cols = [c for c in ("id", *TABLES[name].data_fields) if c not in SYNC_COLUMNS]
        quoted = ", ".join(f'"{c}"' for c in cols)
        sql = f'SELECT {quoted} FROM "{name}" ORDER BY id'
        out[name] = [tuple(r) for r in store.conn.execute(sql)]
    return out


def rows(store: Store, table: str) -> list[dict]:
    return [dict(r) for r in store.conn.execute(f'SELECT * FROM "{table}" ORDER BY seq')]


@pytest.fixture(scope="module")
def county(tmp_path_factory):
    store, counts = make(tmp_path_factory.mktemp("gen") / "county.db")
    yield store, counts
    store.close()


def test_counts(county):
    store, counts = county
    assert (counts.veterans, counts.visits, counts.petitions) == (200, 2400, 30)
    assert 2 * 30 <= counts.petition_events <= 5 * 30
    assert counts.total == counts.veterans + counts.visits + counts.petitions + counts.petition_events + counts.plaques
    assert counts.seconds > 0
    for name in DATA_TABLES:
        n = store.conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
        assert n == getattr(counts, name)


def test_tiny_scale_has_one_of_each(tmp_path):
    store, counts = make(tmp_path / "tiny.db", scale=1e-6)
    assert (counts.veterans, counts.visits, counts.petitions) == (1, 1, 1)
    assert counts.petition_events >= 2
    store.close()


def test_national_fields_and_plaques_pass_the_hubs_rules(county):
    """The generated national collection's fields (issue 14 §2) as the hub would admit them,
    some of each kind, and 光荣牌 for about 70% of the eligible households."""
    from veterans.admission import row_problem
    from veterans.households import household_counts

    store, counts = county
    vets, plaques = rows(store, "veterans"), rows(store, "plaques")
    for table, items in (("veterans", vets), ("plaques", plaques)):
        for r in items:
            assert row_problem(table, r, set(r), latest=AS_OF.isoformat()) is None, r
    ids = {v["id"] for v in vets}
    assert all(v["soldier_id"] in ids for v in vets if v.get("soldier_id"))
    assert sum(1 for v in vets if v.get("soldier_id")) > 0 and sum(1 for v in vets if v.get("categories")) > 0
    assert any(v.get("died_on") for v in vets) and all(v.get("registered_on") for v in vets)
    eligible, hung = household_counts(vets, plaques)
    assert counts.plaques == len(plaques) and 0.5 < hung / eligible < 0.9


def test_veterans_are_valid(county):
    store, _ = county
    vets = rows(store, "veterans")
    ids = [v["id_number"] for v in vets]
    assert len(set(ids)) == len(ids)
    for v in vets:
        assert validate_id_number(v["id_number"]) == v["id_number"]
        assert v["id_number"].startswith(COUNTY)
        assert gender_from_id(v["id_number"]) == v["gender"]
        assert v["birth_date"].replace("-", "") == v["id_number"][6:14]
        assert 1930 <= int(v["birth_date"][:4]) <= 2000
        assert 2 <= len(v["name"]) <= 4
        if v["phone"]:
            assert validate_phone(v["phone"]) == v["phone"] and len(v["phone"]) == 11
        assert "镇" in v["address"] and "村" in v["address"] and "组" in v["address"]
        assert v["category"] in ENUMS["category"]
        assert v["disability_level"] in (None, *ENUMS["disability_level"])
        if v["enlisted_on"]:
            assert v["enlisted_on"] < v["discharged_on"] <= AS_OF.isoformat()
        assert v["status"] in ENUMS["veteran_status"]
    categories = [v["category"] for v in vets]
    assert categories.count("retired_soldier") > len(vets) / 2  # mostly 退役士兵
    assert any(v["disability_level"] not in (None, "none") for v in vets)


def test_areas_are_villages_of_the_county(county):
    store, _ = county
    vet_area = {v["id"]: v["area"] for v in rows(store, "veterans")}
    pet_area = {}
    for name in DATA_TABLES:
        for r in rows(store, name):
            area = r["area"]
            assert len(area) == 12 and area.isdigit() and area.startswith(COUNTY)
            assert 1 <= int(area[6:9]) <= 15 and 1 <= int(area[9:]) <= 20
            if name == "visits":
                assert vet_area[r["veteran_id"]] == area
                assert area.startswith(r["station"])
            elif name == "petitions":
                pet_area[r["id"]] = area
                if r["veteran_id"]:
                    assert vet_area[r["veteran_id"]] == area
            elif name == "petition_events":
                assert pet_area[r["petition_id"]] == area
            elif name == "plaques":
                assert vet_area[r["veteran_id"]] == area


def test_visits_are_plausible(county):
    store, _ = county
    start = (AS_OF - dt.timedelta(days=365)).isoformat()
    for v in rows(store, "visits"):
        assert start <= v["visited_on"] <= AS_OF.isoformat()
        assert v["kind"] in ENUMS["visit_kind"] and v["occasion"] in ENUMS["occasion"]
        assert v["summary"]
    occasions = {v["occasion"] for v in rows(store, "visits")}
    assert {"regular", "spring_festival", "army_day"} <= occasions


def test_petition_events_are_valid_transitions(county):
    store, _ = county
    petitions = {p["id"]: p for p in rows(store, "petitions")}
    events = defaultdict(list)
    for e in rows(store, "petition_events"):  # seq order = version order here
        events[e["petition_id"]].append(e)
    assert set(events) == set(petitions)
    for pid, evs in events.items():
        assert 2 <= len(evs) <= 5
        assert evs[0]["kind"] == "register"
        status = None
        for e in evs:
            assert e["from_status"] == status
            assert petitions[pid]["received_on"] <= e["at"] <= AS_OF.isoformat()
            status = next_status(status, e["kind"])
        assert [e["at"] for e in evs] == sorted(e["at"] for e in evs)
        assert derive(petitions[pid], evs, today=AS_OF).anomalies == ()
    for p in petitions.values():
        assert p["confidential"] == (1 if p["class"] == "accusation" else 0)


def test_same_seed_same_data_different_seed_different(county, tmp_path):
    store, _ = county
    again, _ = make(tmp_path / "again.db")
    other, _ = make(tmp_path / "other.db", seed=2)
    try:
        assert dump(again) == dump(store)
        assert dump(other)["veterans"] != dump(store)["veterans"]
        assert {r[0] for r in dump(other)["visits"]}.isdisjoint(r[0] for r in dump(store)["visits"])
    finally:
        again.close()
        other.close()


@pytest.mark.parametrize("level", ["town", "village"])
def test_station_scope_gives_the_same_rows_under_it(county, tmp_path, level):
    store, _ = county
    village = store.conn.execute("SELECT area FROM petitions ORDER BY seq LIMIT 1").fetchone()[0]
    scope = village[:9] if level == "town" else village
    scoped, counts = make(tmp_path / "scoped.db", station_scope=scope)
    try:
        full, part = dump(store), dump(scoped)
        area_col = {name: ("id", *TABLES[name].data_fields).index("area") for name in DATA_TABLES}
        for name in DATA_TABLES:
            expected = [r for r in full[name] if r[area_col[name]].startswith(scope)]
            assert part[name] == expected
        assert counts.total == sum(len(v) for v in part.values())
        assert counts.veterans > 0 and counts.petitions > 0
        assert counts.total < sum(len(v) for v in full.values())
    finally:
        scoped.close()


def test_rows_are_pending_for_push(county, tmp_path):
    store, counts = county
    batches = list(store.pending_batches(batch_size=1000))
    assert sum(len(b) for b in batches) == counts.total == store.pending_count()
    first = batches[0][0]
    assert set(first.base.values()) == {""}
    assert "area" in first.values and first.values["deleted"] == 0
    assert len(set(first.clock.values())) == 1  # one tick per row

    quiet, counts2 = make(tmp_path / "quiet.db", pending=False)
    try:
        assert quiet.pending_count() == 0 and counts2.total == counts.total
        assert list(quiet.pending_batches()) == []
    finally:
        quiet.close()


def test_versions_increase_in_row_order(county):
    store, _ = county
    versions = [unpack_clock("petition_events", r[0])["area"] for r in store.conn.execute("SELECT _clock FROM petition_events ORDER BY seq")]
    assert versions == sorted(versions) and len(set(versions)) == len(versions)


def test_cli(tmp_path, capsys):
    out = tmp_path / "cli.db"
    assert main(["--scale", "0.002", "--seed", "3", "--out", str(out), "--scope", "440902001", "--as-of", "2025-06-30"]) == 0
    text = capsys.readouterr().out
    assert "veterans" in text and "seconds" in text
    store = Store(out)
    try:
        areas = {r[0] for r in store.conn.execute("SELECT DISTINCT area FROM veterans")}
        assert areas and all(a.startswith("440902001") for a in areas)
    finally:
        store.close()
    assert main(["--scale", "0.002", "--out", str(out)]) == 2  # refuses to overwrite


def test_station_home(tmp_path, capsys):
    """--station-home: a home as `station-node init --offline --station 440902` makes it,
    holding the county; station-node works on it at once."""
    import json

    from click.testing import CliRunner

    from bench.generate import GENERATED
    from station_node.cli import main as station_node
    from station_node.home import init_offline, open_store

    home = tmp_path / "county"
    assert main(["--station-home", str(home), "--scale", "0.002", "--as-of", "2025-06-30"]) == 0
    assert f"station-node --home {home} veteran list" in capsys.readouterr().out
    store = open_store(home)
    try:
        assert (store.meta("station"), store.meta("scope"), store.meta("county"), store.meta("mode")) == (
            COUNTY, COUNTY, COUNTY, "offline")
        assert json.loads(store.meta(GENERATED))["scale"] == 0.002
        n = store.conn.execute("SELECT count(*) FROM veterans").fetchone()[0]
        stations = {r[0] for r in store.conn.execute("SELECT DISTINCT station FROM visits")}
        assert stations == {COUNTY}  # every visit registered by this station
        assert store.pending_count() > n  # as typed here, not yet sent
    finally:
        store.close()
    assert (home / ".checked").exists()  # the check at open already made
    result = CliRunner().invoke(station_node, ["--home", str(home), "veteran", "list", "--json"])
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)) == n == 40

    # an existing home is refused; --force replaces a generated one, never another
    assert main(["--station-home", str(home), "--scale", "0.002"]) == 2
    assert "already holds a station" in capsys.readouterr().err
    assert main(["--station-home", str(home), "--scale", "0.002", "--seed", "2", "--force"]) == 0
    other = tmp_path / "real"
    init_offline(other, "440902001001").close()
    assert main(["--station-home", str(other), "--scale", "0.002", "--force"]) == 2
    assert "did not make" in capsys.readouterr().err
    store = open_store(other)
    try:
        assert store.meta("station") == "440902001001" and store.meta(GENERATED) is None
    finally:
        store.close()


def test_station_home_of_a_town(tmp_path):
    home = tmp_path / "town"
    assert main(["--station-home", str(home), "--scale", "0.002", "--scope", "440902001", "--no-pending"]) == 0
    store = Store(home / "station.db")
    try:
        assert store.meta("scope") == "440902001" and store.pending_count() == 0
        areas = {r[0] for r in store.conn.execute("SELECT DISTINCT area FROM veterans")}
        assert areas and all(a.startswith("440902001") for a in areas)
    finally:
        store.close()
    assert main(["--station-home", str(tmp_path / "x"), "--scale", "0.002", "--scope", "440903001"]) == 2
