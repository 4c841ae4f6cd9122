"""The dashboard's 报表 (a placeholder until the part is built)."""

from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("report", __name__, url_prefix="/report")


@bp.route("/")
def index():
    return render_template("message.html", message="报表：建设中", status=200)
