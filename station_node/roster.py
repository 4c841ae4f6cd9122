"""Roster import and export: veterans from and to ``.xlsx`` / ``.csv`` files.

Library code over a :class:`sync.store.station.Store` (no click, no printing).

Import (:func:`import_roster`) is all or nothing, and takes rosters as
counties have them:

1. the file is read as it streams (``veterans.tabular.open_table``): the
   header row is found among the first rows (title rows, merged title
   cells, blank rows above it are passed over; a second header row under
   merged group headings is taken), a row of column numbers under it, a
   repeated header, total and signature rows (合计, 小计, 填表人, 审核人 …:
   ``veterans.roster_headings.footer_reason``) and rows with nothing but a
   序号 are passed over, and named in one warning;
2. the headings are mapped to fields of ``veterans``
   (``veterans.roster_headings``: common headings and their variants —
   spaces and line breaks inside a heading do not matter —, each field's
   schema label, the English field names, and a mapping file for other
   rosters); unknown headings are ignored with one warning, 序号 and 错误
   without one;
3. *every* row is validated — each cell parsed by :func:`veterans.fields.parse_value`,
   required fields, the area in this station's scope, ID numbers stored by
   Excel as numbers (read when all 18 digits are there; a per-row message
   when Excel has already turned the last three into 000), year-month
   numbers (``1983.12`` typed into a number cell), ID numbers repeated
   within the file, and what cannot be true (``veterans.admission.complete_veteran``,
   the rules of ``veteran add`` and of the hub: a gender or birth date the ID
   number contradicts, an enlistment under 16, a discharge before it, a date
   in the future; gender and birth date come from the ID number when not
   given) — and every problem is collected as a :class:`Problem`:
   the line, the person's name, the field, the value, what to do. One bad
   row and nothing is written: :class:`RosterError` carries them all, and
   :func:`write_errors` writes the roster back with an added 错误 column for
   the clerk to correct in Excel and import again;
4. everything is written in one transaction: a row whose ID number matches a
   live veteran updates only the fields that differ, any other row files a
   new veteran. Re-importing the same file writes nothing. The result lists
   each record's change (:class:`Change`: ``字段：旧 → 新``), which is what
   a dry run shows.

An empty cell never clears a stored value: a roster from elsewhere that lacks
a phone number must not wipe the one the station collected. Fields are
cleared with ``veteran edit``. ``progress(phase, done, total)`` is called
while checking (``"check"``, total unknown) and writing (``"write"``).

Export (:func:`export_roster`) writes the live veterans in scope under the
canonical headings, enum values as Chinese labels and dates as
``YYYY-MM-DD``, a family member's 关联军人 as the soldier's 身份证号 (an import takes
the 身份证号 or the record id of a veteran on file or filed by the same roster): the
file re-imports with no change. A new record's 建档日期 is the day of the import unless
the roster gives one; a re-import that lacks it changes nothing. The 台账 of visits and
petitions are :mod:`station_node.ledgers`.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from veterans import values as domain

from sync.store import areas, queries, roster_reads
from sync.engine.errors import ValidationError, VetsyncError
from veterans.admission import complete_veteran, unlisted_area
from veterans.fields import display_value, parse_value
from veterans.labels import field_label
from veterans.roster_cells import cell_back, prepare_cell, problem_text
from veterans.roster_headings import (ERRORS_HEADING, FIELDS, HEADINGS, IGNORE, footer_reason, known_heading,
                                      load_mapping, map_headings, norm)
from sync.engine.schema import table as _table
from sync.store.station import Store
from veterans.tabular import TableRows, open_table, write_table

from station_node.records import soldier_of, station_code, station_scope

__all__ = [
    "HEADINGS",
    "IGNORE",
    "ERRORS_HEADING",
    "Problem",
    "Change",
    "ImportResult",
    "RosterError",
    "Progress",
    "import_roster",
    "write_errors",
    "change_lines",
    "export_roster",
    "export_columns",
    "load_mapping",
]

_VETERANS = _table("veterans")

#: ``progress(phase, done, total)``: phase ``"check"`` (total None) or ``"write"``.
Progress = Callable[[str, int, "int | None"], None]

_ORDER = {name: i for i, name in enumerate(FIELDS)}
_MAX_ERRORS_PER_ROW = 20
_PROGRESS_EVERY = 500


# --------------------------------------------------------------------------- results and errors


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one row: ``第 12 行（张三）：<field, value, what is wrong>（<what to do>）``."""

    line: int
    who: str
    message: str

    def __str__(self) -> str:
        return f"第 {self.line} 行（{self.who}）：{self.message}"

    def as_dict(self) -> dict:
        return {"line": self.line, "name": self.who, "message": self.message}


