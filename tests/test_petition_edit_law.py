"""信访工作条例 (2022) on an edit as at entry: ``station-node petition edit`` (and
``corrections.edit_petition`` under it) refuses what ``petition open`` refuses — more
than five representatives (Art. 20), an earlier petition of the same matter that does
not exist or is the petition itself (Art. 36) — with one Chinese line, nothing
written; and a petition linked by an edit to a matter closed by 复核 is flagged and
not accepted, by the step entered after it or after a 更正 (Art. 36)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from station_node import corrections
from station_node.home import open_store
from sync.engine.errors import ValidationError
from stationcli import ok, ok_json, refused

VILLAGE = "440902001001"
TODAY = dt.date.today().isoformat()


@pytest.fixture()
def village(tmp_path) -> Path:
    home = tmp_path / "village"
    ok(home, "init", "--offline", "--station", VILLAGE)
    return home


def open_petition(home: Path, *extra: str) -> str:
    return ok(home, "petition", "open", "--channel", "走访", "--summary", "要求落实优待", "--petitioner", "李四",
              "--area", VILLAGE, "--received", TODAY, *extra).strip()


def step(home: Path, pid: str, kind: str, *extra: str) -> None:
    ok(home, "petition", "event", pid, "--kind", kind, "--date", TODAY, *extra)


def rechecked(home: Path) -> str:
    """A petition answered, reviewed and rechecked: its matter is closed for good (Art. 36)."""
    pid = open_petition(home)
    for kind, *extra in [("受理", "--method", "信访处理意见书", "--served", TODAY), ("答复", "--outcome", "不予支持"),
                         ("送达",), ("复查申请",), ("复查意见", "--outcome", "不予支持"), ("复核申请",),
                         ("复核意见", "--outcome", "不予支持")]:
        step(home, pid, kind, *extra)
    assert ok_json(home, "petition", "show", pid)["rechecked"] is True
    return pid


def test_art_20_an_edit_names_at_most_five_representatives(village):
    """信访工作条例第二十条: a 集体访 of more than five representatives is refused on an edit as at entry."""
    pid = open_petition(village, "--set", "集体访=是", "--set", "人数=30", "--set", "代表人数=5")
    line = refused(village, "petition", "edit", pid, "--set", "代表人数=6")
    assert "不超过 5 人" in line and "第二十条" in line
    assert "代表人数 0 无效" in refused(village, "petition", "edit", pid, "--set", "代表人数=0")
    assert "人数 0 无效" in refused(village, "petition", "edit", pid, "--set", "人数=0")
    assert ok_json(village, "petition", "edit", pid, "--set", "代表人数=4")["representatives"] == 4


def test_art_36_an_edit_links_only_an_existing_other_petition(village):
    """信访工作条例第三十六条: the earlier petition of the same matter must exist and be another one."""
    pid = open_petition(village)
    assert "前次信访件 no-such-petition 不存在" in refused(village, "petition", "edit", pid,
                                                          "--set", "前次信访件=no-such-petition")
    assert "前次信访件不能是本件" in refused(village, "petition", "edit", pid, "--set", f"前次信访件={pid}")
    # the library refuses the same, without the command line
    store = open_store(village)
    try:
        with pytest.raises(ValidationError, match="不能是本件"):
            corrections.edit_petition(store, pid, {"linked_to": pid})
    finally:
        store.close()


def test_art_36_a_petition_linked_by_an_edit_to_a_rechecked_matter_is_flagged_and_not_accepted(village):
    """信访工作条例第三十六条: linked afterwards to a matter closed by 复核, the petition is
    flagged in show and list, its 受理 refused — also after a wrong 不予受理 is voided by a 更正."""
    first = rechecked(village)
    again = open_petition(village)
    assert ok_json(village, "petition", "edit", again, "--set", f"前次信访件={first}")["linked_to"] == first
    shown = ok_json(village, "petition", "show", again)
    assert shown["repeat_of"] == first and any("第三十六条" in a for a in shown["anomalies"])
    listed = {p["id"]: p for p in ok_json(village, "petition", "list")}
    assert listed[again]["repeat_of"] == first and listed[first]["repeat_of"] is None
    assert "不再受理" in refused(village, "petition", "event", again, "--kind", "受理", "--method", "信访处理意见书")
    step(village, again, "不予受理", "--served", TODAY)
    ok(village, "petition", "event", again, "--kind", "更正", "--of", "2", "--note", "误登")
    assert ok_json(village, "petition", "show", again)["status"] == "registered"
    assert "不再受理" in refused(village, "petition", "event", again, "--kind", "受理", "--method", "信访处理意见书")
