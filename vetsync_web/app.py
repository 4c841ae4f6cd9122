"""The frame both web pages are built in (the station's clerk page, the
county's dashboard): a Flask app with the security a page on 127.0.0.1 needs,
the login, the layout and the vendored assets.

A page on loopback is reachable by every web site the clerk opens, so:

- a request whose ``Host`` is not the address served is refused (DNS rebinding);
- every POST carries a CSRF token (Flask-WTF's ``CSRFProtect``: a hidden field
  ``csrf_token`` in forms, the ``X-CSRFToken`` header on htmx requests, which
  ``static/app.js`` adds from the page's ``<meta name="csrf-token">``);
- the session cookie is ``HttpOnly`` and ``SameSite=Strict``, named per page
  (the station's and the county's pages may run on one PC, and cookies do not
  tell ports apart), and expires after :data:`IDLE_MINUTES` without a request;
- every answer carries a strict Content-Security-Policy (scripts and styles only
  from this page's own files, no inline script, no frames) and ``nosniff``;
- Jinja2 escapes everything shown (names and summaries come from other stations).

Every page needs a login except the login page and the assets. A page's routes
come from its own blueprint; :func:`make_app` adds the common parts.
"""

from __future__ import annotations

import ipaddress
import secrets
import time
from pathlib import Path
from typing import Callable

from flask import Blueprint, Flask, g, redirect, render_template, request, session, url_for
from flask_wtf.csrf import CSRFError, CSRFProtect

from sync.engine.errors import VetsyncError
from vetsync_web import accounts as accounts_mod
from vetsync_web import text

__all__ = ["make_app", "CSP", "IDLE_MINUTES", "MAX_UPLOAD_BYTES", "is_loopback", "allowed_hosts",
           "current_user", "require_admin", "AuditHook"]

#: A session ends after this long without a request, and after MAX_SESSION_HOURS in any case.
IDLE_MINUTES = 60
MAX_SESSION_HOURS = 12
#: The largest upload (a roster) and request body.
MAX_UPLOAD_BYTES = 32 * 2**20

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")

AuditHook = Callable[[str, str | None, dict], None]  # (kind, account name, detail)

_HERE = Path(__file__).parent


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def allowed_hosts(host: str, port: int) -> frozenset[str]:
    """The ``Host`` headers a page served at host:port answers: that address, and on
    loopback also ``localhost`` and ``127.0.0.1`` with the port."""
    names = {host}
    if is_loopback(host):
        names |= {"localhost", "127.0.0.1"}
    shown = {f"[{n}]" if ":" in n and not n.startswith("[") else n for n in names}
    hosts = {f"{n}:{port}" for n in shown}
    if port == 80:  # HTTP's own port may be left out of Host
        hosts |= shown
    return frozenset(hosts)


def current_user() -> str | None:
    return g.get("user")


def require_admin() -> None:
    """Refuse a change to a viewer (a 403 page in words)."""
    if g.get("role") not in ("admin", "clerk"):
        from flask import abort

        abort(403)


def _common_blueprint() -> Blueprint:
    return Blueprint("common", __name__, template_folder=str(_HERE / "templates"),
                     static_folder=str(_HERE / "static"), static_url_path="/static")


