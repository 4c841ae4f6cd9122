"""A hub put back from a backup heals from its stations, with real processes
(`county-hub serve`, `station-node sync`) over mutual TLS on 127.0.0.1.

The county IT person's story from issue 11: the hub's database is copied while
the hub is stopped, the stations sync new work that the hub acknowledges
(creates, edits, a delete, a move, a conflict), and the hub is put back from
the copy with a new epoch. Every station's next sync re-offers what it holds;
afterwards the hub holds all of it again, every station equals the hub within
its scope, and a station enrolled after the restore receives everything.
"""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
from pathlib import Path

import pytest

from procs import COUNTY, TOWN, VILLAGE_A, VILLAGE_B, Hub, Station, id_number, query
from sync.store.hub import HubStore

pytestmark = pytest.mark.e2e

TABLES = ("veterans", "visits", "petitions", "petition_events", "conflicts")


def held(home: Path, scope: str = "") -> dict:
    """Every row (tombstones too) in scope: (table, id) -> (area, values as stored, clock)."""
    db = home / ("hub.db" if (home / "hub.db").exists() else "station.db")
    out = {}
    with contextlib.closing(sqlite3.connect(db)) as conn:  # closed: the file is replaced later
        conn.row_factory = sqlite3.Row
        for table in TABLES:
            for r in conn.execute(f'SELECT * FROM "{table}"'):
                if r["area"].startswith(scope):
                    values = {k: r[k] for k in r.keys() if not k.startswith("_") and k != "seq"}
                    out[(table, r["id"])] = (values, r["_clock"])
    return out


def copy_database(hub_home: Path, dest: Path) -> None:
    """A consistent copy (the stopped hub's file and its WAL, through SQLite)."""
    src = sqlite3.connect(hub_home / "hub.db")
    target = sqlite3.connect(dest)
    with target:
        src.backup(target)
    src.close()
    target.close()


def put_back(hub_home: Path, copy: Path) -> str:
    """What `county-hub restore` does, by hand: the file back, and a new epoch."""
    for suffix in ("-wal", "-shm"):
        Path(str(hub_home / "hub.db") + suffix).unlink(missing_ok=True)
    shutil.copyfile(copy, hub_home / "hub.db")
    store = HubStore(hub_home / "hub.db")
    try:
        return store.new_epoch()
    finally:
        store.close()


@pytest.fixture
def network(tmp_path):
    hub = Hub(tmp_path / "hub").start()
    stations = {name: Station(tmp_path / name, code).enroll(hub)
                for name, code in (("town", TOWN), ("va", VILLAGE_A), ("vb", VILLAGE_B))}
    yield hub, stations, tmp_path
    hub.stop()


def sync_all(stations: dict, rounds: int = 2) -> list[dict]:
    return [stations[name].sync() for _ in range(rounds) for name in ("town", "va", "vb")]


