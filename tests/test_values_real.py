"""Values as clerks really type them (issue 12, "Validate as the data really is"):
full-width forms, dates known to the month, Excel day numbers, landlines with
brackets and extensions, two phone numbers in a cell, the synonym table, names
with a middle dot — and the refusals of what cannot be true, with their exact
messages. The hub's side of the same rules: tests/test_admission.py; the
station's command line: tests/test_cli_values.py."""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync.engine.errors import ValidationError
from veterans import values
from veterans.admission import complete_veteran, row_problem
from veterans.fields import NOT_CANONICAL, admissible, parse_value
from veterans.phones import MOBILE_NETWORKS, legacy_phone
from veterans.typed import canonical_name, fold_alnum, to_half_width
from veterans.values import (
    ENUMS,
    birth_date_from_id,
    excel_serial_date,
    gender_from_id,
    id_number_check_digit,
    parse_date,
    parse_enum,
    synonyms,
    validate_area,
    validate_id_number,
    validate_phone,
)

ROOT = Path(__file__).resolve().parent.parent
TODAY = dt.date(2026, 12, 2)


def make_id(born: str = "19650312", seq: str = "003") -> str:
    body = f"440902{born}{seq}"
    return body + id_number_check_digit(body)


MAN = make_id(seq="003")  # 17th digit odd
WOMAN = make_id(seq="004")


def full_width(text: str) -> str:
    """Every printable ASCII character as its full-width form, a blank as the ideographic space."""
    return "".join("\u3000" if c == " " else chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def message(call, *args, **kw) -> str:
    with pytest.raises(ValidationError) as err:
        call(*args, **kw)
    return str(err.value)


# --------------------------------------------------------------------------- full width


def test_full_width_folding_keeps_chinese_punctuation_in_free_text():
    assert to_half_width("１９８３．１２（０６６８）ＡＢｃ　") == "1983.12(0668)ABc "
    assert fold_alnum("东村３号，近（村委）：Ａ栋") == "东村3号，近（村委）：A栋"
    assert parse_value("veterans", "address", " 东村３号，近（村委） ") == "东村3号，近（村委）"


@pytest.mark.parametrize(("table", "field", "typed", "stored"), [
    ("veterans", "id_number", "４４０９０２１９６５１０１５００３５", "440902196510150035"),
    ("veterans", "id_number", "１１０１０５ １９４９１２３１ ００２ｘ", "11010519491231002X"),
    ("veterans", "area", "４４０９０２００１００１", "440902001001"),
    ("veterans", "phone", "１３８００１３８０００", "13800138000"),
    ("veterans", "enlisted_on", "１９８３．１２", "1983-12"),
    ("veterans", "enlisted_on", "１９８３－１２－０１", "1983-12-01"),
    ("visits", "visited_on", "２０２４年２月８日", "2024-02-08"),
    ("visits", "aid_cash", "５００元", 500.0),
    ("visits", "aid_cash", "１，２００．５", 1200.5),
    ("petitions", "group_size", "１２", 12),
    ("petitions", "confidential", "ｙｅｓ", 1),
    ("veterans", "gender", "ｍ", "male"),
    ("veterans", "category", "ＲＥＴＩＲＥＤ＿ＳＯＬＤＩＥＲ", "retired_soldier"),
    ("veterans", "disability_level", "３级", "level3"),
])
def test_full_width_is_accepted_everywhere(table, field, typed, stored):
    assert parse_value(table, field, typed) == stored


@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2020, 12, 31)), st.integers(0, 999))
def test_full_width_id_numbers_are_the_same_number(birth, seq):
    body = f"440902{birth:%Y%m%d}{seq:03d}"
    number = body + id_number_check_digit(body)
    assert validate_id_number(full_width(number)) == validate_id_number(full_width(number.lower())) == number


@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 12, 31)),
       st.sampled_from(["{d:%Y-%m-%d}", "{d.year}/{d.month}/{d.day}", "{d:%Y%m%d}", "{d.year}年{d.month}月{d.day}日",
                        "{d.year}.{d.month}.{d.day}"]))
def test_full_width_dates_are_the_same_date(day, form):
    text = form.format(d=day)
    assert parse_date(full_width(text)) == parse_date(text) == day.isoformat()


