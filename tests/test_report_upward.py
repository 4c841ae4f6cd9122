"""The counts a county sends upward (issue 14 §4): ``Report.upward`` of a report made for a
period — categories counting the further ones, 重点优抚对象, 伤残等级 bands, 档案完整,
新增/迁出/去世, 光荣牌 households, visits by kind and occasion with 慰问金/物资, 重点 coverage,
信访 件/人次/集体访/按期受理, by 领域 — and an archive made before them still compared."""

from __future__ import annotations

import datetime as dt

import pytest

from station_node import records
from sync.store.station import Store
from veterans.report import build_report, compare, report_from_dict
from veterans.values import ENUMS, id_number_check_digit

D = dt.date
VILLAGE = "440902001001"
TODAY = D(2026, 12, 2)


def id_number(n: int) -> str:
    body = f"44090219600101{n:03d}"
    return body + id_number_check_digit(body)


FULL = {"phone": "13800000000", "address": "一村一号", "enlisted_on": "1978-12-01", "discharged_on": "1983-01-01",
        "political_status": "cpc_member", "placement": "self_employed"}


@pytest.fixture
def store(tmp_path):
    store = Store(tmp_path / "s.db", create=True)
    store.set_meta("station", VILLAGE)
    store.set_meta("scope", VILLAGE)

    def vet(n, **fields):
        return records.add_veteran(store, {"id_number": id_number(n), "name": f"退役军人{n}", "area": VILLAGE,
                                           **fields})["id"]

    ids = {
        1: vet(1, category="retired_soldier", categories="war_veteran", priority_type="disabled_soldier",
               disability_level="level3", registered_on="2026-11-05", **FULL),
        2: vet(2, category="disabled_soldier", disability_level="level6", registered_on="2026-06-01",
               **{**FULL, "phone": None}),  # no phone: the file is not complete
        3: vet(3, category="retired_soldier", status="deceased", died_on="2026-11-10", registered_on="2020-01-01"),
        4: vet(4, category="retired_soldier", status="moved_out", moved_out_on="2026-10-01",
               registered_on="2020-01-01"),
    }
    records.add_visit(store, ids[1], "入户", date="2026-11-03", today=TODAY,
                      fields={"occasion": "spring_festival", "aid_cash": 500, "aid_goods_value": 200.5})
    records.add_visit(store, ids[2], "电话", date="2026-11-04", today=TODAY, fields={"occasion": "regular"})
    records.add_visit(store, ids[1], "电话", date="2026-10-01", today=TODAY)  # before the period
    records.add_plaque(store, ids[1], {"hung_on": "2026-06-01"}, today=TODAY)
    # six people, refused within the 15 days: collective, notified on time
    group = records.open_petition(store, veteran_id=ids[1], channel="走访", summary="a", received="2026-11-02",
                                  fields={"group_size": 6, "domain": "优抚待遇"}, today=TODAY)["id"]
    records.add_petition_event(store, group, "不予受理", at="2026-11-10", served_on="2026-11-10", today=TODAY)
    # one person, never notified: its 15 days ran out in November
    records.open_petition(store, veteran_id=ids[2], channel="书信", summary="b", received="2026-11-01", today=TODAY)
    # received in October: not counted in November's batches
    records.open_petition(store, veteran_id=ids[2], channel="书信", summary="c", received="2026-10-05", today=TODAY)
    yield store
    store.close()


def test_the_upward_counts_of_a_month(store):
    up = build_report(store, VILLAGE, period="2026-11", today=TODAY).to_dict()["upward"]
    cats = up["by_category"]
    assert set(cats) == set(ENUMS["category"])  # every category shown, zeros too
    assert (cats["retired_soldier"], cats["war_veteran"], cats["disabled_soldier"], cats["red_army"]) == (1, 1, 1, 0)
    assert up["veterans_on_file"] == 2
    assert up["by_priority_type"]["disabled_soldier"] == 1 and sum(up["by_priority_type"].values()) == 1
    assert up["disability_bands"] == {"level1_4": 1, "level5_6": 1, "level7_10": 0}
    assert (up["files_complete"], up["files_complete_pct"]) == (1, 50.0)
    assert (up["new"], up["moved_out"], up["deceased"]) == (1, 0, 1)
    assert (up["plaque_households"], up["plaque_hung"], up["plaque_hung_pct"]) == (2, 1, 50.0)
    assert up["visits"] == 2
    assert up["visits_by_kind"]["home"] == 1 and up["visits_by_kind"]["phone"] == 1
    assert up["visits_by_occasion"]["spring_festival"] == 1 and up["visits_by_occasion"]["regular"] == 1
    assert (up["priority_on_file"], up["priority_contacted"], up["priority_coverage_pct"]) == (1, 1, 100.0)
    assert (up["aid_cash"], up["aid_goods_value"]) == (500.0, 200.5)
    assert (up["petition_batches"], up["petition_person_times"], up["petitions_collective"]) == (2, 7, 1)
    assert (up["petitions_notice_due"], up["petitions_notice_on_time"], up["notice_on_time_pct"]) == (2, 1, 50.0)
    assert up["petitions_by_domain"] == {"优抚待遇": 1, "未填": 1}
    october = build_report(store, VILLAGE, period="2026-10", today=TODAY).to_dict()["upward"]
    assert (october["moved_out"], october["visits"], october["petition_batches"]) == (1, 1, 1)
    assert october["aid_cash"] == 0 and october["priority_contacted"] == 1  # the October call


