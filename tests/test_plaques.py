"""光荣牌 by household (国办发〔2018〕72号) and the national collection's fields at the
station: ``station-node plaque …``, ``veteran add/edit --set`` with the new fields,
``veteran list --category`` over the further categories, ``veteran show`` with plaques."""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

import pytest

from stationcli import ok, ok_json, run
from veterans.values import id_number_check_digit

VILLAGE = "440902001001"
TODAY = _dt.date.today().isoformat()


def idn(n: int) -> str:
    first17 = f"44090219700101{n % 1000:03d}"
    return first17 + id_number_check_digit(first17)


@pytest.fixture
def village(tmp_path: Path) -> Path:
    home = tmp_path / "village"
    ok(home, "init", "--station", VILLAGE, "--offline")
    return home


def add(home: Path, n: int, name: str = "张三", *sets: str) -> dict:
    extra = [a for s in sets for a in ("--set", s)]
    return ok_json(home, "veteran", "add", "--id-number", idn(n), "--name", name, "--area", VILLAGE, *extra)


def refused(home: Path, *args: str) -> str:
    result = run(home, *args)
    assert result.exit_code != 0, result.stdout
    message = result.stderr.strip()
    assert "\n" not in message and "Traceback" not in message, message
    return message


def test_further_categories_are_set_shown_and_listed_by_main_or_further(village):
    vet = add(village, 1, "张三", "category=退役士兵", "categories=残疾军人、参战退役人员，退役士兵")
    assert vet["categories"] == "disabled_soldier,war_veteran"  # the main one left out, in the enum's order
    assert vet["registered_on"] == TODAY  # 建档日期: the day the file is opened
    add(village, 2, "李四", "category=残疾军人")
    add(village, 3, "王五", "category=烈属")
    names = lambda cat: sorted(r["name"] for r in ok_json(village, "veteran", "list", "--category", cat))  # noqa: E731
    assert names("残疾军人") == ["张三", "李四"] and names("参战退役人员") == ["张三"] and names("烈属") == ["王五"]
    assert "其他类别" in ok(village, "veteran", "show", vet["id"]) and "残疾军人、参战退役人员" in ok(village, "veteran", "show", vet["id"])
    # the main category changed to a further one: it leaves the further ones
    edited = ok_json(village, "veteran", "edit", vet["id"], "--set", "category=残疾军人")
    assert edited["categories"] == "war_veteran"
    assert "其他类别 参站 无效" in refused(village, "veteran", "edit", vet["id"], "--set", "categories=参站")


def test_the_new_fields_rules_at_entry(village):
    vet = add(village, 4)
    vid = vet["id"]
    assert "去世日期只用于状态为“已故”的人员" in refused(village, "veteran", "edit", vid, "--set", "died_on=2020-01-01")
    assert "早于出生日期" in refused(village, "veteran", "edit", vid, "--set", "status=已故", "--set", "died_on=1960-01-01")
    assert "晚于今天" in refused(village, "veteran", "edit", vid, "--set", "status=已故", "--set", "died_on=2099-01-01")
    assert "迁出日期只用于" in refused(village, "veteran", "edit", vid, "--set", "moved_out_on=2020-01-01")
    assert "残疾军人证号只用于有伤残等级的人员" in refused(village, "veteran", "edit", vid, "--set", "disability_cert_no=粤1")
    ok(village, "veteran", "edit", vid, "--set", "伤残等级=六级", "--set", "评残日期=1995-03-01", "--set", "残疾军人证号=粤A001")
    ok(village, "veteran", "edit", vid, "--set", "status=已故")  # 已故 without a date: allowed (older files) …
    assert "去世日期未填" in ok(village, "veteran", "show", vid)  # … but shown
    ok(village, "veteran", "edit", vid, "--set", "died_on=2020-05-01")
    assert "去世日期未填" not in ok(village, "veteran", "show", vid)
    # a family member: the soldier (record id or 身份证号) with the relationship, both or neither
    assert "须同时填写与军人关系" in refused(village, "veteran", "add", "--id-number", idn(5), "--name", "李梅",
                                          "--area", VILLAGE, "--set", f"soldier_id={idn(4)}")
    assert "不是本站的退役军人档案" in refused(village, "veteran", "add", "--id-number", idn(5), "--name", "李梅",
                                          "--area", VILLAGE, "--set", "soldier_id=nobody", "--set", "relationship=配偶")
    wife = add(village, 5, "李梅", f"soldier_id={idn(4)}", "relationship=配偶")
    assert wife["soldier_id"] == vid
    assert "关联军人不能是本人" in refused(village, "veteran", "edit", vid, "--set", f"soldier_id={vid}",
                                         "--set", "relationship=其他")
    assert ok_json(village, "veteran", "show", wife["id"])["relationship"] == "spouse"


