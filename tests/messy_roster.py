"""Rosters as counties really have them, made for the roster tests.

:func:`write_xlsx` builds a village roster the way a clerk's Excel file looks:
a title row merged over the columns, a second merged line (填报单位 …), a
blank row, the header (``身份证\\n号码``-style headings with line breaks and
spaces; optionally two header rows, 服役情况 merged over 入伍时间 / 退伍时间),
a row of column numbers, the people, a row with nothing but its 序号 (the
form's pre-numbered empty rows), a 合计 row, a blank row, and the 填表人 /
审核人 and 说明 footer rows. Cells are what Excel holds: ID numbers as text,
as intact numbers and as numbers that lost their last three digits (Excel
keeps 15 significant digits), dates as date cells, as month-formatted date
cells, as text (``1983.12``, ``1983年12月``) and as numbers (``1984.09``,
``198603``), phones as numbers, an unknown column (宗教信仰).

:func:`write_gbk_csv` writes the same people as a GBK-encoded CSV with a
title line, a blank line, a 合计 row and footer rows.

:data:`GOOD` and :data:`BAD` are the people; each :class:`Person` holds the
cells written and the values the import must store (``expect``) or the
problem it must report (``problem``). The writers return ``{name: line}``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from veterans.values import id_number_check_digit

VILLAGE = "440902001001"
TITLE = "茂南区某某镇某某村退役军人花名册"


def make_id(birth: str = "19650312", seq: int = 1, region: str = "440902") -> str:
    body = f"{region}{birth}{seq:03d}"
    return body + id_number_check_digit(body)


def many_ids(n: int) -> list[str]:
    """``n`` distinct valid ID numbers (one a day from 1940)."""
    start = dt.date(1940, 1, 1)
    return [make_id((start + dt.timedelta(days=i // 500)).strftime("%Y%m%d"), i % 500 + 1) for i in range(n)]


def id_with_x(birth: str = "19580705") -> str:
    """An ID number whose check character is X, written with a lower-case x."""
    for seq in range(1, 1000):
        body = f"440902{birth}{seq:03d}"
        if id_number_check_digit(body) == "X":
            return body + "x"
    raise AssertionError("no X")


def excel_number(id_number: str) -> float:
    """The ID number as Excel stores it when typed into a number cell: 15 significant digits."""
    return float(f"{int(id_number):.15g}")


@dataclass
class Person:
    name: str
    id_cell: Any
    gender: str | None = None
    birth: Any = None
    phone: Any = None
    address: str | None = None
    category: str | None = None
    enlisted: Any = None
    discharged: Any = None
    religion: str | None = None  # 宗教信仰: a column no field takes
    note: str | None = None
    expect: dict[str, Any] = field(default_factory=dict)
    problem: str | None = None  # the message after "第 N 行（name）："
    month_cells: tuple[str, ...] = ()  # of enlisted/discharged: date cells formatted as a month

    def cells(self, n: int, headings: list[str]) -> list[Any]:
        by = {
            "序号": n, "姓名": self.name, "性别": self.gender, "身份证号码": self.id_cell, "出生年月": self.birth,
            "民族": "汉族", "联系电话": self.phone, "家庭住址": self.address, "人员类别": self.category,
            "入伍时间": self.enlisted, "退伍时间": self.discharged, "宗教信仰": self.religion, "备注": self.note,
        }
        return [by[h] for h in headings]


ZHANG = make_id("19650312", 11)
LI = make_id("19660720", 24)
WANG = id_with_x()
ZHAO = make_id("19700101", 33)
QIAN = make_id("19640505", 45)
SUN = make_id("19630303", 21)  # the 16th digit rounds down: Excel keeps 440902196303030000
ZHOU = make_id("19620202", 61)
WU = make_id("19610101", 71)

GOOD: list[Person] = [
    Person("张三", ZHANG, "男", "1965.03", 13800138000, "某村1组5号", "退役士兵", "1983.12", "1987年12月",
           religion="无",
           expect={"id_number": ZHANG, "gender": "male", "birth_date": "1965-03-12", "phone": "13800138000",
                   "address": "某村1组5号", "category": "retired_soldier", "enlisted_on": "1983-12",
                   "discharged_on": "1987-12", "ethnicity": "汉族", "area": VILLAGE}),
    Person("李秀英", int(LI), "女", dt.date(1966, 7, 20), "139 0013 9000", "某村2组8号", "烈属", 1984.09,
           dt.datetime(1988, 10, 1), month_cells=("discharged",),
           expect={"id_number": LI, "gender": "female", "birth_date": "1966-07-20", "phone": "13900139000",
                   "category": "martyr_family", "enlisted_on": "1984-09", "discharged_on": "1988-10"}),
    Person("王五", WANG, None, None, "0668-7654321", "某村3组1号", "复员军人", dt.datetime(1976, 11, 1), "1983.10",
           expect={"id_number": WANG.upper(), "gender": "male", "birth_date": "1958-07-05", "phone": "0668-7654321",
                   "category": "demobilized", "enlisted_on": "1976-11-01", "discharged_on": "1983-10"}),
    Person("赵六", ZHAO, None, None, None, "某村4组2号", "退役士兵", "1990年3月", "1994-12-01", note="独居",
           expect={"id_number": ZHAO, "gender": "male", "birth_date": "1970-01-01", "enlisted_on": "1990-03",
                   "discharged_on": "1994-12-01", "note": "独居"}),
    Person("钱七", QIAN, "男", None, 13700137000.0, None, "伤残民兵民工", 198603, None, religion="无",
           expect={"id_number": QIAN, "phone": "13700137000", "category": "disabled_militia",
                   "enlisted_on": "1986-03"}),
]

BAD: list[Person] = [
    Person("孙八", excel_number(SUN), "男", None, None, None, "退役士兵", "1981.10", None,
           problem="身份证号 440902196303030000 被 Excel 存成了数字，末 3 位已丢失（变成了 000）"
                   "（请把该列设为“文本”格式，按身份证重新填写这个号码）",
           expect={"id_number": SUN, "enlisted_on": "1981-10"}),
    Person("周九", ZHOU, "男", None, None, None, "退役士兵", 1983.1, None,
           problem="入伍时间 1983.1 是数字格式，分不清是 1983年1月 还是 1983年10月"
                   "（请把该列设为“文本”格式后填 1983.01 或 1983.10）",
           expect={"id_number": ZHOU, "enlisted_on": "1983-10"}),
    Person("吴十", WU, "男", None, None, None, "志愿兵", None, None,
           problem="类别 志愿兵 无效，应为：转业干部、退役士兵、军休干部/退休士官、无军籍职工、复员军人、红军老战士、"
                   "残疾军人、伤残民兵民工、烈属、因公遗属、病故遗属、现役军属、参战退役人员、参试退役人员、"
                   "带病回乡退伍军人、60周岁以上农村籍退役士兵",
           expect={"id_number": WU, "category": "retired_soldier"}),
]

#: How the bad rows are put right in the error roster: {name: {heading: cell}}.
FIXES = {
    "孙八": {"身份证号码": SUN},
    "周九": {"入伍时间": "1983.10"},
    "吴十": {"人员类别": "退役士兵"},
}

HEADINGS = ["序号", "姓名", "性别", "身份证号码", "出生年月", "民族", "联系电话", "家庭住址", "人员类别", "入伍时间",
            "退伍时间", "宗教信仰", "备注"]
_COL = {h: i + 1 for i, h in enumerate(HEADINGS)}


def write_xlsx(path: Path, people: list[Person], *, id_heading: str = "身份证\n号码", phone_heading: str = "联系 电话",
               name_heading: str = "姓  名", two_level: bool = False, column_numbers: bool = True) -> dict[str, int]:
    """Write the roster; returns ``{name: line}`` of the people."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    ws.title = "花名册"
    last = get_column_letter(len(HEADINGS))
    ws["A1"] = TITLE
    ws["A1"].font = Font(bold=True, size=16)
    ws["A1"].alignment = Alignment(horizontal="center")
    ws.merge_cells(f"A1:{last}1")
    ws["A2"] = "填报单位：某某村退役军人服务站（盖章）          填报日期：2024年3月1日"
    ws.merge_cells(f"A2:{last}2")
    # row 3 blank
    shown = {"姓名": name_heading, "身份证号码": id_heading, "联系电话": phone_heading}
    row = 4
    if two_level:
        for h in HEADINGS:
            col = _COL[h]
            if h in ("入伍时间", "退伍时间"):
                ws.cell(row=5, column=col, value=h)
            else:
                ws.cell(row=4, column=col, value=shown.get(h, h))
                ws.merge_cells(start_row=4, start_column=col, end_row=5, end_column=col)
        ws.cell(row=4, column=_COL["入伍时间"], value="服役\n情况")
        ws.merge_cells(start_row=4, start_column=_COL["入伍时间"], end_row=4, end_column=_COL["退伍时间"])
        row = 6
    else:
        for h in HEADINGS:
            ws.cell(row=4, column=_COL[h], value=shown.get(h, h))
        row = 5
    if column_numbers:
        for h in HEADINGS:
            ws.cell(row=row, column=_COL[h], value=_COL[h])
        row += 1
    lines: dict[str, int] = {}
    for n, person in enumerate(people, start=1):
        for col, value in enumerate(person.cells(n, HEADINGS), start=1):
            cell = ws.cell(row=row, column=col, value=value)
            if isinstance(value, (dt.date, dt.datetime)):
                cell.number_format = "yyyy-mm-dd"
            if isinstance(value, str) and value.isdigit():
                cell.number_format = "@"
        for which in person.month_cells:
            heading = {"enlisted": "入伍时间", "discharged": "退伍时间"}[which]
            ws.cell(row=row, column=_COL[heading]).number_format = 'yyyy"年"m"月"'
        lines[person.name] = row
        row += 1
    ws.cell(row=row, column=1, value=len(people) + 1)  # a pre-numbered empty row of the form
    row += 1
    ws.cell(row=row, column=1, value="合  计")
    ws.cell(row=row, column=2, value=f"{len(people)}人")
    row += 2  # a blank row
    ws.cell(row=row, column=1, value="填表人：王会计")
    ws.cell(row=row, column=7, value="审核人：李主任")
    row += 1
    ws.cell(row=row, column=1, value="说明：本表由村退役军人服务站填写，每年3月报镇服务站。")
    wb.save(path)
    exact = {f"D{lines[p.name]}": str(p.id_cell) for p in people if isinstance(p.id_cell, int)}
    if exact:
        _exact_integers(path, exact)
    return lines