_PHONE_FORMS = (lambda n: n, lambda n: f"{n[:3]} {n[3:7]} {n[7:]}", lambda n: f"{n[:3]}-{n[3:7]}-{n[7:]}",
                lambda n: f"+86 {n}")


@given(st.sampled_from(sorted(MOBILE_NETWORKS)), st.integers(0, 10**8 - 1), st.sampled_from(_PHONE_FORMS))
def test_full_width_phones_are_the_same_number(network, rest, form):
    number = f"{network}{rest:08d}"
    text = form(number)
    assert validate_phone(full_width(text)) == validate_phone(text) == number


@given(st.sampled_from(["440902", "440902001", "440902001001", "110105002003"]))
def test_full_width_areas_are_the_same_area(code):
    assert validate_area(full_width(code)) == code


# --------------------------------------------------------------------------- dates to the month, Excel day numbers


@pytest.mark.parametrize("typed", ["1983.12", "1983-12", "1983/12", "1983年12月", "1983年12", "1983 年 12 月", "198312",
                                   "１９８３年１２月"])
def test_a_service_date_may_be_known_to_the_month(typed):
    assert parse_value("veterans", "enlisted_on", typed) == "1983-12"
    assert parse_value("veterans", "discharged_on", typed) == "1983-12"
    assert parse_value("veterans", "honor_plaque", typed) == "1983-12"
    assert parse_value("veterans", "enlisted_on", "1983-12") == "1983-12"  # the stored form parses to itself


@pytest.mark.parametrize(("table", "field", "typed", "expected"), [
    ("visits", "visited_on", "2023.12", "走访日期 2023.12 只有年月，应写到日（格式如 2023-01-05）"),
    ("petitions", "received_on", "2023年12月", "收到日期 2023年12月 只有年月，应写到日（格式如 2023-01-05）"),
    ("petition_events", "at", "202312", "日期 202312 只有年月，应写到日（格式如 2023-01-05）"),
    ("visits", "visited_on", "2023", "走访日期 2023 只有年份，应写到日（格式如 2023-01-05）"),
    ("veterans", "enlisted_on", "1983", "入伍时间 1983 只有年份，应写到月或日（格式如 1983-12 或 1983-12-01）"),
    ("veterans", "enlisted_on", "1983-13", "入伍时间 1983-13 不是有效日期（格式如 2023-01-05 或 1983-12）"),
    ("veterans", "enlisted_on", "1983.0", "入伍时间 1983.0 不是有效日期（格式如 2023-01-05 或 1983-12）"),
])
def test_what_is_not_precise_enough_or_no_date(table, field, typed, expected):
    assert message(parse_value, table, field, typed) == expected


@pytest.mark.parametrize(("typed", "day"), [
    ("30682", "1984-01-01"), (30682, "1984-01-01"), (44931.0, "2023-01-05"), ("10000", "1927-05-18"),
    ("73415", "2100-12-31"), ("４４９３１", "2023-01-05"),
])
def test_excel_day_numbers(typed, day):
    assert parse_value("visits", "visited_on", typed) == day
    assert parse_value("veterans", "enlisted_on", typed) == day


def test_excel_day_numbers_are_five_digits_only():
    assert excel_serial_date(44931) == "2023-01-05"
    assert parse_date("19831201") == "1983-12-01"  # eight digits: a date, never a day number
    assert parse_value("veterans", "enlisted_on", "198312") == "1983-12"  # six: a month
    for typed, expected in (("73416", "日期 73416 不是有效日期（格式如 2023-01-05）"),
                            ("09999", "日期 09999 不是有效日期（格式如 2023-01-05）"),
                            ("1983", "日期 1983 只有年份，应写到日（格式如 2023-01-05）"),
                            ("9999", "日期 9999 只有年份，应写到日（格式如 2023-01-05）")):
        assert message(parse_date, typed) == expected
    with pytest.raises(ValueError):
        excel_serial_date(9999)


# --------------------------------------------------------------------------- phones


