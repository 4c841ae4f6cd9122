"""Tests of sync.tabular: .xlsx and .csv tables with Chinese headers."""

from __future__ import annotations

import datetime as dt

import pytest

from sync.errors import ValidationError
from sync.tabular import read_table, write_table

COLUMNS = [("name", "姓名"), ("id_number", "身份证号"), ("born", "出生日期"), ("note", "备注"), ("n", "人数")]
ROWS = [
    {"name": "张三", "id_number": "44090219800101001X", "born": dt.date(1980, 1, 1), "note": "光荣牌已悬挂", "n": 3},
    {"name": "李四", "id_number": "440902198502020023", "born": None, "note": "=1+1 不是公式", "n": None},
    {"name": "王五（退役士兵）", "id_number": "440902199003030034", "born": dt.date(1990, 3, 3)},
]


def test_xlsx_round_trip(tmp_path):
    path = write_table(tmp_path / "名册.xlsx", COLUMNS, ROWS, sheet="花名册")
    headers, rows = read_table(path)
    assert headers == ["姓名", "身份证号", "出生日期", "备注", "人数"]
    assert [line for line, _ in rows] == [2, 3, 4]
    first = rows[0][1]
    assert first == {"姓名": "张三", "身份证号": "44090219800101001X", "出生日期": dt.date(1980, 1, 1), "备注": "光荣牌已悬挂", "人数": 3}
    assert type(first["出生日期"]) is dt.date
    assert rows[1][1]["备注"] == "=1+1 不是公式"  # text, never turned into a formula
    assert rows[1][1]["出生日期"] is None and rows[2][1]["备注"] is None

    from openpyxl import load_workbook

    ws = load_workbook(path).worksheets[0]
    assert ws.title == "花名册"
    assert ws.freeze_panes == "A2"
    assert ws["A1"].font.bold
    assert ws.column_dimensions["B"].width >= 18  # 18-character ID numbers fit


def test_csv_round_trip_with_bom(tmp_path):
    path = write_table(tmp_path / "名册.csv", COLUMNS, ROWS)
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")  # Excel needs the BOM to read UTF-8
    headers, rows = read_table(path)
    assert headers == [h for _, h in COLUMNS]
    assert rows[0] == (2, {"姓名": "张三", "身份证号": "44090219800101001X", "出生日期": "1980-01-01", "备注": "光荣牌已悬挂", "人数": "3"})
    assert rows[1][1]["出生日期"] is None


def test_gbk_csv_and_line_numbers(tmp_path):
    text = "姓名,身份证号,住址\r\n 张三 ,44090219800101001X,广东省茂名市\r\n,,\r\n\r\n李四,440902198502020023,\"茂南区\r\n某村\"\r\n王五,440902199003030034,高州\r\n"
    path = tmp_path / "gbk.csv"
    path.write_bytes(text.encode("gbk"))
    headers, rows = read_table(path)
    assert headers == ["姓名", "身份证号", "住址"]
    assert [(line, r["姓名"]) for line, r in rows] == [(2, "张三"), (5, "李四"), (7, "王五")]
    assert rows[1][1]["住址"] == "茂南区\r\n某村"


def test_xlsx_line_numbers_skip_empty_rows(tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["姓名", None, "类别"])
    ws.append([" 张三\u3000", None, "退役士兵"])
    ws.append([None, None, None])
    ws["A5"] = "李四"
    ws["D5"] = "无表头的列被忽略"
    path = tmp_path / "gap.xlsx"
    wb.save(path)
    headers, rows = read_table(path)
    assert headers == ["姓名", "类别"]
    assert rows == [(2, {"姓名": "张三", "类别": "退役士兵"}), (5, {"姓名": "李四", "类别": None})]


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("garbage.xlsx", b"\x00\x01not a zip at all\xff" * 20),
        ("empty.xlsx", b""),
        ("empty.csv", b""),
        ("blank.csv", b" , \r\n\r\n"),
        ("binary.csv", b"PK\x03\x04\x00\x00garbage"),
        ("roster.xls", b"\xd0\xcf\x11\xe0"),
        ("roster.txt", b"a,b"),
    ],
)
def test_malformed_files(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ValidationError) as err:
        read_table(path)
    message = str(err.value)
    assert name in message and "\n" not in message


def test_missing_file_and_duplicate_header(tmp_path):
    with pytest.raises(ValidationError, match="找不到文件"):
        read_table(tmp_path / "nope.csv")
    path = tmp_path / "dup.csv"
    path.write_text("姓名,姓名\n张三,李四\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="重复"):
        read_table(path)


def test_write_refuses_unknown_suffix(tmp_path):
    with pytest.raises(ValidationError, match="不支持的文件类型"):
        write_table(tmp_path / "out.txt", COLUMNS, ROWS)
    assert not list(tmp_path.iterdir())


def test_write_replaces_existing_file(tmp_path):
    path = tmp_path / "r.csv"
    write_table(path, COLUMNS, ROWS)
    write_table(path, COLUMNS, ROWS[:1])
    assert len(read_table(path)[1]) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["r.csv"]  # no temporary file left behind
