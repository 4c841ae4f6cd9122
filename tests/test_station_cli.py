"""Tests of the offline station CLI (station-node) with click's CliRunner.

Every happy path in human and --json form; every bad input gives exactly one
line on stderr starting with 错误, a non-zero exit, and leaves the database
byte-for-byte unchanged (compared as an SQL dump).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from station_node.cli import main
from veterans.values import id_number_check_digit
from sync.engine.schema import TABLES
from stationcli import ok, ok_json, run

TOWN = "440902001"
VILLAGE = "440902001001"
VILLAGE2 = "440902001002"
OTHER_TOWN_VILLAGE = "440902002001"


def make_id(body: str) -> str:
    return body + id_number_check_digit(body)


ID1 = make_id("44090219600101001")  # 17th digit odd: male
ID2 = make_id("44090219700202002")  # even: female
BAD_ID = ID1[:-1] + ("0" if ID1[-1] != "0" else "1")


def dump(home: Path) -> str:
    path = home / "station.db"
    if not path.exists():
        return "<no database>"
    conn = sqlite3.connect(path)
    try:
        return "\n".join(conn.iterdump())
    finally:
        conn.close()


def assert_refused(home: Path, *args: str, match: str | None = None, usage: bool = False) -> str:
    """The command fails with one 错误 line on stderr and the database unchanged."""
    before = dump(home)
    result = run(home, *args)
    after = dump(home)
    assert result.exit_code == (2 if usage else 1), (result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("错误："), result.stderr
    assert "Traceback" not in result.output
    if match:
        assert match in lines[0], lines[0]
    assert after == before
    return lines[0]


@pytest.fixture
def town(tmp_path: Path) -> Path:
    home = tmp_path / "town"
    ok(home, "init", "--station", TOWN, "--offline")
    return home


@pytest.fixture
def village(tmp_path: Path) -> Path:
    home = tmp_path / "village"
    ok(home, "init", "--station", VILLAGE, "--offline")
    return home


def add_veteran(home: Path, id_number: str = ID1, name: str = "张三", area: str = VILLAGE, *extra: str) -> str:
    return ok(home, "veteran", "add", "--id-number", id_number, "--name", name, "--area", area, *extra).strip()


def days_ago(n: int) -> str:
    return (dt.date.today() - dt.timedelta(days=n)).isoformat()


# --------------------------------------------------------------------------- init


def test_init_offline_sets_station_scope_county(tmp_path):
    home = tmp_path / "h"
    out = ok(home, "init", "--station", VILLAGE, "--offline")
    assert VILLAGE in out and (home / "station.db").is_file()
    conn = sqlite3.connect(home / "station.db")
    meta = dict(conn.execute("SELECT key, value FROM _meta"))
    assert (meta["station"], meta["scope"], meta["county"]) == (VILLAGE, VILLAGE, "440902")


def test_init_refuses_twice(town):
    assert_refused(town, "init", "--station", TOWN, "--offline", match="已初始化")


@pytest.mark.parametrize("code", ["4409", "44090200100A", "000000001"])
def test_init_refuses_bad_code(tmp_path, code):
    home = tmp_path / "h"
    assert_refused(home, "init", "--station", code, "--offline", match="区划代码")
    assert not (home / "station.db").exists()


def test_init_without_offline_needs_hub_and_token(tmp_path):
    home = tmp_path / "h"
    line = assert_refused(home, "init", "--station", TOWN)
    assert "--hub HOST:PORT --token TOKEN" in line
    assert_refused(home, "init", "--station", TOWN, "--hub", "127.0.0.1:1", "--token", "t", match="令牌格式不对")
    assert_refused(home, "init", "--station", TOWN, "--offline", "--hub", "h:1", match="不能与")
    assert not (home / "station.db").exists()


def test_home_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("STATION_NODE_HOME", str(tmp_path / "env-home"))
    result = CliRunner().invoke(main, ["init", "--station", TOWN, "--offline"])
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "env-home" / "station.db").is_file()


@pytest.mark.parametrize(
    "args",
    [
        ("veteran", "list"),
        ("veteran", "show", "x"),
        ("veteran", "add", "--id-number", ID1, "--name", "张三", "--area", VILLAGE),
        ("visit", "list"),
        ("petition", "list"),
        ("petition", "show", "x"),
    ],
)
def test_not_initialised_home(tmp_path, args):
    home = tmp_path / "empty"
    assert_refused(home, *args, match="station-node init")
    assert not home.exists()


# --------------------------------------------------------------------------- veterans


def test_veteran_add_fills_from_id_number(town):
    vid = add_veteran(town, ID1, "张三", VILLAGE, "--set", "联系电话=13800138000", "--set", "category=退役士兵")
    row = ok_json(town, "veteran", "show", vid)
    assert row["id"] == vid and row["id_number"] == ID1 and row["name"] == "张三"
    assert row["birth_date"] == "1960-01-01" and row["gender"] == "male"
    assert row["status"] == "active" and row["category"] == "retired_soldier" and row["phone"] == "13800138000"
    assert set(TABLES["veterans"].field_names) <= set(row)


def test_veteran_add_json_prints_the_row(town):
    row = ok_json(town, "veteran", "add", "--id-number", ID2, "--name", "李四", "--area", VILLAGE,
                  "--set", "gender=女", "--set", "出生日期=1970年2月")
    assert row["gender"] == "female" and row["birth_date"] == "1970-02-02"  # given, agreeing with the ID: its day


def test_veteran_show_human_uses_chinese_labels(town):
    vid = add_veteran(town, ID1, "张三", VILLAGE, "--set", "category=retired_soldier")
    out = ok(town, "veteran", "show", vid)
    for text in ("身份证号", ID1, "退役士兵", "在册", "男"):
        assert text in out
    assert "retired_soldier" not in out


def test_veteran_list_filters(town):
    a = add_veteran(town, ID1, "张三", VILLAGE, "--set", "address=东村3号")
    b = add_veteran(town, ID2, "李四", VILLAGE2, "--set", "phone=13900139000")
    assert {r["id"] for r in ok_json(town, "veteran", "list")} == {a, b}
    assert [r["id"] for r in ok_json(town, "veteran", "list", "--area", VILLAGE2)] == [b]
    assert [r["id"] for r in ok_json(town, "veteran", "list", "--search", "东村")] == [a]
    assert [r["id"] for r in ok_json(town, "veteran", "list", "--search", "1390013")] == [b]
    assert [r["id"] for r in ok_json(town, "veteran", "list", "--search", ID1[-6:])] == [a]
    assert ok_json(town, "veteran", "list", "--search", "%") == []
    out = ok(town, "veteran", "list")
    assert "张三" in out and "李四" in out and "姓名" in out


def test_veteran_edit_and_delete(town):
    vid = add_veteran(town)
    out = ok(town, "veteran", "edit", vid, "--set", "住址=西村1号", "--set", "area=" + VILLAGE2)
    assert vid in out
    row = ok_json(town, "veteran", "show", vid)
    assert (row["address"], row["area"]) == ("西村1号", VILLAGE2)
    assert ok_json(town, "veteran", "edit", vid, "--set", "status=已故")["status"] == "deceased"
    assert vid in ok(town, "veteran", "delete", vid)
    assert ok_json(town, "veteran", "list") == []
    assert_refused(town, "veteran", "show", vid, match="找不到")
    # the ID number is free again once the record is deleted
    add_veteran(town)


def test_village_cannot_move_a_veteran_to_another_village(village, town):
    vid = add_veteran(village)
    assert_refused(village, "veteran", "edit", vid, "--set", "area=" + VILLAGE2, match="不在本站范围")
    assert_refused(village, "veteran", "list", "--area", VILLAGE2, match="不在本站范围")
    tid = add_veteran(town)
    ok(town, "veteran", "edit", tid, "--set", "area=" + VILLAGE2)
    assert_refused(town, "veteran", "edit", tid, "--set", "area=" + OTHER_TOWN_VILLAGE, match="不在本站范围")


@pytest.mark.parametrize(
    "args, match",
    [
        (("--id-number", BAD_ID, "--name", "张三", "--area", VILLAGE), "校验位"),
        (("--id-number", ID1, "--name", "张三", "--area", "4409020010"), "区划代码"),
        (("--id-number", ID1, "--name", "张三", "--area", OTHER_TOWN_VILLAGE), "不在本站范围"),
        (("--id-number", ID1, "--name", " ", "--area", VILLAGE), "姓名"),
        (("--id-number", ID1, "--name", "张三", "--area", VILLAGE, "--set", "enlisted_on=1978-13-01"), "入伍时间"),
        (("--id-number", ID1, "--name", "张三", "--area", VILLAGE, "--set", "category=将军"), "类别"),
        (("--id-number", ID1, "--name", "张三", "--area", VILLAGE, "--set", "shoe=42"), "没有字段 shoe"),
        (("--id-number", ID1, "--name", "张三", "--area", VILLAGE, "--set", "merged_into=x"), "不能直接设置"),
        (("--id-number", ID1, "--name", "张三", "--area", VILLAGE, "--set", "phone=12"), "电话"),
        (("--id-number", ID1, "--name", "张三", "--area", VILLAGE, "--set", "姓名=李四"), "--name"),
    ],
)
def test_veteran_add_bad_input(town, args, match):
    add_veteran(town, ID2, "李四")
    assert_refused(town, "veteran", "add", *args, match=match)


def test_duplicate_id_number_names_the_existing_record(town):
    vid = add_veteran(town, ID1, "张三")
    line = assert_refused(town, "veteran", "add", "--id-number", ID1.lower(), "--name", "张叁", "--area", VILLAGE2)
    assert "已登记" in line and "张三" in line and vid in line
    other = add_veteran(town, ID2, "李四")
    assert_refused(town, "veteran", "edit", other, "--set", "id_number=" + ID1, match=vid)


def test_veteran_edit_bad_input(town):
    vid = add_veteran(town)
    assert_refused(town, "veteran", "edit", "no-such-id", "--set", "name=x", match="找不到")
    assert_refused(town, "veteran", "edit", vid, "--set", "name=", match="必填")
    assert_refused(town, "veteran", "edit", vid, "--set", "id=x", match="不能直接设置")
    assert_refused(town, "veteran", "edit", vid, "--set", "gender=未知", match="性别")
    assert_refused(town, "veteran", "delete", "no-such-id", match="找不到")
    assert_refused(town, "veteran", "edit", vid, usage=True, match="--set")


@pytest.mark.parametrize(
    "args",
    [
        ("veteran", "add", "--name", "张三", "--area", VILLAGE),
        ("veteran", "add", "--id-number", ID1, "--name", "张三", "--area", VILLAGE, "--bogus"),
        ("veteran", "show"),
        ("veteran", "frobnicate"),
        ("visit", "add", "--kind", "电话"),
        ("petition", "open", "--summary", "x"),
        ("petition", "event", "x"),
    ],
)
def test_usage_errors_are_one_chinese_line(town, args):
    assert_refused(town, *args, usage=True)


# --------------------------------------------------------------------------- visits


def test_visit_add_and_list(town):
    vid = add_veteran(town)
    other = add_veteran(town, ID2, "李四", VILLAGE2)
    visit_id = ok(town, "visit", "add", "--veteran", vid, "--kind", "入户", "--date", "2024-02-08",
                  "--visitor", "王五", "--visitor", "赵六", "--summary", "春节慰问",
                  "--set", "事由=春节", "--set", "慰问金=500").strip()
    row = ok_json(town, "visit", "add", "--veteran", other, "--kind", "phone")
    assert row["visited_on"] == dt.date.today().isoformat() and row["kind"] == "phone"
    assert row["area"] == VILLAGE2 and row["station"] == TOWN and row["veteran_id"] == other
    rows = ok_json(town, "visit", "list", "--veteran", vid)
    assert [r["id"] for r in rows] == [visit_id]
    first = rows[0]
    assert (first["kind"], first["occasion"], first["aid_cash"], first["visitors"]) == ("home", "spring_festival", 500.0, "王五、赵六")
    assert (first["area"], first["station"]) == (VILLAGE, TOWN)
    assert len(ok_json(town, "visit", "list")) == 2
    out = ok(town, "visit", "list")
    assert "张三" in out and "入户" in out and "春节" in out and "走访日期" in out


def test_visit_bad_input(town):
    vid = add_veteran(town)
    assert_refused(town, "visit", "add", "--veteran", "nobody", "--kind", "电话", match="找不到")
    assert_refused(town, "visit", "add", "--veteran", vid, "--kind", "飞鸽", match="方式")
    assert_refused(town, "visit", "add", "--veteran", vid, "--kind", "电话", "--date", "2024-02-30", match="走访日期")
    assert_refused(town, "visit", "add", "--veteran", vid, "--kind", "电话", "--date", days_ago(-3), match="晚于今天")
    assert_refused(town, "visit", "add", "--veteran", vid, "--kind", "电话", "--set", "area=" + VILLAGE, match="不能直接设置")
    assert_refused(town, "visit", "add", "--veteran", vid, "--kind", "电话", "--set", "veteran_id=" + vid, match="--veteran")
    assert_refused(town, "visit", "list", "--veteran", "nobody", match="找不到")


# --------------------------------------------------------------------------- petitions


def open_petition(home: Path, *args: str) -> str:
    return ok(home, "petition", "open", "--channel", "走访", "--summary", "反映优抚金问题", *args).strip()


def test_petition_open_with_veteran(town):
    vid = add_veteran(town, ID1, "张三", VILLAGE2)
    pid = open_petition(town, "--veteran", vid, "--received", days_ago(3), "--class", "申诉求决类")
    detail = ok_json(town, "petition", "show", pid)
    assert (detail["petitioner"], detail["area"], detail["station"]) == ("张三", VILLAGE2, TOWN)
    assert (detail["veteran_id"], detail["class"], detail["confidential"]) == (vid, "appeal", 0)
    assert detail["status"] == "registered" and detail["status_label"] == "已登记"
    assert [e["kind"] for e in detail["events"]] == ["register"]
    assert detail["events"][0]["area"] == VILLAGE2
    assert detail["next_deadline"] == {
        "what": "受理告知期限", "due": (dt.date.today() + dt.timedelta(days=12)).isoformat(),
        "met_on": None, "overdue": False, "late": False, "window": False, "upper": False,
    }


def test_petition_open_without_veteran_and_accusation_is_confidential(town):
    row = ok_json(town, "petition", "open", "--channel", "书信", "--summary", "举报", "--petitioner", "匿名",
                  "--area", VILLAGE, "--class", "检举控告类")
    assert (row["confidential"], row["class"], row["petitioner"], row["station"]) == (1, "accusation", "匿名", TOWN)
    assert row["received_on"] == dt.date.today().isoformat()


def test_petition_open_bad_input(town):
    vid = add_veteran(town)
    assert_refused(town, "petition", "open", "--channel", "走访", "--summary", "x", "--petitioner", "某", match="区划代码")
    assert_refused(town, "petition", "open", "--channel", "走访", "--summary", "x", "--area", VILLAGE, match="信访人")
    assert_refused(town, "petition", "open", "--veteran", vid, "--channel", "飞鸽", "--summary", "x", match="信访形式")
    assert_refused(town, "petition", "open", "--veteran", vid, "--channel", "走访", "--summary", "x",
                   "--received", "2024-13-01", match="收到日期")
    assert_refused(town, "petition", "open", "--veteran", vid, "--channel", "走访", "--summary", "x",
                   "--class", "闲聊类", match="类别")
    assert_refused(town, "petition", "open", "--veteran", "nobody", "--channel", "走访", "--summary", "x", match="找不到")
    assert_refused(town, "petition", "open", "--veteran", vid, "--channel", "走访", "--summary", "x",
                   "--area", VILLAGE2, match="不一致")
    assert_refused(town, "petition", "open", "--channel", "走访", "--summary", "x", "--petitioner", "某",
                   "--area", OTHER_TOWN_VILLAGE, match="不在本站范围")


def test_petition_lifecycle(town):
    vid = add_veteran(town)
    pid = open_petition(town, "--veteran", vid, "--received", days_ago(40))
    assert_refused(town, "petition", "event", pid, "--kind", "复核申请", match="不能登记")
    assert_refused(town, "petition", "event", pid, "--kind", "延期", "--note", "x", match="不能登记")
    assert_refused(town, "petition", "event", pid, "--kind", "受理", "--date", days_ago(41), match="早于收到日期")
    assert_refused(town, "petition", "event", pid, "--kind", "受理", "--outcome", "支持", match="答复意见")
    # 信访工作条例 (issue 14): a 受理 records its 处理方式 (信访处理意见书 when not given); the
    # written notice's day meets Arts. 22–23.
    assert_refused(town, "petition", "event", pid, "--kind", "受理", "--method", "随便", match="处理方式")
    out = ok(town, "petition", "event", pid, "--kind", "受理", "--date", days_ago(35), "--actor", "李干事",
             "--served", days_ago(35))
    assert "办理中" in out
    assert ok_json(town, "petition", "show", pid)["events"][1]["method"] == "opinion"
    assert_refused(town, "petition", "event", pid, "--kind", "延期", match="理由")
    # Art. 34: the extension's days (≤ 30), its approver and the day the petitioner was told.
    ext = ("--kind", "延期", "--note", "需调取档案")
    assert_refused(town, "petition", "event", pid, *ext, match="延长天数")
    assert_refused(town, "petition", "event", pid, *ext, "--days", "45", "--approver", "王局长",
                   "--served", days_ago(0), match="超出范围")
    assert_refused(town, "petition", "event", pid, *ext, "--days", "30", "--served", days_ago(0), match="批准人")
    assert_refused(town, "petition", "event", pid, *ext, "--days", "30", "--approver", "王局长", match="告知日期")
    ok(town, "petition", "event", pid, *ext, "--days", "30", "--approver", "王局长", "--served", days_ago(0))
    assert_refused(town, "petition", "event", pid, "--kind", "延期", "--note", "再延", match="已延期一次")
    assert_refused(town, "petition", "event", pid, "--kind", "答复", match="处理结果")  # Art. 32
    assert_refused(town, "petition", "event", pid, "--kind", "答复", "--outcome", "很好", match="答复意见")
    event = ok_json(town, "petition", "event", pid, "--kind", "答复", "--outcome", "解释说明")
    assert (event["kind"], event["outcome"], event["from_status"], event["petition_id"]) == (
        "reply", "explain", "accepted", pid)
    detail = ok_json(town, "petition", "show", pid)
    assert detail["status"] == "replied"
    assert [e["kind"] for e in detail["events"]] == ["register", "accept", "extend", "reply"]
    deadlines = {d["what"]: d for d in detail["deadlines"]}
    assert deadlines["受理告知期限"]["met_on"] == days_ago(35)
    assert deadlines["办理期限"]["due"] == (dt.date.today() - dt.timedelta(days=35 - 90)).isoformat()
    assert deadlines["复查申请期限"]["window"] is True
    out = ok(town, "petition", "show", pid)
    for text in ("已答复", "受理告知期限", "已完成", "办理记录", "解释说明", "需调取档案"):
        assert text in out
    assert_refused(town, "petition", "event", "nobody", "--kind", "受理", match="找不到")
    assert_refused(town, "petition", "event", pid, "--kind", "复核申请", match="不能登记")
    assert_refused(town, "petition", "event", pid, "--kind", "穿越", match="环节 穿越 无效")


def test_overdue_listing(town):
    vid = add_veteran(town)
    late = open_petition(town, "--veteran", vid, "--received", days_ago(20))
    fresh = open_petition(town, "--veteran", vid, "--received", days_ago(2))
    handled = open_petition(town, "--veteran", vid, "--received", days_ago(20))
    ok(town, "petition", "event", handled, "--kind", "受理", "--date", days_ago(10), "--method", "信访处理意见书",
       "--served", days_ago(10))  # the written notice (Arts. 22–23, issue 14)
    all_rows = ok_json(town, "petition", "list")
    assert {r["id"] for r in all_rows} == {late, fresh, handled}
    overdue = ok_json(town, "petition", "list", "--overdue")
    assert [r["id"] for r in overdue] == [late]
    row = overdue[0]
    assert row["overdue"] is True and row["status"] == "registered"
    assert row["next_deadline"]["what"] == "受理告知期限" and row["next_deadline"]["due"] == days_ago(5)
    out = ok(town, "petition", "list", "--overdue")
    assert "超期信访件：共 1 件" in out and "已登记" in out and "受理告知期限" in out
    assert ok_json(town, "petition", "show", "1")["id"] == late  # the row number of the list just printed


def test_empty_lists(town):
    for group in ("veteran", "visit", "petition"):
        assert "（无记录）" in ok(town, group, "list")
        assert ok_json(town, group, "list") == []


def test_petition_show_unknown(town):
    assert_refused(town, "petition", "show", "nobody", match="找不到")


# --------------------------------------------------------------------------- help, entry points


def _walk(cmd: click.Command, path: tuple[str, ...] = ()):
    yield path, cmd
    if isinstance(cmd, click.Group):  # list_commands/get_command: the top group loads its commands lazily
        ctx = click.Context(cmd)
        for name in cmd.list_commands(ctx):
            yield from _walk(cmd.get_command(ctx, name), (*path, name))


def test_every_command_has_help_text(tmp_path):
    seen = []
    for path, cmd in _walk(main):
        assert (cmd.help or "").strip(), f"{' '.join(path) or 'station-node'} has no help"
        result = CliRunner().invoke(main, [*path, "--help"])
        assert result.exit_code == 0, result.output
        assert cmd.help.strip()[:10] in result.stdout and "用法" in result.stdout
        if not isinstance(cmd, click.Group):
            assert "--home" in result.stdout
            for param in cmd.params:
                if isinstance(param, click.Option):
                    assert (param.help or "").strip(), f"{path} {param.name} has no help"
        seen.append(" ".join(path))
    for expected in ("init", "veteran add", "veteran edit", "veteran delete", "veteran show", "veteran list",
                     "visit add", "visit list", "petition open", "petition event", "petition list", "petition show"):
        assert expected in seen


def test_console_script_in_a_subprocess(tmp_path):
    exe = Path(sys.executable).parent / "station-node"
    if not exe.exists():
        pytest.skip("console script not installed next to this interpreter")
    env = {**os.environ, "STATION_NODE_HOME": str(tmp_path / "ignored")}
    home = str(tmp_path / "st")

    def call(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(exe), *args, "--home", home], capture_output=True, text=True, env=env, timeout=60)

    assert call("init", "--station", TOWN, "--offline").returncode == 0
    added = call("veteran", "add", "--id-number", ID1, "--name", "张三", "--area", VILLAGE)
    assert added.returncode == 0, added.stderr
    listed = call("veteran", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [(r["id"], r["name"]) for r in rows] == [(added.stdout.strip(), "张三")]
    bad = call("veteran", "show", "nobody")
    assert bad.returncode == 1 and bad.stderr.startswith("错误：") and len(bad.stderr.splitlines()) == 1
    assert not (tmp_path / "ignored").exists()


def test_python_dash_m(tmp_path):
    out = subprocess.run([sys.executable, "-m", "station_node", "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "station-node" in out.stdout and "veteran" in out.stdout
