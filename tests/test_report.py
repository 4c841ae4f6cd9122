"""Tests of veterans.report: every figure checked against a generated dataset whose
true counts are computed here in plain Python, independently of the SQL."""

from __future__ import annotations

import datetime as dt
import json
import random
from collections import Counter, defaultdict

import pytest

from veterans.values import ENUMS, id_number_check_digit
from sync.engine.errors import ValidationError
from veterans.report import Report, build_report
from sync.store.station import Store
from veterans.tabular import read_table, write_table

D = dt.date
TODAY = D(2024, 4, 10)
MONTH = "2024-03"
COUNTY = "440902"
TOWNS = ["440902001", "440902002"]
VILLAGES = [t + v for t in TOWNS for v in ("001", "002", "003")]
CATEGORIES = list(ENUMS["category"])


def fast_store(tmp_path) -> Store:
    store = Store(tmp_path / "x.db", create=True)
    store.conn.execute("PRAGMA synchronous=OFF")  # test speed only
    return store


def id_number(n: int) -> str:
    body = f"44090219{50 + n % 40:02d}0101{n % 1000:03d}"
    return body + id_number_check_digit(body)


def add_veteran(store, vid, area, *, category="retired_soldier", status="active", n=0, **extra):
    store.write(
        "veterans", vid,
        {"id_number": id_number(n), "name": f"退役军人{n}", "area": area, "category": category, "status": status, **extra},
        create=True,
    )


def add_visit(store, vid_, veteran_id, area, on, kind="home"):
    store.write("visits", vid_, {"veteran_id": veteran_id, "area": area, "visited_on": on, "kind": kind}, create=True)


def add_petition(store, pid, area, received_on, events=()):
    store.write(
        "petitions", pid,
        {"area": area, "received_on": received_on, "channel": "letter", "summary": "反映生活困难", "petitioner": "李四"},
        create=True,
    )
    for i, (kind, at) in enumerate(events):
        store.write("petition_events", f"{pid}-e{i}", {"petition_id": pid, "area": area, "at": at, "kind": kind}, create=True)


def day(rng, lo: D, hi: D) -> D:
    return lo + dt.timedelta(days=rng.randrange((hi - lo).days + 1))


# Petition scenarios: events as (kind, days after receipt); expected status is known by construction.
SCENARIOS = {
    "none": [],
    "registered": [("register", 0)],
    # 告知 (notify): the written notice of Arts. 22–23 (issue 14: routing alone no longer meets it).
    "forwarded": [("register", 0), ("forward", 3), ("notify", 3)],
    "accepted": [("register", 0), ("notify", 2), ("accept", 5)],
    "replied": [("register", 0), ("accept", 2), ("notify", 2), ("reply", 10)],
    "closed": [("register", 0), ("accept", 1), ("close", 6)],
    "rejected": [("register", 0), ("reject", 4)],
    "escalated": [("register", 0), ("notify", 1), ("accept", 1), ("escalate", 3)],
}


def expected_petition(scenario: str, received: D) -> dict:
    """Status facts from the rules of 信访工作条例, computed by hand for each scenario."""
    events = SCENARIOS[scenario]
    at = {k: received + dt.timedelta(days=d) for k, d in events}
    # 上报 does not end this office's duty (Art. 25, issue 14): an escalated case stays open.
    is_open = scenario not in ("closed", "rejected")
    if scenario in ("none", "registered"):
        overdue = TODAY > received + dt.timedelta(days=15)  # no written notice within 15 days
    elif scenario in ("accepted", "escalated"):
        overdue = TODAY > at["accept"] + dt.timedelta(days=60)
    else:
        overdue = False
    closed_on = at.get("close")
    return {
        "open": is_open,
        "closed": scenario == "closed",
        "closed_in_month": closed_on is not None and closed_on.strftime("%Y-%m") == MONTH,
        "overdue": is_open and overdue,
    }


