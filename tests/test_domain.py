"""Tests of veterans.values: enums, ID numbers, area codes, dates, phones, ids."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import time
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from veterans.values import (
    ENUM_FIELD_LABELS,
    ENUMS,
    area_level,
    birth_date_from_id,
    gender_from_id,
    id_number_check_digit,
    label,
    new_id,
    parent_area,
    parse_date,
    parse_enum,
    parse_month,
    validate_area,
    validate_id_number,
    validate_phone,
)
from sync.engine.errors import ScopeError, ValidationError


def test_pure_module_imports_no_sqlite_or_grpc():
    code = "import sys, veterans.values, veterans.petition; print('sqlite3' in sys.modules, 'grpc' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


# --------------------------------------------------------------------------- enums

EXPECTED_SIZES = {
    "gender": 2, "category": 16, "disability_level": 11, "disability_cause": 3,
    "veteran_status": 3, "visit_kind": 5, "occasion": 5, "channel": 5,
    "petition_class": 3, "event_kind": 17, "outcome": 3, "petition_status": 10, "handling_method": 4,
    "conflict_kind": 5, "conflict_status": 2,
    # migration 9
    "political_status": 5, "placement": 8, "employment": 6, "priority_type": 8, "relationship": 5,
    "contact_policy": 2, "trigger_kind": 7, "area_level": 3,
}


def test_enum_names_and_sizes():
    assert {k: len(v) for k, v in ENUMS.items()} == EXPECTED_SIZES
    assert set(ENUM_FIELD_LABELS) == set(ENUMS)
    assert list(ENUMS["disability_level"].values()) == [
        "无", "一级", "二级", "三级", "四级", "五级", "六级", "七级", "八级", "九级", "十级"
    ]
    assert ENUMS["category"]["retired_cadre"] == "军休干部/退休士官"


@pytest.mark.parametrize("enum_name", list(ENUMS))
def test_labels_unique_within_enum(enum_name):
    labels = list(ENUMS[enum_name].values())
    assert len(set(labels)) == len(labels)


@pytest.mark.parametrize(
    ("enum_name", "code"), [(e, c) for e, codes in ENUMS.items() for c in codes]
)
def test_code_and_label_round_trip(enum_name, code):
    lab = label(enum_name, code)
    assert lab == ENUMS[enum_name][code]
    assert parse_enum(enum_name, code) == code
    assert parse_enum(enum_name, lab) == code
    assert parse_enum(enum_name, f"  {lab}\u3000") == code
    assert parse_enum(enum_name, code.upper()) == code


@pytest.mark.parametrize(
    ("enum_name", "text", "code"),
    [
        ("gender", "男", "male"), ("gender", "女性", "female"), ("gender", "M", "male"),
        ("gender", "f", "female"), ("gender", "男性", "male"),
        ("event_kind", "转送", "forward"), ("event_kind", "交办", "forward"),
        ("event_kind", "转送/交办", "forward"),
        ("category", "军休干部", "retired_cadre"), ("category", "退休士官", "retired_cadre"),
        ("disability_level", "1级", "level1"), ("disability_level", "一级", "level1"),
        ("disability_level", "1", "level1"), ("disability_level", 10, "level10"),
        ("disability_level", "十", "level10"), ("disability_level", "无", "none"),
        ("petition_status", "已交办", "forwarded"),
    ],
)
def test_aliases(enum_name, text, code):
    assert parse_enum(enum_name, text) == code


def test_unknown_enum_value_lists_labels():
    with pytest.raises(ValidationError) as err:
        parse_enum("disability_cause", "因病死亡")
    assert str(err.value) == "伤残性质 因病死亡 无效，应为：因战、因公、因病"
    with pytest.raises(ValidationError, match="^性别 （空） 无效"):
        parse_enum("gender", "  ")
    with pytest.raises(ValidationError, match="^走访性别 x"):
        parse_enum("gender", "x", field_label="走访性别")
    with pytest.raises(ValidationError, match="^伤残等级 11级 无效"):
        parse_enum("disability_level", "11级")
    with pytest.raises(KeyError, match="no_such_enum"):
        parse_enum("no_such_enum", "x")


def test_label_never_raises():
    assert label("gender", "robot") == "robot"
    assert label("no_such_enum", "x") == "x"


# --------------------------------------------------------------------------- ID numbers

# 11010519491231002X is the example of GB 11643-1999; the others were built with
# id_number_check_digit and checked by hand below.
VALID_IDS = ["11010519491231002X", "440902196510150035", "440902200002290022"]


@pytest.mark.parametrize("id_number", VALID_IDS)
def test_valid_ids(id_number):
    assert validate_id_number(id_number) == id_number
    assert validate_id_number(id_number.lower()) == id_number
    assert validate_id_number(f" {id_number[:6]} {id_number[6:]} ") == id_number


def test_check_digit_by_hand():
    # 1·7+1·9+0·10+1·5+0·8+5·4+1·2+9·1+4·6+9·3+1·7+2·9+3·10+1·5+0·8+0·4+2·2 = 167,
    # 167 mod 11 = 2 → "X"
    assert id_number_check_digit("11010519491231002") == "X"
    # 4·7+4·9+0+5·5+2·8+4·4+1·2+8·1+8·6+0+0+1·9+0+1·5+0+0+1·2 = 195, mod 11 = 8 → "4"
    assert id_number_check_digit("44052418800101001") == "4"
    # sum ≡ 0 → "1", ≡ 1 → "0"
    # 4·7+4·9+0·10+9·5+0·8+2·4+1·2+9·1+6·6+5·3+1·7+0·9+1·10+5·5+0·8+0·4+3·2 = 227,
    # 227 mod 11 = 7 → "5"
    assert id_number_check_digit("44090219651015003") == "5"
    assert id_number_check_digit("00000000000000000") == "1"  # sum 0 → "1"
    with pytest.raises(ValidationError, match="应为17位数字"):
        id_number_check_digit("1234")


def test_check_digit_covers_all_residues():
    # Find bodies for every residue 0..10 and check the mapping table.
    seen = {}
    for n in range(2000):
        body = f"440902{n:011d}"
        total = sum(int(d) * pow(2, 17 - i, 11) for i, d in enumerate(body))
        seen.setdefault(total % 11, id_number_check_digit(body))
    assert seen == dict(enumerate("10X98765432"))


def test_birth_and_gender():
    assert birth_date_from_id("11010519491231002X") == "1949-12-31"
    assert gender_from_id("11010519491231002X") == "female"
    assert gender_from_id("440902196510150035") == "male"
    assert birth_date_from_id("440902200002290022") == "2000-02-29"
    # The standard's other example is born in 1880: well-formed, but before 1900.
    with pytest.raises(ValidationError, match="出生日期 18800101 超出合理范围"):
        validate_id_number("440524188001010014")


@given(
    st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2020, 12, 31)),
    st.integers(0, 999),
)
def test_generated_ids_validate(birth, seq):
    body = f"440902{birth:%Y%m%d}{seq:03d}"
    id_number = body + id_number_check_digit(body)
    assert validate_id_number(id_number) == id_number
    assert birth_date_from_id(id_number) == birth.isoformat()
    assert gender_from_id(id_number) == ("male" if seq % 2 else "female")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("11010519491231002Y", "身份证号 11010519491231002Y 校验位错误（应为 X）"),
        ("110105194912310021", "身份证号 110105194912310021 校验位错误（应为 X）"),
        ("1101051949123100", "身份证号 1101051949123100 应为18位（实为16位）"),
        ("", "身份证号 （空） 应为18位（实为0位）"),
        ("11010519491231002XX", "身份证号 11010519491231002XX 应为18位（实为19位）"),
        ("1101051949123100AX", "身份证号 1101051949123100AX 前17位应全为数字"),
        ("１１０１０５１９４９１２３１００２Y", "身份证号 １１０１０５１９４９１２３１００２Y 校验位错误（应为 X）"),
        ("000000194912310021", "身份证号 000000194912310021 地址码 000000 无效"),
        ("110105194902300021", "身份证号 110105194902300021 出生日期 19490230 不是有效日期"),
        ("110105189912310021", "身份证号 110105189912310021 出生日期 18991231 超出合理范围"),
    ],
)
def test_id_errors(text, message):
    with pytest.raises(ValidationError) as err:
        validate_id_number(text)
    assert err.value.args[0] == message


def test_id_fifteen_digits_gets_hint():
    with pytest.raises(ValidationError) as err:
        validate_id_number("110105491231002")
    assert err.value.hint and "18位" in err.value.hint


def test_id_birth_in_future():
    body = "44090220300101001"
    with pytest.raises(ValidationError, match="超出合理范围"):
        validate_id_number(body + id_number_check_digit(body), today=dt.date(2029, 12, 31))
    assert validate_id_number(body + id_number_check_digit(body), today=dt.date(2030, 1, 1))


# --------------------------------------------------------------------------- areas


def test_area_levels_and_parents():
    assert validate_area(" 440902001001 ") == "440902001001"
    assert area_level("440902") == "county"
    assert area_level("440902001") == "town"
    assert area_level("440902001001") == "village"
    assert parent_area("440902001001") == "440902001"
    assert parent_area("440902001") == "440902"
    assert parent_area("440902") is None


@pytest.mark.parametrize("bad", ["", "4409", "4409020", "44090200100", "4409020010010", "44090a", "000000", None])
def test_area_malformed(bad):
    with pytest.raises(ValidationError, match="^区划代码"):
        validate_area(bad)


def test_area_scope():
    assert validate_area("440902001001", scope="440902001") == "440902001001"
    assert validate_area("440902001", scope="440902001") == "440902001"
    with pytest.raises(ScopeError) as err:
        validate_area("440903001001", scope="440902001")
    assert str(err.value) == "区划代码 440903001001 不在本站范围 440902001 内"
    assert isinstance(err.value, ValidationError)
    with pytest.raises(ScopeError, match="^区划代码 440902 不在本站范围 440902001 内"):
        validate_area("440902", scope="440902001")  # the county is above a town's scope


# --------------------------------------------------------------------------- dates


@pytest.mark.parametrize(
    "text",
    ["2023-01-05", "2023/1/5", "2023.1.5", "20230105", "2023年1月5日", "2023年01月05日",
     "2023年1月5", "2023-1-5", " 2023-01-05 ", "2023-01-05T08:30:00+08:00", "2023-01-05 08:30",
     dt.date(2023, 1, 5), dt.datetime(2023, 1, 5, 23, 59)],
)
def test_parse_date_formats(text):
    assert parse_date(text) == "2023-01-05"


@pytest.mark.parametrize(
    "text", ["", None, "2023-02-30", "2023-13-01", "2023/1-5", "05/01/2023", "1899-12-31",
             "2101-01-01", "2023010", "yesterday", "2023-13", "09999", "100000"],
)
def test_parse_date_invalid(text):
    with pytest.raises(ValidationError) as err:
        parse_date(text, field_label="走访日期")
    assert err.value.args[0].startswith("走访日期 ")
    assert err.value.args[0].endswith("不是有效日期")


@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 12, 31)))
def test_parse_date_round_trip(day):
    for text in (day.isoformat(), f"{day.year}/{day.month}/{day.day}", f"{day:%Y%m%d}",
                 f"{day.year}年{day.month}月{day.day}日", f"{day.year}.{day.month}.{day.day}"):
        assert parse_date(text) == day.isoformat()


@pytest.mark.parametrize("text", ["2023-01", "2023-1", "2023/1", "2023.1", "202301", "2023年1月", dt.date(2023, 1, 9)])
def test_parse_month(text):
    assert parse_month(text) == "2023-01"


@pytest.mark.parametrize("text", ["", "2023-13", "2023-00", "2023", "一月", "1899-12"])
def test_parse_month_invalid(text):
    with pytest.raises(ValidationError, match="不是有效月份"):
        parse_month(text)


# --------------------------------------------------------------------------- phones


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("13812345678", "13812345678"), ("138 1234 5678", "13812345678"),
        ("138-1234-5678", "13812345678"), ("+86 13812345678", "13812345678"),
        ("0759-1234567", "0759-1234567"), ("07591234567", "07591234567"),
        ("0759-12345678", "0759-12345678"), ("010-87654321", "010-87654321"),
        (" 0759 - 2234567 ", "0759-2234567"), ("2234567", "2234567"),
    ],
)
def test_phone_valid(text, expected):
    assert validate_phone(text) == expected


@pytest.mark.parametrize(
    "text", ["", None, "1381234567", "138123456789", "23812345678x", "0759--1234567",
             "0759-12-34567", "0759-123456", "0759-123456789", "1234567", "phone"],
)
def test_phone_invalid(text):
    with pytest.raises(ValidationError, match="^电话 "):
        validate_phone(text)


# --------------------------------------------------------------------------- ids


def test_new_id_is_uuid7_and_ordered():
    before = time.time_ns() // 1_000_000
    ids = [new_id() for _ in range(2000)]
    after = time.time_ns() // 1_000_000
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    for text in ids[:50]:
        u = uuid.UUID(text)
        assert str(u) == text
        assert u.version == 7
        assert u.variant == uuid.RFC_4122
        assert before <= u.int >> 80 <= after + 1
