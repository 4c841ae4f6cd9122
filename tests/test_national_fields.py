"""The national collection's veteran fields and 光荣牌 rows (issue 14 §2): the same rules at
the hub (veterans.admission, on pushed rows) and at the station (station_node.records)."""

from __future__ import annotations

import datetime as _dt

import pytest

from test_admission import RA, RB, RT, TOWN, VILLAGE_A, VILLAGE_B, edit, hub, new_row, push, refused_reasons, veteran  # noqa: F401
from sync.engine.errors import ValidationError
from veterans.fields import display_value, parse_value

TODAY = _dt.date.today().isoformat()


# --------------------------------------------------------------------------- enum_set

def test_further_categories_parse_in_the_enums_order_once():
    v = parse_value("veterans", "categories", "参战退役人员、残疾军人，disabled_soldier; 军休干部/退休士官")
    assert v == "retired_cadre,disabled_soldier,war_veteran"
    assert parse_value("veterans", "categories", v) == v  # idempotent: the stored form parses to itself
    assert display_value("veterans", "categories", v) == "军休干部/退休士官、残疾军人、参战退役人员"
    assert parse_value("veterans", "categories", " 、 ") is None
    with pytest.raises(ValidationError, match="其他类别 参站 无效"):
        parse_value("veterans", "categories", "残疾军人、参站")


def plaque(vet, replica, **over):
    return new_row("plaques", {"veteran_id": vet.id, "area": vet.area, "hung_on": "2024-05-01", **over}, replica)


# --------------------------------------------------------------------------- the hub

@pytest.mark.parametrize("over, reason", [
    ({"categories": "war_veteran,disabled_soldier"}, "退役军人字段 其他类别 的值不是规范格式"),
    ({"category": "disabled_soldier", "categories": "disabled_soldier,war_veteran"},
     "其他类别不应包含人员类别“残疾军人”"),
    ({"status": "active", "died_on": "2020-01-01"}, "去世日期只用于状态为“已故”的人员（现为“在册”）"),
    ({"status": "deceased", "died_on": "1960-01-01"}, "去世日期 1960-01-01 早于出生日期 1970-01-01"),
    ({"status": "deceased", "died_on": "2099-01-01"}, "去世日期 2099-01-01 晚于今天"),
    ({"status": "active", "moved_out_on": "2020-01-01"}, "迁出日期只用于状态为“迁出”的人员"),
    ({"disability_level": "none", "disability_cert_no": "粤123"}, "残疾军人证号只用于有伤残等级的人员"),
    ({"disability_rated_on": "2000-01-01"}, "评残日期只用于有伤残等级的人员"),
    ({"relationship": "spouse"}, "关联军人和与军人关系须同时填写"),
])
def test_the_hub_refuses_national_fields_that_cannot_be_true(hub, over, reason):
    r = push(hub, [veteran(90, VILLAGE_A, RA, **over)], VILLAGE_A, RA)
    assert not r.acked and refused_reasons(r) == [reason]


def test_the_hub_takes_the_national_fields_as_a_station_writes_them(hub):
    soldier = veteran(91, VILLAGE_A, RA, status="deceased", category="martyr_family",
                      categories="disabled_soldier,war_veteran", disability_level="level2",
                      disability_rated_on="1990-05-01", disability_cert_no="粤A123", registered_on="2020-03-01")
    old_file = veteran(92, VILLAGE_A, RA, status="deceased")  # 已故 without a date: older files
    wife = veteran(93, VILLAGE_A, RA, soldier_id=soldier.id, relationship="spouse")
    r = push(hub, [soldier, old_file, wife], VILLAGE_A, RA)
    assert len(r.acked) == 3 and not r.refused


def test_a_family_members_soldier_is_a_live_veteran_in_scope_and_not_itself(hub):
    mine, theirs = veteran(94, VILLAGE_A, RA), veteran(95, VILLAGE_B, RB)
    push(hub, [theirs], VILLAGE_B, RB)
    push(hub, [mine], VILLAGE_A, RA)
    stolen = veteran(96, VILLAGE_A, RA, soldier_id=theirs.id, relationship="parent")
    ghost = veteran(97, VILLAGE_A, RA, soldier_id="no-such-id", relationship="parent")
    r = push(hub, [stolen, ghost], VILLAGE_A, RA)
    assert refused_reasons(r) == ["关联军人不在本站范围内，未保存"] * 2 and not r.acked
    itself = new_row("veterans", {**veteran(98, VILLAGE_A, RA).values, "relationship": "other"}, RA, row_id="x" * 20)
    itself.values["soldier_id"] = itself.id
    itself.clock["soldier_id"], itself.base["soldier_id"] = itself.clock["name"], ""
    assert refused_reasons(push(hub, [itself], VILLAGE_A, RA)) == ["关联军人不能是本人"]
    # the town sees both villages: its link across them is taken
    r = push(hub, [edit(hub, "veterans", mine.id, {"soldier_id": theirs.id, "relationship": "sibling"}, RT)], TOWN, RT)
    assert r.acked and not r.refused


