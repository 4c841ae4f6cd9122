"""The dashboard's 冲突: the county's conflict queue — filters (kind, area: a
town's or village's code prefix), one conflict with its two sides side by side,
and its resolution.

The same calls as ``county-hub conflicts`` (:mod:`county_hub.cli_conflicts`):
:func:`veterans.resolve.list_conflicts`, ``get_conflict`` and ``resolve`` over
the hub's store, in the county's scope, ``resolved_by`` ``county``. A
resolution is the hub's own write (the stations receive it on their next pull)
and is written to ``county-hub audit`` in the same transaction, with the
account that made it. Only an admin resolves; a viewer sees the queue.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for

from county_hub import web as hub_web
from county_hub.cli_conflicts import RESOLVED_BY
from sync.engine.errors import NotFound, StoreError, VetsyncError
from veterans import resolve as R
from vetsync_web import conflicts as V
from vetsync_web.app import require_admin
from vetsync_web.text import error_text

__all__ = ["bp"]

bp = Blueprint("conflicts", __name__, url_prefix="/conflicts")

AFTER_RESOLVE = "各站下次同步时将收到处理结果。"


def _can_resolve() -> bool:
    return g.get("role") == "admin"


@bp.route("/")
def index():
    kind = (request.args.get("kind") or "").strip()
    area = (request.args.get("area") or "").strip()
    include_resolved = request.args.get("all") == "1"
    error, items = None, []
    try:
        rows = R.list_conflicts(hub_web.page().store, include_resolved=include_resolved, kind=kind or None,
                                area=area or None)
        items = [V.view(c) for c in rows]
    except VetsyncError as exc:
        error = error_text(exc)
    template = "conflicts/_list.html" if request.headers.get("HX-Request") else "conflicts/index.html"
    return render_template(template, items=items, kind=kind, area=area, include_resolved=include_resolved,
                           error=error, kinds=V.kind_options(), can_resolve=_can_resolve()), (400 if error else 200)


def _conflict(conflict_id: str) -> dict:
    try:
        return R.get_conflict(hub_web.page().store, conflict_id)
    except NotFound:
        abort(404)


@bp.route("/<conflict_id>")
def show(conflict_id: str):
    return render_template("conflicts/show.html", v=V.view(_conflict(conflict_id)), error=None,
                           can_resolve=_can_resolve())


def _audit(what: str, _by: str, /, **detail) -> None:
    """What :func:`veterans.resolve.resolve` reports, to ``county-hub audit`` with the account."""
    hub_web.audit(what, {**detail, "resolved_by": RESOLVED_BY, "via": "web"})


@bp.route("/<conflict_id>/resolve", methods=["POST"])
def resolve(conflict_id: str):
    require_admin()
    if not _can_resolve():  # a station's clerk role never logs in here; only an admin resolves
        abort(403)
    page = hub_web.page()
    c = _conflict(conflict_id)
    county = page.store.meta("county") or ""
    try:
        if not county:
            raise StoreError("县中心数据库缺少县级区划代码")
        out = R.resolve(page.store, c["id"], **V.resolve_args(request.form), by=RESOLVED_BY, scope=county,
                        audit=_audit)
    except VetsyncError as exc:
        return render_template("conflicts/show.html", v=V.view(_conflict(conflict_id)), error=error_text(exc),
                               can_resolve=True), 400
    flash(f"已处理冲突（{out['record_name'] or out['id']}）：{out['resolution']}。{AFTER_RESOLVE}", "ok")
    return redirect(url_for("conflicts.index"))
