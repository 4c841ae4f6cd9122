"""常态化联系, the entry side (issue 14 §3): ``station-node trigger add/close/delete``,
``followup done``, a visit's follow-up and goods' value, a veteran's contact policy and
包联人; the same rules at the hub for what a hostile station pushes (in process, over a
real HubStore with the hub's checks), and a station's rows synced to a hub in process."""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

import pytest

from stationcli import ok, ok_json, refused
from test_admission import RA, RB, RT, edit, new_row, push, refused_reasons, veteran, visit
from enginekit import COUNTY, TOWN, VILLAGE_A, VILLAGE_B
from sync.store.hub import HubStore
from veterans.hub_checks import HUB_CHECKS
from veterans.values import id_number_check_digit

TODAY = _dt.date.today()
YESTERDAY = (TODAY - _dt.timedelta(days=1)).isoformat()
AHEAD = (TODAY + _dt.timedelta(days=30)).isoformat()
FAR = (TODAY + _dt.timedelta(days=400)).isoformat()  # beyond the hub's day of slack


def idn(n: int) -> str:
    first17 = f"44090219400101{n % 1000:03d}"
    return first17 + id_number_check_digit(first17)


@pytest.fixture
def village(tmp_path: Path) -> Path:
    home = tmp_path / "village"
    ok(home, "init", "--station", VILLAGE_A, "--offline")
    return home


def add_veteran(home: Path, n: int, name: str = "张三") -> dict:
    return ok_json(home, "veteran", "add", "--id-number", idn(n), "--name", name, "--area", VILLAGE_A)


# --------------------------------------------------------------------------- the station


def test_a_trigger_is_added_closed_and_deleted(village):
    vet = add_veteran(village, 1)
    row = ok_json(village, "trigger", "add", "--veteran", "张三", "--kind", "生病住院", "--on", YESTERDAY,
                  "--note", "县医院住院")
    assert (row["kind"], row["occurred_on"], row["due_by"], row["closed_on"]) == ("hospitalized", YESTERDAY, None, None)
    assert row["veteran_id"] == vet["id"] and row["area"] == VILLAGE_A and row["veteran_name"] == "张三"
    assert row["recorded_by"]  # stamped with the operator, as a visit
    tid = ok(village, "--operator", "李干事", "trigger", "add", "--veteran", vet["id"], "--kind", "立功受奖/送喜报",
             "--on", YESTERDAY, "--due", AHEAD).strip()
    closed = ok_json(village, "trigger", "close", tid, "--on", TODAY.isoformat())
    assert closed["closed_on"] == TODAY.isoformat() and closed["due_by"] == AHEAD and closed["kind"] == "award"
    assert "已于" in refused(village, "trigger", "close", tid, "--on", TODAY.isoformat())
    assert "已删除必访事项" in ok(village, "trigger", "delete", row["id"])
    assert "找不到必访事项" in refused(village, "trigger", "delete", row["id"])


@pytest.mark.parametrize("args, reason", [
    (("--kind", "住院", "--on", YESTERDAY), "事由 住院 无效"),
    (("--kind", "生病住院", "--on", AHEAD), f"发生日期 {AHEAD} 晚于今天"),
    (("--kind", "生病住院", "--on", YESTERDAY, "--due", "2020-01-01"), f"应访期限 2020-01-01 早于发生日期 {YESTERDAY}"),
    (("--kind", "", "--on", YESTERDAY), "缺少必填项：事由"),
])
def test_a_trigger_that_cannot_be_true_is_refused_and_nothing_written(village, args, reason):
    add_veteran(village, 2)
    assert reason in refused(village, "trigger", "add", "--veteran", "张三", *args)


