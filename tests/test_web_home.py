"""The station page's 首页 and its 同步 (station_node.web.home, sync_runner), and
``station-node daemon --web`` (the page beside the sync loop in one process).

Through the real app over a real store (tests/webapp.py). A station with a
certificate of a throwaway county CA (made in process, as tests/test_renewal.py
does) and a hub address where nothing listens gives the session's real error
path; a real enrolled station against a real hub is the browser tests' part.
"""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from county_hub import ca as hubca
from station_node import home as home_mod
from station_node import identity
from station_node.web.sync_runner import LAST_SYNC_META, runner
from sync.engine.replicate import SyncReport
from webapp import station_client, station_home

STATION = "110101001001"
ROOT = Path(__file__).resolve().parent.parent


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def networked_home(tmp_path: Path) -> Path:
    """A station with a certificate of a county CA, its hub at an address where nothing listens."""
    home = station_home(tmp_path, STATION)
    ca_home = tmp_path / "county-ca"
    hubca.create_ca("110101", "测试县", ca_home)
    ca = hubca.load_ca(ca_home)
    csr = identity.make_key_and_csr(STATION, home)
    pem, _, _ = hubca.sign_station_csr(ca, csr, STATION)
    identity.store_certificate(home, pem, ca.cert_pem, expected_ca_fp=ca.fingerprint, expected_station=STATION)
    store = home_mod.open_store(home)
    try:
        with store.transaction():
            store.set_meta("hub", f"127.0.0.1:{_closed_port()}")
            store.set_meta("mode", "networked")
    finally:
        store.close()
    return home


def _page(client):
    return client.app.extensions["station"]


def _text(response) -> str:
    return response.get_data(as_text=True)


def _add_veteran(client, name: str = "张三") -> None:
    from station_node import records
    from veterans.values import id_number_check_digit

    body = "11010119650312001"
    records.add_veteran(_page(client).store, {"name": name, "id_number": body + id_number_check_digit(body),
                                              "area": STATION})


# --------------------------------------------------------------------------- the page


def test_home_shows_the_station_its_pending_changes_and_that_it_is_offline(tmp_path):
    client = station_client(station_home(tmp_path, STATION))
    body = _text(client.get("/"))
    assert re.search(r'id="status-station">110101001001<', body)
    assert re.search(r'id="status-pending">0 条<', body)
    assert re.search(r'id="status-hub">离线<', body)
    assert re.search(r'id="status-cert">无<', body)
    assert re.search(r'id="status-rejected">0 条<', body)
    assert "从未同步" in body
    _add_veteran(client)
    body = _text(client.get("/"))
    assert re.search(r'id="status-pending">1 条<', body), "a new record counts as an unpushed change"
    # a write by another process (the CLI beside the page) shows at the next load too
    from station_node import records

    other = home_mod.open_store(_page(client).home)
    try:
        body17 = "11010119700101002"
        from veterans.values import id_number_check_digit

        records.add_veteran(other, {"name": "王五", "id_number": body17 + id_number_check_digit(body17), "area": STATION})
    finally:
        other.close()
    assert re.search(r'id="status-pending">2 条<', _text(client.get("/")))


def test_an_offline_station_has_no_sync_button_and_a_sync_is_refused_in_words(tmp_path):
    client = station_client(station_home(tmp_path, STATION))
    body = _text(client.get("/"))
    assert 'id="sync-button"' not in body
    assert 'id="sync-offline"' in body and "不能同步" in body
    r = client.post("/sync", htmx=True)
    assert r.status_code == 400
    assert re.search(r'id="sync-error"[^>]*>[^<]*离线', _text(r))
    assert "hx-trigger" not in _text(r)
    r = client.post("/sync")
    assert r.status_code == 400 and "不能同步" in _text(r)
    assert runner(_page(client)).state().status == "idle", "nothing was started"


def test_a_sync_without_the_csrf_token_is_refused(tmp_path):
    client = station_client(networked_home(tmp_path))
    r = client.client.post("/sync", headers={"HX-Request": "true"})
    assert r.status_code == 400 and "CSRF" in _text(r)
    assert runner(_page(client)).state().status == "idle"


