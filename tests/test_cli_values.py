"""`station-node veteran add/edit` and `visit add` with values as clerks type them
(issue 12, "Validate as the data really is"): accepted in the forms they come in,
stored in one, and what cannot be true refused in one Chinese line with the
database unchanged. The rules one by one: tests/test_values_real.py."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from station_node.cli import main
from veterans.values import id_number_check_digit

TOWN = "440902001"
VILLAGE = "440902001001"
MAN = "44090219600101001" + id_number_check_digit("44090219600101001")  # born 1960-01-01
WOMAN = "44090219700202002" + id_number_check_digit("44090219700202002")  # born 1970-02-02


def full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def run(home: Path, *args: str):
    return CliRunner().invoke(main, [*args, "--home", str(home)])


def ok_json(home: Path, *args: str):
    result = run(home, *args, "--json")
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return json.loads(result.stdout)


def dump(home: Path) -> str:
    conn = sqlite3.connect(home / "station.db")
    try:
        return "\n".join(conn.iterdump())
    finally:
        conn.close()


def refused(home: Path, *args: str) -> str:
    """The one line on stderr of a refused command (exit 1), the database unchanged."""
    before = dump(home)
    result = run(home, *args)
    assert result.exit_code == 1, (result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    assert dump(home) == before
    return lines[0]


@pytest.fixture
def town(tmp_path: Path) -> Path:
    home = tmp_path / "town"
    result = run(home, "init", "--station", TOWN, "--offline")
    assert result.exit_code == 0, result.stderr
    return home


def add(home: Path, id_number: str = MAN, *sets: str) -> dict:
    args = ["veteran", "add", "--id-number", id_number, "--name", "张三", "--area", VILLAGE]
    for item in sets:
        args += ["--set", item]
    return ok_json(home, *args)


def test_veteran_add_takes_what_clerks_type(town):
    row = ok_json(town, "veteran", "add", "--id-number", full_width(MAN[:6]) + " " + full_width(MAN[6:]),
                  "--name", "阿不都 • 热合曼", "--area", full_width(VILLAGE),
                  "--set", "联系电话=（０６６８）７６５４３２１ / 138 0013 8000",
                  "--set", "类别=退伍军人", "--set", "入伍时间=１９７８．１２", "--set", "退役时间=1983年10月",
                  "--set", "光荣牌悬挂日期=44931", "--set", "住址=东村３号（村委旁）")
    assert (row["id_number"], row["name"], row["area"]) == (MAN, "阿不都·热合曼", VILLAGE)
    assert row["phone"] == "0668-7654321、13800138000"
    assert (row["category"], row["enlisted_on"], row["discharged_on"]) == ("retired_soldier", "1978-12", "1983-10")
    assert row["honor_plaque"] == "2023-01-05" and row["address"] == "东村3号（村委旁）"
    assert (row["gender"], row["birth_date"]) == ("male", "1960-01-01")  # from the ID number
    shown = ok_json(town, "veteran", "show", row["id"])
    assert {k: shown[k] for k in row} == row
    other = add(town, WOMAN, "性别=女", "出生日期=1970.2", "类别=烈士遗属")
    assert (other["gender"], other["birth_date"], other["category"]) == ("female", "1970-02-02", "martyr_family")


@pytest.mark.parametrize("sets, line", [
    (("性别=女",), "错误：性别“女”与身份证号不一致（按身份证号应为“男”）（性别和出生日期可不填，按身份证号自动补全）"),
    (("出生日期=1960-02-01",),
     "错误：出生日期 1960-02-01 与身份证号不一致（按身份证号应为 1960-01-01）（性别和出生日期可不填，按身份证号自动补全）"),
    (("入伍时间=1975.12",), "错误：入伍时间 1975-12 时未满16周岁（出生日期 1960-01-01）"),
    (("入伍时间=1983.12", "退役时间=1983.1"), "错误：退役时间 1983-01 早于入伍时间 1983-12"),
    (("入伍时间=2099.1",), "错误：入伍时间 2099-01 晚于今天"),
    (("入伍时间=1983",), "错误：入伍时间 1983 只有年份，应写到月或日（格式如 1983-12 或 1983-12-01）"),
    (("联系电话=12012345678",),
     "错误：电话 12012345678 不是手机号：120 号段未分配给手机（请核对号码；固话请带区号，如 0759-1234567）"),
    (("联系电话=13800138000、13900139000、13700137000",),
     "错误：电话 13800138000、13900139000、13700137000 号码过多：最多填两个号码（手机号11位，固话如 0759-1234567，两个号码用“、”隔开）"),
])
def test_veteran_add_refuses_what_cannot_be_true(town, sets, line):
    args = ["veteran", "add", "--id-number", MAN, "--name", "张三", "--area", VILLAGE]
    for item in sets:
        args += ["--set", item]
    assert refused(town, *args) == line


def test_veteran_edit_follows_the_id_number(town):
    vid = add(town, MAN, "入伍时间=1978-12")["id"]
    row = ok_json(town, "veteran", "edit", vid, "--set", "身份证号=" + WOMAN.lower(), "--set", "入伍时间=1988-12")
    assert (row["id_number"], row["gender"], row["birth_date"]) == (WOMAN, "female", "1970-02-02")
    assert row["enlisted_on"] == "1988-12"
    row = ok_json(town, "veteran", "edit", vid, "--set", "性别=")  # cleared: the ID number's again
    assert row["gender"] == "female"


def test_veteran_edit_refusals(town):
    vid = add(town, MAN, "入伍时间=1978-12")["id"]
    assert refused(town, "veteran", "edit", vid, "--set", "性别=女") == \
        "错误：性别“女”与身份证号不一致（按身份证号应为“男”）（性别和出生日期可不填，按身份证号自动补全）"
    assert refused(town, "veteran", "edit", vid, "--set", "退役时间=1978.11") == \
        "错误：退役时间 1978-11 早于入伍时间 1978-12"
    assert refused(town, "veteran", "edit", vid, "--set", "入伍时间=1975-06-30") == \
        "错误：入伍时间 1975-06-30 时未满16周岁（出生日期 1960-01-01）"
    assert refused(town, "veteran", "edit", vid, "--set", "身份证号=" + WOMAN) == \
        "错误：入伍时间 1978-12 时未满16周岁（出生日期 1970-02-02）"
    row = ok_json(town, "veteran", "edit", vid, "--set", "退役时间=30682", "--set", "联系电话=0668-7654321转801")
    assert (row["discharged_on"], row["phone"]) == ("1984-01-01", "0668-7654321-801")


def test_visit_add_dates_and_amounts(town):
    vid = add(town)["id"]
    row = ok_json(town, "visit", "add", "--veteran", vid, "--kind", "电话慰问", "--date", "45000",
                  "--set", "慰问金=５００元", "--set", "事由=八一建军节")
    assert (row["visited_on"], row["kind"], row["aid_cash"], row["occasion"]) == ("2023-03-15", "phone", 500.0, "army_day")
    assert refused(town, "visit", "add", "--veteran", vid, "--kind", "入户", "--date", "2024.2") == \
        "错误：走访日期 2024.2 只有年月，应写到日（格式如 2023-01-05）"
    assert refused(town, "visit", "add", "--veteran", vid, "--kind", "入户", "--set", "慰问金=-100") == \
        "错误：慰问金（元） -100 不能为负数"
