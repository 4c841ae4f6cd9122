"""Who did it (issue 13): every write a station makes records the person acting as
the row's ``recorded_by`` (经办人; 录入人 of a 信访办理记录), which replicates to the
hub and shows in ``county-hub history`` per version.

- the store stamps the person (``Store.operator``) on a write that changes the row,
  with the write's version, never on a write that changes nothing;
- ``station-node --operator NAME`` records NAME, ``VETSYNC_OPERATOR`` without it,
  else the OS user; every command (an edit, a delete and its restore) records it;
- the page records the account logged in;
- the hub takes it, checks its form (a hostile value is refused) and files no
  conflict over it: two people editing one record at two stations conflict only
  on the fields they both edited; an older station that sends no writer still syncs.
"""

from __future__ import annotations

import getpass
import json
import sqlite3
from contextlib import contextmanager

import pytest
from click.testing import CliRunner

from county_hub import audit
from county_hub.cli import main as hub_main
from county_hub.home import open_hub
from enginekit import COUNTY, VILLAGE_A, Network
from station_node import home as home_mod
from station_node import operator, records
from station_node.cli import main as station_main
from stationcli import ok, ok_json, run
from sync.engine.replicate import sync_once
from sync.engine.rowstate import RowState
from sync.engine.schema import WRITER, WRITER_MAX_CHARS, writer_name, writer_problem
from sync.store import migrations
from sync.store.hub import HubStore
from sync.store.local_hub import LocalHub
from sync.store.station import Store
from veterans.hub_checks import HUB_CHECKS
from veterans.values import id_number_check_digit
from webapp import station_client, station_home

VILLAGE = VILLAGE_A  # 440902001001, in county 440902


def _id(n: int) -> str:
    body = f"44090219600101{n:03d}"
    return body + id_number_check_digit(body)


def _store(tmp_path, name: str = "s") -> Store:
    store = Store(tmp_path / f"{name}.db", create=True)
    with store.transaction():
        store.set_meta("station", VILLAGE)
        store.set_meta("scope", VILLAGE)
    store.operator = operator.current
    return store


@contextmanager
def _opened(home):
    store = home_mod.open_store(home)
    try:
        yield store
    finally:
        store.close()


def _veteran(n: int = 1, **more) -> dict:
    return {"id_number": _id(n), "name": "张三", "area": VILLAGE, **more}


def _hub_home(tmp_path):
    home = tmp_path / "hub"
    result = CliRunner().invoke(hub_main, ["init", "--county", COUNTY, "--name", "茂南区退役军人服务中心",
                                           "--host", "hub.example", "--home", str(home)])
    assert result.exit_code == 0, result.output
    return home


def _hub_ok(home, *args) -> str:
    result = CliRunner().invoke(hub_main, [*args, "--home", str(home)])
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result.stdout


def _sync(station: Store, hub: HubStore):
    report = sync_once(station, LocalHub(hub, station.meta("station")), batch_rows=50)
    assert report.rejected == 0 and station.pending_count() == 0
    return report


# --------------------------------------------------------------------------- the store stamps


def test_a_write_records_the_person_acting_with_its_version(tmp_path):
    store = _store(tmp_path)
    with operator.acting("张三"):
        store.write("veterans", "v1", _veteran(), create=True)
    state, pending = store.load("veterans", "v1")
    assert state.values[WRITER] == "张三"
    assert state.clock[WRITER] == state.clock["name"] and pending[WRITER] == (state.clock["name"], "")

    with operator.acting("李四"):
        store.write("veterans", "v1", {"name": "张三"})  # changes nothing: no write, nobody recorded
    assert store.load("veterans", "v1")[0].values[WRITER] == "张三"
    with operator.acting("李四"):
        store.write("veterans", "v1", {"phone": "13800000000"})
    state, pending = store.load("veterans", "v1")
    assert state.values[WRITER] == "李四" and state.clock[WRITER] == state.clock["phone"] > state.clock["name"]
    assert pending[WRITER] == (state.clock["phone"], "")  # the original base kept: never pushed yet

    with operator.acting("张三"):  # the same person again: the new version still names them
        store.write("veterans", "v1", {"phone": "13900000000"})
    state = store.load("veterans", "v1")[0]
    assert state.values[WRITER] == "张三" and state.clock[WRITER] == state.clock["phone"]

    assert operator.current() is None
    store.write("veterans", "v1", {"address": "某村5号"})  # nobody known: the last writer stays as it was
    state = store.load("veterans", "v1")[0]
    assert state.values[WRITER] == "张三" and state.clock[WRITER] < state.clock["address"]
    store.close()