def test_plaques_are_added_listed_replaced_and_shown_with_the_veteran(village):
    vet = add(village, 6, "赵六", "address=东村1号")
    pid = ok(village, "plaque", "add", "--veteran", vet["id"], "--hung-on", "2024-08-01", "--hung-by", "村干部",
             "--signed-by", "赵六").strip()
    row = ok_json(village, "plaque", "show", pid)
    assert (row["household"], row["address"], row["area"], row["veteran_name"]) == ("赵六", "东村1号", VILLAGE, "赵六")
    # at most one plaque not replaced
    message = refused(village, "plaque", "add", "--veteran", vet["id"], "--hung-on", "2025-01-01")
    assert "已有未更换的光荣牌" in message and pid in message
    assert "晚于今天" in refused(village, "plaque", "add", "--veteran", add(village, 7)["id"], "--hung-on", "2099-01-01")
    assert "早于悬挂日期" in refused(village, "plaque", "replace", pid, "--on", "2024-07-01", "--reason", "褪色")
    ok(village, "plaque", "replace", pid, "--on", "2025-06-01", "--reason", "褪色")
    assert "已于 2025-06-01 更换" in refused(village, "plaque", "replace", pid, "--on", "2025-06-02", "--reason", "再换")
    new = ok(village, "plaque", "add", "--veteran", vet["id"], "--hung-on", "2025-06-01").strip()
    listed = ok_json(village, "plaque", "list")
    assert [p["id"] for p in listed] == [pid, new] and listed[0]["replace_reason"] == "褪色"
    assert len(ok_json(village, "plaque", "list", "--area", VILLAGE)) == 2
    shown = ok(village, "veteran", "show", vet["id"])
    assert "光荣牌（2块）" in shown and "褪色" in shown
    assert [p["id"] for p in ok_json(village, "veteran", "show", vet["id"])["plaques"]] == [pid, new]
    assert "光荣牌（2块）" in ok(village, "plaque", "list")


def test_a_station_syncs_its_plaques_and_family_links_to_the_hub(tmp_path):
    """In process, station store → LocalHub → hub store with the hub's checks: the rows the
    station's rules made are the rows the hub's rules admit (a plaque replaced and a new one
    hung before one sync; a family member linked to a soldier filed in the same push)."""
    from sync.engine.replicate import sync_once
    from sync.store.hub import HubStore
    from sync.store.local_hub import LocalHub
    from sync.store.station import Store
    from veterans.hub_checks import HUB_CHECKS

    home = tmp_path / "village"
    ok(home, "init", "--station", VILLAGE, "--offline")
    soldier = add(home, 8, "孙七", "status=已故", "died_on=2020-02-02", "categories=参战退役人员")
    add(home, 9, "周八", f"soldier_id={idn(8)}", "relationship=父母")
    first = ok(home, "plaque", "add", "--veteran", soldier["id"], "--hung-on", "2019-08-01").strip()
    ok(home, "plaque", "replace", first, "--on", "2024-01-02", "--reason", "褪色")
    second = ok(home, "plaque", "add", "--veteran", soldier["id"], "--hung-on", "2024-01-02").strip()
    hub = HubStore(tmp_path / "hub.db", create=True, checks=HUB_CHECKS)
    st = Store(home / "station.db")
    try:
        with hub.transaction():
            hub.set_meta("county", VILLAGE[:6])
        result = sync_once(st, LocalHub(hub, VILLAGE))
        assert result.rejected == 0 and st.pending_count() == 0
        assert {s.id for s in hub.live_rows("plaques", {"veteran_id": soldier["id"]})} == {first, second}
        assert hub.live_rows("veterans", {"soldier_id": soldier["id"]})[0].values["relationship"] == "parent"
    finally:
        hub.close()
        st.close()
