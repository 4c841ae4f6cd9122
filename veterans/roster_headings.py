"""The headings of county rosters, and the rows of a roster that are not people.

Pure data and string work (no sqlite): what ``station_node.roster`` matches a
roster's header cells against, and what it passes over.

- :data:`HEADINGS`: per field of ``veterans``, the headings county rosters
  use for it; the first is the one an export writes. Besides these, a
  field's schema label (``光荣牌悬挂日期``) and its English name (``id_number``)
  are accepted.
- :func:`norm`: a heading as compared — NFKC (full-width brackets and
  colons are half-width), no spaces or line breaks (``身份证\\n号码``,
  ``联系 电话``), no required-mark (``*姓名``), no trailing colon, lower case.
  A trailing bracketed remark is dropped when the heading is not known with
  it (``姓名（必填）``, ``身份证号码(18位)``).
- :data:`SILENT`: headings of columns that are passed over without a warning
  (序号, and the 错误 column of an import's own error roster).
- :func:`load_mapping` (a mapping file for other rosters: JSON ``{"表头":
  "字段"}`` or a two-column table), :func:`known_heading` (is a header cell one
  of ours: the header row is the row with most of them) and
  :func:`map_headings` (a roster's headings to fields; two columns for one
  field are refused).
- :func:`footer_reason`: why a row is a total or signature row (合计, 小计,
  填表人, 审核人, 填报日期, 说明 …), from its first non-empty cell; a row
  that holds an ID number is always a person.
"""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from pathlib import Path
from typing import Any, Callable

from sync.engine.errors import ValidationError
from sync.engine.schema import table as _table
from veterans.labels import field_label
from veterans.tabular import read_table

__all__ = ["HEADINGS", "SILENT", "ERRORS_HEADING", "IGNORE", "FIELDS", "norm", "aliases", "lookup", "footer_reason",
           "load_mapping", "known_heading", "map_headings"]

_VETERANS = _table("veterans")

#: The fields a roster may set (settable veterans fields), in schema order.
FIELDS = tuple(f.name for f in _VETERANS.fields if f.settable)

#: Mapping target meaning "ignore this column, without a warning".
IGNORE = "忽略"
_IGNORE_WORDS = frozenset({"", IGNORE, "-", "ignore", "none", "null"})

#: Headings of common rosters, per field; the first is the one export writes.
HEADINGS: dict[str, tuple[str, ...]] = {
    "name": ("姓名", "退役军人姓名"),
    "id_number": ("身份证号", "公民身份号码", "身份证号码", "身份证", "公民身份证号码", "公民身份证号", "身份证件号码",
                  "证件号码"),
    "gender": ("性别",),
    "birth_date": ("出生日期", "出生年月", "出生年月日"),
    "ethnicity": ("民族",),
    "phone": ("联系电话", "电话", "手机", "手机号", "手机号码", "电话号码", "联系方式"),
    "address": ("住址", "家庭住址", "现住址", "居住地址", "家庭地址", "现居住地址"),
    "area": ("区划代码", "所属村（社区）代码", "村（社区）代码", "行政区划代码", "统计用区划代码"),
    "category": ("类别", "人员类别", "身份类别", "优抚对象类别"),
    "branch": ("军种",),
    "unit": ("原部队", "服役部队", "原服役部队", "原部队番号", "服役单位"),
    "enlisted_on": ("入伍时间", "入伍日期", "入伍年月"),
    "discharged_on": ("退役时间", "退伍时间", "退役日期", "退伍日期", "退役年月", "退伍年月"),
    "disability_level": ("伤残等级", "残疾等级"),
    "disability_cause": ("伤残性质", "残疾性质", "致残性质"),
    "honor_plaque": ("光荣牌", "光荣牌悬挂时间"),
    "health": ("健康状况", "身体状况"),
    "family": ("家庭情况", "家庭状况"),
    "difficulties": ("困难情况", "主要困难"),
    "needs": ("诉求", "主要诉求"),
    "status": ("状态", "人员状态"),
    "note": ("备注",),
    # Migration 9: the national collection's fields and 常态化联系.
    "categories": ("其他类别", "兼有类别", "其他人员类别"),
    "political_status": ("政治面貌",),
    "placement": ("安置方式", "安置类别"),
    "employment": ("就业情况", "就业状况"),
    "priority_type": ("重点优抚对象类别", "重点优抚对象"),
    "disability_rated_on": ("评残日期", "评残时间"),
    "disability_cert_no": ("残疾军人证号", "残疾军人证编号", "残疾证号"),
    "died_on": ("去世日期", "死亡日期", "去世时间"),
    "soldier_id": ("关联军人",),
    "relationship": ("与军人关系", "亲属关系"),
    "contact_policy": ("联系类型",),
    "liaison": ("包联人/网格员", "包联人", "网格员", "包联干部"),
    "registered_on": ("建档日期", "建档时间"),
    "moved_out_on": ("迁出日期", "迁出时间"),
}

