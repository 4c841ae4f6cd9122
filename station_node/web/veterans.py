"""The station page's 退役军人 (a placeholder until the part is built)."""

from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("veterans", __name__, url_prefix="/" if "veterans" == "home" else "/veterans")


@bp.route("/")
def index():
    return render_template("message.html", message="退役军人：建设中", status=200)
