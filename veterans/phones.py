"""Phone numbers as clerks write them (``veterans.values.validate_phone``).

Pure code (stdlib only). One cell may hold one or two numbers; the stored form
is the numbers joined by ``、`` (``13800138000、0668-7654321``), each in its own
canonical form:

- a mobile: its 11 digits (``+86``, blanks and hyphens dropped), on a mobile
  network number that is allocated (:data:`MOBILE_NETWORKS`);
- a landline: the area code and the local number, with the hyphen if one was
  typed (``0759-1234567``, ``07591234567``) — ``(0668)7654321`` is stored
  ``0668-7654321`` —, then an extension after a hyphen (``0668-7654321-801``,
  typed also ``…转801`` or ``…-801``); a local number without area code (7–8 digits
  from 2–9) as it is.

Two numbers are separated by ``、 , ; / |``, a line break, ``或``, or blanks where
the whole is not one number (``13800138000 13900139000``).
"""

from __future__ import annotations

import re

from sync.engine.errors import ValidationError
from veterans.typed import fold_dashes, to_half_width

__all__ = ["validate_phone", "legacy_phone", "is_mobile_network", "MOBILE_NETWORKS", "PHONE_SEPARATOR"]

PHONE_SEPARATOR = "、"

# The mobile network numbers (公众移动通信网网号, the first three digits) allocated for
# 11-digit numbers, from 工业和信息化部《我国公众移动通信网网号及H0分配情况（截至2023年3月底）》
# (published 2023-06-05 under 《电信网编号计划（2017年版）》, 工信部信管〔2017〕68号):
#   13X: 130–139 (1349 satellite)            14X: 145, 146, 147, 148, 149
#   15X: 150–153, 155–159                    16X: 162, 165, 166, 167; 1619 satellite
#   17X: 170–173, 175–178; 1740, 1741, 1749 satellite
#   18X: 180–189                             19X: 190–193, 195–199
# 140–144 are 13-digit IoT numbers; 154, 160, 161 (but 1619), 163, 164, 168, 169, 174 (but
# 1740/1741/1749), 179 (IP telephony) and 194 are not allocated to mobile networks. The table is
# the station's input rule; the hub admits every 1[3-9]… number (a number on a network allocated
# after this table, typed at a station that knows it, is not refused by an older hub).
MOBILE_NETWORKS: frozenset[str] = frozenset(
    [f"13{d}" for d in range(10)]
    + ["145", "146", "147", "148", "149"]
    + [f"15{d}" for d in range(10) if d != 4]
    + ["162", "165", "166", "167"]
    + [f"17{d}" for d in range(9) if d != 4]
    + [f"18{d}" for d in range(10)]
    + [f"19{d}" for d in range(10) if d != 4]
)
_MOBILE_BLOCKS = frozenset({"1619", "1740", "1741", "1749"})  # allocated by four digits

_MOBILE = re.compile(r"1\d{10}")
# (area code) or area code with or without a hyphen, the local number, an extension.
_LANDLINE = re.compile(
    r"(?:\((?P<paren>0\d{2,3})\)-?|(?P<area>0\d{2,3})(?P<hyphen>-?))?(?P<local>\d{7,8})"
    r"(?:(?:-|转|ext\.?|x)(?P<ext>\d{1,6}))?",
    re.IGNORECASE,
)
_SEPARATORS = re.compile(r"[、,;/|\n\r]+|或")
_HINT = "手机号11位，固话如 0759-1234567，两个号码用“、”隔开"
_NOT_MOBILE_HINT = "请核对号码；固话请带区号，如 0759-1234567"


def is_mobile_network(digits: str) -> bool:
    """Is the 11-digit ``digits`` on an allocated mobile network number (see :data:`MOBILE_NETWORKS`)?"""
    return digits[:3] in MOBILE_NETWORKS or digits[:4] in _MOBILE_BLOCKS


def _one(text: str, shown: str) -> str:
    """The canonical form of one number, or raise naming ``shown`` (what the clerk typed)."""
    value = "".join(text.split())
    if value.startswith("+86"):
        value = value[3:].lstrip("-")
    digits = value.replace("-", "")
    if _MOBILE.fullmatch(digits) and value.count("-") <= 2:
        if not is_mobile_network(digits):
            raise ValidationError(f"电话 {shown} 不是手机号：{digits[:3]} 号段未分配给手机", hint=_NOT_MOBILE_HINT)
        return digits
    match = _LANDLINE.fullmatch(value)
    if match:
        area, local, ext = match["paren"] or match["area"], match["local"], match["ext"]
        if area is None and local[0] in "01":
            match = None  # a local number without area code starts with 2–9
    if not match:
        raise ValidationError(f"电话 {shown} 无效", hint=_HINT)
    if match["paren"]:
        number = f"{area}-{local}"
    elif area:
        number = f"{area}{match['hyphen']}{local}"
    else:
        number = local
    return f"{number}-{ext}" if ext else number


def _parses(text: str) -> bool:
    try:
        _one(text, text)
    except ValidationError:
        return False
    return True


def _split_blanks(text: str) -> list[str]:
    """One number written with blanks (138 0013 8000), or two separated by blanks."""
    tokens = text.split()
    if len(tokens) <= 1 or _parses("".join(tokens)):
        return [text]
    for i in range(1, len(tokens)):
        first, second = "".join(tokens[:i]), "".join(tokens[i:])
        if _parses(first) and _parses(second):
            return [first, second]
    return [text]


def validate_phone(text: object) -> str:
    """The stored form of one or two phone numbers (see the module docstring), or raise.

    >>> validate_phone("（０６６８）７６５４３２１ / 138 0013 8000")
    '0668-7654321、13800138000'
    """
    raw = "" if text is None else str(text).strip()
    folded = fold_dashes(to_half_width(raw))
    parts = [p.strip() for p in _SEPARATORS.split(folded) if p.strip()]
    if len(parts) == 1:
        parts = _split_blanks(parts[0])
    if not parts:
        raise ValidationError("电话 （空） 无效", hint=_HINT)
    if len(parts) > 2:
        raise ValidationError(f"电话 {raw} 号码过多：最多填两个号码", hint=_HINT)
    if len(parts) == 1:
        return _one(parts[0], raw)
    numbers = [_one(part, f"{raw} 中的号码 {part}") for part in parts]
    if numbers[0] == numbers[1]:
        return numbers[0]
    return PHONE_SEPARATOR.join(numbers)


# The previous release's rule (before prefixes, extensions and two numbers), kept for the
# hub: a phone it stored is still admitted (veterans.fields.admissible), so old rows and
# stations not yet upgraded keep syncing.
_OLD_MOBILE = re.compile(r"1\d{10}")
_OLD_LANDLINE = re.compile(r"0\d{2,3}-?\d{7,8}|[2-9]\d{6,7}")


def legacy_phone(text: object) -> str | None:
    """What the previous release stored for ``text``, or None where it refused it."""
    raw = "" if text is None else str(text).strip()
    value = "".join(raw.split())
    if value.startswith("+86"):
        value = value[3:]
    mobile = value.replace("-", "")
    if _OLD_MOBILE.fullmatch(mobile) and value.count("-") <= 2:
        return mobile
    if _OLD_LANDLINE.fullmatch(value) and 7 <= len(value.replace("-", "")) <= 12:
        return value
    return None