@pytest.mark.parametrize(("typed", "stored"), [
    ("(0668)7654321", "0668-7654321"),
    ("（０６６８）７６５４３２１", "0668-7654321"),
    ("(0668) 765 4321", "0668-7654321"),
    ("0668-7654321-801", "0668-7654321-801"),
    ("0668-7654321转801", "0668-7654321-801"),
    ("0668—7654321", "0668-7654321"),
    ("06687654321", "06687654321"),  # as typed, hyphen or none (what earlier releases stored)
    ("0759-1234567", "0759-1234567"),
    ("2234567", "2234567"),
    ("13800138000 13900139000", "13800138000、13900139000"),
    ("138 0013 8000 139 0013 9000", "13800138000、13900139000"),
    ("13800138000/0668-7654321", "13800138000、0668-7654321"),
    ("13800138000，(0668)7654321", "13800138000、0668-7654321"),
    ("13800138000；13900139000", "13800138000、13900139000"),
    ("13800138000\n13900139000", "13800138000、13900139000"),
    ("13800138000或13900139000", "13800138000、13900139000"),
    ("13800138000、13800138000", "13800138000"),
    ("138 0013 8000", "13800138000"),
    ("16190000000", "16190000000"),  # 1619, 1740, 1741, 1749: satellite blocks allocated by four digits
    ("17400000000", "17400000000"),
    ("17490000000", "17490000000"),
    ("13490000000", "13490000000"),
])
def test_phones_as_written(typed, stored):
    assert validate_phone(typed) == stored
    assert validate_phone(stored) == stored


@pytest.mark.parametrize(("typed", "expected"), [
    ("12012345678", "电话 12012345678 不是手机号：120 号段未分配给手机（请核对号码；固话请带区号，如 0759-1234567）"),
    ("10012345678", "电话 10012345678 不是手机号：100 号段未分配给手机（请核对号码；固话请带区号，如 0759-1234567）"),
    ("15412345678", "电话 15412345678 不是手机号：154 号段未分配给手机（请核对号码；固话请带区号，如 0759-1234567）"),
    ("19412345678", "电话 19412345678 不是手机号：194 号段未分配给手机（请核对号码；固话请带区号，如 0759-1234567）"),
    ("14012345678", "电话 14012345678 不是手机号：140 号段未分配给手机（请核对号码；固话请带区号，如 0759-1234567）"),
    ("17912345678", "电话 17912345678 不是手机号：179 号段未分配给手机（请核对号码；固话请带区号，如 0759-1234567）"),
    ("17420000000", "电话 17420000000 不是手机号：174 号段未分配给手机（请核对号码；固话请带区号，如 0759-1234567）"),
    ("168 0000 0000", "电话 168 0000 0000 不是手机号：168 号段未分配给手机（请核对号码；固话请带区号，如 0759-1234567）"),
    ("13800138000、13900139000、13700137000",
     "电话 13800138000、13900139000、13700137000 号码过多：最多填两个号码（手机号11位，固话如 0759-1234567，两个号码用“、”隔开）"),
    ("13800138000、12345",
     "电话 13800138000、12345 中的号码 12345 无效（手机号11位，固话如 0759-1234567，两个号码用“、”隔开）"),
    ("13800138000/12012345678",
     "电话 13800138000/12012345678 中的号码 12012345678 不是手机号：120 号段未分配给手机（请核对号码；固话请带区号，如 0759-1234567）"),
    ("12345", "电话 12345 无效（手机号11位，固话如 0759-1234567，两个号码用“、”隔开）"),
    ("0759-123456-", "电话 0759-123456- 无效（手机号11位，固话如 0759-1234567，两个号码用“、”隔开）"),
])
def test_phones_refused(typed, expected):
    assert message(validate_phone, typed) == expected


def test_mobile_networks_are_the_allocated_ones():
    # 工业和信息化部《我国公众移动通信网网号及H0分配情况（截至2023年3月底）》, by three digits
    expected = {f"13{d}" for d in range(10)} | {"145", "146", "147", "148", "149"} \
        | {"150", "151", "152", "153", "155", "156", "157", "158", "159"} | {"162", "165", "166", "167"} \
        | {"170", "171", "172", "173", "175", "176", "177", "178"} | {f"18{d}" for d in range(10)} \
        | {"190", "191", "192", "193", "195", "196", "197", "198", "199"}
    assert MOBILE_NETWORKS == expected