class RosterError(ValidationError):
    """The roster has bad rows; nothing was written.

    ``problems``: every :class:`Problem`, by line; ``errors``: the same as
    lines of text; ``source``, ``mapping``, ``columns``: what
    :func:`write_errors` needs to write the roster back with them.
    """

    def __init__(self, message: str, problems: list[Problem], *, bad_rows: int, hint: str | None = None,
                 source: Path | None = None, mapping: dict | None = None, columns: dict | None = None):
        super().__init__(message, hint=hint)
        self.problems = list(problems)
        self.errors = [str(p) for p in self.problems]
        self.bad_rows = bad_rows
        self.source = source
        self.mapping = dict(mapping or {})
        self.columns = dict(columns or {})


@dataclass(frozen=True)
class Change:
    """What an import does to one record: ``action`` ``"create"`` or ``"update"``,
    ``fields`` ``[(field, old, new)]`` in schema order (old is None for a new record)."""

    line: int
    who: str
    action: str
    id: str
    id_number: str
    fields: tuple[tuple[str, Any, Any], ...]

    def as_dict(self) -> dict:
        return {
            "line": self.line,
            "action": self.action,
            "id": self.id,
            "name": self.who,
            "id_number": self.id_number,
            "fields": {name: {"old": old, "new": new} for name, old, new in self.fields},
        }


def _shown(name: str, value: Any) -> str:
    return display_value(_VETERANS, name, value) if value not in (None, "") else "（空）"


def change_lines(change: Change) -> list[str]:
    """The change as a clerk reads it: ``第 3 行（张三）：更新`` then ``  住址：旧 → 新`` per field;
    a new record is one line, ``第 5 行（李四）：新增``."""
    if change.action == "create":
        return [f"第 {change.line} 行（{change.who}）：新增"]
    return [f"第 {change.line} 行（{change.who}）：更新"] + [
        f"  {field_label(_VETERANS, name)}：{_shown(name, old)} → {_shown(name, new)}" for name, old, new in change.fields
    ]


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    warnings: list[str] = field(default_factory=list)
    dry_run: bool = False
    changes: list[Change] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)

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
            "changes": [c.as_dict() for c in self.changes],
            "skipped": [{"line": line, "reason": reason} for line, reason in self.skipped],
        }


# --------------------------------------------------------------------------- checking the rows


def _open(path: Path, mapping: dict[str, str | None]):
    """The roster as it streams: header found by our headings, total and signature rows passed over."""
    return open_table(path, known=known_heading(mapping), skip=footer_reason)


@dataclass
class _Row:
    line: int
    who: str
    values: dict[str, Any]  # parsed, only non-empty cells


def _who(raw: dict[str, Any], name_heading: str | None, id_heading: str | None) -> str:
    """Who the row is: the name in it, else its ID number, else 未填姓名."""
    for heading, prefix in ((name_heading, ""), (id_heading, "身份证号 ")):
        value = raw.get(heading) if heading else None
        if value is not None:
            text = " ".join(str(int(value) if isinstance(value, float) and value.is_integer() else value).split())
            if text:
                return prefix + text[:20]
    return "未填姓名"


def _check_row(line: int, raw: dict[str, Any], columns: dict[str, str], scope: str, default_area: str | None,
               who: str) -> tuple[_Row | None, list[Problem]]:
    values: dict[str, Any] = {}
    problems: list[Problem] = []
    failed: set[str] = set()
    for heading, name in columns.items():
        cell = raw.get(heading)
        try:
            value = parse_value(_VETERANS, name, prepare_cell(name, cell), scope=scope)
        except VetsyncError as exc:
            problems.append(Problem(line, who, problem_text(name, cell, exc)))
            failed.add(name)
            continue
        if value is not None:
            values[name] = value
    if "area" not in values and "area" not in failed and default_area:
        values["area"] = default_area
    for name in ("name", "id_number", "area"):
        if name not in values and name not in failed:
            todo = "可用 --area 指定，或在名册中填写" if name == "area" else "请填写"
            problems.append(Problem(line, who, f"缺少{field_label(_VETERANS, name)}（{todo}）"))
    if problems:
        return None, problems[:_MAX_ERRORS_PER_ROW]
    return _Row(line, who, values), []


