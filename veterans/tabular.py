"""Tables with Chinese headers in ``.xlsx`` and ``.csv`` files.

Used by the reports (``veterans.report``), by roster import/export and by the
台账 exports. Chosen by the file's suffix:

- :func:`write_table` writes ``columns`` (``[(key, heading)]``) and ``rows``
  (dicts keyed by ``key``, any iterable: rows are streamed, never held all
  at once): ``.xlsx`` with a bold, frozen header row and column widths
  fitted to the text of the first rows, or ``.csv`` in UTF-8 with a BOM (so
  Excel on a Chinese Windows PC shows the characters, not mojibake). The
  file is written next to its target and renamed over it, so a failed
  write never leaves half a file. ``highlight=KEY`` shades the rows whose
  value under KEY is not empty (``.xlsx``; the error roster of an import).
- :func:`open_table` reads a table and yields every non-empty row as
  ``(line, {heading: value})`` *while reading* (``.xlsx`` in openpyxl's
  read-only mode), ``line`` being the row's 1-based line in the file so that
  import errors can point at it. Given ``known`` (is this text a heading we
  know?) it reads it as rosters really are: the header row is the row with
  most known headings among the first :data:`HEADER_SCAN` (title rows, merged
  title cells, blank rows above it are passed over), two header rows are
  read as one (服役情况 merged over 入伍时间 / 退役时间; or 基本情况 over most
  columns, the lower row then holding most headings, 序号 and 姓名 merged
  down beside it), and
  a row of column numbers under the header (1, 2, 3 …) and a repeated header
  row are passed over. Rows its ``skip`` names (合计, 填表人 …) are passed over
  too; :attr:`TableRows.skipped` lists them all.
- :func:`read_table` is the plain form: the header is the first non-empty
  row, no row is passed over; returns ``(headers, [(line, {heading: value}),
  …])`` as a list.

Cells: ``.xlsx``, the first sheet; date cells come back as
:class:`datetime.date` (a time of day other than midnight keeps the
:class:`datetime.datetime`), a date cell whose format shows no day
(``yyyy"年"m"月"``, ``yyyy.mm``) as the month it shows, ``"YYYY-MM"``.
``.csv``: UTF-8 (with or without BOM), else GB18030 — what Chinese Excel
writes with "CSV (逗号分隔)". Strings are stripped of surrounding whitespace
(full-width spaces too); empty cells read as ``None``. A heading loses the
line breaks and spaces inside it when it is Chinese (``身份证\\n号码`` →
``身份证号码``, ``联系 电话`` → ``联系电话``).

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

Codes as text. Excel opening a ``.csv`` turns a cell of digits into a number:
an 18-digit ID number loses its last three digits (15 significant digits), a
12-digit area code shows as ``4.40902E+11`` and is saved back so, a leading
zero goes. A ``.csv`` text cell of digits only that is longer than 11 digits
or starts with ``0`` is therefore written with a leading tab
(``"\\t440902196503120071"``): Excel and WPS keep it as text, and reading
strips it again. (11-digit mobile numbers survive as numbers and are left
alone.) In ``.xlsx`` every ``str`` is a text cell already.

Every failure is a :class:`~sync.engine.errors.ValidationError` with a
one-line Chinese message naming the file. openpyxl is imported only when an
``.xlsx`` is touched.
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import numbers
import os
import re
import tempfile
import unicodedata
from contextlib import contextmanager
from itertools import chain, islice
from pathlib import Path
from typing import Any, Callable, Hashable, Iterable, Iterator

from sync.engine.errors import ValidationError

__all__ = ["write_table", "read_table", "open_table", "TableRows", "SUFFIXES", "HEADER_SCAN"]

SUFFIXES = (".xlsx", ".csv")

#: Non-empty rows looked at, from the top, for the header row.
HEADER_SCAN = 30

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
    columns: list[tuple[Hashable, str]],
    rows: Iterable[dict[Any, Any]],
    *,
    sheet: str = "报表",
    highlight: Hashable | None = None,
) -> Path:
    """Write ``rows`` under the headings of ``columns`` to ``path`` (.xlsx or .csv).

    A value missing from a row, or ``None``, leaves the cell empty. ``rows``
    is consumed once, as it comes. With ``highlight``, rows whose value under
    that key is not empty are shaded (``.xlsx``) and the header gets a
    filter. Returns the path written.
    """
    path = Path(path)
    suffix = _suffix(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=".~", suffix=suffix, dir=path.parent)
    except OSError as exc:
        raise ValidationError(f"无法写入文件 {path.name}：{exc.strerror or exc}") from exc
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        if suffix == ".xlsx":
            _write_xlsx(tmp, columns, iter(rows), sheet, highlight)
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


def _digits_excel_would_eat(text: str) -> bool:
    """Digits only, and Excel would turn them into a number that is not them
    (over 11 digits: scientific notation or lost digits; a leading zero)."""
    return text.isascii() and text.isdigit() and (len(text) > 11 or (len(text) > 1 and text[0] == "0"))


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, (_dt.date, _dt.datetime)):
        return value.isoformat()
    if isinstance(value, numbers.Number):
        return value  # a real number is not text: -5.0 stays a number
    text = value if isinstance(value, str) else str(value)
    if _digits_excel_would_eat(text):
        return "\t" + text  # kept as text by Excel and WPS; stripped again when read
    return _neutralise(text)


def _write_csv(path: Path, columns: list[tuple[Hashable, str]], rows: Iterable[dict]) -> None:
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


def _write_xlsx(path: Path, columns: list[tuple[Hashable, str]], rows: Iterator[dict], sheet: str,
                highlight: Hashable | None) -> None:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    head = list(islice(rows, _WIDTH_SAMPLE))  # sized on the first rows; the rest streams
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(_sheet_title(sheet))
    ws.freeze_panes = "A2"
    for i, (key, heading) in enumerate(columns, start=1):
        width = max([_display_width(heading)] + [_display_width(r.get(key)) for r in head])
        ws.column_dimensions[get_column_letter(i)].width = min(max(width + 2, _MIN_WIDTH), _MAX_WIDTH)
    if highlight is not None and columns:
        ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}1"
    bold = Font(bold=True)
    shade = PatternFill("solid", start_color="FFFFC7CE", end_color="FFFFC7CE")
    header = []
    for _, heading in columns:
        cell = WriteOnlyCell(ws, value=heading)
        cell.font = bold
        header.append(cell)
    ws.append(header)
    for row in chain(head, rows):
        shaded = highlight is not None and row.get(highlight) not in (None, "")
        out = []
        for key, _ in columns:
            value = row.get(key)
            if value is not None and not isinstance(value, (str, _dt.date, int, float)):
                value = str(value)  # bool is an int; dates and datetimes get openpyxl's own formats
            if isinstance(value, str):
                value = ILLEGAL_CHARACTERS_RE.sub("", value)
                if value.startswith(("=", "#")):  # a formula or an error code to openpyxl: keep it text
                    value = _text_cell(ws, value)
            if shaded:
                value = _shaded(ws, value, shade)
            out.append(value)  # plain values: openpyxl writes them through one reused cell (fast)
        ws.append(out)
    wb.save(path)


def _text_cell(ws, value: str):
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(ws, value=value)
    cell.data_type = "s"  # text starting with "=" stays text, never a formula
    return cell


def _shaded(ws, value: Any, fill):
    from openpyxl.cell import Cell, WriteOnlyCell

    cell = value if isinstance(value, Cell) else WriteOnlyCell(ws, value=value)
    if cell.data_type == "f":
        cell.data_type = "s"
    cell.fill = fill
    return cell


# --------------------------------------------------------------------------- reading


class TableRows:
    """A table being read (from :func:`open_table`): its header, then its rows.

    ``headers``: the headings in column order (empty headings dropped);
    ``header_line``: the line of the header row (of its lower row when it has
    two); iterating yields ``(line, {heading: value})`` for every data row
    not passed over; ``skipped``: ``[(line, reason)]`` of the rows passed
    over so far (complete once iteration has ended).
    """

    def __init__(self, headers: list[str], header_line: int, rows: Iterator[tuple[int, dict]],
                 skipped: list[tuple[int, str]]):
        self.headers = headers
        self.header_line = header_line
        self.skipped = skipped
        self._rows = rows

    def __iter__(self) -> Iterator[tuple[int, dict]]:
        return self._rows


#: Reasons of the rows :func:`open_table` passes over by itself.
REPEATED_HEADER = "重复的表头"
COLUMN_NUMBERS = "列序号"


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    if isinstance(value, _dt.datetime) and value.time() == _dt.time(0):
        return value.date()
    return value


_CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]")


def _heading(value: Any) -> str:
    """A header cell as a heading: Chinese text loses its inner spaces and line breaks."""
    if value is None:
        return ""
    text = str(value)
    parts = text.split()
    return "".join(parts) if _CJK.search(text) else " ".join(parts)


def _is_column_numbers(cells: list[Any]) -> bool:
    """1, 2, 3 … (or 甲, 乙, 1, 2 …) under the header: the form's column numbers."""
    numbers_ = [c for c in cells if c is not None]
    ints = []
    for c in numbers_:
        if isinstance(c, bool):
            return False
        if isinstance(c, (int, float)) and float(c).is_integer():
            ints.append(int(c))
        elif isinstance(c, str) and c.isdigit():
            ints.append(int(c))
        elif not (isinstance(c, str) and c in "甲乙丙丁"):
            return False
    return len(ints) >= 3 and ints == list(range(ints[0], ints[0] + len(ints)))


