"""A station PC that dies (issue 11, part 4): ``station-node init --recover OLD_DB``
rebuilds a new home from the hub and applies again the pending edits still
readable in the old database file; a corrupt station database is named at
open, with the recovery, instead of a traceback.

In-process: the salvage of an old file (pending fields only, past a damaged
page, the file never written), the quick check, the application of salvaged
edits, a failed recovery taking its home down. Real processes: a village syncs,
edits offline, its PC dies (a daemon killed with its edits still in the WAL; or
a copied file with one page overwritten), a new home recovers with a new token,
and after ``sync`` the hub has the edits."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from procs import STATION, TOWN, VILLAGE_A, VILLAGE_B, Hub, Station, id_number, one_line_error, query
from station_node import cli
from station_node import home as home_mod
from station_node import recover as recover_mod
from station_node.errors import EnrollmentFailed, HubUnreachable
from station_node.identity import Token
from sync.engine.errors import StoreError
from sync.store.salvage import SalvagedRow, check_database, open_salvage
from sync.store.station import Store


# --------------------------------------------------------------------------- helpers


def digest(*paths: Path) -> dict[str, str | None]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() if p.exists() else None for p in paths}


def files_of(db: Path) -> tuple[Path, Path]:
    return db, db.with_name(db.name + "-wal")


def leaf_page_holding(db: Path, text: str) -> tuple[int, int, bytes]:
    """(page number, page size, page bytes) of the one leaf page of ``veterans`` whose bytes hold ``text``."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        leaves = [r[0] for r in conn.execute("SELECT pageno FROM dbstat WHERE name = 'veterans' AND pagetype = 'leaf'")]
    finally:
        conn.close()
    data = db.read_bytes()
    hits = [p for p in leaves if text.encode() in data[(p - 1) * page_size : p * page_size]]
    assert len(hits) == 1, hits
    page = hits[0]
    return page, page_size, data[(page - 1) * page_size : page * page_size]


def smash_page(db: Path, page: int, page_size: int) -> None:
    """Overwrite one whole page in place (a bad sector)."""
    assert db.stat().st_size > 4 * page_size and 1 < page < db.stat().st_size // page_size
    with open(db, "r+b") as f:
        f.seek((page - 1) * page_size)
        f.write(b"\xa5" * page_size)


def station_store(path: Path, code: str = VILLAGE_A) -> Store:
    store = Store(path, create=True)
    with store.transaction():
        for k, v in (("station", code), ("scope", code), ("county", code[:6])):
            store.set_meta(k, v)
    return store


def synced_veteran(store: Store, n: int, area: str = VILLAGE_A) -> str:
    """A veteran as if pulled from the hub (no pending marks)."""
    vid = f"v{n:04d}"
    with store.transaction():
        store.stamp("veterans", vid, {"id_number": id_number(n), "name": f"王{n:03d}", "area": area,
                                      "address": f"旧址{n}"}, create=True, pending=False)
    return vid


# --------------------------------------------------------------------------- salvage (in process)


def test_salvage_yields_the_pending_fields_only_and_never_writes(tmp_path):
    db = tmp_path / "old" / "station.db"
    store = station_store(db)
    synced_veteran(store, 1)
    edited = synced_veteran(store, 2)
    store.write("veterans", edited, {"phone": "13800000002"})
    store.write("veterans", "new1", {"id_number": id_number(3), "name": "新人", "area": VILLAGE_A}, create=True)
    store.write("visits", "visit1", {"veteran_id": edited, "area": VILLAGE_A, "kind": "phone"}, create=True)
    store.close()
    before = digest(*files_of(db))
    with open_salvage(db) as old:
        rows = {(r.table, r.row_id): r for r in old.pending_rows()}
        assert old.meta("station") == VILLAGE_A
        assert (old.unreadable, old.unreadable_pending) == (0, 0)
    assert set(rows) == {("veterans", edited), ("veterans", "new1"), ("visits", "visit1")}
    assert rows[("veterans", edited)] == SalvagedRow("veterans", edited, {"phone": "13800000002"}, False)
    new = rows[("veterans", "new1")]
    assert new.made_here and new.fields == {"deleted": 0, "id_number": id_number(3), "name": "新人", "area": VILLAGE_A}
    assert rows[("visits", "visit1")].made_here
    assert digest(*files_of(db)) == before