def _check(table: TableRows, columns: dict[str, str], scope: str, default_area: str | None,
           result: ImportResult, progress: Progress | None) -> tuple[list[_Row], list[Problem]]:
    """Parse every row as it is read: ``(good rows, problems)``."""
    name_heading = next((h for h, n in columns.items() if n == "name"), None)
    id_heading = next((h for h, n in columns.items() if n == "id_number"), None)
    rows: list[_Row] = []
    problems: list[Problem] = []
    seen = 0
    for line, raw in table:
        seen += 1
        if progress and seen % _PROGRESS_EVERY == 0:
            progress("check", seen, None)
        if all(raw.get(h) is None for h in columns):
            result.skipped.append((line, "无人员信息"))  # only a 序号, or only unknown columns
            continue
        row, row_problems = _check_row(line, raw, columns, scope, default_area, _who(raw, name_heading, id_heading))
        if row is None:
            problems += row_problems
            continue
        rows.append(row)
    if progress:
        progress("check", seen, seen)
    # the same person twice in one file: every line of the group is bad
    groups: dict[str, list[_Row]] = {}
    for row in rows:
        groups.setdefault(row.values["id_number"], []).append(row)
    duplicated = {i: g for i, g in groups.items() if len(g) > 1}
    if duplicated:
        for row in rows:
            group = duplicated.get(row.values["id_number"])
            if group:
                others = "、".join(f"第 {r.line} 行（{r.who}）" for r in group if r is not row)
                problems.append(Problem(row.line, row.who,
                                        f"身份证号 {row.values['id_number']} 与{others}重复（请删去重复的行）"))
        rows = [r for r in rows if r.values["id_number"] not in duplicated]
    return rows, problems


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


def _skipped_warning(skipped: list[tuple[int, str]]) -> str | None:
    shown = [(line, why) for line, why in skipped if why != "无人员信息"]
    if not shown:
        return None
    kinds = "、".join(dict.fromkeys(why for _, why in shown))
    return f"已跳过 {len(shown)} 行非人员行（{kinds}）：第 {'、'.join(str(line) for line, _ in shown)} 行"


def _plan(store: Store, rows: list[_Row], result: ImportResult, problems: list[Problem]) -> list[tuple[str, dict, bool]]:
    existing = roster_reads.veterans_by_id_number(store, (r.values["id_number"] for r in rows))
    plan: list[tuple[str, dict[str, Any], bool]] = []  # (row id, changes, create)
    listed = areas.area_names(store)  # the county's area list as pulled (empty: none, nothing refused)
    # A new record's id, made before the rows are planned: a family member's 关联军人 may be
    # a soldier filed by the same roster, on a line before or after the member's.
    new_ids = {r.values["id_number"]: domain.new_id() for r in rows if not existing.get(r.values["id_number"])}
    for row in rows:
        id_number = row.values["id_number"]
        matches = existing.get(id_number, [])
        if row.values.get("soldier_id") is not None:
            soldier = _soldier(store, row.values["soldier_id"], existing, new_ids)
            if soldier is None:
                problems.append(Problem(row.line, row.who, f"关联军人 {row.values['soldier_id']} 不是本站的退役军人档案，"
                                                           f"也不在本名册中（请填写军人的身份证号）"))
                continue
            own = matches[0]["id"] if len(matches) == 1 else new_ids.get(id_number)
            if soldier == own:
                problems.append(Problem(row.line, row.who, "关联军人不能是本人"))
                continue
            row.values["soldier_id"] = soldier
        if len(matches) > 1:
            names = "、".join(f"{m.get('name') or ''}（编号 {m['id']}）" for m in matches)
            problems.append(Problem(row.line, row.who, f"身份证号 {id_number} 在本站已有多份档案：{names}"
                                                       f"（请先处理重复登记）"))
            continue
        current = matches[0] if matches else None
        try:  # completed from the ID number; what cannot be true refused (the station's and the hub's rules)
            if current is None:
                values = complete_veteran(dict(row.values))
            else:
                values = {k: v for k, v in row.values.items() if current.get(k) != v}
                values = complete_veteran(values, current) if values else {}
        except ValidationError as exc:
            problems.append(Problem(row.line, row.who, str(exc)))
            continue
        unlisted = unlisted_area(values.get("area"), on_list=listed.__contains__, has_list=lambda: bool(listed))
        if unlisted:  # a new area only: a veteran filed before the list keeps its code
            problems.append(Problem(row.line, row.who, unlisted))
            continue
        if current is not None:
            changes = {k: v for k, v in values.items() if current.get(k) != v}  # 1965-03 became the stored 1965-03-12
            if changes:
                plan.append((current["id"], changes, False))
                result.updated += 1
                diff = sorted(((k, current.get(k), v) for k, v in changes.items()), key=lambda d: _ORDER.get(d[0], 99))
                result.changes.append(Change(row.line, row.who, "update", current["id"], id_number, tuple(diff)))
            else:
                result.unchanged += 1
        else:
            values.setdefault("status", "active")
            values.setdefault("registered_on", _dt.date.today().isoformat())  # 建档日期: the day of the import
            new_id = new_ids[id_number]
            plan.append((new_id, values, True))
            result.created += 1
            diff = sorted(((k, None, v) for k, v in values.items()), key=lambda d: _ORDER.get(d[0], 99))
            result.changes.append(Change(row.line, row.who, "create", new_id, id_number, tuple(diff)))
    return plan


