"""The station page's 冲突: the conflicts the hub reported in this station's
scope — the list (open ones; a kind filter), one conflict with its two sides
side by side, and its resolution.

The same calls as ``station-node conflicts`` (:mod:`station_node.cli_conflicts`):
:func:`veterans.resolve.list_conflicts`, ``get_conflict`` and ``resolve`` with
the station's scope and code (who resolves). A resolution is an ordinary local
write, pushed to the county hub on the next sync; the hub audits it when it
arrives.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from station_node.web import store
from sync.engine.errors import NotFound, VetsyncError
from veterans import resolve as R
from vetsync_web import conflicts as V
from vetsync_web.text import error_text

__all__ = ["bp"]

bp = Blueprint("conflicts", __name__, url_prefix="/conflicts")

AFTER_RESOLVE = "处理结果将在下次同步时上传县中心。"


def _who() -> tuple[str, str]:
    """(scope, code): where this station may resolve, and who it is (``resolved_by``)."""
    s = store()
    code = s.meta("station") or ""
    return s.meta("scope") or code, code


@bp.route("/")
def index():
    kind = (request.args.get("kind") or "").strip()
    include_resolved = request.args.get("all") == "1"
    error, items = None, []
    try:
        items = [V.view(c) for c in R.list_conflicts(store(), include_resolved=include_resolved, kind=kind or None)]
    except VetsyncError as exc:
        error = error_text(exc)
    template = "conflicts/_list.html" if request.headers.get("HX-Request") else "conflicts/index.html"
    return render_template(template, items=items, kind=kind, include_resolved=include_resolved, error=error,
                           kinds=V.kind_options(), scope=_who()[0]), (400 if error else 200)


def _conflict(conflict_id: str) -> dict:
    try:
        return R.get_conflict(store(), conflict_id)
    except NotFound:
        abort(404)


@bp.route("/<conflict_id>")
def show(conflict_id: str):
    return render_template("conflicts/show.html", v=V.view(_conflict(conflict_id)), error=None)


@bp.route("/<conflict_id>/resolve", methods=["POST"])
def resolve(conflict_id: str):
    c = _conflict(conflict_id)
    scope, code = _who()
    try:
        out = R.resolve(store(), c["id"], **V.resolve_args(request.form), by=code, scope=scope)
    except VetsyncError as exc:
        return render_template("conflicts/show.html", v=V.view(_conflict(conflict_id)), error=error_text(exc)), 400
    flash(f"已处理冲突（{out['record_name'] or out['id']}）：{out['resolution']}。{AFTER_RESOLVE}", "ok")
    return redirect(url_for("conflicts.index"))
