"""Tests of veterans.fields: parsing typed values by field kind, --set items, display."""

from __future__ import annotations

import subprocess
import sys

import pytest

from veterans.values import id_number_check_digit
from sync.engine.errors import ScopeError, ValidationError
from veterans.fields import display_value, field_label, parse_assignments, parse_value, resolve_field, settable_fields

BODY = "44090219600101001"
ID = BODY + id_number_check_digit(BODY)
BAD_ID = BODY + ("0" if ID[-1] != "0" else "1")


def test_pure_module_imports_no_sqlite():
    code = "import sys, veterans.fields; print('sqlite3' in sys.modules, 'grpc' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


# --------------------------------------------------------------------------- parse_value by kind


def test_text_is_stripped_and_blank_is_none():
    assert parse_value("veterans", "name", "  张三 ") == "张三"
    assert parse_value("veterans", "name", "") is None
    assert parse_value("veterans", "name", "   ") is None
    assert parse_value("veterans", "name", None) is None


@pytest.mark.parametrize("text, expected", [("3", 3), (" 12 ", 12), ("1,000", 1000), (7, 7)])
def test_int(text, expected):
    assert parse_value("petitions", "group_size", text) == expected


@pytest.mark.parametrize("text", ["3.5", "三", "abc"])
def test_int_errors_name_the_field(text):
    with pytest.raises(ValidationError, match="人数.*整数"):
        parse_value("petitions", "group_size", text)


@pytest.mark.parametrize("text, expected", [("500", 500.0), ("199.5", 199.5), ("1,200.50", 1200.5), (3, 3.0)])
def test_real(text, expected):
    assert parse_value("visits", "aid_cash", text) == expected


@pytest.mark.parametrize("text", ["五百", "nan", "inf", "1.2.3"])
def test_real_errors(text):
    with pytest.raises(ValidationError, match="慰问金"):
        parse_value("visits", "aid_cash", text)


@pytest.mark.parametrize(
    "text, expected",
    [("是", 1), ("否", 0), ("true", 1), ("FALSE", 0), ("1", 1), ("0", 0), (True, 1), (0, 0), ("yes", 1)],
)
def test_bool(text, expected):
    assert parse_value("petitions", "confidential", text) == expected


def test_bool_error():
    with pytest.raises(ValidationError, match="是、否"):
        parse_value("petitions", "confidential", "也许")


@pytest.mark.parametrize("text", ["2023-01-05", "2023/1/5", "20230105", "2023年1月5日", "2023.1.5"])
def test_date(text):
    assert parse_value("veterans", "enlisted_on", text) == "2023-01-05"


@pytest.mark.parametrize("text", ["2023-13-01", "2023-02-30", "昨天", "1800-01-01"])
def test_date_errors_name_the_field(text):
    with pytest.raises(ValidationError, match="入伍时间"):
        parse_value("veterans", "enlisted_on", text)


@pytest.mark.parametrize("text, expected", [("退役士兵", "retired_soldier"), ("retired_soldier", "retired_soldier"),
                                            ("红军老战士", "red_army"), ("军休干部", "retired_cadre")])
def test_enum_by_code_label_or_alias(text, expected):
    assert parse_value("veterans", "category", text) == expected


def test_enum_error_lists_the_labels():
    with pytest.raises(ValidationError, match="类别 将军 无效，应为：转业干部"):
        parse_value("veterans", "category", "将军")


def test_id_number():
    assert parse_value("veterans", "id_number", ID.lower()) == ID
    with pytest.raises(ValidationError, match="校验位"):
        parse_value("veterans", "id_number", BAD_ID)
    with pytest.raises(ValidationError, match="18位"):
        parse_value("veterans", "id_number", "12345")


def test_area_and_scope():
    assert parse_value("veterans", "area", "440902001001") == "440902001001"
    assert parse_value("veterans", "area", "440902001001", scope="440902001") == "440902001001"
    with pytest.raises(ScopeError, match="不在本站范围"):
        parse_value("veterans", "area", "440902002001", scope="440902001")
    with pytest.raises(ValidationError, match="6、9或12位"):
        parse_value("veterans", "area", "4409020")


