"""Rosters with the national collection's fields (issue 14 §2): further categories, the
rules of the new fields, a family member's 关联军人 by 身份证号 (on file or in the same
roster), 建档日期 filled on create and never changed by a re-import that lacks it."""

from __future__ import annotations

import datetime as _dt

import pytest

from station_node.home import init_offline
from station_node.roster import RosterError, export_roster, import_roster
from test_roster import VILLAGE, by_id_number, dump, make_id, person, write_roster
from veterans.tabular import read_table

TODAY = _dt.date.today().isoformat()


@pytest.fixture
def village(tmp_path):
    store = init_offline(tmp_path / "village", VILLAGE)
    yield store
    store.close()


def test_roster_takes_further_categories_family_links_and_registered_on(village, tmp_path):
    rows = [person(1, 类别="退役士兵", 其他类别="残疾军人、参战退役人员、退役士兵", 伤残等级="六级", 评残日期="1990-01-01",
                   残疾军人证号="粤A1", 建档日期="2019-03-01"),
            person(2, 姓名="王梅", 关联军人=make_id(seq=3), 与军人关系="配偶"),  # the soldier on a later line
            person(3, 状态="已故", 去世日期="2021-02-03")]
    result = import_roster(village, write_roster(tmp_path / "in.xlsx", rows))
    assert result.created == 3
    vets = by_id_number(village)
    first, wife, soldier = (vets[make_id(seq=i)] for i in (1, 2, 3))
    assert first["categories"] == "disabled_soldier,war_veteran" and first["registered_on"] == "2019-03-01"
    assert wife["soldier_id"] == soldier["id"] and wife["relationship"] == "spouse"
    assert soldier["registered_on"] == TODAY and soldier["died_on"] == "2021-02-03"
    # exported with the soldier's 身份证号 and re-imported unchanged
    out = tmp_path / "out.csv"
    export_roster(village, out)
    _, table = read_table(out)
    exported = {values["身份证号"]: values for _, values in table}
    assert exported[make_id(seq=2)]["关联军人"] == make_id(seq=3)
    assert exported[make_id(seq=1)]["其他类别"] == "残疾军人、参战退役人员"
    before = dump(village)
    assert import_roster(village, out).unchanged == 3 and dump(village) == before
    # a roster without 建档日期 changes no one's
    assert import_roster(village, write_roster(tmp_path / "again.xlsx", [person(1)])).unchanged == 1
    assert by_id_number(village)[make_id(seq=1)]["registered_on"] == "2019-03-01"


def test_roster_refuses_the_new_fields_that_cannot_be_true(village, tmp_path):
    rows = [person(1, 去世日期="2020-01-01"), person(2, 残疾军人证号="粤A2"),
            person(3, 关联军人=make_id(seq=9), 与军人关系="父母"), person(4, 与军人关系="子女")]
    before = dump(village)
    with pytest.raises(RosterError) as caught:
        import_roster(village, write_roster(tmp_path / "bad.xlsx", rows))
    messages = [p.message for p in caught.value.problems]
    assert any("去世日期只用于状态为“已故”" in m for m in messages)
    assert any("残疾军人证号只用于有伤残等级的人员" in m for m in messages)
    assert any("不是本站的退役军人档案" in m for m in messages)
    assert any("关联军人和与军人关系须同时填写" in m for m in messages)
    assert len(messages) == 4 and dump(village) == before
