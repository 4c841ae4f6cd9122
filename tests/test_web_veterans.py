"""The station page's 退役军人 and 走访慰问 (issue 13), through the real app over a
real station home: the 建档立卡 form (checked field by field by the CLI's
validators, nothing written until all is valid), the list's search as you type
(name, ID number part, pinyin) and filters, a veteran's whole file with a visit
logged from it, and the list of veterans not contacted this month, held to a
computation of its own over the store."""

from __future__ import annotations

import datetime as _dt
import html
import re
from contextlib import contextmanager

import pytest

from station_node import home as home_mod
from station_node import records
from veterans.values import id_number_check_digit
from webapp import station_client, station_home

VILLAGE = "110101001001"
TOWN = "110101001"
OTHER_VILLAGE = "110101001002"


def _id(first17: str) -> str:
    return first17 + id_number_check_digit(first17)


ID_ZHANG = _id("11010119600503001")  # 男 (17th digit odd), born 1960-05-03
ID_LI = _id("11010119581120002")  # 女
ID_WANG = _id("11010119700101003")


def _wrong_check_digit(id_number: str) -> str:
    return id_number[:17] + ("0" if id_number[17] != "0" else "1")


def _form(**fields) -> dict:
    return {"id_number": "", "name": "", "gender": "", "birth_date": "", "area": VILLAGE, "category": "",
            "status": "active", **fields}


@contextmanager
def _opened(home):
    store = home_mod.open_store(home)
    try:
        yield store
    finally:
        store.close()


def _count(home) -> int:
    with _opened(home) as store:
        return records.veteran_page(store).total


def _text(response) -> str:
    return response.get_data(as_text=True)


def _row_ids(page: str, testid: str = "veteran-row") -> list[str]:
    return re.findall(rf'data-testid="{testid}" data-id="([^"]+)"', page)


@pytest.fixture
def village(tmp_path):
    home = station_home(tmp_path, VILLAGE)
    return home, station_client(home)


def _add(client, **fields) -> str:
    r = client.post("/veterans/new", _form(**fields))
    assert r.status_code == 302, _text(r)[-800:]
    return r.headers["Location"].rsplit("/", 1)[-1]


# --------------------------------------------------------------------------- the 建档立卡 form


def test_a_valid_veteran_is_saved_from_the_form_and_shown(village):
    home, client = village
    form = client.get("/veterans/new")
    assert form.status_code == 200
    page = _text(form)
    assert 'id="veteran-form"' in page
    assert f'<option value="{VILLAGE}" selected>' in page  # a village station: its one village preselected
    vid = _add(client, id_number=ID_ZHANG, name="张三", category="retired_soldier", phone="13800138000",
               family="妻子务农，一子在外打工")
    shown = client.get(f"/veterans/{vid}")
    text = _text(shown)
    assert shown.status_code == 200
    assert "已建档：张三" in text  # the flash after the redirect
    assert 'id="file-birth_date">1960-05-03<' in text and 'id="file-gender">男<' in text  # filled in from the ID
    assert "退役士兵" in text and "妻子务农，一子在外打工" in text
    with _opened(home) as store:
        row = records.get_veteran(store, vid)
    assert (row["id_number"], row["name"], row["area"], row["status"]) == (ID_ZHANG, "张三", VILLAGE, "active")


def test_a_wrong_check_digit_is_refused_beside_its_field_and_nothing_is_written(village):
    home, client = village
    bad = _wrong_check_digit(ID_ZHANG)
    r = client.post("/veterans/new", _form(id_number=bad, name="张三", enlisted_on="1950.13"))
    page = _text(r)
    assert r.status_code == 422
    assert re.search(r'id="f-id_number"[^>]*aria-invalid="true"', page)
    error = re.search(r'id="error-id_number"[^>]*>([^<]*)<', page).group(1)
    assert "校验" in html.unescape(error)
    assert re.search(r'id="f-enlisted_on"[^>]*aria-invalid="true"', page)  # every wrong field is marked
    assert re.search(r'id="error-enlisted_on"[^>]*>[^<]+<', page)
    assert not re.search(r'id="f-name"[^>]*aria-invalid', page)
    assert f'value="{bad}"' in page  # what was typed stays in the form
    assert _count(home) == 0


