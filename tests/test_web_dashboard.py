"""The county dashboard's 网点, 信访 and 报表 (county_hub.web.stations, petitions,
report) through the real app over a real hub home (tests/webapp.py), and the SVG
charts (vetsync_web.charts) on plain numbers.

Stations are enrolled as ``county-hub token`` and a station's ``init`` do it (a
token, a CSR made here, ``Registry.enroll``); rows are written into the hub's
store as the hub's own writes; the figures a page shows are compared with what
``veterans.report.build_report`` computes over a store opened separately, and
with counts known by construction."""

from __future__ import annotations

import datetime as dt
import html
import io
import re
from pathlib import Path

import openpyxl
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from county_hub.ca import load_ca
from county_hub.home import open_hub
from county_hub.web import stations as stations_page
from veterans.report import build_report
from veterans.values import id_number_check_digit
from vetsync_web.charts import Series, bar_chart
from webapp import hub_client, hub_home

COUNTY = "110101"
TOWN = "110101001"
TOWN2 = "110101002"
VILLAGE = "110101001001"
VILLAGE2 = "110101001002"
VILLAGE3 = "110101002001"
TODAY = dt.date.today()


@pytest.fixture
def home(tmp_path) -> Path:
    return hub_home(tmp_path, COUNTY)


def _csr(station: str) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    return (x509.CertificateSigningRequestBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, station)]))
            .sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM))


def enroll(home: Path, station: str, token: str | None = None) -> str:
    """Enroll ``station`` (with ``token``, or a fresh one as ``county-hub token`` makes); returns the serial."""
    store, registry = open_hub(home)
    try:
        token = token or registry.create_token(station, load_ca(home))
        cert_pem, _ = registry.enroll(token, _csr(station), load_ca(home))
        return f"{x509.load_pem_x509_certificate(cert_pem).serial_number:x}"
    finally:
        store.close()


def audit_log(home: Path) -> list[dict]:
    store, registry = open_hub(home)
    try:
        return registry.audit_log()
    finally:
        store.close()


def registry_stations(home: Path) -> dict[str, dict]:
    store, registry = open_hub(home)
    try:
        return {s["station"]: s for s in registry.stations()}
    finally:
        store.close()


