"""The 建档立卡 page with the national collection's fields (issue 14 §2): further categories
as checkboxes, the new fields' rules beside their fields (the validators of the CLI), the
record page with its 光荣牌 and a 已故 file without its death date pointed out."""

from __future__ import annotations

import re

from station_node import records
from test_web_veterans import ID_LI, ID_ZHANG, VILLAGE, _add, _form, _opened, _text, village  # noqa: F401


def test_categories_are_checkboxes_saved_in_order_without_the_main_one(village):
    home, client = village
    page = _text(client.get("/veterans/new"))
    assert page.count('type="checkbox" name="categories"') == 16
    for label in ("政治面貌", "安置方式", "去世日期", "关联军人", "与军人关系", "残疾军人证号", "建档日期"):
        assert label in page
    r = client.post("/veterans/new", {**_form(id_number=ID_ZHANG, name="张三", category="retired_soldier"),
                                      "categories": ["war_veteran", "disabled_soldier", "retired_soldier"],
                                      "categories_shown": "1", "political_status": "cpc_member"})
    assert r.status_code == 302, _text(r)[-600:]
    vid = r.headers["Location"].rsplit("/", 1)[-1]
    with _opened(home) as store:
        row = records.get_veteran(store, vid)
    assert row["categories"] == "disabled_soldier,war_veteran" and row["political_status"] == "cpc_member"
    shown = _text(client.get(f"/veterans/{vid}"))
    assert 'id="file-categories">残疾军人、参战退役人员<' in shown and "中共党员" in shown
    edit = _text(client.get(f"/veterans/{vid}/edit"))
    assert re.search(r'value="war_veteran" checked', edit) and not re.search(r'value="red_army" checked', edit)


def test_the_new_fields_are_refused_beside_their_field(village):
    home, client = village
    r = client.post("/veterans/new", _form(id_number=ID_ZHANG, name="张三", died_on="2020-01-01"))
    assert r.status_code == 422
    assert re.search(r'id="error-died_on"[^>]*>去世日期只用于状态为“已故”的人员', _text(r))
    r = client.post("/veterans/new", _form(id_number=ID_ZHANG, name="张三", soldier_id="nobody", relationship="spouse"))
    assert r.status_code == 422 and re.search(r'id="error-soldier_id"[^>]*>关联军人 nobody 不是本站的退役军人档案', _text(r))
    r = client.post("/veterans/check", {"field": "categories", "categories": ["red_army", "nonsense"]}, htmx=True)
    assert re.search(r'id="error-categories"[^>]*>其他类别 nonsense 无效', _text(r))
    r = client.post("/veterans/check", {"field": "categories", "categories": ["red_army", "war_veteran"]}, htmx=True)
    assert re.search(r'id="error-categories"[^>]*></span>', _text(r))
    r = client.post("/veterans/check", {"field": "soldier_id", "soldier_id": ID_LI}, htmx=True)
    assert re.search(r'id="error-soldier_id"[^>]*>关联军人 \d+X? 不是本站的退役军人档案', _text(r))
    assert _count_all(home) == 0


def _count_all(home) -> int:
    with _opened(home) as store:
        return records.veteran_page(store).total


def test_the_record_page_lists_plaques_and_a_missing_death_date(village):
    home, client = village
    soldier = _add(client, id_number=ID_ZHANG, name="张三", status="deceased")
    wife = _add(client, id_number=ID_LI, name="李梅", soldier_id=ID_ZHANG, relationship="spouse")
    with _opened(home) as store:
        assert records.get_veteran(store, wife)["soldier_id"] == soldier
        records.add_plaque(store, soldier, {"hung_on": "2024-08-01", "signed_by": "李梅"})
    page = _text(client.get(f"/veterans/{soldier}"))
    assert 'id="veteran-no-death-date"' in page
    assert "光荣牌（1块）" in page and 'data-testid="plaque-row"' in page and "2024-08-01" in page
    assert 'id="veteran-no-plaques"' in _text(client.get(f"/veterans/{wife}"))


def test_the_list_filter_finds_a_further_category(village):
    _, client = village
    vid = _add(client, id_number=ID_ZHANG, name="张三", category="retired_soldier", categories="war_veteran")
    _add(client, id_number=ID_LI, name="李梅", category="martyr_family")
    page = _text(client.get("/veterans/?category=war_veteran"))
    assert re.findall(r'data-testid="veteran-row" data-id="([^"]+)"', page) == [vid]
