"""Who is doing the work: the person recorded as 经办人 on what a station writes.

The page sets the person logged in for each request, the CLI ``--operator`` or
the OS user (:func:`default_operator`). A context variable, so that the page's
threads each carry their own."""

from __future__ import annotations

import getpass
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Iterator

__all__ = ["current", "acting", "set_current", "default_operator"]

_current: ContextVar[str | None] = ContextVar("vetsync_operator", default=None)


def current() -> str | None:
    """The person acting now, or None."""
    return _current.get()


def set_current(name: str | None) -> None:
    """Record ``name`` for what this thread does from now on (a page's request)."""
    _current.set(name.strip() if name and name.strip() else None)


@contextmanager
def acting(name: str | None) -> Iterator[None]:
    """Record ``name`` as the person doing what runs inside."""
    token = _current.set(name.strip() if name and name.strip() else None)
    try:
        yield
    finally:
        _current.reset(token)


def default_operator() -> str | None:
    """The OS user, when the CLI is not told ``--operator``."""
    try:
        return getpass.getuser() or None
    except (OSError, KeyError):
        return None