def test_salvage_reads_past_a_damaged_page(tmp_path):
    db = tmp_path / "station.db"
    store = station_store(db)
    ids = [synced_veteran(store, n) for n in range(1, 301)]
    store.write("veterans", ids[0], {"phone": "13800000001"})  # first page
    store.write("veterans", ids[150], {"phone": "13800000151"})  # the page that will be lost
    store.write("veterans", ids[-1], {"phone": "13800000300"})  # last page
    store.write("visits", "visit1", {"veteran_id": ids[150], "area": VILLAGE_A, "kind": "phone"}, create=True)
    store.close()
    page, page_size, content = leaf_page_holding(db, "王151")
    on_page = {f"v{n:04d}" for n in range(1, 301) if f"王{n:03d}".encode() in content}
    assert ids[150] in on_page and ids[0] not in on_page and ids[-1] not in on_page
    smash_page(db, page, page_size)
    assert check_database(db) is not None
    before = digest(*files_of(db))
    with open_salvage(db) as old:
        rows = {(r.table, r.row_id): r.fields for r in old.pending_rows()}
        assert old.unreadable == len(on_page)
        assert old.unreadable_pending == 1
    assert rows == {("veterans", ids[0]): {"phone": "13800000001"}, ("veterans", ids[-1]): {"phone": "13800000300"},
                    ("visits", "visit1"): {"deleted": 0, "veteran_id": ids[150], "area": VILLAGE_A, "kind": "phone"}}
    assert digest(*files_of(db)) == before


def test_salvage_refuses_a_file_that_is_not_a_database(tmp_path):
    bad = tmp_path / "station.db"
    bad.write_bytes(b"not a database, just bytes " * 400)
    with pytest.raises(StoreError, match="无法读取.*没有可找回的修改"):
        open_salvage(bad)
    with pytest.raises(StoreError, match="找不到旧数据库文件"):
        open_salvage(tmp_path / "missing.db")


def test_check_database_names_what_is_wrong(tmp_path):
    db = tmp_path / "station.db"
    store = station_store(db)
    for n in range(1, 301):
        synced_veteran(store, n)
    store.close()
    assert check_database(db) is None
    page, page_size, _ = leaf_page_holding(db, "王150")
    smash_page(db, page, page_size)
    assert re.fullmatch(r"Page \d+: .*", check_database(db))
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"\x00garbage" * 1000)
    assert "not a database" in check_database(garbage)


@pytest.mark.parametrize("damage", ["page", "header"])
def test_open_store_names_the_recovery_for_a_corrupt_file(tmp_path, damage):
    home = tmp_path / "home"
    store = home_mod.init_offline(home, VILLAGE_A)
    for n in range(1, 301):
        synced_veteran(store, n)
    store.close()
    db = home_mod.db_path(home)
    if damage == "page":
        page, page_size, _ = leaf_page_holding(db, "王150")
        smash_page(db, page, page_size)
    else:
        with open(db, "r+b") as f:
            f.write(b"\xa5" * 100)  # the header: "file is not a database"
    with pytest.raises(StoreError, match=r"本站数据库已损坏.*station-node init .*--recover .*station\.db --home 新目录") as err:
        home_mod.open_store(home)
    assert "\n" not in str(err.value)
    assert ("not a database" if damage == "header" else "Page ") in str(err.value)