def test_home_of_a_networked_station_shows_the_hub_the_certificate_and_the_rejected_edits(tmp_path):
    home = networked_home(tmp_path)
    client = station_client(home)
    store = _page(client).store
    _add_veteran(client, "李四<b>")
    from station_node import records

    vet = next(iter(records.veteran_page(store).rows))
    store.reject("veterans", vet["id"], "县中心已有同一身份证号的人员")
    body = _text(client.get("/"))
    assert 'id="sync-button"' in body and 'id="sync-form"' in body
    assert 'id="sync-scheduled"' not in body, "no daemon behind this page"
    assert re.search(r'id="status-hub">127\.0\.0\.1:\d+<', body)
    assert re.search(r'id="status-cert">剩 \d+ 天<', body)
    assert re.search(r'id="status-rejected">1 条<', body)
    rows = re.findall(r'<tr data-testid="rejected-row">.*?</tr>', body, re.S)
    assert len(rows) == 1 and "县中心已有同一身份证号的人员" in rows[0]
    assert "李四&lt;b&gt;" in rows[0] and "李四<b>" not in body, "a name is shown as text"


def test_a_sync_against_a_hub_that_does_not_answer_shows_its_error_in_words(tmp_path):
    client = station_client(networked_home(tmp_path))
    _add_veteran(client)
    r = client.post("/sync", htmx=True)
    assert r.status_code == 200
    first = _text(r)
    assert 'id="sync-progress"' in first
    the_runner = runner(_page(client))
    state = the_runner.wait(30)
    assert state.status == "failed", state
    r = client.get("/sync/progress", headers={"HX-Request": "true"})
    body = _text(r)
    m = re.search(r'<p id="sync-error"[^>]*>([^<]+)</p>', body)
    assert m, body
    words = m.group(1)
    assert words.startswith("同步失败：") and "县中心" in words
    assert not re.search(r"[A-Za-z]{6,}", words.replace("station-node", "")), f"English in the clerk's line: {words}"
    assert "hx-trigger" not in body, "polling stops once the session has ended"
    assert 'id="home-cards" hx-swap-oob="true"' in body, "the cards come up to date with the last poll"
    assert re.search(r'id="status-pending">1 条<', body), "the change is still waiting to be pushed"
    # the page after a restart still says how the last session went
    kept = json.loads(_page(client).store.meta(LAST_SYNC_META))
    assert kept["ok"] is False and kept["error"] == words.removeprefix("同步失败：")
    again = station_client(Path(_page(client).home))
    assert re.search(r'id="status-last-result" class="bad">失败：', _text(again.get("/")))


def test_the_progress_fragment_polls_while_a_session_runs_and_shows_rows_then_the_result(tmp_path):
    """The runner's session replaced by one that reports progress and waits for the test (its
    error path is the real session's above): the fragment while it runs and after."""
    client = station_client(networked_home(tmp_path))
    the_runner = runner(_page(client))
    go_on = threading.Event()

    def session(*, progress):
        progress("push", 120)
        progress("push", 30)
        progress("pull", 7)
        assert go_on.wait(10)
        return SyncReport(pushed=150, pulled=7, evicted=1, rejected=1, conflicts=2, seconds=0.5,
                          rejections=[{"table": "veterans", "id": "v1", "reason": "不在本站范围"}])

    the_runner.session = session
    r = client.post("/sync", htmx=True)
    assert r.status_code == 200
    deadline = time.monotonic() + 10
    while runner(_page(client)).state().pulled_rows < 7 and time.monotonic() < deadline:
        time.sleep(0.01)
    body = _text(client.get("/sync/progress", headers={"HX-Request": "true"}))
    assert 'hx-trigger="every 500ms"' in body and 'hx-get="/sync/progress"' in body
    assert re.search(r'id="sync-pushed">150<', body) and re.search(r'id="sync-pulled">7<', body)
    assert 'id="sync-bar"' in body
    # a second press while it runs starts nothing new
    again = _text(client.post("/sync", htmx=True))
    assert re.search(r'id="sync-pushed">150<', again)
    go_on.set()
    assert the_runner.wait(10).status == "done"
    body = _text(client.get("/sync/progress", headers={"HX-Request": "true"}))
    assert "hx-trigger" not in body
    m = re.search(r'id="sync-result"[^>]*>([^<]+)<', body)
    assert m and m.group(1).startswith("同步完成：上传 150 条，下载 7 条，移出 1 条，被拒 1 条，新冲突 2 条")
    assert "不在本站范围" in body
    assert re.search(r'id="status-last-result" class="ok">同步完成', _text(client.get("/")))