def generate(store, seed=7):
    """Write a random dataset; return the plain-Python facts of every record."""
    rng = random.Random(seed)
    vets, visits, petitions, conflicts = [], [], [], []
    for n in range(300):
        area = rng.choice(VILLAGES + [TOWNS[0]] * 1)  # a few veterans held at town level
        v = {
            "id": f"v{n}",
            "area": area,
            "category": rng.choice(CATEGORIES + [None, None]),
            "status": rng.choices(["active", "moved_out", "deceased"], [8, 1, 1])[0],
            "deleted": rng.random() < 0.05,
            "merged": rng.random() < 0.04,
        }
        vets.append(v)
        extra = {"merged_into": "v0"} if v["merged"] else {}
        add_veteran(store, v["id"], area, category=v["category"], status=v["status"], n=n, **extra)
        if v["deleted"]:
            store.write("veterans", v["id"], {"deleted": 1})
    for n in range(400):
        v = rng.choice(vets)
        on = day(rng, D(2024, 2, 25), D(2024, 4, 5))
        visit = {"veteran": v["id"], "on": on, "deleted": rng.random() < 0.05}
        visits.append(visit)
        add_visit(store, f"w{n}", v["id"], v["area"], on.isoformat(), kind=rng.choice(list(ENUMS["visit_kind"])))
        if visit["deleted"]:
            store.write("visits", f"w{n}", {"deleted": 1})
    for n in range(150):
        area = rng.choice(VILLAGES + [TOWNS[1]])
        received = day(rng, D(2024, 1, 1), D(2024, 4, 9))
        scenario = rng.choice(list(SCENARIOS))
        events = [
            (k, (received + dt.timedelta(days=d)).isoformat())
            for k, d in SCENARIOS[scenario]
            if received + dt.timedelta(days=d) <= TODAY
        ]
        if len(events) < len(SCENARIOS[scenario]):  # events still in the future: not happened yet
            continue
        p = {"area": area, "received": received, "scenario": scenario, "deleted": rng.random() < 0.05}
        petitions.append(p)
        add_petition(store, f"p{n}", area, received.isoformat(), events)
        if p["deleted"]:
            store.write("petitions", f"p{n}", {"deleted": 1})
    for n in range(30):
        c = {"area": rng.choice(VILLAGES + [COUNTY]), "status": rng.choice(["open", "resolved"])}
        conflicts.append(c)
        store.write("conflicts", f"c{n}", {"kind": "concurrent_edit", "area": c["area"], "status": c["status"]}, create=True)
    # out of scope: another county's veteran and petition
    add_veteran(store, "other", "440903001001", n=999)
    add_visit(store, "w-other", "other", "440903001001", "2024-03-05")
    add_petition(store, "p-other", "440903001001", "2024-03-02")
    return vets, visits, petitions, conflicts


FIGURES = (
    "veterans_on_file", "visited", "petitions_received", "petitions_open", "petitions_closed",
    "petitions_closed_in_month", "petitions_overdue", "conflicts_open",
)


def expected_figures(vets, visits, petitions, conflicts):
    """{area: Counter of figures + categories} for the county, each town and village."""
    exp: dict[str, Counter] = defaultdict(Counter)

    def prefixes(area):
        return [area[:n] for n in (6, 9, 12) if len(area) >= n]

    on_file = {v["id"]: v for v in vets if not v["deleted"] and not v["merged"] and v["status"] == "active"}
    for v in on_file.values():
        for a in prefixes(v["area"]):
            exp[a]["veterans_on_file"] += 1
            exp[a]["cat:" + (v["category"] or "none")] += 1
    visited = {w["veteran"] for w in visits if not w["deleted"] and D(2024, 3, 1) <= w["on"] <= D(2024, 3, 31)}
    for vid in visited & set(on_file):
        for a in prefixes(on_file[vid]["area"]):
            exp[a]["visited"] += 1
    for p in petitions:
        if p["deleted"]:
            continue
        facts = expected_petition(p["scenario"], p["received"])
        for a in prefixes(p["area"]):
            exp[a]["petitions_received"] += p["received"].strftime("%Y-%m") == MONTH
            exp[a]["petitions_open"] += facts["open"]
            exp[a]["petitions_closed"] += facts["closed"]
            exp[a]["petitions_closed_in_month"] += facts["closed_in_month"]
            exp[a]["petitions_overdue"] += facts["overdue"]
    for c in conflicts:
        if c["status"] == "open":
            for a in prefixes(c["area"]):
                exp[a]["conflicts_open"] += 1
    return exp


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    store = fast_store(tmp_path_factory.mktemp("report"))
    facts = generate(store)
    yield store, expected_figures(*facts)
    store.close()


