"""Rosters as counties have them (tests/messy_roster.py): a title merged over the
columns, blank rows, headings with line breaks and spaces and their variants, a
row of column numbers, two header rows, ID numbers stored as numbers (intact,
and with the last three digits Excel turned into 000), year-month dates as
text, numbers and month-formatted cells, 合计 / 填表人 / 审核人 / 说明 rows, an
unknown column, a GBK CSV. The error report names each person; ``--errors``
writes the roster back with a 错误 column that, corrected, imports; a dry run
lists each record's change as ``字段：旧 → 新``.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

import messy_roster as M
from station_node.cli import main
from station_node.home import init_offline
from station_node.roster import ERRORS_HEADING, RosterError, import_roster, write_errors
from sync.engine.errors import ValidationError
from veterans.values import gender_from_id

VILLAGE = M.VILLAGE


@pytest.fixture
def village(tmp_path):
    store = init_offline(tmp_path / "village", VILLAGE)
    yield store
    store.close()


def dump(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        return "\n".join(conn.iterdump())
    finally:
        conn.close()


def by_id_number(store) -> dict[str, dict]:
    return {v["id_number"]: v for v in store.select("veterans")}


def assert_stored(store, people: list[M.Person], fields: set[str] | None = None) -> None:
    """The people are on file with their expected values (of ``fields`` only, when given)."""
    vets = by_id_number(store)
    assert len(vets) == len(people)
    for p in people:
        vet = vets[p.expect["id_number"]]
        assert vet["name"] == p.name
        assert vet["area"] == VILLAGE and vet["status"] == "active"
        assert vet["gender"] == gender_from_id(p.expect["id_number"])
        for name, value in p.expect.items():
            if fields is None or name in fields:
                assert vet[name] == value, (p.name, name, vet[name], value)


def skipped_warning(lines: dict[str, int]) -> str:
    return f"已跳过 4 行非人员行（列序号、合计行、签名行、说明行）：第 {'、'.join(map(str, lines.values()))} 行"


# --------------------------------------------------------------------------- good rosters


@pytest.mark.parametrize("id_heading", ["身份证\n号码", "公民身份号码", "身份证 号码", "公民身份证号码", "身份证号码（18位）"])
@pytest.mark.parametrize("two_level", [False, True])
def test_messy_xlsx_imports(village, tmp_path, id_heading, two_level):
    path = tmp_path / "花名册.xlsx"
    M.write_xlsx(path, M.GOOD, id_heading=id_heading, phone_heading="联系\n电话", two_level=two_level)
    result = import_roster(village, path)
    assert (result.created, result.updated, result.unchanged) == (5, 0, 0)
    after = M.footer_lines(M.GOOD, two_level=two_level)
    numbers = 6 if two_level else 5
    assert result.warnings == [
        "未识别的列已忽略：宗教信仰",
        skipped_warning({"列序号": numbers, "合计": after["合计"], "填表人": after["填表人"], "说明": after["说明"]}),
    ]
    assert result.skipped == [(numbers, "列序号"), (after["empty"], "无人员信息"), (after["合计"], "合计行"),
                              (after["填表人"], "签名行"), (after["说明"], "说明行")]
    assert_stored(village, M.GOOD)
    # the same file again: nothing to do
    again = import_roster(village, path)
    assert (again.created, again.updated, again.unchanged, again.changes) == (0, 0, 5, [])


def test_messy_gbk_csv_imports_and_agrees_with_the_xlsx(village, tmp_path):
    csv_path = tmp_path / "名册.csv"
    lines = M.write_gbk_csv(csv_path, M.GOOD)
    assert csv_path.read_bytes().decode("gbk").startswith(M.TITLE)
    result = import_roster(village, csv_path)
    assert result.created == 5
    assert result.warnings == [
        "未识别的列已忽略：籍贯",
        f"已跳过 2 行非人员行（合计行、签名行）：第 {lines['钱七'] + 1}、{lines['钱七'] + 2} 行",
    ]
    assert_stored(village, M.GOOD, {"id_number", "birth_date", "phone", "category", "enlisted_on", "discharged_on"})
    # the xlsx of the same people adds only what the CSV has no column for
    xlsx = tmp_path / "名册.xlsx"
    M.write_xlsx(xlsx, M.GOOD)
    again = import_roster(village, xlsx)
    assert (again.created, again.updated) == (0, 5)
    assert {name for c in again.changes for name, _, _ in c.fields} == {"address", "ethnicity", "note"}
    assert_stored(village, M.GOOD)


# --------------------------------------------------------------------------- bad rows


def test_messy_xlsx_bad_rows_name_each_person(village, tmp_path):
    path = tmp_path / "花名册.xlsx"
    lines = M.write_xlsx(path, M.GOOD + M.BAD)
    before = dump(village.path)
    with pytest.raises(RosterError) as info:
        import_roster(village, path)
    err = info.value
    assert dump(village.path) == before
    assert str(err) == "名册有 3 行有误，未导入任何记录（请改正后重新导入）"
    assert err.errors == [f"第 {lines[p.name]} 行（{p.name}）：{p.problem}" for p in M.BAD]
    assert [(p.line, p.who) for p in err.problems] == [(lines[p.name], p.name) for p in M.BAD]


def test_messy_gbk_csv_bad_rows(village, tmp_path):
    path = tmp_path / "名册.csv"
    lines = M.write_gbk_csv(path, M.GOOD + M.BAD)
    with pytest.raises(RosterError) as info:
        import_roster(village, path)
    assert info.value.errors == [
        f"第 {lines['孙八']} 行（孙八）：身份证号 4.40902E+17 被 Excel 存成了科学计数法的数字，数字已丢失"
        "（请在 Excel 中把该列设为“文本”格式后重新录入）",
        # 1983.1 as text is what the cell says: January (the CSV keeps no number format)
        f"第 {lines['吴十']} 行（吴十）：{M.BAD[2].problem}",
    ]
    assert village.select("veterans") == []


def test_id_number_text_that_excel_already_ate(village, tmp_path):
    """A CSV saved by Excel after it had turned the ID numbers into numbers: 18 digits ending 000."""
    path = tmp_path / "r.csv"
    path.write_text(f"姓名,身份证号\n张三,{M.ZHANG}\n孙八,440902196303030000\n", encoding="utf-8")
    with pytest.raises(RosterError) as info:
        import_roster(village, path)
    assert info.value.errors == ["第 3 行（孙八）：" + M.BAD[0].problem]


def test_missing_name_names_the_row_by_its_id_number(village, tmp_path):
    path = tmp_path / "r.csv"
    path.write_text(f"姓名,身份证号\n,{M.ZHANG}\n,\n李四,123\n", encoding="utf-8")
    with pytest.raises(RosterError) as info:
        import_roster(village, path)
    assert info.value.errors == [
        f"第 2 行（身份证号 {M.ZHANG}）：缺少姓名（请填写）",
        "第 4 行（李四）：身份证号 123 应为18位（实为3位）（请对照身份证核对）",
    ]


def test_an_error_for_every_row_no_cap(village, tmp_path):
    rows = "".join(f"人员{i},{M.make_id('19650312', i)},志愿兵\n" for i in range(1, 121))
    path = tmp_path / "r.csv"
    path.write_text("姓名,身份证号,类别\n" + rows, encoding="utf-8")
    with pytest.raises(RosterError) as info:
        import_roster(village, path)
    assert len(info.value.errors) == 120 and info.value.bad_rows == 120
    assert info.value.errors[-1].startswith("第 121 行（人员120）：类别 志愿兵 无效")


# --------------------------------------------------------------------------- the error roster


def fix_error_roster(path: Path) -> None:
    """What the clerk does in Excel: put right the cells the 错误 column names."""
    wb = load_workbook(path)
    ws = wb.worksheets[0]
    headings = [c.value for c in ws[1]]
    col = {h: i + 1 for i, h in enumerate(headings)}
    for row in range(2, ws.max_row + 1):
        name = ws.cell(row=row, column=col["姓名"]).value
        for heading, value in M.FIXES.get(name, {}).items():
            ws.cell(row=row, column=col[heading]).value = value
    wb.save(path)


def test_error_roster_corrected_imports(village, tmp_path):
    path = tmp_path / "花名册.xlsx"
    M.write_xlsx(path, M.GOOD + M.BAD, two_level=True)
    with pytest.raises(RosterError) as info:
        import_roster(village, path)
    out = write_errors(info.value, tmp_path / "花名册-错误.xlsx")
    ws = load_workbook(out).worksheets[0]
    headings = [c.value for c in ws[1]]
    assert headings == [ERRORS_HEADING] + M.HEADINGS
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=2)]
    # every data row of the roster (title, column numbers and footer rows gone), in order
    assert [r[2] for r in rows] == [p.name for p in M.GOOD + M.BAD] + [None]
    errors = {r[2]: r[0] for r in rows}
    assert errors == {**{p.name: None for p in M.GOOD}, **{p.name: p.problem for p in M.BAD}, None: None}
    by_name = {r[2]: dict(zip(headings, r)) for r in rows}
    assert by_name["孙八"]["身份证号码"] == "440902196303030000"  # what is left of it, as text
    assert by_name["李秀英"]["身份证号码"] == M.LI and by_name["张三"]["入伍时间"] == "1983.12"
    shaded = {ws.cell(row=i, column=3).value: ws.cell(row=i, column=1).fill.fgColor.rgb for i in range(2, ws.max_row + 1)}
    assert shaded["孙八"] == "FFFFC7CE" and shaded["张三"] != "FFFFC7CE"
    assert ws.auto_filter.ref == f"A1:{chr(ord('A') + len(headings) - 1)}1"

    # imported as it is, it fails the same way (the 错误 column is passed over, not warned about)
    with pytest.raises(RosterError) as again:
        import_roster(village, out)
    assert [p.message for p in again.value.problems] == [p.problem for p in M.BAD]
    fix_error_roster(out)
    result = import_roster(village, out)
    assert (result.created, result.updated, result.unchanged) == (8, 0, 0)
    assert result.warnings == ["未识别的列已忽略：宗教信仰"]
    assert_stored(village, M.GOOD + M.BAD)
    # and the original roster, corrected the same way, now changes nothing
    assert import_roster(village, out).unchanged == 8


def test_error_roster_as_csv_and_not_over_the_roster(village, tmp_path):
    path = tmp_path / "名册.csv"
    M.write_gbk_csv(path, M.GOOD + M.BAD)
    with pytest.raises(RosterError) as info:
        import_roster(village, path)
    with pytest.raises(ValidationError, match="^错误文件不能就是名册本身：名册.csv"):
        write_errors(info.value, path)
    out = write_errors(info.value, tmp_path / "错误.csv")
    text = out.read_bytes().decode("utf-8-sig")
    assert text.splitlines()[0] == "错误,序号,姓名,性别,公民身份号码,联系电话,人员类别,入伍时间,退伍时间,籍贯"
    assert "被 Excel 存成了科学计数法的数字" in text


# --------------------------------------------------------------------------- the command line


def run(home: Path, *args: str):
    return CliRunner().invoke(main, [*args, "--home", str(home)])


@pytest.fixture
def home(tmp_path) -> Path:
    h = tmp_path / "h"
    result = run(h, "init", "--station", VILLAGE, "--offline")
    assert result.exit_code == 0, result.output
    return h


def test_cli_errors_file_then_corrected_import(home, tmp_path):
    path = tmp_path / "花名册.xlsx"
    lines = M.write_xlsx(path, M.GOOD + M.BAD)
    out = tmp_path / "花名册-错误.xlsx"
    before = dump(home / "station.db")
    result = run(home, "import", str(path), "--errors", str(out))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        *(f"第 {lines[p.name]} 行（{p.name}）：{p.problem}" for p in M.BAD),
        f"已写出错误名册：{out}（“错误”列写明每行的问题，改正后可直接导入该文件）",
        "错误：名册有 3 行有误，未导入任何记录（请改正后重新导入）",
    ]
    assert dump(home / "station.db") == before
    fix_error_roster(out)
    result = run(home, "import", str(out), "--errors", str(tmp_path / "again.xlsx"))
    assert result.exit_code == 0, result.output
    assert result.stderr == "注意：未识别的列已忽略：宗教信仰\n"
    assert result.stdout.splitlines() == ["已导入：新增 8 条，更新 0 条，未变 0 条", "名册没有错误，未写出 again.xlsx"]
    assert not (tmp_path / "again.xlsx").exists()


def test_cli_dry_run_lists_each_change(home, tmp_path):
    path = tmp_path / "花名册.xlsx"
    M.write_xlsx(path, M.GOOD)
    assert run(home, "import", str(path)).exit_code == 0
    changed = [M.Person(**{**p.__dict__}) for p in M.GOOD]
    changed[0].phone, changed[0].address = "13911112222", "某村1组6号"
    changed[1].category = "现役军属"
    changed[3].enlisted = "1990.4"  # text: April
    changed[4].note = "新备注"
    newcomer = M.Person("郑十一", M.make_id("19720808", 81), "男", None, None, None, "退役士兵", "1990.09", None)
    lines = M.write_xlsx(path, changed + [newcomer])
    before = dump(home / "station.db")
    result = run(home, "import", str(path), "--dry-run")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"第 {lines['张三']} 行（张三）：更新",
        "  联系电话：13800138000 → 13911112222",
        "  住址：某村1组5号 → 某村1组6号",
        f"第 {lines['李秀英']} 行（李秀英）：更新",
        "  类别：烈属 → 现役军属",
        f"第 {lines['赵六']} 行（赵六）：更新",
        "  入伍时间：1990-03 → 1990-04",
        f"第 {lines['钱七']} 行（钱七）：更新",
        "  备注：（空） → 新备注",
        f"第 {lines['郑十一']} 行（郑十一）：新增",
        "检查通过，未写入（--dry-run）：将新增 1 条，更新 4 条，未变 1 条",
    ]
    assert dump(home / "station.db") == before
    data = json.loads(run(home, "import", str(path), "--dry-run", "--json").stdout)
    assert (data["created"], data["updated"], data["unchanged"], data["dry_run"]) == (1, 4, 1, True)
    first = data["changes"][0]
    assert first["line"] == lines["张三"] and first["action"] == "update" and first["name"] == "张三"
    assert first["fields"] == {"phone": {"old": "13800138000", "new": "13911112222"},
                               "address": {"old": "某村1组5号", "new": "某村1组6号"}}
    new = data["changes"][-1]
    assert new["action"] == "create" and new["id_number"] == newcomer.id_cell
    assert new["fields"]["enlisted_on"] == {"old": None, "new": "1990-09"}
    assert {"line": lines["郑十一"] + 2, "reason": "合计行"} in data["skipped"]
    assert dump(home / "station.db") == before


def test_progress_is_reported(village, tmp_path):
    path = tmp_path / "r.csv"
    rows = "".join(f"人员{i},{id_number}\n" for i, id_number in enumerate(M.many_ids(1200)))
    path.write_text("姓名,身份证号\n" + rows, encoding="utf-8")
    seen: list[tuple[str, int, int | None]] = []
    import_roster(village, path, progress=lambda phase, done, total: seen.append((phase, done, total)))
    assert seen == [("check", 500, None), ("check", 1000, None), ("check", 1200, 1200),
                    ("write", 500, 1200), ("write", 1000, 1200), ("write", 1200, 1200)]
