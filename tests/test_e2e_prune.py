"""Retention with real processes (`county-hub serve`, `county-hub prune`,
`station-node sync` and `verify`) over mutual TLS on 127.0.0.1 (issue 11 part 7).

Rows are made old honestly: the network's first months run with the clock of every
process set back 300 days by libfaketime (``LD_PRELOAD``; the CA, the certificates,
the versions and the hub's history are all made then), and the rest of the story
runs today. A village deletes a record and everyone pulls it; the town deletes
another that the village does not pull, and one of the other village's, whose PC
is then stolen (revoked). The prune removes the first and the third, keeps the
second (the village holds the cutoff back and is named), the stations drop the
tombstones the hub removed, the village still receives the deletion it had not
pulled, and every verify agrees with the hub. The stolen PC, re-enrolled in place,
is refused (it still holds the record deleted since) and rebuilt with --recover.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
from pathlib import Path

import pytest

from procs import TOWN, VILLAGE_A, VILLAGE_B, Hub, Station, id_number, one_line_error, query, rows_of

pytestmark = pytest.mark.e2e

PAST_DAYS = 300


def _libfaketime() -> Path:
    spec = importlib.util.find_spec("libfaketime")  # the dev dependency ships the library, prebuilt
    assert spec is not None and spec.submodule_search_locations, "pip install -e '.[dev]' (libfaketime)"
    lib = Path(list(spec.submodule_search_locations)[0]) / "vendor" / "libfaketime" / "src" / "libfaketime.so.1"
    assert lib.is_file(), lib
    return lib


@pytest.fixture
def in_the_past(monkeypatch):
    """Run every process started meanwhile with its clock ``days`` back (monotonic clocks left alone)."""
    lib = _libfaketime()

    def set_back(days: int | None) -> None:
        if days is None:
            for name in ("LD_PRELOAD", "FAKETIME", "DONT_FAKE_MONOTONIC", "FAKETIME_DONT_FAKE_MONOTONIC"):
                monkeypatch.delenv(name, raising=False)
            return
        monkeypatch.setenv("LD_PRELOAD", str(lib))
        monkeypatch.setenv("FAKETIME", f"-{days}d")
        monkeypatch.setenv("DONT_FAKE_MONOTONIC", "1")
        monkeypatch.setenv("FAKETIME_DONT_FAKE_MONOTONIC", "1")

    yield set_back
    set_back(None)


def tombstones(home: Path, scope: str) -> dict:
    """The tombstones a database holds in scope: id -> stored clock."""
    return {rid: clock for rid, (_area, clock, deleted) in rows_of(home, "veterans", scope).items() if deleted}


def verify(station: Station) -> dict:
    return station.cli_json("verify")


def test_prune_with_real_processes(tmp_path, in_the_past):
    in_the_past(PAST_DAYS)
    hub = Hub(tmp_path / "hub").start()
    try:
        town, va, vb = (Station(tmp_path / n, c).enroll(hub) for n, c in (("town", TOWN), ("va", VILLAGE_A),
                                                                          ("vb", VILLAGE_B)))
        v1, v2, v3 = (va.add_veteran(id_number(i), f"张{i}") for i in (1, 2, 3))
        w = vb.add_veteran(id_number(4), "李四")
        for s in (va, town, vb):
            s.sync()
        hub.stop()
        in_the_past(PAST_DAYS - 10)
        hub.start()
        va.cli("veteran", "delete", v1, "--yes")
        va.sync()
        town.sync()
        town.cli("veteran", "delete", w, "--yes")  # village B never pulls this one
        town.sync()  # the hub learns at the town's next pull what it had applied
        hub.stop()
        in_the_past(PAST_DAYS - 20)
        hub.start()
        town.cli("veteran", "delete", v2, "--yes")  # the village never pulls this one in the past
        town.sync()
        hub.stop()
    finally:
        hub.kill()

    in_the_past(None)  # today
    hub.start()
    try:
        hub.cli("revoke", "--station", VILLAGE_B)  # its PC was stolen: the prune does not wait for it
        deleted_v1 = int(query(hub.home, "SELECT _clock FROM veterans WHERE id = ?", (v1,))[0][0][:16])
        assert deleted_v1 < (dt.datetime.now().timestamp() - (PAST_DAYS - 20) * 86_400) * 1000  # made in the past
        before = (dt.date.today() - dt.timedelta(days=200)).isoformat()

        # refused: less than six months back, or not a date; nothing written
        for bad in ((dt.date.today() - dt.timedelta(days=100)).isoformat(), "2025-13-01"):
            line = one_line_error(hub.cli("prune", "--before", bad, check=False))
            assert "网络安全法" in line or "不是有效日期" in line
        assert set(tombstones(hub.home, TOWN)) == {v1, v2, w}

        dry = hub.cli_json("prune", "--before", before, "--dry-run")
        assert dry["dry_run"] and dry["tombstones"]["veterans"] == 2 and dry["history"] > 0
        assert [h["station"] for h in dry["holders"]] == [VILLAGE_A]  # it has not pulled v2's deletion
        assert dry["not_counted"] == [{"station": VILLAGE_B, "reason": "revoked"}] and dry["stale"] == [VILLAGE_B]
        assert dry["cutoff_ms"] < dry["requested_ms"]
        assert set(tombstones(hub.home, TOWN)) == {v1, v2, w}  # a dry run writes nothing
        shown = hub.cli("prune", "--before", before, "--dry-run").stdout
        assert "演练" in shown and VILLAGE_A in shown and "督促" in shown

        done = hub.cli_json("prune", "--before", before)  # while the hub serves
        assert not done["dry_run"] and done["tombstones"]["veterans"] == 2
        assert done["cutoff_ms"] == dry["cutoff_ms"] == done["pruned_before_ms"]
        assert set(tombstones(hub.home, TOWN)) == {v2}
        assert hub.cli_json("history", v3) == []  # its history was older than the cutoff
        audit = [e for e in hub.cli_json("audit") if e["kind"] == "prune"]
        assert len(audit) == 1 and audit[0]["detail"]["tombstones_total"] == 2
        assert audit[0]["detail"]["holders"] == [VILLAGE_A]

        t = town.sync()
        assert t["pruned"] == 2 and set(tombstones(town.home, TOWN)) == {v2}
        a = va.sync()
        assert a["pulled"] >= 1 and a["pruned"] == 1  # the deletion it had not pulled still came
        assert set(tombstones(va.home, VILLAGE_A)) == {v2}
        assert va.cli_json("veteran", "list") and v2 not in {r["id"] for r in va.cli_json("veteran", "list")}

        # village B's PC comes back with a new certificate, its database as it was: it still holds w
        # alive, whose deletion the hub no longer has to send; it must be rebuilt, not synced
        vb.cli("init", "--reenroll", "--token", hub.token(VILLAGE_B))
        line = one_line_error(vb.sync(check=False))
        assert "数据清理" in line and "--recover" in line
        assert w in {r["id"] for r in vb.cli_json("veteran", "list")}
        vb = Station(tmp_path / "vb2", VILLAGE_B)
        vb.cli("init", "--hub", hub.target, "--token", hub.token(VILLAGE_B), "--recover",
               str(tmp_path / "vb" / "station.db"))
        assert w not in {r["id"] for r in vb.cli_json("veteran", "list")}

        for s in (town, va, vb):
            s.sync()
            assert tombstones(s.home, s.code) == tombstones(hub.home, s.code)  # exactly the hub's tombstones
            assert verify(s)["result"] == "clean", s.code

        again = hub.cli_json("prune", "--before", before)  # the village has pulled now: v2 goes too
        assert again["holders"] == [] and again["tombstones"]["veterans"] == 1
        assert again["pruned_before_ms"] == again["requested_ms"] > done["pruned_before_ms"]
        assert tombstones(hub.home, TOWN) == {}
        for s in (town, va, vb):
            report = s.sync()
            assert report["pruned"] == (1 if s is not vb else 0)
            assert tombstones(s.home, s.code) == {}
            assert verify(s)["result"] == "clean", s.code
        assert {r["id"] for r in town.cli_json("veteran", "list")} == {v3} == {r["id"] for r in va.cli_json("veteran", "list")}
        assert vb.cli_json("veteran", "list") == []
        assert json.loads(hub.cli("prune", "--before", before, "--json").stdout)["tombstones"]["veterans"] == 0
    finally:
        hub.stop()
