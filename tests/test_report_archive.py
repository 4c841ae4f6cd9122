"""``county-hub report --submit``: a report submitted upward is archived (immutable, with
when and by whom); making the same period again shows the archived figures and, beside
them, what changed since — records synced late but dated inside the period, records
changed afterwards — never silently different numbers.

The records reach the hub as a station's push (``HubStore.apply_push`` of rows a real
station store wrote), the way a station syncing late delivers them."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from county_hub import home as hub_home
from county_hub.cli import main
from sync.store import report_archive
from station_node import records
from sync.store.station import Store
from veterans.report import build_report
from veterans.values import id_number_check_digit

COUNTY = "440902"
TOWN = "440902001"
V1 = "440902001001"
V2 = "440902001002"
TODAY = dt.date.today()
FIRST = (TODAY.replace(day=1) - dt.timedelta(days=1)).replace(day=1)  # last month: over
P = FIRST.strftime("%Y-%m")


def day(n: int) -> str:
    return FIRST.replace(day=n).isoformat()


def run(home: Path, *args: str):
    return CliRunner().invoke(main, [*args, "--home", str(home)])


def ok(home: Path, *args: str) -> str:
    result = run(home, *args)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result.stdout


def ok_json(home: Path, *args: str):
    return json.loads(ok(home, *args, "--json"))


def id_number(n: int) -> str:
    body = f"44090219600101{n:03d}"
    return body + id_number_check_digit(body)


class Station:
    """A real station store, written through the station's own record functions and
    pushed to the hub by :meth:`sync` (its pending rows, acknowledged as a session does)."""

    def __init__(self, path: Path, code: str, hub_path: Path):
        self.store = Store(path, create=True)
        self.store.set_meta("station", code)
        self.store.set_meta("scope", code)
        self.code = code
        self.hub_path = hub_path

    def veteran(self, n: int, name: str) -> str:
        return records.add_veteran(self.store, {"id_number": id_number(n), "name": name, "area": self.code,
                                                "status": "active"})["id"]

    def visit(self, veteran_id: str, on: str) -> str:
        return records.add_visit(self.store, veteran_id, "入户", date=on)["id"]

    def petition(self, veteran_id: str, received: str) -> str:
        return records.open_petition(self.store, veteran_id=veteran_id, channel="书信", summary="反映困难",
                                     received=received)["id"]

    def event(self, petition_id: str, kind: str, on: str) -> None:
        records.add_petition_event(self.store, petition_id, kind, at=on)

    def sync(self) -> None:
        hub, _registry = hub_home.open_hub(self.hub_path)
        try:
            for batch in self.store.pending_batches():
                result = hub.apply_push(batch, station=self.code, scope=self.code, replica_id=self.store.replica_id)
                assert not result.refused, result.refused
                self.store.acknowledge(result.acked, batch)
        finally:
            hub.close()
        assert self.store.pending_count() == 0


@pytest.fixture
def county(tmp_path) -> dict:
    home = tmp_path / "hub"
    hub_home.init_hub(home, COUNTY, "茂南区退役军人服务中心", [])
    a = Station(tmp_path / "a.db", V1, home)
    ids = {"A": a.veteran(1, "张三"), "B": a.veteran(2, "李四")}
    a.visit(ids["A"], day(5))
    ids["p1"] = a.petition(ids["A"], day(3))  # 登记 only: past its 15 days at the month's end
    ids["p2"] = a.petition(ids["B"], day(20))  # 登记 only: its 15 days run past the month's end
    a.sync()
    yield {"home": home, "a": a, "b": Station(tmp_path / "b.db", V2, home), **ids}
    a.store.close()


def _afterwards(county: dict) -> None:
    """Records added and changed after the submission: some dated inside the month, some after it."""
    a, b = county["a"], county["b"]
    a.event(county["p2"], "不予受理", day(22))  # late, dated inside the month
    a.event(county["p1"], "不予受理", TODAY.isoformat())  # dated after the month
    a.visit(county["B"], TODAY.isoformat())  # after the month
    a.petition(county["A"], TODAY.isoformat())  # received after the month
    records.edit_veteran(a.store, county["B"], {"status": "deceased"})  # changed afterwards
    a.sync()
    c = b.veteran(3, "王五")  # a station synced late: a visit and a petition dated inside the month
    b.visit(c, day(20))
    b.petition(c, day(8))
    b.sync()
    b.store.close()


def _changes(data: dict) -> set[tuple]:
    return {(c["area"], c["figure"], c["archived"], c["now"]) for c in data["changes"]}


def test_the_archived_figures_stay_and_the_changes_are_shown_beside_them(county, tmp_path):
    home = county["home"]
    result = run(home, "report", "--period", P, "--submit", "--by", "张科长", "--json")
    assert result.exit_code == 0, result.stderr
    submitted = json.loads(result.stdout)
    assert "已上报并存档" in result.stderr and "张科长" in result.stderr
    assert submitted["period"]["label"] == P and submitted["as_of"] == (
        (FIRST.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)).isoformat()
    rows = {r["area"]: r for r in submitted["rows"]}
    assert rows[V1]["veterans_on_file"] == 2 and rows[V1]["visited"] == 1
    assert (rows[V1]["petitions_received"], rows[V1]["petitions_open"], rows[V1]["petitions_overdue"]) == (2, 2, 1)
    assert V2 not in rows

    _afterwards(county)
    again = ok_json(home, "report", "--period", P)
    # the archived figures, exactly as submitted, and the archive's own facts
    assert again["rows"] == submitted["rows"] and again["generated_at"] == submitted["generated_at"]
    assert again["archived"]["version"] == 1 and again["archived"]["submitted_by"] == "张科长"
    assert again["archived"]["period"] == P and again["now"]["as_of"] == submitted["as_of"]
    expected = {
        (V1, "veterans_on_file", 2, 1), (V1, "category_none", 2, 1), (V1, "visit_coverage_pct", 50.0, 100.0),
        (V1, "petitions_open", 2, 1),  # p2 refused on a day of the month, synced afterwards
        (V2, "veterans_on_file", 0, 1), (V2, "category_none", 0, 1), (V2, "visited", 0, 1),
        (V2, "visit_coverage_pct", None, 100.0), (V2, "petitions_received", 0, 1), (V2, "petitions_open", 0, 1),
        (V2, "petitions_overdue", 0, 1),
        *((area, f, x, y) for area in (COUNTY, TOWN)
          for f, x, y in (("visited", 1, 2), ("visit_coverage_pct", 50.0, 100.0), ("petitions_received", 2, 3),
                          ("petitions_overdue", 1, 2))),
    }
    # p1's refusal, B's visit and the new petition are dated after the month: no change;
    # the county still has 2 on file (B died, 王五 arrived) and 2 open petitions
    assert _changes(again) == expected
    # the differences agree with the report made now, figure for figure
    hub, _ = hub_home.open_hub(home)
    try:
        now = {r.area: r.to_dict() for r in build_report(hub, COUNTY, period=P, today=TODAY).rows}
    finally:
        hub.close()
    for area, figure, archived, current in _changes(again):
        value = now[area]["by_category"]["none"] if figure == "category_none" else now[area][figure]
        assert value == current

    human = ok(home, "report", "--period", P)
    assert "此期报表已上报（第 1 版" in human and "张科长" in human
    assert "2 → 1" in human and "50.0% → 100.0%" in human and "上报后的变化（19 项）" in human

    out = tmp_path / "again.xlsx"
    ok(home, "report", "--period", P, "--out", str(out))
    from openpyxl import load_workbook

    villages = load_workbook(out)["分村"]  # the A4 workbook: the header under the title rows
    headings = [c.value for c in villages[3]]
    by_area = {r[0]: dict(zip(headings, r)) for r in villages.iter_rows(min_row=4, values_only=True)}
    assert by_area[V1]["在册人数"] == 2 and V2 not in by_area  # the archived figures


def test_a_second_submit_is_refused_unless_resubmit_which_keeps_the_first(county):
    home = county["home"]
    first = json.loads(ok(home, "report", "--period", P, "--submit", "--by", "张科长", "--json"))
    _afterwards(county)
    refused = run(home, "report", "--period", P, "--submit", "--by", "张科长")
    assert refused.exit_code == 1 and refused.stderr.startswith("错误：") and "已于此前上报" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert run(home, "report", "--period", "2020-01", "--resubmit").exit_code == 1  # never submitted

    second = json.loads(ok(home, "report", "--period", P, "--resubmit", "--by", "李科员", "--json"))
    assert second["rows"] != first["rows"]
    again = ok_json(home, "report", "--period", P)
    assert again["archived"]["version"] == 2 and again["rows"] == second["rows"] and again["changes"] == []
    listed = ok_json(home, "report", "--archive")
    assert [(e["period"], e["version"], e["submitted_by"]) for e in listed] == [(P, 1, "张科长"), (P, 2, "李科员")]
    assert "已上报的报表" in ok(home, "report", "--archive")
    hub, _ = hub_home.open_hub(home)
    try:
        kept = report_archive.submissions(hub, COUNTY)
        assert kept[0].report["rows"] == first["rows"]  # the first version, untouched
        for sql in ('UPDATE "_report_archive" SET submitted_by = ?', 'DELETE FROM "_report_archive" WHERE 1 = ?'):
            with pytest.raises(sqlite3.DatabaseError, match="immutable"):
                hub.conn.execute(sql, ("x",) if "UPDATE" in sql else (1,))
    finally:
        hub.close()


def test_an_archive_altered_by_hand_is_refused(county):
    home = county["home"]
    ok(home, "report", "--period", P, "--submit", "--by", "张科长")
    hub, _ = hub_home.open_hub(home)
    try:
        hub.conn.execute('DROP TRIGGER "_report_archive_no_update"')
        hub.conn.execute('UPDATE "_report_archive" SET report = replace(report, \'"veterans_on_file": 2\', '
                         '\'"veterans_on_file": 9\')')
        hub.conn.commit()
    finally:
        hub.close()
    result = run(home, "report", "--period", P)
    assert result.exit_code == 1 and "校验值不符" in result.stderr


def test_submit_takes_the_os_user_and_options_that_do_not_go_together(county, monkeypatch):
    home = county["home"]
    monkeypatch.setattr("getpass.getuser", lambda: "clerk7")
    ok(home, "report", "--period", P, "--submit")
    assert ok_json(home, "report", "--archive")[0]["submitted_by"] == "clerk7"
    running = f"{day(1)}..{(TODAY + dt.timedelta(days=1)).isoformat()}"
    result = run(home, "report", "--period", running, "--submit", "--by", "张科长")
    assert result.exit_code == 0 and f"本期尚未结束，上报的是截至 {TODAY.isoformat()} 的数字" in result.stderr
    assert [e["period"] for e in ok_json(home, "report", "--archive")] == [P, running]
    for args in (("--period", P, "--month", P), ("--archive", "--period", P), ("--period", P, "--by", "张科长")):
        result = run(home, "report", *args)
        assert result.exit_code == 1 and result.stderr.startswith("错误："), result.stderr