def test_the_check_at_open_runs_again_only_when_the_file_changed(tmp_path, monkeypatch):
    """The quick check costs 0.2 s on a county-sized file: it runs when the file's size or
    time changed since its last good check, and damage it could not see is named by the
    CLI chrome with the same recovery when a command meets it."""
    home = tmp_path / "home"
    store = home_mod.init_offline(home, VILLAGE_A)
    for n in range(1, 301):
        synced_veteran(store, n)
    store.close()
    checks = []
    real = home_mod.check_database
    monkeypatch.setattr(home_mod, "check_database", lambda path: checks.append(path) or real(path))
    home_mod.open_store(home).close()
    home_mod.open_store(home).close()
    assert len(checks) == 1, "the unchanged file was checked twice"
    db = home_mod.db_path(home)
    # Damage that leaves the file's size and time as they were (bit rot): not seen at open ...
    st = db.stat()
    page, page_size, _ = leaf_page_holding(db, "王150")
    smash_page(db, page, page_size)
    os.utime(db, ns=(st.st_atime_ns, st.st_mtime_ns))
    home_mod.open_store(home).close()
    assert len(checks) == 1
    # ... but named, with the recovery, by the command that reads it.
    result = CliRunner().invoke(cli.main, ["veteran", "list", "--home", str(home)])
    assert result.exit_code == 1
    assert re.fullmatch(r"错误：数据库文件已损坏（.*malformed.*），本次操作未保存。站点请用新的站点目录重建.*--recover.*\n",
                        result.stderr), result.stderr
    # A change of the file's time makes the next open check it again, and find the damage.
    os.utime(db, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    with pytest.raises(StoreError, match="本站数据库已损坏"):
        home_mod.open_store(home)
    assert len(checks) == 2


# --------------------------------------------------------------------------- applying salvaged edits (in process)


def test_apply_salvaged_creates_overwrites_and_skips(tmp_path):
    store = station_store(tmp_path / "new.db")
    a, b = synced_veteran(store, 1), synced_veteran(store, 2)
    rows = [
        SalvagedRow("veterans", a, {"address": "村东3号"}, False),  # written over the pulled value
        SalvagedRow("veterans", b, {"address": "旧址2"}, False),  # the hub already has it
        SalvagedRow("veterans", "new1", {"deleted": 0, "name": "新人", "area": VILLAGE_A}, True),  # made offline
        SalvagedRow("veterans", "gone", {"phone": "1"}, False),  # the hub had it once: not remade
        SalvagedRow("veterans", "away", {"deleted": 0, "name": "外村", "area": VILLAGE_B}, True),  # not ours
    ]
    report = recover_mod.apply_salvaged(store, rows, recover_mod.RecoveryReport(source="old.db"))
    assert (report.created, report.updated, report.unchanged, report.skipped, report.recovered) == (1, 1, 1, 2, 2)
    assert store.get("veterans", a)["address"] == "村东3号"
    assert store.get("veterans", "new1")["name"] == "新人"
    assert store.load("veterans", "gone") is None and store.load("veterans", "away") is None
    assert store.pending_count() == 2
    assert store.meta("recovered_from") == "old.db"


def test_a_recovery_whose_pull_fails_takes_its_home_down(tmp_path, monkeypatch):
    old = tmp_path / "old.db"
    s = station_store(old)
    s.write("veterans", "new1", {"name": "新人", "area": VILLAGE_A}, create=True)
    s.close()
    before = digest(*files_of(old))
    home = tmp_path / "new"

    def fake_enroll(where, target, token, *, station=None):
        home_mod.init_offline(where, VILLAGE_A).close()
        return {"station": VILLAGE_A, "scope": VILLAGE_A}

    def no_hub(*_a, **_k):
        raise HubUnreachable("连不上县中心 127.0.0.1:1（无响应）")

    monkeypatch.setattr(recover_mod, "enroll", fake_enroll)
    monkeypatch.setattr(recover_mod, "sync_with_retry", no_hub)
    monkeypatch.setattr(recover_mod.identity, "parse_token", lambda text: Token(VILLAGE_A, "", ""))
    with pytest.raises(EnrollmentFailed, match="恢复未完成，新站点目录已撤销：连不上县中心.*重新索取令牌"):
        recover_mod.recover(home, "127.0.0.1:1", "VST1-x", old)
    assert not home.exists()
    assert digest(*files_of(old)) == before


# --------------------------------------------------------------------------- real processes


def write_roster(path: Path, numbers: range) -> Path:
    path.write_text("姓名,身份证号\n" + "".join(f"王{n:03d},{id_number(n)}\n" for n in numbers), encoding="utf-8")
    return path


def veteran_ids(station: Station) -> dict[str, str]:
    return {r["name"]: r["id"] for r in station.cli_json("veteran", "list")}


@pytest.mark.e2e
@pytest.mark.parametrize("death", ["killed_with_wal", "copied_with_a_bad_page"])
def test_a_dead_station_pc_is_rebuilt_and_its_offline_edits_reach_the_hub(tmp_path, death):
    hub = Hub(tmp_path / "hub").start()
    daemon = None
    try:
        village = Station(tmp_path / "village", VILLAGE_A).enroll(hub)
        town = Station(tmp_path / "town", TOWN).enroll(hub)
        village.cli("import", str(write_roster(tmp_path / "roster.csv", range(1, 241))), "--area", VILLAGE_A)
        village.sync()
        names = veteran_ids(village)
        first, middle = names["王001"], names["王120"]
        town.sync()
        # meanwhile at the town: the same field of 王001 (to be overwritten) and another field
        town.cli("veteran", "edit", first, "--set", "address=镇上登记的地址", "--set", "phone=13900000001")
        town.sync()

        if death == "killed_with_wal":  # a daemon holds the database open: the edits stay in the WAL
            daemon = subprocess.Popen([STATION, "daemon", "--interval", "3600", "--home", str(village.home)],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            assert "已同步" in daemon.stderr.readline()
        # offline edits: an edit of a synced veteran, a new veteran, a new visit, and an edit on the page to be lost
        village.cli("veteran", "edit", first, "--set", "address=村里最后登记的地址")
        village.cli("veteran", "edit", middle, "--set", "phone=13700000120")
        new_id = village.add_veteran(id_number(500), "李新来")
        visit_id = village.cli_json("visit", "add", "--veteran", names["王002"], "--kind", "入户",
                                    "--summary", "离线走访")["id"]
        assert village.cli_json("status")["pending"] == 4

        if daemon is not None:  # the PC dies: the process gone, the home kept as it was
            daemon.send_signal(signal.SIGKILL)
            daemon.wait(10)
            old_db = village.home / "station.db"
            assert old_db.with_name("station.db-wal").stat().st_size > 0
            main_only = sqlite3.connect(f"file:{old_db}?mode=ro&immutable=1", uri=True)
            try:  # the edits are in the WAL only: reading the main file alone would lose them
                assert main_only.execute("SELECT count(*) FROM veterans WHERE _pending IS NOT NULL").fetchone() == (0,)
            finally:
                main_only.close()
            expected, lost = 4, 0
        else:  # the disk is taken out and copied; one page of the copy is bad
            copy = tmp_path / "old-pc"
            shutil.copytree(village.home, copy)
            shutil.rmtree(village.home)
            old_db = copy / "station.db"
            page, page_size, content = leaf_page_holding(old_db, "王120")
            assert "王001".encode() not in content
            lost = sum(f"王{n:03d}".encode() in content for n in range(1, 241))
            smash_page(old_db, page, page_size)
            bad = Station(copy, VILLAGE_A).cli("status", check=False)
            assert "--recover" in one_line_error(bad)
            expected = 3
        before = digest(*files_of(old_db))

        fresh = Station(tmp_path / "new-pc", VILLAGE_A)
        out = fresh.cli("init", "--hub", hub.target, "--token", hub.token(VILLAGE_A), "--recover", str(old_db), "--json")
        rec = json.loads(out.stdout)["recovery"]
        assert digest(*files_of(old_db)) == before
        assert rec["salvaged"] == rec["recovered"] == expected
        assert (rec["created"], rec["updated"]) == (2, expected - 2)
        assert rec["unreadable"] == lost and rec["unreadable_pending"] == (1 if lost else 0)
        assert rec["pulled"] == 240

        # the new home: the hub's data plus the salvaged edits, pending
        mine = {r["id"]: r for r in fresh.cli_json("veteran", "list")}
        assert len(mine) == 241 and new_id in mine
        assert mine[first]["address"] == "村里最后登记的地址" and mine[first]["phone"] == "13900000001"
        assert mine[middle]["phone"] == ("13700000120" if not lost else None)
        assert [v["id"] for v in fresh.cli_json("visit", "list")] == [visit_id]
        assert fresh.cli_json("status")["pending"] == expected

        report = fresh.sync()
        assert report["pushed"] == expected and report["rejected"] == 0
        assert fresh.cli_json("status")["pending"] == 0
        at_hub = dict(query(hub.home, "SELECT id, address FROM veterans WHERE id IN (?, ?)", (first, new_id)))
        assert at_hub == {first: "村里最后登记的地址", new_id: None}
        assert query(hub.home, "SELECT veteran_id, summary FROM visits WHERE id = ?", (visit_id,)) == [(names["王002"], "离线走访")]
        phone = query(hub.home, "SELECT phone FROM veterans WHERE id = ?", (middle,))[0][0]
        assert phone == ("13700000120" if not lost else None)
        town.sync()
        assert {r["id"]: r["address"] for r in town.cli_json("veteran", "list")}[first] == "村里最后登记的地址"
    finally:
        if daemon is not None and daemon.poll() is None:
            daemon.kill()
            daemon.wait(10)
        hub.stop()


@pytest.mark.e2e
def test_recover_refuses_before_the_token_is_spent(tmp_path):
    hub = Hub(tmp_path / "hub").start()
    try:
        garbage = tmp_path / "garbage.db"
        garbage.write_bytes(b"\x00garbage" * 1000)
        other = tmp_path / "other.db"
        station_store(other, VILLAGE_B).close()
        token = hub.token(VILLAGE_A)
        fresh = Station(tmp_path / "new-pc", VILLAGE_A)
        cases = [((garbage,), r"旧数据库 .*garbage\.db 无法读取.*没有可找回的修改"),
                 ((other,), rf"旧数据库属于站点 {VILLAGE_B}，令牌是发给站点 {VILLAGE_A} 的")]
        for (path,), message in cases:
            proc = fresh.cli("init", "--hub", hub.target, "--token", token, "--recover", str(path), check=False)
            line = one_line_error(proc)
            assert proc.returncode == 1
            assert re.search(message, line), line
            assert not (fresh.home / "station.db").exists()
        offline = fresh.cli("init", "--station", VILLAGE_A, "--offline", "--recover", str(other), check=False)
        assert "--offline 不能与" in one_line_error(offline)
        fresh.cli("init", "--hub", hub.target, "--token", token)  # the token was not spent
        assert fresh.cli_json("status")["station"] == VILLAGE_A
    finally:
        hub.stop()


def test_init_recover_prints_the_counts_in_chinese(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from station_node import cli_sync
    from station_node.cli import main

    report = recover_mod.RecoveryReport(source="/old/station.db", pulled=240, salvaged=3, recovered=3, created=2,
                                        updated=1, unreadable=22, unreadable_pending=1)
    info = {"station": VILLAGE_A, "scope": VILLAGE_A, "hub": "127.0.0.1:7443", "not_after": "2028-12-01T00:00:00+00:00"}
    seen = {}

    def fake_recover(where, hub, token, old_db, *, station=None):
        seen.update(where=where, old_db=old_db, station=station)
        return info, report

    monkeypatch.setattr(cli_sync, "recover_station", fake_recover)
    args = ["init", "--hub", "127.0.0.1:7443", "--token", "VST1-x", "--recover", "/old/station.db", "--home", str(tmp_path / "h")]
    out = CliRunner().invoke(main, args)
    assert out.exit_code == 0, out.output
    assert seen == {"where": tmp_path / "h", "old_db": "/old/station.db", "station": None}
    lines = out.output.splitlines()
    assert lines[1:] == [
        "已从县中心下载本站数据 240 条。",
        "从旧数据库 /old/station.db 找回未上传的修改 3 条（新建 2 条，覆盖县中心的值 1 条），县中心已有 0 条，"
        "不属本站 0 条；无法读取的记录 22 条，其中未上传的修改 1 条。",
        "请运行 station-node sync 上传找回的修改。",
    ]
    as_json = json.loads(CliRunner().invoke(main, [*args, "--json"]).output)
    assert as_json["recovery"] == report.to_dict() and as_json["station"] == VILLAGE_A