def text_of(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", fragment)).strip()


def rows_with(page: str, testid: str, attr: str) -> dict[str, str]:
    """``{attr value: the row's markup}`` of the rows with this ``data-testid``."""
    return {m.group(1): m.group(2) for m in
            re.finditer(rf'<tr data-testid="{testid}" {attr}="([^"]+)"[^>]*>(.*?)</tr>', page, re.S)}


def cell(row: str, key: str) -> str:
    m = re.search(rf'<t[dh][^>]*data-key="{key}"[^>]*>(.*?)</t[dh]>', row, re.S)
    assert m, (key, row)
    return text_of(m.group(1))


def opened(client, path: str) -> str:
    r = client.get(path)
    assert r.status_code == 200, r.get_data(as_text=True)[-400:]
    return r.get_data(as_text=True)


# --------------------------------------------------------------------------- 网点


def test_stations_lists_enrolled_stations_with_their_figures(home):
    enroll(home, VILLAGE)
    enroll(home, TOWN2)  # enrolled, never synced
    store, registry = open_hub(home)
    try:
        registry.record_handshake(VILLAGE, "replica-1", 2500)
        registry.record_push(VILLAGE, 7, [("veterans", "v1", "不在本站范围"), ("visits", "w1", "引用不存在")], 0)
        registry.record_push(VILLAGE, 3, [("veterans", "v2", "不在本站范围")], 0)
        registry.record_pull(VILLAGE, 11)
    finally:
        store.close()
    page = opened(hub_client(home), "/stations/")
    rows = rows_with(page, "station-row", "data-station")
    assert set(rows) == {VILLAGE, TOWN2}
    v = rows[VILLAGE]
    assert (cell(v, "pushed"), cell(v, "pulled"), cell(v, "refused"), cell(v, "skew")) == ("10", "11", "3", "+2.5 秒")
    assert cell(v, "cert_state") == "有效" and cell(v, "age") == "0 分钟"
    expected_expiry = dt.datetime.fromisoformat(registry_stations(home)[VILLAGE]["cert_not_after"]).astimezone()
    assert cell(v, "cert_not_after") == f"{expected_expiry:%Y-%m-%d}"
    t = rows[TOWN2]
    assert cell(t, "last_sync") == "从未同步" and cell(t, "refused") == "0"
    assert re.search(r'data-key="age" class="age bad"', t) and 'class="stale"' in page
    assert 'id="count-stations">2<' in page and 'id="count-stale">1<' in page


def test_age_of_a_sync_turns_red_after_seven_days():
    now = dt.datetime(2026, 12, 2, 12, 0, tzinfo=dt.timezone.utc)
    ago = lambda **kw: (now - dt.timedelta(**kw)).isoformat()  # noqa: E731
    assert stations_page._age(ago(minutes=5), now) == {"text": "5 分钟", "days": 0, "stale": False}
    assert stations_page._age(ago(hours=3), now)["text"] == "3 小时"
    assert stations_page._age(ago(days=7, hours=23), now) == {"text": "7 天", "days": 7, "stale": False}
    assert stations_page._age(ago(days=8), now) == {"text": "8 天", "days": 8, "stale": True}
    assert stations_page._age(None, now)["stale"] and stations_page._age("not a time", now)["text"] == "从未同步"


def test_admin_issues_a_token_shown_once_audited_with_the_account(home):
    client = hub_client(home)
    opened(client, "/stations/")
    r = client.post("/stations/token", {"station": VILLAGE, "ttl": "24", "cert_days": "90"})
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    m = re.search(r'<code id="new-token"[^>]*>([^<]+)</code>', page)
    assert m and m.group(1).startswith(f"VST1-{VILLAGE}-")
    token = html.unescape(m.group(1))
    serial = enroll(home, VILLAGE, token)  # the token shown is the real one: a station enrolls with it
    assert registry_stations(home)[VILLAGE]["cert_serial"] == serial
    entries = [e for e in audit_log(home) if e["kind"] in ("token", "web_token")]
    assert [e["kind"] for e in entries] == ["token"]  # one entry, with the account
    web = entries[0]
    assert web["station"] == VILLAGE and web["detail"]["user"] == "县管理员" and web["detail"]["cert_days"] == 90
    assert abs(web["detail"]["expires_ms"] - (dt.datetime.now().timestamp() + 24 * 3600) * 1000) < 60_000
    again = opened(client, "/stations/")
    assert token not in again and 'id="new-token"' not in again


@pytest.mark.parametrize("form, words", [
    ({"station": "1101"}, "区划代码"),
    ({"station": "120101001001"}, "不在本站范围"),
    ({"station": COUNTY}, "--county-scope"),
    ({"station": VILLAGE, "ttl": "many"}, "不是数字"),
    ({"station": VILLAGE, "ttl": "1000"}, "不合理"),
    ({"station": VILLAGE, "cert_days": "0"}, "不合理"),
    ({"station": ""}, "请填写"),
])
def test_a_refused_token_is_one_line_and_nothing_written(home, form, words):
    client = hub_client(home)
    opened(client, "/stations/")
    r = client.post("/stations/token", form)
    assert r.status_code == 400
    page = r.get_data(as_text=True)
    error = text_of(re.search(r'id="token-error"[^>]*>(.*?)</span>', page, re.S).group(1))
    assert words in error and "\n" not in error, error
    assert 'id="new-token"' not in page and 'aria-invalid="true"' in page
    assert f'value="{html.escape(form["station"])}"' in page  # the form keeps what was typed
    assert not [e for e in audit_log(home) if e["kind"] in ("token", "web_token")]


def test_county_scope_token_for_the_county_code(home):
    client = hub_client(home)
    opened(client, "/stations/")
    r = client.post("/stations/token", {"station": COUNTY, "county_scope": "1"})
    assert r.status_code == 200 and f"VST1-{COUNTY}-" in r.get_data(as_text=True)
    entry = next(e for e in audit_log(home) if e["kind"] == "token")
    assert entry["detail"]["county_scope"] is True and entry["detail"]["user"] == "县管理员"


def test_viewer_sees_no_controls_and_is_refused_token_and_revoke(home):
    serial = enroll(home, VILLAGE)
    viewer = hub_client(home, "县查看员")
    page = opened(viewer, "/stations/")
    assert VILLAGE in rows_with(page, "station-row", "data-station")
    assert serial in rows_with(page, "cert-row", "data-serial")
    for control in ('id="token-form"', "/stations/token", "/stations/revoke", 'data-testid="revoke-station"',
                    'data-testid="revoke-serial"'):
        assert control not in page
    assert viewer.post("/stations/token", {"station": VILLAGE2}).status_code == 403
    assert viewer.post("/stations/revoke", {"station": VILLAGE}).status_code == 403
    assert viewer.post("/stations/revoke", {"serial": serial}).status_code == 403
    assert registry_stations(home)[VILLAGE]["cert_state"] == "valid"
    kinds = [e["kind"] for e in audit_log(home) if e["kind"] in ("token", "web_token", "revoke", "web_revoke")]
    assert kinds == ["token"]  # the enrollment's own, nothing since
    admin_page = opened(hub_client(home), "/stations/")
    assert 'id="token-form"' in admin_page and f'id="revoke-{VILLAGE}"' in admin_page


def test_admin_revokes_a_station_and_one_certificate(home):
    enroll(home, VILLAGE)
    serial = enroll(home, VILLAGE2)
    client = hub_client(home)
    opened(client, "/stations/")
    r = client.post("/stations/revoke", {"station": VILLAGE})
    assert r.status_code == 302
    page = opened(client, "/stations/")
    assert f"已吊销站点 {VILLAGE} 的证书（1 张）" in page
    assert cell(rows_with(page, "station-row", "data-station")[VILLAGE], "cert_state") == "已吊销"
    assert f'id="revoke-{VILLAGE}"' not in page and f'id="revoke-{VILLAGE2}"' in page
    assert client.post("/stations/revoke", {"serial": serial}).status_code == 302
    assert {s: r["cert_state"] for s, r in registry_stations(home).items()} == {VILLAGE: "revoked", VILLAGE2: "revoked"}
    assert not [e for e in audit_log(home) if e["kind"] == "web_revoke"]
    web = [e for e in audit_log(home) if e["kind"] == "revoke"]  # one entry each, with the account
    assert [(e["station"], e["detail"]["user"]) for e in web] == [(VILLAGE, "县管理员"), (VILLAGE2, "县管理员")]
    assert web[1]["detail"]["serial"] == serial
    r = client.post("/stations/revoke", {"station": "110101009009"})
    assert r.status_code == 400 and "未注册" in text_of(re.search(r'id="revoke-error"[^>]*>(.*?)</p>',
                                                                 r.get_data(as_text=True)).group(1))
    assert client.post("/stations/revoke", {}).status_code == 400


# --------------------------------------------------------------------------- 信访


def _petition(store, pid: str, area: str, received: dt.date, events=(), **extra) -> None:
    store.write_as_hub("petitions", pid, {"petitioner": f"信访人{pid}", "area": area, "received_on": received.isoformat(),
                                          "channel": "letter", "summary": "反映生活困难", **extra}, create=True)
    for i, (kind, at) in enumerate(events):
        store.write_as_hub("petition_events", f"{pid}-e{i}",
                           {"petition_id": pid, "area": area, "at": at.isoformat(), "kind": kind}, create=True)


def days_ago(n: int) -> dt.date:
    return TODAY - dt.timedelta(days=n)


def _fill_petitions(home: Path) -> None:
    """No event within 15 days of receipt (信访工作条例: 受理告知) is overdue from the 16th day."""
    store, _registry = open_hub(home)
    try:
        _petition(store, "p-late25", VILLAGE, days_ago(40))              # due 25 days ago
        _petition(store, "p-late2", VILLAGE3, days_ago(17))              # due 2 days ago
        _petition(store, "p-soon5", VILLAGE2, days_ago(10))              # due in 5 days
        _petition(store, "p-today", TOWN, days_ago(15))                  # due today
        _petition(store, "p-far", VILLAGE, days_ago(2))                  # due in 13 days: not listed
        _petition(store, "p-closed", VILLAGE, days_ago(40),              # closed: not listed
                  [("register", days_ago(40)), ("accept", days_ago(39)), ("close", days_ago(30))])
        _petition(store, "p-accepted", VILLAGE3, days_ago(70),           # accepted 64 days ago: 60 days to handle
                  [("register", days_ago(70)), ("notify", days_ago(64)), ("accept", days_ago(64))])
        _petition(store, "p-secret", VILLAGE2, days_ago(12), confidential=1, **{"class": "accusation"})  # in 3 days
        _petition(store, "p-mark", VILLAGE, days_ago(11), petitioner="<b>张</b>三")  # in 4 days
    finally:
        store.close()


def test_petitions_overdue_then_due_soon_most_urgent_first(home):
    _fill_petitions(home)
    page = opened(hub_client(home, "县查看员"), "/petitions/")
    rows = re.findall(r'<tr data-testid="due-row" data-petition="([^"]+)" data-days="(-?\d+)"([^>]*)>(.*?)</tr>', page, re.S)
    assert [(pid, int(days)) for pid, days, _, _ in rows] == [
        ("p-late25", -25), ("p-accepted", -4), ("p-late2", -2), ("p-today", 0), ("p-secret", 3), ("p-mark", 4),
        ("p-soon5", 5)]
    by_id = {pid: (attrs, [text_of(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", body, re.S)])
             for pid, _, attrs, body in rows}
    attrs, cells = by_id["p-late25"]
    assert 'class="overdue"' in attrs
    assert cells == [VILLAGE, "信访人p-late25", "", days_ago(40).isoformat(), cells[4], "受理告知期限",
                     days_ago(25).isoformat(), "已逾期 25 天"]
    assert by_id["p-accepted"][1][5:] == ["办理期限", days_ago(4).isoformat(), "已逾期 4 天"]
    assert by_id["p-today"][1][-1] == "今天到期" and 'class="overdue"' not in by_id["p-today"][0]
    assert by_id["p-soon5"][1][-1] == "还剩 5 天"
    assert by_id["p-secret"][1][1] == "（保密）" and "信访人p-secret" not in page
    assert by_id["p-mark"][1][1] == "<b>张</b>三" and "&lt;b&gt;张&lt;/b&gt;三" in page
    assert 'id="count-overdue">3<' in page and 'id="count-soon">4<' in page


def test_petitions_of_one_town(home):
    _fill_petitions(home)
    client = hub_client(home)
    page = opened(client, f"/petitions/?area={TOWN2}")
    assert re.findall(r'data-petition="([^"]+)"', page) == ["p-accepted", "p-late2"]
    page = opened(client, "/petitions/?area=999999")
    assert 'id="petitions-area-error"' in page and len(re.findall(r'data-testid="due-row"', page)) == 7


def test_no_petitions_due(home):
    page = opened(hub_client(home), "/petitions/")
    assert 'id="petitions-none"' in page and 'data-testid="due-row"' not in page


# --------------------------------------------------------------------------- 报表

MONTH = f"{TODAY:%Y-%m}"


def id_number(n: int) -> str:
    body = f"1101011960{n:07d}"
    return body + id_number_check_digit(body)


def _fill_report(home: Path) -> None:
    """Veterans on file: VILLAGE 2 (retired_soldier, martyr_family), VILLAGE2 1, VILLAGE3 1, TOWN 1;
    one moved out (off file); visits this month to one at VILLAGE and the one at VILLAGE3."""
    store, _registry = open_hub(home)
    try:
        vets = [("v1", VILLAGE, "retired_soldier", "active"), ("v2", VILLAGE, "martyr_family", "active"),
                ("v3", VILLAGE2, "retired_soldier", "active"), ("v4", VILLAGE3, "disabled_soldier", "active"),
                ("v5", TOWN, None, "active"), ("v6", VILLAGE3, "retired_soldier", "moved_out")]
        for n, (vid, area, category, status) in enumerate(vets, start=1):
            values = {"id_number": id_number(n), "name": f"退役军人{n}", "area": area, "status": status}
            if category:
                values["category"] = category
            store.write_as_hub("veterans", vid, values, create=True)
        store.write_as_hub("visits", "w1", {"veteran_id": "v1", "area": VILLAGE, "visited_on": f"{MONTH}-01",
                                            "kind": "home"}, create=True)
        store.write_as_hub("visits", "w2", {"veteran_id": "v4", "area": VILLAGE3, "visited_on": f"{MONTH}-01",
                                            "kind": "phone"}, create=True)
    finally:
        store.close()
    _fill_petitions(home)


def independent_report(home: Path):
    store, registry = open_hub(home)
    try:
        stations = [{"station": s["station"], "last_sync": s["last_sync"]} for s in registry.stations()]
        return build_report(store, COUNTY, month=MONTH, today=TODAY, stations=stations)
    finally:
        store.close()


def table_cells(page: str, table_id: str) -> dict[str, dict[str, str]]:
    table = re.search(rf'<table id="{table_id}".*?</table>', page, re.S).group(0)
    out = {}
    for area, body in re.findall(r'<tr data-testid="[^"]+" data-area="([^"]+)"[^>]*>(.*?)</tr>', table, re.S):
        out[area] = {k: text_of(v) for k, v in re.findall(r'data-key="([^"]+)"[^>]*>(.*?)</t[dh]>', body, re.S)}
    return out


def test_report_page_shows_the_reports_figures_and_three_charts(home):
    _fill_report(home)
    enroll(home, VILLAGE2)  # never synced: stale
    page = opened(hub_client(home, "县查看员"), f"/report/?period={MONTH}")
    rep = independent_report(home)
    expected = {r["area"]: {k: str(v) for k, v in r.items()} for r in rep.table_rows()}
    figures, by_category = table_cells(page, "report-table"), table_cells(page, "report-categories")
    assert list(figures) == [r.area for r in rep.rows] == [TOWN, VILLAGE, VILLAGE2, TOWN2, VILLAGE3, COUNTY]
    for area, row in figures.items():
        for key, value in {**row, **by_category[area]}.items():
            assert value == expected[area][key], (area, key)
    assert len(by_category[COUNTY]) == 2 + len(rep.total.by_category)
    # by construction, independently of build_report
    assert figures[COUNTY]["veterans_on_file"] == "5" and figures[COUNTY]["level"] == "合计"
    assert figures[VILLAGE]["visit_coverage_pct"] == "50.0%" and figures[TOWN]["veterans_on_file"] == "4"
    assert figures[COUNTY]["petitions_overdue"] == "3" and figures[COUNTY]["petitions_closed"] == "1"
    assert figures[COUNTY]["petitions_open"] == "8"
    assert by_category[COUNTY]["category_retired_soldier"] == "2" and by_category[COUNTY]["category_none"] == "1"
    assert re.findall(r'data-testid="stale-row" data-station="([^"]+)"', page) == [VILLAGE2]
    for chart in ("chart-coverage", "chart-petitions", "chart-categories"):
        assert re.search(rf'<figure class="chart" id="{chart}"[^>]*>\s*<figcaption>[^<]+</figcaption>\s*<svg ', page)
    bars = {(label, series): value for label, series, value in
            re.findall(r'<g class="bar" data-label="([^"]*)" data-series="([^"]*)" data-value="([^"]*)"', page)}
    assert bars[(TOWN, "走访覆盖率")] == str(rep.row(TOWN).visit_coverage_pct) == "25.0"
    assert bars[(TOWN2, "走访覆盖率")] == "100.0"
    assert [bars[(TOWN2, s)] for s in ("超期", "未办结（未超期）", "已办结")] == ["2", "0", "0"]
    assert [bars[(TOWN, s)] for s in ("超期", "未办结（未超期）", "已办结")] == ["1", "5", "1"]
    assert "未结 6·超期 1·已结 1" in page
    assert bars[("烈属", "在册人数")] == "1" and bars[("未分类", "在册人数")] == "1"
    assert f'id="report-period" name="period" value="{MONTH}"' in page
    assert f'id="report-download" href="/report/download?period={MONTH}"' in page
    assert 'id="report-archived"' not in page  # not submitted


def test_a_submitted_period_shows_its_figures_and_the_changes(home):
    from sync.store import report_archive

    _fill_report(home)
    store, registry = open_hub(home)
    try:
        rep = build_report(store, COUNTY, period=MONTH, today=TODAY)
        submitted = rep.to_dict()
        del submitted["upward"]  # as archived before the upward counts: still compared
        submitted["rows"][-1]["veterans_on_file"] = 4  # the figure as it was when submitted
        report_archive.submit(store, COUNTY, MONTH, submitted, by="张科长", at="2026-12-01T08:00:00+00:00",
                              resubmit=False)
    finally:
        store.close()
    page = opened(hub_client(home, "县查看员"), f"/report/?period={MONTH}")
    assert "此期报表已上报（第 1 版" in page and "填报人 张科长" in page and "上报后有 1 项变化" in page
    changes = re.search(r'<table id="report-changes".*?</table>', page, re.S).group(0)
    assert text_of(changes).count("→") == 2 and "4 → 5" in text_of(changes) and "在册人数" in changes  # the heading, the one change
    assert table_cells(page, "report-table")[COUNTY]["veterans_on_file"] == "4"  # the archived figure shown


def test_report_download_is_the_xlsx_of_the_report(home):
    _fill_report(home)
    r = hub_client(home).get(f"/report/download?period={MONTH}")
    assert r.status_code == 200 and r.mimetype.endswith("spreadsheetml.sheet")
    assert "attachment" in r.headers["Content-Disposition"] and f"{COUNTY}-{MONTH}.xlsx" in r.headers["Content-Disposition"]
    book = openpyxl.load_workbook(io.BytesIO(r.data))
    assert book.sheetnames == ["汇总", "分村", "上报统计", "逾期信访", "未联系", "未同步网点"]  # the A4 workbook
    summary = book["汇总"]
    assert "填报人：县管理员" in summary["A2"].value  # the account logged in and summary.page_setup.paperSize == 9
    headings = [c.value for c in summary[3]]
    rep = independent_report(home)
    assert headings == ["区划代码", "名称", "层级", *(h for k, h in rep.columns() if k not in ("area", "level"))]
    rows = [dict(zip(headings, r)) for r in summary.iter_rows(min_row=4, values_only=True)]
    assert [r["区划代码"] for r in rows] == [TOWN, TOWN2, COUNTY]
    villages = [r[0] for r in book["分村"].iter_rows(min_row=4, values_only=True)]
    assert villages == [r.area for r in rep.rows if r.level == "village"]
    county = rows[-1]
    assert county["层级"] == "合计" and county["在册人数"] == 5 and county["超期信访"] == 3
    assert len(list(book["逾期信访"].iter_rows(min_row=4))) == 3


def test_report_of_a_bad_month_is_one_line(home):
    r = hub_client(home).get("/report/?month=2026-13")
    assert r.status_code == 400
    message = text_of(re.search(r'id="message"[^>]*>(.*?)</p>', r.get_data(as_text=True), re.S).group(1))
    assert "2026-13" in message and "月份" in message
    r = hub_client(home).get("/report/?period=2026-Q9")
    assert r.status_code == 400 and "统计期间" in r.get_data(as_text=True)


def test_dashboard_pages_hold_no_inline_script_or_style(home):
    _fill_report(home)
    enroll(home, VILLAGE)
    client = hub_client(home)
    opened(client, "/stations/")
    pages = [opened(client, p) for p in ("/stations/", "/petitions/", f"/report/?month={MONTH}")]
    pages.append(client.post("/stations/token", {"station": VILLAGE2}).get_data(as_text=True))
    for page in pages:
        assert not re.search(r"\sstyle=", page) and not re.search(r"<script(?![^>]*\ssrc=)", page)
        assert not re.search(r"\son[a-z]+=", page) and "hx-on" not in page
        assert "report.css" in page


# --------------------------------------------------------------------------- charts


def test_bar_chart_escapes_labels_and_scales_bars():
    chart = str(bar_chart("chart-x", "标题<i>", ["<script>alert(1)</script>", "乙"],
                          [Series("人数\"", [5, None]), Series("次数", [10, 2])]))
    assert "<script>" not in chart and "&lt;script&gt;" in chart and "标题&lt;i&gt;" in chart
    assert 'data-series="人数&#34;"' in chart
    widths = [float(w) for w in re.findall(r'<rect x="130" y="\d+" width="([\d.]+)" height="14"', chart)]
    assert widths == [215.0, 430.0, 0.0, 86.0]  # 5, 10, none, 2 of a 430-wide span scaled to 10
    assert chart.count('class="legend"') == 2 and 'id="chart-x"' in chart
    assert re.search(r'<svg [^>]*viewBox="0 0 620 (\d+)"', chart)


def test_stacked_bar_chart_puts_segments_end_to_end():
    chart = str(bar_chart("chart-s", "s", ["甲", "乙"], [Series("a", [1, 0], "#b3261e"), Series("b", [3, 2])],
                          stacked=True, note=lambda n: f"合计{n}"))
    rects = re.findall(r'<rect x="([\d.]+)" y="(\d+)" width="([\d.]+)" height="14" fill="([^"]+)"', chart)
    # scaled to the largest sum, 4, over a 620 - 130 - 190 = 300 wide span
    assert [(float(x), float(w)) for x, _, w, _ in rects] == [(130, 75), (205, 225), (130, 0), (130, 150)]
    assert rects[0][1] == rects[1][1] != rects[2][1] and rects[0][3] == "#b3261e"
    assert "合计0" in chart and "合计1" in chart and chart.count('class="bar"') == 4


def test_bar_chart_of_nothing_and_mismatched_series():
    empty = str(bar_chart("chart-e", "空", [], [Series("a", [])]))
    assert "无数据" in empty and 'class="bar"' not in empty
    with pytest.raises(ValueError):
        bar_chart("chart-m", "m", ["a", "b"], [Series("a", [1])])