def test_a_missing_required_field_and_a_contradiction_with_the_id_are_refused(village):
    home, client = village
    r = client.post("/veterans/new", _form(id_number=ID_ZHANG, name=""))
    assert r.status_code == 422 and re.search(r'id="error-name"[^>]*>[^<]*姓名', _text(r))
    r = client.post("/veterans/new", _form(id_number=ID_ZHANG, name="张三", gender="female"))
    assert r.status_code == 422
    assert re.search(r'id="error-gender"[^>]*>[^<]*与身份证号不一致', _text(r))
    assert _count(home) == 0


def test_dates_in_other_accepted_forms_are_accepted(village):
    home, client = village
    vid = _add(client, id_number=ID_ZHANG, name="张三", birth_date="1960.5.3", enlisted_on="1978年12月",
               discharged_on="19830101")
    with _opened(home) as store:
        row = records.get_veteran(store, vid)
    assert (row["birth_date"], row["enlisted_on"], row["discharged_on"]) == ("1960-05-03", "1978-12", "1983-01-01")


def test_a_second_veteran_with_the_same_id_number_is_refused_on_the_id_field(village):
    home, client = village
    _add(client, id_number=ID_ZHANG, name="张三")
    r = client.post("/veterans/new", _form(id_number=ID_ZHANG, name="张三丰"))
    assert r.status_code == 422
    assert re.search(r'id="error-id_number"[^>]*>[^<]*已登记', _text(r))
    assert _count(home) == 1


def test_the_check_gives_the_id_error_and_fills_in_birth_date_and_gender(village):
    _, client = village
    r = client.post("/veterans/check", {"field": "id_number", "id_number": _wrong_check_digit(ID_LI)}, htmx=True)
    assert r.status_code == 200
    assert re.search(r'id="error-id_number"[^>]*>[^<]*校验', _text(r))
    r = client.post("/veterans/check", {"field": "id_number", "id_number": ID_LI.lower()}, htmx=True)
    page = _text(r)
    assert re.search(r'id="error-id_number"[^>]*></span>', page)
    assert re.search(r'<input name="birth_date" id="f-birth_date" value="1958-11-20"[^>]*hx-swap-oob="true"', page)
    assert re.search(r'<option value="female" selected>女</option>', page)
    r = client.post("/veterans/check", {"field": "enlisted_on", "enlisted_on": "1978.12"}, htmx=True)
    assert re.search(r'id="error-enlisted_on"[^>]*></span>', _text(r))
    r = client.post("/veterans/check", {"field": "phone", "phone": "12345"}, htmx=True)
    assert re.search(r'id="error-phone"[^>]*>[^<]+</span>', _text(r))
    assert client.post("/veterans/check", {"field": "no_such_field"}, htmx=True).status_code == 400


def test_an_edit_writes_only_the_changed_fields(village):
    home, client = village
    vid = _add(client, id_number=ID_ZHANG, name="张三", address="一组3号")
    with _opened(home) as store:
        before = store.load("veterans", vid)[0].clock
    form = _text(client.get(f"/veterans/{vid}/edit"))
    values = dict(re.findall(r'<input name="(\w+)" id="f-\w+" value="([^"]*)"', form))
    values.update({m[0]: m[1] for m in re.findall(
        r'<select name="(\w+)"[^>]*>(?:(?!</select>).)*?<option value="([^"]*)" selected', form, re.S)})
    values = {k: html.unescape(v) for k, v in values.items()}
    assert values["name"] == "张三" and values["status"] == "active" and values["area"] == VILLAGE
    for name in ("family", "health", "difficulties", "needs", "note"):
        values[name] = ""
    values["address"] = "二组8号"
    r = client.post(f"/veterans/{vid}/edit", values)
    assert r.status_code == 302, _text(r)[-800:]
    with _opened(home) as store:
        state = store.load("veterans", vid)[0]
    assert state.values["address"] == "二组8号"
    changed = {k for k in state.clock if state.clock[k] != before.get(k)}
    assert changed - {"recorded_by"} == {"address"}  # (经办人 is stamped on every write)
    page = _text(client.get(f"/veterans/{vid}"))
    assert "已修改 张三 的档案：住址" in page
    assert 'data-testid="history-row" data-field="address"' in page