def test_a_store_without_an_operator_records_nobody(tmp_path):
    store = Store(tmp_path / "plain.db", create=True)
    with operator.acting("张三"):
        store.write("veterans", "v1", _veteran(), create=True)
    state, _ = store.load("veterans", "v1")
    assert state.values.get(WRITER) is None and WRITER not in state.clock
    store.close()


def test_conflicts_carry_no_writer_and_a_clerk_cannot_set_it():
    from veterans import fields as F
    from sync.engine.errors import ValidationError

    from sync.engine.schema import TABLES, WRITER_TABLES

    assert WRITER_TABLES == {"veterans", "visits", "petitions", "petition_events", "plaques", "contact_triggers"}
    assert WRITER not in TABLES["conflicts"].by_name
    for table in WRITER_TABLES:
        assert TABLES[table].get(WRITER).settable is False
    with pytest.raises(ValidationError):
        F.parse_assignments("veterans", ["recorded_by=张三"])
    with pytest.raises(ValidationError):
        F.parse_assignments("veterans", ["经办人=张三"])


@pytest.mark.parametrize("raw, recorded", [
    ("张三", "张三"),
    ("  王芳 ", "王芳"),
    ("张\x00三\n", "张三"),
    ("\x1b[31m李四", "[31m李四"),
    ("x" * 100, "x" * WRITER_MAX_CHARS),
    (" \t\n", None),
    ("", None),
    (None, None),
])
def test_names_are_kept_as_recorded_and_always_pass_the_hub_check(raw, recorded):
    assert writer_name(raw) == recorded
    assert writer_problem(recorded) is None
    with operator.acting(raw):
        assert operator.current() == recorded
    assert operator.current() is None


# --------------------------------------------------------------------------- the CLI


def _station(tmp_path):
    home = tmp_path / "station"
    home_mod.init_offline(home, VILLAGE).close()
    return home


def test_the_cli_records_the_operator_option(tmp_path):
    home = _station(tmp_path)
    row = ok_json(home, "--operator", "张三", "veteran", "add", "--id-number", _id(1), "--name", "张三")
    assert row[WRITER] == "张三"
    shown = ok_json(home, "veteran", "show", row["id"])
    assert shown[WRITER] == "张三"
    human = ok(home, "veteran", "show", row["id"])
    assert "经办人" in human and "张三" in human

    ok(home, "--operator", "李四", "visit", "add", "--veteran", row["id"], "--kind", "电话", "--summary", "电话回访")
    [visit] = ok_json(home, "veteran", "show", row["id"])["visits"]
    assert visit[WRITER] == "李四"
    lines = [line for line in ok(home, "veteran", "show", row["id"]).splitlines() if "电话回访" in line]
    assert lines and "李四" in lines[0]

    # a correction and its undoing record their own person
    ok(home, "--operator", "王五", "veteran", "delete", row["id"], "--yes")
    with _opened(home) as store:
        assert store.load("veterans", row["id"])[0].values[WRITER] == "王五"
    ok(home, "--operator", "赵六", "veteran", "restore", row["id"])
    assert ok_json(home, "veteran", "show", row["id"])[WRITER] == "赵六"
    assert operator.current() is None  # the command's person only


def test_without_the_option_the_environment_then_the_os_user(tmp_path):
    home = _station(tmp_path)
    row = ok_json(home, "veteran", "add", "--id-number", _id(2), "--name", "李四")
    result = run(home, "veteran", "edit", row["id"], "--set", "住址=某村5号", "--json", env={operator.ENV_VAR: None})
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[WRITER] == getpass.getuser()
    result = run(home, "veteran", "edit", row["id"], "--set", "住址=某村6号", "--json", env={operator.ENV_VAR: "孙七"})
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[WRITER] == "孙七"
    result = run(home, "--operator", "周八", "veteran", "edit", row["id"], "--set", "住址=某村7号", "--json",
                 env={operator.ENV_VAR: "孙七"})
    assert json.loads(result.stdout)[WRITER] == "周八"