def _exact_integers(path: Path, cells: dict[str, str]) -> None:
    """Put integers into number cells digit for digit, as some programs write them
    (openpyxl writes a float's repr: 18 digits would not survive)."""
    import re
    import zipfile

    with zipfile.ZipFile(path) as zf:
        items = [(info, zf.read(info.filename)) for info in zf.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for info, data in items:
            if info.filename == "xl/worksheets/sheet1.xml":
                text = data.decode("utf-8")
                for ref, digits in cells.items():
                    text, n = re.subn(rf'(<c r="{ref}"[^>]*><v>)[^<]*(</v>)', rf"\g<1>{digits}\g<2>", text)
                    assert n == 1, ref
                data = text.encode("utf-8")
            zf.writestr(info, data)


def footer_lines(people: list[Person], *, two_level: bool = False, column_numbers: bool = True) -> dict[str, int]:
    """Lines of the rows :func:`write_xlsx` puts after the people."""
    after = 4 + (2 if two_level else 1) + (1 if column_numbers else 0) + len(people)
    return {"empty": after, "合计": after + 1, "填表人": after + 3, "说明": after + 4}


CSV_HEADINGS = ["序号", "姓名", "性别", "公民身份号码", "联系\n电话", "人员类别", "入伍时间", "退伍时间", "籍贯"]


def write_gbk_csv(path: Path, people: list[Person]) -> dict[str, int]:
    """The same people as a GBK CSV (a title line, a blank line, the header, the
    people, 合计, 填表人/审核人); returns ``{name: line}``."""
    import csv
    import io

    def text(value: Any, month: bool = False) -> str:
        """The cell as Excel writes it into a CSV: what it shows."""
        if value is None:
            return ""
        if isinstance(value, float):
            if value > 1e11:
                return f"{value:.5E}"  # 4.40903E+17: General format
            return str(int(value)) if value.is_integer() else repr(value)
        if isinstance(value, (dt.date, dt.datetime)):
            return f"{value.year}年{value.month}月" if month else f"{value.year}/{value.month}/{value.day}"
        return str(value)

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([TITLE] + [""] * (len(CSV_HEADINGS) - 1))
    writer.writerow([""] * len(CSV_HEADINGS))
    writer.writerow(CSV_HEADINGS)
    lines: dict[str, int] = {}
    line = 5  # the header's "联系\n电话" spans lines 3 and 4
    for n, p in enumerate(people, start=1):
        writer.writerow([str(n), p.name, p.gender or "", text(p.id_cell), text(p.phone), p.category or "",
                         text(p.enlisted, "enlisted" in p.month_cells), text(p.discharged, "discharged" in p.month_cells),
                         "广东"])
        lines[p.name] = line
        line += 1
    writer.writerow(["合计", f"{len(people)}人"] + [""] * (len(CSV_HEADINGS) - 2))
    writer.writerow(["填表人：王会计", "", "", "审核人：李主任"] + [""] * (len(CSV_HEADINGS) - 4))
    path.write_bytes(out.getvalue().encode("gbk"))
    return lines