def _choose_header(first: list[tuple[int, list[Any]]], known: Callable[[str], bool] | None) -> int:
    """Index in ``first`` of the header row: the one with the most known headings
    (the first of them), or the first row when none has any."""
    if known is None:
        return 0
    best, best_score = 0, 0
    for i, (_, cells) in enumerate(first):
        score = sum(1 for c in cells if c is not None and known(_heading(c)))
        if score > best_score:
            best, best_score = i, score
    return best


def _parent_header(upper: list[Any], lower: list[Any], known: Callable[[str], bool]) -> bool:
    """Is ``upper`` the top row of a two-row header over ``lower`` (the row with most known
    headings): its own known headings stand only over empty cells of ``lower`` (merged down)?"""
    own = [i for i, c in enumerate(upper) if c is not None and known(_heading(c))]
    return bool(own) and all(i >= len(lower) or lower[i] is None for i in own)


def _sub_header(cells: list[Any], known: Callable[[str], bool] | None) -> bool:
    """Is this row, under the header, a second header row (every cell a known heading)?"""
    if known is None:
        return False
    filled = [c for c in cells if c is not None]
    return bool(filled) and all(isinstance(c, str) and known(_heading(c)) for c in filled)


@contextmanager
def open_table(
    path: str | Path,
    *,
    known: Callable[[str], bool] | None = None,
    skip: Callable[[list[Any]], str | None] | None = None,
) -> Iterator[TableRows]:
    """Open a table for reading, streamed; see the module docstring.

    ``known(heading)``: is it a heading we know (then the header row is
    searched for among the first :data:`HEADER_SCAN` non-empty rows);
    ``skip(cells)``: the reason to pass over a data row (cells in column
    order), or None. A duplicated heading, a file without a header, an
    unreadable or malformed file raise :class:`ValidationError` (while
    opening, or while iterating for damage further down the file).
    """
    path = Path(path)
    suffix = _suffix(path)
    if not path.is_file():
        raise ValidationError(f"找不到文件：{path.name}")
    if path.stat().st_size == 0:
        raise ValidationError(f"文件 {path.name} 是空的")
    raw = _xlsx_rows(path) if suffix == ".xlsx" else _csv_rows(path)
    try:
        yield _start(path, raw, known, skip)
    finally:
        raw.close()


