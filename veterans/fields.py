"""Field values as a clerk types and reads them, driven by ``sync.engine.schema``.

Pure code (stdlib + ``veterans.values``): no sqlite. Three jobs:

- :func:`parse_value` turns typed text (or an already canonical value) into
  the canonical stored value of one field, by the field's ``kind``;
- :func:`parse_assignments` turns ``--set FIELD=VALUE`` items into a dict,
  accepting the English field name or its Chinese label (``姓名=张三``);
- :func:`display_value` turns a stored value back into Chinese text.

An empty value (``""`` or ``None``) parses to ``None``: it clears the field.
Every error is a :class:`~sync.engine.errors.ValidationError` naming the field.

What clerks really type is folded to one form (:mod:`veterans.typed`): full-width
digits and letters become ASCII in every field (free text keeps its Chinese
punctuation), a person's name (:data:`NAME_FIELDS`) gets one middle dot ``·`` and
no blanks between Chinese characters; numbers are never negative; the dates of
:data:`MONTH_DATES` may be known to the month only (``1983-12``).

:func:`admissible` is the hub's test of a pushed value: the form this module
stores, or the form the previous release stored (text before folding, phones
before the mobile prefixes, negative numbers — the last refused instead by the
row checks of ``veterans.admission``, which a recovery re-offer skips), so that
rows written before an upgrade keep syncing.
"""

from __future__ import annotations

import math
import re
from typing import Any, Iterable

from veterans import values as domain
from veterans import labels as _labels
from veterans.phones import legacy_phone
from veterans.typed import canonical_name, fold_alnum, to_half_width
from sync.engine.errors import ValidationError, VetsyncError
from sync.engine.limits import text_limit
from sync.engine.schema import Field, Table, table as _table

__all__ = [
    "parse_value",
    "parse_assignments",
    "display_value",
    "resolve_field",
    "settable_fields",
    "field_label",
    "admissible",
    "NOT_CANONICAL",
    "MONTH_DATES",
    "NAME_FIELDS",
    "BOOL_TRUE",
    "BOOL_FALSE",
]

BOOL_TRUE = frozenset({"是", "true", "1", "yes", "y", "t"})
BOOL_FALSE = frozenset({"否", "false", "0", "no", "n", "f"})

#: Dates that may be known to the month only (stored ``YYYY-MM``): what rosters hold
#: for a service record (入伍 1983.12) and a plaque. A birth date typed to the month is
#: checked against the ID number and stored as the ID's day (veterans.admission).
#: Visits, petitions and their events need the day: legal deadlines count from it.
MONTH_DATES = frozenset({
    ("veterans", "birth_date"), ("veterans", "enlisted_on"), ("veterans", "discharged_on"),
    ("veterans", "honor_plaque"),
})
#: Fields holding one person's name (veterans.typed.canonical_name).
NAME_FIELDS = frozenset({
    ("veterans", "name"), ("petitions", "petitioner"), ("petitions", "handler"), ("petition_events", "actor"),
})


def _as_table(t: str | Table) -> Table:
    return t if isinstance(t, Table) else _table(t)


def _describe(tbl: Table, f: Field) -> str:
    return f"{f.name}（{_labels.field_label(tbl, f)}）"


def _label_spellings(tbl: Table, f: Field) -> tuple[str, ...]:
    """The field's label, the label without its bracketed unit (慰问金 for 慰问金（元）),
    and each name of a label of two (包联人 and 网格员 for 包联人/网格员)."""
    label = _labels.field_label(tbl, f)
    bare = label.split("（")[0]
    return (label, bare, *bare.split("/")) if "/" in bare else (label, bare)


def settable_fields(t: str | Table) -> list[Field]:
    """Fields a clerk may set with ``--set``, in schema order."""
    return [f for f in _as_table(t).fields if f.settable]