def _soldier(store: Store, text: str, existing: dict[str, list[dict]], new_ids: dict[str, str]) -> str | None:
    """The id of a family member's soldier named in a roster by 身份证号 (or record id): a
    veteran of this station, or one the same roster files."""
    key = str(text).strip().upper()
    if key in new_ids:
        return new_ids[key]
    if len(existing.get(key, [])) == 1:
        return existing[key][0]["id"]
    found = soldier_of(store, text)
    return found["id"] if found is not None else None


def import_roster(
    store: Store,
    path: str | Path,
    *,
    mapping_path: str | Path | None = None,
    dry_run: bool = False,
    area: str | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Import the veterans of a roster file; all rows or none.

    ``area`` is the area of rows without one (the roster has no area column,
    or the cell is empty); it defaults to this station's code when that is a
    village. Raises :class:`RosterError` (nothing written) when any row is
    bad, :class:`ValidationError` when the file itself cannot be used.
    With ``dry_run`` everything is checked and the changes listed, nothing written.
    """
    path = Path(path)
    scope = station_scope(store)
    mapping = load_mapping(mapping_path) if mapping_path is not None else {}
    result = ImportResult(dry_run=dry_run)
    with _open(path, mapping) as table:
        columns, unknown = map_headings(table.headers, mapping)
        mapped = set(columns.values())
        missing = [HEADINGS[n][0] for n in ("name", "id_number") if n not in mapped]
        if missing:
            raise ValidationError(
                f"名册 {path.name} 缺少“{'”“'.join(missing)}”列（现有列：{'、'.join(table.headers) or '无'}）",
                hint="表头不同的名册请用 --mapping 指定映射文件",
            )
        if unknown:
            result.warnings.append(f"未识别的列已忽略：{'、'.join(unknown)}")
        default_area = _default_area(store, scope, area, "area" in mapped)
        rows, problems = _check(table, columns, scope, default_area, result, progress)
        result.skipped = sorted(result.skipped + table.skipped)
    plan = _plan(store, rows, result, problems)

    if problems:
        problems.sort(key=lambda p: p.line)
        bad = len({p.line for p in problems})
        raise RosterError(f"名册有 {bad} 行有误，未导入任何记录", problems, bad_rows=bad, hint="请改正后重新导入",
                          source=path, mapping=mapping, columns=columns)
    note = _skipped_warning(result.skipped)
    if note:
        result.warnings.append(note)
    if not rows:
        result.warnings.append(f"名册 {path.name} 没有数据行")
    if dry_run or not plan:
        return result
    with store.transaction():
        for done, (row_id, changes, create) in enumerate(plan, start=1):
            store.write("veterans", row_id, changes, create=create)
            if progress and done % _PROGRESS_EVERY == 0:
                progress("write", done, len(plan))
    if progress:
        progress("write", len(plan), len(plan))
    return result


# --------------------------------------------------------------------------- the roster back, with its errors


_ERRORS_KEY = ("errors",)  # a key no heading can be


def write_errors(error: RosterError, dest: str | Path) -> Path:
    """Write the roster of ``error`` back to ``dest`` (.xlsx or .csv): every data row,
    as it was, under a first column 错误 holding that row's problems (bad rows
    shaded in .xlsx). Corrected in Excel, the file imports as it is (the 错误
    column is passed over). Returns the path written."""
    if error.source is None:
        raise ValueError("RosterError without its source")
    dest = Path(dest)
    if dest.resolve() == error.source.resolve():
        raise ValidationError(f"错误文件不能就是名册本身：{dest.name}", hint="请另取文件名，如 名册-错误.xlsx")
    by_line: dict[int, list[str]] = {}
    for p in error.problems:
        by_line.setdefault(p.line, []).append(p.message)
    with _open(error.source, error.mapping) as table:
        headings = [h for h in table.headers if norm(h) != norm(ERRORS_HEADING)]
        columns = [(_ERRORS_KEY, ERRORS_HEADING)] + [(h, h) for h in headings]

        def rows():
            for line, values in table:
                out = {h: cell_back(error.columns.get(h), values.get(h)) for h in headings}
                out[_ERRORS_KEY] = "；".join(by_line.get(line, ())) or None
                yield out

        return write_table(dest, columns, rows(), sheet="名册（含错误）", highlight=_ERRORS_KEY)


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
    count = 0

    id_numbers = {v["id"]: v.get("id_number") for v in vets}

    def rows():
        nonlocal count
        for vet in vets:
            count += 1
            row = {name: (display_value(_VETERANS, name, vet.get(name)) or None) for name, _ in columns}
            if vet.get("soldier_id"):  # the soldier's 身份证号: what Excel users read, re-imported as the same soldier
                row["soldier_id"] = id_numbers.get(vet["soldier_id"]) or vet["soldier_id"]
            yield row

    write_table(path, columns, rows(), sheet="退役军人名册")
    return count
