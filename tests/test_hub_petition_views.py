"""The county's petition views (``county-hub petition list/show``, the dashboard's 信访
page) say what the station's say: a petition whose earlier one of the same matter was
closed by a 复核意见 is flagged (信访工作条例 Art. 36), and the 复查/复核 answer limits
are labelled as the upper organ's (Arts. 35–36), never counted as this office's overdue.

In-process over a real hub store: ``county-hub init``, rows written as the hub."""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner

from county_hub.cli import main
from sync.store.hub import HubStore
from webapp import add_account, hub_client

V1 = "440902001001"
TODAY = dt.date.today()


def day(n: int) -> str:
    """``n`` days before today."""
    return (TODAY - dt.timedelta(days=n)).isoformat()


def ok(home: Path, *args: str) -> str:
    result = CliRunner().invoke(main, [*args, "--home", str(home)], env={"COLUMNS": "400"})
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result.stdout


def ok_json(home: Path, *args: str):
    return json.loads(ok(home, *args, "--json"))


def new_id() -> str:
    return str(uuid.uuid4())


def _petition(put, pid: str, petitioner: str, received: str, events: list[tuple[str, str, dict]], **fields) -> None:
    put("petitions", pid, {"petitioner": petitioner, "area": V1, "received_on": received, "channel": "letter",
                           "class": "appeal", "summary": "反映待遇问题", **fields}, create=True)
    for kind, at, extra in events:
        put("petition_events", new_id(), {"petition_id": pid, "area": V1, "at": at, "kind": kind, **extra},
            create=True)


@pytest.fixture
def hub(tmp_path) -> dict:
    home = tmp_path / "hub"
    ok(home, "init", "--county", "440902", "--name", "茂南区退役军人服务中心", "--host", "hub.example")
    ids = {k: new_id() for k in ("closed", "again", "other", "review", "near_upper", "late", "unclear")}
    store = HubStore(home / "hub.db")
    try:
        put = store.write_as_hub
        # Art. 36: answered, reviewed, rechecked — closed for good
        _petition(put, ids["closed"], "钱七", day(200), [
            ("register", day(200), {}), ("notify", day(199), {}), ("accept", day(199), {"method": "opinion"}),
            ("reply", day(150), {"outcome": "not_support", "served_on": day(149)}),
            ("review_request", day(140), {}), ("review_opinion", day(120), {"outcome": "not_support"}),
            ("recheck_request", day(110), {}), ("recheck_opinion", day(90), {"outcome": "not_support"})])
        # the same matter again, linked to the closed one
        _petition(put, ids["again"], "钱七", day(10), [("register", day(10), {})], linked_to=ids["closed"])
        # linked to a petition not closed by 复核: no flag
        _petition(put, ids["other"], "孙八", day(2), [("register", day(2), {})], linked_to=ids["review"])
        # Art. 35: 复查 requested 40 days ago — the upper organ's 30 days passed 10 days ago
        _petition(put, ids["review"], "周九", day(120), [
            ("register", day(120), {}), ("notify", day(119), {}), ("accept", day(119), {"method": "opinion"}),
            ("reply", day(50), {"outcome": "explain", "served_on": day(45)}), ("review_request", day(40), {})])
        # 复查 requested 25 days ago: the upper organ's limit ends in 5 days
        _petition(put, ids["near_upper"], "吴十", day(100), [
            ("register", day(100), {}), ("notify", day(99), {}), ("accept", day(99), {"method": "opinion"}),
            ("reply", day(31), {"outcome": "explain", "served_on": day(30)}), ("review_request", day(25), {})])
        # registered 20 days ago, no written notice: this office's 15 days passed 5 days ago
        _petition(put, ids["late"], "郑一", day(20), [("register", day(20), {})])
        # the same, but name or address unclear: no notice is due (Art. 22)
        _petition(put, ids["unclear"], "某人", day(20), [("register", day(20), {})], address_unclear=1)
    finally:
        store.close()
    return {"home": home, **ids}