def test_an_unknown_veteran_is_404(village):
    _, client = village
    assert client.get("/veterans/0190aaaa-0000-7000-8000-000000000000").status_code == 404
    assert client.get("/veterans/nope/edit").status_code == 404


# --------------------------------------------------------------------------- the list


@pytest.fixture(scope="module")
def town(tmp_path_factory):
    """A town station with three veterans in two villages (read only: shared by the list's tests)."""
    home = station_home(tmp_path_factory.mktemp("town"), TOWN)
    with _opened(home) as store:
        ids = {
            "张三": records.add_veteran(store, {"id_number": ID_ZHANG, "name": "张三", "area": VILLAGE,
                                               "category": "retired_soldier"})["id"],
            "李四": records.add_veteran(store, {"id_number": ID_LI, "name": "李四", "area": OTHER_VILLAGE,
                                               "category": "martyr_family"})["id"],
            "王五": records.add_veteran(store, {"id_number": ID_WANG, "name": "王五", "area": VILLAGE,
                                               "category": "retired_soldier", "status": "deceased"})["id"],
        }
    return home, station_client(home), ids


@pytest.mark.parametrize("query, expected", [
    ("张", {"张三"}), ("四", {"李四"}), (ID_LI[6:14], {"李四"}), (ID_ZHANG[-6:], {"张三"}),
    ("zs", {"张三"}), ("zhangsan", {"张三"}), ("ZS", {"张三"}), ("ls", {"李四"}), ("无此人", set()),
])
def test_search_as_you_type_finds_by_name_id_part_and_pinyin(town, query, expected):
    _, client, ids = town
    r = client.get("/veterans/?q=" + query, headers={"HX-Request": "true"})
    page = _text(r)
    assert r.status_code == 200
    assert page.lstrip().startswith('<section id="veteran-results"') and "<html" not in page  # the fragment
    assert set(_row_ids(page)) == {ids[n] for n in expected}


def test_the_list_is_a_whole_page_on_a_normal_get_and_filters_by_village_category_status(town):
    _, client, ids = town
    page = _text(client.get("/veterans/"))
    assert "<html" in page and 'id="veteran-search"' in page and "data-search" in page
    assert f'<option value="{OTHER_VILLAGE}">' in page and f'<option value="{VILLAGE}">' in page
    assert set(_row_ids(page)) == set(ids.values())
    assert set(_row_ids(_text(client.get(f"/veterans/?area={OTHER_VILLAGE}")))) == {ids["李四"]}
    assert set(_row_ids(_text(client.get("/veterans/?category=retired_soldier")))) == {ids["张三"], ids["王五"]}
    assert set(_row_ids(_text(client.get("/veterans/?status=deceased")))) == {ids["王五"]}
    assert set(_row_ids(_text(client.get(f"/veterans/?area={VILLAGE}&status=active")))) == {ids["张三"]}
    r = client.get("/veterans/?area=999999")
    assert r.status_code == 400 and _row_ids(_text(r)) == []


def test_the_list_pages(tmp_path):
    home = station_home(tmp_path, VILLAGE)
    with _opened(home) as store:
        for n in range(55):
            records.add_veteran(store, {"id_number": _id(f"11010119600101{n:03d}"), "name": f"测试{n:02d}",
                                        "area": VILLAGE})
    client = station_client(home)
    first = _text(client.get("/veterans/"))
    second = _text(client.get("/veterans/?offset=50"))
    assert len(_row_ids(first)) == 50 and len(_row_ids(second)) == 5
    assert not set(_row_ids(first)) & set(_row_ids(second))
    assert 'id="veteran-next"' in first and "共 55 人" in first


