"""The 建档立卡 form, field by field: what the station page checks as a clerk types.

Pure code over values (no sqlite, no web): the same validators the CLI's
``--set`` uses (:func:`veterans.fields.parse_value`, :mod:`veterans.values`) and
the same row rules (:func:`veterans.admission.complete_veteran`), so the page
refuses exactly what ``station-node veteran add/edit`` refuses, but names the
field each message is about.

- :data:`SECTIONS`: the file's sections and their fields, in the order shown;
- :func:`check_field`: one field's parsed value or message (and, for the ID
  number, the birth date and gender it gives);
- :func:`check_form`: every field of a posted form: the parsed values (of a new
  record) or only the changed ones (of an edit), and per field its message;
- :func:`field_of_message`: which field a validator's message is about.

The further categories (``categories``) are checkboxes: the page joins the checked
codes with commas before they are checked here, as ``--set categories=…`` takes them.
A family member's soldier (关联军人) is checked against the station's records by
``station_node.records`` on saving (this module holds no store).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from sync.engine.errors import ValidationError
from veterans import values as domain
from veterans.admission import complete_veteran
from veterans.fields import parse_value
from veterans.labels import field_label

__all__ = ["SECTIONS", "FORM_FIELDS", "REQUIRED", "MULTI", "FieldCheck", "FormCheck", "check_field", "check_form",
           "field_of_message", "choices"]

#: The sections of a veteran's file and their fields (every settable field, once).
SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("基本信息", ("id_number", "name", "gender", "birth_date", "ethnicity", "phone", "address", "area",
                 "category", "status")),
    ("人员信息", ("categories", "political_status", "placement", "employment", "priority_type", "registered_on",
                 "died_on", "moved_out_on")),
    ("服役经历", ("branch", "unit", "enlisted_on", "discharged_on", "disability_level", "disability_cause",
                 "disability_rated_on", "disability_cert_no", "honor_plaque")),
    ("亲属关联", ("soldier_id", "relationship")),
    ("常态化联系", ("contact_policy", "liaison")),
    ("家庭", ("family",)),
    ("健康", ("health",)),
    ("困难与需求", ("difficulties", "needs")),
    ("备注", ("note",)),
)
FORM_FIELDS: tuple[str, ...] = tuple(name for _, names in SECTIONS for name in names)
#: What a new record must have.
REQUIRED = ("id_number", "name", "area")
#: Free text written over several lines.
LONG_TEXT = frozenset({"family", "health", "difficulties", "needs", "note"})

_ENUMS = {"gender": "gender", "category": "category", "disability_level": "disability_level",
          "disability_cause": "disability_cause", "status": "veteran_status",
          # the national collection's fields (migration 9); categories: several, as checkboxes
          "categories": "category", "political_status": "political_status", "placement": "placement",
          "employment": "employment", "priority_type": "priority_type", "relationship": "relationship",
          "contact_policy": "contact_policy"}
#: Fields of several codes (kind ``enum_set``): checkboxes, posted as one value each.
MULTI = frozenset({"categories"})


def choices(name: str) -> list[tuple[str, str]]:
    """``(code, label)`` of an enum field of the form; ``[]`` for any other."""
    enum = _ENUMS.get(name)
    return list(domain.ENUMS[enum].items()) if enum else []


def _message(exc: ValidationError) -> str:
    return str(exc)


@dataclass
class FieldCheck:
    """One field as typed: its parsed value, or the message; ``derived``: the fields
    an ID number gives (``birth_date``, ``gender``)."""

    name: str
    value: Any = None
    error: str | None = None
    derived: dict[str, str] = field(default_factory=dict)


def check_field(name: str, text: Any, *, scope: str, required: bool = False) -> FieldCheck:
    """Parse one field of the form (``scope``: where an area may lie)."""
    if name not in FORM_FIELDS:
        return FieldCheck(name, error=f"退役军人档案没有字段 {name}")
    try:
        value = parse_value("veterans", name, text, scope=scope)
    except ValidationError as exc:
        return FieldCheck(name, error=_message(exc))
    if value is None and required:
        return FieldCheck(name, error=f"{field_label('veterans', name)}必须填写")
    out = FieldCheck(name, value)
    if name == "id_number" and value:
        out.derived = {"birth_date": domain.birth_date_from_id(value), "gender": domain.gender_from_id(value)}
    return out


def field_of_message(message: str) -> str | None:
    """The form field a validator's message names first (its label opens the message), or None."""
    best = None
    for name in FORM_FIELDS:
        label = field_label("veterans", name)
        if message.startswith(label) and (best is None or len(label) > len(field_label("veterans", best))):
            best = name
    return best


@dataclass
class FormCheck:
    """A posted form: ``values`` to write (all of a new record, the changed ones of an
    edit), ``errors`` per field, and ``general`` messages about no one field."""

    values: dict[str, Any]
    errors: dict[str, str]
    general: list[str]

    @property
    def ok(self) -> bool:
        return not self.errors and not self.general

    def refuse(self, exc: ValidationError) -> None:
        """Put a message from a later check (the record layer's) on its field."""
        name = field_of_message(str(exc))
        if name:
            self.errors.setdefault(name, str(exc))
        else:
            self.general.append(str(exc))


def check_form(form: Mapping[str, Any], *, scope: str, current: dict | None = None,
               today=None) -> FormCheck:
    """Every field of ``form`` (absent fields are left alone in an edit, empty in a new
    record); then the row rules (an ID number that contradicts the birth date or
    gender, an enlistment before the age of 16 …), on the field they name."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name in FORM_FIELDS:
        if current is not None and name not in form:
            continue
        checked = check_field(name, form.get(name), scope=scope, required=name in REQUIRED)
        if checked.error:
            errors[name] = checked.error
        else:
            values[name] = checked.value
    if current is not None:
        values = {k: v for k, v in values.items() if v != current.get(k)}
    result = FormCheck(values, errors, [])
    if not errors:
        try:
            complete_veteran({k: v for k, v in values.items() if current is not None or v is not None},
                             current, today=today)
        except ValidationError as exc:
            result.refuse(exc)
    return result
