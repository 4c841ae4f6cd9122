"""The dashboard's 冲突 (a placeholder until the part is built)."""

from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("conflicts", __name__, url_prefix="/conflicts")


@bp.route("/")
def index():
    return render_template("message.html", message="冲突：建设中", status=200)
