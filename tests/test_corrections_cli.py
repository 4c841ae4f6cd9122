"""The clerk corrects a mistake (issue 12, "Correct"), through the station CLI
(click's CliRunner): ``visit edit``/``delete``, ``petition edit``, a wrong step
voided by ``petition event --kind 更正 --of N``, ``veteran delete`` (asking on a
terminal, saying what happens to the visits and petitions) and ``veteran
restore``. Exact Chinese messages; every refusal is one 错误 line, exit 1, and
leaves the database unchanged."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from station_node import cli_records
from station_node.cli import main
from station_node.home import open_store
from veterans.values import id_number_check_digit
from stationcli import ok, ok_json, run

TODAY = dt.date.today()
TOWN, VILLAGE, VILLAGE2 = "440902001", "440902001001", "440902001002"
ID1 = "44090219600101001" + id_number_check_digit("44090219600101001")
ID2 = "44090219700202002" + id_number_check_digit("44090219700202002")
ID3 = "44090219750303003" + id_number_check_digit("44090219750303003")


def dump(home: Path) -> str:
    conn = sqlite3.connect(home / "station.db")
    try:
        return "\n".join(conn.iterdump())
    finally:
        conn.close()


def assert_refused(home: Path, *args: str, match: str | None = None) -> str:
    """One 错误 line on stderr (starting with ``match``), exit 1, the database unchanged."""
    before = dump(home)
    result = run(home, *args)
    assert result.exit_code == 1, (result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("错误："), result.stderr
    if match:
        assert lines[0].startswith(match), lines[0]
    assert dump(home) == before
    return lines[0]


def later(days: int) -> str:
    return (TODAY + dt.timedelta(days=days)).isoformat()


@pytest.fixture()
def village(tmp_path) -> Path:
    home = tmp_path / "village"
    ok(home, "init", "--offline", "--station", VILLAGE)
    return home


@pytest.fixture()
def town(tmp_path) -> Path:
    home = tmp_path / "town"
    ok(home, "init", "--offline", "--station", TOWN)
    return home


def add_veteran(home: Path, id_number: str = ID1, name: str = "张三", area: str = VILLAGE) -> str:
    return ok(home, "veteran", "add", "--id-number", id_number, "--name", name, "--area", area).strip()


def add_visit(home: Path, vid: str, date: str = "2024-01-05") -> str:
    return ok(home, "visit", "add", "--veteran", vid, "--kind", "电话", "--date", date, "--summary", "电话问候").strip()


def open_petition(home: Path, vid: str, received: str = "2024-03-01") -> str:
    return ok(home, "petition", "open", "--veteran", vid, "--channel", "书信", "--summary", "反映优抚金问题",
              "--received", received).strip()


def event(home: Path, pid: str, kind: str, date: str, *extra: str) -> dict:
    return ok_json(home, "petition", "event", pid, "--kind", kind, "--date", date, *extra)


def show(home: Path, pid: str) -> dict:
    return ok_json(home, "petition", "show", pid)


# --------------------------------------------------------------------------- visits


def test_visit_edit_changes_fields_and_syncs_as_a_write(village):
    vid = add_veteran(village)
    xid = add_visit(village, vid)
    assert ok(village, "visit", "edit", xid, "--set", "情况摘要=电话问候，身体好", "--set", "慰问金=200") == \
        f"已修改走访记录：{xid}（张三，2024-01-05）\n"
    (row,) = ok_json(village, "visit", "list")
    assert row["summary"] == "电话问候，身体好" and row["aid_cash"] == 200.0
    store = open_store(village)
    try:
        _, pending = store.load("visits", xid)
        assert {"summary", "aid_cash"} <= set(pending)  # the next sync pushes the edit
    finally:
        store.close()


def test_visit_edit_moves_a_visit_logged_against_the_wrong_person(town):
    first = add_veteran(town, ID1, "张三", VILLAGE)
    second = add_veteran(town, ID2, "李四", VILLAGE2)
    xid = add_visit(town, first)
    row = ok_json(town, "visit", "edit", xid, "--veteran", second)
    assert (row["veteran_id"], row["area"]) == (second, VILLAGE2)
    assert [r["id"] for r in ok_json(town, "visit", "list", "--veteran", second)] == [xid]


def test_visit_edit_refusals(village):
    vid = add_veteran(village)
    xid = add_visit(village, vid)
    assert_refused(village, "visit", "edit", xid, match="错误：没有要修改的字段（用 --set 字段=值 或 --veteran 指定）")
    assert_refused(village, "visit", "edit", xid, "--set", f"走访日期={later(3)}",
                   match=f"错误：走访日期 {later(3)} 晚于今天 {TODAY.isoformat()}（请检查电脑日期或输入）")
    assert_refused(village, "visit", "edit", xid, "--set", "方式=", match="错误：走访慰问的必填项不能清空：方式")
    assert_refused(village, "visit", "edit", xid, "--set", "区划代码=440902001002",
                   match="错误：字段 area（区划代码） 不能直接设置")
    assert_refused(village, "visit", "edit", xid, "--set", f"退役军人={vid}",
                   match="错误：退役军人（请用 --veteran 指定）不能在此修改")
    assert_refused(village, "visit", "edit", "no-such-visit", "--set", "情况摘要=x",
                   match="错误：找不到走访慰问 no-such-visit：请用序号或编号")


def test_visit_delete(village):
    vid = add_veteran(village)
    xid = add_visit(village, vid)
    kept = add_visit(village, vid, "2024-02-01")
    assert ok(village, "visit", "delete", xid) == f"已删除走访记录：{xid}（张三，2024-01-05，电话）\n"
    assert [r["id"] for r in ok_json(village, "visit", "list")] == [kept]
    assert_refused(village, "visit", "delete", xid, match=f"错误：找不到走访慰问记录：{xid}")


# --------------------------------------------------------------------------- petition edit


def test_petition_edit_and_the_deadlines_follow(village):
    vid = add_veteran(village)
    pid = open_petition(village, vid, "2024-03-01")
    assert show(village, pid)["next_deadline"]["due"] == "2024-03-16"
    assert ok(village, "petition", "edit", pid, "--set", "收到日期=2024-03-04", "--set", "承办人=王科长") == \
        f"已修改信访件：{pid}（张三），当前状态：已登记\n"
    shown = show(village, pid)
    assert shown["received_on"] == "2024-03-04" and shown["handler"] == "王科长"
    assert shown["next_deadline"]["due"] == "2024-03-19"  # 15 days from the corrected receipt
    assert [e["kind"] for e in shown["events"]] == ["register"]  # the log is not touched


def test_petition_edit_refusals(village):
    vid = add_veteran(village)
    pid = open_petition(village, vid, "2024-03-01")
    event(village, pid, "受理", "2024-03-05")
    assert_refused(village, "petition", "edit", pid, "--set", "收到日期=2024-03-06",
                   match="错误：收到日期 2024-03-06 晚于第2条“受理”的日期 2024-03-05")
    assert_refused(village, "petition", "edit", pid, "--set", "类别=检举控告类",
                   match="错误：检举控告类信访件的类别只能由县中心变更")
    assert_refused(village, "petition", "edit", pid, "--set", "保密=是",
                   match="错误：保密属性（由类别决定：检举控告类保密）不能在此修改")
    assert_refused(village, "petition", "edit", pid, "--set", "事项摘要=", match="错误：信访件的必填项不能清空：事项摘要")
    assert_refused(village, "petition", "edit", pid, match="错误：没有要修改的字段（用 --set 字段=值 指定）")


def test_a_petition_moves_with_its_veteran_and_an_unlinked_one_within_the_scope(town):
    pid = ok(town, "petition", "open", "--channel", "电话", "--summary", "咨询政策", "--petitioner", "赵六",
             "--area", VILLAGE, "--received", "2024-03-01").strip()
    assert ok_json(town, "petition", "edit", pid, "--set", f"区划代码={VILLAGE2}")["area"] == VILLAGE2
    assert_refused(town, "petition", "edit", pid, "--set", "区划代码=440902002001",
                   match="错误：区划代码 440902002001 不在本站范围 440902001 内")
    first, second = add_veteran(town, ID1, "张三", VILLAGE), add_veteran(town, ID2, "李四", VILLAGE2)
    linked = open_petition(town, first)
    assert_refused(town, "petition", "edit", linked, "--set", f"区划代码={VILLAGE2}",
                   match="错误：关联退役军人的信访件随其区划，不能单独修改区划代码（改关联的退役军人用 --veteran）")
    row = ok_json(town, "petition", "edit", linked, "--veteran", second)
    assert (row["veteran_id"], row["area"]) == (second, VILLAGE2)
    assert_refused(town, "petition", "edit", linked, "--veteran", first, "--set", f"区划代码={VILLAGE2}",
                   match="错误：关联退役军人的信访件随其区划，不能另指定区划代码")


# --------------------------------------------------------------------------- 更正


def _handled(home: Path) -> tuple[str, str]:
    """A petition received 03-01, accepted 03-05 (the wrong step), extended, replied."""
    pid = open_petition(home, add_veteran(home), "2024-03-01")
    event(home, pid, "受理", "2024-03-05")
    # a 延期 carries its days, approver and the day the petitioner was told (Art. 34, issue 14)
    event(home, pid, "延期", "2024-04-20", "--note", "情况复杂", "--days", "30", "--approver", "局长",
          "--served", "2024-04-20")
    event(home, pid, "答复", "2024-05-10", "--outcome", "支持")
    return pid, show(home, pid)["events"][1]["id"]


def test_a_correction_voids_a_step_and_the_history_keeps_both(village):
    pid, accept = _handled(village)
    before = show(village, pid)
    assert before["status"] == "replied" and {d["what"] for d in before["deadlines"]} >= {"办理期限"}
    out = ok(village, "petition", "event", pid, "--kind", "更正", "--of", "2", "--note", "受理登记错了")
    cid = out.split("：", 1)[1].split("，", 1)[0]
    assert out == (f"已登记“更正”：{cid}，作废第2条“受理”（2024-03-05），当前状态：已答复\n"
                   "注意：第3条事件：当前状态“已登记”不能登记“延期”，已跳过（如该环节也有误，请一并更正）\n")
    after = show(village, pid)
    assert [e["kind"] for e in after["events"]] == ["register", "accept", "extend", "reply", "correct"]
    assert after["events"][1]["voided_by"] == cid and after["events"][4]["voids"] == accept
    assert after["events"][4]["note"] == "受理登记错了" and after["events"][4]["from_status"] == "replied"
    assert [e["voided_by"] for e in after["events"] if e["id"] != accept] == [None] * 4
    # no acceptance: no handling deadline; a reply is no written notice (Arts. 22–23, issue 14),
    # so the 15-day notice stays unmet
    assert {d["what"] for d in after["deadlines"]} == {"受理告知期限", "复查申请期限"}
    notice = next(d for d in after["deadlines"] if d["what"] == "受理告知期限")
    assert notice["met_on"] is None and notice["overdue"]
    assert "第3条事件：当前状态“已登记”不能登记“延期”，已跳过" in after["anomalies"]
    text = ok(village, "petition", "show", pid)
    assert "已被第5条更正作废" in text and "作废第2条" in text and "序号" in text


def test_a_correction_by_event_id_and_its_json(village):
    pid, accept = _handled(village)
    row = ok_json(village, "petition", "event", pid, "--kind", "correct", "--of", accept, "--note", "重复登记")
    assert (row["kind"], row["voids"], row["petition_id"], row["area"]) == ("correct", accept, pid, VILLAGE)
    assert row["at"] == TODAY.isoformat()


def test_a_wrong_close_is_voided_and_the_case_is_open_again(village):
    pid = open_petition(village, add_veteran(village), later(-10))
    event(village, pid, "受理", later(-9), "--served", later(-9))
    # 办结 comes after a 答复 (Art. 32, issue 14): void the 答复 and the 办结 both leave the
    # case open again, its 60 days running
    event(village, pid, "答复", later(-3), "--outcome", "支持")
    event(village, pid, "办结", later(-2))
    assert show(village, pid)["status"] == "closed"
    ok(village, "petition", "event", pid, "--kind", "更正", "--of", "4", "--note", "尚未办结")
    ok(village, "petition", "event", pid, "--kind", "更正", "--of", "3", "--note", "尚未答复")
    shown = show(village, pid)
    assert shown["status"] == "accepted" and shown["next_deadline"]["what"] == "办理期限"
    assert shown["next_deadline"]["due"] == later(-9 + 60)


def test_correction_refusals(village):
    pid, accept = _handled(village)
    ok(village, "petition", "event", pid, "--kind", "更正", "--of", "4", "--note", "答复错了")
    refuse = lambda *a, match: assert_refused(village, "petition", "event", pid, *a, match=match)  # noqa: E731
    refuse("--kind", "更正", "--of", "1", "--note", "x",
           match="错误：“登记”环节不能更正（收到日期、信访人等登记内容有误，请用 petition edit 修改）")
    refuse("--kind", "更正", "--of", "5", "--note", "x", match="错误：“更正”不能再更正（如更正有误，请重新登记被作废的环节）")
    refuse("--kind", "更正", "--of", "4", "--note", "x", match="错误：第4条“答复”已被第5条更正作废")
    refuse("--kind", "更正", "--of", "9", "--note", "x",
           match="错误：该信访件没有序号或编号为 9 的办理环节（序号见 petition show 的办理记录，共 5 条）")
    refuse("--kind", "更正", "--of", "nope", "--note", "x", match="错误：该信访件没有序号或编号为 nope 的办理环节")
    refuse("--kind", "更正", "--of", "2", match="错误：更正须说明理由（用 --note 填写）")
    refuse("--kind", "更正", "--note", "x",
           match="错误：更正须指明要作废的环节（用 --of 指定 petition show 中的序号或环节编号）")
    refuse("--kind", "受理", "--of", "2", match="错误：只有“更正”环节用 --of 指明要作废的环节")
    refuse("--kind", "更正", "--of", "2", "--note", "x", "--outcome", "支持",
           match="错误：“更正”不需要答复意见，只有答复、复查意见、复核意见有")
    refuse("--kind", "更正", "--of", "2", "--note", "x", "--date", later(2),
           match=f"错误：日期 {later(2)} 晚于今天 {TODAY.isoformat()}（请检查电脑日期或输入）")
    refuse("--kind", "更正", "--of", "2", "--note", "x", "--date", "2024-02-01",
           match="错误：日期 2024-02-01 早于收到日期 2024-03-01")


def test_the_station_report_follows_the_corrected_log(village):
    pid = open_petition(village, add_veteran(village), later(-10))
    event(village, pid, "答复", later(-6), "--outcome", "支持")  # 办结 after a 答复 (Art. 32, issue 14)
    event(village, pid, "办结", later(-5))
    month = TODAY.strftime("%Y-%m")

    def total() -> dict:
        report = ok_json(village, "report", "--month", month)
        return next(r for r in report["rows"] if r["area"] == VILLAGE)

    assert (total()["petitions_open"], total()["petitions_closed"]) == (0, 1)
    ok(village, "petition", "event", pid, "--kind", "更正", "--of", "3", "--note", "误点办结")
    after = total()
    assert (after["petitions_open"], after["petitions_closed"], after["petitions_closed_in_month"]) == (1, 0, 0)


# --------------------------------------------------------------------------- veteran delete and restore


def test_delete_off_a_terminal_says_what_stays_and_how_to_undo(village):
    vid = add_veteran(village)
    xid = add_visit(village, vid)
    pid = open_petition(village, vid)
    assert ok(village, "veteran", "delete", vid) == (
        f"已删除：{vid}（张三）\n其走访记录 1 条、信访件 1 件（其中未办结 1 件）保留未删\n"
        f"如需撤销：station-node veteran restore {vid}\n")
    assert_refused(village, "veteran", "show", vid)
    assert [r["id"] for r in ok_json(village, "visit", "list")] == [xid]  # visits and petitions stay
    assert show(village, pid)["status"] == "registered"


def _on_a_terminal(monkeypatch):
    monkeypatch.setattr(cli_records, "_on_terminal", lambda: True)


def test_delete_asks_on_a_terminal_and_a_no_keeps_the_record(village, monkeypatch):
    vid = add_veteran(village)
    add_visit(village, vid)
    add_visit(village, vid, "2024-02-01")
    open_petition(village, vid)
    _on_a_terminal(monkeypatch)
    before = dump(village)
    result = CliRunner().invoke(main, ["veteran", "delete", vid, "--home", str(village)], input="n\n")
    assert result.exit_code == 1
    assert result.stderr == (
        f"将删除退役军人档案：张三（编号 {vid}）。其走访记录 2 条、信访件 1 件（其中未办结 1 件）不删除，"
        f"仍保留并照常同步，未办结的信访件仍须按期办理；删除后可用 station-node veteran restore {vid} 恢复。"
        "确定删除吗？ [y/N]: n\n已取消\n")
    assert dump(village) == before
    result = CliRunner().invoke(main, ["veteran", "delete", vid, "--home", str(village)], input="y\n")
    assert result.exit_code == 0 and result.stdout.startswith(f"已删除：{vid}（张三）\n"), result.output
    assert_refused(village, "veteran", "show", vid)


def test_delete_with_nothing_attached_and_yes_on_a_terminal(village, monkeypatch):
    vid = add_veteran(village)
    other = add_veteran(village, ID2, "李四")
    _on_a_terminal(monkeypatch)
    result = CliRunner().invoke(main, ["veteran", "delete", vid, "--home", str(village)], input="y\n")
    assert result.stderr.startswith(f"将删除退役军人档案：张三（编号 {vid}）。其名下没有走访记录和信访件；")
    assert result.stdout == f"已删除：{vid}（张三）\n如需撤销：station-node veteran restore {vid}\n"
    result = CliRunner().invoke(main, ["veteran", "delete", other, "--yes", "--home", str(village)])
    assert result.exit_code == 0 and result.stderr == ""  # --yes: no question


def test_restore_brings_the_record_back(village):
    vid = add_veteran(village)
    add_visit(village, vid)
    ok(village, "veteran", "delete", vid)
    assert ok(village, "veteran", "restore", vid) == f"已恢复：{vid}（张三）\n其走访记录 1 条删除时未动，仍照常关联\n"
    assert ok_json(village, "veteran", "show", vid)["name"] == "张三"
    store = open_store(village)
    try:
        state, pending = store.load("veterans", vid)
        assert state.values["deleted"] == 0 and "deleted" in pending  # a write that syncs
    finally:
        store.close()
    assert_refused(village, "veteran", "restore", vid, match=f"错误：档案未删除：张三（编号 {vid}），无需恢复")


def test_restore_refusals(village):
    assert_refused(village, "veteran", "restore", "nope",
                   match="错误：找不到已删除的退役军人档案：nope（从未在本站登记，或删除已久、记录已被县中心清理，不能再恢复）")
    vid = add_veteran(village)
    ok(village, "veteran", "delete", vid)
    again = add_veteran(village, ID1, "张三丰")  # the same person filed anew meanwhile
    assert_refused(village, "veteran", "restore", vid,
                   match=f"错误：身份证号 {ID1} 已登记：张三丰（编号 {again}），不能恢复（同一人不能有两份档案；请修改已有档案）")
    store = open_store(village)
    try:
        store.write("veterans", vid, {"merged_into": again})  # as a resolved duplicate identity leaves it
    finally:
        store.close()
    assert_refused(village, "veteran", "restore", vid,
                   match=f"错误：该档案已合并到 张三丰（编号 {again}），不能恢复（合并是重复登记冲突的处理结果，如有误请联系县中心）")


def test_the_new_commands_have_chinese_help():
    for path in (("veteran", "restore"), ("visit", "edit"), ("visit", "delete"), ("petition", "edit")):
        result = CliRunner().invoke(main, [*path, "--help"])
        assert result.exit_code == 0 and "用法" in result.stdout, result.output
    assert "--of EVENT" in CliRunner().invoke(main, ["petition", "event", "--help"]).stdout
    assert "--yes" in CliRunner().invoke(main, ["veteran", "delete", "--help"]).stdout


def test_records_are_named_as_in_every_other_command(village):
    """Row numbers of the last list, ID numbers, unique names; a shared name lists the candidates."""
    vid = add_veteran(village)
    add_visit(village, vid)
    ok(village, "visit", "list")  # numbers its rows for the next command
    ok(village, "visit", "edit", "1", "--set", "情况摘要=电话回访")
    assert ok_json(village, "visit", "list")[0]["summary"] == "电话回访"
    assert ok(village, "veteran", "delete", "张三").startswith(f"已删除：{vid}（张三）")
    assert ok(village, "veteran", "restore", ID1).startswith(f"已恢复：{vid}（张三）")
    first, second = add_veteran(village, ID2, "李四"), add_veteran(village, ID3, "李四")
    result = run(village, "veteran", "delete", "李四")
    assert result.exit_code == 1 and result.stderr == "错误：本站有 2 名退役军人叫 李四，请用序号或身份证号指定\n"
    assert "叫 李四 的退役军人（2人）" in result.stdout
    ok(village, "veteran", "delete", "2")  # the second candidate listed
    remaining = {r["id"] for r in ok_json(village, "veteran", "list")}
    assert len(remaining & {first, second}) == 1 and vid in remaining
