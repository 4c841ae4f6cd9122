"""The station page's 首页 (a placeholder until the part is built)."""

from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("home", __name__, url_prefix="/" if "home" == "home" else "/home")


@bp.route("/")
def index():
    return render_template("message.html", message="首页：建设中", status=200)
