"""The clerk's corrections end to end (issue 12, "Correct"), with real processes
over mutual TLS on 127.0.0.1: a hub, a town and two of its villages, each
command a real ``station-node`` process. A visit edit and delete, a petition
edit, a 更正 and a veteran deleted at one station and restored at another reach
the hub and the other station in scope; edits outside the scope are refused —
by the station for what it does not hold, by the hub for what moved away — and
reach no one."""

from __future__ import annotations

import pytest

from procs import TOWN, VILLAGE_A, VILLAGE_B, Hub, Station, id_number, one_line_error, query

pytestmark = pytest.mark.e2e


@pytest.fixture
def network(tmp_path):
    hub = Hub(tmp_path / "hub").start()
    stations = {name: Station(tmp_path / name, code).enroll(hub)
                for name, code in (("town", TOWN), ("va", VILLAGE_A), ("vb", VILLAGE_B))}
    yield hub, stations
    hub.stop()


def hub_row(hub: Hub, table: str, row_id: str, *fields: str) -> tuple:
    (row,) = query(hub.home, f'SELECT {", ".join(fields)} FROM "{table}" WHERE id = ?', (row_id,))
    return row


def test_corrections_reach_the_hub_and_the_stations_in_scope(network):
    hub, st = network
    va, town, vb = st["va"], st["town"], st["vb"]
    vet = va.add_veteran(id_number(1), "李一")
    visit = va.cli_json("visit", "add", "--veteran", vet, "--kind", "入户", "--date", "2024-01-05",
                        "--summary", "春节走访")["id"]
    extra = va.cli_json("visit", "add", "--veteran", vet, "--kind", "电话", "--date", "2024-01-06")["id"]
    pet = va.cli_json("petition", "open", "--veteran", vet, "--channel", "书信", "--summary", "反映优抚金问题",
                      "--received", "2024-03-01")["id"]
    va.cli("petition", "event", pet, "--kind", "受理", "--date", "2024-03-05")
    va.cli("petition", "event", pet, "--kind", "答复", "--date", "2024-03-20", "--outcome", "支持")
    va.sync()
    town.sync()

    # the village corrects: a visit, the petition's registration, a wrong 受理
    va.cli("visit", "edit", visit, "--set", "情况摘要=春节走访，送米面油", "--set", "慰问金=500")
    va.cli("petition", "edit", pet, "--set", "承办人=王科长", "--set", "收到日期=2024-03-02")
    fix = va.cli_json("petition", "event", pet, "--kind", "更正", "--of", "2", "--note", "未受理，直接答复")
    # the town deletes the other visit and the veteran (off a terminal: no question)
    town.cli("visit", "delete", extra)
    deleted = town.cli("veteran", "delete", vet).stdout
    assert deleted.splitlines()[1:] == ["其走访记录 1 条、信访件 1 件（其中未办结 1 件）保留未删",
                                        f"如需撤销：station-node veteran restore {vet}"]
    assert va.sync()["rejected"] == 0 and town.sync()["rejected"] == 0
    va.sync()

    # at the hub
    assert hub_row(hub, "visits", visit, "summary", "aid_cash") == ("春节走访，送米面油", 500.0)
    assert hub_row(hub, "visits", extra, "deleted") == (1,)
    assert hub_row(hub, "petitions", pet, "handler", "received_on") == ("王科长", "2024-03-02")
    assert hub_row(hub, "petition_events", fix["id"], "kind", "voids") == ("correct", fix["voids"])
    assert hub_row(hub, "veterans", vet, "deleted") == (1,)
    # at the other station in scope, both ways
    for here in (town, va):
        shown = here.cli_json("petition", "show", pet)
        assert shown["handler"] == "王科长" and shown["status"] == "replied"
        assert [(e["kind"], e["voided_by"]) for e in shown["events"]] == [
            ("register", None), ("accept", fix["id"]), ("reply", None), ("correct", None)]
        assert "办理期限" not in {d["what"] for d in shown["deadlines"]}
        assert [(v["id"], v["summary"]) for v in here.cli_json("visit", "list")] == [(visit, "春节走访，送米面油")]
        assert here.cli("veteran", "show", vet, check=False).returncode == 1
    month = hub.cli_json("report", "--month", "2024-03")
    (village,) = [r for r in month["rows"] if r["area"] == VILLAGE_A]
    assert (village["petitions_received"], village["petitions_open"]) == (1, 1)

    # restored at the village, which did not delete it: the hub and the town take it back
    restored = va.cli("veteran", "restore", vet).stdout
    assert restored == f"已恢复：{vet}（李一）\n其走访记录 1 条、信访件 1 件（其中未办结 1 件）删除时未动，仍照常关联\n"
    va.sync()
    town.sync()
    assert hub_row(hub, "veterans", vet, "deleted") == (0,)
    assert town.cli_json("veteran", "show", vet)["name"] == "李一"
    assert hub.cli_json("conflicts", "--all") == []  # an un-delete is an ordinary newer write

    # scope: another village holds none of it, and says so
    for args in (("visit", "edit", visit, "--set", "情况摘要=x"), ("visit", "delete", visit),
                 ("petition", "edit", pet, "--set", "承办人=x"), ("veteran", "restore", vet),
                 ("petition", "event", pet, "--kind", "更正", "--of", "3", "--note", "x")):
        message = one_line_error(vb.cli(*args, check=False))
        assert message.startswith("错误：找不到"), message