def test_an_empty_operator_is_refused(tmp_path):
    home = _station(tmp_path)
    result = run(home, "--operator", "  ", "veteran", "add", "--id-number", _id(3), "--name", "王五")
    assert result.exit_code == 1 and result.stderr.strip() == "错误：--operator 不能为空"
    assert "--operator" in CliRunner().invoke(station_main, ["--help"]).stdout


# --------------------------------------------------------------------------- the page


def test_a_write_on_the_page_records_the_account_logged_in(tmp_path):
    home = station_home(tmp_path, VILLAGE, clerk="王芳")
    client = station_client(home, "王芳")
    r = client.post("/veterans/new", {"id_number": _id(4), "name": "钱九", "gender": "", "birth_date": "",
                                      "area": VILLAGE, "category": "", "status": "active"})
    assert r.status_code == 302, r.get_data(as_text=True)[-800:]
    veteran_id = r.headers["Location"].rsplit("/", 1)[-1]
    with _opened(home) as store:
        assert store.get("veterans", veteran_id)[WRITER] == "王芳"
    assert operator.current() is None  # the request's person did not leak into this thread
    # the domain function under another person, as a second account's request runs it
    with _opened(home) as store, operator.acting("县里来的"):
        row = records.add_visit(store, veteran_id, "phone", summary="电话回访")
    assert row[WRITER] == "县里来的"


# --------------------------------------------------------------------------- the hub


def test_the_person_replicates_and_shows_in_county_hub_history(tmp_path):
    hub_home = _hub_home(tmp_path)
    station = _store(tmp_path)
    with operator.acting("张三"):
        station.write("veterans", "v1", _veteran(), create=True)
    hub, _registry = open_hub(hub_home)
    try:
        _sync(station, hub)
        with operator.acting("李四"):
            station.write("veterans", "v1", {"name": "张叁"})
        _sync(station, hub)
        assert hub.load("veterans", "v1")[0].values[WRITER] == "李四"
    finally:
        hub.close()
    items = json.loads(_hub_ok(hub_home, "history", "v1", "--json"))
    names = [(i["value"], i["recorded_by"]) for i in items if i["field"] == "name"]
    assert names == [("张三", "张三"), ("张叁", "李四")]
    assert {i["recorded_by"] for i in items} == {"张三", "李四"}
    assert all({"seq", "table", "row_id", "field", "value", "version", "station", "at_ms", "at"} <= i.keys()
               for i in items)
    human = _hub_ok(hub_home, "history", "v1")
    assert "经办人" in human
    lines = [line for line in human.splitlines() if "张叁" in line]
    assert len(lines) == 1 and "李四" in lines[0] and VILLAGE in lines[0]
    station.close()


def test_an_older_station_without_the_field_still_syncs(tmp_path):
    """A station of migration 6 sends no writer: the hub takes its rows, and its
    history names nobody ("—"). The same database, upgraded, records its writers."""
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    migrations.migrate(conn, upto=6)
    conn.close()
    hub_home = _hub_home(tmp_path)
    old = Store(path)  # opening upgrades it; a store of that code had no operator
    with old.transaction():
        old.set_meta("station", VILLAGE)
        old.set_meta("scope", VILLAGE)
    old.write("veterans", "v1", _veteran(), create=True)
    [[pushed]] = list(old.pending_batches())
    assert WRITER not in pushed.clock
    hub, _registry = open_hub(hub_home)
    try:
        _sync(old, hub)
        assert hub.load("veterans", "v1")[0].values.get(WRITER) is None
        items = audit.history(hub, "v1")
        assert items and all(i["recorded_by"] is None for i in items)
        old.operator = operator.current  # upgraded: its writes now record the person
        with operator.acting("张三"):
            old.write("veterans", "v1", {"phone": "13800000000"})
        _sync(old, hub)
        assert hub.load("veterans", "v1")[0].values[WRITER] == "张三"
    finally:
        hub.close()
    human = _hub_ok(hub_home, "history", "v1")
    assert "—" in [line for line in human.splitlines() if "张三" in line and "13800000000" not in line][0]
    assert "张三" in [line for line in human.splitlines() if "13800000000" in line][0]
    old.close()


