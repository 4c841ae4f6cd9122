"""Reading the hub's audit trail: the history of a record.

Every accepted row change is one ``_history`` entry (DESIGN §4: cheap to
write, one entry per change holding the fields it changed with their
values and versions: ``sync.store.hub.history_of``). :func:`history` unfolds those entries into
one item per field version, oldest first, for ``county-hub history``.
The registry's own log (pushes, enrollments, revocations, resolutions) is
:meth:`county_hub.registry.Registry.audit_log`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sync.store.hub import history_of
from sync.store.queries import AnyStore

__all__ = ["history"]


def _iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    return dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc).isoformat(timespec="seconds")


def history(store: AnyStore, row_id: str) -> list[dict[str, Any]]:
    """Every accepted field version of the record ``row_id`` (any table), in
    the order the hub accepted them: ``{seq, table, row_id, field, value,
    version, station, at_ms, at}`` (``at``: ISO 8601, UTC). Empty for a row
    the hub has never accepted a change of."""
    return [
        {"seq": e.seq, "table": e.table, "row_id": e.row_id, "field": name, "value": value,
         "version": version, "station": e.station, "at_ms": e.at_ms, "at": _iso(e.at_ms)}
        for e in history_of(store, row_id)
        for name, (value, version) in e.fields.items()
    ]
