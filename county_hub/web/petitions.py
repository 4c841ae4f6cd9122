"""The dashboard's 信访 (a placeholder until the part is built)."""

from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("petitions", __name__, url_prefix="/petitions")


@bp.route("/")
def index():
    return render_template("message.html", message="信访：建设中", status=200)
