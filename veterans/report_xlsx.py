"""A report as an .xlsx workbook laid out to print on A4 (issue 14 §4).

One sheet per view, each printed on A4 portrait fitted to the page's width, its title
rows repeated on every printed page and the header row frozen:

- 汇总: the towns (or, for a town's report, the villages) with the total row;
- 分村: every village row;
- 上报统计: the counts a county sends upward (``Report.upward``, a report made for a period);
- 逾期信访: the overdue petitions the caller passes (petitioner — 保密 for 检举控告类 —,
  area, received date, the deadline missed);
- 未联系: the veterans on file not contacted in the period's last month, as the caller passes them;
- 未同步网点: the registry's stations with no sync for 7 days (the hub's report only).

Each sheet opens with a title (the scope's name from the county's area list, else its
code; the period), then 制表单位 (``office``), 填报人 (``by``) and the date made. Place
names stand beside codes (:func:`veterans.places.place`). Percentages are numbers (a
fraction) with the ``0.0%`` format, never text, so a sheet sums and charts as it is.
Written to a temporary file and moved into place: nothing half written.
"""

from __future__ import annotations

import datetime as _dt
import os
import tempfile
from pathlib import Path
from typing import Any, Iterable, Mapping

from sync.engine.errors import ValidationError
from veterans.places import place
from veterans.report import DISABILITY_BANDS, LEVEL_LABELS, Report, _category_label
from veterans.values import ENUMS

__all__ = ["write_report_xlsx", "workbook_options", "PERCENT", "SHEETS"]

PERCENT = "0.0%"
SHEETS = ("汇总", "分村", "上报统计", "逾期信访", "未联系", "未同步网点")
_TITLE_ROWS = 3  # the title, the office/by/date line, the header


def _pct(value: Any) -> float | None:
    return None if value is None else value / 100


def _figure_columns(rep: Report) -> list[tuple[str, str]]:
    return [c for c in rep.period_columns() if c[0] not in ("area", "level")]


def _area_rows(rep: Report, rows, names) -> list[list[Any]]:
    out = []
    for r in rows:
        data = r.to_dict()
        data.update({f"category_{c}": n for c, n in r.by_category.items()})
        values = [r.area, "合计" if r.total else names.get(r.area) or r.area,
                  "合计" if r.total else LEVEL_LABELS.get(r.level, r.level)]
        for key, _ in _figure_columns(rep):
            values.append(_pct(data[key]) if key == "visit_coverage_pct" else data.get(key))
        out.append(values)
    return out


def _upward_rows(up: Mapping[str, Any]) -> list[list[Any]]:
    """(项目, 数值) lines; a percentage as a fraction (formatted by the caller)."""
    rows: list[list[Any]] = [["在册人数", up["veterans_on_file"]]]
    rows += [[f"类别：{_category_label(c)}", n] for c, n in up["by_category"].items()]
    rows += [[f"重点优抚对象：{ENUMS['priority_type'].get(c, c)}", n] for c, n in up["by_priority_type"].items()]
    rows += [[f"伤残等级：{DISABILITY_BANDS[k][0]}", n] for k, n in up["disability_bands"].items()]
    rows += [["档案完整人数", up["files_complete"]], ["档案完整率", _pct(up["files_complete_pct"])],
             ["本期新增", up["new"]], ["本期迁出", up["moved_out"]], ["本期去世", up["deceased"]],
             ["应悬挂光荣牌户数", up["plaque_households"]], ["已悬挂光荣牌户数", up["plaque_hung"]],
             ["光荣牌悬挂率", _pct(up["plaque_hung_pct"])], ["走访慰问人次", up["visits"]]]
    rows += [[f"走访方式：{ENUMS['visit_kind'].get(k, k)}", n] for k, n in up["visits_by_kind"].items()]
    rows += [[f"走访时机：{ENUMS['occasion'].get(k, k)}", n] for k, n in up["visits_by_occasion"].items()]
    rows += [["重点对象在册", up["priority_on_file"]], ["重点对象已联系", up["priority_contacted"]],
             ["重点对象联系覆盖率", _pct(up["priority_coverage_pct"])],
             ["慰问金（元）", up["aid_cash"]], ["慰问物资折款（元）", up["aid_goods_value"]],
             ["信访件数", up["petition_batches"]], ["信访人次", up["petition_person_times"]],
             ["集体访件数", up["petitions_collective"]], ["按期受理率", _pct(up["notice_on_time_pct"])],
             ["按期办结率", _pct(up["handling_on_time_pct"])], ["复查申请", up["review_requests"]],
             ["复核申请", up["recheck_requests"]]]
    rows += [[f"信访领域：{d}", n] for d, n in up["petitions_by_domain"].items()]
    return rows


