"""The dashboard's 网点: every enrolled station with what ``county-hub stations``
and ``county-hub certs`` print — last sync and its age (red after 7 days), rows
pushed and pulled, edits the hub refused, clock skew, the newest certificate's
expiry and state — and, for an admin, enrollment tokens and revocation as
``county-hub token`` and ``county-hub revoke`` make them.

A token is shown once, in the answer to the POST that made it (``id="new-token"``;
the page is never cached), as ``county-hub token`` prints it once. Token issue and
revocation are an admin's (:func:`vetsync_web.app.require_admin`: a viewer sees
no such control and gets 403 on the POST) and each goes to ``county-hub audit``
as one entry, the registry's ``token`` or ``revoke`` as for the CLI, carrying the
account (``user``). Logs from before hold a ``web_token``/``web_revoke`` entry beside it.
"""

from __future__ import annotations

import datetime as _dt

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from county_hub import web as hub_web
from county_hub.ca import load_ca
from sync.engine.errors import ValidationError, VetsyncError
from sync.engine.replicate import MAX_SKEW_MS
from sync.store import dashboard_reads
from veterans.report import STALE_DAYS
from vetsync_web.app import require_admin
from vetsync_web.text import error_text, local_time

bp = Blueprint("stations", __name__, url_prefix="/stations")

CERT_STATE_LABELS = {"valid": "有效", "expired": "已过期", "revoked": "已吊销"}
REVOKED_REASON_LABELS = {"revoked": "县中心吊销", "reenrolled": "重新登记", "superseded": "已续期，被新证书取代"}
#: A skew beyond this is shown as a warning (the hub refuses rows stamped more than MAX_SKEW_MS ahead).
SKEW_WARN_MS = 60_000
#: ``county-hub token``'s default lifetime, hours, and its longest.
TOKEN_TTL_HOURS = 72
TOKEN_TTL_MAX = 24 * 30
CERT_DAYS_MAX = 730
#: A certificate expiring within this many days is shown as a warning.
CERT_WARN_DAYS = 30


def _parse_iso(value: str | None) -> _dt.datetime | None:
    if not value:
        return None
    try:
        moment = _dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=_dt.timezone.utc)


