"""The dashboard's 网点 (a placeholder until the part is built)."""

from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("stations", __name__, url_prefix="/stations")


@bp.route("/")
def index():
    return render_template("message.html", message="网点：建设中", status=200)