def test_markup_in_a_name_is_shown_as_text(village):
    _, client = village
    vid = _add(client, id_number=ID_ZHANG, name="<script>alert(1)</script>")
    for page in (_text(client.get("/veterans/")), _text(client.get(f"/veterans/{vid}")),
                 _text(client.get("/visits/uncontacted"))):
        assert "<script>alert(1)</script>" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


# --------------------------------------------------------------------------- the file and its visits


def test_the_record_page_shows_the_file_and_a_visit_logged_from_it(village):
    home, client = village
    vid = _add(client, id_number=ID_ZHANG, name="张三", health="高血压", difficulties="住房漏雨", needs="危房改造",
               unit="某部三连", enlisted_on="1978.12")
    page = _text(client.get(f"/veterans/{vid}"))
    for section in ("基本信息", "服役经历", "家庭", "健康", "困难与需求"):
        assert f"<h2>{section}</h2>" in page
    for value in ("高血压", "住房漏雨", "危房改造", "某部三连", "1978-12"):
        assert value in page
    assert 'id="visit-form"' in page and 'data-print' in page and 'id="veteran-edit"' in page
    today = _dt.date.today().isoformat()
    assert f'id="visit-date" value="{today}"' in page
    assert 'id="visit-none"' in page
    r = client.post("/visits/add", {"veteran_id": vid, "kind": "home", "visited_on": today, "visitors": "王芳、李强",
                                    "summary": "送米面油", "aid_cash": "500", "aid_goods": "米一袋"}, htmx=True)
    fragment = _text(r)
    assert r.status_code == 200
    assert fragment.lstrip().startswith('<div id="veteran-visits">') and "<html" not in fragment
    assert 'id="visit-saved"' in fragment and "送米面油" in fragment and "入户" in fragment
    assert len(_row_ids(fragment, "visit-row")) == 1
    with _opened(home) as store:
        visits = list(records.visit_page(store, veteran_id=vid).rows)
    assert [(v["kind"], v["visited_on"], v["visitors"], v["aid_cash"], v["aid_goods"]) for v in visits] == [
        ("home", today, "王芳、李强", 500.0, "米一袋")]
    assert 'data-testid="visit-row"' in _text(client.get(f"/veterans/{vid}"))
    listed = _text(client.get("/visits/?month=" + today[:7]))
    assert _row_ids(listed, "visit-row") == [visits[0]["id"]] and "张三" in listed
    assert _row_ids(_text(client.get("/visits/?month=2001-01")), "visit-row") == []


def test_a_bad_visit_is_refused_in_the_fragment_and_not_written(village):
    home, client = village
    vid = _add(client, id_number=ID_ZHANG, name="张三")
    tomorrow = (_dt.date.today() + _dt.timedelta(days=1)).isoformat()
    r = client.post("/visits/add", {"veteran_id": vid, "kind": "phone", "visited_on": tomorrow}, htmx=True)
    assert r.status_code == 422
    assert re.search(r'id="visit-error-visited_on">[^<]*晚于今天', _text(r))
    r = client.post("/visits/add", {"veteran_id": vid, "kind": "phone", "aid_cash": "很多"}, htmx=True)
    assert r.status_code == 422 and re.search(r'id="visit-error-aid_cash">[^<]+<', _text(r))
    with _opened(home) as store:
        assert records.visit_page(store, veteran_id=vid).total == 0


# --------------------------------------------------------------------------- not contacted this month


