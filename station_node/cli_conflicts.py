"""``station-node conflicts``: the conflicts the hub reported in this station's
scope — list, show, resolve.

Thin: each command opens the station store and calls one function of
:mod:`veterans.resolve`. A resolution here is an ordinary local write: it is
pushed to the county hub on the next sync (DESIGN §4) and reaches the other
stations from there. A station resolves only within its scope (a village
cannot merge its veteran with another village's: the town or the county
does that).

``--json`` output: an array of conflicts for the list, an object for
``show`` and ``resolve`` (the fields of the ``conflicts`` table plus
``record_name``, ``winner_at`` and ``loser_at``; ``resolve`` adds ``writes``).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import click

# The CLI helpers, imported in one place.
from station_node.cli_common import home_option, open_station
from sync.store.station import Store
from vetsync_cli.conflicts_view import conflicts_group

__all__ = ["register", "conflicts"]


@contextmanager
def _open(home: str | None) -> Iterator[tuple[Store, str, str, None]]:
    """The station's store, its scope, and its code (who resolves); the hub audits
    a station's resolution when it arrives, so none here."""
    with open_station(home) as store:
        code = store.meta("station") or ""
        yield store, store.meta("scope") or code, code, None


conflicts = conflicts_group(
    program="station-node",
    help="本站范围内的数据冲突：列出（默认只列待处理的）、查看、处理。",
    open_store=_open,
    home_option=home_option,
    after_resolve="处理结果将在下次同步时上传县中心。",
)


def register(group: click.Group) -> None:
    """Add the ``conflicts`` group to the top ``station-node`` group."""
    group.add_command(conflicts)
