"""Domain values of vetsync: enums, ID numbers, area codes, dates, phones, ids.

Pure code (stdlib only). Every parser takes what a clerk typed or what a
spreadsheet holds and returns the one canonical form stored in the database,
or raises :class:`~sync.engine.errors.ValidationError` with a one-line Simplified
Chinese message that names the field and the bad value. Every parser takes
full-width digits and letters (``１９８３．１２``, ``４４０９０２…``) as their ASCII
forms (:mod:`veterans.typed`).

Canonical forms:

- enum values: the English code (``"male"``, ``"retired_soldier"``); the
  Chinese label is for display only (:func:`label`); the official and usual
  other names (烈士遗属 for 烈属) are data, in ``veterans/synonyms.toml``;
- 公民身份号码: 18 characters, check digit upper-case (GB 11643-1999);
- area: 统计用区划代码 of 6 (county), 9 (town) or 12 (village) digits;
- dates ``YYYY-MM-DD``; a date known to the month only (``1983.12``,
  ``1983年12月``), where the field allows it, ``YYYY-MM``; months ``YYYY-MM``;
- phones: one or two numbers (:mod:`veterans.phones`);
- ids: UUIDv7 strings (time-ordered).
"""

from __future__ import annotations

import datetime as _dt
import functools
import re
from pathlib import Path

from sync.engine import ids as _ids
from sync.engine.errors import ScopeError, ValidationError
from sync.engine.scope import AREA_LEVELS as _AREA_LEVELS
from veterans.phones import validate_phone
from veterans.typed import canonical_name, to_half_width

__all__ = [
    "ENUMS",
    "ENUM_FIELD_LABELS",
    "parse_enum",
    "parse_enum_set",
    "set_labels",
    "label",
    "validate_id_number",
    "id_number_check_digit",
    "birth_date_from_id",
    "gender_from_id",
    "validate_area",
    "area_level",
    "parent_area",
    "parse_date",
    "parse_month",
    "excel_serial_date",
    "EXCEL_SERIALS",
    "validate_phone",
    "canonical_name",
    "to_half_width",
    "synonyms",
    "new_id",
]

# --------------------------------------------------------------------------- enums

_CN_NUMERALS = "一二三四五六七八九十"

