"""A petition as both command lines show it (``station-node petition …`` and the
county's read-only ``county-hub petition …``): its JSON (fields only added), the
情况 of a deadline, and the numbered 办理记录."""

from __future__ import annotations

import datetime as _dt
from typing import TYPE_CHECKING

from vetsync_cli.chrome import print_table

if TYPE_CHECKING:
    from veterans.petition import Deadline, PetitionState

__all__ = ["UPPER", "deadline_json", "petition_json", "deadline_label", "deadline_text", "print_deadlines",
           "event_detail", "timeline_rows", "print_timeline", "TIMELINE_COLUMNS"]

#: What a deadline of the organ one level up is called (复查/复核答复期限, Arts. 35–36):
#: shown, never this office's overdue.
UPPER = "上级机关期限"


def deadline_json(d: Deadline | None) -> dict | None:
    if d is None:
        return None
    return {
        "what": d.what,
        "due": d.due.isoformat(),
        "met_on": d.met_on.isoformat() if d.met_on else None,
        "overdue": d.overdue,
        "late": d.late,
        "window": d.window,
        "upper": d.upper,
    }


def petition_json(pet: dict, state: PetitionState, events: list[dict] | None = None) -> dict:
    """A petition with its derived status and deadlines (and events, for ``show``)."""
    out = {
        **pet,
        "status": state.status,
        "status_label": state.status_label,
        "overdue": state.overdue,
        "next_deadline": deadline_json(state.next_due),
        "method": state.method,
        "extension_days": state.extension_days,
        "served_on": state.served_on.isoformat() if state.served_on else None,
        "rechecked": state.rechecked,
        "repeat_of": state.repeat_of,
    }
    if events is not None:
        out["deadlines"] = [deadline_json(d) for d in state.deadlines]
        out["events"] = events
        out["anomalies"] = list(state.anomalies)
    return out


def deadline_text(d: Deadline) -> str:
    """情况 column of a deadline: 已完成 / 逾期完成 / 已超期 / 未到期 / 申请期。"""
    if d.met_on is not None:
        return f"逾期完成（{d.met_on}）" if d.late else f"已完成（{d.met_on}）"
    if d.overdue:
        return "已超期"
    if d.window:
        return "申请期已过" if d.due < _dt.date.today() else "申请期内"
    if d.upper:  # 复查/复核答复: the organ one level up's limit (Arts. 35–36)
        return f"{UPPER}已过" if d.due < _dt.date.today() else "上级机关办理中"
    return "未到期"


def deadline_label(d: Deadline) -> str:
    """期限 column: the deadline's name, marked when it is the upper organ's (Arts. 35–36)."""
    return f"{d.what}（{UPPER}）" if d.upper else d.what


def print_deadlines(state: PetitionState) -> None:
    """The petition's deadlines: 期限 / 到期日 / 情况."""
    print_table((("what", "期限"), ("due", "到期日"), ("state", "情况")),
                [{"what": deadline_label(d), "due": d.due.isoformat(), "state": deadline_text(d)}
                 for d in state.deadlines], title="办理期限", empty="无")


def event_detail(e: dict) -> str | None:
    """An event's 处理方式, days, approver and 送达/告知 date, in one line (or None)."""
    from veterans import fields as F

    parts = []
    if e.get("method"):
        parts.append(F.display_value("petition_events", "method", e["method"]))
    if e.get("days") not in (None, ""):
        parts.append(f"{e['days']}日")
    if e.get("approver"):
        parts.append(f"批准人：{e['approver']}")
    if e.get("served_on"):
        parts.append(f"送达/告知：{e['served_on']}")
    return "；".join(str(p) for p in parts if p) or None


def timeline_rows(events: list[dict]) -> list[dict]:
    """The petition's history as ``petition show`` prints it: one row per event
    (numbered from 1: what ``petition event --kind 更正 --of N`` takes), its
    fields in Chinese, and the 更正 column (作废第N条 / 已被第N条更正作废)."""
    from veterans import fields as F

    number = {e.get("id"): n for n, e in enumerate(events, start=1)}
    rows = []
    for n, e in enumerate(events, start=1):
        row = {"no": str(n), **{k: F.display_value("petition_events", k, e.get(k)) or None
                                for k in ("at", "kind", "outcome", "actor", "note", "from_status")}}
        row["detail"] = event_detail(e)
        if e.get("voided_by"):
            row["correction"] = f"已被第{number.get(e['voided_by'], '?')}条更正作废"
        elif e.get("voids"):
            row["correction"] = f"作废第{number[e['voids']]}条" if e["voids"] in number else "所指环节不在本信访件中"
        else:
            row["correction"] = None
        rows.append(row)
    return rows


TIMELINE_COLUMNS = (("no", "序号"), ("at", "日期"), ("kind", "环节"), ("outcome", "答复意见"),
                     ("detail", "处理方式/天数/送达"), ("actor", "经办人"),
                     ("note", "说明"), ("from_status", "办理前状态"), ("correction", "更正"))


def print_timeline(events: list[dict]) -> None:
    """The petition's 办理记录, numbered (see :func:`timeline_rows`)."""
    print_table(TIMELINE_COLUMNS, timeline_rows(events), title="办理记录", no_wrap=("no",))
