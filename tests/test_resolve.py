"""Conflicts end to end, in process: every kind created on two stations working
offline, reported at the hub and at the stations whose scope holds the row,
resolved at one side (some at the hub, some at a station), and converged
everywhere after the next syncs — the resolved value or merge, and the
conflict's status, the same on every replica."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from enginekit import COUNTY, TOWN, VILLAGE_A, VILLAGE_B, Network, snapshot
from station_node import records
from veterans import resolve as R
from veterans.values import id_number_check_digit
from sync.engine.errors import NotFound, ScopeError, ValidationError
from sync.store.local_hub import LocalHub
from sync.engine.replicate import sync_once

STATIONS = {"town": TOWN, "va": VILLAGE_A, "vb": VILLAGE_B}


def make_id(body: str) -> str:
    return body + id_number_check_digit(body)


ID1 = make_id("44090219600101001")
ID2 = make_id("44090219700202002")


@pytest.fixture()
def net(tmp_path):
    n = Network(tmp_path, STATIONS)
    yield n
    n.close()


def sync_all(net: Network, rounds: int = 1) -> None:
    for _ in range(rounds):
        for name in ("town", "va", "vb"):
            net.sync(name)


def assert_converged(net: Network) -> None:
    for name, scope in STATIONS.items():
        store = net.stations[name]
        assert snapshot(store, scope) == snapshot(net.hub, scope), f"{name} diverged from the hub"
        assert store.pending_count() == 0, f"{name} still has pending writes"


def conflicts_of(store, kind: str, *, include_resolved: bool = True) -> list[dict]:
    return [c for c in R.list_conflicts(store, include_resolved=include_resolved) if c["kind"] == kind]


def the_conflict(net: Network, kind: str, *, seen_by: tuple[str, ...], not_seen_by: tuple[str, ...] = ()) -> dict:
    (c,) = conflicts_of(net.hub, kind)
    assert c["status"] == "open"
    for name in seen_by:
        mine = conflicts_of(net.stations[name], kind)
        assert [x["id"] for x in mine] == [c["id"]], f"{name} does not list the conflict"
        assert mine[0]["record_name"] == c["record_name"]
    for name in not_seen_by:
        assert conflicts_of(net.stations[name], kind) == [], f"{name} sees a conflict outside its scope"
    return c


def assert_resolved_everywhere(net: Network, conflict_id: str, stations: tuple[str, ...]) -> dict:
    at_hub = R.get_conflict(net.hub, conflict_id)
    assert at_hub["status"] == "resolved" and at_hub["resolution"] and at_hub["resolved_by"]
    for name in stations:
        here = R.get_conflict(net.stations[name], conflict_id)
        assert (here["status"], here["resolution"], here["resolved_by"]) == (
            "resolved", at_hub["resolution"], at_hub["resolved_by"],
        )
        assert R.list_conflicts(net.stations[name]) == [], f"{name} still lists it as open"
    assert R.list_conflicts(net.hub) == []
    return at_hub


def veteran(store, vid: str) -> dict:
    return store.get("veterans", vid, include_deleted=True)


def new_veteran(net: Network, station: str = "town", area: str = VILLAGE_A, id_number: str = ID1, name: str = "张三") -> str:
    row = records.add_veteran(net.stations[station], {"id_number": id_number, "name": name, "area": area})
    return row["id"]


# --------------------------------------------------------------------------- concurrent edit


def test_concurrent_edit_resolved_at_a_station_keeping_the_loser(net):
    vid = new_veteran(net)
    sync_all(net)
    records.edit_veteran(net.stations["va"], vid, {"name": "张三甲"})
    records.edit_veteran(net.stations["town"], vid, {"name": "张三乙"})
    net.sync("va")
    net.sync("town")
    sync_all(net)

    c = the_conflict(net, "concurrent_edit", seen_by=("town", "va"), not_seen_by=("vb",))
    assert c["table"] == "veterans" and c["row_id"] == vid and c["field"] == "name"
    assert {c["winner_value"], c["loser_value"]} == {"张三甲", "张三乙"}
    assert c["winner_station"] in (TOWN, VILLAGE_A) and c["loser_station"] in (TOWN, VILLAGE_A)
    assert c["winner_at"] and c["loser_at"]
    assert c["record_name"] == c["winner_value"]

    out = R.resolve(net.stations["va"], c["id"], keep="loser", by=VILLAGE_A, scope=VILLAGE_A)
    assert out["status"] == "resolved" and c["loser_value"] in out["resolution"]
    sync_all(net, 2)

    assert_converged(net)
    for store in (net.hub, net.stations["town"], net.stations["va"]):
        assert veteran(store, vid)["name"] == c["loser_value"]
    done = assert_resolved_everywhere(net, c["id"], ("town", "va"))
    assert done["resolved_by"] == VILLAGE_A
    # the resolution itself raised no new conflict
    assert [x["kind"] for x in R.list_conflicts(net.hub, include_resolved=True)] == ["concurrent_edit"]


def test_concurrent_edit_resolved_at_the_hub_with_a_typed_value(net):
    vid = new_veteran(net)
    sync_all(net)
    records.edit_veteran(net.stations["va"], vid, {"phone": "13800138000"})
    records.edit_veteran(net.stations["town"], vid, {"phone": "13900139000"})
    net.sync("va")
    net.sync("town")
    sync_all(net)
    c = the_conflict(net, "concurrent_edit", seen_by=("town", "va"), not_seen_by=("vb",))

    with pytest.raises(ValidationError, match="电话 12345 无效"):  # not a phone number: nothing written
        R.resolve(net.hub, c["id"], value="12345", by="county", scope=COUNTY)
    assert R.get_conflict(net.hub, c["id"])["status"] == "open"

    out = R.resolve(net.hub, c["id"], value=" 13700137000 ", by="county", scope=COUNTY)
    assert out["writes"] == [{"table": "veterans", "id": vid, "fields": {"phone": "13700137000"}}]
    assert net.hub.conn.execute("SELECT count(*) FROM conflicts WHERE _pending IS NOT NULL").fetchone()[0] == 0
    assert net.hub.conn.execute("SELECT count(*) FROM veterans WHERE _pending IS NOT NULL").fetchone()[0] == 0
    sync_all(net, 2)

    assert_converged(net)
    for name in ("town", "va"):
        assert veteran(net.stations[name], vid)["phone"] == "13700137000"
    assert_resolved_everywhere(net, c["id"], ("town", "va"))
    # the hub's write is in the record's history, under the hub's own name
    stations = [r[0] for r in net.hub.conn.execute(
        "SELECT station FROM _history WHERE row_id = ? ORDER BY id", (vid,))]
    assert stations[-1] == COUNTY


def test_value_is_parsed_for_the_field(net):
    vid = new_veteran(net)
    sync_all(net)
    records.edit_veteran(net.stations["va"], vid, {"category": "retired_soldier"})
    records.edit_veteran(net.stations["town"], vid, {"category": "demobilized"})
    net.sync("va")
    net.sync("town")
    c = the_conflict(net, "concurrent_edit", seen_by=())
    assert R.display_row(c)["采用值"] in ("退役士兵", "复员军人")  # shown by its label
    with pytest.raises(ValidationError, match="类别 不明 无效"):
        R.resolve(net.hub, c["id"], value="不明", by="county", scope=COUNTY)
    out = R.resolve(net.hub, c["id"], value="烈属", by="county", scope=COUNTY)  # a Chinese label
    assert out["writes"][0]["fields"] == {"category": "martyr_family"}
    assert "烈属" in out["resolution"]


def test_required_field_cannot_be_cleared_and_choices_are_exclusive(net):
    vid = new_veteran(net)
    sync_all(net)
    records.edit_veteran(net.stations["va"], vid, {"name": "甲"})
    records.edit_veteran(net.stations["town"], vid, {"name": "乙"})
    net.sync("va")
    net.sync("town")
    c = the_conflict(net, "concurrent_edit", seen_by=())
    with pytest.raises(ValidationError, match="必填"):
        R.resolve(net.hub, c["id"], value="", by="county", scope=COUNTY)
    with pytest.raises(ValidationError, match="^请指定一种处理方式"):
        R.resolve(net.hub, c["id"], by="county", scope=COUNTY)
    with pytest.raises(ValidationError, match="不能同时用 --keep、--value"):
        R.resolve(net.hub, c["id"], keep="loser", value="丙", by="county", scope=COUNTY)
    with pytest.raises(ValidationError, match="--keep 应为 winner"):
        R.resolve(net.hub, c["id"], keep="both", by="county", scope=COUNTY)
    with pytest.raises(ValidationError, match="--merge-into 只用于重复登记冲突"):
        R.resolve(net.hub, c["id"], merge_into=vid, by="county", scope=COUNTY)
    with pytest.raises(NotFound, match="找不到冲突记录：no-such-conflict"):
        R.resolve(net.hub, "no-such-conflict", keep="winner", by="county", scope=COUNTY)


# --------------------------------------------------------------------------- delete / edit


def test_delete_edit_resolved_at_the_hub_by_undeleting(net):
    vid = new_veteran(net)
    sync_all(net)
    records.delete_veteran(net.stations["va"], vid)
    records.edit_veteran(net.stations["town"], vid, {"note": "已核实"})
    net.sync("va")
    net.sync("town")
    sync_all(net)

    c = the_conflict(net, "delete_edit", seen_by=("town", "va"), not_seen_by=("vb",))
    assert c["winner_station"] == VILLAGE_A and c["loser_station"] == TOWN
    assert json.loads(c["loser_value"]) == {"note": "已核实"}
    assert veteran(net.hub, vid)["deleted"] == 1

    with pytest.raises(ValidationError, match="不能用 --value 指定值"):  # --value does not fit a delete/edit
        R.resolve(net.hub, c["id"], value="x", by="county", scope=COUNTY)
    R.resolve(net.hub, c["id"], keep="loser", by="county", scope=COUNTY)
    sync_all(net, 2)

    assert_converged(net)
    for store in (net.hub, net.stations["town"], net.stations["va"]):
        row = veteran(store, vid)
        assert row["deleted"] == 0 and row["note"] == "已核实"
    assert_resolved_everywhere(net, c["id"], ("town", "va"))


def test_delete_edit_kept_deleted_at_a_station(net):
    vid = new_veteran(net)
    sync_all(net)
    records.delete_veteran(net.stations["town"], vid)
    records.edit_veteran(net.stations["va"], vid, {"note": "改了"})
    net.sync("town")
    net.sync("va")
    sync_all(net)
    c = the_conflict(net, "delete_edit", seen_by=("town", "va"), not_seen_by=("vb",))
    R.resolve(net.stations["town"], c["id"], keep="winner", by=TOWN, scope=TOWN)
    sync_all(net, 2)
    assert_converged(net)
    for store in (net.hub, net.stations["town"], net.stations["va"]):
        assert veteran(store, vid)["deleted"] == 1
    assert "维持删除" in assert_resolved_everywhere(net, c["id"], ("town", "va"))["resolution"]


# --------------------------------------------------------------------------- duplicate identity


def test_duplicate_identity_merged_at_the_town(net):
    a = new_veteran(net, "va", VILLAGE_A, ID1, "王五")
    b = new_veteran(net, "vb", VILLAGE_B, ID1, "王伍")
    visit = records.add_visit(net.stations["vb"], b, "phone", summary="电话慰问")["id"]
    pet = records.open_petition(net.stations["vb"], channel="letter", summary="咨询优待政策", veteran_id=b)["id"]
    sync_all(net, 2)

    # Filed at the town, the smallest area holding both veterans: neither village
    # learns that the other files the same person (DESIGN §5: nothing outside the scope).
    c = the_conflict(net, "duplicate_identity", seen_by=("town",), not_seen_by=("va", "vb"))
    assert c["area"] == TOWN
    assert {c["row_id"], c["winner_value"]} == {a, b}
    assert {c["record_name"], c["other_record_name"]} == {"王五", "王伍"}

    # the village cannot merge: it does not even hold the conflict
    with pytest.raises(NotFound, match="找不到冲突记录"):
        R.resolve(net.stations["va"], c["id"], merge_into=a, by=VILLAGE_A, scope=VILLAGE_A)
    with pytest.raises(ValidationError, match="重复登记须用 --merge-into"):
        R.resolve(net.stations["town"], c["id"], keep="winner", by=TOWN, scope=TOWN)
    with pytest.raises(ValidationError, match="之一：someone-else$"):
        R.resolve(net.stations["town"], c["id"], merge_into="someone-else", by=TOWN, scope=TOWN)

    out = R.resolve(net.stations["town"], c["id"], merge_into=a, by=TOWN, scope=TOWN)
    assert a in out["resolution"]
    sync_all(net, 2)

    assert_converged(net)
    for store in (net.hub, net.stations["town"], net.stations["vb"]):
        gone = veteran(store, b)
        assert gone["merged_into"] == a and gone["deleted"] == 1
    for store in (net.hub, net.stations["town"], net.stations["va"]):
        assert veteran(store, a)["deleted"] == 0
        v = store.get("visits", visit)
        assert (v["veteran_id"], v["area"]) == (a, VILLAGE_A)
        p = store.get("petitions", pet)
        assert (p["veteran_id"], p["area"]) == (a, VILLAGE_A)
        events = store.select("petition_events", "petition_id = ?", (pet,))
        assert events and all(e["area"] == VILLAGE_A for e in events)
    # the dependents left village B with the merge
    vb = net.stations["vb"]
    assert vb.load("visits", visit) is None and vb.load("petitions", pet) is None
    assert vb.select("petition_events", "petition_id = ?", (pet,)) == []
    assert_resolved_everywhere(net, c["id"], ("town",))
    # the merge raised no new duplicate
    assert len(conflicts_of(net.hub, "duplicate_identity")) == 1


def test_duplicate_identity_merged_at_the_hub_into_the_other(net):
    a = new_veteran(net, "va", VILLAGE_A, ID2, "赵六")
    b = new_veteran(net, "vb", VILLAGE_B, ID2, "赵六")
    visit = records.add_visit(net.stations["va"], a, "home")["id"]
    sync_all(net, 2)
    c = the_conflict(net, "duplicate_identity", seen_by=("town",))
    R.resolve(net.hub, c["id"], merge_into=b, by="county", scope=COUNTY)
    sync_all(net, 2)
    assert_converged(net)
    for store in (net.hub, net.stations["town"], net.stations["va"]):
        assert veteran(store, a)["merged_into"] == b
    for store in (net.hub, net.stations["town"], net.stations["vb"]):
        assert store.get("visits", visit)["veteran_id"] == b
    assert net.stations["va"].load("visits", visit) is None


# --------------------------------------------------------------------------- petition transition


def _transition_conflict(net: Network):
    vid = new_veteran(net)
    pet = records.open_petition(net.stations["town"], channel="visit", summary="反映优抚金发放", veteran_id=vid)["id"]
    sync_all(net)
    records.add_petition_event(net.stations["town"], pet, "accept")
    records.add_petition_event(net.stations["va"], pet, "reject", note="不属于受理范围")
    net.sync("town")
    net.sync("va")
    sync_all(net)
    c = the_conflict(net, "petition_transition", seen_by=("town", "va"), not_seen_by=("vb",))
    assert {c["winner_value"], c["loser_value"]} == {"accept", "reject"}
    assert c["record_name"] == "张三"
    return pet, c


def _status(store, pet):
    return records.petition_detail(store, pet)[2].status


@pytest.mark.parametrize("where", ["va", "hub"])
def test_petition_transition_keep_loser(net, where):
    pet, c = _transition_conflict(net)
    loser_status = {"accept": "accepted", "reject": "not_accepted"}[c["loser_value"]]
    store, by, scope = (net.hub, "county", COUNTY) if where == "hub" else (net.stations["va"], VILLAGE_A, VILLAGE_A)
    with pytest.raises(ValidationError, match="不能用 --value 指定值"):
        R.resolve(store, c["id"], value="accept", by=by, scope=scope)
    R.resolve(store, c["id"], keep="loser", by=by, scope=scope)
    sync_all(net, 2)
    assert_converged(net)
    for s in (net.hub, net.stations["town"], net.stations["va"]):
        kinds = [e["kind"] for e in s.select("petition_events", "petition_id = ?", (pet,))]
        assert sorted(kinds) == sorted(["register", c["loser_value"]])
        assert _status(s, pet) == loser_status
        assert s.load("petition_events", c["row_id"])[0].deleted is False
    assert_resolved_everywhere(net, c["id"], ("town", "va"))


def test_petition_transition_keep_winner_at_the_town(net):
    pet, c = _transition_conflict(net)
    R.resolve(net.stations["town"], c["id"], keep="winner", by=TOWN, scope=TOWN)
    sync_all(net, 2)
    assert_converged(net)
    for s in (net.hub, net.stations["town"], net.stations["va"]):
        assert s.load("petition_events", c["row_id"])[0].deleted is True
        kinds = [e["kind"] for e in s.select("petition_events", "petition_id = ?", (pet,))]
        assert sorted(kinds) == sorted(["register", c["winner_value"]])
    assert_resolved_everywhere(net, c["id"], ("town", "va"))


# --------------------------------------------------------------------------- refused edit


def _refused_conflict(net: Network):
    vid = new_veteran(net)
    sync_all(net)
    records.edit_veteran(net.stations["va"], vid, {"phone": "13800138000", "note": "村里补录"})
    records.edit_veteran(net.stations["town"], vid, {"area": VILLAGE_B})  # moved away meanwhile
    net.sync("town")
    report = net.sync("va")
    assert report.rejected == 1
    sync_all(net)
    c = the_conflict(net, "refused_edit", seen_by=("town", "vb"), not_seen_by=("va",))
    assert c["loser_station"] == VILLAGE_A and c["area"] == VILLAGE_B
    assert json.loads(c["loser_value"]) == {"phone": "13800138000", "note": "村里补录"}
    assert net.stations["va"].load("veterans", vid) is None  # evicted, the edit kept in its rejected list
    return vid, c


def test_refused_edit_taken_over_by_the_new_village(net):
    vid, c = _refused_conflict(net)
    with pytest.raises(ValidationError, match="涉及多个字段"):  # two fields: --value cannot say which
        R.resolve(net.stations["vb"], c["id"], value="x", by=VILLAGE_B, scope=VILLAGE_B)
    R.resolve(net.stations["vb"], c["id"], keep="loser", by=VILLAGE_B, scope=VILLAGE_B)
    sync_all(net, 2)
    assert_converged(net)
    for s in (net.hub, net.stations["town"], net.stations["vb"]):
        row = veteran(s, vid)
        assert (row["phone"], row["note"], row["area"]) == ("13800138000", "村里补录", VILLAGE_B)
    assert_resolved_everywhere(net, c["id"], ("town", "vb"))


def test_refused_edit_dismissed_at_the_hub(net):
    vid, c = _refused_conflict(net)
    R.resolve(net.hub, c["id"], keep="winner", by="county", scope=COUNTY)
    sync_all(net, 2)
    assert_converged(net)
    assert veteran(net.stations["vb"], vid)["phone"] is None
    assert_resolved_everywhere(net, c["id"], ("town", "vb"))


# --------------------------------------------------------------------------- refusals


def test_resolving_outside_scope_or_twice_is_refused(net):
    vid = new_veteran(net)
    sync_all(net)
    records.edit_veteran(net.stations["va"], vid, {"name": "甲"})
    records.edit_veteran(net.stations["town"], vid, {"name": "乙"})
    net.sync("va")
    net.sync("town")
    sync_all(net)
    c = the_conflict(net, "concurrent_edit", seen_by=("town", "va"))
    with pytest.raises(ScopeError, match="不在 440902001002 范围内"):
        R.resolve(net.hub, c["id"], keep="winner", by=VILLAGE_B, scope=VILLAGE_B)
    with pytest.raises(ScopeError, match="不在 440902002 范围内"):
        R.resolve(net.stations["town"], c["id"], keep="winner", by=TOWN, scope="440902002")
    R.resolve(net.stations["town"], c["id"], keep="winner", by=TOWN, scope=TOWN)
    with pytest.raises(ValidationError, match="已处理"):
        R.resolve(net.stations["town"], c["id"], keep="loser", by=TOWN, scope=TOWN)
    sync_all(net, 2)
    with pytest.raises(ValidationError, match="已处理"):
        R.resolve(net.hub, c["id"], keep="loser", by="county", scope=COUNTY)
    with pytest.raises(ValidationError, match="已处理"):
        R.resolve(net.stations["va"], c["id"], keep="loser", by=VILLAGE_A, scope=VILLAGE_A)
    assert_converged(net)
    assert_resolved_everywhere(net, c["id"], ("town", "va"))


def test_listing_filters(net):
    vid = new_veteran(net)
    sync_all(net)
    records.edit_veteran(net.stations["va"], vid, {"name": "甲"})
    records.edit_veteran(net.stations["town"], vid, {"name": "乙"})
    net.sync("va")
    net.sync("town")
    assert len(R.list_conflicts(net.hub, kind="concurrent_edit")) == 1
    assert len(R.list_conflicts(net.hub, kind="并发修改")) == 1
    assert R.list_conflicts(net.hub, kind="duplicate_identity") == []
    assert len(R.list_conflicts(net.hub, area=TOWN)) == 1
    assert R.list_conflicts(net.hub, area=VILLAGE_B) == []
    with pytest.raises(ValidationError, match="冲突类型 nonsense 无效"):
        R.list_conflicts(net.hub, kind="nonsense")
    (c,) = R.list_conflicts(net.hub)
    R.resolve(net.hub, c["id"], keep="winner", by="county", scope=COUNTY)
    assert R.list_conflicts(net.hub) == []
    assert [x["status"] for x in R.list_conflicts(net.hub, include_resolved=True)] == ["resolved"]
    row = R.display_row(R.get_conflict(net.hub, c["id"]))
    assert row["类型"] == "并发修改" and row["字段"] == "姓名" and row["状态"] == "已解决"


def test_hub_resolution_is_audited_through_the_registrys_callback(net):
    from county_hub.registry import Registry

    registry = Registry(net.hub)
    vid = new_veteran(net)
    sync_all(net)
    records.edit_veteran(net.stations["va"], vid, {"name": "甲"})
    records.edit_veteran(net.stations["town"], vid, {"name": "乙"})
    net.sync("va")
    net.sync("town")
    (c,) = R.list_conflicts(net.hub)
    R.resolve(net.hub, c["id"], keep="winner", by="county", scope=COUNTY, audit=registry.audit)
    (entry,) = [e for e in registry.audit_log() if e["kind"] == "resolve"]
    assert entry["station"] == "county" and entry["detail"]["conflict"] == c["id"]


# --------------------------------------------------------------------------- the station CLI


def _cli_station(tmp_path: Path, name: str, code: str):
    """A station home (its database synced in process with a Network's hub)."""
    from station_node import home as home_mod

    home = tmp_path / name
    return home, home_mod.init_offline(home, code)


def test_station_cli_lists_shows_and_resolves(tmp_path, net):
    from station_node.cli import main

    home, store = _cli_station(tmp_path, "cli-va", VILLAGE_A)
    try:
        vid = new_veteran(net)
        sync_all(net)
        sync_once(store, LocalHub(net.hub, VILLAGE_A))
        records.edit_veteran(store, vid, {"name": "李甲"})
        records.edit_veteran(net.stations["town"], vid, {"name": "李乙"})
        sync_once(store, LocalHub(net.hub, VILLAGE_A))
        net.sync("town")
        sync_once(store, LocalHub(net.hub, VILLAGE_A))
    finally:
        store.close()

    def run(*args):
        return CliRunner().invoke(main, [*args, "--home", str(home)])

    listed = run("conflicts", "--json")
    assert listed.exit_code == 0, listed.output
    (c,) = json.loads(listed.stdout)
    assert c["kind"] == "concurrent_edit" and c["status"] == "open"

    human = run("conflicts")
    assert human.exit_code == 0 and "采用值" in human.stdout and "未采用值" in human.stdout
    assert "并发修改" in human.stdout and c["record_name"] in human.stdout

    shown = run("conflicts", "show", c["id"], "--json")
    assert shown.exit_code == 0 and json.loads(shown.stdout)["id"] == c["id"]
    assert run("conflicts", "show", c["id"]).exit_code == 0
    missing = run("conflicts", "show", "nope")
    assert missing.exit_code == 1 and missing.stderr.startswith("错误")

    bad = run("conflicts", "resolve", c["id"])
    assert bad.exit_code != 0 and "错误" in bad.stderr
    done = run("conflicts", "resolve", c["id"], "--keep", "loser")
    assert done.exit_code == 0, done.output
    again = run("conflicts", "resolve", c["id"], "--keep", "winner")
    assert again.exit_code == 1 and "已处理" in again.stderr

    assert json.loads(run("conflicts", "--json").stdout) == []
    (after,) = json.loads(run("conflicts", "--all", "--json").stdout)
    assert after["status"] == "resolved" and after["resolved_by"] == VILLAGE_A
    assert run("conflicts", "--help").exit_code == 0
    assert run("conflicts", "resolve", "--help").exit_code == 0


# --------------------------------------------------------------------------- the hub CLI


def test_hub_cli_lists_filters_shows_and_resolves(tmp_path):
    from county_hub import home as hub_home
    from county_hub.cli import main as hub_main
    from county_hub.registry import Registry
    from sync.store.hub import HubStore
    from sync.store.station import Store

    home = tmp_path / "hub"
    hub_home.init_hub(home, COUNTY, "测试县", ["127.0.0.1"])
    hub = HubStore(hub_home.db_path(home))
    stations = {}
    for name, code in (("town", TOWN), ("va", VILLAGE_A)):
        s = Store(tmp_path / f"{name}.db", create=True)
        with s.transaction():
            s.set_meta("station", code)
            s.set_meta("scope", code)
        stations[name] = s
    try:
        vid = records.add_veteran(stations["town"], {"id_number": ID1, "name": "孙七", "area": VILLAGE_A})["id"]
        for name in ("town", "va"):
            sync_once(stations[name], LocalHub(hub, STATIONS[name]))
        records.edit_veteran(stations["va"], vid, {"address": "一组"})
        records.edit_veteran(stations["town"], vid, {"address": "二组"})
        for name in ("va", "town"):
            sync_once(stations[name], LocalHub(hub, STATIONS[name]))
    finally:
        hub.close()

    def run(*args):
        return CliRunner().invoke(hub_main, [*args, "--home", str(home)])

    (c,) = json.loads(run("conflicts", "--json").stdout)
    assert c["record_name"] == "孙七" and c["field"] == "address"
    assert json.loads(run("conflicts", "--kind", "并发修改", "--json").stdout) == [c]
    assert json.loads(run("conflicts", "--kind", "duplicate_identity", "--json").stdout) == []
    assert json.loads(run("conflicts", "--area", VILLAGE_B, "--json").stdout) == []
    assert json.loads(run("conflicts", "--area", TOWN, "--json").stdout) == [c]
    bad_kind = run("conflicts", "--kind", "nonsense")
    assert bad_kind.exit_code == 1 and bad_kind.stderr.startswith("错误")

    human = run("conflicts")
    assert human.exit_code == 0, human.output
    for text in ("采用值", "未采用值", "孙七", "并发修改", "住址", "一组", "二组"):
        assert text in human.stdout
    shown = run("conflicts", "show", c["id"])
    assert shown.exit_code == 0 and "采用值" in shown.stdout

    both = run("conflicts", "resolve", c["id"], "--keep", "loser", "--value", "三组")
    assert both.exit_code == 1 and "错误" in both.stderr
    done = run("conflicts", "resolve", c["id"], "--value", "三组", "--json")
    assert done.exit_code == 0, done.output
    out = json.loads(done.stdout)
    assert out["status"] == "resolved" and out["resolved_by"] == "county"
    assert out["writes"] == [{"table": "veterans", "id": vid, "fields": {"address": "三组"}}]
    assert run("conflicts", "resolve", c["id"], "--keep", "winner").exit_code == 1

    hub = HubStore(hub_home.db_path(home))
    try:
        entries = [e for e in Registry(hub).audit_log() if e["kind"] == "resolve"]
        assert len(entries) == 1 and entries[0]["detail"]["conflict"] == c["id"]
        for name in ("town", "va"):
            sync_once(stations[name], LocalHub(hub, STATIONS[name]))
            assert veteran(stations[name], vid)["address"] == "三组"
            assert R.get_conflict(stations[name], c["id"])["status"] == "resolved"
    finally:
        hub.close()
        for s in stations.values():
            s.close()


def test_a_conflict_follows_its_record_when_the_record_moves(tmp_path):
    """Found while building resolution: a moved row's conflicts must reach its new scope."""
    from enginekit import TOWN, VILLAGE_A, VILLAGE_B, Network

    net = Network(tmp_path, {"town": TOWN, "va": VILLAGE_A, "vb": VILLAGE_B})
    try:
        net.stations["town"].write("veterans", "v1", {"id_number": ID1, "name": "甲", "area": VILLAGE_A},
                                   create=True)
        for name in ("town", "va"):
            net.sync(name)
        net.stations["town"].write("veterans", "v1", {"name": "乙"})
        net.stations["va"].write("veterans", "v1", {"name": "丙"})
        for name in ("town", "va"):
            net.sync(name)
        assert net.hub.select("conflicts", "row_id = 'v1'")[0]["area"] == VILLAGE_A
        net.stations["town"].write("veterans", "v1", {"area": VILLAGE_B})
        for name in ("town", "va", "vb"):
            net.sync(name)
        assert [c["area"] for c in net.hub.select("conflicts", "row_id = 'v1'")] == [VILLAGE_B]
        assert [c["row_id"] for c in net.stations["vb"].select("conflicts")] == ["v1"]
        assert net.stations["va"].select("conflicts") == []
    finally:
        net.close()


def test_an_event_that_keeps_the_status_is_no_transition_conflict(tmp_path):
    """延期 keeps a petition 办理中; the 答复 after it starts from the same status
    without contending with it (found on generated data: false conflicts)."""
    from enginekit import TOWN, VILLAGE_A, Network

    net = Network(tmp_path, {"va": VILLAGE_A, "town": TOWN})
    try:
        va = net.stations["va"]
        va.write("petitions", "p1", {"area": VILLAGE_A, "petitioner": "甲", "channel": "visit", "station": VILLAGE_A,
                                     "received_on": "2026-01-05", "summary": "事项"}, create=True)
        for i, (kind, before) in enumerate([("register", None), ("accept", "registered"),
                                            ("extend", "accepted"), ("reply", "accepted")]):
            va.write("petition_events", f"e{i}", {"petition_id": "p1", "area": VILLAGE_A, "at": "2026-01-06",
                                                  "kind": kind, "from_status": before,
                                                  **({"note": "材料待补"} if kind == "extend" else {})}, create=True)
        net.sync("va")
        assert net.hub.select("conflicts") == []
        # two status changes from the same prior status still contend
        net.sync("town")
        net.stations["town"].write("petition_events", "t1", {"petition_id": "p1", "area": VILLAGE_A, "at": "2026-01-07",
                                                            "kind": "close", "from_status": "replied"}, create=True)
        va.write("petition_events", "e9", {"petition_id": "p1", "area": VILLAGE_A, "at": "2026-01-07",
                                          "kind": "review_request", "from_status": "replied"}, create=True)
        net.sync("town")
        net.sync("va")
        assert [c["kind"] for c in net.hub.select("conflicts")] == ["petition_transition"]
    finally:
        net.close()