ENUMS: dict[str, dict[str, str]] = {
    "gender": {"male": "男", "female": "女"},
    "category": {
        "transferred_cadre": "转业干部",
        "retired_soldier": "退役士兵",
        "retired_cadre": "军休干部/退休士官",
        "non_military_staff": "无军籍职工",
        "demobilized": "复员军人",
        "red_army": "红军老战士",
        "disabled_soldier": "残疾军人",
        "disabled_militia": "伤残民兵民工",
        "martyr_family": "烈属",
        "duty_death_family": "因公遗属",
        "illness_death_family": "病故遗属",
        "active_duty_family": "现役军属",
        # Appended (migration 9): further groups of the national collection.
        "war_veteran": "参战退役人员",
        "test_veteran": "参试退役人员",
        "sick_returned": "带病回乡退伍军人",
        "rural_elder_soldier": "60周岁以上农村籍退役士兵",
    },
    "disability_level": {
        "none": "无",
        **{f"level{n}": f"{_CN_NUMERALS[n - 1]}级" for n in range(1, 11)},
    },
    "disability_cause": {"war": "因战", "duty": "因公", "illness": "因病"},
    "veteran_status": {"active": "在册", "moved_out": "迁出", "deceased": "已故"},
    "visit_kind": {
        "phone": "电话",
        "home": "入户",
        "forum": "座谈",
        "video": "视频",
        "other": "其他",
    },
    "occasion": {
        "regular": "常态化",
        "spring_festival": "春节",
        "army_day": "八一",
        "sick_visit": "生病探望",
        "other": "其他",
    },
    "channel": {
        "letter": "书信",
        "visit": "走访",
        "phone": "电话",
        "online": "网络",
        "fax": "传真",
    },
    "petition_class": {
        "suggestion": "建议意见类",
        "accusation": "检举控告类",
        "appeal": "申诉求决类",
    },
    "event_kind": {
        "register": "登记",
        "forward": "转送/交办",
        "accept": "受理",
        "reject": "不予受理",
        "extend": "延期",
        "reply": "答复",
        "review_request": "复查申请",
        "review_opinion": "复查意见",
        "recheck_request": "复核申请",
        "recheck_opinion": "复核意见",
        "mediate": "调解",
        "close": "办结",
        "escalate": "上报",
        "correct": "更正",
        # Appended (migration 8, 信访工作条例 2022):
        "notify": "告知",          # Arts. 22–23: the written notice to the petitioner
        "serve": "送达",           # Arts. 35–36: the petitioner received the written reply/opinion
        "hearing": "听证",         # Art. 36: its days are not counted in the 复核 limit
    },
    # 处理方式 of a 受理 (信访工作条例 Arts. 29–31): only a 处理意见书 runs the 60 days of Art. 34.
    "handling_method": {
        "opinion": "信访处理意见书",
        "suggestion": "建议意见类",
        "accusation": "检举控告类",
        "legal_channel": "诉讼仲裁复议等法定途径",
    },
    "outcome": {"support": "支持", "explain": "解释说明", "not_support": "不予支持"},
    "petition_status": {
        "registered": "已登记",
        "forwarded": "已转送/交办",
        "accepted": "办理中",
        "not_accepted": "不予受理",
        "replied": "已答复",
        "under_review": "复查中",
        "reviewed": "已复查",
        "under_recheck": "复核中",
        "closed": "已办结",
        "escalated": "已上报",
    },
    "conflict_kind": {
        "concurrent_edit": "并发修改",
        "delete_edit": "删除与修改冲突",
        "duplicate_identity": "重复登记",
        "petition_transition": "信访状态冲突",
        "refused_edit": "越权修改被拒",
    },
    "conflict_status": {"open": "待处理", "resolved": "已解决"},
    # Migration 9: the national collection's fields, 常态化联系 and the area list.
    "political_status": {
        "cpc_member": "中共党员",
        "cpc_probationary": "中共预备党员",
        "league_member": "共青团员",
        "democratic_party": "民主党派",
        "masses": "群众",
    },
    "placement": {
        "self_employed": "自主就业",
        "assigned_job": "安排工作",
        "transferred": "转业",
        "retired": "退休",
        "monthly_pension": "逐月领取退役金",
        "supported": "供养",
        "demobilized": "复员",
        "other": "其他",
    },
    "employment": {
        "employed": "已就业",
        "own_business": "自主创业",
        "flexible": "灵活就业",
        "unemployed": "未就业",
        "retired": "已退休",
        "unable": "无劳动能力",
    },
    # 重点优抚对象 (军人抚恤优待条例 2024).
    "priority_type": {
        "disabled_soldier": "残疾军人",
        "martyr_family": "烈士遗属",
        "duty_death_family": "因公牺牲军人遗属",
        "illness_death_family": "病故军人遗属",
        "demobilized": "在乡复员军人",
        "sick_returned": "带病回乡退伍军人",
        "war_test_veteran": "参战参试退役军人",
        "rural_elder_soldier": "60周岁以上农村籍退役士兵",
    },
    "relationship": {
        "parent": "父母",
        "spouse": "配偶",
        "child": "子女",
        "sibling": "兄弟姐妹",
        "other": "其他",
    },
    "contact_policy": {"general": "普遍", "key": "重点"},
    "trigger_kind": {
        "hospitalized": "生病住院",
        "family_change": "家庭变故",
        "hardship": "生活困难",
        "dispute": "现实纠纷",
        "award": "立功受奖/送喜报",
        "festival": "重大节日",
        "birthday80": "80岁以上生日",
    },
    "area_level": {"county": "县", "town": "乡镇/街道", "village": "村/社区"},
}

#: Chinese name of each enum, used in error messages when no field label is given.
ENUM_FIELD_LABELS: dict[str, str] = {
    "gender": "性别",
    "category": "人员类别",
    "disability_level": "伤残等级",
    "disability_cause": "伤残性质",
    "veteran_status": "人员状态",
    "visit_kind": "走访方式",
    "occasion": "走访时机",
    "channel": "信访渠道",
    "petition_class": "信访类别",
    "event_kind": "信访事件",
    "handling_method": "处理方式",
    "outcome": "答复结果",
    "petition_status": "信访状态",
    "conflict_kind": "冲突类型",
    "conflict_status": "冲突状态",
    "political_status": "政治面貌",
    "placement": "安置方式",
    "employment": "就业情况",
    "priority_type": "重点优抚对象类别",
    "relationship": "与军人关系",
    "contact_policy": "联系类型",
    "trigger_kind": "必访事由",
    "area_level": "区划层级",
}

# Spellings of the levels (3, 3级, 三, 三级), made rather than listed: the other
# spellings of every enum are data (synonyms.toml).
_LEVEL_SPELLINGS: dict[str, str] = {
    a: f"level{n}" for n in range(1, 11) for a in (str(n), f"{n}级", _CN_NUMERALS[n - 1], f"{_CN_NUMERALS[n - 1]}级")
}
_SYNONYMS_FILE = Path(__file__).with_name("synonyms.toml")


