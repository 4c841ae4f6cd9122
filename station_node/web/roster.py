"""The station page's 导入导出: a roster (.xlsx / .csv) uploaded, checked first
(the dry run of ``station-node import --dry-run``: every bad row with its line
and what is wrong, what would be created or updated), then imported all or
nothing; the error workbook (``import --errors``) to correct in Excel; and the
station's veterans exported as a workbook (``station-node export``).

Routes (blueprint ``roster``, at ``/roster``):

- ``GET /roster/`` — the upload form ``#roster-upload`` and the export link ``#roster-export``;
- ``POST /roster/check`` — the file (field ``file``; ``area`` optional) is kept
  in a private file under the home (``web-uploads/``, 0600) and checked: the page
  ``#roster-dry-run`` (problems ``data-testid="roster-problem"``, counts, change
  lines) with the form ``#roster-confirm`` when it can be imported;
- ``POST /roster/import`` — imports the checked file (``upload``: its token) all or
  nothing; the file is removed after;
- ``GET /roster/errors/<token>`` — the roster back with its 错误 column (.xlsx);
- ``POST /roster/cancel`` — drops a checked file;
- ``GET /roster/export`` — the station's veterans as .xlsx.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import secrets
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from flask import Blueprint, abort, g, render_template, request, send_file

from station_node import roster
from station_node.web import page
from sync.engine.errors import ValidationError, VetsyncError

bp = Blueprint("roster", __name__, url_prefix="/roster")

UPLOAD_DIR = "web-uploads"
SUFFIXES = (".xlsx", ".csv")
#: a checked upload not imported within this long is removed
KEEP_SECONDS = 2 * 3600
#: change lines shown on the page (the counts cover all; the rest are in a dry run of the CLI)
MAX_CHANGES_SHOWN = 500
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

_lock = threading.Lock()


@dataclass
class Upload:
    token: str
    path: Path
    name: str
    user: str | None
    area: str | None
    at: float
    error: roster.RosterError | None = None


def _uploads() -> dict[str, Upload]:
    return page().state.setdefault("roster_uploads", {})


def _folder() -> Path:
    folder = page().home / UPLOAD_DIR
    folder.mkdir(mode=0o700, exist_ok=True)
    folder.chmod(0o700)
    return folder


def _shown_name(raw: str | None) -> str:
    """The uploaded file's own name, as a bare file name (no folders, no control characters)."""
    name = re.sub(r"[\x00-\x1f\x7f/\\:]", "_", (raw or "").replace("\\", "/").rsplit("/", 1)[-1]).strip(" .")
    return name[-120:] or "名册"


def _drop(upload: Upload | None) -> None:
    if upload is None:
        return
    _uploads().pop(upload.token, None)
    shutil.rmtree(upload.path.parent, ignore_errors=True)


def _sweep() -> None:
    """Remove checked uploads left too long (and folders a stopped page left behind)."""
    now = time.time()
    with _lock:
        for upload in [u for u in _uploads().values() if now - u.at > KEEP_SECONDS]:
            _drop(upload)
        known = {u.path.parent for u in _uploads().values()}
    folder = page().home / UPLOAD_DIR
    if folder.is_dir():
        for child in folder.iterdir():
            try:
                old = now - child.stat().st_mtime > KEEP_SECONDS
            except OSError:
                continue
            if child not in known and old:
                shutil.rmtree(child, ignore_errors=True) if child.is_dir() else child.unlink(missing_ok=True)


def _save(file) -> Upload:
    name = _shown_name(file.filename)
    suffix = Path(name).suffix.lower()
    if suffix not in SUFFIXES:
        raise ValidationError(f"只能导入 .xlsx 或 .csv 名册：{name}", hint="在 Excel 中“另存为” Excel 工作簿（.xlsx）后再上传")
    token = secrets.token_urlsafe(18)
    where = _folder() / token
    where.mkdir(mode=0o700)
    path = where / (Path(name).stem[:100] + suffix)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            shutil.copyfileobj(file.stream, out, 1 << 20)
    except BaseException:
        shutil.rmtree(where, ignore_errors=True)
        raise
    area = (request.form.get("area") or "").strip() or None
    return Upload(token, path, name, g.get("user"), area, time.time())


