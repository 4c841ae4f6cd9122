"""The station page's 首页: the station at a glance (what ``station-node status``
prints, open conflicts, petitions past or near their deadlines) and the 同步
button, whose progress is polled by htmx while the session runs
(:mod:`station_node.web.sync_runner`).

Routes (blueprint ``home``, at ``/``):

- ``GET /`` — the page;
- ``POST /sync`` — start a session (the form ``#sync-form``, button ``#sync-button``);
  to htmx: the progress fragment ``#sync-progress``; else a redirect to ``/``.
  An offline station (no hub) is refused in words (400);
- ``GET /sync/progress`` — the fragment ``#sync-progress``: polling itself every
  500 ms while the session runs, without the trigger once it ended (the result
  line ``同步完成：…`` or ``#sync-error``), then also the cards, swapped out of band.

The cards are read again only when the database has changed since (any write of this
process, a commit of another: :func:`_change_mark`) or after :data:`CACHE_SECONDS`:
counting the unpushed changes of a station of 20,000 veterans takes tens of ms, the
page answers in a few. Petitions' due dates come from their cache
(``records.refresh_petition_dues`` folds only what changed).
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

from flask import Blueprint, g, redirect, render_template, request, url_for

from station_node import records
from station_node.session import station_status
from station_node.web import page
from station_node.web.sync_runner import last_result, runner
from sync.engine.schema import table as table_spec
from veterans import resolve
from veterans.fields import display_value
from veterans.labels import field_label, table_label

bp = Blueprint("home", __name__, url_prefix="/")

#: petitions whose earliest open deadline falls within this many days count as 即将到期
DUE_SOON_DAYS = 7
#: the cards are read again after this long even when nothing was written (seconds)
CACHE_SECONDS = 30
#: a clock further off the hub's than this is shown as a warning (seconds)
SKEW_WARN_S = 60

#: the certificate's state as ``station-node status`` says it
CERT_STATE_LABELS = {"valid": "有效", "expired": "已过期", "revoked": "已吊销", "unknown": "县中心无此证书记录"}

OFFLINE_TEXT = ("本站是离线使用的（没有县中心地址），不能同步；数据都保存在本机。"
                "联网请向县中心申请登记令牌，运行 station-node init --reenroll --hub 主机:端口 --token 令牌")


def _rejected_rows(rejected: list[dict]) -> list[dict]:
    out = []
    for r in rejected:
        fields = r.get("fields") or {}
        try:
            spec = table_spec(r["table"])
            shown = [(field_label(r["table"], k), display_value(spec, k, v) if v not in (None, "") else "（空）")
                     for k, v in fields.items()]
            what = table_label(r["table"])
        except Exception:  # a table this version does not know: show the names as they are
            shown = [(k, str(v)) for k, v in fields.items()]
            what = r["table"]
        out.append({**r, "what": what, "shown": shown})
    return out


def _cert(cert: dict | None) -> dict:
    if not cert:
        return {"text": "无", "tone": "muted", "days_left": None}
    state = CERT_STATE_LABELS.get(cert["state"], cert["state"])
    if cert["state"] == "valid":
        days = cert.get("days_left")
        tone = "warn" if cert.get("renew_due") else "ok"
        note = "，下次同步时自动续期" if cert.get("renew_due") else ""
        return {"text": f"剩 {days} 天", "note": f"{state}，有效期至 {cert['not_after'][:10]}{note}", "tone": tone,
                "days_left": days}
    return {"text": state, "note": f"有效期至 {cert['not_after'][:10]}；请向县中心申请新令牌，"
                                  f"运行 station-node init --reenroll --token 令牌", "tone": "bad",
            "days_left": cert.get("days_left")}


def _skew(skew_ms: int | None) -> dict:
    if skew_ms is None:
        return {"text": "未知", "tone": "muted"}
    return {"text": f"{skew_ms / 1000:+.1f} 秒", "tone": "warn" if abs(skew_ms) > SKEW_WARN_S * 1000 else "ok"}


def _change_mark(pg) -> tuple:
    """Changes whenever the database may have: a write through this process's connection
    (the page's, the sync's, the daemon's), or a commit by another process (the WAL file
    grows or is rewritten). Read *before* the data, so that a cached overview is never newer
    than its mark."""
    path = Path(pg.store.path)
    mark: list = [pg.store.conn.total_changes, dt.date.today()]
    for file in (path, path.with_name(path.name + "-wal")):
        try:
            st = file.stat()
            mark += [st.st_mtime_ns, st.st_size]
        except OSError:
            mark += [None, None]
    return tuple(mark)


def overview() -> dict:
    """What the cards show (also after a session, swapped in out of band): read again when
    the database changed or after :data:`CACHE_SECONDS` (the certificate's days, the clock)."""
    pg = page()
    mark = _change_mark(pg)
    cached = pg.state.get("home_overview")
    if cached and cached[0] == mark and time.monotonic() < cached[1]:
        return cached[2]
    data = _read_overview(pg)
    pg.state["home_overview"] = (mark, time.monotonic() + CACHE_SECONDS, data)
    return data


def _read_overview(pg) -> dict:
    info = station_status(pg.home, pg.store)
    today = dt.date.today()
    overdue = records.petition_page(pg.store, overdue=True, today=today, limit=1).total
    due_by = records.petition_page(pg.store, overdue=True, today=today + dt.timedelta(days=DUE_SOON_DAYS), limit=1).total
    return {
        "info": info,
        "offline": not info["hub"],
        "cert": _cert(info["certificate"]),
        "skew": _skew(info["clock_skew_ms"]),
        "rejected": _rejected_rows(info["rejected"]),
        "conflicts": len(resolve.list_conflicts(pg.store)),
        "overdue": overdue,
        "due_soon": max(0, due_by - overdue),
        "due_days": DUE_SOON_DAYS,
        "last": last_result(pg.store),
    }


def _progress_fragment(status: int = 200, *, error: str | None = None, with_cards: bool = False):
    state = runner(page()).state()
    context = {"s": state, "refused": error}
    if with_cards:
        context.update(overview())
    return render_template("home/_progress.html", cards=with_cards, **context), status


@bp.route("/")
def index():
    the_runner = runner(page())
    return render_template("home/index.html", s=the_runner.state(), refused=None, offline_text=OFFLINE_TEXT,
                           scheduled=the_runner.waker is not None, **overview())


@bp.route("/sync", methods=["POST"])
def sync():
    pg = page()
    if not pg.store.meta("hub"):
        if request.headers.get("HX-Request"):
            return _progress_fragment(400, error=OFFLINE_TEXT)
        return render_template("message.html", message=OFFLINE_TEXT, status=400), 400
    runner(pg).start(by=g.get("user"))
    if request.headers.get("HX-Request"):
        return _progress_fragment()
    return redirect(url_for("home.index"), code=303)


@bp.route("/sync/progress")
def progress():
    state = runner(page()).state()
    # The poll that finds the session ended also brings the cards up to date.
    finished = state.status in ("done", "failed") and bool(request.headers.get("HX-Request"))
    return _progress_fragment(with_cards=finished)
