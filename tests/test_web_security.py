"""The security of a page on 127.0.0.1 (issue 13), against real ``station-node web``
and ``county-hub web`` processes over real sockets: a foreign ``Host`` (DNS
rebinding), a missing CSRF token, no login, a locked account, markup shown
escaped, the cookie's and the answers' headers, and binding beyond loopback.
A few points of the frame itself (an expired session, no auto-login off
loopback) through Flask's test client over a real home."""

from __future__ import annotations

import http.client
import re
import subprocess
import time
import urllib.parse

import pytest

from browser import BIN, hub_web, station_web
from webapp import PASSWORD, add_account, hub_home, station_client, station_home

pytestmark = pytest.mark.e2e

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


class Raw:
    """HTTP/1.1 over a socket, with the cookie kept and every header under the test's control."""

    def __init__(self, url: str):
        parts = urllib.parse.urlsplit(url)
        self.host, self.port = parts.hostname, parts.port
        self.cookie: str | None = None

    def request(self, method: str, path: str, *, body: dict | None = None, headers: dict | None = None,
                host: str | None = None):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        sent = {"Host": host or f"{self.host}:{self.port}", **(headers or {})}
        if self.cookie:
            sent["Cookie"] = self.cookie
        data = None
        if body is not None:
            data = urllib.parse.urlencode(body)
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=data, headers=sent)
        r = conn.getresponse()
        text = r.read().decode("utf-8", "replace")
        set_cookie = r.getheader("Set-Cookie")
        if set_cookie:
            self.cookie = set_cookie.split(";", 1)[0]
        conn.close()
        return r, text, set_cookie

    def token(self) -> str:
        _, text, _ = self.request("GET", "/login")
        return _TOKEN.search(text).group(1)

    def login(self, name: str, password: str):
        return self.request("POST", "/login", body={"csrf_token": self.token(), "name": name, "password": password})


@pytest.fixture(scope="module")
def station_page(tmp_path_factory):
    home = station_home(tmp_path_factory.mktemp("sec"), clerk="王芳")
    proc = station_web(home)
    yield home, proc.url
    assert proc.stop() == 0


@pytest.fixture(scope="module")
def hub_page(tmp_path_factory):
    home = hub_home(tmp_path_factory.mktemp("sechub"))
    proc = hub_web(home)
    yield home, proc.url
    assert proc.stop() == 0


def test_a_foreign_host_is_refused_before_anything_else(station_page):
    _, url = station_page
    raw = Raw(url)
    for host in ("evil.example", f"evil.example:{raw.port}", "127.0.0.1:1", f"localhost.evil.example:{raw.port}"):
        r, text, _ = raw.request("GET", "/login", host=host)
        assert r.status == 400, host
        assert "DNS 重绑定" in text
    r, _, _ = raw.request("GET", "/login", host=f"localhost:{raw.port}")
    assert r.status == 200


def test_no_login_no_page(station_page):
    _, url = station_page
    raw = Raw(url)
    for path in ("/", "/veterans/", "/petitions/", "/conflicts/", "/roster/", "/report/"):
        r, _, _ = raw.request("GET", path)
        assert r.status == 302 and r.getheader("Location").startswith("/login"), path
    r, _, _ = raw.request("GET", "/veterans/", headers={"HX-Request": "true"})
    assert r.status == 401 and r.getheader("HX-Redirect").startswith("/login")


def test_a_post_without_the_csrf_token_is_refused(station_page):
    _, url = station_page
    raw = Raw(url)
    raw.token()  # a session cookie, but the form without its token
    r, text, _ = raw.request("POST", "/login", body={"name": "王芳", "password": PASSWORD})
    assert r.status == 400 and "CSRF" in text
    r, text, _ = raw.request("POST", "/login", body={"name": "王芳", "password": PASSWORD, "csrf_token": "forged"})
    assert r.status == 400 and "CSRF" in text
    r, _, _ = raw.login("王芳", PASSWORD)
    assert r.status == 302
    for path in ("/logout",):
        r, text, _ = raw.request("POST", path, body={"name": "x"})
        assert r.status == 400 and "CSRF" in text, path


