"""Web page tests' helpers: a real station or hub home, its app, and a client
that logs in and sends the CSRF token the way the page's own script does
(the ``X-CSRFToken`` header, read from the last page's ``<meta name="csrf-token">``).

The app is the real one (:func:`station_node.web.create_app`,
:func:`county_hub.web.create_app`) over a real store, served through Flask's test
client with the ``Host`` the app answers; the browser tests (tests/test_web_browser.py)
serve the same app from real processes."""

from __future__ import annotations

import re
from pathlib import Path

from vetsync_web.accounts import Accounts

PASSWORD = "correct-horse-9"
_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


class WebClient:
    """Flask's test client, logged in, with the page's CSRF token on every POST."""

    def __init__(self, app):
        self.app = app
        self.client = app.test_client()
        self.token: str | None = None

    def _keep_token(self, response):
        m = _META.search(response.get_data(as_text=True)) if response.mimetype == "text/html" else None
        if m:
            self.token = m.group(1)
        return response

    def get(self, path: str, **kw):
        return self._keep_token(self.client.get(path, **kw))

    def post(self, path: str, data=None, *, htmx: bool = False, headers: dict | None = None, **kw):
        if self.token is None:
            self.get("/login")
        sent = {"X-CSRFToken": self.token or "", **({"HX-Request": "true"} if htmx else {}), **(headers or {})}
        return self._keep_token(self.client.post(path, data=data, headers=sent, **kw))

    def login(self, name: str, password: str = PASSWORD):
        self.get("/login")
        r = self.client.post("/login", data={"name": name, "password": password, "csrf_token": self.token})
        assert r.status_code == 302, r.get_data(as_text=True)[-500:]
        self.get("/", follow_redirects=True)
        return self


def add_account(home: Path, name: str, *, role: str, auto_login: bool = False, password: str = PASSWORD) -> None:
    with Accounts(home) as accounts:
        accounts.add(name, password, role=role, auto_login=auto_login)


def station_home(tmp_path: Path, station: str = "110101001001", *, clerk: str = "王芳") -> Path:
    """A station initialised offline, with one clerk account."""
    from station_node import home as home_mod

    home = tmp_path / f"station-{station}"
    home_mod.init_offline(home, station).close()
    add_account(home, clerk, role="clerk")
    return home


def station_client(home: Path, clerk: str = "王芳") -> WebClient:
    """The station's page (on port 80, so that Flask's test client's ``Host: localhost`` is the page's own), logged in."""
    from station_node.web import create_app

    return WebClient(create_app(home, host="127.0.0.1", port=80)).login(clerk)


def hub_home(tmp_path: Path, county: str = "110101", *, admin: str = "县管理员", viewer: str | None = "县查看员") -> Path:
    """A county hub initialised, with an admin account (and a viewer)."""
    from county_hub import home as hub_home_mod

    home = tmp_path / "hub"
    hub_home_mod.init_hub(home, county, "测试县退役军人服务中心", [])
    add_account(home, admin, role="admin")
    if viewer:
        add_account(home, viewer, role="viewer")
    return home


def hub_client(home: Path, name: str = "县管理员") -> WebClient:
    from county_hub.web import create_app

    return WebClient(create_app(home, host="127.0.0.1", port=80)).login(name)