def test_a_trigger_needs_a_live_veteran_and_closes_not_before_it_occurred(village):
    vet = add_veteran(village, 3)
    tid = ok(village, "trigger", "add", "--veteran", vet["id"], "--kind", "家庭变故", "--on", YESTERDAY).strip()
    assert f"关闭日期 2020-01-01 早于发生日期 {YESTERDAY}" in refused(village, "trigger", "close", tid, "--on", "2020-01-01")
    assert "晚于今天" in refused(village, "trigger", "close", tid, "--on", AHEAD)
    ok(village, "veteran", "delete", vet["id"], "--yes")
    assert "错误" in refused(village, "trigger", "add", "--veteran", vet["id"], "--kind", "家庭变故", "--on", YESTERDAY)


def test_a_visit_carries_its_follow_up_and_goods_value_and_the_follow_up_is_done(village):
    add_veteran(village, 4)
    v = ok_json(village, "visit", "add", "--veteran", "张三", "--kind", "入户", "--date", YESTERDAY,
                "--set", f"跟进期限={AHEAD}", "--set", "慰问品折价=200")
    assert (v["follow_up_due"], v["aid_goods_value"], v["follow_up_done"]) == (AHEAD, 200.0, None)
    assert f"跟进期限 2020-01-01 早于走访日期 {YESTERDAY}" in refused(
        village, "visit", "add", "--veteran", "张三", "--kind", "入户", "--date", YESTERDAY, "--set", "跟进期限=2020-01-01")
    assert "不能为负数" in refused(village, "visit", "add", "--veteran", "张三", "--kind", "入户", "--set", "慰问品折价=-5")
    assert "早于走访日期" in refused(village, "followup", "done", v["id"], "--on", "2020-01-01")
    assert "晚于今天" in refused(village, "followup", "done", v["id"], "--on", AHEAD)
    done = ok_json(village, "followup", "done", v["id"], "--on", TODAY.isoformat())
    assert done["follow_up_done"] == TODAY.isoformat() and done["veteran_name"] == "张三"
    assert "已于" in refused(village, "followup", "done", v["id"], "--on", TODAY.isoformat())
    # visit edit applies the same rules
    assert "早于走访日期" in refused(village, "visit", "edit", v["id"], "--set", "跟进完成日期=2020-01-01")


def test_the_contact_policy_and_liaison_are_set_by_their_labels(village):
    vet = add_veteran(village, 5)
    edited = ok_json(village, "veteran", "edit", vet["id"], "--set", "联系类型=重点", "--set", "包联人=李四")
    assert (edited["contact_policy"], edited["liaison"]) == ("key", "李四")
    assert ok_json(village, "veteran", "edit", vet["id"], "--set", "网格员=王五")["liaison"] == "王五"
    assert "联系类型 特别 无效" in refused(village, "veteran", "edit", vet["id"], "--set", "联系类型=特别")


# --------------------------------------------------------------------------- the hub


@pytest.fixture()
def hub(tmp_path):
    h = HubStore(tmp_path / "hub.db", create=True)
    with h.transaction():
        h.set_meta("county", COUNTY)
    h.checks = HUB_CHECKS
    yield h
    h.close()


def trigger(vet, replica: str, **over):
    values = {"veteran_id": vet.id, "area": vet.area, "kind": "hospitalized", "occurred_on": YESTERDAY, **over}
    return new_row("contact_triggers", values, replica)