def test_cookie_and_headers(station_page):
    _, url = station_page
    raw = Raw(url)
    raw.token()
    r, _, cookie = raw.login("王芳", PASSWORD)
    assert r.status == 302 and cookie
    flags = {part.strip().lower() for part in cookie.split(";")}
    assert "httponly" in flags and "samesite=strict" in flags
    assert cookie.startswith("vetsync_station=")
    r, _, _ = raw.request("GET", "/")
    csp = r.getheader("Content-Security-Policy")
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert r.getheader("X-Content-Type-Options") == "nosniff"
    assert r.getheader("Cache-Control") == "no-store"


def test_markup_is_shown_as_text(station_page):
    _, url = station_page
    raw = Raw(url)
    name = '<img src=x onerror="alert(1)">'
    r, text, _ = raw.login(name, "wrong-password")
    assert r.status == 401
    assert "&lt;img src=x onerror=" in text and "<img src=x" not in text


def test_five_wrong_passwords_lock_the_account_and_the_hub_audits_each(hub_page):
    home, url = hub_page
    add_account(home, "被锁者", role="viewer")
    raw = Raw(url)
    for n in range(5):
        r, text, _ = raw.login("被锁者", f"wrong-{n}")
        assert r.status == 401
    assert "已锁定" in text
    r, text, _ = raw.login("被锁者", PASSWORD)  # the right password, too late
    assert r.status == 401 and "已锁定" in text
    r, _, _ = raw.request("GET", "/stations/")
    assert r.status == 302  # not logged in
    # another account is not locked by it
    r, _, _ = Raw(url).login("县管理员", PASSWORD)
    assert r.status == 302
    audit = subprocess.run([str(BIN / "county-hub"), "audit", "--json", "--home", str(home)], capture_output=True,
                           text=True, check=True).stdout
    import json

    entries = json.loads(audit)
    failures = [e for e in entries if e["kind"] == "web_login_failed" and e["detail"].get("user") == "被锁者"]
    assert len(failures) == 6
    assert any(e["kind"] == "web_login" and e["detail"].get("user") == "县管理员" for e in entries)


def test_the_dashboard_needs_a_login_and_refuses_a_foreign_host(hub_page):
    _, url = hub_page
    raw = Raw(url)
    r, _, _ = raw.request("GET", "/stations/")
    assert r.status == 302 and r.getheader("Location").startswith("/login")
    r, _, _ = raw.request("GET", "/login", host="attacker.example")
    assert r.status == 400


def test_binding_beyond_loopback_needs_a_flag(tmp_path):
    home = station_home(tmp_path)
    for listen in ("0.0.0.0:0", "192.0.2.10:0"):
        proc = subprocess.run([str(BIN / "station-node"), "web", "--listen", listen, "--home", str(home)],
                              capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
        assert proc.returncode == 1, proc.stderr
        assert proc.stderr.startswith("错误：") and len(proc.stderr.strip().splitlines()) == 1


def test_a_page_without_accounts_does_not_start(tmp_path):
    from station_node import home as home_mod

    home = tmp_path / "bare"
    home_mod.init_offline(home, "110101001001").close()
    proc = subprocess.run([str(BIN / "station-node"), "web", "--listen", "127.0.0.1:0", "--home", str(home)],
                          capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert proc.returncode == 1 and "user add" in proc.stderr


def test_auto_login_only_on_loopback_and_only_for_a_lone_account(tmp_path):
    from station_node.web import create_app

    home = tmp_path / "auto"
    from station_node import home as home_mod

    home_mod.init_offline(home, "110101001001").close()
    add_account(home, "村干部", role="clerk", auto_login=True)
    local = create_app(home, host="127.0.0.1", port=80).test_client()
    r = local.get("/")
    assert r.status_code == 200 and "村干部" in r.get_data(as_text=True)
    remote = create_app(home, host="192.0.2.10", port=80).test_client()
    r = remote.get("/", headers={"Host": "192.0.2.10"})
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    add_account(home, "第二人", role="clerk")
    again = create_app(home, host="127.0.0.1", port=80).test_client()
    assert again.get("/").status_code == 302


def test_an_idle_session_expires(tmp_path):
    client = station_client(station_home(tmp_path))
    client.app.config["PERMANENT_SESSION_LIFETIME"] = 1
    assert client.get("/").status_code == 200
    time.sleep(2.2)
    r = client.get("/")
    assert r.status_code == 302 and "/login" in r.headers["Location"]
