"""Field values as a clerk types and reads them, driven by ``sync.engine.schema``.

Pure code (stdlib + ``veterans.values``): no sqlite. Three jobs:

- :func:`parse_value` turns typed text (or an already canonical value) into
  the canonical stored value of one field, by the field's ``kind``;
- :func:`parse_assignments` turns ``--set FIELD=VALUE`` items into a dict,
  accepting the English field name or its Chinese label (``姓名=张三``);
- :func:`display_value` turns a stored value back into Chinese text.

An empty value (``""`` or ``None``) parses to ``None``: it clears the field.
Every error is a :class:`~sync.engine.errors.ValidationError` naming the field.
"""

from __future__ import annotations

import math
import re
from typing import Any, Iterable

from veterans import values as domain
from veterans import labels as _labels
from sync.engine.errors import ValidationError
from sync.engine.limits import text_limit
from sync.engine.schema import Field, Table, table as _table

__all__ = [
    "parse_value",
    "parse_assignments",
    "display_value",
    "resolve_field",
    "settable_fields",
    "field_label",
    "BOOL_TRUE",
    "BOOL_FALSE",
]

BOOL_TRUE = frozenset({"是", "true", "1", "yes", "y", "t"})
BOOL_FALSE = frozenset({"否", "false", "0", "no", "n", "f"})


def _as_table(t: str | Table) -> Table:
    return t if isinstance(t, Table) else _table(t)


def _describe(tbl: Table, f: Field) -> str:
    return f"{f.name}（{_labels.field_label(tbl, f)}）"


def _label_spellings(tbl: Table, f: Field) -> tuple[str, str]:
    """The field's label, and the label without its bracketed unit (慰问金 for 慰问金（元）)."""
    label = _labels.field_label(tbl, f)
    return label, label.split("（")[0]


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
    limit = text_limit(tbl.name, f.name, f.kind)
    if len(text) > limit:
        raise ValidationError(f"{_labels.field_label(tbl, f)}过长（{len(text)} 字，最多 {limit} 字）")
    return text or None


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _parse_int(label: str, value: Any) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    raw = str(value).strip()
    try:
        return int(raw.replace(",", ""))
    except ValueError:
        raise ValidationError(f"{label} {raw} 应为整数") from None


def _parse_real(label: str, value: Any) -> float:
    raw = str(value).strip()
    try:
        number = float(raw.replace(",", "")) if not isinstance(value, (int, float)) else float(value)
    except ValueError:
        raise ValidationError(f"{label} {raw} 应为数字") from None
    if not math.isfinite(number):
        raise ValidationError(f"{label} {raw} 应为有限的数字")
    return number


def _parse_bool(label: str, value: Any) -> int:
    if isinstance(value, bool) or value in (0, 1):
        return int(value)
    raw = str(value).strip()
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
        return domain.parse_date(text, field_label=_labels.field_label(tbl, f))
    if kind == "enum":
        return domain.parse_enum(f.enum, text, field_label=_labels.field_label(tbl, f))
    if kind == "id_number":
        return domain.validate_id_number(text)
    if kind == "area":
        return domain.validate_area(text, scope=scope)
    if kind == "phone":
        return domain.validate_phone(text)
    if kind == "ref":
        return _parse_ref(_labels.field_label(tbl, f), text)
    raise ValidationError(f"字段 {_describe(tbl, f)} 的类型 {kind} 未知")  # a schema bug


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
    if f.kind == "bool":
        try:
            return "是" if int(value) else "否"
        except (TypeError, ValueError):
            return str(value)
    if f.kind == "real" and isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".")
    return str(value)
