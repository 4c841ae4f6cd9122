"""Chinese names in pinyin order, and their pinyin for search (domain: how a
Chinese clerk expects a roster to be sorted and found).

:func:`name_key` turns a name into a :class:`NameKey`:

- ``sort_key``: the name's syllables with their tones, one per character
  (``张三`` → ``zhang1 san1``), then the name itself as the tie-break of
  homophones (张 and 章), separated by ``\\x1f`` so that a shorter name sorts
  before a longer one of the same start (张三 before 张三丰). Compared as
  plain bytes (SQLite's BINARY collation): letters alphabetically, tones
  1–4 then 5 (neutral) within a syllable, ``ü`` written ``v`` after ``u``
  (吕 after 路), characters without a reading after every syllable;
- ``initials``: the first letters (``zs``) and ``spelled``: the syllables
  without tones (``zhangsan``), for a pinyin search (``--search zs``).

A surname with a reading of its own (单 Shàn, 曾 Zēng, 解 Xiè, 仇 Qiú …,
:data:`SURNAME_READINGS`) is read as a surname in the first place of a name;
compound surnames (欧阳, 尉迟, 万俟, 长孙 …) come right from pypinyin's phrases.
Separators in names (``·`` and its look-alikes) are not sorted on.

pypinyin is imported on first use only (about 0.1 s): a command that lists
stored keys never loads it; the store keeps the keys (``sync.store.namekeys``).
"""

from __future__ import annotations

import unicodedata
from typing import NamedTuple

__all__ = ["NameKey", "name_key", "SURNAME_READINGS", "is_pinyin_query", "pinyin_query"]

#: Surnames whose reading differs from the character's everyday one (with tone digits).
SURNAME_READINGS: dict[str, str] = {
    "单": "shan4", "仇": "qiu2", "解": "xie4", "查": "zha1", "区": "ou1", "朴": "piao2",
    "繁": "po2", "盖": "ge3", "乐": "yue4", "员": "yun4", "种": "chong2", "覃": "qin2",
    "翟": "zhai2", "召": "shao4", "缪": "miao4", "秘": "bi4", "宓": "fu2", "纪": "ji3",
    "那": "na1", "任": "ren2", "华": "hua4", "薄": "bo2", "句": "gou1", "阚": "kan4",
    "隗": "wei3", "过": "guo1", "祭": "zhai4", "能": "nai4", "曾": "zeng1",
    "燕": "yan1", "洗": "xian3", "郇": "huan2", "柏": "bai3", "黑": "he4", "折": "she2",
}
#: Compound surnames pypinyin's phrases do not read as surnames.
_COMPOUND_READINGS: dict[str, tuple[str, str]] = {"澹台": ("tan2", "tai2"), "单于": ("chan2", "yu2")}

# Separators inside a name (Uyghur, Tibetan, foreign names): not sorted on.
_SEPARATORS = frozenset("·•・‧∙⋅･.．- 　")

_SEP = "\x1f"


class NameKey(NamedTuple):
    sort_key: str
    initials: str
    spelled: str


def _readings(text: str) -> list[str]:
    from pypinyin import Style, lazy_pinyin  # on first use only: ~0.1 s to import

    return lazy_pinyin(text, style=Style.TONE3, neutral_tone_with_five=True, errors=lambda s: list(s))


def _is_han(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff" or "\U00020000" <= ch <= "\U0003134f" or "\uf900" <= ch <= "\ufaff"


def name_key(name: str | None) -> NameKey:
    """The pinyin sort key, initials and spelling of a name (see the module docstring)."""
    text = unicodedata.normalize("NFKC", name or "").strip()
    chars = [c for c in text if c not in _SEPARATORS]
    if not chars:
        return NameKey(_SEP + text, "", "")
    readings = _readings("".join(chars))
    if len(readings) != len(chars):  # pypinyin returns one reading per character; be safe if not
        readings = [_readings(c)[0] for c in chars]
    head = "".join(chars[:2])
    if head in _COMPOUND_READINGS:
        readings[:2] = _COMPOUND_READINGS[head]
    elif chars[0] in SURNAME_READINGS:
        readings[0] = SURNAME_READINGS[chars[0]]
    syllables, initials, spelled = [], [], []
    word = ""  # a run of other characters (Latin letters, digits) is one word
    for ch, reading in zip(chars, readings):
        if _is_han(ch) and reading != ch:
            if word:
                syllables.append(word)
                word = ""
            syllables.append(reading)
            bare = reading.rstrip("012345")
            initials.append(bare[:1])
            spelled.append(bare)
        else:
            low = ch.lower()
            word += low
            if low.isascii() and low.isalnum():
                initials.append(low)
                spelled.append(low)
    if word:
        syllables.append(word)
    return NameKey(" ".join(syllables) + _SEP + text, "".join(initials), "".join(spelled))


def is_pinyin_query(text: str | None) -> bool:
    """Is a search text pinyin (only Latin letters, e.g. ``zs``, ``zhangsan``, ``Zhang San``)?"""
    q = pinyin_query(text)
    return bool(q) and q.isascii() and q.isalpha()


def pinyin_query(text: str | None) -> str:
    """A search text as it is compared with ``initials`` and ``spelled``: lower case, no spaces."""
    return "".join(unicodedata.normalize("NFKC", text or "").split()).lower()