def _start(path: Path, raw: Iterator[tuple[int, list[Any]]], known, skip) -> TableRows:
    first: list[tuple[int, list[Any]]] = []
    for line, cells in raw:
        cells = [_clean(c) for c in cells]
        if any(c is not None for c in cells):
            first.append((line, cells))
            if known is None or len(first) >= HEADER_SCAN:
                break
    if not first:
        raise ValidationError(f"文件 {path.name} 没有表头（内容为空）")
    at = _choose_header(first, known)
    two_rows = known is not None and at > 0 and _parent_header(first[at - 1][1], first[at][1], known)
    if two_rows:
        at -= 1  # the row with most headings is the lower of two: 序号, 姓名 … merged down beside it
    header_line, header_cells = first[at]
    headers = [_heading(c) for c in header_cells]
    rest = first[at + 1:]
    if rest and (two_rows or _sub_header(rest[0][1], known)):
        header_line, sub = rest.pop(0)
        headers += [""] * (len(sub) - len(headers))
        for i, c in enumerate(sub):
            if c is not None:
                headers[i] = _heading(c)
    seen: set[str] = set()
    for h in headers:
        if h and h in seen:
            raise ValidationError(f"文件 {path.name} 第{header_line}行表头“{h}”重复")
        seen.add(h)
    while headers and not headers[-1]:
        headers.pop()
    skipped: list[tuple[int, str]] = []
    rows = _data_rows(chain(rest, raw), headers, skip, skipped, cleaned=len(rest), roster=known is not None)
    return TableRows([h for h in headers if h], header_line, rows, skipped)