def test_edits_of_records_that_moved_away_are_refused_by_the_hub(network):
    hub, st = network
    va, town, vb = st["va"], st["town"], st["vb"]
    vet = va.add_veteran(id_number(2), "王二")
    visit = va.cli_json("visit", "add", "--veteran", vet, "--kind", "电话", "--date", "2024-01-05",
                        "--summary", "电话问候")["id"]
    pet = va.cli_json("petition", "open", "--veteran", vet, "--channel", "走访", "--summary", "咨询政策",
                      "--received", "2024-03-01")["id"]
    va.cli("petition", "event", pet, "--kind", "受理", "--date", "2024-03-05")
    va.sync()
    town.sync()
    # the town moves the veteran (and so the visit and petition) to village B
    town.cli("veteran", "edit", vet, "--set", f"area={VILLAGE_B}")
    town.sync()
    # village A, not yet aware, corrects what it still holds
    va.cli("visit", "edit", visit, "--set", "情况摘要=改错了")
    va.cli("petition", "edit", pet, "--set", "承办人=越权")
    fix = va.cli_json("petition", "event", pet, "--kind", "更正", "--of", "2", "--note", "越权更正")
    report = va.sync()
    assert report["rejected"] == 3, report
    assert {(r["table"], r["id"]) for r in report["rejections"]} == {
        ("visits", visit), ("petitions", pet), ("petition_events", fix["id"])}
    status = va.cli_json("status")
    assert {r["row_id"] for r in status["rejected"]} == {visit, pet, fix["id"]}
    # nothing of it reached the hub or village B
    assert hub_row(hub, "visits", visit, "summary", "area") == ("电话问候", VILLAGE_B)
    assert hub_row(hub, "petitions", pet, "handler") == (None,)
    assert query(hub.home, "SELECT count(*) FROM petition_events WHERE id = ?", (fix["id"],)) == [(0,)]
    vb.sync()
    assert [(v["id"], v["summary"]) for v in vb.cli_json("visit", "list")] == [(visit, "电话问候")]
    shown = vb.cli_json("petition", "show", pet)
    assert shown["status"] == "accepted" and [e["voided_by"] for e in shown["events"]] == [None, None]
    # the county and village B see the refused edits (a conflict of kind refused_edit), to take them over
    refused = {(c["table"], c["row_id"]) for c in hub.cli_json("conflicts", "--kind", "refused_edit")}
    assert {("visits", visit), ("petitions", pet)} <= refused
    # and village B itself can correct the step, which the town then sees
    vb_fix = vb.cli_json("petition", "event", pet, "--kind", "更正", "--of", "2", "--note", "受理日期有误")
    vb.sync()
    town.sync()
    assert [e["voided_by"] for e in town.cli_json("petition", "show", pet)["events"]] == [None, vb_fix["id"], None]
