"""The 处理方式 of a 受理 (信访工作条例 Arts. 29–31) as clerks write it: every spelling of
``[handling_method]`` in ``veterans/synonyms.toml`` is read as its method, and only a
信访处理意见书 runs the 60 days of Art. 34 — a synonym never moves a petition onto or
off that clock."""

from __future__ import annotations

import datetime as dt

import pytest

from stationcli import ok, ok_json
from veterans.values import parse_enum

SPELLINGS = [
    ("处理意见书", "opinion"), ("出具处理意见书", "opinion"), ("出具信访处理意见书", "opinion"), ("意见书", "opinion"),
    ("建议类", "suggestion"), ("意见建议", "suggestion"), ("意见建议类", "suggestion"), ("建议意见", "suggestion"),
    ("检举控告", "accusation"), ("控告", "accusation"), ("检举", "accusation"), ("控告类", "accusation"),
    ("诉讼", "legal_channel"), ("仲裁", "legal_channel"), ("复议", "legal_channel"), ("行政复议", "legal_channel"),
    ("法定途径", "legal_channel"), ("诉讼仲裁复议", "legal_channel"),
]


@pytest.mark.parametrize("typed, code", SPELLINGS)
def test_arts_29_31_each_spelling_of_a_handling_method(typed, code):
    assert parse_enum("handling_method", typed) == code
    assert parse_enum("handling_method", f" {typed} ") == code


def test_every_spelling_of_the_table_is_tested():
    from veterans.values import synonyms

    assert synonyms()["handling_method"] == dict(SPELLINGS)


def test_art_34_a_spelling_on_the_command_line_decides_the_sixty_days(tmp_path):
    """受理 --method 控告 (Art. 30): no 办理期限; --method 出具处理意见书 (Art. 31(6)): 60 days."""
    home, village = tmp_path / "v", "440902001001"
    ok(home, "init", "--station", village, "--offline")
    today = dt.date.today().isoformat()
    for method, code, handled in (("控告", "accusation", False), ("出具处理意见书", "opinion", True)):
        pid = ok(home, "petition", "open", "--channel", "书信", "--summary", "反映问题", "--petitioner", "甲",
                 "--area", village, "--received", today).strip()
        ok(home, "petition", "event", pid, "--kind", "受理", "--method", method, "--served", today, "--date", today)
        shown = ok_json(home, "petition", "show", pid)
        assert shown["method"] == code
        assert ("办理期限" in {d["what"] for d in shown["deadlines"]}) is handled, method