def test_a_restored_hub_gets_back_every_acknowledged_write(network):
    hub, st, tmp = network
    kept = st["va"].add_veteran(id_number(1), "李一")
    moving = st["va"].add_veteran(id_number(2), "李二")
    st["va"].cli("visit", "add", "--veteran", moving, "--kind", "入户", "--summary", "春节走访")
    gone = st["vb"].add_veteran(id_number(3), "王三")
    sync_all(st)

    hub.stop()
    copy = tmp / "hub-backup.db"
    copy_database(hub.home, copy)
    hub.start(port=hub.port)

    # The day's work after the copy, all acknowledged by the hub:
    new = st["va"].add_veteran(id_number(4), "李四")
    st["va"].cli("visit", "add", "--veteran", new, "--kind", "电话", "--summary", "电话问候")
    st["va"].cli("petition", "open", "--veteran", new, "--channel", "走访", "--summary", "咨询优抚政策")
    st["vb"].cli("veteran", "edit", gone, "--set", "phone=13800000003")
    st["vb"].cli("veteran", "delete", gone)
    st["town"].cli("veteran", "edit", moving, "--set", f"area={VILLAGE_B}")
    sync_all(st)
    st["va"].cli("veteran", "edit", kept, "--set", "note=村里记的")
    st["town"].cli("veteran", "edit", kept, "--set", "note=镇里记的")
    st["va"].sync()
    st["town"].sync()
    sync_all(st)
    assert query(hub.home, "SELECT count(*) FROM conflicts")[0][0] >= 1
    before = {name: held(s.home) for name, s in st.items()}
    hub_before = held(hub.home)

    hub.stop()
    epoch = put_back(hub.home, copy)
    hub.start(port=hub.port)
    assert len(held(hub.home)) < len(hub_before)  # the restore lost work: something to heal

    reports = sync_all(st)
    assert sum(r["recovered"] for r in reports) > 0 and not any(r["recovery_refused"] for r in reports)
    assert held(hub.home) == hub_before, "the hub did not get back what it had acknowledged"
    for name, s in st.items():
        assert held(s.home) == before[name], f"{name} changed in the recovery"
        assert held(s.home) == held(hub.home, s.code), f"{name} diverged from the hub"
        assert query(s.home, "SELECT value FROM _meta WHERE key = 'hub_epoch'") == [(epoch,)]
    recovered = query(hub.home, "SELECT count(*) FROM _history WHERE recovered = 1")[0][0]
    assert recovered > 0
    audit = [e for e in hub.cli_json("audit") if e.get("kind") == "recovery"]
    assert {e["station"] for e in audit} >= {VILLAGE_A, TOWN}

    # A station enrolled after the restore (the county office's own, seeing the whole
    # county) receives everything.
    late = Station(tmp / "late", COUNTY)
    late.cli("init", "--station", COUNTY, "--hub", hub.target, "--token", hub.token(COUNTY, "--county-scope"))
    report = late.sync()
    assert report["recovered"] == 0
    assert held(late.home) == held(hub.home) == hub_before

    # A second sync re-offers nothing: the recovery happens once.
    assert all(r["recovered"] == 0 for r in sync_all(st, 1))
    assert held(hub.home) == hub_before


def test_a_station_that_only_pulls_after_the_restore_loses_nothing(network):
    """A station whose work all reached the hub before the copy recovers too,
    and its re-offer changes nothing at the hub."""
    hub, st, tmp = network
    st["va"].add_veteran(id_number(11), "周一")
    sync_all(st, 2)  # the town has pulled it too
    hub.stop()
    copy = tmp / "hub-backup.db"
    copy_database(hub.home, copy)
    hub_before = held(hub.home)
    put_back(hub.home, copy)
    hub.start(port=hub.port)
    reports = sync_all(st, 1)
    assert held(hub.home) == hub_before
    # The one veteran, re-offered by the two stations holding it (the town and its village).
    assert [r["recovered"] for r in reports] == [1, 1, 0]


def test_a_database_put_back_by_hand_is_found_and_healed(network):
    """Copied back without `county-hub restore`: the hub finds, at its next start, that its
    database is older than what it had served (the `.served` mark), gives it a new epoch,
    and the stations heal it as after a restore."""
    hub, st, tmp = network
    st["va"].add_veteran(id_number(21), "吴一")
    sync_all(st, 1)
    hub.stop()
    copy = tmp / "hub-copy.db"
    copy_database(hub.home, copy)
    old_epoch = query(hub.home, "SELECT value FROM _meta WHERE key = 'epoch'")[0][0]
    hub.start(port=hub.port)
    later = st["va"].add_veteran(id_number(22), "吴二")
    sync_all(st, 1)
    hub_before = held(hub.home)
    hub.stop()
    for suffix in ("-wal", "-shm"):
        Path(str(hub.home / "hub.db") + suffix).unlink(missing_ok=True)
    shutil.copyfile(copy, hub.home / "hub.db")  # by hand: same epoch, older contents
    hub.start(port=hub.port)
    new_epoch = query(hub.home, "SELECT value FROM _meta WHERE key = 'epoch'")[0][0]
    assert new_epoch != old_epoch
    assert ("veterans", later) not in held(hub.home)
    assert any(e.get("kind") == "lineage_renewed" for e in hub.cli_json("audit"))
    reports = sync_all(st, 1)
    assert sum(r["recovered"] for r in reports) > 0
    assert held(hub.home) == hub_before
    sync_all(st, 1)  # the town receives what its village re-offered after the town's turn
    for name, s in st.items():
        assert held(s.home) == held(hub.home, s.code), f"{name} diverged from the hub"