def test_the_hub_checks_plaques_scope_area_and_dates(hub):
    mine, theirs = veteran(100, VILLAGE_A, RA), veteran(101, VILLAGE_B, RB)
    push(hub, [theirs], VILLAGE_B, RB)
    push(hub, [mine], VILLAGE_A, RA)
    good = plaque(mine, RA, household="甲", signed_by="乙", replaced_on="2025-01-01", replace_reason="褪色")
    r = push(hub, [good], VILLAGE_A, RA)
    assert r.acked and not r.refused
    bad = [plaque(theirs, RA, area=VILLAGE_A), plaque(mine, RA, area="440902001009"),
           plaque(mine, RA, hung_on="2099-01-01"), plaque(mine, RA, replaced_on="2024-04-30"),
           plaque(mine, RA, replace_reason="损坏"), new_row("plaques", {"veteran_id": mine.id, "area": VILLAGE_A}, RA)]
    r = push(hub, bad, VILLAGE_A, RA)
    assert not r.acked
    assert "一致" in refused_reasons(push(hub, [plaque(mine, RT, area="440902001009")], TOWN, RT))[0]
    assert refused_reasons(r) == [
        "关联的退役军人不在本站范围内，未保存", "区划代码 440902001009 不在本站范围 440902001001 内", "悬挂日期 2099-01-01 晚于今天",
        "更换日期 2024-04-30 早于悬挂日期 2024-05-01", "填写更换原因时须同时填写更换日期", "新光荣牌记录缺少必填项：悬挂日期"]


def test_the_hub_refuses_a_second_plaque_not_replaced(hub):
    vet = veteran(102, VILLAGE_A, RA)
    first = plaque(vet, RA)
    assert push(hub, [vet, first], VILLAGE_A, RA).acked
    second = plaque(vet, RT, hung_on="2025-01-01")
    assert refused_reasons(push(hub, [second], TOWN, RT)) == ["该退役军人已有未更换的光荣牌，须先登记更换"]
    # the first replaced, then a new one, in one push: taken
    replaced = edit(hub, "plaques", first.id, {"replaced_on": "2025-01-01", "replace_reason": "褪色"}, RA)
    again = plaque(vet, RA, hung_on="2025-01-01")
    r = push(hub, [replaced, again], VILLAGE_A, RA)
    assert len(r.acked) == 2 and not r.refused
    # a replaced plaque recorded afterwards (an older one) is no second live plaque
    assert push(hub, [plaque(vet, RA, hung_on="2019-01-01", replaced_on="2020-01-01", replace_reason="损坏")],
                VILLAGE_A, RA).acked


def test_a_rule_is_looked_at_only_when_a_field_it_involves_changes(hub):
    """A stored value no push touches is not judged (a row merged from two stations' edits
    may hold a main category among the further ones until someone edits them)."""
    vet = veteran(103, VILLAGE_A, RA, category="retired_soldier")
    assert push(hub, [vet], VILLAGE_A, RA).acked
    both = edit(hub, "veterans", vet.id, {"categories": "retired_soldier,war_veteran"}, RA)
    assert refused_reasons(push(hub, [both], VILLAGE_A, RA)) == ["其他类别不应包含人员类别“退役士兵”"]
    # the same stored by an older rule (a recovery re-offer is not judged): an unrelated edit is taken
    epoch = hub.new_epoch()
    old = veteran(104, VILLAGE_A, RA, category="retired_soldier", categories="retired_soldier,war_veteran")
    assert hub.apply_push([old], station=VILLAGE_A, scope=VILLAGE_A, replica_id=RA, recovery=epoch).acked
    assert push(hub, [edit(hub, "veterans", old.id, {"status": "active"}, RA)], VILLAGE_A, RA).acked