def test_a_sync_without_htmx_redirects_to_the_page_which_shows_it(tmp_path):
    client = station_client(networked_home(tmp_path))
    r = client.post("/sync")
    assert r.status_code == 303 and r.headers["Location"].endswith("/")
    runner(_page(client)).wait(30)
    body = _text(client.get("/"))
    assert 'id="sync-error"' in body


# --------------------------------------------------------------------------- daemon --web


def _start_daemon(home: Path, *extra: str) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "station_node", "--home", str(home), "daemon", "--web", "--listen",
                             "127.0.0.1:0", "--interval", "3600", *extra], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    m = re.search(r"listening (http://\S+)", line)
    if not m:
        proc.kill()
        raise AssertionError(f"no listening line: {line!r} {proc.stderr.read()}")
    return proc, m.group(1)


@pytest.mark.parametrize("kind", ["offline", "unreachable"])
def test_daemon_web_serves_the_page_and_stops_on_sigterm(tmp_path, kind):
    home = station_home(tmp_path, STATION) if kind == "offline" else networked_home(tmp_path)
    proc, url = _start_daemon(home)
    try:
        with urllib.request.urlopen(f"{url}/login", timeout=10) as r:
            assert r.status == 200 and "登录" in r.read().decode()
        held = socket.create_connection((url.split("//")[1].split(":")[0], int(url.rsplit(":", 1)[1])))
        held.sendall(b"GET /login HTTP/1.1\r\nHost: " + url.split("//")[1].encode() + b"\r\n\r\n")  # kept alive
        time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=8) == 0, proc.stderr.read()
        held.close()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    err = proc.stderr.read()
    assert "本站网页已停止" in err
    if kind == "unreachable":
        assert "同步失败（第 1 次）" in err, err
    else:
        assert "不做后台同步" in err