@functools.cache
def synonyms() -> dict[str, dict[str, str]]:
    """The synonym table (``veterans/synonyms.toml``): per enum, spelling → code.

    Read once, at the first enum parsed. A section that is no enum, or a target
    that is neither a label nor a code of its enum, is a broken file: ValueError.
    """
    import tomllib

    data = tomllib.loads(_SYNONYMS_FILE.read_text(encoding="utf-8"))
    out: dict[str, dict[str, str]] = {}
    for enum_name, spellings in data.items():
        if enum_name not in ENUMS or not isinstance(spellings, dict):
            raise ValueError(f"{_SYNONYMS_FILE.name}: [{enum_name}] is no enum")
        by_label = {lab: code for code, lab in ENUMS[enum_name].items()}
        for spelling, target in spellings.items():
            code = target if target in ENUMS[enum_name] else by_label.get(target)
            if code is None:
                raise ValueError(f"{_SYNONYMS_FILE.name}: [{enum_name}] {spelling} = {target}: no such label or code")
            out.setdefault(enum_name, {})[spelling] = code
    return out


@functools.cache
def _lookup(enum_name: str) -> dict[str, str]:
    """Every accepted spelling (code, label, synonym; codes lower-cased) → code."""
    table = {code.lower(): code for code in ENUMS[enum_name]}
    table.update({lab: code for code, lab in ENUMS[enum_name].items()})
    if enum_name == "disability_level":
        table.update(_LEVEL_SPELLINGS)
    table.update(synonyms().get(enum_name, {}))
    return table


def parse_enum(enum_name: str, text: object, *, field_label: str | None = None) -> str:
    """Return the code of ``text``, given as a code, a Chinese label or a synonym.

    >>> parse_enum("gender", " 女 ")
    'female'
    >>> parse_enum("disability_level", "3级")
    'level3'
    >>> parse_enum("category", "烈士遗属")
    'martyr_family'
    """
    if enum_name not in ENUMS:
        raise KeyError(f"unknown enum {enum_name!r}")
    field = field_label or ENUM_FIELD_LABELS.get(enum_name, enum_name)
    raw = "" if text is None else str(text).strip()
    typed = to_half_width(raw).strip()
    table = _lookup(enum_name)
    code = table.get(typed) or table.get(typed.lower())
    if code is None:
        allowed = "、".join(ENUMS[enum_name].values())
        shown = raw or "（空）"
        raise ValidationError(f"{field} {shown} 无效，应为：{allowed}")
    return code


#: What separates the codes of an ``enum_set`` as typed: 、 , ， ; ； / and blanks.
_SET_SEPARATORS = re.compile(r"[、,，;；/／\s]+")


def parse_enum_set(enum_name: str, text: object, *, field_label: str | None = None,
                   leave_out: str | None = None) -> str | None:
    """The stored form of several codes of one enum (kind ``enum_set``): the codes joined
    by ``,`` in the enum's order, each once; ``leave_out`` (the row's main category) is
    dropped. Each part may be a code, a label or a synonym, separated by 、 , ， ; / or
    blanks. Nothing left: None.

    >>> parse_enum_set("category", "残疾军人、参战退役人员，残疾军人")
    'disabled_soldier,war_veteran'
    """
    raw = "" if text is None else str(text)
    parts = [p for p in _SET_SEPARATORS.split(to_half_width(raw).strip()) if p]
    codes = {parse_enum(enum_name, p, field_label=field_label) for p in parts}
    codes.discard(leave_out)
    return ",".join(code for code in ENUMS[enum_name] if code in codes) or None


def set_labels(enum_name: str, stored: object) -> str:
    """Chinese text of a stored ``enum_set``: the labels joined by 、 (an unknown code shown as is)."""
    if not stored:
        return ""
    return "、".join(label(enum_name, code) for code in str(stored).split(",") if code)


def label(enum_name: str, code: str) -> str:
    """Chinese label of ``code``; an unknown enum or code gives back the code itself."""
    return ENUMS.get(enum_name, {}).get(code, code)


# --------------------------------------------------------------------------- 公民身份号码

_ID_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))  # 7, 9, 10, 5, 8, 4, 2, 1, 6, 3, ...
_ID_CHECK_CHARS = "10X98765432"  # indexed by (weighted sum mod 11)


