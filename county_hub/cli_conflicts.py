"""``county-hub conflicts``: every conflict the hub recorded — list (with
filters), show, resolve.

Thin: each command opens the hub home and calls one function of
:mod:`veterans.resolve`. A resolution at the hub is the hub's own write
(``HubStore.write_as_hub``): nothing to push, the stations receive it on
their next pull; it is recorded in the audit log. The hub's scope is the
county; ``resolved_by`` is ``county``.

``--json`` output: an array of conflicts for the list, an object for
``show`` and ``resolve`` (the fields of the ``conflicts`` table plus
``record_name``, ``winner_at`` and ``loser_at``; ``resolve`` adds ``writes``).

Plugged into ``county-hub`` by :func:`register` (called from ``county_hub.cli``).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterator

import click

# Not from county_hub.cli: that module imports this one while it loads.
from county_hub import home as home_mod
from sync.engine.errors import StoreError
from sync.store.hub import HubStore
from vetsync_cli import make_home_option
from vetsync_cli.conflicts_view import conflicts_group

__all__ = ["register", "conflicts", "RESOLVED_BY"]

RESOLVED_BY = "county"


@contextmanager
def _open(home: str | None) -> Iterator[tuple[HubStore, str, str, Callable[..., None]]]:
    """The hub's store, the county code (its scope), who resolves, and the
    registry's audit log (a resolution is recorded there)."""
    store, registry = home_mod.open_hub(home_mod.resolve_home(home))
    try:
        county = store.meta("county")
        if not county:
            raise StoreError("县中心数据库缺少县级区划代码", hint="请先运行 county-hub init --county CODE")
        yield store, county, RESOLVED_BY, registry.audit
    finally:
        store.close()


conflicts = conflicts_group(
    program="county-hub",
    help="全县的数据冲突：列出（默认只列待处理的）、查看、处理。",
    open_store=_open,
    home_option=make_home_option("县中心目录", home_mod.ENV_VAR),
    after_resolve="各站下次同步时将收到处理结果。",
    filters=True,
)


def register(group: click.Group) -> None:
    """Add the ``conflicts`` group to the top ``county-hub`` group."""
    group.add_command(conflicts)
