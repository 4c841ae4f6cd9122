"""Enrollment tokens: make, parse, hash and check them (pure; no storage).

A token is one copy-pasteable line::

    VST1-<station>-<secret>-<ca_fp>

* ``station`` — the station code the token is for (letters, digits, ``_``;
  in practice a 6/9/12-digit division code);
* ``secret`` — 24 random bytes, base32, upper case, no padding (39 chars);
* ``ca_fp`` — lowercase hex SHA-256 of the county CA certificate's DER
  (64 chars), which the station pins when it first talks to the hub.

The hub stores only ``hash_secret(secret)`` (SHA-256 of the secret's ASCII
text, hex) and compares with :func:`secret_matches`.  Storing, expiry and
one-time use live in the hub registry.  ``station_node.identity`` keeps its
own copy of the parser (the station must not import ``county_hub``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from typing import NamedTuple

__all__ = [
    "PREFIX",
    "Token",
    "TokenFormatError",
    "hash_secret",
    "make_token",
    "parse_token",
    "secret_matches",
]

PREFIX = "VST1"
SECRET_BYTES = 24
_SECRET_LEN = 39  # len(base32(24 bytes)) without "=" padding
_STATION_RE = re.compile(r"[A-Za-z0-9_]{1,32}")
_SECRET_RE = re.compile(r"[A-Z2-7]{%d}" % _SECRET_LEN)
_FP_RE = re.compile(r"[0-9a-f]{64}")
_USAGE = "令牌格式不对：应为 VST1-站点代码-密钥-指纹"


class TokenFormatError(ValueError):
    """The token text is malformed; the message is one line of Chinese."""


class Token(NamedTuple):
    """A parsed enrollment token."""

    station: str
    secret: str
    ca_fingerprint: str


def hash_secret(secret: str) -> str:
    """Hex SHA-256 of the secret's ASCII text (what the hub stores)."""
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def secret_matches(secret: str, stored_hash: str) -> bool:
    """Constant-time check of ``secret`` against a stored hash."""
    try:
        candidate = hash_secret(secret)
    except UnicodeEncodeError:
        return False
    return hmac.compare_digest(candidate, stored_hash.lower())


def make_token(station_code: str, ca_fp: str) -> tuple[str, str]:
    """Return ``(token_text, secret_hash_hex)`` for a new token."""
    if not _STATION_RE.fullmatch(station_code):
        raise ValueError(f"bad station code: {station_code!r}")
    ca_fp = ca_fp.lower()
    if not _FP_RE.fullmatch(ca_fp):
        raise ValueError("CA fingerprint must be 64 hex characters")
    raw = secrets.token_bytes(SECRET_BYTES)
    secret = base64.b32encode(raw).decode("ascii").rstrip("=")
    return f"{PREFIX}-{station_code}-{secret}-{ca_fp}", hash_secret(secret)


def parse_token(text: str) -> Token:
    """Parse token text; raise :class:`TokenFormatError` on any malformation.

    All whitespace is removed first (tokens get wrapped in chat messages);
    the secret is upper-cased and the fingerprint lower-cased.
    """
    if not isinstance(text, str):
        raise TokenFormatError(_USAGE)
    parts = "".join(text.split()).split("-")
    if len(parts) != 4 or parts[0].upper() != PREFIX:
        raise TokenFormatError(_USAGE)
    _, station, secret, fp = parts
    secret, fp = secret.upper(), fp.lower()
    if not _STATION_RE.fullmatch(station):
        raise TokenFormatError(_USAGE + "（站点代码不对）")
    if not _SECRET_RE.fullmatch(secret):
        raise TokenFormatError(_USAGE + "（密钥不对）")
    try:
        raw = base64.b32decode(secret + "=")
    except ValueError as exc:
        raise TokenFormatError(_USAGE + "（密钥不对）") from exc
    if base64.b32encode(raw).decode("ascii").rstrip("=") != secret:  # non-canonical
        raise TokenFormatError(_USAGE + "（密钥不对）")
    if not _FP_RE.fullmatch(fp):
        raise TokenFormatError(_USAGE + "（指纹应为 64 位十六进制）")
    return Token(station=station, secret=secret, ca_fingerprint=fp)
