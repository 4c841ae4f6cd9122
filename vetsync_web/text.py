"""What the pages say: the Jinja2 filters both pages use (enum codes as their
Chinese labels, times in local time, field labels) and an error as one line."""

from __future__ import annotations

import datetime as _dt
from typing import Any

from sync.engine.errors import VetsyncError

__all__ = ["install_filters", "error_text", "local_time", "days_text"]


def error_text(exc: BaseException) -> str:
    """One Chinese line (the message and its hint, as the CLI prints after 错误：)."""
    return str(exc) if isinstance(exc, VetsyncError) else "操作没有完成"


def local_time(value: Any, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """An ISO time (with zone) or epoch milliseconds in local time to the minute; — for none."""
    if value in (None, ""):
        return "—"
    try:
        if isinstance(value, (int, float)):
            moment = _dt.datetime.fromtimestamp(value / 1000, _dt.timezone.utc)
        else:
            moment = _dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
            if moment.tzinfo is None:
                return moment.strftime(fmt)
    except (ValueError, OverflowError, OSError):
        return str(value)
    return moment.astimezone().strftime(fmt)


def days_text(days: int) -> str:
    """A countdown in days: 还剩 3 天 / 今天到期 / 已逾期 2 天."""
    if days > 0:
        return f"还剩 {days} 天"
    if days == 0:
        return "今天到期"
    return f"已逾期 {-days} 天"


def _label(code: Any, enum: str) -> str:
    from veterans.values import label

    return "" if code in (None, "") else label(enum, str(code))


def _field_label(name: str, table: str) -> str:
    from veterans.labels import field_label

    return field_label(table, name)


def install_filters(app) -> None:
    app.jinja_env.filters.update(label=_label, local_time=local_time, field_label=_field_label, days=days_text)