def check_row(row, exp: Counter):
    for name in FIGURES:
        assert getattr(row, name) == exp[name], (row.area, name)
    for code in [*CATEGORIES, "none"]:
        assert row.by_category[code] == exp["cat:" + code], (row.area, code)
    assert sum(row.by_category.values()) == row.veterans_on_file
    if exp["veterans_on_file"]:
        assert row.visit_coverage_pct == round(100 * exp["visited"] / exp["veterans_on_file"], 1)
    else:
        assert row.visit_coverage_pct is None


def test_every_figure_of_every_row(dataset):
    store, exp = dataset
    report = build_report(store, COUNTY, month=MONTH, today=TODAY)
    assert [r.area for r in report.rows] == [
        "440902001", "440902001001", "440902001002", "440902001003",
        "440902002", "440902002001", "440902002002", "440902002003",
        COUNTY,
    ]
    for row in report.rows:
        check_row(row, exp[row.area])
    total = report.total
    assert total.area == COUNTY and total.level == "county" and total.total
    assert [r.level for r in report.rows].count("town") == 2
    # the dataset is not degenerate: every figure is exercised
    for name in FIGURES:
        assert getattr(total, name) > 0, name


def test_town_scope_and_village_scope(dataset):
    store, exp = dataset
    town = build_report(store, TOWNS[1], month=MONTH, today=TODAY)
    assert [r.area for r in town.rows] == [TOWNS[1] + v for v in ("001", "002", "003")] + [TOWNS[1]]
    for row in town.rows:
        check_row(row, exp[row.area])
    village = build_report(store, VILLAGES[4], month=MONTH, today=TODAY)
    assert [r.area for r in village.rows] == [VILLAGES[4]]
    assert village.total.level == "village"
    check_row(village.rows[0], exp[VILLAGES[4]])


def test_bad_scope_or_month(dataset):
    store, _ = dataset
    with pytest.raises(ValidationError):
        build_report(store, "44090", month=MONTH, today=TODAY)
    with pytest.raises(ValidationError):
        build_report(store, COUNTY, month="2024-13", today=TODAY)


def test_overdue_petition_without_acceptance(tmp_path):
    store = fast_store(tmp_path)
    v = VILLAGES[0]
    add_petition(store, "late", v, (TODAY - dt.timedelta(days=20)).isoformat(), [("register", (TODAY - dt.timedelta(days=20)).isoformat())])
    add_petition(store, "bare", v, (TODAY - dt.timedelta(days=20)).isoformat())  # not even registered
    add_petition(store, "fresh", v, (TODAY - dt.timedelta(days=10)).isoformat(), [("register", (TODAY - dt.timedelta(days=10)).isoformat())])
    add_petition(store, "done", v, "2024-03-01", [("register", "2024-03-01"), ("accept", "2024-03-02"), ("close", "2024-04-01")])
    # a deleted close event does not close the petition
    add_petition(store, "undone", v, "2024-04-01", [("register", "2024-04-01"), ("close", "2024-04-02")])
    store.write("petition_events", "undone-e1", {"deleted": 1})
    row = build_report(store, v, month="2024-03", today=TODAY).rows[0]
    assert row.petitions_overdue == 2
    assert row.petitions_open == 4
    assert row.petitions_closed == 1
    assert row.petitions_closed_in_month == 0  # closed on 1 April
    assert row.petitions_received == 4  # 21 March ×2, 31 March, 1 March (not 1 April)
    assert build_report(store, v, month="2024-04", today=TODAY).rows[0].petitions_closed_in_month == 1