def _mine(token: str | None) -> Upload:
    upload = _uploads().get(token or "")
    if upload is None or upload.user != g.get("user") or not upload.path.exists():
        abort(404)
    return upload


def _dry_run_page(upload: Upload, status: int = 200, *, after_import: bool = False):
    """Check the upload (a dry run) and show what it would do, or every problem."""
    try:
        result = roster.import_roster(page().store, upload.path, dry_run=True, area=upload.area)
    except roster.RosterError as exc:
        upload.error = exc
        return render_template("roster/check.html", upload=upload, error=exc, result=None, lines=[], more=0,
                               after_import=after_import), (422 if after_import else status)
    except VetsyncError:  # the file itself cannot be used, or the area is wrong: not kept
        _drop(upload)
        raise
    upload.error = None
    lines: list[str] = []
    more = 0
    for change in result.changes:
        if len(lines) >= MAX_CHANGES_SHOWN:
            more += 1
            continue
        lines.extend(roster.change_lines(change))
    return render_template("roster/check.html", upload=upload, error=None, result=result, lines=lines, more=more,
                           after_import=after_import), status


@bp.route("/")
def index():
    return render_template("roster/index.html", refused=None)


@bp.route("/check", methods=["POST"])
def check():
    _sweep()
    file = request.files.get("file")
    if file is None or not file.filename:
        return render_template("roster/index.html", refused="请先选择要导入的名册文件（.xlsx 或 .csv）"), 400
    try:
        upload = _save(file)
    except ValidationError as exc:
        return render_template("roster/index.html", refused=str(exc)), 400
    with _lock:
        _uploads()[upload.token] = upload
    try:
        return _dry_run_page(upload)
    except VetsyncError as exc:  # the file itself cannot be used (no 姓名 column, not a workbook …)
        return render_template("roster/index.html", refused=str(exc)), 400


@bp.route("/import", methods=["POST"])
def do_import():
    upload = _mine(request.form.get("upload"))
    try:
        result = roster.import_roster(page().store, upload.path, dry_run=False, area=upload.area)
    except roster.RosterError:
        # Something changed since the check (another clerk, a sync): show it again; nothing written.
        return _dry_run_page(upload, after_import=True)
    except VetsyncError as exc:
        _drop(upload)
        return render_template("roster/index.html", refused=str(exc)), 400
    name = upload.name
    with _lock:
        _drop(upload)
    return render_template("roster/done.html", name=name, result=result)


@bp.route("/cancel", methods=["POST"])
def cancel():
    upload = _uploads().get(request.form.get("upload") or "")
    if upload is not None and upload.user == g.get("user"):
        with _lock:
            _drop(upload)
    return render_template("roster/index.html", refused=None, note="已放弃这份名册，未写入任何记录。")


@bp.route("/errors/<token>")
def errors(token: str):
    upload = _mine(token)
    if upload.error is None:
        abort(404)
    dest = upload.path.parent / f"{Path(upload.name).stem[:100]}-错误.xlsx"
    try:
        roster.write_errors(upload.error, dest)
        data = dest.read_bytes()
    finally:
        dest.unlink(missing_ok=True)
    return send_file(io.BytesIO(data), mimetype=XLSX, as_attachment=True, download_name=dest.name)


@bp.route("/export")
def export():
    pg = page()
    code = pg.store.meta("station") or "本站"
    name = f"退役军人名册-{code}-{dt.date.today():%Y%m%d}.xlsx"
    token = secrets.token_urlsafe(12)
    where = _folder() / f"export-{token}"
    where.mkdir(mode=0o700)
    try:
        path = where / name
        roster.export_roster(pg.store, path)
        data = path.read_bytes()
    finally:
        shutil.rmtree(where, ignore_errors=True)
    return send_file(io.BytesIO(data), mimetype=XLSX, as_attachment=True, download_name=name)
