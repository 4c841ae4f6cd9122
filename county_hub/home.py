"""The hub home: ``hub.db`` (replicated tables + registry), ``ca/`` and ``tls/``.

``--home`` / ``COUNTY_HUB_HOME`` / the user's data dir, in that order.

:func:`init_hub` leaves the home, ``ca/`` and ``tls/`` at 0700 whatever the
umask (also a home directory that existed before: it now holds the CA key);
private keys are 0600 from the start, and the store makes ``hub.db`` (and
so its -wal and -shm files) 0600.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import platformdirs

from county_hub import ca as ca_mod
from county_hub.errors import HomeError
from county_hub.registry import Registry
from veterans.hub_checks import HUB_CHECKS
from veterans.values import validate_area
from sync.store.hub import HubStore

__all__ = ["ENV_VAR", "resolve_home", "init_hub", "open_hub"]

ENV_VAR = "COUNTY_HUB_HOME"


def resolve_home(home: str | os.PathLike | None = None) -> Path:
    if home:
        return Path(home)
    env = os.environ.get(ENV_VAR)
    return Path(env) if env else Path(platformdirs.user_data_dir("vetsync-hub"))


def db_path(home: Path) -> Path:
    return Path(home) / "hub.db"


def init_hub(home: Path, county: str, name: str | None, hosts: list[str]) -> dict:
    """Make the hub database, the county CA and the server certificate."""
    county = validate_area(county)
    if len(county) != 6:
        raise HomeError(f"县级区划代码应为 6 位：{county}")
    if db_path(home).exists() or (Path(home) / "ca" / "ca.key").exists():
        raise HomeError(f"县中心已初始化：{home}", hint="如需重建请换一个 --home 目录")
    for directory in (Path(home), Path(home) / "ca", Path(home) / "tls"):
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        directory.chmod(0o700)
    files = ca_mod.create_ca(county, name, Path(home))
    ca = ca_mod.load_ca(Path(home))
    ca_mod.issue_server_cert(ca, hosts, Path(home))
    store = HubStore(db_path(home), create=True)
    with store.transaction():
        store.set_meta("county", county)
        store.set_meta("station", county)
        store.set_meta("scope", county)
        store.set_meta("name", name or "")
    Registry(store)
    store.close()
    return {"county": county, "name": name or "", "home": str(home), "ca_fingerprint": ca.fingerprint,
            "ca_cert": str(files.cert_path)}


def open_hub(home: Path) -> tuple[HubStore, Registry]:
    """The hub's store, with the domain checks it runs on every pushed row
    (``veterans.hub_checks``), and its registry. A database older than what
    this home's hub had served (``check_lineage``) gets a new epoch first."""
    if not db_path(home).exists():
        raise HomeError(f"县中心尚未初始化：{home}", hint="请先运行 county-hub init --county CODE")
    store = HubStore(db_path(home), checks=HUB_CHECKS)
    registry = Registry(store)
    check_lineage(store, registry, Path(home))
    return store, registry


# -- lineage: a database put back by hand ---------------------------------------
# The hub notes, beside its database, the epoch and the newest change it has
# served (``.served``, JSON, rewritten after pushes and at shutdown; it may lag,
# never lead). A database whose epoch is the noted one but whose newest change
# is older was put back from a copy without `county-hub restore`: it gets a
# new epoch, so that the stations re-offer what the copy lacks (PROTOCOL.md
# "Recovery").

SERVED_MARK = ".served"


def mark_served(store: HubStore, home: Path) -> None:
    """Note the epoch and newest change this hub has served (atomic, small, not fsynced: it may lag)."""
    mark = Path(home) / SERVED_MARK
    tmp = mark.with_name(mark.name + ".tmp")
    tmp.write_text(json.dumps({"epoch": store.epoch, "seq": store.last_seq}), encoding="utf-8")
    os.replace(tmp, mark)


def check_lineage(store: HubStore, registry: Registry, home: Path) -> bool:
    """Give the database a new epoch when it is older than what this hub served; True if it did."""
    try:
        noted = json.loads((Path(home) / SERVED_MARK).read_text(encoding="utf-8"))
        epoch, seq = str(noted["epoch"]), int(noted["seq"])
    except (OSError, ValueError, KeyError, TypeError):
        return False  # no mark (a new hub, or one from before marks): nothing to compare
    if epoch != store.epoch or seq <= store.last_seq:
        return False
    new = store.new_epoch()
    with store.transaction():
        registry.audit("lineage_renewed", "", served_seq=seq, database_seq=store.last_seq, epoch=new)
    mark_served(store, home)
    return True
