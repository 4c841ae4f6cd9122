"""台账 exports (station_node.ledgers, ``station-node export --table visits|petitions``):
Chinese headings, one row a visit or a petition with its veteran, petition
status and deadlines from the event log, 检举控告类 withheld unless asked for,
date and area filters, ID numbers and area codes as text in .xlsx and .csv (so
Excel does not eat them), rows streamed (memory does not grow with the ledger).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import tracemalloc
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from messy_roster import make_id, many_ids
from station_node import ledgers, records
from station_node.cli import main
from station_node.home import init_offline, open_store
from sync.engine.errors import ScopeError, ValidationError
from veterans.tabular import read_table

TOWN = "440902001"
VILLAGE = "440902001001"
VILLAGE2 = "440902001002"
TODAY = dt.date(2024, 4, 1)
ZHANG, LI = make_id("19650312", 11), make_id("19660720", 24)

VISIT_HEADINGS = ["序号", "走访日期", "姓名", "身份证号", "类别", "联系电话", "住址", "方式", "事由", "走访人", "情况摘要",
                  "反映困难", "慰问金（元）", "慰问品", "后续跟进", "区划代码", "走访站点"]
PETITION_HEADINGS = ["序号", "收到日期", "信访人", "联系方式", "姓名", "身份证号", "区划代码", "信访形式", "类别", "人数",
                     "事项摘要", "承办人", "办理状态", "下一期限", "到期日", "是否超期", "答复日期", "答复意见", "办结日期",
                     "登记站点"]


def fill(store) -> dict[str, str]:
    """Two veterans in two villages, three visits, three petitions (one confidential)."""
    zhang = records.add_veteran(store, {"id_number": ZHANG, "name": "张三", "area": VILLAGE, "category": "退役士兵",
                                        "phone": "13800138000", "address": "一村5号"})
    li = records.add_veteran(store, {"id_number": LI, "name": "李秀英", "area": VILLAGE2, "category": "烈属"})
    records.add_visit(store, zhang["id"], "入户", date="2024-01-10", visitors=["王站长", "李干事"], summary="春节慰问",
                      fields={"occasion": "春节", "aid_cash": "500", "aid_goods": "米一袋"})
    records.add_visit(store, li["id"], "电话", date="2024-02-01", summary="询问近况")
    records.add_visit(store, zhang["id"], "座谈", date="2024-03-05", summary="座谈会",
                      fields={"difficulties": "腿脚不便", "follow_up": "联系医院"})
    p1 = records.open_petition(store, veteran_id=zhang["id"], channel="走访", summary="优待证办理", received="2024-01-05",
                               class_="申诉求决类", fields={"contact": "13800138000"})
    records.add_petition_event(store, p1["id"], "受理", at="2024-01-10")
    records.add_petition_event(store, p1["id"], "答复", at="2024-02-01", outcome="支持")
    records.add_petition_event(store, p1["id"], "办结", at="2024-02-20")
    p2 = records.open_petition(store, channel="电话", summary="道路维修", received="2024-03-01", petitioner="赵某",
                               area=VILLAGE2, fields={"group_size": "3", "handler": "钱干事"})
    # accepted with the written notice given that day (Arts. 22–23, issue 14)
    records.add_petition_event(store, p2["id"], "受理", at="2024-03-05", served_on="2024-03-05")
    records.open_petition(store, veteran_id=li["id"], channel="书信", summary="反映村干部问题", received="2024-02-10",
                          class_="检举控告类")
    return {"zhang": zhang["id"], "li": li["id"], "p1": p1["id"], "p2": p2["id"]}


@pytest.fixture
def town(tmp_path):
    store = init_offline(tmp_path / "town", TOWN)
    fill(store)
    yield store
    store.close()


def xlsx_rows(path: Path) -> tuple[list[str], list[dict], object]:
    ws = load_workbook(path).worksheets[0]
    headings = [c.value for c in ws[1]]
    return headings, [dict(zip(headings, (c.value for c in row))) for row in ws.iter_rows(min_row=2)], ws


def raw_csv(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8-sig"), newline="")))


# --------------------------------------------------------------------------- visits


def test_visit_ledger_xlsx(town, tmp_path):
    out = tmp_path / "走访台账.xlsx"
    assert ledgers.export_visits(town, out) == ledgers.LedgerResult(3)
    headings, rows, ws = xlsx_rows(out)
    assert headings == VISIT_HEADINGS
    assert ws.title == "走访慰问台账"
    assert rows[0] == {
        "序号": 1, "走访日期": "2024-01-10", "姓名": "张三", "身份证号": ZHANG, "类别": "退役士兵", "联系电话": "13800138000",
        "住址": "一村5号", "方式": "入户", "事由": "春节", "走访人": "王站长、李干事", "情况摘要": "春节慰问", "反映困难": None,
        "慰问金（元）": 500, "慰问品": "米一袋", "后续跟进": None, "区划代码": VILLAGE, "走访站点": TOWN,
    }
    assert [(r["序号"], r["走访日期"], r["姓名"], r["方式"]) for r in rows] == [
        (1, "2024-01-10", "张三", "入户"), (2, "2024-02-01", "李秀英", "电话"), (3, "2024-03-05", "张三", "座谈")]
    assert rows[2]["反映困难"] == "腿脚不便" and rows[2]["后续跟进"] == "联系医院"
    id_cells = [ws.cell(row=i, column=4) for i in (2, 3, 4)]
    assert all(c.data_type == "s" for c in id_cells)  # text: Excel keeps all 18 digits
    assert ws.cell(row=2, column=13).data_type == "n"  # the amount stays a number (sums in Excel)


def test_visit_ledger_csv_keeps_codes_as_text(town, tmp_path):
    out = tmp_path / "走访台账.csv"
    assert ledgers.export_visits(town, out).rows == 3
    header, first, *_ = raw_csv(out)
    assert header == VISIT_HEADINGS
    cell = dict(zip(header, first))
    assert cell["身份证号"] == "\t" + ZHANG and cell["区划代码"] == "\t" + VILLAGE
    assert cell["走访站点"] == TOWN  # 9 digits: Excel keeps them
    assert cell["联系电话"] == "13800138000" and cell["慰问金（元）"] == "500.0"
    headers, rows = read_table(out)  # and it reads back as the text it is
    assert rows[0][1]["身份证号"] == ZHANG and rows[0][1]["区划代码"] == VILLAGE


def test_visit_ledger_filters(town, tmp_path):
    out = tmp_path / "v.csv"
    assert ledgers.export_visits(town, out, since="2024-02-01").rows == 2
    assert ledgers.export_visits(town, out, since="2024/1/10", until="2024年2月1日").rows == 2
    assert ledgers.export_visits(town, out, until="2024-01-09").rows == 0
    assert read_table(out)[0] == VISIT_HEADINGS  # an empty ledger still has its header
    assert ledgers.export_visits(town, out, area=VILLAGE2).rows == 1
    assert read_table(out)[1][0][1]["姓名"] == "李秀英"
    with pytest.raises(ValidationError, match="^起始日期 2024-03-01 晚于截止日期 2024-02-01$"):
        ledgers.export_visits(town, out, since="2024-03-01", until="2024-02-01")
    with pytest.raises(ValidationError, match="^截止日期 明天 不是有效日期"):
        ledgers.export_visits(town, out, until="明天")
    with pytest.raises(ScopeError, match="^区划代码 440902002001 不在本站范围"):
        ledgers.export_visits(town, out, area="440902002001")


# --------------------------------------------------------------------------- petitions


def test_petition_ledger_with_status_and_deadlines(town, tmp_path):
    out = tmp_path / "信访台账.xlsx"
    assert ledgers.export_petitions(town, out, today=TODAY) == ledgers.LedgerResult(2, withheld=1)
    headings, rows, ws = xlsx_rows(out)
    assert headings == PETITION_HEADINGS and ws.title == "信访台账"
    assert rows == [
        {"序号": 1, "收到日期": "2024-01-05", "信访人": "张三", "联系方式": "13800138000", "姓名": "张三",
         "身份证号": ZHANG, "区划代码": VILLAGE, "信访形式": "走访", "类别": "申诉求决类", "人数": None,
         "事项摘要": "优待证办理", "承办人": None, "办理状态": "已办结", "下一期限": None, "到期日": None, "是否超期": "否",
         "答复日期": "2024-02-01", "答复意见": "支持", "办结日期": "2024-02-20", "登记站点": TOWN},
        {"序号": 2, "收到日期": "2024-03-01", "信访人": "赵某", "联系方式": None, "姓名": None, "身份证号": None,
         "区划代码": VILLAGE2, "信访形式": "电话", "类别": None, "人数": 3, "事项摘要": "道路维修", "承办人": "钱干事",
         "办理状态": "办理中", "下一期限": "办理期限", "到期日": "2024-05-04", "是否超期": "否", "答复日期": None,
         "答复意见": None, "办结日期": None, "登记站点": TOWN},
    ]
    # the same petitions, months later: the open one is overdue
    ledgers.export_petitions(town, out, today=dt.date(2024, 6, 1))
    assert [r["是否超期"] for r in xlsx_rows(out)[1]] == ["否", "是"]


def test_petition_ledger_confidential_only_when_asked(town, tmp_path):
    out = tmp_path / "信访台账.csv"
    assert ledgers.export_petitions(town, out, confidential=True, today=TODAY) == ledgers.LedgerResult(3)
    headers, rows = read_table(out)
    assert headers == PETITION_HEADINGS + ["保密（检举控告）"]
    assert [(r["信访人"], r["类别"], r["保密（检举控告）"], r["办理状态"]) for _, r in rows] == [
        ("张三", "申诉求决类", "否", "已办结"), ("李秀英", "检举控告类", "是", "已登记"), ("赵某", None, "否", "办理中")]
    assert ledgers.export_petitions(town, out, since="2024-02-01", until="2024-02-28", today=TODAY) == \
        ledgers.LedgerResult(0, withheld=1)


# --------------------------------------------------------------------------- the command line


def run(home: Path, *args: str):
    return CliRunner().invoke(main, [*args, "--home", str(home)])


def test_cli_exports(tmp_path):
    home = tmp_path / "h"
    assert run(home, "init", "--station", TOWN, "--offline").exit_code == 0
    store = open_store(home)
    try:
        fill(store)
    finally:
        store.close()
    out = tmp_path / "走访.xlsx"
    result = run(home, "export", str(out), "--table", "visits")
    assert (result.exit_code, result.stdout) == (0, f"已导出 3 次走访：{out}\n")
    result = run(home, "export", str(tmp_path / "走访.csv"), "--table", "走访", "--since", "2024-02-01", "--area", VILLAGE)
    assert (result.exit_code, result.stdout) == (0, f"已导出 1 次走访：{tmp_path / '走访.csv'}\n")
    out = tmp_path / "信访.csv"
    result = run(home, "export", str(out), "--table", "petitions")
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [f"已导出 2 件信访：{out}",
                                          "另有 1 件检举控告类信访件（保密）未导出；需要时加 --confidential"]
    result = run(home, "export", str(out), "--table", "信访", "--confidential")
    assert (result.exit_code, result.stdout) == (0, f"已导出 3 件信访：{out}\n")
    result = run(home, "export", str(tmp_path / "名册.xlsx"))
    assert (result.exit_code, result.stdout) == (0, f"已导出 2 条记录：{tmp_path / '名册.xlsx'}\n")

    result = run(home, "export", str(out), "--table", "台账")
    assert result.exit_code == 2
    assert result.stderr.startswith("错误：参数 --table 无效：台账 不在可选值中（veterans 名册、visits 走访、petitions 信访）")
    result = run(home, "export", str(out), "--since", "2024-01-01")
    assert (result.exit_code, result.stderr) == (1, "错误：名册不按日期导出：--since/--until 只用于 --table visits 或 petitions\n")
    result = run(home, "export", str(out), "--table", "visits", "--confidential")
    assert (result.exit_code, result.stderr) == (1, "错误：--confidential 只用于 --table petitions\n")
    result = run(home, "export", str(out), "--table", "visits", "--since", "2024-03-01", "--until", "2024-01-01")
    assert (result.exit_code, result.stderr) == (1, "错误：起始日期 2024-03-01 晚于截止日期 2024-01-01\n")


# --------------------------------------------------------------------------- memory


def _peak_export(tmp_path: Path, n: int) -> int:
    store = init_offline(tmp_path / f"s{n}", VILLAGE)
    try:
        with store.transaction():
            vets = [records.add_veteran(store, {"id_number": i, "name": f"人员{k}", "area": VILLAGE})["id"]
                    for k, i in enumerate(many_ids(20))]
            for k in range(n):
                records.add_visit(store, vets[k % 20], "入户", date=str(dt.date(2020, 1, 1) + dt.timedelta(days=k % 1500)),
                                  summary="走访情况摘要" * 5, visitors="王站长、李干事")
        tracemalloc.start()
        try:
            assert ledgers.export_visits(store, tmp_path / f"v{n}.csv").rows == n
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    finally:
        store.close()


def test_visit_ledger_memory_does_not_grow_with_rows(tmp_path):
    small, large = _peak_export(tmp_path, 2000), _peak_export(tmp_path, 8000)
    assert large < small * 1.3, (small, large)
