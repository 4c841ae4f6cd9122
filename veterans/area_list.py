"""The county's area list as a file gives it (``county-hub areas import``), and what an
import changes (issue 14 §2: place names beside codes, unknown codes refused at entry).

Reading: an Excel (.xlsx) or CSV table with the columns 区划代码 and 名称, and
optionally 层级; the header row is found as a roster's is (titles and blank rows
above it passed over, headings compared as ``veterans.roster_headings.norm`` does).
Every row is checked before anything is written, and every bad row is named with
its line and what is wrong with it:

- a code is 6, 9 or 12 digits (a number cell of Excel, full-width digits and
  blanks taken as typed) and starts with the county's code; the 12-digit form the
  national 统计用区划代码 gives a town (``440902001000``) or the county
  (``440902000000``) is read as the town's 9 or the county's 6 digits, the forms
  vetsync files records under;
- a name is given (a blank name, or a row with a code and nothing else, is refused);
- the level, when given (县, 乡镇/街道, 镇, 乡, 街道, 村/社区, 村, 社区, or the codes),
  agrees with the code's length; when not given it is the code's length's;
- no code twice (each line of the pair named).

Pure but for reading the file: :func:`read_area_list` gives :class:`AreaRow`
values or raises :class:`AreaListError` (each problem a line); :func:`plan_import`
compares them with the list the hub holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

from sync.engine.errors import ValidationError, VetsyncError
from veterans.fields import parse_value
from veterans.roster_headings import norm
from veterans.tabular import open_table
from veterans.typed import to_half_width

__all__ = ["AreaRow", "AreaListError", "ImportPlan", "read_area_list", "plan_import", "level_of", "HEADINGS"]

#: The headings each column is known by (compared normalised).
HEADINGS: dict[str, tuple[str, ...]] = {
    "code": ("区划代码", "统计用区划代码", "行政区划代码", "区划编码", "代码", "编码"),
    "name": ("名称", "区划名称", "地名", "单位名称", "村（社区）名称", "镇（街道）名称"),
    "level": ("层级", "区划层级", "级别", "类别"),
}
_BY_HEADING = {norm(h): name for name, headings in HEADINGS.items() for h in headings}
_LEVELS = {6: "county", 9: "town", 12: "village"}
_LEVEL_WORDS = {
    "county": "county", "县": "county", "区": "county", "县级": "county", "县（市、区）": "county",
    "town": "town", "乡镇/街道": "town", "乡镇": "town", "镇": "town", "乡": "town", "街道": "town",
    "镇（街道）": "town", "乡级": "town",
    "village": "village", "村/社区": "village", "村": "village", "社区": "village", "村（社区）": "village",
    "居委会": "village", "村委会": "village", "村级": "village",
}
_LEVEL_LABELS = {"county": "县", "town": "乡镇/街道", "village": "村/社区"}
_MAX_PROBLEMS = 200  # listed; the count says how many in all


@dataclass(frozen=True)
class AreaRow:
    line: int
    code: str
    name: str
    level: str


class AreaListError(ValidationError):
    """The file has bad rows: nothing is imported. ``problems``: one line of Chinese each."""

    def __init__(self, message: str, problems: list[str], *, bad_rows: int):
        super().__init__(message, hint="请改正后重新导入")
        self.problems = problems
        self.bad_rows = bad_rows


def level_of(code: str) -> str:
    """``county``, ``town`` or ``village`` by the length of a code (6, 9, 12)."""
    return _LEVELS[len(code)]


def _code(cell: Any) -> str:
    if isinstance(cell, float) and cell.is_integer():
        cell = int(cell)
    text = "".join(to_half_width(str(cell)).split())
    if len(text) == 12 and text.isascii() and text.isdigit():  # the national form of a town or the county
        if text.endswith("000000"):
            return text[:6]
        if text.endswith("000"):
            return text[:9]
    return text


def _level(cell: Any) -> str | None:
    text = "".join(to_half_width(str(cell)).split()).lower()
    return _LEVEL_WORDS.get(text) or _LEVEL_WORDS.get(text.rstrip("级"))


def read_area_list(path: str | Path, county: str) -> list[AreaRow]:
    """The rows of the file at ``path``, every one checked (see the module docstring);
    :class:`AreaListError` listing the bad rows, ValidationError for a file that
    cannot be used (missing, empty, no 区划代码 or 名称 column)."""
    path = Path(path)
    problems: list[tuple[int, str]] = []
    rows: list[AreaRow] = []
    seen: dict[str, int] = {}
    with open_table(path, known=lambda h: norm(h) in _BY_HEADING) as table:
        columns = {h: _BY_HEADING[norm(h)] for h in table.headers if norm(h) in _BY_HEADING}
        found = set(columns.values())
        missing = [HEADINGS[n][0] for n in ("code", "name") if n not in found]
        if missing:
            raise ValidationError(
                f"区划名单 {path.name} 缺少“{'”“'.join(missing)}”列（现有列：{'、'.join(table.headers) or '无'}）",
                hint="第一行（表头）应有“区划代码”“名称”两列，“层级”可选")
        by_name = {name: h for h, name in columns.items()}
        for line, raw in table:
            cells = {name: raw.get(h) for name, h in by_name.items()}
            if all(v is None or str(v).strip() == "" for v in cells.values()):
                continue  # a blank row: nothing to say
            problem, row = _check_row(line, cells, county)
            if problem:
                problems.append((line, problem))
                continue
            if row.code in seen:
                problems.append((line, f"区划代码 {row.code} 与第 {seen[row.code]} 行重复"))
                continue
            seen[row.code] = line
            rows.append(row)
    if problems:
        bad = len({line for line, _ in problems})
        shown = [f"第 {line} 行：{text}" for line, text in problems[:_MAX_PROBLEMS]]
        if len(problems) > _MAX_PROBLEMS:
            shown.append(f"……另有 {len(problems) - _MAX_PROBLEMS} 处问题未列出")
        raise AreaListError(f"区划名单有 {bad} 行有误，未导入任何区划", shown, bad_rows=bad)
    if not rows:
        raise ValidationError(f"区划名单 {path.name} 没有数据行")
    return rows


def _check_row(line: int, cells: dict[str, Any], county: str) -> tuple[str | None, AreaRow | None]:
    raw_code, raw_name, raw_level = cells.get("code"), cells.get("name"), cells.get("level")
    if raw_code is None or str(raw_code).strip() == "":
        return "未填区划代码", None
    code = _code(raw_code)
    if not (code.isascii() and code.isdigit()) or len(code) not in _LEVELS:
        return f"区划代码 {str(raw_code).strip()} 应为6、9或12位数字", None
    if not code.startswith(county):
        return f"区划代码 {code} 不属于本县 {county}", None
    if raw_name is None or str(raw_name).strip() == "":
        return f"区划代码 {code} 未填名称", None
    try:
        name = parse_value("areas", "name", str(raw_name))
    except VetsyncError as exc:
        return f"名称 {str(raw_name).strip()[:20]}：{exc}", None
    if not name:
        return f"区划代码 {code} 未填名称", None
    level = level_of(code)
    if raw_level is not None and str(raw_level).strip() != "":
        given = _level(raw_level)
        if given is None:
            return f"层级 {str(raw_level).strip()} 无效，应为：县、乡镇/街道、村/社区", None
        if given != level:
            return (f"层级“{str(raw_level).strip()}”与区划代码 {code} 不符（{len(code)} 位代码应为"
                    f"“{_LEVEL_LABELS[level]}”）"), None
    return None, AreaRow(line, code, name, level)


@dataclass
class ImportPlan:
    """What an import writes: per code the fields to write (``create``: a code the hub
    never had), and the counts a person reads."""

    writes: list[tuple[str, dict, bool]] = field(default_factory=list)  # (code, changes, create)
    added: list[str] = field(default_factory=list)  # new codes (or ones removed before, back)
    renamed: list[tuple[str, str, str]] = field(default_factory=list)  # (code, old name, new name)
    relevelled: int = 0  # of the renamed, those whose level changed (the name may be the same)
    removed: list[str] = field(default_factory=list)  # with replace: codes no longer on the list
    kept: list[str] = field(default_factory=list)  # without replace: codes the file lacks, left as they are
    unchanged: int = 0

    def as_json(self) -> dict:
        return {"added": len(self.added), "renamed": len(self.renamed), "removed": len(self.removed),
                "kept": len(self.kept), "unchanged": self.unchanged, "writes": len(self.writes)}


def plan_import(rows: Iterable[AreaRow], current: Mapping[str, Mapping[str, Any]], *,
                replace: bool = False) -> ImportPlan:
    """What importing ``rows`` changes in ``current`` (the hub's areas rows, tombstones
    too: ``{code: {"name", "level", "deleted"}}``). A code removed once and listed
    again is brought back (its tombstone lifted), not made anew. ``replace``: the
    live codes the file lacks are removed (a tombstone that syncs); otherwise kept."""
    plan = ImportPlan()
    listed: set[str] = set()
    for row in rows:
        listed.add(row.code)
        have = current.get(row.code)
        values = {"area": row.code, "name": row.name, "level": row.level}
        if have is None:
            plan.writes.append((row.code, values, True))
            plan.added.append(row.code)
            continue
        changes = {k: v for k, v in values.items() if have.get(k) != v}
        if have.get("deleted") == 1:
            plan.writes.append((row.code, {**changes, "deleted": 0}, False))
            plan.added.append(row.code)
        elif changes:
            plan.writes.append((row.code, changes, False))
            plan.renamed.append((row.code, have.get("name") or "", row.name))
            if "level" in changes:
                plan.relevelled += 1
        else:
            plan.unchanged += 1
    for code in sorted(current):
        if code in listed or current[code].get("deleted") == 1:
            continue
        if replace:
            plan.writes.append((code, {"deleted": 1}, False))
            plan.removed.append(code)
        else:
            plan.kept.append(code)
    return plan
