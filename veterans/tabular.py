"""Tables with Chinese headers in ``.xlsx`` and ``.csv`` files.

Used by the reports (``veterans.report``) and by roster import/export. Two
functions, chosen by the file's suffix:

- :func:`write_table` writes ``columns`` (``[(key, heading)]``) and ``rows``
  (dicts keyed by ``key``): ``.xlsx`` with a bold, frozen header row and
  column widths fitted to the text, or ``.csv`` in UTF-8 with a BOM (so
  Excel on a Chinese Windows PC shows the characters, not mojibake). The
  file is written next to its target and renamed over it, so a failed
  write never leaves half a file.
- :func:`read_table` returns the header cells and every non-empty row as
  ``(line, {heading: value})``, ``line`` being the row's 1-based line in the
  file (the header is normally line 1) so that import errors can point at
  it. ``.xlsx``: the first sheet, date cells come back as
  :class:`datetime.date` (a time of day other than midnight keeps the
  :class:`datetime.datetime`). ``.csv``: UTF-8 (with or without BOM), else
  GB18030 — what Chinese Excel writes with "CSV (逗号分隔)".

Formula injection (CSV/XLSX injection). Cell text may come from another
station through sync, so nothing we write may turn into a formula when the
file is opened in Excel or WPS:

- ``.csv``: OWASP's rule — a text value that begins with ``=``, ``+``,
  ``-``, ``@``, a tab or a carriage return is written with a leading single
  quote (``'=HYPERLINK(…)``). Only ``str`` values (and other objects
  written as their text) are neutralised; numbers (``int``, ``float`` such
  as ``-5.0``, ``Decimal``), dates and booleans are written as they are.
- ``.xlsx``: every text cell is written with the string data type (never
  a formula, whatever it begins with) and its value unchanged, so no quote
  is added. (A carriage return inside a cell comes back as a line feed: XML
  normalises line ends.)
- Reading a ``.csv`` undoes exactly that quote: a cell that begins with
  ``'`` followed by one of those characters loses the ``'``. A round trip
  of our own export (roster export → edit → import) therefore gives the
  original text back instead of growing one quote per trip, and a value
  that truly began with ``'=`` is the only thing that loses a character.
  ``.xlsx`` cells are read as they are (Excel's own "text" apostrophe is a
  cell style, not part of the value).

Strings are stripped of surrounding whitespace (full-width spaces too);
empty cells read as ``None``. Every failure is a
:class:`~sync.engine.errors.ValidationError` with a one-line Chinese message
naming the file. openpyxl is imported only when an ``.xlsx`` is touched.
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import numbers
import os
import tempfile
import unicodedata
from pathlib import Path
from typing import Any, Iterable

from sync.engine.errors import ValidationError

__all__ = ["write_table", "read_table", "SUFFIXES"]

SUFFIXES = (".xlsx", ".csv")

_MIN_WIDTH, _MAX_WIDTH = 6, 50
_WIDTH_SAMPLE = 2000  # rows looked at to size the columns


def _suffix(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in SUFFIXES:
        return suffix
    hint = "旧版 .xls 请在 Excel 中另存为 .xlsx" if suffix == ".xls" else "应为 .xlsx 或 .csv"
    raise ValidationError(f"不支持的文件类型：{path.name}", hint=hint)


# --------------------------------------------------------------------------- writing


def write_table(
    path: str | Path,
    columns: list[tuple[str, str]],
    rows: Iterable[dict[str, Any]],
    *,
    sheet: str = "报表",
) -> Path:
    """Write ``rows`` under the headings of ``columns`` to ``path`` (.xlsx or .csv).

    A value missing from a row, or ``None``, leaves the cell empty. Returns
    the path written.
    """
    path = Path(path)
    suffix = _suffix(path)
    rows = list(rows)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=".~", suffix=suffix, dir=path.parent)
    except OSError as exc:
        raise ValidationError(f"无法写入文件 {path.name}：{exc.strerror or exc}") from exc
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        if suffix == ".xlsx":
            _write_xlsx(tmp, columns, rows, sheet)
        else:
            _write_csv(tmp, columns, rows)
        os.replace(tmp, path)
    except OSError as exc:
        raise ValidationError(
            f"无法写入文件 {path.name}：{exc.strerror or exc}", hint="文件可能正在 Excel 中打开，请关闭后重试"
        ) from exc
    finally:
        tmp.unlink(missing_ok=True)
    return path


# A text cell beginning with one of these is a formula (or becomes one) in
# Excel, WPS or LibreOffice: OWASP "CSV Injection".
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _neutralise(text: str) -> str:
    """``text`` with a leading ``'`` when it would start a formula in a CSV cell."""
    return "'" + text if text.startswith(_FORMULA_PREFIXES) else text


def _unneutralise(text: str) -> str:
    """Undo :func:`_neutralise` on a CSV cell read back."""
    return text[1:] if text.startswith("'") and text[1:].startswith(_FORMULA_PREFIXES) else text


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, (_dt.date, _dt.datetime)):
        return value.isoformat()
    if isinstance(value, numbers.Number):
        return value  # a real number is not text: -5.0 stays a number
    return _neutralise(value if isinstance(value, str) else str(value))


def _write_csv(path: Path, columns: list[tuple[str, str]], rows: list[dict]) -> None:
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow([heading for _, heading in columns])
        for row in rows:
            writer.writerow([_csv_value(row.get(key)) for key, _ in columns])


def _display_width(value: Any) -> int:
    """Width in Excel character units: wide (CJK) characters count 2."""
    if value is None:
        return 0
    if isinstance(value, _dt.datetime):
        return 19
    if isinstance(value, _dt.date):
        return 10
    text = str(value)
    longest = max(text.splitlines() or [""], key=len)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in longest)


