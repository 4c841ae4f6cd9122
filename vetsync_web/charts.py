"""Bar charts as server-rendered SVG, from numbers (no chart library, no script):
the page's CSP allows no inline script or ``style`` attribute, so a chart is
markup only — SVG presentation attributes (``fill``, ``x``, ``width``) place and
colour it.

:func:`bar_chart` draws horizontal bars, one group per label and one bar per
series in each group, with the value written after each bar and a legend when
there are several series. Every text (labels, series names, the title) is
escaped here: labels come from data other stations wrote.

:func:`report_charts` makes the report's three charts (visit coverage, petitions
open/closed/overdue, veterans on file by category) from a
:class:`veterans.report.Report`, for the county's and the station's 报表.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

from markupsafe import Markup, escape

__all__ = ["Series", "bar_chart", "report_charts", "PALETTE"]

#: Series colours, in order: the stylesheet's accent, and two more.
PALETTE = ("#1f5fa8", "#2b8a9a", "#9a6700", "#6b4fa0", "#1e7a3c", "#b3261e")

#: The petitions chart's segments: overdue in the stylesheet's red, open in its accent, closed in its green.
OVERDUE, OPEN, CLOSED = "#b3261e", "#1f5fa8", "#1e7a3c"

#: A chart's natural width: two side by side on a 1366-pixel screen.
_WIDTH = 620
_LABEL_W = 130
_VALUE_W = 60
_NOTE_W = 190  # the text after a stacked bar
_BAR_H = 14
_BAR_GAP = 3
_GROUP_GAP = 10
_TOP = 8
_LEGEND_H = 22
_FONT = 12


@dataclass(frozen=True)
class Series:
    """One series: its name (the legend) and a value per label (None: no figure, no bar)."""

    name: str
    values: Sequence[float | int | None]
    colour: str | None = None  # default: the palette's, by the series' place


def _num(value: float) -> str:
    """A coordinate, short (no float noise in the markup)."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _plain(value: float | int | None) -> str:
    if value is None:
        return "—"
    return f"{value:g}" if isinstance(value, float) else str(value)


def bar_chart(chart_id: str, title: str, labels: Sequence[str], series: Sequence[Series], *,
              fmt: Callable[[float | int | None], str] = _plain, max_value: float | None = None,
              stacked: bool = False, note: Callable[[int], str] | None = None, empty: str = "无数据") -> Markup:
    """A ``<figure class="chart" id=chart_id>`` holding the SVG.

    Bars are scaled to ``max_value`` (default: the largest value, or the largest
    sum with ``stacked``, at least 1). Side by side (the default), each series has
    its bar in a label's group, ``fmt`` of its value written after it; ``stacked``:
    one bar a label, the series its segments in order, ``note(i)`` (default: the
    sum) written after it. Each bar or segment is a ``<g class="bar">`` with
    ``data-label``, ``data-series`` and ``data-value`` (the number as given), so a
    test or a reader of the markup finds each figure."""
    labels = [str(label) for label in labels]
    for s in series:
        if len(s.values) != len(labels):
            raise ValueError(f"series {s.name!r} has {len(s.values)} values for {len(labels)} labels")
    cid = escape(chart_id)
    if stacked:
        values = [sum(s.values[n] or 0 for s in series) for n in range(len(labels))]
    else:
        values = [v for s in series for v in s.values if v is not None]
    top = max([max_value or 0, *values, 1])
    legend = len(series) > 1
    bars = 1 if stacked else len(series)
    group_h = bars * (_BAR_H + _BAR_GAP) - _BAR_GAP
    height = _TOP + (_LEGEND_H if legend else 0) + max(len(labels), 1) * (group_h + _GROUP_GAP)
    span = _WIDTH - _LABEL_W - (_NOTE_W if stacked else _VALUE_W)
    colours = [s.colour or PALETTE[i % len(PALETTE)] for i, s in enumerate(series)]
    out = [
        f'<figure class="chart" id="{cid}" data-testid="chart">',
        f"<figcaption>{escape(title)}</figcaption>",
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_WIDTH} {height}" width="{_WIDTH}" '
        f'height="{height}" role="img" aria-labelledby="{cid}-title" font-size="{_FONT}">',
        f'<title id="{cid}-title">{escape(title)}</title>',
    ]
    y = _TOP
    if legend:
        x = _LABEL_W
        for i, s in enumerate(series):
            colour = colours[i]
            out.append(f'<g class="legend"><rect x="{x}" y="{y}" width="12" height="12" fill="{colour}"/>'
                       f'<text x="{x + 16}" y="{y + 11}">{escape(s.name)}</text></g>')
            x += 28 + _FONT * len(s.name)
        y += _LEGEND_H
    if not labels:
        out.append(f'<text x="{_LABEL_W}" y="{y + _BAR_H}" fill="#5b6775">{escape(empty)}</text>')
    for n, label in enumerate(labels):
        mid = y + group_h / 2 + _FONT / 2 - 2
        out.append(f'<text class="label" x="{_LABEL_W - 6}" y="{_num(mid)}" text-anchor="end">{escape(label)}</text>')
        x = float(_LABEL_W)
        for i, s in enumerate(series):
            value = s.values[n]
            bar_y = y if stacked else y + i * (_BAR_H + _BAR_GAP)
            if not stacked:
                x = float(_LABEL_W)
            w = 0.0 if value is None else max(0.0, float(value)) / top * span
            shown = escape(fmt(value))
            out.append(
                f'<g class="bar" data-label="{escape(label)}" data-series="{escape(s.name)}" '
                f'data-value="{escape("" if value is None else value)}">'
                f'<rect x="{_num(x)}" y="{bar_y}" width="{_num(w)}" height="{_BAR_H}" '
                f'fill="{colours[i]}"><title>{escape(label)} {escape(s.name)}：{shown}</title></rect>'
                + ("" if stacked else f'<text x="{_num(x + w + 4)}" y="{bar_y + _BAR_H - 3}">{shown}</text>')
                + "</g>"
            )
            x += w
        if stacked:
            text = note(n) if note is not None else fmt(values[n])
            out.append(f'<text class="note" x="{_num(x + 4)}" y="{y + _BAR_H - 3}">{escape(text)}</text>')
        y += group_h + _GROUP_GAP
    out.append("</svg></figure>")
    return Markup("\n".join(out))