#: The column an import adds to the roster it writes back with the errors.
ERRORS_HEADING = "错误"

_MARKS = "*＊"
_REMARK = re.compile(r"\([^()]*\)$")


def norm(heading: Any) -> str:
    """A heading as compared (see the module docstring); the trailing remark is kept."""
    text = unicodedata.normalize("NFKC", str(heading or ""))
    text = "".join(text.split()).strip(_MARKS).rstrip(":")
    return text.lower()


def _without_remark(key: str) -> str:
    return _REMARK.sub("", key)


#: Headings passed over without a warning (normalised).
SILENT = frozenset({norm("序号"), norm(ERRORS_HEADING)})


def aliases(settable: tuple[str, ...]) -> dict[str, str]:
    """``{normalised heading: field}`` of the ``settable`` veterans fields: English
    names and schema labels first, the common headings win."""
    out: dict[str, str] = {}
    for name in settable:
        label = field_label(_VETERANS, name)
        out[norm(name)] = name
        out[norm(label)] = name
        out[norm(label.split("（")[0])] = name
    for name, headings in HEADINGS.items():
        for h in headings:
            out[norm(h)] = name
    return out


@functools.cache
def _aliases() -> dict[str, str]:
    return aliases(FIELDS)


def lookup(table: dict[str, Any], heading: Any) -> tuple[bool, Any]:
    """``(found, value)`` of a heading in a table keyed by :func:`norm`, trying it
    without a trailing bracketed remark too."""
    key = norm(heading)
    if key in table:
        return True, table[key]
    bare = _without_remark(key)
    if bare != key and bare in table:
        return True, table[bare]
    return False, None


# --------------------------------------------------------------------------- a roster's headings to fields


def _target_field(text: Any, where: str) -> str | None:
    """A mapping target: a field (English, schema label or roster heading), or None to ignore."""
    raw = "" if text is None else str(text).strip()
    if raw.lower() in _IGNORE_WORDS:
        return None
    found = _aliases().get(norm(raw))
    if found is None:
        allowed = "、".join(f"{n}（{HEADINGS[n][0]}）" for n in FIELDS)
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
        if norm(h1) not in {"表头", "列名", "标题", "原表头", "heading", "header", "column"}:
            pairs.append((h1, h2, f"映射文件 {path.name} 第1行"))
        for line, values in rows:
            heading = values.get(h1)
            if heading is None:
                continue
            pairs.append((str(heading), values.get(h2), f"映射文件 {path.name} 第{line}行"))
    out: dict[str, str | None] = {}
    for heading, target, where in pairs:
        if not norm(heading):
            raise ValidationError(f"{where}：表头为空")
        out[norm(heading)] = _target_field(target, where)
    return out


def known_heading(mapping: dict[str, str | None]) -> Callable[[str], bool]:
    """Is a header cell a heading of ours (the header row is the row with most of them)?"""
    def known(heading: str) -> bool:
        return lookup(mapping, heading)[0] or lookup(_aliases(), heading)[0] or norm(heading) in SILENT
    return known


def map_headings(headers: list[str], mapping: dict[str, str | None]) -> tuple[dict[str, str], list[str]]:
    """``({heading in file: field}, [unknown headings])``; refuses two columns for one field."""
    columns: dict[str, str] = {}
    by_field: dict[str, str] = {}
    unknown: list[str] = []
    for heading in headers:
        mapped, name = lookup(mapping, heading)
        if mapped:
            if name is None:
                continue
        else:
            found, name = lookup(_aliases(), heading)
            if not found:
                if norm(heading) not in SILENT:
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


# --------------------------------------------------------------------------- rows that are not people

_TOTALS = ("合计", "总计", "小计", "共计", "累计")
_SIGNATURES = ("填表人", "填报人", "制表人", "统计人", "审核人", "审批人", "复核人", "负责人", "单位负责人",
               "主要负责人", "经办人:", "联系人:", "填表日期", "填报日期", "制表日期", "统计日期", "报送日期",
               "填报单位", "填表单位", "制表单位", "报送单位", "单位(盖章)", "(盖章)", "盖章")
_NOTES = ("说明:", "注:", "备注:")
_ID_LIKE = re.compile(r"\d{17}[\dXx]")


def footer_reason(cells: list[Any]) -> str | None:
    """``"合计行"``, ``"签名行"`` or ``"说明行"`` when the row is one, else None."""
    first = next((c for c in cells if c is not None), None)
    if not isinstance(first, str):
        return None
    text = "".join(unicodedata.normalize("NFKC", first).split())
    if text.startswith(_TOTALS):
        kind = "合计行"
    elif text.startswith(_SIGNATURES):
        kind = "签名行"
    elif text.startswith(_NOTES):
        kind = "说明行"
    else:
        return None
    for c in cells:
        if c is not None and _ID_LIKE.search(unicodedata.normalize("NFKC", str(c))):
            return None  # an ID number: a person, whatever the first cell says
    return kind