def _data_rows(source: Iterator[tuple[int, list[Any]]], headers: list[str], skip,
               skipped: list[tuple[int, str]], *, cleaned: int, roster: bool) -> Iterator[tuple[int, dict]]:
    columns = [(i, h) for i, h in enumerate(headers) if h]
    header_text = [h or None for h in headers]
    first_data = roster
    for n, (line, cells) in enumerate(source):
        if n >= cleaned:
            cells = [_clean(c) for c in cells]
            if all(c is None for c in cells):
                continue
        if roster:
            shown = [_heading(c) or None for c in cells[: len(headers)]]
            if shown + [None] * (len(headers) - len(shown)) == header_text:
                skipped.append((line, REPEATED_HEADER))
                continue
            if first_data:
                first_data = False
                if _is_column_numbers(cells):
                    skipped.append((line, COLUMN_NUMBERS))
                    continue
        reason = skip(cells) if skip is not None else None
        if reason:
            skipped.append((line, reason))
            continue
        width = len(cells)
        yield line, {h: (cells[i] if i < width else None) for i, h in columns}


def read_table(path: str | Path) -> tuple[list[str], list[tuple[int, dict[str, Any]]]]:
    """Read a table: ``(headers, [(line, {heading: value}), ...])``.

    The header is the first non-empty row; later fully empty rows are
    skipped; columns without a heading are ignored. A duplicated heading,
    a file without a header, an unreadable or malformed file all raise
    :class:`ValidationError`.
    """
    with open_table(path) as table:
        return table.headers, list(table)


def _month_format(number_format: str) -> bool:
    """A date format that shows a month, no day and no time: ``yyyy"年"m"月"``, ``yyyy.mm``."""
    fmt = re.sub(r'"[^"]*"|\\.|\[[^\]]*\]', "", number_format or "").lower()
    return "y" in fmt and "m" in fmt and "d" not in fmt and "h" not in fmt and "s" not in fmt


def _xlsx_rows(path: Path) -> Iterator[tuple[int, list[Any]]]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # zipfile.BadZipFile, InvalidFileException, KeyError, XML errors …
        raise ValidationError(
            f"无法读取 Excel 文件 {path.name}：文件已损坏或不是 .xlsx 格式", hint="请用 Excel 打开后另存为 .xlsx"
        ) from exc
    return _xlsx_cells(path, wb)


def _xlsx_cells(path: Path, wb) -> Iterator[tuple[int, list[Any]]]:
    try:
        if not wb.worksheets:
            raise ValidationError(f"Excel 文件 {path.name} 没有工作表")
        ws = wb.worksheets[0]
        if hasattr(ws, "reset_dimensions"):
            ws.reset_dimensions()  # some tools write a wrong <dimension>; read every cell there is
        for cells in ws.iter_rows():
            real = [c for c in cells if getattr(c, "row", None) is not None]
            if not real:
                continue
            line = real[0].row
            width = max(c.column for c in real)
            values: list[Any] = [None] * width
            for c in real:
                value = c.value
                if isinstance(value, _dt.datetime) and _month_format(c.number_format):
                    value = f"{value.year:04d}-{value.month:02d}"  # the month the cell shows
                values[c.column - 1] = value
            yield line, values
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


def _csv_rows(path: Path) -> Iterator[tuple[int, list[Any]]]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ValidationError(f"无法读取文件 {path.name}：{exc.strerror or exc}") from exc
    if b"\x00" in data:
        raise ValidationError(f"文件 {path.name} 不是文本格式的 CSV", hint="Excel 文件请保存为 .xlsx")
    text = _decode(path, data)
    del data
    return _csv_records(path, text)


def _csv_records(path: Path, text: str) -> Iterator[tuple[int, list[Any]]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    line = 1
    try:
        for cells in reader:
            yield line, [_unneutralise(c) for c in cells]
            line = reader.line_num + 1  # a quoted field may span lines: the next record starts here
    except csv.Error as exc:
        raise ValidationError(f"无法读取文件 {path.name}：第{reader.line_num}行 CSV 格式错误") from exc
