"""``county-hub veteran list/show``, ``visit list``, ``petition list/show``: read-only,
county-wide (rows of several towns), with the station CLI's filters; a confidential
(检举控告类) petition is shown to the county; nothing is written by reading."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner

from county_hub.cli import main
from sync.store.hub import HubStore
from veterans.values import id_number_check_digit

COUNTY = "440902"
V1 = "440902001001"  # town 001
V2 = "440902002003"  # town 002
TODAY = dt.date.today()


def run(home: Path, *args: str):
    return CliRunner().invoke(main, [*args, "--home", str(home)])


def ok(home: Path, *args: str) -> str:
    result = run(home, *args)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result.stdout


def ok_json(home: Path, *args: str):
    return json.loads(ok(home, *args, "--json"))


def refused(home: Path, *args: str) -> str:
    result = run(home, *args)
    assert result.exit_code != 0, result.stdout
    lines = result.stderr.strip().splitlines()
    assert lines and lines[-1].startswith("错误："), result.stderr
    assert "Traceback" not in result.output
    return lines[-1]


def id_number(n: int) -> str:
    body = f"4409021960{n:07d}"
    return body + id_number_check_digit(body)


def new_id() -> str:
    return str(uuid.uuid4())


@pytest.fixture
def hub(tmp_path) -> dict:
    home = tmp_path / "hub"
    ok(home, "init", "--county", COUNTY, "--name", "茂南区退役军人服务中心", "--host", "hub.example")
    ids = {k: new_id() for k in ("zhang", "li", "wang", "w1", "w2", "w3", "p_old", "p_secret", "p_new")}
    long_ago = (TODAY - dt.timedelta(days=200)).isoformat()
    store = HubStore(home / "hub.db")
    try:
        put = store.write_as_hub
        put("veterans", ids["zhang"], {"id_number": id_number(1), "name": "张三", "area": V1,
                                       "category": "retired_soldier", "status": "active"}, create=True)
        put("veterans", ids["li"], {"id_number": id_number(2), "name": "李四", "area": V2,
                                    "category": "retired_soldier", "status": "active"}, create=True)
        put("veterans", ids["wang"], {"id_number": id_number(3), "name": "王五", "area": V2,
                                      "category": "retired_soldier", "status": "deceased"}, create=True)
        put("visits", ids["w1"], {"veteran_id": ids["zhang"], "area": V1, "visited_on": "2026-11-05", "kind": "home"},
            create=True)
        put("visits", ids["w2"], {"veteran_id": ids["li"], "area": V2, "visited_on": "2026-11-20", "kind": "phone"},
            create=True)
        put("visits", ids["w3"], {"veteran_id": ids["li"], "area": V2, "visited_on": "2026-10-02", "kind": "home"},
            create=True)
        # registered long ago and never accepted: past the 15-day acceptance deadline
        put("petitions", ids["p_old"], {"petitioner": "李四", "veteran_id": ids["li"], "area": V2,
                                        "received_on": long_ago, "channel": "letter", "class": "appeal",
                                        "summary": "反映生活困难"}, create=True)
        put("petition_events", new_id(), {"petition_id": ids["p_old"], "area": V2, "at": long_ago, "kind": "register"},
            create=True)
        put("petitions", ids["p_secret"], {"petitioner": "赵六", "area": V1, "received_on": TODAY.isoformat(),
                                           "channel": "letter", "class": "accusation", "summary": "检举某村干部"},
            create=True)
        put("petitions", ids["p_new"], {"petitioner": "张三", "veteran_id": ids["zhang"], "area": V1,
                                        "received_on": TODAY.isoformat(), "channel": "phone", "class": "suggestion",
                                        "summary": "建议"}, create=True)
    finally:
        store.close()
    return {"home": home, **ids}


def test_veteran_list_is_county_wide_and_filtered(hub):
    home = hub["home"]
    rows = ok_json(home, "veteran", "list")
    assert {r["id"] for r in rows} == {hub["zhang"], hub["li"], hub["wang"]}
    assert [r["name"] for r in ok_json(home, "veteran", "list", "--area", "440902002")] == sorted(
        ["李四", "王五"], key=lambda n: {"李四": "li", "王五": "wang"}[n])
    assert [r["name"] for r in ok_json(home, "veteran", "list", "--status", "已故")] == ["王五"]
    assert [r["name"] for r in ok_json(home, "veteran", "list", "--search", "zs")] == ["张三"]
    human = ok(home, "veteran", "list")
    assert "全县退役军人：共 3 人" in human and "张三" in human
    assert id_number(1) not in human and id_number(1)[:6] + "********" in human  # masked
    assert id_number(1) in ok(home, "veteran", "list", "--full")
    paged = ok(home, "veteran", "list", "--limit", "2")
    assert "下一页：county-hub veteran list --limit 2 --offset 2" in paged


def test_veteran_show_by_name_id_number_and_id_tail(hub):
    home = hub["home"]
    by_name = ok_json(home, "veteran", "show", "李四")
    assert by_name["id"] == hub["li"]
    assert {v["id"] for v in by_name["visits"]} == {hub["w2"], hub["w3"]}
    assert [p["id"] for p in by_name["petitions"]] == [hub["p_old"]] and by_name["petitions"][0]["overdue"] is True
    assert ok_json(home, "veteran", "show", id_number(1))["id"] == hub["zhang"]
    assert ok_json(home, "veteran", "show", hub["zhang"].split("-")[-1])["id"] == hub["zhang"]
    human = ok(home, "veteran", "show", "李四")
    assert "退役军人档案：李四" in human and "走访慰问（2次" in human and "信访件（1件）" in human
    assert "找不到" in refused(home, "veteran", "show", "没有此人")
    assert "序号" in refused(home, "veteran", "show", "3")  # the hub keeps no row numbers


def test_visit_list_filters(hub):
    home = hub["home"]
    assert {r["id"] for r in ok_json(home, "visit", "list")} == {hub["w1"], hub["w2"], hub["w3"]}
    assert [r["id"] for r in ok_json(home, "visit", "list", "--veteran", "李四")] == [hub["w2"], hub["w3"]]
    assert [r["id"] for r in ok_json(home, "visit", "list", "--since", "2026-11-01", "--kind", "入户")] == [hub["w1"]]
    assert [r["id"] for r in ok_json(home, "visit", "list", "--area", V2, "--until", "2026-10-31")] == [hub["w3"]]
    human = ok(home, "visit", "list")
    assert "全县走访慰问：共 3 次" in human and "张三" in human and "李四" in human


def test_petition_list_and_show_include_confidential(hub):
    home = hub["home"]
    rows = ok_json(home, "petition", "list")
    assert {r["id"] for r in rows} == {hub["p_old"], hub["p_secret"], hub["p_new"]}
    secret = next(r for r in rows if r["id"] == hub["p_secret"])
    assert secret["petitioner"] == "赵六" and secret["summary"] == "检举某村干部"  # the county sees it
    assert [r["id"] for r in ok_json(home, "petition", "list", "--overdue")] == [hub["p_old"]]
    assert [r["id"] for r in ok_json(home, "petition", "list", "--class", "检举控告类")] == [hub["p_secret"]]
    assert [r["id"] for r in ok_json(home, "petition", "list", "--channel", "电话")] == [hub["p_new"]]
    assert {r["id"] for r in ok_json(home, "petition", "list", "--area", V1)} == {hub["p_secret"], hub["p_new"]}
    human = ok(home, "petition", "list", "--overdue")
    assert "超期全县信访件：共 1 件" in human and "李四" in human
    shown = ok_json(home, "petition", "show", hub["p_old"].split("-")[-1])
    assert shown["id"] == hub["p_old"] and shown["overdue"] is True
    assert [e["kind"] for e in shown["events"]] == ["register"] and shown["deadlines"]
    text = ok(home, "petition", "show", hub["p_secret"])
    assert "赵六" in text and "检举控告类" in text
    helped = CliRunner().invoke(main, ["petition", "list", "--help"])
    assert helped.exit_code == 0 and "保密" in helped.stdout


def test_reading_writes_no_record(hub):
    home = hub["home"]
    store = HubStore(home / "hub.db")
    try:
        before = store.last_seq
    finally:
        store.close()
    for args in (("veteran", "list"), ("veteran", "show", "张三"), ("visit", "list"), ("petition", "list", "--overdue"),
                 ("petition", "show", hub["p_new"])):
        ok(home, *args)
    store = HubStore(home / "hub.db")
    try:
        assert store.last_seq == before
    finally:
        store.close()
