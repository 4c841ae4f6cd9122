"""What the station's command modules share: the ``--home`` option, the
store opened for one command, and the petition output (JSON and tables).

The command modules (``cli_records``, ``cli_roster``, ``cli_conflicts``,
``cli_sync``) import from here, and :mod:`station_node.cli` imports them:
imports go one way.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Iterator

from station_node import home as home_mod
from vetsync_cli import (
    ChineseCommand,
    ChineseGroup,
    CliError,
    console,
    emit_json,
    json_option,
    make_home_option,
    print_record,
    print_rows,
    print_table,
)

from vetsync_cli.petition_view import (  # noqa: F401  (the station's command modules import them from here)
    deadline_json,
    deadline_text,
    event_detail,
    petition_json,
    print_deadlines,
    print_timeline,
    timeline_rows,
)

if TYPE_CHECKING:  # annotations only: a command imports what it uses (start-up time)
    from sync.store.station import Store

__all__ = [
    "StationCommand",
    "StationGroup",
    "StationError",
    "home_option",
    "json_option",
    "open_station",
    "emit_json",
    "console",
    "print_rows",
    "print_record",
    "print_deadlines",
    "print_timeline",
    "timeline_rows",
    "petition_json",
]

# The generic chrome lives in :mod:`vetsync_cli`; these names stay for the
# station's command modules.
StationError = CliError
StationCommand = ChineseCommand
StationGroup = ChineseGroup


# --------------------------------------------------------------------------- shared options and output


home_option = make_home_option("站点目录", home_mod.ENV_VAR)


@contextmanager
def open_station(home: str | None) -> Iterator[Store]:
    """The station's store for one command, closed afterwards."""
    store = home_mod.open_store(home_mod.resolve_home(home))
    try:
        yield store
    finally:
        store.close()