def test_deleted_merged_and_off_file_veterans_not_counted(tmp_path):
    store = fast_store(tmp_path)
    v = VILLAGES[0]
    add_veteran(store, "a", v, n=1)
    add_veteran(store, "b", v, n=2)
    store.write("veterans", "b", {"deleted": 1})
    add_veteran(store, "c", v, n=3, merged_into="a")
    add_veteran(store, "d", v, n=4, status="deceased")
    add_veteran(store, "e", v, n=5, status="moved_out")
    add_veteran(store, "f", v, n=6, category=None)
    for i, vid in enumerate("abcdef"):
        add_visit(store, f"w{i}", vid, v, "2024-03-10")
    row = build_report(store, v, month=MONTH, today=TODAY).rows[0]
    assert row.veterans_on_file == 2
    assert row.by_category["retired_soldier"] == 1 and row.by_category["none"] == 1
    assert row.visited == 2 and row.visit_coverage_pct == 100.0


def test_visit_month_boundary(tmp_path):
    store = fast_store(tmp_path)
    v = VILLAGES[0]
    for n, on in enumerate(["2024-03-31", "2024-04-01", "2024-02-29", "2024-03-01"]):
        add_veteran(store, f"v{n}", v, n=n)
        add_visit(store, f"w{n}", f"v{n}", v, on, kind="phone")
    add_visit(store, "twice", "v0", v, "2024-03-15")  # a second visit does not count twice
    row = build_report(store, COUNTY, month=MONTH, today=TODAY).row(v)
    assert (row.veterans_on_file, row.visited, row.visit_coverage_pct) == (4, 2, 50.0)
    dec = build_report(store, COUNTY, month="2023-12", today=TODAY).total
    assert dec.visited == 0


def test_stale_stations(tmp_path):
    store = fast_store(tmp_path)
    stations = [
        {"station": VILLAGES[0], "last_sync": "2024-04-03T09:00:00+08:00"},  # 7 days: fine
        {"station": VILLAGES[1], "last_sync": "2024-04-02T18:00:00+08:00"},  # 8 days: stale
        {"station": VILLAGES[2], "last_sync": None},
        {"station": TOWNS[1], "last_sync": "2024-04-10"},
        {"station": "440903001", "last_sync": None},  # other county: out of scope
    ]
    report = build_report(store, COUNTY, month=MONTH, today=TODAY, stations=stations)
    assert [(s.station, s.days_since_sync) for s in report.stale_stations] == [(VILLAGES[2], None), (VILLAGES[1], 8)]
    assert {r.area for r in report.rows} >= {VILLAGES[0], TOWNS[1]}  # stations appear even without data
    town = build_report(store, TOWNS[0], month=MONTH, today=TODAY, stations=stations)
    assert [s.station for s in town.stale_stations] == [VILLAGES[2], VILLAGES[1]]
    assert town.stale_rows()[0]["last_sync"] == "从未同步"


def test_json_contract_and_table_output(dataset, tmp_path):
    store, exp = dataset
    report = build_report(store, COUNTY, month=MONTH, today=TODAY, generated_at=dt.datetime(2024, 4, 10, 8, 0))
    data = json.loads(report.to_json())
    assert set(data) == {"scope", "month", "today", "generated_at", "categories", "rows", "stale_stations"}
    assert data["month"] == MONTH and data["scope"] == COUNTY and data["generated_at"] == "2024-04-10T08:00:00"
    assert set(data["rows"][0]) == {
        "level", "area", "name", "total", "veterans_on_file", "by_category", "visited", "visit_coverage_pct",
        "petitions_received", "petitions_open", "petitions_closed", "petitions_closed_in_month",
        "petitions_overdue", "conflicts_open",
    }
    assert set(data["rows"][0]["by_category"]) == {*CATEGORIES, "none"}
    headings = dict(Report.columns())
    assert headings["area"] == "区划代码" and headings["category_transferred_cadre"] == "转业干部"
    assert headings["category_none"] == "未分类"
    table = report.table_rows()
    assert all(set(r) >= set(headings) for r in table)
    assert table[-1]["level"] == "合计"
    for suffix in (".xlsx", ".csv"):
        path = write_table(tmp_path / f"报表{suffix}", Report.columns(), table)
        headers, rows = read_table(path)
        assert headers == [h for _, h in Report.columns()]
        total = rows[-1][1]
        assert int(total["在册人数"]) == exp[COUNTY]["veterans_on_file"]
        assert total["层级"] == "合计" and str(total["区划代码"]) == COUNTY