def test_a_hostile_station_pushing_impossible_triggers_and_follow_ups_is_refused_row_by_row(hub):
    mine, theirs = veteran(60, VILLAGE_A, RA), veteran(61, VILLAGE_B, RB)
    assert not push(hub, [theirs], VILLAGE_B, RB).refused
    gone = veteran(62, VILLAGE_A, RA)
    assert not push(hub, [mine, gone], VILLAGE_A, RA).refused
    assert not push(hub, [edit(hub, "veterans", gone.id, {"deleted": 1}, RA)], VILLAGE_A, RA).refused
    good = trigger(mine, RA, due_by=AHEAD, note="住院")
    good_visit = visit(mine, VILLAGE_A, RA, visited_on=YESTERDAY, follow_up_due=AHEAD, follow_up_done=TODAY.isoformat(),
                       aid_goods_value=150.0)
    bad = [
        (trigger(mine, RA, occurred_on=FAR), f"发生日期 {FAR} 晚于今天"),
        (trigger(mine, RA, due_by="2020-01-01"), f"应访期限 2020-01-01 早于发生日期 {YESTERDAY}"),
        (trigger(mine, RA, closed_on="2020-01-01"), f"关闭日期 2020-01-01 早于发生日期 {YESTERDAY}"),
        (trigger(mine, RA, kind="lottery"), "事由 lottery 无效"),
        (trigger(mine, RA, kind=None), "缺少必填项：事由"),
        (trigger(mine, RA, area="440902001009"), "不在本站范围"),
        (trigger(theirs, RA, area=VILLAGE_A), "关联的退役军人不在本站范围内，未保存"),
        (trigger(gone, RA), "关联的退役军人不在本站范围内，未保存"),
        (visit(mine, VILLAGE_A, RA, visited_on=YESTERDAY, follow_up_done="2020-01-01"),
         f"跟进完成日期 2020-01-01 早于走访日期 {YESTERDAY}"),
        (visit(mine, VILLAGE_A, RA, visited_on=YESTERDAY, follow_up_due="2020-01-01"),
         f"跟进期限 2020-01-01 早于走访日期 {YESTERDAY}"),
        (visit(mine, VILLAGE_A, RA, follow_up_done=FAR), f"跟进完成日期 {FAR} 晚于今天"),
        (visit(mine, VILLAGE_A, RA, aid_goods_value=-5.0), "慰问品折价（元） -5 不能为负数"),
        (visit(mine, VILLAGE_A, RA, aid_goods_value=float("inf")), "慰问品折价"),
    ]
    r = push(hub, [good, *[row for row, _ in bad], good_visit], VILLAGE_A, RA)
    reasons = dict(((i, why) for _t, i, why in r.refused))
    for row, reason in bad:
        assert reason in reasons.get(row.id, ""), (row.values, reasons.get(row.id))
    assert len(r.refused) == len(bad)
    assert {i for _t, i, _c in r.acked} == {good.id, good_visit.id}
    assert hub.get("contact_triggers", good.id)["due_by"] == AHEAD
    assert hub.get("visits", good_visit.id)["aid_goods_value"] == 150.0
    for row, _ in bad:
        assert hub.load(row.table, row.id) is None
    # an edit of a stored trigger is held to the same rules; the hub goes on serving
    r = push(hub, [edit(hub, "contact_triggers", good.id, {"closed_on": "2020-01-01"}, RA)], VILLAGE_A, RA)
    assert refused_reasons(r) == [f"关闭日期 2020-01-01 早于发生日期 {YESTERDAY}"]
    r = push(hub, [edit(hub, "contact_triggers", good.id, {"closed_on": TODAY.isoformat()}, RA)], VILLAGE_A, RA)
    assert not r.refused and hub.get("contact_triggers", good.id)["closed_on"] == TODAY.isoformat()
    # the town sees its village's trigger; a trigger in another village than its veteran's is refused
    assert refused_reasons(push(hub, [trigger(mine, RT, area=VILLAGE_B)], TOWN, RT)) == ["区划代码应与所属退役军人一致"]
    assert "一致" in refused_reasons(push(hub, [edit(hub, "contact_triggers", good.id, {"area": VILLAGE_B}, RT)],
                                          TOWN, RT))[0]