def make_app(*, name: str, title: str, home: Path, cookie_name: str, hosts: frozenset[str],
             accounts: accounts_mod.Accounts, nav: list[tuple[str, str]], loopback: bool,
             audit: AuditHook | None = None, idle_minutes: float = IDLE_MINUTES) -> Flask:
    """The app: ``nav`` lists (endpoint, label) for the top bar; ``audit`` is told of
    logins, failures and logouts (the dashboard writes them to ``county-hub audit``);
    ``loopback``: the page is served on 127.0.0.1 only (an account made for it may
    then log in by itself)."""
    app = Flask(name, static_folder=None)
    app.config.update(
        SECRET_KEY=_secret_key(home, cookie_name),
        SESSION_COOKIE_NAME=cookie_name,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_REFRESH_EACH_REQUEST=True,
        PERMANENT_SESSION_LIFETIME=int(idle_minutes * 60),
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
        WTF_CSRF_SSL_STRICT=False,
        MAX_CONTENT_LENGTH=MAX_UPLOAD_BYTES,
        TEMPLATES_AUTO_RELOAD=False,
    )
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    text.install_filters(app)
    app.register_blueprint(_common_blueprint())
    CSRFProtect(app)
    audit = audit or (lambda *a: None)
    app.extensions["vetsync"] = {"accounts": accounts, "audit": audit, "title": title,
                                 "nav": nav, "loopback": loopback}
    open_endpoints = {"login", "common.static", "logout", "favicon"}

    @app.before_request
    def check_host_and_login():
        if request.host not in hosts:
            return _plain(400, "请求的地址与本页面的地址不符，已拒绝（防 DNS 重绑定）。请用本机地址打开页面。")
        g.user = g.role = None
        if request.endpoint in open_endpoints:
            return None
        user = session.get("user")
        now = time.time()
        if user and now - session.get("login_at", 0) > MAX_SESSION_HOURS * 3600:
            session.clear()
            user = None
        account = accounts.get(user) if user else None
        if account is None and loopback:
            auto = accounts.auto_login_account()
            if auto is not None:
                _start_session(auto.name)
                audit("login", auto.name, {"auto": True, "remote": request.remote_addr})
                account = auto
        if account is None:
            if user:  # a session of an account gone (removed, or too old): ended; an anonymous one keeps its CSRF token
                session.pop("user", None)
                session.pop("login_at", None)
            if request.headers.get("HX-Request"):
                return "", 401, {"HX-Redirect": url_for("login", next=request.full_path.rstrip("?"))}
            return redirect(url_for("login", next=request.full_path.rstrip("?") if request.method == "GET" else None))
        session.permanent = True
        g.user, g.role = account.name, account.role
        return None

    @app.after_request
    def security_headers(response):
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
        response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
        if request.endpoint != "common.static":
            response.headers["Cache-Control"] = "no-store"
        return response

    @app.route("/login", methods=["GET", "POST"])
    def login():
        error = None
        name = ""
        if request.method == "POST":
            name = (request.form.get("name") or "").strip()
            try:
                account = accounts.login(name, request.form.get("password") or "")
            except accounts_mod.LoginRefused as exc:
                error = str(exc)
                audit("login_failed", name[:accounts_mod.MAX_NAME] or None, {"remote": request.remote_addr,
                                                                             "reason": error})
            else:
                _start_session(account.name)
                audit("login", account.name, {"remote": request.remote_addr})
                return redirect(_safe_next(request.args.get("next")))
        return render_template("login.html", error=error, name=name), (401 if error else 200)

    @app.route("/favicon.ico")
    def favicon():  # browsers ask for it unasked; an answer without a session
        return "", 204

    @app.route("/logout", methods=["POST"])
    def logout():
        who = session.get("user")
        session.clear()
        if who:
            audit("logout", who, {})
        return redirect(url_for("login"))

    @app.errorhandler(CSRFError)
    def csrf_refused(exc):
        return _plain(400, "表单已过期或来源不明（缺少 CSRF 令牌），已拒绝。请刷新页面后重试。")

    @app.errorhandler(403)
    def forbidden(exc):
        return _plain(403, "只读账号不能修改，请用管理员账号登录。")

    @app.errorhandler(404)
    def not_found(exc):
        return _plain(404, "找不到这个页面或记录。")

    @app.errorhandler(413)
    def too_large(exc):
        return _plain(413, f"文件太大：最大 {MAX_UPLOAD_BYTES // 2**20} MB。")

    @app.errorhandler(VetsyncError)
    def refused(exc):
        return _plain(400, text.error_text(exc))

    @app.errorhandler(500)
    def broken(exc):
        return _plain(500, "页面出错了，操作没有完成（数据未改动）。请重试；仍不行请联系县中心。")

    @app.context_processor
    def frame():
        from flask_wtf.csrf import generate_csrf

        return {"app_title": title, "nav": nav, "user": g.get("user"), "role": g.get("role"),
                "csrf_token": generate_csrf}

    return app


def _start_session(name: str) -> None:
    session.clear()
    session["user"] = name
    session["login_at"] = time.time()
    session.permanent = True


def _safe_next(target: str | None) -> str:
    """Only a path of this page (never another site) after a login."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def _plain(status: int, message: str):
    return render_template("message.html", message=message, status=status), status


def _secret_key(home: Path, cookie_name: str) -> bytes:
    """The key that signs the session cookie: made once, kept in the home (0600)."""
    path = Path(home) / f"web-{cookie_name}.key"
    try:
        key = path.read_bytes()
        if len(key) >= 32:
            return key
    except FileNotFoundError:
        pass
    key = secrets.token_bytes(32)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(".tmp")
    tmp.touch(mode=0o600)
    tmp.chmod(0o600)
    tmp.write_bytes(key)
    tmp.replace(path)
    return key

