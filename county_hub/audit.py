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

from sync.engine.schema import WRITER
from sync.store.hub import HistoryEntry, history_of
from sync.store.queries import AnyStore

__all__ = ["history", "writer_of"]


def _iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    return dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc).isoformat(timespec="seconds")


def history(store: AnyStore, row_id: str) -> list[dict[str, Any]]:
    """Every accepted field version of the record ``row_id`` (any table), in
    the order the hub accepted them: ``{seq, table, row_id, field, value,
    version, station, recorded_by, at_ms, at}`` (``at``: ISO 8601, UTC;
    ``recorded_by``: the person who wrote that version at the station, as the
    station recorded it — None when it recorded nobody, for a station older than
    migration 7 or a hub write without an account). Empty for a row the hub has
    never accepted a change of."""
    return [
        {"seq": e.seq, "table": e.table, "row_id": e.row_id, "field": name, "value": value,
         "version": version, "station": e.station, "recorded_by": writer_of(e, version),
         "at_ms": e.at_ms, "at": _iso(e.at_ms)}
        for e in history_of(store, row_id)
        for name, (value, version) in e.fields.items()
    ]


def writer_of(entry: HistoryEntry, version: str) -> str | None:
    """Who wrote ``version`` of a field in this history entry: the entry's
    ``recorded_by`` when it was written with that very version (a station stamps the
    writer with each write's version; an older station's entry, or one whose writer
    lost to a newer one, names nobody)."""
    value, writer_version = entry.fields.get(WRITER, (None, None))
    return value if writer_version == version and isinstance(value, str) else None
