"""A conflict as both pages show it (the station's 冲突 and the county's queue):
its two sides side by side (who wrote what, when) and the choices that settle it.

Pure code over what :mod:`veterans.resolve` reads (``list_conflicts``,
``get_conflict``): the texts come from :func:`veterans.resolve.display_row`, the
choices are the ones ``conflicts resolve`` offers (``--keep winner|loser``,
``--value``, ``--merge-into``), and :func:`resolve_args` turns a submitted form
back into those arguments of :func:`veterans.resolve.resolve`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from sync.engine.errors import ValidationError
from veterans import resolve as R
from veterans.values import ENUMS, label

__all__ = ["Side", "Choice", "ConflictView", "view", "kind_options", "resolve_args"]


@dataclass(frozen=True)
class Side:
    """One side of a conflict: its heading, the value in Chinese, the station that wrote it and when."""

    key: str  # "winner" | "loser"
    heading: str
    text: str
    station: str
    at: str


@dataclass(frozen=True)
class Choice:
    """One way to settle a conflict: a form of its own with one confirmation.

    ``choice``: what the form sends (``winner``, ``loser``, ``value``, ``merge``);
    ``merge_into``: the veteran kept (a merge); ``testid``: the button's ``id``."""

    choice: str
    button: str
    confirm: str
    testid: str
    merge_into: str | None = None
    note: str = ""


@dataclass
class ConflictView:
    conflict: dict
    row: dict[str, str]
    sides: tuple[Side, Side]
    choices: list[Choice] = field(default_factory=list)
    value_choice: Choice | None = None  # typed value (a form with an input)

    @property
    def is_open(self) -> bool:
        return self.conflict.get("status") != "resolved"


def _side_headings(kind: str | None) -> tuple[str, str]:
    if kind == "delete_edit":
        return "采用：删除", "未采用：修改"
    if kind == "refused_edit":
        return "现值（采用）", "被拒的修改（未采用）"
    if kind == "duplicate_identity":
        return "已有档案", "重复登记的档案"
    if kind == "petition_transition":
        return "采用的办理环节", "未采用的办理环节"
    return "采用值", "未采用值"


def _one_field(c: dict) -> bool:
    return len([n for n in (c.get("field") or "").split(",") if n]) == 1


def _choices(c: dict, row: dict[str, str]) -> tuple[list[Choice], Choice | None]:
    kind = c.get("kind")
    winner, loser = row["采用值"], row["未采用值"]
    if kind == "duplicate_identity":
        out = []
        for testid, vid, name in (("resolve-merge-row", c.get("row_id"), c.get("record_name")),
                                  ("resolve-merge-other", c.get("winner_value"), c.get("other_record_name"))):
            if not vid:
                continue
            who = f"{name}（档案 {vid}）" if name else f"档案 {vid}"
            out.append(Choice("merge", f"保留{who}，并入另一份", f"确认保留{who}，将另一份档案并入后注销？",
                              testid, merge_into=vid, note="另一份的走访、信访记录转到保留的档案"))
        return out, None
    if kind == "delete_edit":
        return [Choice("winner", "维持删除", "确认维持删除？", "resolve-keep-winner"),
                Choice("loser", "撤销删除，恢复修改", f"确认撤销删除并恢复修改（{loser}）？", "resolve-keep-loser")], None
    if kind == "petition_transition":
        return [Choice("winner", f"保留“{winner}”", f"确认保留“{winner}”，作废“{loser}”记录？", "resolve-keep-winner"),
                Choice("loser", f"保留“{loser}”", f"确认保留“{loser}”，作废“{winner}”记录？", "resolve-keep-loser")], None
    if kind == "refused_edit":
        keep = [Choice("winner", "维持现值，不采用被拒修改", "确认维持现值，不采用被拒的修改？", "resolve-keep-winner"),
                Choice("loser", "采用被拒修改", f"确认采用被拒的修改（{loser}）？", "resolve-keep-loser")]
    else:  # concurrent_edit
        keep = [Choice("winner", "保留采用值", f"确认保留采用值（{winner}）？", "resolve-keep-winner"),
                Choice("loser", "改用未采用值", f"确认改用未采用值（{loser}）？", "resolve-keep-loser")]
    typed = None
    if kind == "concurrent_edit" or (kind == "refused_edit" and _one_field(c)):
        typed = Choice("value", "改为输入的值", f"确认将{row['字段']}改为输入的值？", "resolve-value",
                       note="按该字段的规则校验（日期写 YYYY-MM-DD，类别等可写中文）")
    return keep, typed


def view(c: dict) -> ConflictView:
    """A conflict (as :func:`veterans.resolve.get_conflict` gives it) for the templates."""
    row = R.display_row(c)
    heads = _side_headings(c.get("kind"))
    sides = (Side("winner", heads[0], row["采用值"], row["采用站点"], row["采用时间"]),
             Side("loser", heads[1], row["未采用值"], row["未采用站点"], row["未采用时间"]))
    choices, typed = _choices(c, row) if c.get("status") != "resolved" else ([], None)
    return ConflictView(c, row, sides, choices, typed)


def kind_options() -> list[tuple[str, str]]:
    """(code, Chinese label) of every conflict kind, for a filter's ``<select>``."""
    return [(code, label("conflict_kind", code)) for code in ENUMS["conflict_kind"]]


def resolve_args(form: Mapping[str, Any]) -> dict[str, str | None]:
    """The arguments of :func:`veterans.resolve.resolve` a submitted form chose
    (``keep``, ``value``, ``merge_into``: exactly one set)."""
    choice = (form.get("choice") or "").strip()
    if choice in R.KEEP_CHOICES:
        return {"keep": choice, "value": None, "merge_into": None}
    if choice == "value":
        value = form.get("value")
        if value is None or not str(value).strip():
            raise ValidationError("请填写要改为的值")
        return {"keep": None, "value": str(value).strip(), "merge_into": None}
    if choice == "merge":
        return {"keep": None, "value": None, "merge_into": (form.get("merge_into") or "").strip()}
    raise ValidationError("请选择一种处理方式")