def id_number_check_digit(first17: str) -> str:
    """Check character of an ID number's first 17 digits (ISO 7064 MOD 11-2)."""
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise ValidationError(f"身份证号前17位 {first17} 应为17位数字")
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS))
    return _ID_CHECK_CHARS[total % 11]


def validate_id_number(text: object, *, today: _dt.date | None = None) -> str:
    """Return the 18-character ID number, check digit upper-cased, or raise.

    Checks length, digits, region (not ``000000``), the embedded birth date
    (a real date, from 1900 and not after ``today``) and the check digit.
    15-digit IDs of the first generation are refused with a hint. Blanks are
    dropped and full-width digits and Ｘ taken as ASCII.
    """
    raw = "" if text is None else "".join(str(text).split())
    value = to_half_width(raw).upper()
    if len(value) != 18:
        hint = "15位一代身份证号请换为18位号码" if len(value) == 15 else None
        raise ValidationError(f"身份证号 {raw or '（空）'} 应为18位（实为{len(value)}位）", hint=hint)
    body, check = value[:17], value[17]
    if not (body.isascii() and body.isdigit()):
        raise ValidationError(f"身份证号 {raw} 前17位应全为数字")
    if body[:6] == "000000":
        raise ValidationError(f"身份证号 {raw} 地址码 000000 无效")
    born = body[6:14]
    try:
        birth = _dt.date(int(born[:4]), int(born[4:6]), int(born[6:]))
    except ValueError:
        raise ValidationError(f"身份证号 {raw} 出生日期 {born} 不是有效日期") from None
    if birth.year < 1900 or birth > (today or _dt.date.today()):
        raise ValidationError(f"身份证号 {raw} 出生日期 {born} 超出合理范围")
    expected = id_number_check_digit(body)
    if check != expected:
        raise ValidationError(f"身份证号 {raw} 校验位错误（应为 {expected}）")
    return value


def birth_date_from_id(id_number: str) -> str:
    """Birth date ``YYYY-MM-DD`` embedded in a valid ID number."""
    value = validate_id_number(id_number)
    return f"{value[6:10]}-{value[10:12]}-{value[12:14]}"


def gender_from_id(id_number: str) -> str:
    """``"male"`` when the 17th digit (sequence code) is odd, else ``"female"``."""
    value = validate_id_number(id_number)
    return "male" if int(value[16]) % 2 else "female"


# --------------------------------------------------------------------------- 区划代码



def validate_area(code: object, *, scope: str | None = None) -> str:
    """Return the area code (6, 9 or 12 digits); with ``scope``, it must lie inside it.

    Raises :class:`ValidationError` for a malformed code and
    :class:`ScopeError` for a code outside ``scope`` (scope is a prefix).
    """
    value = "" if code is None else to_half_width(str(code)).strip()
    if not (value.isascii() and value.isdigit()) or len(value) not in _AREA_LEVELS:
        raise ValidationError(f"区划代码 {value or '（空）'} 应为6、9或12位数字")
    if value[:6] == "000000":
        raise ValidationError(f"区划代码 {value} 县级代码 000000 无效")
    if scope is not None and not value.startswith(scope):
        raise ScopeError(f"区划代码 {value} 不在本站范围 {scope} 内")
    return value


def area_level(code: str) -> str:
    """``"county"``, ``"town"`` or ``"village"`` by the length of a valid code."""
    return _AREA_LEVELS[len(validate_area(code))]


def parent_area(code: str) -> str | None:
    """The area one level up (village → town → county); ``None`` for a county."""
    value = validate_area(code)
    return None if len(value) == 6 else value[:-3]


# --------------------------------------------------------------------------- dates

_MIN_YEAR, _MAX_YEAR = 1900, 2100

_DATE_PATTERNS = (
    re.compile(r"(\d{4})([-/.])(\d{1,2})\2(\d{1,2})"),       # 2023-1-5, 2023/1/5, 2023.1.5
    re.compile(r"(\d{4})()(\d{2})(\d{2})"),                  # 20230105
    re.compile(r"(\d{4})\s*(年)\s*(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]?"),  # 2023年1月5日
    re.compile(r"(\d{4})(-)(\d{2})-(\d{2})[T ]\d{1,2}:\d{2}.*"),  # ISO datetime: date part
)
_MONTH_PATTERNS = (
    re.compile(r"(\d{4})[-/.](\d{1,2})"),
    re.compile(r"(\d{4})(\d{2})"),
    re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月?"),
)
_YEAR = re.compile(r"\d{4}\s*年?")

