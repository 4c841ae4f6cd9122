"""A roster's cells made ready for the field parsers, and the messages of the ones that are not.

Pure code (no sqlite), used by ``station_node.roster``. Excel changes what a
clerk typed before the roster reaches us; these functions undo what can be
undone and name what cannot:

- :func:`prepare_cell`: an integer cell of an ID number, a phone or an area
  code is the text of its digits (an ID number with all 18 digits is read);
  a floating-point ID number has lost digits (Excel keeps 15 significant
  digits: the last three become 000) and is refused saying so, as is text
  in scientific notation (``4.40902E+17``); in a date column ``1983.12`` in a
  number cell is the month 1983-12 (``1983.1`` is refused: Excel shows 1983.10
  so too), ``198312``, ``20230105`` and a year are the text they show, a day
  number of Excel's (44931) is its date. Everything else goes to
  :func:`veterans.fields.parse_value` as it is;
- :func:`problem_text`: a parser's message with what to do added where it
  says only what is wrong, and an ID number of 18 digits ending in 000 that
  fails its check named as one Excel ate;
- :func:`cell_back`: a cell as written back into the error roster (codes as
  text, a lost ID number as the 15 digits Excel still shows).
"""

from __future__ import annotations

import datetime as _dt
import re
from decimal import Decimal
from typing import Any

from sync.engine.errors import ScopeError, ValidationError, VetsyncError
from sync.engine.schema import table as _table
from veterans.labels import field_label

__all__ = ["CODE_FIELDS", "prepare_cell", "problem_text", "cell_back"]

_VETERANS = _table("veterans")

#: Fields holding a code of digits (an integer cell is their text).
CODE_FIELDS = ("id_number", "area", "phone")

# 4.40902E+17, 4.409021960010E17, 1.38001E+10: a number Excel showed in scientific notation
_SCIENTIFIC = re.compile(r"[+-]?\d+(\.\d*)?[eE][+-]?\d+")
_TEXT_HINT = "请在 Excel 中把该列设为“文本”格式后重新录入"
# What to do, for a parser's message that says only what is wrong.
_HINTS = {
    "id_number": "请对照身份证核对",
    "area": "请填写本站范围内的村（社区）区划代码",
    "text": "请删减",
}
# Excel date serials of 1900-01-01 … 2100-12-31 (epoch 1899-12-30, Lotus leap-year bug included)
_EXCEL_EPOCH = _dt.date(1899, 12, 30)
_SERIAL_MIN, _SERIAL_MAX = 2, 73415
_YEARS = range(1900, 2101)


def _year_month_number(name: str, value: float) -> str:
    """``1983.12`` typed into a number cell: the text ``1983.12`` for the date parser.
    ``1983.1`` is refused: Excel shows 1983.10 so too, January and October look alike."""
    label = field_label(_VETERANS, name)
    text = repr(value)
    match = re.fullmatch(r"(\d{4})\.(\d{1,2})", text)
    if not match or int(match.group(1)) not in _YEARS:
        raise ValidationError(f"{label} {text} 不是有效日期", hint="格式如 2023-01-05")
    year, month = match.groups()
    if month == "1":
        raise ValidationError(
            f"{label} {text} 是数字格式，分不清是 {year}年1月 还是 {year}年10月",
            hint=f"请把该列设为“文本”格式后填 {year}.01 或 {year}.10",
        )
    return f"{year}.{int(month):02d}"


def prepare_cell(name: str, value: Any) -> Any:
    """A cell made ready for :func:`parse_value`: numbers and dates Excel made of text."""
    if value is None:
        return None
    kind = _VETERANS.get(name).kind
    numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
    if name in CODE_FIELDS:
        if numeric:
            if isinstance(value, float) and not value.is_integer():
                label = field_label(_VETERANS, name)
                raise ValidationError(f"{label} {value} 被 Excel 存成了带小数的数字", hint=_TEXT_HINT)
            if name == "id_number" and isinstance(value, float):  # what Excel holds: 15 significant digits
                raise _lost_digits(str(int(Decimal(f"{value:.15g}"))))
            return str(int(value))  # an integer cell (an ID number with its 18 digits) reads as it is
        if isinstance(value, str):
            value = value.lstrip("'‘’").strip()  # '440902… typed to force text
            if _SCIENTIFIC.fullmatch(value):
                label = field_label(_VETERANS, name)
                raise ValidationError(f"{label} {value} 被 Excel 存成了科学计数法的数字，数字已丢失", hint=_TEXT_HINT)
        return value if isinstance(value, str) else str(value)
    if kind == "date":
        if numeric:
            if isinstance(value, float) and not value.is_integer():
                return _year_month_number(name, value)
            number = int(value)
            if 19000101 <= number <= 21001231 or 190001 <= number <= 210012 or number in _YEARS:
                return str(number)  # 20230105, 198312 or 1983 typed into a number cell: for the parser
            if _SERIAL_MIN <= number <= _SERIAL_MAX:  # a date cell that lost its format: 44931
                return _EXCEL_EPOCH + _dt.timedelta(days=number)
            return str(value)
        return value
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, _dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, _dt.date):
        return value.isoformat()
    if not isinstance(value, str):
        return str(value)
    return value


def _lost_digits(digits: str) -> ValidationError:
    """An ID number held as a floating-point number: its last digits are not the person's.
    Excel keeps 15 significant digits (the last three become 000); other programs round too."""
    what = "末 3 位已丢失（变成了 000）" if len(digits) == 18 and digits.endswith("000") else "末几位已丢失"
    return ValidationError(f"身份证号 {digits} 被 Excel 存成了数字，{what}",
                           hint="请把该列设为“文本”格式，按身份证重新填写这个号码")


def _excel_lost_digits(value: Any) -> bool:
    """Text of 18 digits ending in 000 (a CSV saved from Excel after it ate the ID number)."""
    text = value.strip() if isinstance(value, str) else ""
    return len(text) == 18 and text.isascii() and text.isdigit() and text.endswith("000")


def problem_text(name: str, raw: Any, exc: VetsyncError) -> str:
    """The parser's message with what to do: the Excel-lost ID number named as such,
    a hint added where the parser gave none."""
    if name == "id_number" and _excel_lost_digits(raw):
        return str(_lost_digits(raw.strip()))
    if exc.hint is not None:
        return str(exc)
    hint = _HINTS["area"] if isinstance(exc, ScopeError) else _HINTS.get(name) or _HINTS.get(_VETERANS.get(name).kind)
    return f"{exc}（{hint}）" if hint else str(exc)


def cell_back(name: str | None, value: Any) -> Any:
    """A cell as written into the error roster: codes as text (a lost ID number shows what is left)."""
    if name in CODE_FIELDS and isinstance(value, (int, float)) and not isinstance(value, bool):
        if isinstance(value, float):  # the 15 significant digits Excel shows
            return str(int(Decimal(f"{value:.15g}"))) if value.is_integer() else repr(value)
        return str(value)
    return value