def test_phone():
    assert parse_value("veterans", "phone", "138 0013 8000") == "13800138000"
    assert parse_value("veterans", "phone", "0759-1234567") == "0759-1234567"
    with pytest.raises(ValidationError, match="电话"):
        parse_value("veterans", "phone", "12")


def test_ref():
    assert parse_value("visits", "veteran_id", " abc-123 ") == "abc-123"
    with pytest.raises(ValidationError, match="记录编号"):
        parse_value("visits", "veteran_id", "a b")


def test_parse_is_idempotent_on_canonical_values():
    for table, name, text in [("veterans", "category", "退役士兵"), ("veterans", "phone", "138-0013-8000"),
                              ("veterans", "enlisted_on", "2023年1月5日"), ("petitions", "confidential", "是")]:
        once = parse_value(table, name, text)
        assert parse_value(table, name, once) == once


def test_unknown_table_and_field():
    with pytest.raises(ValidationError, match="未知的数据表"):
        parse_value("nope", "name", "x")
    with pytest.raises(ValidationError, match="没有字段 shoe_size"):
        parse_value("veterans", "shoe_size", "42")


# --------------------------------------------------------------------------- field names, --set


def test_resolve_field_by_name_label_or_label_without_unit():
    assert resolve_field("veterans", "name").name == "name"
    assert resolve_field("veterans", "NAME").name == "name"
    assert resolve_field("veterans", "姓名").name == "name"
    assert resolve_field("visits", "慰问金（元）").name == "aid_cash"
    assert resolve_field("visits", "慰问金").name == "aid_cash"


def test_parse_assignments_english_and_chinese():
    got = parse_assignments("veterans", ["姓名=张三", "category=退役士兵", "联系电话=13800138000", "备注="], scope=None)
    assert got == {"name": "张三", "category": "retired_soldier", "phone": "13800138000", "note": None}


def test_parse_assignments_value_may_hold_equals_sign():
    assert parse_assignments("veterans", ["note=a=b"]) == {"note": "a=b"}


def test_parse_assignments_unknown_field_lists_settable_ones():
    with pytest.raises(ValidationError) as err:
        parse_assignments("veterans", ["shoe=42"])
    msg = str(err.value)
    assert "没有字段 shoe" in msg and "name（姓名）" in msg and "phone（联系电话）" in msg
    assert "merged_into" not in msg and "deleted" not in msg


@pytest.mark.parametrize("item", ["id=x", "编号=x", "deleted=1", "merged_into=x"])
def test_parse_assignments_refuses_unsettable(item):
    with pytest.raises(ValidationError, match="不能直接设置"):
        parse_assignments("veterans", [item])


def test_parse_assignments_other_errors():
    with pytest.raises(ValidationError, match="字段=值"):
        parse_assignments("veterans", ["张三"])
    with pytest.raises(ValidationError, match="重复"):
        parse_assignments("veterans", ["name=a", "姓名=b"])
    with pytest.raises(ScopeError, match="^区划代码 440902002001 不在本站范围"):
        parse_assignments("veterans", ["area=440902002001"], scope="440902001")


def test_settable_fields():
    names = [f.name for f in settable_fields("visits")]
    assert "veteran_id" in names and "area" not in names and "station" not in names and "id" not in names


# --------------------------------------------------------------------------- display


def test_display_value():
    assert display_value("veterans", "category", "retired_soldier") == "退役士兵"
    assert display_value("veterans", "gender", "female") == "女"
    assert display_value("petitions", "confidential", 1) == "是"
    assert display_value("petitions", "confidential", 0) == "否"
    assert display_value("veterans", "name", None) == ""
    assert display_value("visits", "aid_cash", 500.0) == "500"
    assert display_value("visits", "aid_cash", 199.5) == "199.5"
    assert display_value("veterans", "category", "from_a_newer_schema") == "from_a_newer_schema"
    assert display_value("veterans", "unknown_field", 3) == "3"


def test_field_label():
    assert field_label("veterans", "id_number") == "身份证号"
    assert field_label("veterans", "newer_field") == "newer_field"