def _age(last_sync: str | None, now: _dt.datetime) -> dict:
    """The time since the last sync, in words, and whether it is stale (never, or more than STALE_DAYS days)."""
    last = _parse_iso(last_sync)
    if last is None:
        return {"text": "从未同步", "days": None, "stale": True}
    seconds = max(0, (now - last).total_seconds())
    days = int(seconds // 86400)
    if days:
        text = f"{days} 天"
    elif seconds >= 3600:
        text = f"{int(seconds // 3600)} 小时"
    else:
        text = f"{int(seconds // 60)} 分钟"
    return {"text": text, "days": days, "stale": days > STALE_DAYS}


def _skew(skew_ms: int | None) -> dict:
    """As ``county-hub stations`` shows it (``+1.5 秒``), with a tone."""
    if skew_ms is None:
        return {"text": "—", "tone": ""}
    tone = "bad" if abs(skew_ms) > MAX_SKEW_MS else ("warn" if abs(skew_ms) > SKEW_WARN_MS else "")
    return {"text": f"{skew_ms / 1000:+.1f} 秒", "tone": tone}


def _cert_tone(state: str, not_after: str | None, now: _dt.datetime) -> str:
    if state != "valid":
        return "bad"
    end = _parse_iso(not_after)
    return "warn" if end is not None and (end - now).days < CERT_WARN_DAYS else ""


def station_rows() -> list[dict]:
    """``registry.stations()`` with the refused edits, the age of the last sync and the shown texts."""
    page = hub_web.page()
    now = _dt.datetime.now(_dt.timezone.utc)
    refused = dashboard_reads.refused_by_station(page.store)
    out = []
    for r in page.registry.stations():
        out.append({
            **r,
            "refused": refused.get(r["station"], 0),
            "age": _age(r["last_sync"], now),
            "skew": _skew(r["skew_ms"]),
            "cert_state_label": CERT_STATE_LABELS.get(r["cert_state"], r["cert_state"]),
            "cert_tone": _cert_tone(r["cert_state"], r["cert_not_after"], now),
        })
    return out


def cert_rows() -> list[dict]:
    """``registry.certs()`` as ``county-hub certs`` shows them, newest first."""
    rows = []
    for c in hub_web.page().registry.certs():
        state = CERT_STATE_LABELS.get(c["state"], c["state"])
        if c["revoked_reason"]:
            state += f"（{REVOKED_REASON_LABELS.get(c['revoked_reason'], c['revoked_reason'])}）"
        rows.append({**c, "state_label": state})
    return rows[::-1]


def _render(status: int = 200, *, new_token: dict | None = None, token_error: str | None = None,
            form: dict | None = None, revoke_error: str | None = None):
    county = hub_web.page().store.meta("county") or ""
    return render_template(
        "stations/index.html", stations=station_rows(), certs=cert_rows(), county=county,
        is_admin=g.get("role") == "admin", new_token=new_token, token_error=token_error,
        form=form or {"station": "", "ttl": str(TOKEN_TTL_HOURS), "cert_days": "", "county_scope": False},
        revoke_error=revoke_error, stale_days=STALE_DAYS, ttl_max=TOKEN_TTL_MAX, cert_days_max=CERT_DAYS_MAX,
    ), status


@bp.route("/")
def index():
    return _render()[0]


def _token_form() -> tuple[dict, str, float, int | None, bool]:
    """The token form, checked as ``county-hub token``'s options are (the registry checks the rest)."""
    form = {
        "station": (request.form.get("station") or "").strip(),
        "ttl": (request.form.get("ttl") or "").strip() or str(TOKEN_TTL_HOURS),
        "cert_days": (request.form.get("cert_days") or "").strip(),
        "county_scope": request.form.get("county_scope") == "1",
    }
    if not form["station"]:
        raise ValidationError("请填写站点区划代码（镇 9 位、村 12 位）")
    try:
        ttl = float(form["ttl"])
    except ValueError:
        raise ValidationError(f"有效小时数 {form['ttl']} 不是数字") from None
    cert_days = None
    if form["cert_days"]:
        if not form["cert_days"].isdigit():
            raise ValidationError(f"证书有效天数 {form['cert_days']} 不是整数（1–{CERT_DAYS_MAX}）")
        cert_days = int(form["cert_days"])
    return form, form["station"], ttl, cert_days, form["county_scope"]


@bp.route("/token", methods=["POST"])
def token():
    require_admin()
    page = hub_web.page()
    form = None
    try:
        form, station, ttl, cert_days, county_scope = _token_form()
        text = page.registry.create_token(station, load_ca(page.home), ttl_hours=ttl, county_scope=county_scope,
                                          cert_days=cert_days, user=g.get("user"))
    except VetsyncError as exc:
        shown = form or {k: request.form.get(k, "") for k in ("station", "ttl", "cert_days")}
        shown.setdefault("county_scope", request.form.get("county_scope") == "1")
        return _render(400, token_error=error_text(exc), form=shown)
    expires = _dt.datetime.now(_dt.timezone.utc) + _dt.timedelta(hours=ttl)
    expires_ms = int(expires.timestamp() * 1000)
    return _render(new_token={"text": text, "station": station, "expires": local_time(expires_ms),
                              "cert_days": cert_days or CERT_DAYS_MAX})[0]


@bp.route("/revoke", methods=["POST"])
def revoke():
    require_admin()
    registry = hub_web.page().registry
    station = (request.form.get("station") or "").strip()
    serial = (request.form.get("serial") or "").strip()
    try:
        if bool(station) == bool(serial):
            raise ValidationError("请选择要吊销的站点（吊销其全部证书）或一张证书的序列号，二者选一")
        if station:
            n = registry.revoke(station, user=g.get("user"))
            flash(f"已吊销站点 {station} 的证书（{n} 张），该站下次连接即被拒绝。如需恢复，请重新发放登记令牌。", "ok")
        else:
            cert, done = registry.revoke_serial(serial, user=g.get("user"))
            if done:
                flash(f"已吊销站点 {cert['station']} 的证书 {cert['serial']}，用它的连接下次即被拒绝；该站的其他证书不受影响。", "ok")
            else:
                flash(f"站点 {cert['station']} 的证书 {cert['serial']} 早已吊销"
                      f"（{local_time(cert['revoked_at'])}，"
                      f"{REVOKED_REASON_LABELS.get(cert['revoked_reason'], cert['revoked_reason'])}），未作改动。", "ok")
    except VetsyncError as exc:
        return _render(400, revoke_error=error_text(exc))
    return redirect(url_for("stations.index"))
