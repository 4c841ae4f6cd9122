"""The station page's 导入导出 (a placeholder until the part is built)."""

from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("roster", __name__, url_prefix="/" if "roster" == "home" else "/roster")


@bp.route("/")
def index():
    return render_template("message.html", message="导入导出：建设中", status=200)