def test_art_36_the_county_lists_flag_a_repeat_as_the_stations_do(hub):
    """信访工作条例 Art. 36: the petition linked to one closed by 复核意见 is flagged in the
    county's list and show, text and JSON; one linked to an open petition is not."""
    home = hub["home"]
    listed = {r["id"]: r for r in ok_json(home, "petition", "list")}
    assert listed[hub["again"]]["repeat_of"] == hub["closed"]
    assert listed[hub["other"]]["repeat_of"] is None and listed[hub["closed"]]["repeat_of"] is None
    assert listed[hub["closed"]]["rechecked"] is True
    assert ok_json(home, "petition", "show", hub["closed"])["anomalies"] == []  # a lawful history
    shown = ok_json(home, "petition", "show", hub["again"])
    assert shown["repeat_of"] == hub["closed"] and any("第三十六条" in a for a in shown["anomalies"])
    text = ok(home, "petition", "list")
    flagged = [line for line in text.splitlines() if "已复核终结的事项" in line]
    assert len(flagged) == 1 and hub["again"].split("-")[-1] in flagged[0]
    assert "第三十六条" in ok(home, "petition", "show", hub["again"])
    assert "已复核终结的事项" not in ok(home, "petition", "show", hub["other"])


def test_arts_35_36_the_county_command_line_labels_the_upper_organs_limits(hub):
    """信访工作条例 Arts. 35–36: the 复查答复期限 (review requested 40 days ago, due 10 days
    ago) is the upper organ's: labelled 上级机关期限 in list and show, the petition not
    overdue, not in --overdue; this office's missed 15 days (Arts. 22–23) are."""
    home = hub["home"]
    listed = {r["id"]: r for r in ok_json(home, "petition", "list")}
    review = listed[hub["review"]]
    assert review["overdue"] is False and review["next_deadline"]["upper"] is True
    assert review["next_deadline"]["what"] == "复查答复期限" and review["next_deadline"]["due"] == day(10)
    assert listed[hub["late"]]["overdue"] is True
    assert [r["id"] for r in ok_json(home, "petition", "list", "--overdue")] == [hub["late"]]
    text = ok(home, "petition", "list")
    row = next(line for line in text.splitlines() if hub["review"].split("-")[-1] in line)
    assert f"复查答复期限（上级机关期限） {day(10)}" in row and " 是 " not in row
    shown = ok(home, "petition", "show", hub["review"])
    assert "复查答复期限（上级机关期限）" in shown and "上级机关期限已过" in shown and "有期限已超期" not in shown
    assert "已超期" not in shown and "注意" not in shown  # a lawful history: the fold notes nothing


def test_arts_35_36_the_dashboard_lists_the_upper_organs_limits_apart_and_flags_a_repeat(hub):
    """信访工作条例 Arts. 35–36 on the dashboard's 信访 page: the upper organ's limits (one
    passed 10 days ago, one in 5 days) are listed after this office's, labelled 上级机关期限,
    and counted in neither 已超期 nor 7 天内到期; the repeat of a matter closed by 复核
    (Art. 36) is tagged; one whose address is unclear owes no notice (Art. 22)."""
    home = hub["home"]
    add_account(home, "县查看员", role="viewer")
    r = hub_client(home, "县查看员").get("/petitions/")
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    rows = re.findall(r'<tr data-testid="due-row" data-petition="([^"]+)" data-days="(-?\d+)"([^>]*)>(.*?)</tr>',
                      page, re.S)
    assert [(pid, int(days)) for pid, days, _, _ in rows] == [
        (hub["late"], -5), (hub["again"], 5), (hub["review"], -10), (hub["near_upper"], 5)]
    by_id = {pid: (attrs, cells) for pid, _, attrs, cells in rows}  # (hub["unclear"] not among them)
    for pid in (hub["review"], hub["near_upper"]):
        attrs, cells = by_id[pid]
        assert 'data-testid="due-row-upper"' in cells and "复查答复期限" in cells and "overdue" not in attrs
    assert 'class="overdue"' in by_id[hub["late"]][0] and "due-row-upper" not in by_id[hub["late"]][1]
    assert 'id="count-overdue">1<' in page and 'id="count-soon">1<' in page and 'id="count-upper">2<' in page
    assert [pid for pid, (_, cells) in by_id.items() if 'data-testid="due-row-repeat"' in cells] == [hub["again"]]
    assert "已复核终结的事项" in by_id[hub["again"]][1]
