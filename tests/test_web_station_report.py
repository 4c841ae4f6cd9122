"""The station page's 报表 (station_node.web.report) through the real app over a
real station home (tests/webapp.py): the figures equal what
``veterans.report.build_report`` computes over the station's store opened
separately (as ``station-node report`` does) and counts known by construction;
three SVG charts; the .xlsx download."""

from __future__ import annotations

import datetime as dt
import html
import io
import re

import openpyxl
import pytest

from station_node import home as home_mod
from veterans.report import build_report
from veterans.values import id_number_check_digit
from webapp import station_client, station_home

TOWN = "110101001"
VILLAGE = "110101001001"
VILLAGE2 = "110101001002"
TODAY = dt.date.today()
MONTH = f"{TODAY:%Y-%m}"
LAST_MONTH = f"{TODAY.replace(day=1) - dt.timedelta(days=1):%Y-%m}"


def id_number(n: int) -> str:
    body = f"1101011970{n:07d}"
    return body + id_number_check_digit(body)


def days_ago(n: int) -> str:
    return (TODAY - dt.timedelta(days=n)).isoformat()


@pytest.fixture
def town(tmp_path):
    """A town's station with, on file: VILLAGE 3 (one visited this month, one last month), VILLAGE2 1
    (visited this month), the town itself 1; one deceased at VILLAGE2 (off file); three petitions:
    one overdue (no event 30 days after receipt), one closed, one received today."""
    home = station_home(tmp_path, TOWN)
    client = station_client(home)
    store = client.app.extensions["station"].store
    vets = [("v1", VILLAGE, "retired_soldier", "active"), ("v2", VILLAGE, "retired_soldier", "active"),
            ("v3", VILLAGE, "red_army", "active"), ("v4", VILLAGE2, "martyr_family", "active"),
            ("v5", TOWN, "retired_soldier", "active"), ("v6", VILLAGE2, "retired_soldier", "deceased")]
    for n, (vid, area, category, status) in enumerate(vets, start=1):
        store.write("veterans", vid, {"id_number": id_number(n), "name": f"退役军人{n}", "area": area,
                                      "category": category, "status": status}, create=True)
    store.write("visits", "w1", {"veteran_id": "v1", "area": VILLAGE, "visited_on": f"{MONTH}-01", "kind": "home"},
                create=True)
    store.write("visits", "w2", {"veteran_id": "v2", "area": VILLAGE, "visited_on": f"{LAST_MONTH}-01",
                                 "kind": "home"}, create=True)
    store.write("visits", "w3", {"veteran_id": "v4", "area": VILLAGE2, "visited_on": f"{MONTH}-01", "kind": "phone"},
                create=True)
    for pid, area, received, events in (
        ("p1", VILLAGE, days_ago(30), []),
        ("p2", VILLAGE2, days_ago(30), [("register", days_ago(30)), ("accept", days_ago(29)), ("close", days_ago(20))]),
        ("p3", VILLAGE2, TODAY.isoformat(), []),
    ):
        store.write("petitions", pid, {"petitioner": "李四", "area": area, "received_on": received, "channel": "visit",
                                       "summary": "反映困难"}, create=True)
        for i, (kind, at) in enumerate(events):
            store.write("petition_events", f"{pid}-e{i}", {"petition_id": pid, "area": area, "at": at, "kind": kind},
                        create=True)
    return home, client


def independent_report(home, month: str):
    store = home_mod.open_store(home)
    try:
        return build_report(store, store.meta("scope"), month=month, today=TODAY)
    finally:
        store.close()


