"""Reports for any period — a month, a quarter, a year, a range of days — with the
petitions as of the period's end (not as of today), in ``veterans.report`` and in both
command lines (``county-hub report --period``, ``station-node report --period``)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from click.testing import CliRunner

from county_hub import home as hub_home
from county_hub.cli import main as hub_main
from station_node import home as station_home
from station_node import records
from station_node.cli import main as station_main
from sync.engine.errors import ValidationError
from sync.store.station import Store
from veterans.report import Period, build_report, parse_period
from veterans.values import id_number_check_digit

D = dt.date
VILLAGE = "440902001001"
TODAY = D(2026, 12, 2)


@pytest.mark.parametrize("text, kind, first, last, label, title", [
    ("2026-11", "month", D(2026, 11, 1), D(2026, 11, 30), "2026-11", "2026年11月"),
    ("2026年2月", "month", D(2026, 2, 1), D(2026, 2, 28), "2026-02", "2026年2月"),
    ("2026-Q4", "quarter", D(2026, 10, 1), D(2026, 12, 31), "2026-Q4", "2026年第四季度"),
    ("2026q1", "quarter", D(2026, 1, 1), D(2026, 3, 31), "2026-Q1", "2026年第一季度"),
    ("2026", "year", D(2026, 1, 1), D(2026, 12, 31), "2026", "2026年"),
    ("2026-10-01..2026-11-30", "range", D(2026, 10, 1), D(2026, 11, 30), "2026-10-01..2026-11-30",
     "2026-10-01至2026-11-30"),
    ("2026/10/5至2026/10/9", "range", D(2026, 10, 5), D(2026, 10, 9), "2026-10-05..2026-10-09",
     "2026-10-05至2026-10-09"),
])
def test_periods_as_typed(text, kind, first, last, label, title):
    p = parse_period(text)
    assert (p.kind, p.first, p.last, p.label, p.title) == (kind, first, last, label, title)
    assert parse_period(p.label) == p  # the label is read back as the same period


@pytest.mark.parametrize("text", ["", "2026-Q5", "2026-13", "1850", "2026-11-30..2026-10-01", "上个月", "2026-10-01.."])
def test_bad_periods_are_refused(text):
    with pytest.raises(ValidationError):
        parse_period(text)


def test_as_of_is_the_end_or_today_while_running():
    assert parse_period("2026-11").as_of(TODAY) == D(2026, 11, 30)
    assert parse_period("2026-Q4").as_of(TODAY) == TODAY
    assert Period("range", D(2026, 1, 1), D(2026, 1, 31)).word == "本期"


def id_number(n: int) -> str:
    body = f"44090219600101{n:03d}"
    return body + id_number_check_digit(body)


def _fill(store: Store) -> dict:
    """A village's records across October–December 2026."""
    ids = {n: records.add_veteran(store, {"id_number": id_number(n), "name": f"退役军人{n}", "area": VILLAGE,
                                          "status": "active"})["id"] for n in range(1, 5)}
    for vid, on in ((1, "2026-10-15"), (2, "2026-11-03"), (2, "2026-11-20"), (3, "2026-12-01")):
        records.add_visit(store, ids[vid], "入户", date=on, today=TODAY)
    pet = {}
    # received 20 October, 登记 only, refused on 1 December: open and past its 15 days at the end of November
    pet["late_reject"] = records.open_petition(store, veteran_id=ids[1], channel="书信", summary="a",
                                               received="2026-10-20", today=TODAY)["id"]
    records.add_petition_event(store, pet["late_reject"], "不予受理", at="2026-12-01", today=TODAY)
    # received 2 November, 登记 only: past its 15 days from 18 November on
    pet["november"] = records.open_petition(store, veteran_id=ids[2], channel="电话", summary="b",
                                            received="2026-11-02", today=TODAY)["id"]
    # received in December: did not exist at the end of November
    pet["december"] = records.open_petition(store, veteran_id=ids[3], channel="书信", summary="c",
                                            received="2026-12-01", today=TODAY)["id"]
    # received and refused in October
    pet["october"] = records.open_petition(store, veteran_id=ids[4], channel="书信", summary="d",
                                           received="2026-10-05", today=TODAY)["id"]
    records.add_petition_event(store, pet["october"], "不予受理", at="2026-10-10", today=TODAY)
    return pet


@pytest.fixture
def store(tmp_path):
    store = Store(tmp_path / "s.db", create=True)
    store.set_meta("station", VILLAGE)
    store.set_meta("scope", VILLAGE)
    _fill(store)
    yield store
    store.close()


def figures(rep, area=VILLAGE) -> dict:
    r = rep.row(area).to_dict()
    return {k: r[k] for k in ("veterans_on_file", "visited", "petitions_received", "petitions_open", "petitions_closed",
                              "petitions_closed_in_month", "petitions_overdue")}


