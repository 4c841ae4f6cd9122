"""Who is doing the work: the person recorded as 经办人 on what a station writes.

The page sets the person logged in for each request, the CLI ``--operator`` (or
``VETSYNC_OPERATOR``) or the OS user (:func:`default_operator`). A context
variable, so that the page's threads each carry their own.

:func:`station_node.home.open_store` hands :func:`current` to the store
(``Store.operator``): every write that changes a row records the person acting
then as the row's ``recorded_by`` (``sync.engine.schema.WRITER``). A name is
kept as it is recorded (``sync.engine.schema.writer_name``: no control
characters, at most 64 characters), so that the hub's check of it always passes."""

from __future__ import annotations

import getpass
import os
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Iterator

from sync.engine.schema import writer_name

__all__ = ["current", "acting", "set_current", "default_operator", "ENV_VAR"]

#: The environment variable the CLI reads when ``--operator`` is not given.
ENV_VAR = "VETSYNC_OPERATOR"

_current: ContextVar[str | None] = ContextVar("vetsync_operator", default=None)


def current() -> str | None:
    """The person acting now, or None."""
    return _current.get()


def set_current(name: str | None) -> None:
    """Record ``name`` for what this thread does from now on (a page's request)."""
    _current.set(writer_name(name))


@contextmanager
def acting(name: str | None) -> Iterator[None]:
    """Record ``name`` as the person doing what runs inside."""
    token = _current.set(writer_name(name))
    try:
        yield
    finally:
        _current.reset(token)


def default_operator() -> str | None:
    """Who the CLI records when not told ``--operator``: ``VETSYNC_OPERATOR``, else the OS user."""
    named = writer_name(os.environ.get(ENV_VAR))
    if named:
        return named
    try:
        return writer_name(getpass.getuser())
    except (OSError, KeyError):
        return None
