"""Accounts of a web page: passwords hashed with Argon2id (argon2-cffi, a
memory-hard KDF: 64 MiB and 3 passes by its defaults, RFC 9106's second
recommendation); five wrong passwords in a row lock the account for
:data:`LOCK_MINUTES` (a wrong password says how many tries are left); an unknown
name costs the same time as a wrong password.

The rows live in :class:`sync.store.accounts.AccountStore` (``accounts.db`` in the
node's home). Used by ``station-node user`` and ``county-hub user`` (adding,
listing, removing) and by the pages' login.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from sync.engine.errors import ValidationError
from sync.store.accounts import AccountRow, AccountStore

__all__ = ["Accounts", "LoginRefused", "ROLES", "LOCK_AFTER", "LOCK_MINUTES", "MIN_PASSWORD", "check_password_text",
           "accounts_path"]

#: Wrong passwords in a row that lock an account, and for how long.
LOCK_AFTER = 5
LOCK_MINUTES = 15
MIN_PASSWORD = 8
MAX_PASSWORD = 200
MAX_NAME = 40

#: Roles: ``admin`` may change things (on the dashboard: tokens, revocation,
#: conflicts); ``viewer`` only reads. A station's clerk is ``clerk``.
ROLES = {"admin": "管理员", "viewer": "只读", "clerk": "经办人"}

_hasher = PasswordHasher()


def accounts_path(home: str | Path) -> Path:
    return Path(home) / "accounts.db"


class LoginRefused(Exception):
    """A login refused; ``str()`` is the Chinese line the page shows."""


def check_password_text(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise ValidationError(f"密码太短：至少 {MIN_PASSWORD} 个字符")
    if len(password) > MAX_PASSWORD:
        raise ValidationError(f"密码太长：最多 {MAX_PASSWORD} 个字符")
    return password


def _check_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError("账号名不能为空")
    if len(name) > MAX_NAME or any(ch.isspace() or ord(ch) < 32 for ch in name):
        raise ValidationError(f"账号名 {name!r} 无效：不能有空格，最多 {MAX_NAME} 个字符")
    return name


@dataclass(frozen=True)
class Account:
    name: str
    role: str
    auto_login: bool
    created_ms: int
    last_login_ms: int | None
    locked: bool

    def to_dict(self) -> dict:
        return {"name": self.name, "role": self.role, "auto_login": self.auto_login,
                "created_ms": self.created_ms, "last_login_ms": self.last_login_ms, "locked": self.locked}


def _account(row: AccountRow, now_ms: int) -> Account:
    return Account(row.name, row.role, row.auto_login, row.created_ms, row.last_login_ms, row.locked_until_ms > now_ms)


def _now_ms() -> int:
    return int(time.time() * 1000)


class Accounts:
    """The accounts of one home."""

    def __init__(self, home: str | Path, *, now_ms=_now_ms):
        self.store = AccountStore(accounts_path(home))
        self._now_ms = now_ms

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> "Accounts":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def add(self, name: str, password: str, *, role: str, auto_login: bool = False) -> Account:
        name = _check_name(name)
        if role not in ROLES:
            raise ValidationError(f"角色 {role} 无效，可选：{'、'.join(ROLES)}")
        check_password_text(password)
        if not self.store.insert(name, role, _hasher.hash(password), auto_login=auto_login, created_ms=self._now_ms()):
            raise ValidationError(f"账号 {name} 已存在", hint="换一个名字，或先删除原账号")
        return self.get(name)

    def set_password(self, name: str, password: str) -> None:
        check_password_text(password)
        if not self.store.set_hash(_check_name(name), _hasher.hash(password)):
            raise ValidationError(f"没有账号 {name}")

    def remove(self, name: str) -> None:
        if not self.store.delete(_check_name(name)):
            raise ValidationError(f"没有账号 {name}")

    def get(self, name: str) -> Account | None:
        row = self.store.get(name)
        return _account(row, self._now_ms()) if row else None

    def all(self) -> list[Account]:
        now = self._now_ms()
        return [_account(r, now) for r in self.store.all()]

    def auto_login_account(self) -> Account | None:
        """The account that logs in by itself on 127.0.0.1: only when it is the one account."""
        rows = self.store.all()
        return _account(rows[0], self._now_ms()) if len(rows) == 1 and rows[0].auto_login else None

    def login(self, name: str, password: str) -> Account:
        """The account when the password is right; else :class:`LoginRefused`.
        A locked account is refused even with the right password."""
        name = (name or "").strip()
        now = self._now_ms()
        row = self.store.get(name) if name else None
        if row is None:
            _hasher_spends_time(password)
            raise LoginRefused("账号或密码不对")
        if row.locked_until_ms > now:
            minutes = max(1, round((row.locked_until_ms - now) / 60000))
            raise LoginRefused(f"密码连续输错 {LOCK_AFTER} 次，账号已锁定，请 {minutes} 分钟后再试")
        try:
            _hasher.verify(row.hash, password or "")
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            count = self.store.note_failure(name, lock_after=LOCK_AFTER,
                                            locked_until_ms=now + LOCK_MINUTES * 60000)
            if count >= LOCK_AFTER:
                raise LoginRefused(f"密码连续输错 {LOCK_AFTER} 次，账号已锁定 {LOCK_MINUTES} 分钟") from None
            raise LoginRefused(f"账号或密码不对（再错 {LOCK_AFTER - count} 次将锁定 {LOCK_MINUTES} 分钟）") from None
        if _hasher.check_needs_rehash(row.hash):
            self.store.set_hash(name, _hasher.hash(password))
        self.store.note_login(name, now)
        return _account(self.store.get(name), now)


_DUMMY: list[str] = []


def _hasher_spends_time(password: str) -> None:
    """Spend a verification's time on an unknown name, so that timing does not tell which names exist."""
    if not _DUMMY:
        _DUMMY.append(_hasher.hash("vetsync: no such account"))
    try:
        _hasher.verify(_DUMMY[0], password or "")
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        pass