def text_of(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", fragment)).strip()


def table_cells(page: str, table_id: str) -> dict[str, dict[str, str]]:
    table = re.search(rf'<table id="{table_id}".*?</table>', page, re.S).group(0)
    return {area: {k: text_of(v) for k, v in re.findall(r'data-key="([^"]+)"[^>]*>(.*?)</t[dh]>', body, re.S)}
            for area, body in re.findall(r'<tr data-testid="[^"]+" data-area="([^"]+)"[^>]*>(.*?)</tr>', table, re.S)}


def test_station_report_page_shows_the_reports_figures_and_charts(town):
    home, client = town
    r = client.get(f"/report/?period={MONTH}")
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    rep = independent_report(home, MONTH)
    expected = {row["area"]: {k: str(v) for k, v in row.items()} for row in rep.table_rows()}
    figures, by_category = table_cells(page, "report-table"), table_cells(page, "report-categories")
    assert list(figures) == list(by_category) == [VILLAGE, VILLAGE2, TOWN]
    for area in figures:
        for key, value in {**figures[area], **by_category[area]}.items():
            assert value == expected[area][key], (area, key)
    # by construction
    assert figures[TOWN]["level"] == "合计" and figures[TOWN]["veterans_on_file"] == "5"
    assert figures[VILLAGE]["visit_coverage_pct"] == "33.3%" and figures[VILLAGE2]["visit_coverage_pct"] == "100.0%"
    assert (figures[TOWN]["petitions_open"], figures[TOWN]["petitions_closed"], figures[TOWN]["petitions_overdue"]) \
        == ("2", "1", "1")
    assert by_category[TOWN]["category_retired_soldier"] == "3" and by_category[TOWN]["category_red_army"] == "1"
    for chart in ("chart-coverage", "chart-petitions", "chart-categories"):
        assert re.search(rf'<figure class="chart" id="{chart}"[^>]*>\s*<figcaption>[^<]+</figcaption>\s*<svg ', page)
    bars = {(label, series): value for label, series, value in
            re.findall(r'<g class="bar" data-label="([^"]*)" data-series="([^"]*)" data-value="([^"]*)"', page)}
    assert bars[(VILLAGE, "走访覆盖率")] == "33.3" and bars[(VILLAGE2, "走访覆盖率")] == "100.0"
    assert (bars[(VILLAGE, "超期")], bars[(VILLAGE2, "已办结")], bars[(VILLAGE2, "未办结（未超期）")]) == ("1", "1", "1")
    assert bars[("红军老战士", "在册人数")] == "1" and bars[("退役士兵", "在册人数")] == "3"
    assert f'id="report-period" name="period" value="{MONTH}"' in page
    assert f'id="report-download" href="/report/download?period={MONTH}"' in page
    assert not re.search(r"\sstyle=", page) and not re.search(r"<script(?![^>]*\ssrc=)", page)


def test_another_month_is_its_own_report(town):
    home, client = town
    page = client.get(f"/report/?month={LAST_MONTH}").get_data(as_text=True)
    figures = table_cells(page, "report-table")
    assert figures[VILLAGE]["visited"] == "1" and figures[VILLAGE]["visit_coverage_pct"] == "33.3%"
    assert figures[VILLAGE2]["visited"] == "0"
    assert figures == {a: {k: str(row[k]) for k in figures[a]} for a, row in
                       ((r["area"], r) for r in independent_report(home, LAST_MONTH).table_rows())}
    # ?period=: the petitions as of the month's end, the figures the command line's --period gives
    page = client.get(f"/report/?period={LAST_MONTH}").get_data(as_text=True)
    store = home_mod.open_store(home)
    try:
        rep = build_report(store, store.meta("scope"), period=LAST_MONTH, today=TODAY)
    finally:
        store.close()
    assert table_cells(page, "report-table") == {
        a: {k: str(row[k]) for k in table_cells(page, "report-table")[a]} for a, row in
        ((r["area"], r) for r in rep.table_rows())}
    assert f"信访状态截至 {rep.as_of.isoformat()}" in page and f'value="{LAST_MONTH}"' in page


def test_station_report_download_is_the_xlsx_of_the_report(town):
    home, client = town
    r = client.get(f"/report/download?period={MONTH}")
    assert r.status_code == 200 and r.mimetype.endswith("spreadsheetml.sheet")
    assert f"{TOWN}-{MONTH}.xlsx" in r.headers["Content-Disposition"]
    book = openpyxl.load_workbook(io.BytesIO(r.data))
    assert book.sheetnames == ["汇总", "分村", "上报统计", "逾期信访", "未联系"]  # the A4 workbook, no registry
    sheet = book["汇总"]  # a town's report: its villages and the total
    headings = [c.value for c in sheet[3]]
    rows = [dict(zip(headings, row)) for row in sheet.iter_rows(min_row=4, values_only=True)]
    assert [row["区划代码"] for row in rows] == [VILLAGE, VILLAGE2, TOWN]
    total = rows[-1]
    assert total["层级"] == "合计" and total["在册人数"] == 5 and total["超期信访"] == 1
    cell = sheet.cell(row=6, column=headings.index("走访覆盖率") + 1)
    assert cell.value == pytest.approx(0.4) and cell.number_format == "0.0%"  # v1 and v4 of five


def test_a_village_station_and_a_bad_month(tmp_path):
    home = station_home(tmp_path)  # 110101001001, empty
    client = station_client(home)
    page = client.get("/report/").get_data(as_text=True)
    figures = table_cells(page, "report-table")
    assert list(figures) == ["110101001001"] and figures["110101001001"]["veterans_on_file"] == "0"
    assert figures["110101001001"]["visit_coverage_pct"] == "—"
    assert page.count('class="chart"') == 3 and f'value="{MONTH}"' in page
    r = client.get("/report/?month=13-2026")
    assert r.status_code == 400 and "月份" in r.get_data(as_text=True)
    r = client.get("/report/?period=2026-Q5")
    assert r.status_code == 400 and "统计期间" in r.get_data(as_text=True)
    assert client.get("/report/?period=2026-Q1").status_code == 200