def test_the_uncontacted_list_agrees_with_its_own_computation(tmp_path):
    home = station_home(tmp_path, TOWN)
    today = _dt.date.today()
    first = today.replace(day=1)
    last_month = first - _dt.timedelta(days=3)
    with _opened(home) as store:
        people = []
        for n in range(12):
            area = VILLAGE if n % 2 else OTHER_VILLAGE
            status = "deceased" if n == 5 else ("moved_out" if n == 7 else None)
            fields = {"id_number": _id(f"110101195001{n + 1:02d}00{n % 10}"), "name": f"老兵{n:02d}", "area": area}
            if status:
                fields["status"] = status
            people.append(records.add_veteran(store, fields)["id"])
        visits = {0: [today], 1: [last_month], 2: [last_month, first], 3: [], 4: [last_month - _dt.timedelta(days=40)],
                  6: [first - _dt.timedelta(days=1)], 8: [today]}
        for n, days in visits.items():
            for day in days:
                records.add_visit(store, people[n], "phone", date=day.isoformat())
        gone = records.add_visit(store, people[9], "phone", date=today.isoformat())
        store.write("visits", gone["id"], {"deleted": 1})  # a deleted visit is no contact
        # Independently: on file (live, not merged, 在册 or unset), no live visit since the first of the month.
        expected = {}
        for n, vid in enumerate(people):
            vet = records.get_veteran(store, vid)
            if vet.get("status") not in (None, "active"):
                continue
            dates = [v["visited_on"] for v in records.visit_page(store, veteran_id=vid).rows]
            if any(d >= first.isoformat() for d in dates):
                continue
            expected[vid] = max(dates) if dates else None
    client = station_client(home)
    page = _text(client.get("/visits/uncontacted"))
    shown = _row_ids(page, "uncontacted-row")
    assert set(shown) == set(expected) and len(shown) == len(expected)
    assert f"共 {len(expected)} 人" in page
    for vid, last in expected.items():
        row = re.search(rf'data-id="{vid}">(.*?)</tr>', page, re.S).group(1)
        got = re.search(r'data-testid="last-contact">([^<]*)<', row).group(1)
        days = re.search(r'data-testid="days-since">([^<]*)<', row).group(1)
        assert got == (last or "从未联系")
        assert days == (str((today - _dt.date.fromisoformat(last)).days) if last else "—")
    # by village: the rows come grouped by area, and the filter keeps one village
    areas = [re.search(r"老兵(\d\d)", m).group(1) for m in re.findall(r'data-testid="uncontacted-row".*?</tr>', page, re.S)]
    odd = [int(n) % 2 for n in areas]
    assert odd == sorted(odd, reverse=True)  # VILLAGE (odd n) … then OTHER_VILLAGE (even n), as codes sort
    assert re.findall(r'data-testid="uncontacted-area"><td colspan="6">村/社区 (\d+)<', page) == [VILLAGE, OTHER_VILLAGE]
    only = _row_ids(_text(client.get(f"/visits/uncontacted?area={VILLAGE}")), "uncontacted-row")
    with _opened(home) as store:
        assert set(only) == {v for v in expected if records.get_veteran(store, v)["area"] == VILLAGE}


def test_the_visits_list_shows_this_month_unless_asked_for_another_or_all(village):
    home, client = village
    vid = _add(client, id_number=ID_ZHANG, name="张三")
    today = _dt.date.today()
    earlier = today.replace(day=1) - _dt.timedelta(days=20)
    with _opened(home) as store:
        now = records.add_visit(store, vid, "phone", date=today.isoformat())["id"]
        before = records.add_visit(store, vid, "home", date=earlier.isoformat())["id"]
    assert _row_ids(_text(client.get("/visits/")), "visit-row") == [now]
    assert _row_ids(_text(client.get("/visits/?month=" + earlier.strftime("%Y.%m"))), "visit-row") == [before]
    assert _row_ids(_text(client.get("/visits/?month=all")), "visit-row") == [now, before]
    assert _row_ids(_text(client.get("/visits/?month=all&kind=home")), "visit-row") == [before]
    r = client.get("/visits/?month=13月")
    assert r.status_code == 400 and "不是有效月份" in _text(r)
    assert client.post("/visits/add", {"veteran_id": "no-such-veteran", "kind": "phone"}).status_code == 404