@given(st.text(alphabet="0123456789 -()、/+转", max_size=30))
def test_a_stored_phone_parses_to_itself(text):
    try:
        stored = validate_phone(text)
    except ValidationError:
        return
    assert validate_phone(stored) == stored


def test_the_previous_rule_is_kept_for_the_hub():
    assert legacy_phone("12012345678") == "12012345678"  # stored by the previous release
    assert legacy_phone("(0668)7654321") is None
    assert admissible("veterans", "phone", "12012345678") is None
    assert admissible("veterans", "phone", "13800138000、0668-7654321") is None
    assert admissible("veterans", "phone", "138 0000 0000") == NOT_CANONICAL
    assert admissible("veterans", "phone", "12345") == "电话 12345 无效（手机号11位，固话如 0759-1234567，两个号码用“、”隔开）"


# --------------------------------------------------------------------------- synonyms


@pytest.mark.parametrize(("enum_name", "typed", "code"), [
    ("category", "烈士遗属", "martyr_family"), ("category", "退伍军人", "retired_soldier"),
    ("category", "伤残军人", "disabled_soldier"), ("category", "老红军", "red_army"),
    ("category", "因公牺牲军人遗属", "duty_death_family"), ("category", "病故军人遗属", "illness_death_family"),
    ("category", "现役军人家属", "active_duty_family"), ("category", "军队转业干部", "transferred_cadre"),
    ("category", "军休干部", "retired_cadre"), ("gender", "男性", "male"), ("gender", "F", "female"),
    ("disability_cause", "因战致残", "war"), ("veteran_status", "去世", "deceased"),
    ("visit_kind", "电话慰问", "phone"), ("occasion", "八一建军节", "army_day"), ("channel", "来信", "letter"),
    ("event_kind", "交办", "forward"), ("petition_status", "已转送", "forwarded"), ("disability_level", "未评残", "none"),
])
def test_official_synonyms(enum_name, typed, code):
    assert parse_enum(enum_name, typed) == code
    assert parse_enum(enum_name, f" {typed}\u3000") == code


def test_the_synonym_table_is_data_that_holds_together():
    table = synonyms()
    raw = tomllib.loads((ROOT / "veterans" / "synonyms.toml").read_text(encoding="utf-8"))
    assert set(raw) <= set(ENUMS) and set(table) == set(raw)
    for enum_name, spellings in table.items():
        own = {c.lower(): c for c in ENUMS[enum_name]} | {lab: c for c, lab in ENUMS[enum_name].items()}
        for spelling, code in spellings.items():
            assert code in ENUMS[enum_name], (enum_name, spelling)
            assert own.get(spelling, code) == code, f"{spelling} is already a label or code of {enum_name}"
            assert own.get(spelling.lower(), code) == code, spelling
    # packaged with the code
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "*.toml" in pyproject["tool"]["setuptools"]["package-data"]["veterans"]


def test_an_unknown_spelling_still_lists_the_labels():
    assert message(parse_enum, "category", "将军") == (
        "人员类别 将军 无效，应为：转业干部、退役士兵、军休干部/退休士官、无军籍职工、复员军人、红军老战士、残疾军人、"
        "伤残民兵民工、烈属、因公遗属、病故遗属、现役军属、参战退役人员、参试退役人员、带病回乡退伍军人、60周岁以上农村籍退役士兵")


# --------------------------------------------------------------------------- names


@pytest.mark.parametrize("typed", ["阿不都·热合曼", "阿不都•热合曼", "阿不都‧热合曼", "阿不都・热合曼", "阿不都･热合曼",
                                   "阿不都.热合曼", "阿不都．热合曼", "阿不都 · 热合曼", " 阿不都 • 热合曼 ", "阿不都∙热合曼",
                                   "阿不都··热合曼"])
def test_names_get_one_middle_dot(typed):
    assert canonical_name(typed) == "阿不都·热合曼"
    for table, field in (("veterans", "name"), ("petitions", "petitioner"), ("petitions", "handler"),
                         ("petition_events", "actor")):
        assert parse_value(table, field, typed) == "阿不都·热合曼"


