"""The county's petition views (``county-hub petition list/show``, the dashboard's 信访
page) say what the station's say: a petition whose earlier one of the same matter was
closed by a 复核意见 is flagged (信访工作条例 Art. 36), and the 复查/复核 answer limits
are labelled as the upper organ's (Arts. 35–36), never counted as this office's overdue.

In-process over a real hub store: ``county-hub init``, rows written as the hub."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner

from county_hub.cli import main
from sync.store.hub import HubStore

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
    ids = {k: new_id() for k in ("closed", "again", "other", "review")}
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
        _petition(put, ids["again"], "钱七", day(3), [("register", day(3), {})], linked_to=ids["closed"])
        # linked to a petition not closed by 复核: no flag
        _petition(put, ids["other"], "孙八", day(2), [("register", day(2), {})], linked_to=ids["review"])
        # Art. 35: 复查 requested 40 days ago — the upper organ's 30 days passed 10 days ago
        _petition(put, ids["review"], "周九", day(120), [
            ("register", day(120), {}), ("notify", day(119), {}), ("accept", day(119), {"method": "opinion"}),
            ("reply", day(80), {"outcome": "explain", "served_on": day(79)}), ("review_request", day(40), {})])
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
    shown = ok_json(home, "petition", "show", hub["again"])
    assert shown["repeat_of"] == hub["closed"] and any("第三十六条" in a for a in shown["anomalies"])
    text = ok(home, "petition", "list")
    flagged = [line for line in text.splitlines() if "已复核终结的事项" in line]
    assert len(flagged) == 1 and hub["again"].split("-")[-1] in flagged[0]
    assert "第三十六条" in ok(home, "petition", "show", hub["again"])
    assert "已复核终结的事项" not in ok(home, "petition", "show", hub["other"])