def test_an_archive_without_the_upward_counts_is_still_compared(store):
    now = build_report(store, VILLAGE, period="2026-11", today=TODAY)
    old = now.to_dict()
    del old["upward"]  # as archived before the counts existed
    assert report_from_dict(old).upward is None
    assert compare(old, now) == []
    old["rows"][-1]["visited"] = 0
    assert [(c.figure, c.archived, c.now) for c in compare(old, now)] == [("visited", 0, 2)]
    assert "upward" not in build_report(store, VILLAGE, month="2026-11", today=TODAY).to_dict()


def test_the_xlsx_prints_on_a4(store, tmp_path):
    from openpyxl import load_workbook

    from veterans.report_xlsx import write_report_xlsx

    rep = build_report(store, VILLAGE, period="2026-11", today=TODAY)
    names = {VILLAGE: "东村"}
    path = write_report_xlsx(tmp_path / "r.xlsx", rep, names=names, office="东村服务站", by="张三", made_on=TODAY,
                             overdue=[{"petitioner": "李四", "confidential": True, "area": VILLAGE,
                                       "received_on": "2026-11-01", "deadline": "受理告知期限", "due": "2026-11-16"}],
                             uncontacted=[{"name": "退役军人2", "area": VILLAGE, "last_contact": None}], stale=True)
    wb = load_workbook(path)
    assert wb.sheetnames == ["汇总", "分村", "上报统计", "逾期信访", "未联系", "未同步网点"]
    ws = wb["汇总"]
    assert ws["A1"].value.startswith("东村（440902001001） 2026年11月") and "填报人：张三" in ws["A2"].value
    assert "制表单位：东村服务站" in ws["A2"].value
    headings = [c.value for c in ws[3]]
    col = headings.index("走访覆盖率") + 1
    cell = ws.cell(row=4, column=col)
    assert cell.value == pytest.approx(1.0) and cell.number_format == "0.0%"  # 2 of 2 on file visited
    assert ws.page_setup.paperSize == 9 and ws.page_setup.fitToWidth == 1 and ws.sheet_properties.pageSetUpPr.fitToPage
    assert ws.freeze_panes == "A4" and ws.print_title_rows == "$1:$3"
    up = {r[0].value: r[1] for r in wb["上报统计"].iter_rows(min_row=4)}
    assert up["光荣牌悬挂率"].value == pytest.approx(0.5) and up["光荣牌悬挂率"].number_format == "0.0%"
    assert up["信访人次"].value == 7
    assert [c.value for c in wb["逾期信访"][4]][:2] == ["保密", "东村（440902001001）"]
    assert wb["未联系"]["C4"].value == "从未联系"
    # no area list: the bare code in the title
    bare = load_workbook(write_report_xlsx(tmp_path / "b.xlsx", rep, office="站", by="甲", made_on=TODAY))
    assert bare["汇总"]["A1"].value.startswith("440902001001 2026年11月") and "未同步网点" not in bare.sheetnames


def test_both_command_lines_write_the_a4_workbook(tmp_path):
    from click.testing import CliRunner
    from openpyxl import load_workbook

    from county_hub import home as hub_home
    from county_hub.cli import main as hub_main
    from station_node import home as station_home
    from station_node.cli import main as station_main

    runner = CliRunner()
    home = tmp_path / "station"
    station_home.init_offline(home, VILLAGE).close()
    store = station_home.open_store(home)
    try:
        vid = records.add_veteran(store, {"id_number": id_number(1), "name": "退役军人1", "area": VILLAGE})["id"]
        records.open_petition(store, veteran_id=vid, channel="书信", summary="a", received="2026-01-05",
                              today=TODAY)  # never notified: overdue
    finally:
        store.close()
    out = tmp_path / "s.xlsx"
    result = runner.invoke(station_main, ["report", "--period", "2026", "--out", str(out), "--office", "某村服务站",
                                          "--by", "王五", "--home", str(home)])
    assert result.exit_code == 0, result.stderr
    wb = load_workbook(out)
    assert wb.sheetnames == ["汇总", "分村", "上报统计", "逾期信访", "未联系"]  # no registry at a station
    assert "制表单位：某村服务站" in wb["汇总"]["A2"].value and "填报人：王五" in wb["汇总"]["A2"].value
    assert [c.value for c in wb["逾期信访"][4]][:3] == ["退役军人1", VILLAGE, "2026-01-05"]
    assert wb["未联系"]["A4"].value == "退役军人1"
    bad = runner.invoke(station_main, ["report", "--office", "某站", "--home", str(home)])
    assert bad.exit_code == 1 and bad.stderr.startswith("错误：") and ".xlsx" in bad.stderr

    hub = tmp_path / "hub"
    hub_home.init_hub(hub, "440902", "茂南区", [])
    out = tmp_path / "h.xlsx"
    result = runner.invoke(hub_main, ["report", "--period", "2026-11", "--out", str(out), "--by", "赵六",
                                      "--home", str(hub)])
    assert result.exit_code == 0, result.stderr
    wb = load_workbook(out)
    assert wb.sheetnames[-1] == "未同步网点" and "440902退役军人服务中心" in wb["汇总"]["A2"].value
