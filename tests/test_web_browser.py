"""The pages in a real browser (issue 13): headless Chromium (Debian's, through
its ChromeDriver) against a real hub (``county-hub serve`` and ``county-hub web``)
and real stations (``station-node web`` of an enrolled village station; a town
station driven by its CLI) on 127.0.0.1, all as processes.

One clerk's day, in order: log in; add a veteran through the form (a wrong ID
refused in the form, nothing saved; the right one fills birth date and gender);
log a visit from the record page; register a petition and add an event; press
同步 and see the rows arrive on the county's dashboard; make a conflict (the town
edits the same field) and resolve it on the dashboard; import a roster with a bad
row (nothing written), then a good one. A screenshot of every page is saved
(``VETSYNC_SCREENSHOTS``, default ``$TMPDIR/vetsync-screenshots``).

Without a browser the test says so and is skipped; under ``CI=true`` it fails."""

from __future__ import annotations

import base64
import csv
import json

import pytest

from browser import hub_web, need_browser, screenshot, start_browser, station_web
from procs import TOWN, VILLAGE_A, Hub, Station, id_number
from webapp import PASSWORD, add_account

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CLERK = "王芳"
ADMIN = "县管理员"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    need_browser()
    root = tmp_path_factory.mktemp("browser")
    hub = Hub(root / "hub").start()
    village = Station(root / "village", VILLAGE_A).enroll(hub)
    town = Station(root / "town", TOWN).enroll(hub)
    add_account(village.home, CLERK, role="clerk")
    add_account(hub.home, ADMIN, role="admin")
    station_page = station_web(village.home)
    hub_page = hub_web(hub.home)
    driver = start_browser(root)
    try:
        yield {"hub": hub, "village": village, "town": town, "station_url": station_page.url,
               "hub_url": hub_page.url, "driver": driver, "root": root}
    finally:
        driver.quit()
        codes = (station_page.stop(), hub_page.stop())
        hub.stop() if hasattr(hub, "stop") else hub.kill()
    assert codes == (0, 0)


def _wait(driver, condition, timeout: float = 20):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.1).until(condition)


def _by_id(driver, element_id: str, timeout: float = 20):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC

    return _wait(driver, EC.presence_of_element_located((By.ID, element_id)), timeout)


def _text_in(driver, element_id: str, text: str, timeout: float = 20):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC

    return _wait(driver, EC.text_to_be_present_in_element((By.ID, element_id), text), timeout)


def _css(driver, selector: str):
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, selector)


def _login(driver, url: str, name: str) -> None:
    driver.get(url + "/login")
    _by_id(driver, "main")
    screenshot(driver, "00-login")
    driver.find_element("name", "name").send_keys(name)
    password = driver.find_element("name", "password")
    password.send_keys(PASSWORD)
    password.submit()
    _wait(driver, lambda d: "/login" not in d.current_url)


def _select_first(select_element) -> str:
    from selenium.webdriver.support.ui import Select

    sel = Select(select_element)
    for option in sel.options:
        if option.get_attribute("value"):
            sel.select_by_value(option.get_attribute("value"))
            return option.get_attribute("value")
    raise AssertionError("a select with no choice")


def _confirm(driver) -> None:
    """Accept the one confirmation a form with data-confirm asks."""
    from selenium.webdriver.support import expected_conditions as EC

    _wait(driver, EC.alert_is_present(), 10).accept()


def _sync_status(driver) -> str | None:
    """The sync area's state, read in one script call (htmx replaces the element as it polls)."""
    return driver.execute_script("var e = document.getElementById('sync-progress'); return e && e.dataset.status;")


def _press_sync(driver, url: str) -> None:
    from selenium.webdriver.support import expected_conditions as EC

    driver.get(url + "/")
    before = driver.find_element("id", "sync-progress")  # may show the last session's result
    driver.find_element("id", "sync-button").click()
    _wait(driver, EC.staleness_of(before))  # this session's area
    _wait(driver, lambda drv: _sync_status(drv) in ("done", "failed"), 60)
    assert _sync_status(driver) == "done", driver.execute_script(
        "return document.getElementById('sync-progress').innerText")


def _veterans_at(station: Station) -> list[dict]:
    return station.cli_json("veteran", "list")