def test_a_past_month_is_as_of_its_end(store):
    rep = build_report(store, VILLAGE, period="2026-11", today=TODAY)
    assert rep.as_of == D(2026, 11, 30) and rep.month == "2026-11"
    # the refusal of 1 December is not yet made, the December petition not yet received
    assert figures(rep) == {"veterans_on_file": 4, "visited": 1, "petitions_received": 1, "petitions_open": 2,
                            "petitions_closed": 0, "petitions_closed_in_month": 0, "petitions_overdue": 2}
    data = rep.to_dict()
    assert data["period"] == {"kind": "month", "label": "2026-11", "first": "2026-11-01", "last": "2026-11-30"}
    assert data["as_of"] == "2026-11-30"
    # the same month made later gives the same figures: nothing dated inside it changed
    assert figures(build_report(store, VILLAGE, period="2026-11", today=D(2027, 3, 1))) == figures(rep)


def test_the_pages_month_keyword_is_unchanged(store):
    """``month=`` (the web pages): the petitions as of today, the JSON keys as they were."""
    rep = build_report(store, VILLAGE, month="2026-11", today=TODAY)
    # as of 2 December: the October one refused, the December one open and within its days
    assert figures(rep)["petitions_open"] == 2 and figures(rep)["petitions_overdue"] == 1
    assert "period" not in rep.to_dict() and "as_of" not in rep.to_dict()
    assert dict(rep.columns())["petitions_received"] == "本月收到信访"


def test_quarter_year_and_range(store):
    q4 = build_report(store, VILLAGE, period="2026-Q4", today=TODAY)
    assert q4.as_of == TODAY  # still running
    assert figures(q4) == {"veterans_on_file": 4, "visited": 3, "petitions_received": 4, "petitions_open": 2,
                           "petitions_closed": 0, "petitions_closed_in_month": 0, "petitions_overdue": 1}
    assert dict(q4.period_columns())["petitions_received"] == "本季度收到信访"
    year = build_report(store, VILLAGE, period="2026", today=TODAY)
    assert figures(year) == figures(q4) and dict(year.period_columns())["petitions_closed_in_month"] == "本年办结信访"
    october = build_report(store, VILLAGE, period="2026-10-01..2026-10-31", today=TODAY)
    assert october.as_of == D(2026, 10, 31)  # the 20 October petition still within its 15 days
    assert figures(october) == {"veterans_on_file": 4, "visited": 1, "petitions_received": 2, "petitions_open": 1,
                                "petitions_closed": 0, "petitions_closed_in_month": 0, "petitions_overdue": 0}
    span = build_report(store, VILLAGE, period="2026-11-01..2026-12-01", today=TODAY)
    assert span.as_of == D(2026, 12, 1)  # the refusal of that day counts
    assert figures(span) == {"veterans_on_file": 4, "visited": 2, "petitions_received": 2, "petitions_open": 2,
                             "petitions_closed": 0, "petitions_closed_in_month": 0, "petitions_overdue": 1}
    assert dict(span.period_columns())["petitions_received"] == "本期收到信访"


# --------------------------------------------------------------------------- the command lines


def _past_month() -> str:
    return (dt.date.today().replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")


def test_station_node_report_period(tmp_path):
    home = tmp_path / "st"
    station_home.init_offline(home, VILLAGE).close()
    store = station_home.open_store(home)
    try:
        vid = records.add_veteran(store, {"id_number": id_number(1), "name": "张三", "area": VILLAGE})["id"]
        month = _past_month()
        records.add_visit(store, vid, "入户", date=f"{month}-10")
    finally:
        store.close()
    runner = CliRunner()
    year = month[:4]
    result = runner.invoke(station_main, ["report", "--period", year, "--json", "--home", str(home)])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["period"]["kind"] == "year" and data["month"] == year and data["rows"][-1]["visited"] == 1
    by_month = json.loads(runner.invoke(station_main, ["report", "--month", month, "--json", "--home", str(home)]).stdout)
    assert by_month["period"]["label"] == month and by_month["rows"][-1]["visited"] == 1
    human = runner.invoke(station_main, ["report", "--period", f"{year}-Q1", "--home", str(home)]).stdout
    assert "第一季度统计报表" in human and "本季度收到信访" in human
    bad = runner.invoke(station_main, ["report", "--period", "2026-Q9", "--home", str(home)])
    assert bad.exit_code == 1 and bad.stderr.startswith("错误：") and "统计期间" in bad.stderr


def test_county_hub_report_period(tmp_path):
    home = tmp_path / "hub"
    hub_home.init_hub(home, "440902", "茂南区", [])
    runner = CliRunner()
    result = runner.invoke(hub_main, ["report", "--period", "2026-10-01..2026-11-30", "--json", "--home", str(home)])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["period"] == {"kind": "range", "label": "2026-10-01..2026-11-30", "first": "2026-10-01",
                              "last": "2026-11-30"}
    assert data["month"] == "2026-10-01..2026-11-30" and "archived" not in data
    assert runner.invoke(hub_main, ["report", "--period", "2026-11", "--home", str(home)]).exit_code == 0
    bad = runner.invoke(hub_main, ["report", "--period", "明年", "--home", str(home)])
    assert bad.exit_code == 1 and bad.stderr.startswith("错误：") and len(bad.stderr.strip().splitlines()) == 1