def test_daemon_web_needs_an_account_first(tmp_path):
    home = tmp_path / "bare"
    home_mod.init_offline(home, STATION).close()
    proc = subprocess.run([sys.executable, "-m", "station_node", "--home", str(home), "daemon", "--web", "--listen",
                           "127.0.0.1:0"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0 and "user add" in proc.stderr and "listening" not in proc.stdout


class _Browser:
    """Enough of a browser for the page served by a process: cookies, the CSRF token of the last page."""

    def __init__(self, url: str):
        import http.cookiejar

        self.url = url
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        self.token = ""

    def get(self, path: str, headers: dict | None = None) -> str:
        with self.opener.open(urllib.request.Request(self.url + path, headers=headers or {}), timeout=10) as r:
            body = r.read().decode()
        m = re.search(r'<meta name="csrf-token" content="([^"]+)"', body)
        self.token = m.group(1) if m else self.token
        return body

    def post(self, path: str, data: dict | None = None, headers: dict | None = None) -> str:
        from urllib.parse import urlencode

        sent = {"X-CSRFToken": self.token, **(headers or {})}
        req = urllib.request.Request(self.url + path, data=urlencode(data or {}).encode(), headers=sent, method="POST")
        with self.opener.open(req, timeout=10) as r:
            return r.read().decode()


def _daemon_backing_off(home: Path, at_least: float) -> tuple[subprocess.Popen, str, list[str]]:
    """A ``daemon --web`` whose first session failed and which waits at least ``at_least``
    seconds before the next (the backoff is random: started again, a few times at most,
    until it is long enough to tell a session the button asked for from the schedule's)."""
    for _ in range(8):
        proc, url = _start_daemon(home)
        lines: list[str] = []
        threading.Thread(target=lambda: lines.extend(iter(proc.stderr.readline, "")), daemon=True).start()
        deadline = time.monotonic() + 15
        wait = None
        while wait is None and time.monotonic() < deadline:
            m = next((re.search(r"同步失败（第 1 次），(\d+) 秒后重试", line) for line in lines
                      if "第 1 次" in line), None)
            wait = float(m.group(1)) if m else None
            time.sleep(0.05)
        assert wait is not None, lines
        if wait >= at_least:
            return proc, url, lines
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=8)
    raise AssertionError("the backoff was short eight times running")


def test_daemon_web_the_button_wakes_the_loop_instead_of_racing_it(tmp_path):
    from webapp import PASSWORD

    proc, url, lines = _daemon_backing_off(networked_home(tmp_path), at_least=20)
    try:
        browser = _Browser(url)
        browser.get("/login")
        browser.post("/login", {"name": "王芳", "password": PASSWORD, "csrf_token": browser.token})
        home_page = browser.get("/")
        assert 'id="sync-button"' in home_page and 'id="sync-scheduled"' in home_page
        body = browser.get("/sync/progress", {"HX-Request": "true"})
        assert 'data-status="failed"' in body and 'id="sync-error"' in body and "县中心" in body, body
        assert "hx-trigger" not in body
        # the loop backs off for 20 s or more; the button has it sync at once, in the loop
        pressed = time.monotonic()
        first = browser.post("/sync", headers={"HX-Request": "true"})
        assert 'id="sync-progress"' in first and 'hx-trigger="every 500ms"' in first
        while time.monotonic() - pressed < 10:
            body = browser.get("/sync/progress", {"HX-Request": "true"})
            if "hx-trigger" not in body:
                break
            time.sleep(0.1)
        assert time.monotonic() - pressed < 10 and 'data-status="failed"' in body
        assert "（王芳 发起）" in body, "the loop's session is the one the button asked for"
        logged = time.monotonic() + 5  # the loop logs the session just after the page shows it
        while not any("同步失败（第 2 次）" in line for line in lines) and time.monotonic() < logged:
            time.sleep(0.05)
        assert any("同步失败（第 2 次）" in line for line in lines), lines
        assert not any("第 3 次" in line for line in lines), "one session per press, not one of its own beside it"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=8) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_daemon_web_keeps_the_page_after_a_permanent_error_and_says_so_at_exit(tmp_path):
    """A hub address but no certificate (NotEnrolled: no retry mends it): the loop stops, the
    page stays (the clerk's work does not need the hub; the button now runs a session itself),
    and the exit status at the stop signal is still the daemon's permanent one."""
    from station_node.daemon import EXIT_PERMANENT
    from webapp import PASSWORD

    home = station_home(tmp_path, STATION)
    store = home_mod.open_store(home)
    with store.transaction():
        store.set_meta("hub", f"127.0.0.1:{_closed_port()}")
    store.close()
    proc, url = _start_daemon(home)
    try:
        lines: list[str] = []
        threading.Thread(target=lambda: lines.extend(iter(proc.stderr.readline, "")), daemon=True).start()
        deadline = time.monotonic() + 15
        while not any("网页仍在运行" in line for line in lines) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert any("后台同步停止，须人工处理" in line for line in lines), lines
        browser = _Browser(url)
        browser.get("/login")
        browser.post("/login", {"name": "王芳", "password": PASSWORD, "csrf_token": browser.token})
        body = browser.get("/")
        assert 'id="status-last-result" class="bad">失败：' in body and "证书" in body
        browser.post("/sync", headers={"HX-Request": "true"})
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            body = browser.get("/sync/progress", {"HX-Request": "true"})
            if "hx-trigger" not in body:
                break
            time.sleep(0.1)
        assert 'data-status="failed"' in body and "（王芳 发起）" in body, "the button's own session ran"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=8) == EXIT_PERMANENT
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