def write_report_xlsx(
    path: str | Path,
    rep: Report,
    *,
    names: Mapping[str, str] | None = None,
    office: str,
    by: str,
    made_on: _dt.date,
    overdue: Iterable[Mapping[str, Any]] = (),
    uncontacted: Iterable[Mapping[str, Any]] = (),
    stale: bool = False,
) -> Path:
    """Write ``rep`` to ``path`` (.xlsx). ``overdue``: ``{petitioner, confidential, area,
    received_on, deadline, due}``; ``uncontacted``: ``{name, area, last_contact}``; ``stale``:
    add the 未同步网点 sheet (the hub's report). Returns the path written."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.worksheet.properties import PageSetupProperties

    path = Path(path)
    if path.suffix.lower() != ".xlsx":
        raise ValidationError(f"报表文件须为 .xlsx：{path.name}")
    names = names or {}
    # the county may be listed in its national 12-digit form (440902000000)
    scope_name = names.get(rep.scope) or names.get(rep.scope.ljust(12, "0"))
    title = f"{scope_name}（{rep.scope}）" if scope_name else rep.scope
    title = f"{title} {rep.period.title}退役军人工作统计报表"
    line = f"制表单位：{office}　填报人：{by}　制表日期：{made_on.isoformat()}　统计截至：{rep.as_of.isoformat()}"
    wb = Workbook()
    wb.remove(wb.active)

    def sheet(name: str, headings: list[str], rows: list[list[Any]], pct_cols: Iterable[int] = (),
              pct_rows: Iterable[int] = ()) -> None:
        ws = wb.create_sheet(name)
        ws.append([f"{title}（{name}）"])
        ws.append([line])
        ws.append(headings)
        ws["A1"].font = Font(bold=True, size=14)
        for cell in ws[3]:
            cell.font = Font(bold=True)
            cell.alignment = Alignment(wrap_text=True, horizontal="center")
        for values in rows:
            ws.append(values)
        pct_cols, pct_rows = set(pct_cols), set(pct_rows)
        for i, row in enumerate(ws.iter_rows(min_row=_TITLE_ROWS + 1), start=0):
            for j, cell in enumerate(row):
                if j in pct_cols or i in pct_rows and j == 1:
                    cell.number_format = PERCENT
        ws.column_dimensions["A"].width = 16
        ws.column_dimensions["B"].width = 24
        ws.freeze_panes = f"A{_TITLE_ROWS + 1}"
        ws.print_title_rows = f"1:{_TITLE_ROWS}"
        ws.page_setup.paperSize = ws.PAPERSIZE_A4
        ws.page_setup.orientation = "portrait"
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0
        ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)

    figures = _figure_columns(rep)
    headings = ["区划代码", "名称", "层级", *(h for _, h in figures)]
    pct_col = 3 + [k for k, _ in figures].index("visit_coverage_pct")
    top = [r for r in rep.rows if r.total or len(r.area) == min(
        (len(x.area) for x in rep.rows if not x.total), default=0)]
    sheet("汇总", headings, _area_rows(rep, top, names), [pct_col])
    sheet("分村", headings, _area_rows(rep, [r for r in rep.rows if r.level == "village"], names), [pct_col])
    if rep.upward is not None:
        lines = _upward_rows(rep.upward)
        sheet("上报统计", ["项目", "数值"], lines, pct_rows=[i for i, (k, _) in enumerate(lines) if k.endswith("率")])
    sheet("逾期信访", ["信访人", "地区", "收到日期", "逾期期限", "应办日期"],
          [["保密" if o.get("confidential") else o.get("petitioner"), place(o.get("area"), names), o.get("received_on"),
            o.get("deadline"), o.get("due")] for o in overdue])
    sheet("未联系", ["姓名", "地区", "最近联系日期"],
          [[u.get("name"), place(u.get("area"), names), u.get("last_contact") or "从未联系"] for u in uncontacted])
    if stale:
        sheet("未同步网点", ["站点", "最近同步时间", "未同步天数"],
              [[place(s.station, names), s.last_sync or "从未同步", s.days_since_sync] for s in rep.stale_stations])
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".~", suffix=".xlsx", dir=path.parent)
        os.close(fd)
        try:
            wb.save(tmp)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    except OSError as exc:
        raise ValidationError(f"无法写入文件 {path.name}：{exc.strerror or exc}") from exc
    return path


def workbook_options(store: Any, rep: Report, *, office: str, by: str, stale: bool) -> dict:
    """The .xlsx's keywords read from ``store``: the area list's names and the on-file veterans
    not contacted since the first day of the period's last month (as of now)."""
    import datetime as _dt

    from sync.store import queries
    from sync.store.areas import area_names
    from sync.store.contacts import last_visits

    since = rep.as_of.replace(day=1).isoformat()
    on_file = [v for v in queries.veteran_rows_for_report(store, rep.scope, ("name", "area", "status", "merged_into"))
               if not v["merged_into"] and (v["status"] or "active") == "active"]
    last = last_visits(store, [v["id"] for v in on_file])
    uncontacted = [{"name": v["name"], "area": v["area"], "last_contact": last.get(v["id"])}
                   for v in sorted(on_file, key=lambda v: (v["area"], v["name"] or "", v["id"]))
                   if not last.get(v["id"]) or last[v["id"]] < since]
    return {"names": area_names(store, rep.scope[:6]), "office": office, "by": by, "made_on": _dt.date.today(),
            "uncontacted": uncontacted, "stale": stale}
