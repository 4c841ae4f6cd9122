"""vetsync's sync engine: replicate row states between a station's store and
the county hub's, field by field, with conflicts detected at the hub.

Three sub-packages (README "Layout"):

- ``sync.engine``: the pure engine (hybrid logical clock, clocks, row state,
  merge and conflict detection, scope, the sync session ``sync_once``);
- ``sync.store``: the SQLite stores (the row gateway, the station's store, the
  hub's store, frozen migrations, typed queries);
- ``sync.wire``: the codec and the generated protobuf modules.

It knows nothing of veterans, servers, certificates or the command line; the
names below are the ones a caller usually needs. They load on first use, so
that importing one engine module does not open the stores.
"""

from __future__ import annotations

import importlib

__all__ = ["RowState", "Eviction", "TABLES", "SCHEMA_VERSION", "VetsyncError", "sync_once", "Store", "HubStore"]

_WHERE = {
    "RowState": "sync.engine.rowstate",
    "Eviction": "sync.engine.rowstate",
    "TABLES": "sync.engine.schema",
    "SCHEMA_VERSION": "sync.engine.schema",
    "VetsyncError": "sync.engine.errors",
    "sync_once": "sync.engine.replicate",
    "Store": "sync.store.station",
    "HubStore": "sync.store.hub",
}


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'sync' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
