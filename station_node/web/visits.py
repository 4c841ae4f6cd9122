"""The station page's 走访慰问 (a placeholder until the part is built)."""

from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("visits", __name__, url_prefix="/" if "visits" == "home" else "/visits")


@bp.route("/")
def index():
    return render_template("message.html", message="走访慰问：建设中", status=200)
