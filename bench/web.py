"""The ``web`` scenario (issue 13): the clerk's page at a station holding the
county's 20,000 veterans, and the county dashboard's report page, each served
by its real process (``station-node web``, ``county-hub web``) and asked over
one keep-alive HTTP connection, as a browser asks: the veteran list, a search
as you type (the htmx fragment), a record page and the 首页 at the station; the
report page at the hub. Median and p95 (nearest rank) per page, in ms."""

from __future__ import annotations

import http.client
import re
import select
import signal
import sqlite3
import statistics
import subprocess
import time
import urllib.parse
from pathlib import Path

from bench import env as E

__all__ = ["web", "STATION_PAGES", "PASSWORD"]

PASSWORD = "bench-password-1"
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
_LISTENING = re.compile(r"listening (http://\S+)")

#: Station pages timed, by figure name: (path, htmx request?)
STATION_PAGES = {
    "web_veteran_list": ("/veterans/", False),
    "web_search_as_you_type": ("/veterans/?q={query}", True),
    "web_search_pinyin": ("/veterans/?q={pinyin}", True),
    "web_record_page": ("/veterans/{veteran}", False),
    "web_home": ("/", False),
}


class Page:
    """A page's process and one logged-in keep-alive connection to it."""

    def __init__(self, args: list[str], env: dict):
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                     text=True, env=env)
        deadline = time.monotonic() + 60
        url = None
        while url is None and time.monotonic() < deadline:
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if ready:
                m = _LISTENING.search(self.proc.stdout.readline())
                url = m.group(1) if m else None
            if url is None and self.proc.poll() is not None:
                raise RuntimeError(f"{args[:2]} did not start: {self.proc.stderr.read()[-1000:]}")
        if url is None:
            self.stop()
            raise RuntimeError(f"{args[:2]} did not start in 60 s")
        parts = urllib.parse.urlsplit(url)
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
        self.host = f"{parts.hostname}:{parts.port}"
        self.cookie = ""

    def get(self, path: str, *, htmx: bool = False, body: dict | None = None) -> tuple[int, str]:
        headers = {"Host": self.host, "Cookie": self.cookie, **({"HX-Request": "true"} if htmx else {})}
        data = None
        if body is not None:
            data = urllib.parse.urlencode(body)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        self.conn.request("POST" if body is not None else "GET", path, body=data, headers=headers)
        r = self.conn.getresponse()
        text = r.read().decode("utf-8", "replace")
        cookie = r.getheader("Set-Cookie")
        if cookie:
            self.cookie = cookie.split(";", 1)[0]
        return r.status, text

    def login(self, name: str) -> None:
        _, text = self.get("/login")
        status, _ = self.get("/login", body={"csrf_token": _TOKEN.search(text).group(1), "name": name,
                                             "password": PASSWORD})
        if status != 302:
            raise RuntimeError(f"login refused ({status})")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def _time(page: Page, path: str, htmx: bool, n: int) -> tuple[list[float], int, int]:
    """n timings (ms) after two warm-ups, with the last status and body size."""
    status, size = 0, 0
    for _ in range(2):
        page.get(path, htmx=htmx)
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        status, text = page.get(path, htmx=htmx)
        samples.append((time.perf_counter() - t0) * 1000)
        size = len(text)
    return samples, status, size


def _p95(values: list[float]) -> float:
    import math

    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def _add_account(home: Path, name: str, role: str) -> None:
    from vetsync_web.accounts import Accounts

    with Accounts(home) as accounts:
        if accounts.get(name) is None:
            accounts.add(name, PASSWORD, role=role)


def web(b, runs: int) -> None:
    from station_node.home import init_offline, open_store
    from veterans.pinyin import name_key

    env = E.env_for_children()
    county = b.workdir / "web-county"
    init_offline(county, E.COUNTY).close()
    E.install_template(county, b.template)
    open_store(county).close()  # the check at open: made here, not timed
    _add_account(county, "基准经办人", "clerk")
    conn = sqlite3.connect(b.template)
    try:  # the veteran with the most visits (the longest record page), and a name to type
        veteran, visits = conn.execute(
            "SELECT veteran_id, count(*) AS n FROM visits GROUP BY veteran_id ORDER BY n DESC, veteran_id LIMIT 1"
        ).fetchone()
        name = conn.execute("SELECT name FROM veterans WHERE id = ?", (veteran,)).fetchone()[0]
    finally:
        conn.close()
    query, pinyin = name[:1], name_key(name)[1][:2]  # one character typed; two pinyin initials
    n = max(30, runs * 20)
    info: dict = {"veteran": veteran, "visits_of_veteran": visits, "query": query, "pinyin": pinyin, "samples": n,
                  "pages": {}}
    page = Page([str(E.BIN / "station-node"), "web", "--listen", "127.0.0.1:0", "--home", str(county)], env)
    try:
        page.login("基准经办人")
        for figure, (path, htmx) in STATION_PAGES.items():
            shown = path.format(veteran="ID", query=query, pinyin=pinyin)
            samples, status, size = _time(page, path.format(veteran=veteran, query=urllib.parse.quote(query),
                                                             pinyin=pinyin), htmx, n)
            if status != 200:
                b.problem(f"web {shown}: status {status}")
            info["pages"][figure] = {"path": shown, "bytes": size, "p95_ms": round(_p95(samples), 1)}
            b.log(f"  {shown}{' (htmx)' if htmx else ''}: median {statistics.median(samples):.1f} ms, "
                  f"p95 {_p95(samples):.1f} ms, {size:,} bytes")
            b.figure(figure, "ms", samples, "web", note=f"{shown}: {size} bytes")
            b.figure(f"{figure}_p95", "ms", [_p95(samples)], "web", note=f"p95 of {n}")
    finally:
        page.stop()

    # the dashboard's report page, at the hub the initial push filled
    if b.hub is not None:
        _add_account(b.hub.home, "基准管理员", "admin")
        hub_page = Page([str(E.BIN / "county-hub"), "web", "--listen", "127.0.0.1:0", "--home", str(b.hub.home)], env)
        try:
            hub_page.login("基准管理员")
            samples, status, size = _time(hub_page, "/report/", False, max(10, runs * 5))
            if status != 200:
                b.problem(f"web /report/ at the hub: status {status}")
            info["pages"]["web_hub_report"] = {"path": "/report/", "bytes": size, "p95_ms": round(_p95(samples), 1)}
            b.log(f"  hub /report/: median {statistics.median(samples):.1f} ms, p95 {_p95(samples):.1f} ms, {size:,} bytes")
            b.figure("web_hub_report", "ms", samples, "web", note=f"/report/ at the county hub: {size} bytes")
            b.figure("web_hub_report_p95", "ms", [_p95(samples)], "web")
        finally:
            hub_page.stop()
    b.info["web"] = info