def _pct(value: float | int | None) -> str:
    return "—" if value is None else f"{value:.1f}%"


def _groups(rep: Any) -> list[Any]:
    """The rows one level below the scope (a county's towns, a town's villages), else the total row."""
    total = rep.total
    below = [r for r in rep.rows if not r.total]
    if not below:
        return [total]
    level = min(len(r.area) for r in below)
    return [r for r in below if len(r.area) == level]


def report_charts(rep: Any) -> dict[str, Markup]:
    """The report's charts by element id: ``chart-coverage`` (走访覆盖率 by town, or by
    village for a town), ``chart-petitions`` (未办结 / 已办结 / 超期 by the same areas) and
    ``chart-categories`` (在册人数 by category, the scope's total). ``rep``: a
    :class:`veterans.report.Report`."""
    groups = _groups(rep)
    names = [r.name for r in groups]
    what = {"county": "县", "town": "镇（街道）", "village": "村（社区）"}.get(groups[0].level, "") if groups else ""
    coverage = bar_chart(
        "chart-coverage", f"{rep.month} 走访覆盖率（按{what}）", names,
        [Series("走访覆盖率", [r.visit_coverage_pct for r in groups])], fmt=_pct, max_value=100)
    petitions = bar_chart(
        "chart-petitions", f"信访办理情况（按{what}，截至 {rep.today.isoformat()}）", names,
        [Series("超期", [r.petitions_overdue for r in groups], OVERDUE),
         Series("未办结（未超期）", [r.petitions_open - r.petitions_overdue for r in groups], OPEN),
         Series("已办结", [r.petitions_closed for r in groups], CLOSED)],
        stacked=True, note=lambda n: (f"未结 {groups[n].petitions_open}·超期 {groups[n].petitions_overdue}"
                                      f"·已结 {groups[n].petitions_closed}"))
    headings = dict(rep.columns())
    categories = list(rep.total.by_category)
    by_category = bar_chart(
        "chart-categories", "在册人数（按人员类别）", [headings[f"category_{c}"] for c in categories],
        [Series("在册人数", [rep.total.by_category[c] for c in categories])])
    return {"chart-coverage": coverage, "chart-petitions": petitions, "chart-categories": by_category}
