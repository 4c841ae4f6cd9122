"""Roster import and export: veterans from and to ``.xlsx`` / ``.csv`` files.

Library code over a :class:`sync.store.station.Store` (no click, no printing).

Import (:func:`import_roster`) is all or nothing:

1. the headings are mapped to fields of ``veterans`` (:data:`HEADINGS`, each
   field's schema label, the English field names, and a mapping file for
   other rosters); unknown headings are ignored with one warning;
2. *every* row is validated — each cell parsed by :func:`veterans.fields.parse_value`,
   required fields, the area in this station's scope, ID numbers mangled by
   Excel into numbers, ID numbers repeated within the file — and every
   problem is collected with its line number. One bad row and nothing is
   written: :class:`RosterError` carries the list;
3. everything is written in one transaction: a row whose ID number matches a
   live veteran updates only the fields that differ, any other row files a
   new veteran. Re-importing the same file writes nothing.

An empty cell never clears a stored value: a roster from elsewhere that lacks
a phone number must not wipe the one the station collected. Fields are
cleared with ``veteran edit``.

Export (:func:`export_roster`) writes the live veterans in scope under the
canonical headings, enum values as Chinese labels and dates as
``YYYY-MM-DD``: the file re-imports with no change.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from veterans import values as domain

from sync.store import queries
from sync.engine.errors import ValidationError, VetsyncError
from veterans.fields import display_value, parse_value
from veterans.labels import field_label
from sync.engine.schema import table as _table
from sync.store.station import Store
from veterans.tabular import read_table, write_table

from station_node.records import station_code, station_scope

__all__ = [
    "HEADINGS",
    "IGNORE",
    "ImportResult",
    "RosterError",
    "import_roster",
    "export_roster",
    "export_columns",
    "load_mapping",
]

_VETERANS = _table("veterans")

#: Headings of common rosters, per field; the first is the one export writes.
HEADINGS: dict[str, tuple[str, ...]] = {
    "name": ("姓名",),
    "id_number": ("身份证号", "公民身份号码", "身份证号码"),
    "gender": ("性别",),
    "birth_date": ("出生日期",),
    "ethnicity": ("民族",),
    "phone": ("联系电话", "电话", "手机"),
    "address": ("住址", "家庭住址"),
    "area": ("区划代码", "所属村（社区）代码"),
    "category": ("类别", "人员类别"),
    "branch": ("军种",),
    "unit": ("原部队", "服役部队"),
    "enlisted_on": ("入伍时间",),
    "discharged_on": ("退役时间",),
    "disability_level": ("伤残等级",),
    "disability_cause": ("伤残性质",),
    "honor_plaque": ("光荣牌",),
    "health": ("健康状况",),
    "family": ("家庭情况",),
    "difficulties": ("困难情况",),
    "needs": ("诉求",),
    "status": ("状态",),
    "note": ("备注",),
}

#: Mapping target meaning "ignore this column, without a warning".
IGNORE = "忽略"
_IGNORE_WORDS = frozenset({"", IGNORE, "-", "ignore", "none", "null"})

#: The fields a roster may set (settable veterans fields).
_FIELDS = tuple(f.name for f in _VETERANS.fields if f.settable)

_MAX_ERRORS_PER_ROW = 20
# 4.40902E+17, 4.409021960010E17, 1.38001E+10: a number Excel showed in scientific notation
_SCIENTIFIC = re.compile(r"[+-]?\d+(\.\d*)?[eE][+-]?\d+")
_CODE_FIELDS = ("id_number", "area", "phone")
_TEXT_HINT = "请在 Excel 中把该列设为“文本”格式后重新录入"
# Excel date serials of 1900-01-01 … 2100-12-31 (epoch 1899-12-30, Lotus leap-year bug included)
_EXCEL_EPOCH = _dt.date(1899, 12, 30)
_SERIAL_MIN, _SERIAL_MAX = 2, 73415


class RosterError(ValidationError):
    """The roster has bad rows; nothing was written. ``errors`` holds one line per problem."""

    def __init__(self, message: str, errors: list[str], *, bad_rows: int, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.errors = list(errors)
        self.bad_rows = bad_rows


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    warnings: list[str] = field(default_factory=list)
    dry_run: bool = False

    @property
    def rows(self) -> int:
        return self.created + self.updated + self.unchanged

    def as_dict(self) -> dict:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rows": self.rows,
            "warnings": list(self.warnings),
            "dry_run": self.dry_run,
        }


# --------------------------------------------------------------------------- headings


def _norm(heading: Any) -> str:
    """Heading as compared: NFKC (full-width brackets = half-width), no spaces,
    no required-marks (``*姓名``), no trailing colon, lower case."""
    text = unicodedata.normalize("NFKC", str(heading or ""))
    text = "".join(text.split()).strip("*").rstrip(":")
    return text.lower()


def _builtin_aliases() -> dict[str, str]:
    out: dict[str, str] = {}
    for name in _FIELDS:  # English names and schema labels first, the common headings win
        label = field_label(_VETERANS, name)
        out[_norm(name)] = name
        out[_norm(label)] = name
        out[_norm(label.split("（")[0])] = name
    for name, headings in HEADINGS.items():
        for h in headings:
            out[_norm(h)] = name
    return out


_ALIASES = _builtin_aliases()


def _target_field(text: Any, where: str) -> str | None:
    """A mapping target: a field (English, schema label or roster heading), or None to ignore."""
    raw = "" if text is None else str(text).strip()
    if raw.lower() in _IGNORE_WORDS:
        return None
    found = _ALIASES.get(_norm(raw))
    if found is None:
        allowed = "、".join(f"{n}（{HEADINGS[n][0]}）" for n in _FIELDS)
        raise ValidationError(f"{where}：字段 {raw} 无法识别，可用的字段：{allowed}；不导入的列写“{IGNORE}”")
    return found


def load_mapping(path: str | Path) -> dict[str, str | None]:
    """Read a mapping file: JSON ``{"表头": "字段"}`` or a two-column table
    (``.csv``/``.xlsx``, ``表头,字段``; the heading row is optional).

    Returns ``{normalised heading: field or None (ignore)}``.
    """
    path = Path(path)
    pairs: list[tuple[str, Any, str]] = []  # (heading, target, where)
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(path.read_text(encoding="utf-8-sig"))
        except FileNotFoundError:
            raise ValidationError(f"找不到映射文件：{path.name}") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValidationError(f"映射文件 {path.name} 不是有效的 JSON：{exc}") from None
        if not isinstance(data, dict):
            raise ValidationError(f"映射文件 {path.name} 应为 {{\"表头\": \"字段\"}} 形式的 JSON 对象")
        pairs = [(str(k), v, f"映射文件 {path.name} 表头“{k}”") for k, v in data.items()]
    else:
        headers, rows = read_table(path)
        if len(headers) < 2:
            raise ValidationError(f"映射文件 {path.name} 应有两列：表头,字段")
        h1, h2 = headers[0], headers[1]
        if _norm(h1) not in {"表头", "列名", "标题", "原表头", "heading", "header", "column"}:
            pairs.append((h1, h2, f"映射文件 {path.name} 第1行"))
        for line, values in rows:
            heading = values.get(h1)
            if heading is None:
                continue
            pairs.append((str(heading), values.get(h2), f"映射文件 {path.name} 第{line}行"))
    out: dict[str, str | None] = {}
    for heading, target, where in pairs:
        if not _norm(heading):
            raise ValidationError(f"{where}：表头为空")
        out[_norm(heading)] = _target_field(target, where)
    return out


def _map_headings(headers: list[str], mapping: dict[str, str | None]) -> tuple[dict[str, str], list[str]]:
    """``({heading in file: field}, [unknown headings])``; refuses two columns for one field."""
    columns: dict[str, str] = {}
    by_field: dict[str, str] = {}
    unknown: list[str] = []
    for heading in headers:
        key = _norm(heading)
        if key in mapping:
            name = mapping[key]
            if name is None:
                continue
        elif key in _ALIASES:
            name = _ALIASES[key]
        else:
            unknown.append(heading)
            continue
        if name in by_field:
            raise ValidationError(
                f"名册中“{by_field[name]}”和“{heading}”两列都对应{field_label(_VETERANS, name)}",
                hint=f"请删去一列，或用映射文件把其中一列设为“{IGNORE}”",
            )
        by_field[name] = heading
        columns[heading] = name
    return columns, unknown


# --------------------------------------------------------------------------- cells


def _cell(name: str, value: Any) -> Any:
    """A cell made ready for :func:`parse_value`: numbers and dates Excel made of text."""
    if value is None:
        return None
    kind = _VETERANS.get(name).kind
    if isinstance(value, float) and value.is_integer() and kind != "id_number":
        value = int(value)
    if name in _CODE_FIELDS:
        if name == "id_number" and isinstance(value, (int, float)) and not isinstance(value, bool):
            raise ValidationError(f"身份证号 {value} 被 Excel 存成了数字，末几位可能已丢失", hint=_TEXT_HINT)
        if isinstance(value, str):
            value = value.lstrip("'‘’").strip()  # '440902… typed to force text
            if _SCIENTIFIC.fullmatch(value):
                label = field_label(_VETERANS, name)
                raise ValidationError(f"{label} {value} 被 Excel 存成了科学计数法的数字，数字已丢失", hint=_TEXT_HINT)
        return value if isinstance(value, str) else str(value)
    if kind == "date":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            number = int(value)
            if 19000101 <= number <= 21001231:  # 20230105 as a number
                return str(number)
            if _SERIAL_MIN <= number <= _SERIAL_MAX:  # a date cell that lost its format: 44931
                return _EXCEL_EPOCH + _dt.timedelta(days=number)
            return str(value)
        return value
    if isinstance(value, _dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, _dt.date):
        return value.isoformat()
    if not isinstance(value, str):
        return str(value)
    return value


@dataclass
class _Row:
    line: int
    values: dict[str, Any]  # parsed, only non-empty cells


def _validate(
    records: list[tuple[int, dict[str, Any]]],
    columns: dict[str, str],
    scope: str,
    default_area: str | None,
    warnings: list[str],
) -> tuple[list[_Row], list[tuple[int, str]]]:
    """Parse every row; ``(rows, [(line, error)])``."""
    rows: list[_Row] = []
    errors: list[tuple[int, str]] = []
    for line, raw in records:
        values: dict[str, Any] = {}
        row_errors: list[str] = []
        failed: set[str] = set()
        for heading, name in columns.items():
            try:
                value = parse_value(_VETERANS, name, _cell(name, raw.get(heading)), scope=scope)
            except VetsyncError as exc:
                row_errors.append(str(exc))
                failed.add(name)
                continue
            if value is not None:
                values[name] = value
        if "area" not in values and "area" not in failed and default_area:
            values["area"] = default_area
        for name in ("name", "id_number", "area"):
            if name not in values and name not in failed:
                extra = "（可用 --area 指定）" if name == "area" else ""
                row_errors.append(f"缺少{field_label(_VETERANS, name)}{extra}")
        if row_errors:
            errors += [(line, e) for e in row_errors[:_MAX_ERRORS_PER_ROW]]
            continue
        _consistency_warnings(line, values, warnings)
        rows.append(_Row(line, values))
    # the same person twice in one file: every line of the group is bad
    lines_by_id: dict[str, list[int]] = {}
    for row in rows:
        lines_by_id.setdefault(row.values["id_number"], []).append(row.line)
    duplicated = {i: ls for i, ls in lines_by_id.items() if len(ls) > 1}
    if duplicated:
        for row in rows:
            group = duplicated.get(row.values["id_number"])
            if group:
                others = "、".join(str(n) for n in group if n != row.line)
                errors.append((row.line, f"身份证号 {row.values['id_number']} 与第 {others} 行重复"))
        rows = [r for r in rows if r.values["id_number"] not in duplicated]
    return rows, errors


def _consistency_warnings(line: int, values: dict[str, Any], warnings: list[str]) -> None:
    id_number = values["id_number"]
    born = f"{id_number[6:10]}-{id_number[10:12]}-{id_number[12:14]}"
    if values.get("birth_date") and values["birth_date"] != born:
        warnings.append(f"第 {line} 行：出生日期 {values['birth_date']} 与身份证号中的 {born} 不一致")
    sex = "male" if int(id_number[16]) % 2 else "female"
    if values.get("gender") and values["gender"] != sex:
        warnings.append(
            f"第 {line} 行：性别 {domain.label('gender', values['gender'])} 与身份证号（{domain.label('gender', sex)}）不一致"
        )


# --------------------------------------------------------------------------- import


def _default_area(store: Store, scope: str, area: str | None, has_column: bool) -> str | None:
    if area is not None:
        return domain.validate_area(area, scope=scope)
    code = station_code(store)
    if len(code) == 12:
        return code
    if not has_column:
        raise ValidationError(
            "名册没有区划代码列，本站不是村（社区）站，无法确定人员所属村（社区）",
            hint="请用 --area 指定村（社区）区划代码，或在名册中加“区划代码”列",
        )
    return None


def import_roster(
    store: Store,
    path: str | Path,
    *,
    mapping_path: str | Path | None = None,
    dry_run: bool = False,
    area: str | None = None,
) -> ImportResult:
    """Import the veterans of a roster file; all rows or none.

    ``area`` is the area of rows without one (the roster has no area column,
    or the cell is empty); it defaults to this station's code when that is a
    village. Raises :class:`RosterError` (nothing written) when any row is
    bad, :class:`ValidationError` when the file itself cannot be used.
    With ``dry_run`` everything is checked and counted, nothing written.
    """
    path = Path(path)
    scope = station_scope(store)
    mapping = load_mapping(mapping_path) if mapping_path is not None else {}
    headers, records = read_table(path)
    columns, unknown = _map_headings(headers, mapping)
    mapped = set(columns.values())
    missing = [HEADINGS[n][0] for n in ("name", "id_number") if n not in mapped]
    if missing:
        raise ValidationError(
            f"名册 {path.name} 缺少“{'”“'.join(missing)}”列（现有列：{'、'.join(headers) or '无'}）",
            hint="表头不同的名册请用 --mapping 指定映射文件",
        )
    result = ImportResult(dry_run=dry_run)
    if unknown:
        result.warnings.append(f"未识别的列已忽略：{'、'.join(unknown)}")
    default_area = _default_area(store, scope, area, "area" in mapped)

    rows, errors = _validate(records, columns, scope, default_area, result.warnings)

    existing: dict[str, list[dict]] = {}
    for vet in queries.veterans(store, order="id"):
        if vet.get("id_number"):
            existing.setdefault(vet["id_number"], []).append(vet)
    plan: list[tuple[str, dict[str, Any], bool]] = []  # (row id, changes, create)
    for row in rows:
        matches = existing.get(row.values["id_number"], [])
        if len(matches) > 1:
            names = "、".join(f"{m.get('name') or ''}（{m['id']}）" for m in matches)
            errors.append((row.line, f"身份证号 {row.values['id_number']} 在本站已有多份档案：{names}，请先处理重复登记"))
            continue
        if matches:
            current = matches[0]
            changes = {k: v for k, v in row.values.items() if current.get(k) != v}
            if changes:
                plan.append((current["id"], changes, False))
                result.updated += 1
            else:
                result.unchanged += 1
        else:
            values = dict(row.values)
            values.setdefault("birth_date", domain.birth_date_from_id(values["id_number"]))
            values.setdefault("gender", domain.gender_from_id(values["id_number"]))
            values.setdefault("status", "active")
            plan.append((domain.new_id(), values, True))
            result.created += 1

    if errors:
        errors.sort(key=lambda item: item[0])
        bad = len({line for line, _ in errors})
        raise RosterError(
            f"名册有 {bad} 行有误，未导入任何记录",
            [f"第 {line} 行：{message}" for line, message in errors],
            bad_rows=bad,
            hint="请改正后重新导入",
        )
    if not records:
        result.warnings.append(f"名册 {path.name} 没有数据行")
    if dry_run or not plan:
        return result
    with store.transaction():
        for row_id, changes, create in plan:
            store.write("veterans", row_id, changes, create=create)
    return result


# --------------------------------------------------------------------------- export


def export_columns() -> list[tuple[str, str]]:
    """``[(field, heading)]`` of an exported roster, canonical headings."""
    return [(name, HEADINGS[name][0]) for name in HEADINGS]


def export_roster(store: Store, path: str | Path, *, area: str | None = None) -> int:
    """Write the live veterans in scope (under ``area`` when given) to ``path``
    (.xlsx or .csv); returns how many."""
    scope = station_scope(store)
    prefix = domain.validate_area(area, scope=scope) if area is not None else None
    vets = queries.veterans(store, area_prefix=prefix)
    columns = export_columns()
    rows = []
    for vet in vets:
        rows.append({name: (display_value(_VETERANS, name, vet.get(name)) or None) for name, _ in columns})
    write_table(path, columns, rows, sheet="退役军人名册")
    return len(rows)