def test_a_station_syncs_its_triggers_and_follow_ups_to_the_hub(tmp_path):
    """In process, station store → LocalHub → hub store with the hub's checks: what the
    station's rules let through, the hub's rules admit."""
    from sync.engine.replicate import sync_once
    from sync.store.local_hub import LocalHub
    from sync.store.station import Store

    home = tmp_path / "village"
    ok(home, "init", "--station", VILLAGE_A, "--offline")
    vet = add_veteran(home, 7)
    ok(home, "veteran", "edit", vet["id"], "--set", "联系类型=重点", "--set", "包联人=李四")
    tid = ok(home, "trigger", "add", "--veteran", vet["id"], "--kind", "80岁以上生日", "--on", YESTERDAY,
             "--due", AHEAD).strip()
    v = ok_json(home, "visit", "add", "--veteran", vet["id"], "--kind", "入户", "--date", YESTERDAY,
                "--set", f"跟进期限={AHEAD}", "--set", "慰问品折价=88.5")
    ok(home, "followup", "done", v["id"], "--on", TODAY.isoformat())
    ok(home, "trigger", "close", tid, "--on", TODAY.isoformat())
    hub = HubStore(tmp_path / "hub.db", create=True, checks=HUB_CHECKS)
    st = Store(home / "station.db")
    try:
        with hub.transaction():
            hub.set_meta("county", COUNTY)
        result = sync_once(st, LocalHub(hub, VILLAGE_A))
        assert result.rejected == 0 and st.pending_count() == 0
        t = hub.get("contact_triggers", tid)
        assert (t["kind"], t["due_by"], t["closed_on"], t["area"]) == ("birthday80", AHEAD, TODAY.isoformat(), VILLAGE_A)
        visit_row = hub.get("visits", v["id"])
        assert (visit_row["follow_up_done"], visit_row["aid_goods_value"]) == (TODAY.isoformat(), 88.5)
        assert hub.get("veterans", vet["id"])["liaison"] == "李四"
    finally:
        hub.close()
        st.close()


# --------------------------------------------------------------------------- the record page


def test_the_record_page_registers_a_trigger_and_refuses_one_that_cannot_be_true(tmp_path):
    from webapp import station_client, station_home

    home = station_home(tmp_path, VILLAGE_A)
    vet = add_veteran(home, 9, "赵六")
    web = station_client(home)
    page = web.get(f"/veterans/{vet['id']}").get_data(as_text=True)
    assert 'id="trigger-form"' in page and "80岁以上生日" in page
    r = web.post(f"/veterans/{vet['id']}/triggers", data={"kind": "hardship", "occurred_on": YESTERDAY, "due_by": AHEAD,
                                                          "note": "房屋漏雨"}, follow_redirects=True)
    assert r.status_code == 200 and f"已登记必访事项：{YESTERDAY} 生活困难" in r.get_data(as_text=True)
    r = web.post(f"/veterans/{vet['id']}/triggers", data={"kind": "hardship", "occurred_on": AHEAD},
                 follow_redirects=True)
    assert f"必访事项未登记：发生日期 {AHEAD} 晚于今天" in r.get_data(as_text=True)
    from sync.store.station import Store

    st = Store(home / "station.db")
    try:
        rows = [s for s, _ in st.read_states("contact_triggers")]
    finally:
        st.close()
    assert [(s.values["kind"], s.values["due_by"], s.values["note"], s.values["recorded_by"]) for s in rows] == \
        [("hardship", AHEAD, "房屋漏雨", "王芳")]


def test_a_trigger_follows_its_veteran_and_none_is_taken_for_a_merged_one(hub):
    vet, dup = veteran(70, VILLAGE_A, RA), veteran(71, VILLAGE_A, RA)
    t = trigger(vet, RA)
    assert not push(hub, [vet, dup, t], VILLAGE_A, RA).refused
    # the town moves the veteran to another village: the hub re-stamps the trigger, as a visit
    assert not push(hub, [edit(hub, "veterans", vet.id, {"area": VILLAGE_B}, RT)], TOWN, RT).refused
    assert hub.get("contact_triggers", t.id)["area"] == VILLAGE_B
    # a record merged into another (the county resolving a duplicate) takes no new trigger
    with hub.transaction():
        hub.write_as_hub("veterans", dup.id, {"merged_into": vet.id})
    assert refused_reasons(push(hub, [trigger(dup, RA)], VILLAGE_A, RA)) == ["关联的退役军人不在本站范围内，未保存"]
    assert refused_reasons(push(hub, [trigger(vet, RT, area=VILLAGE_B)], TOWN, RT)) == []
