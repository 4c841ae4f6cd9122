"""The county's area list (issue 14 §2): ``county-hub areas import/list``, its
replication to each station's subtree, the hub-only writes of the ``areas`` table
(a hostile station's push refused, a station's own store refusing the write), and
unknown area codes refused at entry on both sides once a store holds a list.
The same hostile push against a real hub process: tests/test_e2e_attack_rows.py."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner

from county_hub.cli import main as hub_main
from enginekit import COUNTY, TOWN, VILLAGE_A, VILLAGE_B, Network
from station_node import records, roster
from sync.engine.errors import ValidationError
from sync.engine.hlc import make_version
from sync.engine.rowstate import RowState
from sync.store.areas import area_names, area_rows, area_states, has_area_list, unknown_areas
from sync.store.hub import HubStore
from veterans.hub_checks import HUB_CHECKS
from veterans.places import place, place_name, town_of
from veterans.values import id_number_check_digit

TOWN2 = "440902002"
VC = "440902002001"  # a village of the other town
RA = "a1" * 8

LIST_CSV = (
    "茂南区区划名单,,\n"  # a title row above the header, as county files have
    ",,\n"
    "统计用区划代码,名称,层级\n"
    "440902000000,茂南区,县\n"  # the national 12-digit form of the county
    "440902001000,甲镇,镇\n"  # ... and of a town
    "440902001001,一村,村\n"
    "440902001002,二村,\n"
    "440902002,乙镇,\n"
    "440902002001,三村,社区\n"
)


def idn(n: int) -> str:
    first17 = f"44090219700101{n % 1000:03d}"
    return first17 + id_number_check_digit(first17)


_tick = [0]


def new_row(table: str, values: dict, replica: str = RA, row_id: str | None = None) -> RowState:
    _tick[0] += 1
    v = make_version(int(time.time() * 1000), _tick[0] % 10000, replica)
    values = {"deleted": 0, **values}
    return RowState(table, row_id or str(uuid.uuid4()), values, dict.fromkeys(values, v), dict.fromkeys(values, ""))


def put_list(hub: HubStore, names: dict[str, str]) -> None:
    with hub.transaction():
        for code, name in names.items():
            level = {6: "county", 9: "town", 12: "village"}[len(code)]
            hub.write_as_hub("areas", code, {"area": code, "name": name, "level": level}, create=True)


NAMES = {TOWN: "甲镇", VILLAGE_A: "一村", VILLAGE_B: "二村", TOWN2: "乙镇", VC: "三村"}


# --------------------------------------------------------------------------- the reader and the formatter


def test_the_reader_gives_live_names_under_a_prefix_on_either_store(tmp_path):
    net = Network(tmp_path, {"town": TOWN})
    try:
        assert not has_area_list(net.hub) and area_names(net.hub) == {}
        put_list(net.hub, NAMES)
        net.hub.write_as_hub("areas", VC, {"deleted": 1})  # removed from the list
        assert area_names(net.hub) == {TOWN: "甲镇", VILLAGE_A: "一村", VILLAGE_B: "二村", TOWN2: "乙镇"}
        assert area_names(net.hub, TOWN) == {TOWN: "甲镇", VILLAGE_A: "一村", VILLAGE_B: "二村"}
        assert unknown_areas(net.hub, [VILLAGE_A, VC, "440902009"]) == {VC, "440902009"}
        assert area_states(net.hub)[VC]["deleted"] == 1
        assert [r["code"] for r in area_rows(net.hub, TOWN2)] == [TOWN2]
        net.sync("town")
        st = net.stations["town"]
        assert has_area_list(st) and area_names(st) == {TOWN: "甲镇", VILLAGE_A: "一村", VILLAGE_B: "二村"}
    finally:
        net.close()


def test_place_shows_the_name_beside_the_code_or_the_bare_code():
    assert place(VILLAGE_A, NAMES) == "一村（440902001001）"
    assert place("440902001009", NAMES) == "440902001009"
    assert place(None, NAMES) == "" and place_name(VC, NAMES) == "三村" and place_name(VC, {}) is None
    assert town_of(VILLAGE_A) == TOWN and town_of(TOWN) == TOWN and town_of(COUNTY) is None


# --------------------------------------------------------------------------- hub-only writes


def _counts(hub: HubStore) -> dict:
    return {t: len(hub.select(t, "1")) for t in ("areas", "conflicts", "veterans")}


def test_the_hub_refuses_every_pushed_areas_row_and_takes_the_rest_of_the_batch(tmp_path):
    hub = HubStore(tmp_path / "hub.db", create=True, checks=HUB_CHECKS)
    try:
        with hub.transaction():
            hub.set_meta("county", COUNTY)
        put_list(hub, NAMES)
        before = _counts(hub)
        state = hub.load("areas", VILLAGE_A)[0]

        def edit(changes: dict) -> RowState:
            _tick[0] += 1
            v = make_version(int(time.time() * 1000), _tick[0] % 10000, RA)
            values = {"area": state.area, "deleted": 0, **changes}
            clock = {"area": state.clock["area"], "deleted": state.clock["deleted"], **dict.fromkeys(changes, v)}
            return RowState("areas", VILLAGE_A, values, clock, {n: state.clock.get(n, "") for n in changes})

        vet = new_row("veterans", {"id_number": idn(1), "name": "甲", "area": VILLAGE_A})
        hostile = [
            new_row("areas", {"area": "440902001003", "name": "假村", "level": "village"}, row_id="440902001003"),
            edit({"name": "改名村"}),
            edit({"level": "town"}),
            edit({"deleted": 1}),
            edit({"status": "resolved", "resolution": "x", "resolved_by": "y"}),  # a conflict's fields
        ]
        r = hub.apply_push([*hostile, vet], station=TOWN, scope=TOWN, replica_id=RA)
        assert [a[1] for a in r.acked] == [vet.id]
        assert len(r.refused) == len(hostile)
        reasons = [reason for _t, _id, reason in r.refused]
        assert reasons[:4] == ["区划名称只能由县中心写入，站点不能新增或修改，未保存"] * 4
        assert reasons[4] == "区划名称没有字段 status"  # a conflict's fields: not the conflicts path
        after = _counts(hub)
        assert after["areas"] == before["areas"] and after["conflicts"] == before["conflicts"]  # no refused-edit filed
        assert hub.load("areas", VILLAGE_A)[0].values == state.values
        assert area_names(hub) == NAMES
        # another town's row: out of its scope, the usual words
        r = hub.apply_push([new_row("areas", {"area": VC, "name": "x"}, row_id=VC)], station=TOWN,
                           scope=TOWN, replica_id=RA)
        assert r.refused[0][2].startswith("区划代码 440902002001 不在本站范围")
    finally:
        hub.close()


def test_a_station_store_refuses_writing_areas_and_keeps_what_it_pulls(tmp_path):
    net = Network(tmp_path, {"va": VILLAGE_A})
    try:
        va = net.stations["va"]
        with pytest.raises(ValidationError, match="只能由县中心写入"):
            va.write("areas", VILLAGE_A, {"area": VILLAGE_A, "name": "一村"}, create=True)
        put_list(net.hub, NAMES)
        net.sync("va")
        with pytest.raises(ValidationError, match="只能由县中心写入"):
            va.write("areas", VILLAGE_A, {"name": "改名"})
        assert area_names(va) == {VILLAGE_A: "一村"} and va.pending_count() == 0
        # a conflict stays resolvable by the station (the one hub-only table it writes a field of)
        assert "conflicts" not in __import__("sync.store.rows", fromlist=["STATION_READ_ONLY"]).STATION_READ_ONLY
    finally:
        net.close()


def test_a_recovery_gives_the_restored_hub_its_own_area_rows_back_but_no_forged_one(tmp_path):
    net = Network(tmp_path, {"town": TOWN})
    try:
        net.backup_hub(tmp_path / "backup.db")  # before the list
        put_list(net.hub, NAMES)
        net.sync("town")
        st = net.stations["town"]
        # a forged row the station holds as pulled (written into its file by hand)
        forged = new_row("areas", {"area": "440902001009", "name": "假村", "level": "village"},
                         replica=st.replica_id, row_id="440902001009")
        with st.transaction():
            st.save_rows([(forged, None)])
        net.put_back_hub(tmp_path / "backup.db")
        assert area_names(net.hub) == {}
        net.sync("town")
        net.sync("town")
        assert area_names(net.hub) == {TOWN: "甲镇", VILLAGE_A: "一村", VILLAGE_B: "二村"}
        assert net.hub.load("areas", "440902001009") is None
    finally:
        net.close()


# --------------------------------------------------------------------------- replication


def test_a_town_station_pulls_its_town_and_villages_and_nothing_of_another_town(tmp_path):
    net = Network(tmp_path, {"town": TOWN, "va": VILLAGE_A, "town2": TOWN2})
    try:
        put_list(net.hub, {COUNTY: "茂南区", **NAMES})
        for name in net.stations:
            net.sync(name)
        assert area_names(net.stations["town"]) == {TOWN: "甲镇", VILLAGE_A: "一村", VILLAGE_B: "二村"}
        assert area_names(net.stations["va"]) == {VILLAGE_A: "一村"}
        assert area_names(net.stations["town2"]) == {TOWN2: "乙镇", VC: "三村"}
        # a rename and a removal reach the station on its next pull
        net.hub.write_as_hub("areas", VILLAGE_B, {"name": "二社区"})
        net.hub.write_as_hub("areas", VILLAGE_A, {"deleted": 1})
        net.sync("town")
        assert area_names(net.stations["town"]) == {TOWN: "甲镇", VILLAGE_B: "二社区"}
    finally:
        net.close()


# --------------------------------------------------------------------------- unknown codes at entry


def test_a_station_with_a_list_refuses_an_unlisted_area_and_one_without_takes_it(tmp_path):
    net = Network(tmp_path, {"town": TOWN})
    try:
        st = net.stations["town"]
        unlisted = "440902001007"
        before = records.add_veteran(st, {"id_number": idn(2), "name": "乙", "area": unlisted})  # no list yet
        net.sync("town")  # ... at the hub either
        put_list(net.hub, NAMES)
        net.sync("town")
        with pytest.raises(ValidationError) as err:
            records.add_veteran(st, {"id_number": idn(3), "name": "丙", "area": unlisted})
        assert str(err.value).startswith("区划代码 440902001007 不在县区划名单中（")
        with pytest.raises(ValidationError, match="不在县区划名单中"):
            records.edit_veteran(st, before["id"], {"area": "440902001008"})
        with pytest.raises(ValidationError, match="不在县区划名单中"):
            records.open_petition(st, channel="letter", summary="咨询", petitioner="丁", area=unlisted)
        # a veteran filed before the list keeps its code and stays editable; listed codes are taken
        records.edit_veteran(st, before["id"], {"phone": "13800000000"})
        records.open_petition(st, channel="letter", summary="咨询", veteran_id=before["id"])
        assert net.sync("town").rejected == 0  # the hub takes them: the veteran's area is not new
        moved = records.edit_veteran(st, before["id"], {"area": VILLAGE_B})
        assert moved["area"] == VILLAGE_B
        assert records.add_veteran(st, {"id_number": idn(4), "name": "戊", "area": VILLAGE_A})["area"] == VILLAGE_A
        assert records.add_veteran(st, {"id_number": idn(5), "name": "己", "area": TOWN})["area"] == TOWN
        report = net.sync("town")
        assert report.rejected == 0, st.rejected()
    finally:
        net.close()


def test_a_roster_row_with_an_unlisted_area_is_refused_with_its_line(tmp_path):
    net = Network(tmp_path, {"town": TOWN})
    try:
        put_list(net.hub, NAMES)
        net.sync("town")
        st = net.stations["town"]
        path = tmp_path / "roster.csv"
        path.write_text(f"姓名,身份证号,区划代码\n甲,{idn(6)},{VILLAGE_A}\n乙,{idn(7)},440902001005\n", encoding="utf-8")
        with pytest.raises(roster.RosterError) as err:
            roster.import_roster(st, path)
        assert [(p.line, p.message) for p in err.value.problems] == [(3, "区划代码 440902001005 不在县区划名单中")]
        assert records.veteran_page(st).total == 0  # all or nothing
    finally:
        net.close()


def test_the_hub_refuses_a_pushed_area_off_its_list_only_when_it_has_one(tmp_path):
    hub = HubStore(tmp_path / "hub.db", create=True, checks=HUB_CHECKS)
    try:
        with hub.transaction():
            hub.set_meta("county", COUNTY)
        early = new_row("veterans", {"id_number": idn(8), "name": "甲", "area": "440902001007"})
        assert hub.apply_push([early], station=TOWN, scope=TOWN, replica_id=RA).acked  # no list: as before
        put_list(hub, NAMES)
        vet = new_row("veterans", {"id_number": idn(9), "name": "乙", "area": "440902001006"})
        pet = new_row("petitions", {"area": "440902001006", "station": TOWN, "petitioner": "丙", "channel": "letter",
                                    "received_on": "2024-05-01", "summary": "反映问题", "class": "appeal",
                                    "confidential": 0})
        good = new_row("veterans", {"id_number": idn(10), "name": "丁", "area": VILLAGE_A})
        r = hub.apply_push([vet, pet, good], station=TOWN, scope=TOWN, replica_id=RA)
        assert [a[1] for a in r.acked] == [good.id]
        assert sorted(reason for _t, _i, reason in r.refused) == ["区划代码 440902001006 不在县区划名单中"] * 2
        # the early veteran: an edit that leaves its area is taken, a move to an unlisted code is not
        state = hub.load("veterans", early.id)[0]

        def edit(changes):
            _tick[0] += 1
            v = make_version(int(time.time() * 1000), _tick[0] % 10000, RA)
            values = {"area": state.area, "deleted": 0, **changes}
            clock = {"area": state.clock["area"], "deleted": state.clock["deleted"], **dict.fromkeys(changes, v)}
            return RowState("veterans", early.id, values, clock, {n: state.clock.get(n, "") for n in changes})

        assert hub.apply_push([edit({"phone": "13800000000"})], station=TOWN, scope=TOWN, replica_id=RA).acked
        state = hub.load("veterans", early.id)[0]
        r = hub.apply_push([edit({"area": "440902001005"})], station=TOWN, scope=TOWN, replica_id=RA)
        assert r.refused and r.refused[0][2] == "区划代码 440902001005 不在县区划名单中"
        assert hub.apply_push([edit({"area": VILLAGE_B})], station=TOWN, scope=TOWN, replica_id=RA).acked
    finally:
        hub.close()


# --------------------------------------------------------------------------- the command line


def run(home: Path, *args: str):
    return CliRunner().invoke(hub_main, [*args, "--home", str(home)])


def ok(home: Path, *args: str) -> str:
    result = run(home, *args)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result.stdout


@pytest.fixture(scope="module")
def hub_home(tmp_path_factory) -> Path:
    """One initialised hub home (its CA made once); each test copies it."""
    home = tmp_path_factory.mktemp("hubhome") / "hub"
    ok(home, "init", "--county", COUNTY, "--name", "茂南区退役军人服务中心", "--host", "hub.example")
    return home


@pytest.fixture
def home(hub_home, tmp_path) -> Path:
    import shutil

    dest = tmp_path / "hub"
    shutil.copytree(hub_home, dest)
    return dest


def test_import_reads_the_file_derives_levels_and_lists_by_subtree(home, tmp_path):
    path = tmp_path / "areas.csv"
    path.write_text(LIST_CSV, encoding="utf-8")
    dry = json.loads(ok(home, "areas", "import", str(path), "--dry-run", "--json"))
    assert dry["dry_run"] and dry["added"] == 6 and dry["total"] == 0
    out = ok(home, "areas", "import", str(path))
    assert "新增 6 个，改名 0 个，删除 0 个" in out
    listed = json.loads(ok(home, "areas", "list", "--json"))
    assert listed == [
        {"code": COUNTY, "name": "茂南区", "level": "county"},
        {"code": TOWN, "name": "甲镇", "level": "town"},
        {"code": VILLAGE_A, "name": "一村", "level": "village"},
        {"code": VILLAGE_B, "name": "二村", "level": "village"},
        {"code": TOWN2, "name": "乙镇", "level": "town"},
        {"code": VC, "name": "三村", "level": "village"},
    ]
    assert [r["code"] for r in json.loads(ok(home, "areas", "list", "--under", TOWN2, "--json"))] == [TOWN2, VC]
    table = ok(home, "areas", "list", "--under", TOWN)
    assert "一村" in table and "村/社区" in table and "三村" not in table
    audit = json.loads(ok(home, "audit", "--json"))
    entries = [e for e in (audit if isinstance(audit, list) else audit["entries"]) if e["kind"] == "areas_import"]
    assert len(entries) == 1 and entries[0]["detail"]["added"] == 6

    # again, with a rename, a new village and one left out: kept, then removed with --replace
    path.write_text("区划代码,名称\n440902001,甲镇\n440902001001,一社区\n440902001003,四村\n440902002,乙镇\n"
                    "440902002001,三村\n440902,茂南区\n", encoding="utf-8")
    again = json.loads(ok(home, "areas", "import", str(path), "--json"))
    assert (again["added"], again["renamed"], again["removed"], again["kept"]) == (1, 1, 0, 1)
    assert VILLAGE_B in [r["code"] for r in json.loads(ok(home, "areas", "list", "--json"))]
    replaced = json.loads(ok(home, "areas", "import", str(path), "--replace", "--json"))
    assert (replaced["added"], replaced["renamed"], replaced["removed"], replaced["unchanged"]) == (0, 0, 1, 6)
    names = {r["code"]: r["name"] for r in json.loads(ok(home, "areas", "list", "--json"))}
    assert VILLAGE_B not in names and names[VILLAGE_A] == "一社区" and names["440902001003"] == "四村"
    hub = HubStore(home / "hub.db")
    try:
        assert hub.load("areas", VILLAGE_B)[0].deleted  # a tombstone that syncs, not a row gone
    finally:
        hub.close()


def test_a_bad_list_is_refused_whole_with_each_line_and_reason(home, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("区划代码,名称,层级\n"
                    "440902001,甲镇,\n"
                    "44090200100,短码,\n"  # 11 digits
                    "440903001001,外县村,\n"  # another county
                    "440902001001,,\n"  # no name
                    "440902001002,二村,镇\n"  # level against the code
                    "440902001,甲镇重复,\n"  # the same code twice
                    ",无码村,\n", encoding="utf-8")
    result = run(home, "areas", "import", str(path))
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert lines[:-1] == [
        "第 3 行：区划代码 44090200100 应为6、9或12位数字",
        "第 4 行：区划代码 440903001001 不属于本县 440902",
        "第 5 行：区划代码 440902001001 未填名称",
        "第 6 行：层级“镇”与区划代码 440902001002 不符（12 位代码应为“村/社区”）",
        "第 7 行：区划代码 440902001 与第 2 行重复",
        "第 8 行：未填区划代码",
    ]
    assert lines[-1].startswith("错误：区划名单有 6 行有误，未导入任何区划")
    assert json.loads(ok(home, "areas", "list", "--json")) == []
    # a file without the columns: one line
    path.write_text("姓名,身份证号\n甲,1\n", encoding="utf-8")
    result = run(home, "areas", "import", str(path))
    assert result.exit_code == 1 and "缺少“区划代码”“名称”列" in result.stderr


def test_import_of_an_xlsx_with_number_cells(home, tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["某县区划"])
    ws.append(["区划代码", "名称"])
    ws.append([440902001, "甲镇"])
    ws.append([440902001001, "一村"])
    path = tmp_path / "areas.xlsx"
    wb.save(path)
    out = json.loads(ok(home, "areas", "import", str(path), "--json"))
    assert out["added"] == 2
    assert json.loads(ok(home, "areas", "list", "--json"))[1] == {"code": VILLAGE_A, "name": "一村", "level": "village"}


def test_an_import_of_three_thousand_codes_is_one_quick_transaction(home, tmp_path):
    lines = ["区划代码,名称"]
    for t in range(1, 31):
        lines.append(f"440902{t:03d},镇{t}")
        lines += [f"440902{t:03d}{v:03d},村{t}-{v}" for v in range(1, 100)]
    path = tmp_path / "big.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    started = time.monotonic()
    out = json.loads(ok(home, "areas", "import", str(path), "--json"))
    assert out["added"] == 3000 and out["total"] == 3000
    assert time.monotonic() - started < 20


# --------------------------------------------------------------------------- place names shown


def test_lists_and_records_show_place_names_at_the_station_and_the_hub(home, tmp_path):
    import stationcli
    from sync.engine.replicate import sync_once
    from sync.store.local_hub import LocalHub
    from sync.store.station import Store

    path = tmp_path / "areas.csv"
    path.write_text(LIST_CSV, encoding="utf-8")
    ok(home, "areas", "import", str(path))
    town = tmp_path / "town"
    stationcli.ok(town, "init", "--station", TOWN, "--offline")

    def sync() -> None:
        hub, st = HubStore(home / "hub.db", checks=HUB_CHECKS), Store(town / "station.db")
        try:
            assert sync_once(st, LocalHub(hub, TOWN)).rejected == 0
        finally:
            hub.close()
            st.close()

    sync()
    vid = stationcli.ok(town, "veteran", "add", "--id-number", idn(11), "--name", "张三", "--area", VILLAGE_A).strip()
    refused = stationcli.run(town, "veteran", "add", "--id-number", idn(12), "--name", "李四", "--area", "440902001009")
    assert refused.exit_code == 1 and "区划代码 440902001009 不在县区划名单中" in refused.stderr
    stationcli.ok(town, "visit", "add", "--veteran", vid, "--kind", "入户")
    pid = stationcli.ok(town, "petition", "open", "--veteran", vid, "--channel", "书信", "--summary", "咨询").strip()

    assert [(r["area"], r["area_name"]) for r in stationcli.ok_json(town, "veteran", "list")] == [(VILLAGE_A, "一村")]
    assert stationcli.ok_json(town, "visit", "list")[0]["area_name"] == "一村"
    assert stationcli.ok_json(town, "petition", "list")[0]["area_name"] == "一村"
    shown = stationcli.ok_json(town, "veteran", "show", vid)
    assert shown["area_name"] == "一村" and shown["visits"][0]["area_name"] == "一村"
    assert stationcli.ok_json(town, "petition", "show", pid)["area_name"] == "一村"
    env = {"COLUMNS": "200"}
    assert "一村" in stationcli.ok(town, "veteran", "list", env=env)
    assert "一村" in stationcli.ok(town, "visit", "list", env=env)  # a town's list says which village
    assert "一村" in stationcli.ok(town, "petition", "list", env=env)
    assert "一村（440902001001）" in stationcli.ok(town, "veteran", "show", vid, env=env)
    assert "一村（440902001001）" in stationcli.ok(town, "petition", "show", pid, env=env)

    sync()
    assert json.loads(ok(home, "veteran", "list", "--json"))[0]["area_name"] == "一村"
    assert json.loads(ok(home, "visit", "list", "--json"))[0]["area_name"] == "一村"
    assert json.loads(ok(home, "petition", "list", "--json"))[0]["area_name"] == "一村"
    assert json.loads(ok(home, "petition", "show", pid, "--json"))["area_name"] == "一村"
    hub_vet = json.loads(ok(home, "veteran", "show", vid, "--json"))
    assert hub_vet["area"] == VILLAGE_A and hub_vet["area_name"] == "一村"
    wide = CliRunner().invoke(hub_main, ["veteran", "list", "--home", str(home)], env=env).stdout
    assert "一村" in wide
    assert "一村（440902001001）" in CliRunner().invoke(hub_main, ["veteran", "show", vid, "--home", str(home)],
                                                    env=env).stdout


def test_the_web_pages_show_place_names_and_offer_the_listed_villages(tmp_path):
    import webapp
    from sync.engine.replicate import sync_once
    from sync.store.local_hub import LocalHub
    from sync.store.station import Store

    hub_home = webapp.hub_home(tmp_path, county=COUNTY)
    st_home = webapp.station_home(tmp_path, TOWN)
    hub = HubStore(hub_home / "hub.db", checks=HUB_CHECKS)
    st = Store(st_home / "station.db")
    try:
        put_list(hub, NAMES)
        sync_once(st, LocalHub(hub, TOWN))
        vid = records.add_veteran(st, {"id_number": idn(13), "name": "张三", "area": VILLAGE_A})["id"]
        import datetime as dt

        received = (dt.date.today() - dt.timedelta(days=20)).isoformat()  # overdue: the county's page lists it
        pid = records.open_petition(st, channel="letter", summary="咨询", veteran_id=vid, received=received)["id"]
        assert sync_once(st, LocalHub(hub, TOWN)).rejected == 0
    finally:
        hub.close()
        st.close()
    web = webapp.station_client(st_home)
    listed = web.get("/veterans/").get_data(as_text=True)
    assert 'title="440902001001">一村</td>' in listed
    assert "一村（440902001001）" in web.get(f"/veterans/{vid}").get_data(as_text=True)
    assert "一村（440902001001）" in web.get(f"/petitions/{pid}").get_data(as_text=True)
    form = web.get("/veterans/new").get_data(as_text=True)
    assert '<option value="440902001002">二村（440902001002）</option>' in form  # on the list, no one filed there yet
    refused = web.post("/veterans/new", data={"name": "李四", "id_number": idn(14), "area": "440902001009"})
    assert refused.status_code == 422 and "不在县区划名单中" in refused.get_data(as_text=True)
    checked = web.post("/veterans/check", data={"field": "area", "area": "", "area_other": "440902001009"},
                       htmx=True).get_data(as_text=True)
    assert "不在县区划名单中" in checked  # said as it is typed, before saving
    assert "不在县区划名单中" not in web.post("/veterans/check", data={"field": "area", "area": VILLAGE_B},
                                            htmx=True).get_data(as_text=True)
    county = webapp.hub_client(hub_home).get("/petitions/").get_data(as_text=True)
    assert 'title="440902001001">一村</td>' in county