# Excel's day numbers (a date cell that lost its format, pasted as a number): day 1 is
# 1900-01-01 and, Excel counting a 29 February 1900 that never was, day n ≥ 61 is
# 1899-12-30 + n. Only five digits are read as one (10000–73415: 1927-05-18 to
# 2100-12-31): four digits are a year (1983), six a month (198312), eight a date (19831201).
_EXCEL_EPOCH = _dt.date(1899, 12, 30)
EXCEL_SERIALS = range(10_000, 73_416)
_SERIAL = re.compile(r"\d{5}")


def excel_serial_date(number: int) -> str:
    """``YYYY-MM-DD`` of Excel day number ``number`` (one of :data:`EXCEL_SERIALS`)."""
    if number not in EXCEL_SERIALS:
        raise ValueError(f"not an Excel day number of 1927–2100: {number}")
    return (_EXCEL_EPOCH + _dt.timedelta(days=number)).isoformat()


def _month_of(raw: str) -> str | None:
    """``YYYY-MM`` when ``raw`` is a year and a month alone, None when it is not one.
    Raises for a month out of range."""
    for pattern in _MONTH_PATTERNS:
        match = pattern.fullmatch(raw)
        if match:
            year, month = int(match.group(1)), int(match.group(2))
            if 1 <= month <= 12 and _MIN_YEAR <= year <= _MAX_YEAR:
                return f"{year:04d}-{month:02d}"
            raise ValueError(raw)
    return None


def parse_date(text: object, *, field_label: str = "日期", month_ok: bool = False) -> str:
    """Return ``YYYY-MM-DD`` from the usual ways dates are written.

    Accepts ``2023-01-05``, ``2023-1-5``, ``2023/1/5``, ``2023.1.5``,
    ``20230105``, ``2023年1月5日``, an ISO datetime string (its date part),
    an Excel day number of five digits (``44931``: see :data:`EXCEL_SERIALS`),
    full-width digits, and :class:`datetime.date` / :class:`datetime.datetime`.
    Years outside 1900–2100 are refused as typos. With ``month_ok`` (a date
    known to the month, such as an enlistment), a year and month alone
    (``1983.12``, ``1983-12``, ``1983年12月``, ``198312``) gives ``YYYY-MM``;
    without it, such a month is refused as not precise enough, and so is a year alone.
    """
    if isinstance(text, _dt.datetime):
        text = text.date()
    if isinstance(text, _dt.date):
        return text.isoformat()
    if isinstance(text, float) and text.is_integer():
        text = int(text)
    raw = "" if text is None or isinstance(text, bool) else str(text).strip()
    typed = to_half_width(raw).strip()
    for pattern in _DATE_PATTERNS:
        match = pattern.fullmatch(typed)
        if match:
            year, _, month, day = match.groups()
            try:
                value = _dt.date(int(year), int(month), int(day))
            except ValueError:
                break
            if _MIN_YEAR <= value.year <= _MAX_YEAR:
                return value.isoformat()
            break
    else:
        if _SERIAL.fullmatch(typed) and int(typed) in EXCEL_SERIALS:
            return excel_serial_date(int(typed))
        try:
            month = _month_of(typed)
        except ValueError:
            month = None
        else:
            if month is not None:
                if month_ok:
                    return month
                raise ValidationError(f"{field_label} {raw} 只有年月，应写到日", hint="格式如 2023-01-05")
        if _YEAR.fullmatch(typed):
            more = "写到月或日" if month_ok else "写到日"
            raise ValidationError(f"{field_label} {raw} 只有年份，应{more}",
                                  hint="格式如 1983-12 或 1983-12-01" if month_ok else "格式如 2023-01-05")
    hint = "格式如 2023-01-05 或 1983-12" if month_ok else "格式如 2023-01-05"
    raise ValidationError(f"{field_label} {raw or '（空）'} 不是有效日期", hint=hint)


def parse_month(text: object, *, field_label: str = "月份") -> str:
    """Return ``YYYY-MM`` from ``2023-01``, ``2023-1``, ``2023/1``, ``202301`` or ``2023年1月``."""
    if isinstance(text, _dt.date):
        return f"{text.year:04d}-{text.month:02d}"
    raw = "" if text is None else str(text).strip()
    try:
        month = _month_of(to_half_width(raw).strip())
    except ValueError:
        month = None
    if month is None:
        raise ValidationError(f"{field_label} {raw or '（空）'} 不是有效月份", hint="格式如 2023-01")
    return month


# --------------------------------------------------------------------------- ids

# Record ids are the engine's (the hub files conflicts with them too); kept here
# by name because every record the station makes takes its id from ``new_id``.
new_id = _ids.new_id