@pytest.mark.parametrize("hostile", ["x" * (WRITER_MAX_CHARS + 1), "张\x00三", "张三\n", "\x1b[2J", " 张三", "", 7])
def test_a_hostile_writer_is_refused_by_the_hubs_check(tmp_path, hostile):
    hub = HubStore(tmp_path / "hub.db", create=True, checks=HUB_CHECKS)
    replica = "00000000000000a1"
    version = f"0001767225600000-0000-{replica}"
    values = {**_veteran(), "deleted": 0, WRITER: hostile}
    row = RowState("veterans", "v1", values, dict.fromkeys(values, version), dict.fromkeys(values, ""))
    result = hub.apply_push([row], station=VILLAGE, scope=VILLAGE, replica_id=replica)
    assert result.acked == [] and len(result.refused) == 1
    assert "经办人" in result.refused[0][2] and hub.load("veterans", "v1") is None
    fine = RowState("veterans", "v1", {**values, WRITER: "张三"}, dict.fromkeys(values, version),
                    dict.fromkeys(values, ""))
    assert hub.apply_push([fine], station=VILLAGE, scope=VILLAGE, replica_id=replica).refused == []
    hub.close()


def test_a_hostile_writer_on_an_event_names_its_own_label(tmp_path):
    from veterans.admission import DOMAIN_CHECKS

    values = {"petition_id": "p1", "area": VILLAGE, "at": "2026-01-06", "kind": "register", "deleted": 0,
              WRITER: "a\tb"}
    row = RowState("petition_events", "e1", values, {}, {})
    assert DOMAIN_CHECKS.check_values(row, None, tuple(values), VILLAGE) == "信访办理记录字段 录入人：含有控制字符或首尾空白"


def test_two_people_at_two_stations_conflict_only_on_what_they_both_edited(tmp_path):
    net = Network(tmp_path, {"a": VILLAGE, "b": VILLAGE})
    a, b = net.stations["a"], net.stations["b"]
    a.operator, b.operator = (lambda: "张三"), (lambda: "李四")
    a.write("veterans", "v1", _veteran(), create=True)
    a.write("veterans", "v2", _veteran(2, name="王五"), create=True)
    assert net.sync("a").rejected == 0 and net.sync("b").rejected == 0
    assert b.load("veterans", "v1")[0].values[WRITER] == "张三"

    a.write("veterans", "v1", {"phone": "13800000000"})  # different fields of one record
    b.write("veterans", "v1", {"address": "某村5号"})
    a.write("veterans", "v2", {"deleted": 1})  # both delete one record
    b.write("veterans", "v2", {"deleted": 1})
    for name in ("a", "b", "a", "b"):
        assert net.sync(name).rejected == 0
    assert net.hub.select("conflicts") == []
    hub_v1 = net.hub.load("veterans", "v1")[0]
    assert hub_v1.values["phone"] == "13800000000" and hub_v1.values["address"] == "某村5号"
    assert hub_v1.values[WRITER] == "李四" and hub_v1.clock[WRITER] == hub_v1.clock["address"]  # the newest write
    for s in (a, b):  # both converge on the hub's writer
        state = s.load("veterans", "v1")[0]
        assert (state.values[WRITER], state.clock[WRITER]) == (hub_v1.values[WRITER], hub_v1.clock[WRITER])

    a.write("veterans", "v1", {"name": "张叁"})  # the same field: one conflict, about it alone
    b.write("veterans", "v1", {"name": "张參"})
    for name in ("a", "b", "a", "b"):
        net.sync(name)
    conflicts = net.hub.select("conflicts")
    assert [(c["kind"], c["field"]) for c in conflicts] == [("concurrent_edit", "name")]
    net.close()


def test_the_hubs_own_writes_record_its_operator_or_nobody(tmp_path):
    net = Network(tmp_path, {"a": VILLAGE})
    a = net.stations["a"]
    a.operator = lambda: "张三"
    a.write("veterans", "v1", _veteran(), create=True)
    net.sync("a")
    net.hub.write_as_hub("veterans", "v1", {"phone": "13800000000"})
    state = net.hub.load("veterans", "v1")[0]
    assert state.values[WRITER] is None and state.clock[WRITER] == state.clock["phone"]
    net.hub.operator = lambda: "县管理员"
    net.hub.write_as_hub("veterans", "v1", {"phone": "13900000000"})
    state = net.hub.load("veterans", "v1")[0]
    assert state.values[WRITER] == "县管理员" and state.clock[WRITER] == state.clock["phone"]
    net.sync("a")
    assert a.load("veterans", "v1")[0].values[WRITER] == "县管理员"
    net.close()