def _sheet_title(sheet: str) -> str:
    title = "".join("_" if ch in '[]:*?/\\' else ch for ch in sheet).strip("'") or "报表"
    return title[:31]


def _write_xlsx(path: Path, columns: list[tuple[str, str]], rows: list[dict], sheet: str) -> None:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(_sheet_title(sheet))
    ws.freeze_panes = "A2"
    for i, (key, heading) in enumerate(columns, start=1):
        width = max([_display_width(heading)] + [_display_width(r.get(key)) for r in rows[:_WIDTH_SAMPLE]])
        ws.column_dimensions[get_column_letter(i)].width = min(max(width + 2, _MIN_WIDTH), _MAX_WIDTH)
    bold = Font(bold=True)
    header = []
    for _, heading in columns:
        cell = WriteOnlyCell(ws, value=heading)
        cell.font = bold
        header.append(cell)
    ws.append(header)
    date_format = "yyyy-mm-dd"
    for row in rows:
        out = []
        for key, _ in columns:
            value = row.get(key)
            if isinstance(value, str):
                value = ILLEGAL_CHARACTERS_RE.sub("", value)
                cell = WriteOnlyCell(ws, value=value)
                cell.data_type = "s"  # text starting with "=" stays text, never a formula
            elif isinstance(value, (_dt.date, _dt.datetime, int, float, bool)) or value is None:
                cell = WriteOnlyCell(ws, value=value)
                if type(value) is _dt.date:
                    cell.number_format = date_format
            else:
                cell = WriteOnlyCell(ws, value=str(value))
                cell.data_type = "s"
            out.append(cell)
        ws.append(out)
    wb.save(path)


# --------------------------------------------------------------------------- reading


def read_table(path: str | Path) -> tuple[list[str], list[tuple[int, dict[str, Any]]]]:
    """Read a table: ``(headers, [(line, {heading: value}), ...])``.

    The header is the first non-empty row; later fully empty rows are
    skipped; columns without a heading are ignored. A duplicated heading,
    a file without a header, an unreadable or malformed file all raise
    :class:`ValidationError`.
    """
    path = Path(path)
    suffix = _suffix(path)
    if not path.is_file():
        raise ValidationError(f"找不到文件：{path.name}")
    if path.stat().st_size == 0:
        raise ValidationError(f"文件 {path.name} 是空的")
    raw_rows = _read_xlsx(path) if suffix == ".xlsx" else _read_csv(path)
    return _to_records(path, raw_rows)


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    if isinstance(value, _dt.datetime) and value.time() == _dt.time(0):
        return value.date()
    return value


def _to_records(path: Path, raw_rows: Iterable[tuple[int, list[Any]]]) -> tuple[list[str], list[tuple[int, dict]]]:
    headers: list[str] | None = None
    records: list[tuple[int, dict]] = []
    for line, cells in raw_rows:
        cells = [_clean(c) for c in cells]
        if all(c is None for c in cells):
            continue
        if headers is None:
            headers = ["" if c is None else str(c) for c in cells]
            seen: set[str] = set()
            for h in headers:
                if h and h in seen:
                    raise ValidationError(f"文件 {path.name} 第{line}行表头“{h}”重复")
                seen.add(h)
            continue
        records.append(
            (line, {h: (cells[i] if i < len(cells) else None) for i, h in enumerate(headers) if h})
        )
    if headers is None:
        raise ValidationError(f"文件 {path.name} 没有表头（内容为空）")
    while headers and not headers[-1]:
        headers.pop()
    return [h for h in headers if h], records


def _read_xlsx(path: Path) -> list[tuple[int, list[Any]]]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # zipfile.BadZipFile, InvalidFileException, KeyError, XML errors …
        raise ValidationError(
            f"无法读取 Excel 文件 {path.name}：文件已损坏或不是 .xlsx 格式", hint="请用 Excel 打开后另存为 .xlsx"
        ) from exc
    try:
        if not wb.worksheets:
            raise ValidationError(f"Excel 文件 {path.name} 没有工作表")
        ws = wb.worksheets[0]
        if hasattr(ws, "reset_dimensions"):
            ws.reset_dimensions()  # some tools write a wrong <dimension>; read every cell there is
        out: list[tuple[int, list[Any]]] = []
        for cells in ws.iter_rows():
            real = [c for c in cells if getattr(c, "row", None) is not None]
            if not real:
                continue
            line = real[0].row
            width = max(c.column for c in real)
            values: list[Any] = [None] * width
            for c in real:
                values[c.column - 1] = c.value
            out.append((line, values))
        return out
    except ValidationError:
        raise
    except Exception as exc:
        raise ValidationError(f"无法读取 Excel 文件 {path.name}：内容格式错误") from exc
    finally:
        wb.close()


def _decode(path: Path, data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ValidationError(f"无法识别文件 {path.name} 的字符编码", hint="请另存为 UTF-8 或 GBK 编码的 CSV")


def _read_csv(path: Path) -> list[tuple[int, list[Any]]]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ValidationError(f"无法读取文件 {path.name}：{exc.strerror or exc}") from exc
    if b"\x00" in data:
        raise ValidationError(f"文件 {path.name} 不是文本格式的 CSV", hint="Excel 文件请保存为 .xlsx")
    text = _decode(path, data)
    reader = csv.reader(io.StringIO(text, newline=""))
    out: list[tuple[int, list[Any]]] = []
    line = 1
    try:
        for cells in reader:
            out.append((line, [_unneutralise(c) for c in cells]))
            line = reader.line_num + 1  # a quoted field may span lines: the next record starts here
    except csv.Error as exc:
        raise ValidationError(f"无法读取文件 {path.name}：第{reader.line_num}行 CSV 格式错误") from exc
    return out