def test_a_clerks_day_in_the_browser(world):
    d, url, village, town = world["driver"], world["station_url"], world["village"], world["town"]
    _login(d, url, CLERK)
    _by_id(d, "home-cards")
    assert CLERK in d.find_element("id", "who").text
    screenshot(d, "01-station-home")

    # -- the 建档立卡 form: a wrong check digit is refused beside its field, nothing saved
    good = id_number(101, "19580307")
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    d.get(url + "/veterans/new")
    form = _by_id(d, "veteran-form")
    d.find_element("id", "f-id_number").send_keys(bad)
    d.find_element("id", "f-name").send_keys("赵<b>建国</b>")
    _wait(d, lambda drv: drv.find_element("id", "error-id_number").text.strip() != "")  # as you type
    assert "校验" in d.find_element("id", "error-id_number").text
    screenshot(d, "02-veteran-form-refused")
    d.find_element("id", "veteran-save").click()
    _by_id(d, "veteran-form")
    _wait(d, lambda drv: drv.find_element("id", "f-id_number").get_attribute("aria-invalid") == "true")
    assert _veterans_at(village) == []  # nothing saved
    # the right number: birth date and gender come from it
    box = d.find_element("id", "f-id_number")
    box.clear()
    box.send_keys(good)
    _wait(d, lambda drv: drv.find_element("id", "f-birth_date").get_attribute("value") == "1958-03-07")
    d.find_element("id", "veteran-save").click()
    name_el = _by_id(d, "veteran-name")
    assert "赵<b>建国</b>" in name_el.text  # markup shown as text
    assert not _css(d, "#veteran-name b")
    screenshot(d, "03-veteran-file")
    pdf = base64.b64decode(d.print_page())
    assert pdf.startswith(b"%PDF")
    (world["root"] / "veteran-file.pdf").write_bytes(pdf)
    vets = _veterans_at(village)
    assert len(vets) == 1 and vets[0]["id_number"] == good and vets[0]["gender"] == "male"
    vet_id = vets[0]["id"]
    assert vets[0].get("recorded_by") == CLERK

    # -- a visit from the record page, without a reload
    _select_first(d.find_element("id", "visit-kind"))
    d.find_element("id", "visit-summary").send_keys("春节走访，身体尚好")
    d.find_element("id", "visit-submit").click()
    _wait(d, lambda drv: len(_css(drv, '[data-testid="visit-row"]')) == 1)
    assert "春节走访" in d.find_element("id", "visit-list").text
    screenshot(d, "04-visit-logged")

    # -- search as you type: by pinyin initials
    d.get(url + "/veterans/")
    search = _by_id(d, "veteran-search")
    search.send_keys("zhao")
    _wait(d, lambda drv: len(_css(drv, '[data-testid="veteran-row"]')) == 1 and "zhao" in drv.current_url)
    screenshot(d, "05-veteran-search")
    d.get(url + "/visits/")
    _by_id(d, "main")
    screenshot(d, "06-visits")
    d.get(url + "/visits/uncontacted")
    _by_id(d, "main")
    screenshot(d, "07-uncontacted")

    # -- a petition, and an event the law allows next
    d.get(url + f"/petitions/new?veteran={vet_id}")
    _by_id(d, "petition-form")
    _select_first(d.find_element("id", "petition-channel"))
    d.find_element("id", "petition-summary").send_keys("反映优待金未按时发放")
    screenshot(d, "08-petition-form")
    d.find_element("id", "petition-submit").click()
    _by_id(d, "petition-timeline")
    assert len(_css(d, '[data-testid="timeline-event"]')) == 1
    kind = _select_first(d.find_element("id", "event-kind"))
    d.find_element("id", "event-submit").click()
    _wait(d, lambda drv: len(_css(drv, '[data-testid="timeline-event"]')) == 2)
    assert d.find_element("id", "petition-status").get_attribute("data-status")
    screenshot(d, "09-petition")
    d.get(url + "/petitions/")
    _by_id(d, "petition-table")
    screenshot(d, "10-petitions")
    pets = village.cli_json("petition", "list")
    assert len(pets) == 1 and kind

    # -- 同步: the rows arrive at the hub's dashboard
    _press_sync(d, url)
    assert "同步完成" in d.find_element("id", "sync-result").text
    screenshot(d, "11-station-synced")

    hub_url = world["hub_url"]
    _login(d, hub_url, ADMIN)
    d.get(hub_url + "/stations/")
    rows = _css(d, '[data-testid="station-row"]')
    mine = [r for r in rows if VILLAGE_A in r.text]
    assert mine, [r.text for r in rows]
    screenshot(d, "12-hub-stations")
    d.get(hub_url + "/report/")
    _by_id(d, "report-charts")
    assert _css(d, "#report-charts svg")
    assert d.find_element("id", "total-on-file").text.strip().startswith("1")
    screenshot(d, "13-hub-report")
    d.get(hub_url + "/petitions/")
    _by_id(d, "main")
    screenshot(d, "14-hub-petitions")

    # -- a conflict: the village (on its page) and the town (CLI) change one field; resolved on the dashboard
    town.sync()
    d.get(url + f"/veterans/{vet_id}/edit")
    phone = _by_id(d, "f-phone")
    phone.clear()
    phone.send_keys("13800138000")
    d.find_element("id", "veteran-save").click()
    _by_id(d, "veteran-name")
    town.cli("veteran", "edit", vet_id, "--set", "phone=13900139000")
    town.sync()
    _press_sync(d, url)
    d.get(hub_url + "/conflicts/")
    conflict_rows = _css(d, '[data-testid="conflict-row"]')
    assert len(conflict_rows) == 1
    screenshot(d, "15-hub-conflicts")
    conflict_rows[0].find_element("tag name", "a").click()
    _by_id(d, "conflict-sides")
    sides = d.find_element("id", "conflict-sides").text
    assert "13800138000" in sides and "13900139000" in sides
    screenshot(d, "16-hub-conflict")
    d.find_element("id", "resolve-keep-loser").click()
    _confirm(d)
    _wait(d, lambda drv: "/conflicts/" in drv.current_url and not _css(drv, "#conflict-sides"))
    assert not _css(d, '[data-testid="conflict-row"]')
    audit = json.loads(world["hub"].cli("audit", "--json").stdout)
    assert any(e["kind"] == "resolve" and e["detail"].get("user") == ADMIN for e in audit)
    history = world["hub"].cli("history", vet_id, "--json").stdout
    assert CLERK in history and ADMIN in history  # who filed it, and who resolved the conflict

    # -- a roster with a bad row: nothing written; then a good one
    root = world["root"]
    bad_file, good_file = root / "bad.csv", root / "good.csv"
    rows_good = [["姓名", "身份证号", "区划代码"], ["钱卫国", id_number(102, "19600101"), VILLAGE_A],
                 ["孙志强", id_number(103, "19620202"), VILLAGE_A]]
    rows_bad = [*rows_good, ["李坏行", "44090219600101999", VILLAGE_A]]
    for path, rows in ((bad_file, rows_bad), (good_file, rows_good)):
        with path.open("w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows(rows)
    before = len(_veterans_at(village))
    d.get(url + "/roster/")
    _by_id(d, "roster-file").send_keys(str(bad_file))
    d.find_element("id", "roster-check-button").click()
    _by_id(d, "roster-dry-run")
    problems = _css(d, '[data-testid="roster-problem"]')
    assert len(problems) == 1 and problems[0].get_attribute("data-line") == "4"
    assert not _css(d, "#roster-import-button")
    screenshot(d, "17-roster-refused")
    assert len(_veterans_at(village)) == before
    d.get(url + "/roster/")
    _by_id(d, "roster-file").send_keys(str(good_file))
    d.find_element("id", "roster-check-button").click()
    _by_id(d, "roster-dry-run")
    assert not _css(d, '[data-testid="roster-problem"]')
    screenshot(d, "18-roster-dry-run")
    d.find_element("id", "roster-import-button").click()
    _confirm(d)
    _by_id(d, "roster-imported")
    assert len(_veterans_at(village)) == before + 2
    screenshot(d, "19-roster-imported")

    # -- the remaining pages, for the record
    for path, name, ready in (("/conflicts/", "20-station-conflicts", "main"), ("/report/", "21-station-report", "main")):
        d.get(url + path)
        _by_id(d, ready)
        screenshot(d, name)
    errors = [e for e in d.get_log("browser") if e.get("level") == "SEVERE"] if hasattr(d, "get_log") else []
    assert not [e for e in errors if "Content Security Policy" in e.get("message", "")], errors
