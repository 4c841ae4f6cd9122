"""Roster import/export (station_node.roster, station-node import/export).

Good, bad and mixed rosters in .xlsx and .csv (UTF-8 and GBK): a bad file is
reported line by line, each line naming the person, and leaves the database
byte-for-byte unchanged (compared as an SQL dump); re-importing changes
nothing; an exported roster re-imports with no change. The rosters as counties
really have them (title rows, footers, numeric ID numbers …) are in
tests/test_roster_messy.py, the 台账 exports in tests/test_ledgers.py.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import Workbook

from station_node import records
from station_node.cli import main
from station_node.home import init_offline
from station_node.roster import HEADINGS, RosterError, export_roster, import_roster
from sync.engine.clocks import unpack_clock
from veterans.values import id_number_check_digit
from sync.engine.errors import ScopeError, ValidationError
from veterans.tabular import read_table, write_table

TOWN = "440902001"
VILLAGE = "440902001001"
VILLAGE2 = "440902001002"
OTHER_TOWN_VILLAGE = "440902002001"


def make_id(birth: str = "19650312", seq: int = 1) -> str:
    body = f"440902{birth}{seq:03d}"
    return body + id_number_check_digit(body)


def bad_checksum(id_number: str) -> str:
    return id_number[:-1] + ("0" if id_number[-1] != "0" else "1")


def person(i: int, **over) -> dict:
    row = {
        "姓名": f"人员{i}",
        "身份证号": make_id("19650312", i),
        "性别": "男" if i % 2 else "女",
        "联系电话": f"1380013{i:04d}",
        "住址": f"一村{i}号",
        "类别": "退役士兵",
        "入伍时间": "1983-10-01",
        "退役时间": "1987-12-01",
    }
    row.update(over)
    return row


def write_roster(path: Path, rows: list[dict], headings: list[str] | None = None) -> Path:
    headings = headings or list(dict.fromkeys(h for r in rows for h in r))
    return write_table(path, [(h, h) for h in headings], rows)


def dump(store) -> str:
    conn = sqlite3.connect(store.path)
    try:
        return "\n".join(conn.iterdump())
    finally:
        conn.close()


def clocks(store) -> dict[str, str]:
    return {r[0]: r[1] for r in store.conn.execute("SELECT id, _clock FROM veterans")}


def by_id_number(store) -> dict[str, dict]:
    return {v["id_number"]: v for v in store.select("veterans")}


@pytest.fixture
def village(tmp_path):
    store = init_offline(tmp_path / "village", VILLAGE)
    yield store
    store.close()


@pytest.fixture
def town(tmp_path):
    store = init_offline(tmp_path / "town", TOWN)
    yield store
    store.close()


def refused(store, path, **kw) -> RosterError:
    """The import fails with RosterError and writes nothing."""
    before = dump(store)
    with pytest.raises(RosterError) as info:
        import_roster(store, path, **kw)
    assert dump(store) == before
    err = info.value
    assert str(err).startswith(f"名册有 {err.bad_rows} 行有误，未导入任何记录")
    assert err.errors and all(e.startswith("第 ") for e in err.errors)
    return err


# --------------------------------------------------------------------------- good files


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_import_good_roster(village, tmp_path, suffix):
    rows = [person(1), person(2, 类别="现役军属", 伤残等级="", 状态="在册"), person(3, 伤残等级="6级", 伤残性质="因战")]
    path = write_roster(tmp_path / f"r{suffix}", rows)
    result = import_roster(village, path)
    assert (result.created, result.updated, result.unchanged, result.warnings) == (3, 0, 0, [])
    vets = by_id_number(village)
    v1 = vets[make_id(seq=1)]
    assert v1["name"] == "人员1" and v1["area"] == VILLAGE and v1["category"] == "retired_soldier"
    assert v1["gender"] == "male" and v1["birth_date"] == "1965-03-12" and v1["status"] == "active"
    assert v1["phone"] == "13800130001" and v1["enlisted_on"] == "1983-10-01"
    assert vets[make_id(seq=2)]["category"] == "active_duty_family"
    assert vets[make_id(seq=2)]["disability_level"] is None
    v3 = vets[make_id(seq=3)]
    assert (v3["disability_level"], v3["disability_cause"]) == ("level6", "war")
    assert village.pending_count() == 3


def test_import_gbk_csv(village, tmp_path):
    path = tmp_path / "gbk.csv"
    text = "姓名,公民身份号码,性别,家庭住址,人员类别,手机\r\n"
    text += f"张三,{make_id(seq=1)},男,某镇一村5号,复员军人,13800138000\r\n"
    text += f"李秀英,{make_id(seq=2)},女,某镇一村6号,烈属,0759-1234567\r\n"
    path.write_bytes(text.encode("gbk"))
    result = import_roster(village, path)
    assert result.created == 2
    vets = by_id_number(village)
    assert vets[make_id(seq=1)]["name"] == "张三" and vets[make_id(seq=1)]["category"] == "demobilized"
    assert vets[make_id(seq=2)]["address"] == "某镇一村6号" and vets[make_id(seq=2)]["phone"] == "0759-1234567"


def test_dates_in_many_formats(village, tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(["姓名", "身份证号", "入伍时间", "退役时间"])
    cells = ["2023-01-05", "2023/1/5", "2023年1月5日", "20230105", 20230105, dt.date(2023, 1, 5),
             dt.datetime(2023, 1, 5), 44931, "2023.1.5"]
    for i, cell in enumerate(cells, start=1):
        ws.append([f"人员{i}", make_id(seq=i), "1990-7-1", cell])
    ws.cell(row=7, column=4).number_format = "yyyy/m/d"  # a real Excel date cell
    path = tmp_path / "dates.xlsx"
    wb.save(path)
    assert import_roster(village, path).created == len(cells)
    for vet in village.select("veterans"):
        assert vet["discharged_on"] == "2023-01-05", vet
        assert vet["enlisted_on"] == "1990-07-01"


def test_headings_variants_and_unknown_column_warned_once(village, tmp_path):
    rows = [
        {"*姓名": "张三", " 身份证号码 ": make_id(seq=1), "所属村(社区)代码": VILLAGE, "籍贯": "广东", "政治面貌": "党员",
         "光荣牌": "2020-08-01", "服役部队": "某部", "name": None},
        {"*姓名": "李四", " 身份证号码 ": make_id(seq=3), "所属村(社区)代码": VILLAGE, "籍贯": "广西", "政治面貌": "群众"},
    ]
    headings = ["*姓名", " 身份证号码 ", "所属村(社区)代码", "籍贯", "政治面貌", "光荣牌", "服役部队"]
    path = write_roster(tmp_path / "r.xlsx", rows, headings)
    result = import_roster(village, path)
    assert result.created == 2
    assert result.warnings == ["未识别的列已忽略：籍贯"]
    v = by_id_number(village)[make_id(seq=1)]
    assert (v["honor_plaque"], v["unit"], v["political_status"]) == ("2020-08-01", "某部", "cpc_member")


def test_schema_labels_and_english_names_accepted(village, tmp_path):
    rows = [{"name": "张三", "id_number": make_id(seq=1), "光荣牌悬挂日期": "2021-1-1", "category": "retired_soldier"}]
    path = write_roster(tmp_path / "r.csv", rows)
    assert import_roster(village, path).created == 1
    v = village.select("veterans")[0]
    assert (v["honor_plaque"], v["category"]) == ("2021-01-01", "retired_soldier")


@pytest.mark.parametrize("kind", ["csv", "json"])
def test_mapping_file_for_unusual_headings(village, tmp_path, kind):
    rows = [{"名字": "张三", "身份号": make_id(seq=1), "联络手机": "13800138000", "所在村": "一村",
             "优抚类别": "烈属", "电话": "0759-1234567"}]
    path = write_roster(tmp_path / "r.xlsx", rows)
    pairs = {"名字": "name", "身份号": "身份证号", "联络手机": "联系电话", "所在村": "忽略", "优抚类别": "category",
             "电话": "忽略"}
    if kind == "csv":
        mapping = tmp_path / "map.csv"
        mapping.write_text("表头,字段\n" + "".join(f"{k},{v}\n" for k, v in pairs.items()), encoding="utf-8")
    else:
        mapping = tmp_path / "map.json"
        mapping.write_text(json.dumps(pairs, ensure_ascii=False), encoding="utf-8")
    # without the mapping: no 姓名 / 身份证号 column
    with pytest.raises(ValidationError, match="缺少“姓名”“身份证号”列"):
        import_roster(village, path)
    result = import_roster(village, path, mapping_path=mapping)
    assert (result.created, result.warnings) == (1, [])
    v = village.select("veterans")[0]
    assert (v["name"], v["phone"], v["category"]) == ("张三", "13800138000", "martyr_family")


def test_mapping_without_heading_row_and_bad_target(village, tmp_path):
    path = write_roster(tmp_path / "r.csv", [{"人员姓名": "张三", "身份证号": make_id(seq=1)}])
    mapping = tmp_path / "map.csv"
    mapping.write_text("人员姓名,姓名\n", encoding="utf-8")
    assert import_roster(village, path, mapping_path=mapping).created == 1
    mapping.write_text("表头,字段\n人员姓名,外号\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="第2行：字段 外号 无法识别"):
        import_roster(village, path, mapping_path=mapping)


def test_two_columns_for_one_field_refused(village, tmp_path):
    path = write_roster(tmp_path / "r.csv", [{"姓名": "张三", "身份证号": make_id(seq=1), "电话": "13800138000",
                                              "手机": "13900139000"}])
    before = dump(village)
    with pytest.raises(ValidationError, match="两列都对应联系电话"):
        import_roster(village, path)
    assert dump(village) == before


# --------------------------------------------------------------------------- area


def test_area_defaults(village, town, tmp_path):
    path = write_roster(tmp_path / "r.csv", [person(1)])
    # a village station files people in its own village
    assert import_roster(village, path).created == 1
    assert village.select("veterans")[0]["area"] == VILLAGE
    # a town station needs --area
    with pytest.raises(ValidationError, match="--area"):
        import_roster(town, path)
    with pytest.raises(ScopeError, match="^区划代码 440902002001 不在本站范围"):
        import_roster(town, path, area=OTHER_TOWN_VILLAGE)
    assert import_roster(town, path, area=VILLAGE2).created == 1
    assert town.select("veterans")[0]["area"] == VILLAGE2


def test_area_column_blank_cells_take_default(town, tmp_path):
    rows = [person(1, 区划代码=VILLAGE), person(2, 区划代码=None)]
    path = write_roster(tmp_path / "r.xlsx", rows)
    err = refused(town, path)
    assert err.errors == ["第 3 行（人员2）：缺少区划代码（可用 --area 指定，或在名册中填写）"]
    assert import_roster(town, path, area=VILLAGE2).created == 2
    areas = {v["name"]: v["area"] for v in town.select("veterans")}
    assert areas == {"人员1": VILLAGE, "人员2": VILLAGE2}


# --------------------------------------------------------------------------- bad files


@pytest.fixture
def filled(village, tmp_path):
    """The village with two veterans already on file (so 'nothing written' is meaningful)."""
    import_roster(village, write_roster(tmp_path / "first.csv", [person(101), person(102)]))
    return village


BAD_CASES = {
    "checksum": ({"身份证号": bad_checksum(make_id(seq=7))}, "校验位错误"),
    "category": ({"类别": "志愿兵"}, "类别 志愿兵 无效"),
    "scope": ({"区划代码": OTHER_TOWN_VILLAGE}, "不在本站范围"),
    "name": ({"姓名": None}, "缺少姓名"),
    "id_missing": ({"身份证号": None}, "缺少身份证号"),
    "date": ({"入伍时间": "1983-13-01"}, "入伍时间 1983-13-01 不是有效日期"),
    "phone": ({"联系电话": "12345"}, "电话 12345 无效"),
    "id_scientific": ({"身份证号": "4.40902E+17"}, "科学计数法"),
    "id_15": ({"身份证号": "440902650312001"}, "应为18位"),
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_bad_row_reported_with_line_and_nothing_written(filled, tmp_path, case, suffix):
    over, reason = BAD_CASES[case]
    rows = [person(1), person(2), person(3, **over), person(4)]
    headings = list(person(1)) + ["区划代码"]
    path = write_roster(tmp_path / f"bad{suffix}", rows, headings)
    err = refused(filled, path)
    assert len(err.errors) == 1, err.errors
    who = "身份证号 " + make_id(seq=3) if case == "name" else "人员3"
    assert err.errors[0].startswith(f"第 4 行（{who}）：") and reason in err.errors[0], err.errors
    assert err.bad_rows == 1


@pytest.mark.parametrize(("value", "message"), [
    (4.40902196503120e17, "身份证号 440902196503120000 被 Excel 存成了数字，末 3 位已丢失（变成了 000）"),
    (4.409021965031201e17, "身份证号 440902196503120000 被 Excel 存成了数字，末 3 位已丢失（变成了 000）"),
])
def test_id_number_stored_as_excel_number(filled, tmp_path, value, message):
    wb = Workbook()
    ws = wb.active
    ws.append(["姓名", "身份证号"])
    ws.append(["张三", make_id(seq=1)])
    ws.append(["李四", value])
    path = tmp_path / "num.xlsx"
    wb.save(path)
    err = refused(filled, path)
    assert err.errors == [f"第 3 行（李四）：{message}（请把该列设为“文本”格式，按身份证重新填写这个号码）"]


def test_numbers_in_text_like_cells_are_fine(village, tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(["姓名", "身份证号", "联系电话", "区划代码", "伤残等级", "入伍时间"])
    ws.append(["张三", make_id(seq=1), 13800138000, int(VILLAGE), 3, 31048.0])
    ws.append(["李四", make_id(seq=2), 13900139000.0, float(VILLAGE), 10.0, None])
    path = tmp_path / "numbers.xlsx"
    wb.save(path)
    assert import_roster(village, path).created == 2
    vets = by_id_number(village)
    v = vets[make_id(seq=1)]
    assert (v["phone"], v["area"], v["disability_level"], v["enlisted_on"]) == ("13800138000", VILLAGE, "level3", "1985-01-01")
    assert vets[make_id(seq=2)]["phone"] == "13900139000" and vets[make_id(seq=2)]["disability_level"] == "level10"


def test_duplicated_rows_report_both_lines(filled, tmp_path):
    rows = [person(1), person(2), person(1), person(3), person(2, 姓名="别名")]
    err = refused(filled, write_roster(tmp_path / "dup.xlsx", rows))
    assert err.errors == [
        f"第 2 行（人员1）：身份证号 {make_id(seq=1)} 与第 4 行（人员1）重复（请删去重复的行）",
        f"第 3 行（人员2）：身份证号 {make_id(seq=2)} 与第 6 行（别名）重复（请删去重复的行）",
        f"第 4 行（人员1）：身份证号 {make_id(seq=1)} 与第 2 行（人员1）重复（请删去重复的行）",
        f"第 6 行（别名）：身份证号 {make_id(seq=2)} 与第 3 行（人员2）重复（请删去重复的行）",
    ]
    assert err.bad_rows == 4


def test_all_errors_collected_sorted_by_line(filled, tmp_path):
    rows = [person(1, 类别="志愿兵", 性别="未知"), person(2), person(3, 姓名=None, 身份证号=bad_checksum(make_id(seq=3))),
            person(4)] + [person(i) for i in range(5, 40)] + [person(40, 退役时间="昨天")]
    err = refused(filled, write_roster(tmp_path / "many.csv", rows))
    assert err.bad_rows == 3
    lines = [e.split("：")[0] for e in err.errors]
    assert lines == ["第 2 行（人员1）", "第 2 行（人员1）", f"第 4 行（身份证号 {bad_checksum(make_id(seq=3))}）",
                     f"第 4 行（身份证号 {bad_checksum(make_id(seq=3))}）", "第 41 行（人员40）"]
    assert "名册有 3 行有误" in str(err)


def test_mixed_file_nothing_written(filled, tmp_path):
    rows = [person(i) for i in range(1, 30)] + [person(30, 类别="不知道")] + [person(101, 联系电话="13911112222")]
    err = refused(filled, write_roster(tmp_path / "mixed.xlsx", rows))
    assert err.errors == ["第 31 行（人员30）：类别 不知道 无效，应为：" + "、".join(
        ["转业干部", "退役士兵", "军休干部/退休士官", "无军籍职工", "复员军人", "红军老战士", "残疾军人", "伤残民兵民工",
         "烈属", "因公遗属", "病故遗属", "现役军属", "参战退役人员", "参试退役人员", "带病回乡退伍军人",
         "60周岁以上农村籍退役士兵"])]
    assert len(filled.select("veterans")) == 2


def test_roster_without_required_columns_refused(village, tmp_path):
    path = write_roster(tmp_path / "r.csv", [{"姓名": "张三", "电话": "13800138000"}])
    with pytest.raises(ValidationError, match="缺少“身份证号”列") as info:
        import_roster(village, path)
    assert not isinstance(info.value, RosterError)


def test_existing_duplicate_identity_is_reported(village, tmp_path):
    # two live veterans with one ID number (a duplicate registration synced in)
    for _ in range(2):
        village.write("veterans", records.domain.new_id(),
                      {"id_number": make_id(seq=1), "name": "张三", "area": VILLAGE}, create=True)
    err = refused(village, write_roster(tmp_path / "r.csv", [person(1)]))
    assert "已有多份档案" in err.errors[0] and err.errors[0].startswith("第 2 行（人员1）：")
    assert err.errors[0].endswith("（请先处理重复登记）")


# --------------------------------------------------------------------------- re-import, update, dry run


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_reimport_changes_nothing(village, tmp_path, suffix):
    rows = [person(i) for i in range(1, 21)] + [person(21, 伤残等级="一级", 伤残性质="因公", 状态="已故", 备注="有备注")]
    path = write_roster(tmp_path / f"r{suffix}", rows)
    assert import_roster(village, path).created == 21
    pending, before_clocks, before = village.pending_count(), clocks(village), dump(village)
    result = import_roster(village, path)
    assert (result.created, result.updated, result.unchanged) == (0, 0, 21)
    assert village.pending_count() == pending
    assert clocks(village) == before_clocks
    assert dump(village) == before


def test_update_only_changed_fields(village, tmp_path):
    import_roster(village, write_roster(tmp_path / "a.csv", [person(1), person(2)]))
    before = clocks(village)
    vets = by_id_number(village)
    # a new phone for person 1; person 2's phone cell empty (never clears); a new person 3
    rows = [person(1, 联系电话="13911112222"), person(2, 联系电话=None), person(3)]
    result = import_roster(village, write_roster(tmp_path / "b.csv", rows))
    assert (result.created, result.updated, result.unchanged) == (1, 1, 1)
    after = clocks(village)
    id1, id2 = vets[make_id(seq=1)]["id"], vets[make_id(seq=2)]["id"]
    assert after[id2] == before[id2]
    old, new = unpack_clock("veterans", before[id1]), unpack_clock("veterans", after[id1])
    assert {k for k in new if new[k] != old[k]} == {"phone"}
    vets = by_id_number(village)
    assert vets[make_id(seq=1)]["phone"] == "13911112222"
    assert vets[make_id(seq=2)]["phone"] == "13800130002"


def test_import_updates_veteran_added_by_hand(village, tmp_path):
    vet = records.add_veteran(village, {"id_number": make_id(seq=1), "name": "张三", "area": VILLAGE})
    result = import_roster(village, write_roster(tmp_path / "r.csv", [person(1, 姓名="张三")]))
    assert (result.created, result.updated) == (0, 1)
    assert village.get("veterans", vet["id"])["category"] == "retired_soldier"


def test_deleted_veteran_is_filed_again(village, tmp_path):
    vet = records.add_veteran(village, {"id_number": make_id(seq=1), "name": "张三", "area": VILLAGE})
    records.delete_veteran(village, vet["id"])
    result = import_roster(village, write_roster(tmp_path / "r.csv", [person(1)]))
    assert result.created == 1


def test_dry_run_counts_and_writes_nothing(filled, tmp_path):
    rows = [person(101), person(102, 住址="新地址"), person(1)]
    path = write_roster(tmp_path / "r.xlsx", rows)
    before = dump(filled)
    result = import_roster(filled, path, dry_run=True)
    assert (result.created, result.updated, result.unchanged, result.dry_run) == (1, 1, 1, True)
    assert dump(filled) == before


def test_birth_date_and_gender_against_the_id_number(village, tmp_path):
    rows = [person(1, 出生日期="1966-03-12", 性别="女"), person(2, 出生日期="1965-03", 性别="女"),
            person(3, 出生日期="1965.4")]
    err = refused(village, write_roster(tmp_path / "r.csv", rows))
    hint = "（性别和出生日期可不填，按身份证号自动补全）"
    assert err.errors == [  # the rules of veteran add (veterans.admission.complete_veteran)
        "第 2 行（人员1）：性别“女”与身份证号不一致（按身份证号应为“男”）" + hint,
        "第 4 行（人员3）：出生日期 1965-04 与身份证号不一致（按身份证号应为 1965-03-12）" + hint,
    ]
    # a birth month that agrees takes the ID number's day
    rows = [person(2, 出生日期="1965-03", 性别="女"), person(4, 出生日期="1965年3月12日")]
    assert import_roster(village, write_roster(tmp_path / "r.csv", rows)).created == 2
    assert {v["birth_date"] for v in village.select("veterans")} == {"1965-03-12"}


# --------------------------------------------------------------------------- export


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_export_reimport_round_trip(town, tmp_path, suffix):
    rows = [person(i, 区划代码=VILLAGE if i % 2 else VILLAGE2) for i in range(1, 11)]
    rows[0].update(伤残等级="三级", 伤残性质="因战", 光荣牌="2019-5-1", 状态="迁出", 民族="汉族", 军种="陆军",
                   健康状况="良好", 家庭情况="独居", 困难情况="无", 诉求="无", 备注="备注")
    rows[1].update(类别="军休干部/退休士官", 伤残等级="无")
    import_roster(town, write_roster(tmp_path / f"in{suffix}", rows))
    out = tmp_path / f"out{suffix}"
    assert export_roster(town, out) == 10
    headers, table = read_table(out)
    assert headers == [h[0] for h in HEADINGS.values()]
    first = next(values for _, values in table if values["身份证号"] == make_id(seq=1))
    assert (first["类别"], first["伤残等级"], first["状态"], first["光荣牌"]) == ("退役士兵", "三级", "迁出", "2019-05-01")
    assert first["出生日期"] == "1965-03-12" and first["性别"] == "男"
    pending, before = town.pending_count(), dump(town)
    result = import_roster(town, out)
    assert (result.created, result.updated, result.unchanged, result.warnings) == (0, 0, 10, [])
    assert town.pending_count() == pending and dump(town) == before
    # and into a fresh station, the same records
    fresh = init_offline(tmp_path / "fresh", TOWN)
    try:
        assert import_roster(fresh, out).created == 10
        strip = lambda vets: {k: {f: v for f, v in r.items() if f != "id"} for k, r in vets.items()}  # noqa: E731
        assert strip(by_id_number(fresh)) == strip(by_id_number(town))
    finally:
        fresh.close()


def test_export_area_filter(town, tmp_path):
    rows = [person(i, 区划代码=VILLAGE if i % 2 else VILLAGE2) for i in range(1, 7)]
    import_roster(town, write_roster(tmp_path / "in.csv", rows))
    assert export_roster(town, tmp_path / "v2.csv", area=VILLAGE2) == 3
    _, table = read_table(tmp_path / "v2.csv")
    assert {v["区划代码"] for _, v in table} == {VILLAGE2}
    with pytest.raises(ScopeError, match="^区划代码 440902002001 不在本站范围"):
        export_roster(town, tmp_path / "x.csv", area=OTHER_TOWN_VILLAGE)


# --------------------------------------------------------------------------- size


def test_large_roster_imports_in_seconds(town, tmp_path):
    n = 20_000
    rows = []
    for i in range(n):
        birth = (dt.date(1940, 1, 1) + dt.timedelta(days=i // 500)).strftime("%Y%m%d")
        rows.append({"姓名": f"人员{i}", "身份证号": make_id(birth, i % 500), "区划代码": VILLAGE if i % 2 else VILLAGE2,
                     "类别": "退役士兵", "入伍时间": "1980/9/1", "联系电话": f"138{i:08d}"})
    path = write_roster(tmp_path / "big.csv", rows)
    start = time.monotonic()
    result = import_roster(town, path)
    elapsed = time.monotonic() - start
    assert result.created == n
    assert elapsed < 30, elapsed
    start = time.monotonic()
    assert import_roster(town, path).unchanged == n
    assert time.monotonic() - start < 15


# --------------------------------------------------------------------------- CLI


def run(home: Path, *args: str):
    return CliRunner().invoke(main, [*args, "--home", str(home)])


def ok(home: Path, *args: str) -> str:
    result = run(home, *args)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result.stdout


def db_dump(home: Path) -> str:
    conn = sqlite3.connect(home / "station.db")
    try:
        return "\n".join(conn.iterdump())
    finally:
        conn.close()


@pytest.fixture
def home(tmp_path) -> Path:
    h = tmp_path / "h"
    ok(h, "init", "--station", VILLAGE, "--offline")
    return h


def test_cli_import_export_reimport(home, tmp_path):
    path = write_roster(tmp_path / "r.xlsx", [person(1), person(2), person(3)])
    assert ok(home, "import", str(path)).strip() == "已导入：新增 3 条，更新 0 条，未变 0 条"
    assert ok(home, "import", str(path)).strip() == "已导入：新增 0 条，更新 0 条，未变 3 条"
    out = tmp_path / "out.csv"
    assert ok(home, "export", str(out)).strip() == f"已导出 3 条记录：{out}"
    before = db_dump(home)
    assert ok(home, "import", str(out)).strip() == "已导入：新增 0 条，更新 0 条，未变 3 条"
    assert db_dump(home) == before
    data = json.loads(ok(home, "import", str(out), "--json"))
    assert data == {"created": 0, "updated": 0, "unchanged": 3, "rows": 3, "warnings": [], "dry_run": False,
                    "changes": [], "skipped": []}


def test_cli_dry_run_and_warnings(home, tmp_path):
    path = write_roster(tmp_path / "r.csv", [{**person(1), "籍贯": "广东"}])
    before = db_dump(home)
    result = run(home, "import", str(path), "--dry-run")
    assert result.exit_code == 0
    assert result.stdout.splitlines() == ["第 2 行（人员1）：新增", "检查通过，未写入（--dry-run）：将新增 1 条，更新 0 条，未变 0 条"]
    assert result.stderr.strip() == "注意：未识别的列已忽略：籍贯"
    assert db_dump(home) == before


def test_cli_bad_roster_lists_errors_and_writes_nothing(home, tmp_path):
    ok(home, "import", str(write_roster(tmp_path / "a.csv", [person(1)])))
    rows = [person(i) for i in range(2, 6)]
    rows[1]["身份证号"] = bad_checksum(rows[1]["身份证号"])
    rows[3]["类别"] = "志愿兵"
    path = write_roster(tmp_path / "bad.csv", rows)
    before = db_dump(home)
    result = run(home, "import", str(path))
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[0] == f"第 3 行（人员3）：身份证号 {rows[1]['身份证号']} 校验位错误（应为 {make_id(seq=3)[-1]}）（请对照身份证核对）"
    assert lines[1].startswith("第 5 行（人员5）：类别 志愿兵 无效，应为：转业干部、")
    assert lines[2] == "错误：名册有 2 行有误，未导入任何记录（请改正后重新导入）"
    assert len(lines) == 3 and "Traceback" not in result.output
    assert db_dump(home) == before


def test_cli_lists_every_error(home, tmp_path):
    rows = [person(i, 类别="志愿兵") for i in range(1, 71)]
    result = run(home, "import", str(write_roster(tmp_path / "bad.xlsx", rows)))
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 71
    assert [line.split("：")[0] for line in lines[:70]] == [f"第 {i + 1} 行（人员{i}）" for i in range(1, 71)]
    assert lines[70] == "错误：名册有 70 行有误，未导入任何记录（请改正后重新导入）"


def test_cli_file_level_errors(home, tmp_path):
    result = run(home, "import", str(tmp_path / "nope.xlsx"))
    assert result.exit_code == 1 and result.stderr.strip() == "错误：找不到文件：nope.xlsx"
    path = write_roster(tmp_path / "r.csv", [{"姓名": "张三"}])
    result = run(home, "import", str(path))
    assert result.exit_code == 1 and "缺少“身份证号”列" in result.stderr
    result = run(home, "import", str(write_roster(tmp_path / "r2.csv", [person(1)])), "--area", OTHER_TOWN_VILLAGE)
    assert result.exit_code == 1 and "不在本站范围" in result.stderr


def test_cli_town_import_with_area_and_mapping(tmp_path):
    h = tmp_path / "town"
    ok(h, "init", "--station", TOWN, "--offline")
    path = write_roster(tmp_path / "r.csv", [{"人员姓名": "张三", "身份证号": make_id(seq=1)}])
    mapping = tmp_path / "m.json"
    mapping.write_text(json.dumps({"人员姓名": "姓名"}, ensure_ascii=False), encoding="utf-8")
    result = run(h, "import", str(path), "--mapping", str(mapping))
    assert result.exit_code == 1 and "--area" in result.stderr
    assert "新增 1 条" in ok(h, "import", str(path), "--mapping", str(mapping), "--area", VILLAGE2)
    out = tmp_path / "out.xlsx"
    assert "已导出 0 条" in ok(h, "export", str(out), "--area", VILLAGE)
    assert "已导出 1 条" in ok(h, "export", str(out), "--area", VILLAGE2)


def test_what_cannot_be_true_is_refused_as_at_veteran_add(filled, tmp_path):
    """The import applies veterans.admission.complete_veteran, the rules the hub holds rows to too."""
    future = (dt.date.today() + dt.timedelta(days=400)).isoformat()
    rows = [person(1, 入伍时间="1975-01-01"), person(2, 入伍时间="1990-01-01", 退役时间="1989-12"),
            person(101, 退役时间=future)]  # 101 is on file: an update is held to the rules too
    err = refused(filled, write_roster(tmp_path / "r.csv", rows))
    assert err.errors == [
        "第 2 行（人员1）：入伍时间 1975-01-01 时未满16周岁（出生日期 1965-03-12）",
        "第 3 行（人员2）：退役时间 1989-12 早于入伍时间 1990-01-01",
        f"第 4 行（人员101）：退役时间 {future} 晚于今天",
    ]
