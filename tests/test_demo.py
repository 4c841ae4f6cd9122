"""`make demo` runs end to end, and every station agrees with the hub at the end.

The agreement is checked here, from the databases the demo leaves behind
(opened read-only), not taken from the demo's own verdict: every station holds
exactly the hub's rows of its scope, with the same values and versions, and
nothing is left pending or refused."""

import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from sync.engine.clocks import unpack_clock
from sync.engine.schema import TABLES

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
TOWN, VILLAGES = "440902001", ("440902001001", "440902001002")
LOCAL = {"seq", "_clock", "_pending", "_origin", "_prev_seq"}  # a store's own bookkeeping (the clock compared unpacked)


def read_only(db: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    return conn


def rows_in_scope(db: Path, scope: str, *, for_station: str | None = None) -> dict:
    """{(table, id): (every non-bookkeeping column, unpacked clock)} of the rows in ``scope``;
    ``for_station``: leave out what the hub keeps from it (another station's confidential rows)."""
    out, hidden = {}, set()
    with read_only(db) as conn:
        for table in ("veterans", "visits", "petitions", "petition_events", "conflicts"):
            for r in conn.execute(f'SELECT * FROM "{table}" WHERE substr(area, 1, ?) = ?', (len(scope), scope)):
                row = dict(r)
                if for_station and row.get("confidential") == 1 and row.get("station") != for_station:
                    hidden.add(row["id"])
                    continue
                if for_station and table == "petition_events" and row["petition_id"] in hidden:
                    continue
                out[(table, row["id"])] = ({k: v for k, v in row.items() if k not in LOCAL},
                                           unpack_clock(table, row["_clock"]))
    return out


def test_demo_runs_and_all_stations_agree(tmp_path):
    home = tmp_path / "demo"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "deploy" / "demo.py")], capture_output=True, text=True, timeout=180,
        env={**os.environ, "VETSYNC_DEMO_HOME": str(home)}, stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr[-2000:] + proc.stdout[-2000:]
    assert "重复登记" in proc.stdout and "并发修改" in proc.stdout and "已解决" in proc.stdout
    assert "县中心已停止（退出码 0）" in proc.stdout
    # the pages: the station's opens by itself on 127.0.0.1 (one account, --auto-login), the county's asks for a login
    assert re.search(r"本站页面（本机自动登录）：http://127\.0\.0\.1:\d+/ → 200（/）", proc.stdout), proc.stdout[-1500:]
    assert re.search(r"县中心网页：http://127\.0\.0\.1:\d+/ → 200（/login", proc.stdout), proc.stdout[-1500:]
    assert (home / "县级报表.xlsx").is_file()
    # the demo's verdict, one line per station
    assert len([line for line in proc.stdout.splitlines() if "与县中心一致" in line]) == 3

    # and our own, from the databases
    hub_db = home / "hub" / "hub.db"
    for code in (TOWN, *VILLAGES):
        db = home / f"station-{code}" / "station.db"
        mine, hubs = rows_in_scope(db, code), rows_in_scope(hub_db, code, for_station=code)
        differ = sorted(k for k in mine.keys() | hubs.keys() if mine.get(k) != hubs.get(k))
        assert not differ, (code, [(k, mine.get(k), hubs.get(k)) for k in differ[:3]])
        assert {t for t, _ in mine} >= {"veterans", "visits", "petitions"}, code
        with read_only(db) as conn:
            for table in TABLES:
                assert conn.execute(f'SELECT count(*) FROM "{table}" WHERE _pending IS NOT NULL').fetchone()[0] == 0
            assert conn.execute("SELECT count(*) FROM _rejected").fetchone()[0] == 0

    with read_only(hub_db) as conn:
        # the two rosters (40 + 30) and the duplicate registration, merged into the original
        assert conn.execute("SELECT count(*) FROM veterans").fetchone()[0] == 71
        merged = conn.execute("SELECT deleted, merged_into FROM veterans WHERE merged_into IS NOT NULL").fetchall()
        assert [tuple(r)[0] for r in merged] == [1]
        assert conn.execute("SELECT count(*) FROM veterans WHERE id = ? AND deleted = 0", (merged[0][1],)).fetchone()[0] == 1
        # the concurrent phone edit: one of the two values won, and every conflict is resolved
        kinds = {r[0]: r[1] for r in conn.execute("SELECT kind, status FROM conflicts")}
        assert kinds == {"concurrent_edit": "resolved", "duplicate_identity": "resolved"}
        assert conn.execute("SELECT count(*) FROM veterans WHERE phone IN ('13900000001', '13900000002')").fetchone()[0] == 1