def resolve_field(t: str | Table, name: str) -> Field:
    """The field called ``name`` (English name, any case, or Chinese label)."""
    tbl = _as_table(t)
    key = (name or "").strip()
    found = tbl.get(key) or tbl.get(key.lower())
    if found is None:  # Chinese label, with or without its bracketed unit: 慰问金（元） or 慰问金
        found = next((f for f in tbl.fields if key in _label_spellings(tbl, f)), None)
    if found is None:
        allowed = "、".join(_describe(tbl, f) for f in settable_fields(tbl))
        raise ValidationError(f"{_labels.table_label(tbl)}没有字段 {key or '（空）'}，可设置的字段：{allowed}")
    return found


def field_label(t: str | Table, name: str) -> str:
    """Chinese label of a field; an unknown field (newer schema) shows its name."""
    return _labels.field_label(_as_table(t), name)


# Control characters other than tab, line feed and carriage return: dropped from text.
CONTROL_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _parse_text(tbl: Table, f: Field, value: Any) -> str | None:
    text = CONTROL_CHARS.sub("", str(value)).strip()
    if not tbl.hub_only_writes:  # a conflict holds another field's value as it was: never folded
        text = canonical_name(text) if (tbl.name, f.name) in NAME_FIELDS else fold_alnum(text)
    limit = text_limit(tbl.name, f.name, f.kind)
    if len(text) > limit:
        raise ValidationError(f"{_labels.field_label(tbl, f)}过长（{len(text)} 字，最多 {limit} 字）")
    return text or None


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _not_negative(label: str, raw: str, number):
    if number < 0:
        raise ValidationError(f"{label} {raw} 不能为负数")
    return number


def _parse_int(label: str, value: Any) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return _not_negative(label, str(value), value)
    raw = str(value).strip()
    try:
        number = int(to_half_width(raw).strip().replace(",", ""))
    except ValueError:
        raise ValidationError(f"{label} {raw} 应为整数") from None
    return _not_negative(label, raw, number)


def _parse_real(label: str, value: Any) -> float:
    raw = str(value).strip()
    try:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            number = float(value)
        else:  # 1,200.50 and 500元 as typed
            number = float(to_half_width(raw).strip().replace(",", "").removesuffix("元").strip())
    except ValueError:
        raise ValidationError(f"{label} {raw} 应为数字") from None
    if not math.isfinite(number):
        raise ValidationError(f"{label} {raw} 应为有限的数字")
    return _not_negative(label, raw, number)


def _parse_bool(label: str, value: Any) -> int:
    if isinstance(value, bool) or value in (0, 1):
        return int(value)
    raw = to_half_width(str(value)).strip()
    if raw.lower() in BOOL_TRUE:
        return 1
    if raw.lower() in BOOL_FALSE:
        return 0
    raise ValidationError(f"{label} {raw} 无效，应为：是、否")


def _parse_ref(label: str, value: Any) -> str:
    raw = str(value).strip()
    if any(c.isspace() for c in raw) or len(raw) > 64:
        raise ValidationError(f"{label} {raw} 不是有效的记录编号")
    return raw


def parse_value(t: str | Table, name: str, text: Any, *, scope: str | None = None) -> Any:
    """Canonical value of field ``name`` of table ``t`` from ``text``.

    ``text`` may be what a clerk typed or an already canonical value (parsing
    is idempotent). ``scope`` restricts ``area`` fields to codes starting with
    it. Empty input gives ``None``. Text loses its control characters (but tab
    and line breaks) and its surrounding blanks, and may be at most
    ``sync.engine.limits.text_limit`` characters long (the hub refuses longer too).
    """
    tbl = _as_table(t)
    f = tbl.get(name)
    if f is None:
        f = resolve_field(tbl, name)
    if _blank(text):
        return None
    kind = f.kind
    if kind == "text":
        return _parse_text(tbl, f, text)
    if kind == "int":
        return _parse_int(_labels.field_label(tbl, f), text)
    if kind == "real":
        return _parse_real(_labels.field_label(tbl, f), text)
    if kind == "bool":
        return _parse_bool(_labels.field_label(tbl, f), text)
    if kind == "date":
        return domain.parse_date(text, field_label=_labels.field_label(tbl, f),
                                 month_ok=(tbl.name, f.name) in MONTH_DATES)
    if kind == "enum":
        return domain.parse_enum(f.enum, text, field_label=_labels.field_label(tbl, f))
    if kind == "enum_set":  # several codes: 残疾军人、参战退役人员 (the main category is left out per row)
        return domain.parse_enum_set(f.enum, text, field_label=_labels.field_label(tbl, f))
    if kind == "id_number":
        return domain.validate_id_number(text)
    if kind == "area":
        return domain.validate_area(text, scope=scope)
    if kind == "phone":
        return domain.validate_phone(text)
    if kind == "ref":
        return _parse_ref(_labels.field_label(tbl, f), text)
    raise ValidationError(f"字段 {_describe(tbl, f)} 的类型 {kind} 未知")  # a schema bug


