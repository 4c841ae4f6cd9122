"""What clerks really type, folded to one form before a value is parsed.

Pure code (stdlib only), used by :mod:`veterans.values`, :mod:`veterans.phones`
and :mod:`veterans.fields`:

- :func:`to_half_width`: the full-width forms of ASCII (``１９８３．１２``,
  ``（０６６８）``, ``ＡＢＣ``, ``－``) and the ideographic space, as ASCII; for
  codes, numbers, dates and phones, where only ASCII means anything;
- :func:`fold_alnum`: only the full-width digits and Latin letters, for free
  text, which keeps its full-width punctuation (``，：（）`` are correct Chinese);
- :func:`canonical_name`: a person's name in one form — the separator of the
  parts of a name (Uyghur, Tibetan, foreign names: 阿不都·热合曼) is U+00B7
  ``·``, whatever dot was typed for it; blanks between Chinese characters
  (``张  三``, padded to line up in a Word table) are dropped.
"""

from __future__ import annotations

import re

__all__ = ["to_half_width", "fold_alnum", "fold_dashes", "canonical_name", "MIDDLE_DOT", "NAME_DOTS"]

#: Full-width forms of printable ASCII (U+FF01–U+FF5E) and the ideographic space → ASCII.
_HALF_WIDTH = {0xFF01 + i: 0x21 + i for i in range(94)} | {0x3000: 0x20}
#: The full-width digits and Latin letters alone.
_HALF_WIDTH_ALNUM = {c: h for c, h in _HALF_WIDTH.items() if chr(h).isascii() and chr(h).isalnum()}
#: Dashes typed (or put by Word) for a hyphen: ‐ ‑ ‒ – — ― − ﹣ －.
_DASHES = {ord(c): "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63\uff0d"}

#: The canonical separator of the parts of a name: U+00B7 MIDDLE DOT (GB 18030, and
#: what 公安 household registration prints: 阿不都·热合曼).
MIDDLE_DOT = "\u00b7"
#: What is typed for it, folded to it anywhere in a name: • (U+2022 bullet), ‧ (U+2027
#: hyphenation point), ・ (U+30FB katakana middle dot, what Japanese IMEs give), ･ (U+FF65),
#: ∙ (U+2219), ⋅ (U+22C5), · (U+0387) and the canonical one itself.
NAME_DOTS = "\u2022\u2027\u30fb\uff65\u2219\u22c5\u0387\u00b7"
_DOTS = {ord(c): MIDDLE_DOT for c in NAME_DOTS}
# CJK ideographs (URO, extension A, compatibility, extensions B–F).
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f"
# A full stop between two Chinese characters is a dot typed on an English keyboard (阿不都.热合曼):
# also the name separator. Elsewhere (J. Smith) it is left as it is.
_STOP_BETWEEN_CJK = re.compile(rf"(?<=[{_CJK}])\s*[.\uff0e]\s*(?=[{_CJK}])")
_AROUND_DOT = re.compile(rf"\s*{MIDDLE_DOT}+\s*")
_BLANK_BETWEEN_CJK = re.compile(rf"(?<=[{_CJK}])\s+(?=[{_CJK}])")
_BLANKS = re.compile(r"\s+")


def to_half_width(text: str) -> str:
    """``text`` with the full-width forms of ASCII and the ideographic space as ASCII."""
    return text.translate(_HALF_WIDTH)


def fold_alnum(text: str) -> str:
    """``text`` with its full-width digits and Latin letters as ASCII (punctuation kept)."""
    return text.translate(_HALF_WIDTH_ALNUM)


def fold_dashes(text: str) -> str:
    """``text`` with every dash a clerk types for a hyphen as ``-``."""
    return text.translate(_DASHES)


def canonical_name(text: str) -> str:
    """A person's name in its one stored form.

    >>> canonical_name(" 阿不都 • 热合曼 ")
    '阿不都·热合曼'
    >>> canonical_name("张  三")
    '张三'
    """
    name = fold_alnum(text).translate(_DOTS)
    name = _STOP_BETWEEN_CJK.sub(MIDDLE_DOT, name)
    name = _AROUND_DOT.sub(MIDDLE_DOT, name)
    name = _BLANK_BETWEEN_CJK.sub("", name)
    return _BLANKS.sub(" ", name).strip()