def test_names_lose_the_blanks_that_line_them_up():
    assert parse_value("veterans", "name", "张  三") == "张三"
    assert parse_value("veterans", "name", "张\u3000三") == "张三"
    assert parse_value("veterans", "name", "Ｌｉ  Ｍｉｎｇ") == "Li Ming"
    assert parse_value("veterans", "name", "J. Smith") == "J. Smith"  # a full stop between Latin letters stays
    assert parse_value("veterans", "address", "东村 3号") == "东村 3号"  # only names
    assert parse_value("visits", "visitors", "王五 赵六") == "王五 赵六"  # a list of names, not one


def test_names_stored_before_are_still_admitted():
    assert admissible("veterans", "name", "阿不都•热合曼") is None
    assert admissible("veterans", "note", "第３组\n第二行") is None
    assert admissible("veterans", "name", " 甲") == NOT_CANONICAL


# --------------------------------------------------------------------------- numbers


def test_amounts_are_never_negative():
    assert message(parse_value, "visits", "aid_cash", "-5") == "慰问金（元） -5 不能为负数"
    assert message(parse_value, "visits", "aid_cash", -200) == "慰问金（元） -200 不能为负数"
    assert message(parse_value, "petitions", "group_size", "-1") == "人数 -1 不能为负数"
    assert parse_value("visits", "aid_cash", "0") == 0.0
    assert admissible("visits", "aid_cash", -5.0) is None  # an old row's form: the row checks refuse it instead
    assert row_problem("visits", {"aid_cash": -5.0}, {"aid_cash"}, latest="2026-12-03") == "慰问金（元） -5 不能为负数"
    assert row_problem("visits", {"aid_cash": -5.0}, {"summary"}, latest="2026-12-03") is None


# --------------------------------------------------------------------------- what cannot be true


def complete(changes: dict, current: dict | None = None) -> dict:
    return complete_veteran(changes, current, today=TODAY)


def refused(changes: dict, current: dict | None = None) -> str:
    return message(complete, changes, current)


@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2010, 12, 31)), st.integers(0, 999))
def test_gender_and_birth_date_come_from_the_id_number_and_go_back(birth, seq):
    body = f"440902{birth:%Y%m%d}{seq:03d}"
    number = body + id_number_check_digit(body)
    filled = complete({"id_number": number})
    assert filled == {"id_number": number, "gender": gender_from_id(number), "birth_date": birth.isoformat()}
    assert filled["gender"] == ("male" if seq % 2 else "female")
    assert complete(dict(filled)) == filled  # what it filled passes its own checks
    assert complete({"id_number": number, "birth_date": birth.isoformat()[:7]})["birth_date"] == birth.isoformat()
    other = "female" if filled["gender"] == "male" else "male"
    with pytest.raises(ValidationError, match="与身份证号不一致"):
        complete({"id_number": number, "gender": other})


def test_gender_or_birth_date_contradicting_the_id_number():
    hint = "（性别和出生日期可不填，按身份证号自动补全）"
    assert refused({"id_number": MAN, "gender": "female"}) == "性别“女”与身份证号不一致（按身份证号应为“男”）" + hint
    assert refused({"id_number": WOMAN, "gender": "male"}) == "性别“男”与身份证号不一致（按身份证号应为“女”）" + hint
    assert refused({"id_number": MAN, "birth_date": "1966-03-12"}) == \
        "出生日期 1966-03-12 与身份证号不一致（按身份证号应为 1965-03-12）" + hint
    assert refused({"id_number": MAN, "birth_date": "1965-04"}) == \
        "出生日期 1965-04 与身份证号不一致（按身份证号应为 1965-03-12）" + hint
    assert complete({"id_number": MAN, "gender": "male", "birth_date": "1965-03"}) == \
        {"id_number": MAN, "gender": "male", "birth_date": "1965-03-12"}


def test_an_edit_takes_the_new_id_numbers_gender_and_birth_date():
    stored = {"id_number": MAN, "gender": "male", "birth_date": "1965-03-12", "name": "甲"}
    other = make_id("19700202", "002")
    assert complete({"id_number": other}, stored) == {"id_number": other, "gender": "female", "birth_date": "1970-02-02"}
    assert complete({"gender": None}, stored) == {"gender": "male"}  # cleared: the ID's again
    assert refused({"gender": "female"}, stored).startswith("性别“女”与身份证号不一致")
    # a record filed under older rules (its gender contradicts the ID) can still be edited elsewhere
    legacy = dict(stored, gender="female")
    assert complete({"address": "东村1号"}, legacy) == {"address": "东村1号"}
    assert refused({"id_number": MAN, "gender": "female"}, legacy).startswith("性别“女”")