#: :func:`admissible`'s reason for a valid value not in its stored form.
NOT_CANONICAL = "不是规范格式"


def _legacy_form(tbl: Table, f: Field, value: Any) -> bool:
    """Is ``value`` what the previous release stored for field ``f`` (see :func:`admissible`)?"""
    kind = f.kind
    if kind == "text":
        return (type(value) is str and CONTROL_CHARS.sub("", value).strip() == value
                and 0 < len(value) <= text_limit(tbl.name, f.name, kind))
    if kind == "phone":
        return type(value) is str and legacy_phone(value) == value
    if kind == "int":
        return type(value) is int
    if kind == "real":
        return type(value) is float and math.isfinite(value)
    return False


def admissible(t: str | Table, name: str, value: Any) -> str | None:
    """Why the hub refuses ``value`` as a stored value of field ``name``, or None.

    The reason is the validator's message, or :data:`NOT_CANONICAL` for a value
    it would store otherwise (``1970/1/1``). Admitted: ``None``, a value
    :func:`parse_value` gives back unchanged (the form a
    station stores), and a value in the form the previous release stored (text
    not yet folded, a phone before the prefix rule, a negative number): a row
    written before an upgrade, or by a station not yet upgraded, keeps syncing.
    """
    tbl = _as_table(t)
    f = tbl.get(name)
    if value is None or f is None:
        return None
    try:
        canonical = parse_value(tbl, name, value)
    except VetsyncError as exc:
        return None if _legacy_form(tbl, f, value) else str(exc)
    if canonical == value or _legacy_form(tbl, f, value):
        return None
    return NOT_CANONICAL


def parse_assignments(
    t: str | Table, items: Iterable[str], *, scope: str | None = None
) -> dict[str, Any]:
    """Parse ``["FIELD=VALUE", ...]`` into ``{field_name: canonical value}``.

    The field may be named in English or by its Chinese label; ``FIELD=``
    clears it. A field not settable by a clerk, a field given twice, or an
    item without ``=`` is refused.
    """
    tbl = _as_table(t)
    out: dict[str, Any] = {}
    for item in items:
        name, sep, text = str(item).partition("=")
        if not sep:
            raise ValidationError(f"--set {item} 格式应为 字段=值（如 姓名=张三）")
        f = resolve_field(tbl, name)
        if not f.settable:
            allowed = "、".join(_describe(tbl, x) for x in settable_fields(tbl))
            raise ValidationError(f"字段 {_describe(tbl, f)} 不能直接设置，可设置的字段：{allowed}")
        if f.name in out:
            raise ValidationError(f"字段 {_describe(tbl, f)} 重复设置")
        out[f.name] = parse_value(tbl, f.name, text, scope=scope)
    return out


def display_value(t: str | Table, name: str, value: Any) -> str:
    """Chinese text of a stored value: enum label, 是/否, ``""`` for None."""
    if value is None:
        return ""
    f = _as_table(t).get(name)
    if f is None:
        return str(value)
    if f.kind == "enum":
        return domain.label(f.enum, value)
    if f.kind == "enum_set":
        return domain.set_labels(f.enum, value)
    if f.kind == "bool":
        try:
            return "是" if int(value) else "否"
        except (TypeError, ValueError):
            return str(value)
    if f.kind == "real" and isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".")
    return str(value)
