"""Finding a person and lists that page (issue 12, "Find"), through the station CLI.

- a veteran is named by id, the end of its id, the ID number as clerks type it
  (lower-case x, full-width digits, spaces), a name unique in the station, or
  the row number of the last list; a name several veterans have lists the
  candidates (numbered: the next command takes the number); unknown ones are
  refused in one Chinese line;
- ``veteran show`` is the whole file; ``veteran list`` masks the ID number
  unless ``--full``; names come in pinyin order and are found by pinyin;
- lists page (``--limit``, ``--offset``), number their rows across pages, fit
  80 columns without cutting a name, and read no more rows than they print;
- the store's caches (name keys, due dates) follow every write;
- ``--area`` defaults to a village station's own code.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import tracemalloc
from pathlib import Path

import pytest
from click.testing import CliRunner

from station_node import home as home_mod
from station_node import records
from station_node.cli import main
from station_node.shortcodes import LastLists
from sync.store import duecache, queries
from veterans import find
from veterans.pinyin import name_key
from veterans.values import id_number_check_digit
from vetsync_cli.listing import Column, cell_width, render
from stationcli import ok, ok_json, run

TOWN = "440902001"
VILLAGE = "440902001001"
VILLAGE2 = "440902001002"


def make_id(body: str) -> str:
    return body + id_number_check_digit(body)


ID1 = make_id("44090219600101001")
ID2 = make_id("44090219700202002")
ID3 = make_id("44090219650303003")
IDX = make_id("44090219800101005")  # check character X
assert IDX.endswith("X")


def dump(home: Path) -> str:
    conn = sqlite3.connect(home / "station.db")
    try:
        return "\n".join(line for line in conn.iterdump() if "_name_keys" not in line and "_petition_dues" not in line
                         and "name_keys_seq" not in line and "petition_dues" not in line)
    finally:
        conn.close()


def refused(home: Path, *args: str) -> tuple[str, str]:
    """(the one 错误 line, stdout) of a refused command; the records unchanged."""
    before = dump(home)
    result = run(home, *args)
    assert result.exit_code == 1, (result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("错误："), result.stderr
    assert dump(home) == before
    return lines[0], result.stdout


def add(home: Path, id_number: str, name: str, area: str = VILLAGE, *extra: str) -> str:
    return ok(home, "veteran", "add", "--id-number", id_number, "--name", name, "--area", area, *extra).strip()


def days_ago(n: int) -> str:
    return (dt.date.today() - dt.timedelta(days=n)).isoformat()


@pytest.fixture
def town(tmp_path: Path) -> Path:
    home = tmp_path / "town"
    ok(home, "init", "--station", TOWN, "--offline")
    return home


@pytest.fixture
def people(town: Path) -> dict[str, str]:
    """李四 (unique), two 张三 in two villages, 王五 whose ID number ends in X."""
    return {
        "lisi": add(town, ID2, "李四", VILLAGE, "--set", "phone=13900139000"),
        "zhang_a": add(town, ID1, "张三", VILLAGE),
        "zhang_b": add(town, ID3, "张三", VILLAGE2),
        "wangwu": add(town, IDX, "王五", VILLAGE2),
    }


# --------------------------------------------------------------------------- references


def test_a_veteran_is_found_by_id_id_number_name_and_end_of_id(town, people):
    lisi, wangwu = people["lisi"], people["wangwu"]
    for ref in (lisi, lisi.upper(), lisi.replace("-", ""), lisi[-10:], ID2, f" {ID2[:6]} {ID2[6:14]} {ID2[14:]} ",
                ID2.translate(str.maketrans("0123456789", "０１２３４５６７８９")), "李四", " 李 四 "):
        assert ok_json(town, "veteran", "show", ref)["id"] == lisi, ref
    for ref in (IDX, IDX.lower(), IDX[:-1] + "ｘ"):
        assert ok_json(town, "veteran", "show", ref)["id"] == wangwu, ref


def test_an_ambiguous_name_lists_the_candidates_and_their_numbers_are_taken(town, people):
    line, out = refused(town, "veteran", "show", "张三")
    assert line == "错误：本站有 2 名退役军人叫 张三，请用序号或身份证号指定"
    assert out.splitlines()[0] == "叫 张三 的退役军人（2人）："
    rows = [r.split() for r in out.splitlines()[3:]]
    assert rows == [["1", "张三", "440902********" + ID1[-4:], VILLAGE, "1960-01-01"],
                    ["2", "张三", "440902********" + ID3[-4:], VILLAGE2, "1965-03-03"]], out
    assert ID1 not in out and ID3 not in out  # masked
    assert ok_json(town, "veteran", "show", "2")["id"] == people["zhang_b"]
    assert ok_json(town, "veteran", "show", "#1")["id"] == people["zhang_a"]
    # a write taking a veteran refuses the same way and writes nothing
    line, _ = refused(town, "visit", "add", "--veteran", "张三", "--kind", "电话")
    assert line == "错误：本站有 2 名退役军人叫 张三，请用序号或身份证号指定"


@pytest.mark.parametrize("ref, message", [
    ("王小二", "错误：找不到叫 王小二 的退役军人（本站范围 440902001 内）（可用 veteran list --search 查找）"),
    ("nobody", "错误：找不到退役军人 nobody：不是序号、身份证号或编号，本站也没有叫这个名字的人"
               "（可用 veteran list --search 查找）"),
    (make_id("44090219900101123"), f"错误：找不到身份证号为 {make_id('44090219900101123')} 的退役军人"),
    (ID1[:-1] + ("0" if ID1[-1] != "0" else "1"),
     f"错误：找不到身份证号为 {ID1[:-1] + ('0' if ID1[-1] != '0' else '1')} 的退役军人"
     f"（请核对身份证号：身份证号 {ID1[:-1] + ('0' if ID1[-1] != '0' else '1')} 校验位错误（应为 {ID1[-1]}））"),
    ("0123456789ab", "错误：找不到编号以 0123456789ab 结尾的退役军人记录"),
    ("019a245f-0ba5-7f0f-b31d-da9bda811731", "错误：找不到退役军人记录：019a245f-0ba5-7f0f-b31d-da9bda811731"),
    ("7", "错误：还没有列出过退役军人，序号 7 无从查起（先运行 station-node veteran list，再用列出的序号）"),
])
def test_unknown_references_are_refused_in_one_line(town, people, ref, message):
    line, _ = refused(town, "veteran", "show", ref)
    assert line == message


def test_a_row_number_outside_the_last_list_is_refused(town, people):
    ok(town, "veteran", "list", "--limit", "2")
    line, _ = refused(town, "veteran", "show", "3")
    assert line == ("错误：序号 3 不在上次列出的退役军人中（上次列出第 1–2 条）"
                    "（先运行 station-node veteran list，再用列出的序号）")


def test_visits_and_petitions_are_reached_from_their_veteran_and_by_number(town, people):
    lisi = people["lisi"]
    ok(town, "visit", "add", "--veteran", "李四", "--kind", "入户", "--date", "2024-02-08", "--summary", "春节慰问")
    ok(town, "visit", "add", "--veteran", ID2, "--kind", "电话", "--date", "2024-05-01", "--summary", "电话回访")
    ok(town, "visit", "add", "--veteran", "王五", "--kind", "电话", "--date", "2024-05-02")
    visits = ok_json(town, "visit", "list", "--veteran", "李四")
    assert [v["summary"] for v in visits] == ["电话回访", "春节慰问"] and {v["veteran_id"] for v in visits} == {lisi}
    out = ok(town, "visit", "list", "--veteran", "李四")
    assert out.splitlines()[0] == "走访慰问：李四：共 2 次"
    with _store(town) as store:
        second = records.find_visit(store, "2", numbers=LastLists(town))
    assert second["summary"] == "春节慰问"
    assert [v["kind"] for v in ok_json(town, "visit", "list", "--veteran", "李四", "--kind", "入户")] == ["home"]
    assert [v["summary"] for v in ok_json(town, "visit", "list", "--since", "2024-05-01", "--until", "2024-05-01")] == ["电话回访"]

    pid = ok(town, "petition", "open", "--veteran", "李四", "--channel", "走访", "--summary", "反映优抚金问题",
             "--received", days_ago(3)).strip()
    out = ok(town, "petition", "list", "--veteran", "李四")
    assert out.splitlines()[0] == "信访件：李四：共 1 件"
    assert "已登记" in out and "受理告知期限" in out
    assert "已登记“受理”" in ok(town, "petition", "event", "1", "--kind", "受理")
    assert ok_json(town, "petition", "show", "1")["id"] == pid
    assert ok_json(town, "petition", "show", "1")["status"] == "accepted"
    line, _ = refused(town, "petition", "show", "李四")
    assert line == ("错误：找不到信访件 李四：请用序号或编号"
                    "（先用 station-node petition list（可加 --veteran 姓名）列出，再用序号）")


class _store:
    def __init__(self, home: Path):
        self.home = home

    def __enter__(self):
        self.store = home_mod.open_store(self.home)
        return self.store

    def __exit__(self, *exc):
        self.store.close()


# --------------------------------------------------------------------------- the whole file


def test_veteran_show_is_the_whole_file(town, people):
    lisi = people["lisi"]
    ok(town, "visit", "add", "--veteran", lisi, "--kind", "入户", "--date", "2024-02-08", "--summary", "春节慰问")
    ok(town, "visit", "add", "--veteran", lisi, "--kind", "电话", "--date", "2024-06-01", "--summary", "电话回访")
    pid = ok(town, "petition", "open", "--veteran", lisi, "--channel", "走访", "--summary", "反映优抚金问题",
             "--received", days_ago(20)).strip()
    with _store(town) as store:  # a conflict the hub found about him, as a pull would bring it
        store.write("conflicts", "c-1", {"kind": "concurrent_edit", "table": "veterans", "row_id": lisi,
                                         "field": "phone", "area": VILLAGE, "winner_value": "13900139000",
                                         "loser_value": "13700137000", "detected_at": "2024-06-02T12:43:00+00:00",
                                         "status": "open"}, create=True)
        store.write("conflicts", "c-2", {"kind": "concurrent_edit", "table": "veterans", "row_id": lisi,
                                         "field": "address", "area": VILLAGE, "status": "resolved"}, create=True)
    shown = ok_json(town, "veteran", "show", "李四")
    assert shown["id"] == lisi and shown["id_number"] == ID2 and shown["phone"] == "13900139000"
    assert [v["summary"] for v in shown["visits"]] == ["电话回访", "春节慰问"]  # newest first
    assert [(p["id"], p["status"], p["overdue"]) for p in shown["petitions"]] == [(pid, "registered", True)]
    assert [c["id"] for c in shown["conflicts"]] == ["c-1"]  # open ones only
    out = ok(town, "veteran", "show", "李四")
    assert out.splitlines()[0] == "退役军人档案：李四"
    for text in ("身份证号", ID2, "走访慰问（2次，最新在前）", "电话回访", "信访件（1件）", "已登记", "受理告知期限",
                 "未解决的冲突（1个）", "c-1", "联系电话"):
        assert text in out, text
    local = dt.datetime(2024, 6, 2, 12, 43, tzinfo=dt.timezone.utc).astimezone().strftime("%Y-%m-%d %H:%M")
    assert local in out  # local time, to the minute
    assert out.index("电话回访") < out.index("春节慰问")
    # show numbered its visits and petitions: the next command takes the numbers
    with _store(town) as store:
        assert records.find_visit(store, "2", numbers=LastLists(town))["summary"] == "春节慰问"
    assert ok_json(town, "petition", "show", "1")["id"] == pid


# --------------------------------------------------------------------------- the list


def test_veteran_list_masks_the_id_number_unless_full(town, people):
    out = ok(town, "veteran", "list")
    assert "440902********" + ID2[-4:] in out and ID2 not in out
    full = ok(town, "veteran", "list", "--full")
    assert ID2 in full and "********" not in full
    assert ID2 in {r["id_number"] for r in ok_json(town, "veteran", "list")}  # JSON is the record, for programs


def test_names_come_in_pinyin_order_and_are_found_by_pinyin(town):
    names = ["张三", "李四", "王五", "阿明", "曾国藩", "吕布", "路人", "单雄信", "蔡明", "张三丰"]
    for i, name in enumerate(names):
        add(town, make_id(f"440902196001{i + 10:02d}001"), name)
    listed = [r["name"] for r in ok_json(town, "veteran", "list")]
    assert listed == ["阿明", "蔡明", "李四", "路人", "吕布", "单雄信", "王五", "曾国藩", "张三", "张三丰"]
    assert [r["name"] for r in ok_json(town, "veteran", "list", "--sort", "id")] == names
    assert [r["name"] for r in ok_json(town, "veteran", "list", "--search", "zs")] == ["张三", "张三丰"]
    assert [r["name"] for r in ok_json(town, "veteran", "list", "--search", "Zhang San")] == ["张三", "张三丰"]
    assert [r["name"] for r in ok_json(town, "veteran", "list", "--search", "zgf")] == ["曾国藩"]
    assert [r["name"] for r in ok_json(town, "veteran", "list", "--search", "shan")] == ["单雄信"]
    # a rename moves the name in the order (the store's keys follow the write)
    ok(town, "veteran", "edit", "阿明", "--set", "name=赵明")
    assert [r["name"] for r in ok_json(town, "veteran", "list")][-1] == "赵明"


def test_lists_page_and_number_across_pages(town):
    for i in range(7):
        add(town, make_id(f"440902196001{i + 10:02d}001"), f"王{'一二三四五六七'[i]}")
    every = [r["id"] for r in ok_json(town, "veteran", "list")]
    assert len(every) == 7
    assert [r["id"] for r in ok_json(town, "veteran", "list", "--limit", "3", "--offset", "3")] == every[3:6]
    out = ok(town, "veteran", "list", "--limit", "3", "--offset", "3")
    lines = out.splitlines()
    assert lines[0] == "退役军人：共 7 人，显示第 4–6 人"
    assert [line.split()[0] for line in lines[3:6]] == ["4", "5", "6"]
    assert lines[-1] == "下一页：station-node veteran list --limit 3 --offset 6"
    assert ok_json(town, "veteran", "show", "5")["id"] == every[4]
    assert "下一页" not in ok(town, "veteran", "list", "--limit", "3", "--offset", "6")
    assert ok(town, "veteran", "list", "--offset", "9").splitlines() == ["退役军人：共 7 人", "（无记录）"]
    assert ok(town, "veteran", "list").splitlines()[0] == "退役军人：共 7 人"
    born = ok_json(town, "veteran", "list", "--status", "在册", "--born-from", "1960-01-11", "--born-until", "1960-01-12")
    assert [r["name"] for r in born] == ["王二", "王三"]  # wáng èr, wáng sān


def test_a_list_fits_80_columns_without_cutting_a_name(town):
    long_name = "阿依古丽·买买提艾力"
    vid = add(town, ID1, long_name, VILLAGE, "--set", "category=军休干部/退休士官", "--set", "phone=13800138000",
              "--set", "address=某某镇某某村委会第三村民小组二十五号")
    add(town, ID2, "李四", VILLAGE2)
    summary = "春节前看望，检查光荣牌悬挂情况，了解身体和家庭情况，宣传优抚优待政策，对党和政府的关怀表示感谢。" * 2
    ok(town, "visit", "add", "--veteran", vid, "--kind", "入户", "--summary", summary, "--visitor", "王五",
       "--visitor", "赵六")
    ok(town, "petition", "open", "--veteran", vid, "--channel", "走访", "--summary", summary)
    narrow = {"COLUMNS": "80"}
    for args in (("veteran", "list"), ("veteran", "list", "--full"), ("visit", "list"), ("petition", "list"),
                 ("veteran", "show", vid)):
        out = ok(town, *args, env=narrow)
        assert max(cell_width(line) for line in out.splitlines()) <= 80, (args, out)
        assert long_name in out and "…" not in out, (args, out)
    wide = ok(town, "visit", "list")  # off a terminal, without COLUMNS: every column, nothing wrapped
    assert summary in wide
    out = ok(town, "veteran", "list", env=narrow)
    assert "（窗口宽度不够，未显示：" in out


def test_area_defaults_to_a_village_stations_own_code(tmp_path, town):
    village = tmp_path / "village"
    ok(village, "init", "--station", VILLAGE, "--offline")
    vid = ok(village, "veteran", "add", "--id-number", ID1, "--name", "张三").strip()
    assert ok_json(village, "veteran", "show", vid)["area"] == VILLAGE
    pid = ok(village, "petition", "open", "--channel", "电话", "--summary", "咨询政策", "--petitioner", "路人").strip()
    assert ok_json(village, "petition", "show", pid)["area"] == VILLAGE
    line, _ = refused(town, "veteran", "add", "--id-number", ID1, "--name", "张三")
    assert line == "错误：请用 --area 指定区划代码（镇、县站点须填写，村/社区站点默认本站）"


# --------------------------------------------------------------------------- the library underneath


def test_parse_reference_and_masking():
    kinds = {text: find.parse_reference(text).kind for text in (
        "019a245f-0ba5-7f0f-b31d-da9bda811731", "019A245F0BA57F0FB31DDA9BDA811731", "3", "#12", ID1, IDX.lower(),
        "da9bda811731", "张三", "阿依古丽•买买提")}
    assert list(kinds.values()) == ["id", "id", "number", "number", "id_number", "id_number", "tail", "name", "name"]
    assert find.parse_reference("b31dda9bda811731").value == "b31d-da9bda811731"  # dashes put back
    assert find.parse_reference("阿依古丽•买买提").value == "阿依古丽·买买提"
    assert find.mask_id_number("440902197808124336") == "440902********4336"
    with pytest.raises(find.ValidationError, match="没有指定记录"):
        find.parse_reference("  ")


def test_pinyin_keys():
    assert name_key("张三") == ("zhang1 san1\x1f张三", "zs", "zhangsan")
    assert name_key("单雄信").initials == "sxx" and name_key("曾国藩").spelled == "zengguofan"
    assert name_key("尉迟恭").spelled == "yuchigong" and name_key("单于").spelled == "chanyu"
    assert sorted(["张三丰", "章三", "张三"], key=lambda n: name_key(n).sort_key) == ["张三", "章三", "张三丰"]


def test_render_leaves_out_low_priority_columns_first_and_never_wraps_a_kept_one():
    cols = [Column("姓名", lambda r: r["n"], keep=True), Column("说明", lambda r: r["s"], wrap=True, min_width=10, priority=5),
            Column("甲", lambda r: "x" * 30, priority=1), Column("乙", lambda r: "y" * 30, priority=9)]
    lines = render(cols, [{"n": "欧阳娜娜", "s": "很长的说明" * 10}], width=60)
    assert max(cell_width(line) for line in lines) <= 60
    assert lines[0].split() == ["姓名", "说明", "乙"] and lines[-1] == "（窗口宽度不够，未显示：甲）"
    assert all("欧阳娜娜" in line for line in lines[2:3])


def test_the_due_date_cache_follows_events_and_rules(town, people):
    pid = ok(town, "petition", "open", "--veteran", "李四", "--channel", "走访", "--summary", "反映优抚金问题",
             "--received", days_ago(20)).strip()
    assert [p["id"] for p in ok_json(town, "petition", "list", "--overdue")] == [pid]
    # accepted with the written notice (Arts. 22–23, issue 14: the notice meets the 15 days)
    ok(town, "petition", "event", pid, "--kind", "受理", "--date", days_ago(10), "--served", days_ago(10))
    assert ok_json(town, "petition", "list", "--overdue") == []
    with _store(town) as store:
        assert duecache.fresh(store, records._fold_rules())
        assert not duecache.fresh(store, "other rules")
        assert duecache.refresh(store, "other rules", lambda pet, events: "1900-01-01") == 1  # new rules: all again
        assert [p["id"] for p in queries.overdue_petition_page(store, dt.date.today().isoformat())] == [pid]
        assert list(records.petition_page(store, overdue=True).rows) == []  # this code's rules again: all again
        store.write("petitions", pid, {"summary": "改了摘要"})
        assert not duecache.fresh(store, records._fold_rules())
        assert records.refresh_petition_dues(store) == 1  # only the one written


def test_a_page_reads_only_its_rows(tmp_path):
    """tracemalloc: the first page of 20 over 6,000 visits and 500 veterans holds a
    few rows, where the whole list holds them all."""
    from bench.generate import generate_county

    home = tmp_path / "county"
    store = home_mod.init_offline(home, "440902")
    try:
        generate_county(store, scale=0.025, towns=2, villages_per_town=3, pending=False)
        records.refresh_name_keys(store)
        records.refresh_petition_dues(store)

        def peak(fn) -> int:
            tracemalloc.start()
            try:
                fn()
                return tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()

        page = peak(lambda: list(records.visit_page(store, limit=20).rows))
        whole = peak(lambda: list(records.visit_page(store).rows))
        assert page < 300_000 and whole > 10 * page, (page, whole)
        assert peak(lambda: list(records.veteran_page(store, limit=20).rows)) < 300_000
        assert peak(lambda: list(records.petition_page(store, overdue=True, limit=20).rows)) < 300_000
    finally:
        store.close()


def test_the_pager_only_at_a_terminal_and_only_for_a_long_output(monkeypatch, capsys):
    from vetsync_cli import listing

    paged = []
    monkeypatch.setattr(listing.click, "echo_via_pager", lambda gen: paged.append("".join(gen)))
    monkeypatch.setattr(listing.shutil, "get_terminal_size", lambda: __import__("os").terminal_size((80, 24)))
    long = [f"第{n}行" for n in range(100)]
    monkeypatch.setattr(listing, "_interactive", lambda: False)
    listing.echo_lines(long)
    assert not paged and capsys.readouterr().out.splitlines() == long  # a pipe: printed as it is
    monkeypatch.setattr(listing, "_interactive", lambda: True)
    listing.echo_lines(long[:10])
    assert not paged  # fits the window
    listing.echo_lines(long)
    assert paged == ["\n".join(long) + "\n"]


def test_a_list_of_keyed_names_does_not_load_pypinyin(town, people):
    import subprocess
    import sys

    ok(town, "veteran", "list")  # the names are keyed (by the adds already)
    code = ("import sys; from station_node.cli import main\n"
            f"main.main(['veteran', 'list', '--search', 'zs', '--home', {str(town)!r}], standalone_mode=False)\n"
            "print('pypinyin' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines()[-1] == "False" and "张三" in out
