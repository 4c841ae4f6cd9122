"""No SQL outside the store modules (DESIGN §2): the record, roster, conflict,
report and CLI layers name what they read through typed queries
(``sync.store.queries``) and write through the store's methods."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("sync", "veterans", "county_hub", "station_node", "vetsync_cli", "vetsync_web")
# The modules that hold SQL: the stores, their frozen migrations, the typed queries,
# and the hub registry's tables.
STORE_MODULES = {"sync/store/rows.py", "sync/store/station.py", "sync/store/hub.py", "sync/store/migrations.py", "sync/store/queries.py",
                 "sync/store/registry.py", "sync/store/backup.py",
                 "sync/store/salvage.py", "sync/store/digest.py",
                 "sync/store/namekeys.py", "sync/store/duecache.py", "sync/store/roster_reads.py",
                 "sync/store/retention.py", "sync/store/accounts.py",
                 "sync/store/contacts.py", "sync/store/dashboard_reads.py", "sync/store/report_archive.py",
                 "sync/store/areas.py"}
SQL = re.compile(r"\b(SELECT\s+[\w*(]|INSERT\s+(OR\s+\w+\s+)?INTO|UPDATE\s+\"?\w+\"?\s+SET|DELETE\s+FROM|CREATE\s+(TABLE|INDEX)"
                 r"|PRAGMA\s+\w+)|\.(execute|executemany|executescript)\(|\.select\(")


def _sources():
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if "/gen/" not in rel:
                yield rel, path.read_text(encoding="utf-8")


def test_the_store_modules_exist():
    assert all((ROOT / m).is_file() for m in STORE_MODULES)


def test_no_module_outside_the_store_holds_sql():
    offenders = {}
    for rel, text in _sources():
        if rel in STORE_MODULES:
            continue
        hits = [f"{n}: {line.strip()[:80]}" for n, line in enumerate(text.splitlines(), 1) if SQL.search(line)]
        if hits:
            offenders[rel] = hits
    assert not offenders, offenders