@pytest.mark.parametrize(("changes", "expected"), [
    ({"enlisted_on": "1981-03-11"}, "入伍时间 1981-03-11 时未满16周岁（出生日期 1965-03-12）"),
    ({"enlisted_on": "1981-02"}, "入伍时间 1981-02 时未满16周岁（出生日期 1965-03-12）"),
    ({"enlisted_on": "1960-01"}, "入伍时间 1960-01 早于出生日期 1965-03-12"),
    ({"enlisted_on": "1960-01", "category": "red_army"}, "入伍时间 1960-01 早于出生日期 1965-03-12"),
    ({"enlisted_on": "1983-12", "discharged_on": "1983-11"}, "退役时间 1983-11 早于入伍时间 1983-12"),
    ({"enlisted_on": "1983-12-05", "discharged_on": "1983-12-04"}, "退役时间 1983-12-04 早于入伍时间 1983-12-05"),
    ({"enlisted_on": "2027-01"}, "入伍时间 2027-01 晚于今天"),
    ({"discharged_on": "2026-12-03"}, "退役时间 2026-12-03 晚于今天"),
    ({"honor_plaque": "2026-12-03"}, "光荣牌悬挂日期 2026-12-03 晚于今天"),
])
def test_what_cannot_be_true_of_a_service_record(changes, expected):
    assert refused({"id_number": MAN, **changes}) == expected


@pytest.mark.parametrize("changes", [
    {"enlisted_on": "1981-03-12"}, {"enlisted_on": "1981-03"},  # 16 that day; that month: perhaps
    {"enlisted_on": "1979-09", "category": "red_army"},  # a child in the Red Army (红小鬼)
    {"enlisted_on": "1983-12", "discharged_on": "1983-12-05"}, {"enlisted_on": "1983-12-05", "discharged_on": "1983-12"},
    {"enlisted_on": "2026-12", "discharged_on": "2026-12-02"}, {"honor_plaque": "2026-12"},
])
def test_what_may_be_true_is_accepted(changes):
    assert complete({"id_number": MAN, **changes})["gender"] == "male"


def test_a_service_record_is_checked_when_either_date_or_the_birth_changes():
    stored = {"id_number": MAN, "gender": "male", "birth_date": "1965-03-12", "enlisted_on": "1983-12"}
    assert refused({"discharged_on": "1983-01"}, stored) == "退役时间 1983-01 早于入伍时间 1983-12"
    assert refused({"enlisted_on": "1990-01"}, {**stored, "discharged_on": "1989-12"}) == \
        "退役时间 1989-12 早于入伍时间 1990-01"
    young = make_id("19700101", "001")
    assert refused({"id_number": young}, stored) == "入伍时间 1983-12 时未满16周岁（出生日期 1970-01-01）"
    assert refused({"category": "retired_soldier"}, {**stored, "id_number": young, "birth_date": "1970-01-01"}) == \
        "入伍时间 1983-12 时未满16周岁（出生日期 1970-01-01）"


def test_the_hub_allows_a_day_of_clock_difference():
    row = {"id_number": MAN, "enlisted_on": "2026-12-03"}
    assert row_problem("veterans", row, {"enlisted_on"}, latest="2026-12-03") is None
    assert row_problem("veterans", row, {"enlisted_on"}, latest="2026-12-02") == "入伍时间 2026-12-03 晚于今天"
    assert row_problem("visits", {"visited_on": "2027-01-01"}, {"visited_on"}, latest="2026-12-03") == \
        "走访日期 2027-01-01 晚于今天"


def test_birth_date_and_gender_of_the_id_helpers_still_agree():
    assert birth_date_from_id(MAN) == "1965-03-12" and gender_from_id(MAN) == "male" and gender_from_id(WOMAN) == "female"
    assert values.validate_phone is validate_phone  # the parsers keep their names in veterans.values
