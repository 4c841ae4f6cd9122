"""Backup and restore of the hub database (issue 11, part 1).

Three tiers: the store module (``sync.store.backup``: an online copy of one
snapshot while another connection writes, the integrity check, what a file
holds); the hub's commands in-process (``county-hub backup`` / ``restore``
with click's CliRunner: names, modes, ``--keep``, a new epoch, the old
database kept aside, and every operator error as one Chinese line that
changes nothing); real processes (a backup while ``county-hub serve`` takes a
station's push, a restore refused while it serves, a hub that starts again on
the restored database).
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import stat
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from county_hub import backup as backup_mod
from county_hub.cli import main
from county_hub.errors import HomeError
from sync.engine.errors import StoreError
from sync.store import backup as store_backup
from sync.store.hub import HubStore
from sync.store.station import Store

from procs import (COUNTY, HUB, VILLAGE_A, GateProxy, Hub, Station, id_number, one_line_error,
                   set_station_meta, wait_for)

BACKUP_NAME = re.compile(r"^hub-\d{8}T\d{6}Z\.db$")


# --------------------------------------------------------------------------- helpers


def cli(home: Path, *args: str, **kw):
    return CliRunner().invoke(main, [*args, "--home", str(home)], **kw)


def ok(home: Path, *args: str) -> str:
    result = cli(home, *args)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result.stdout


def ok_json(home: Path, *args: str):
    return json.loads(ok(home, *args, "--json"))


def refused(home: Path, *args: str, match: str) -> str:
    result = cli(home, *args)
    assert result.exit_code == 1, (result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("错误："), result.stderr
    assert re.search(r"[\u4e00-\u9fff]", lines[0])
    assert match in lines[0], lines[0]
    return lines[0]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def snapshot(directory: Path) -> dict[str, str]:
    """Every file under ``directory`` with the SHA-256 of its bytes (the empty lock file aside)."""
    return {p.relative_to(directory).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(directory.rglob("*")) if p.is_file() and p.name != "serve.lock"}


def tokens_of(db: Path) -> int:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT count(*) FROM _tokens").fetchone()[0]
    finally:
        conn.close()


def make_hub(home: Path, county: str = COUNTY) -> Path:
    ok(home, "init", "--county", county, "--name", "测试县")
    return home


@pytest.fixture
def hub(tmp_path) -> Path:
    return make_hub(tmp_path / "hub")


def corrupt(path: Path) -> None:
    """Overwrite everything after the first page with 0xFF (the header stays, so it still opens)."""
    data = bytearray(path.read_bytes())
    assert len(data) > 8192
    data[4096:] = b"\xff" * (len(data) - 4096)
    path.write_bytes(bytes(data))


# --------------------------------------------------------------------------- the store module


def _wal_db(path: Path, rows: int) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO t (v) VALUES (?)", [("x" * 500,) for _ in range(rows)])
    conn.execute("COMMIT")
    return conn


def test_backup_to_copies_one_snapshot_while_another_connection_writes(tmp_path):
    src = tmp_path / "live.db"
    writer = _wal_db(src, 2000)
    steps: list[tuple[int, int]] = []

    def progress(done: int, total: int) -> None:
        steps.append((done, total))
        if len(steps) <= 100:  # bounded: a backup that starts over on each commit must still end (and fail)
            writer.execute("INSERT INTO t (v) VALUES ('during')")  # a commit between two steps

    dest = tmp_path / "copy.db"
    pages = store_backup.backup_to(src, dest, progress=progress, pages=50)
    assert len(steps) > 5  # many steps, each followed by a commit of the writer
    assert [d for d, _ in steps] == sorted(d for d, _ in steps)  # never started over
    assert steps[-1][0] == steps[-1][1] == pages
    assert store_backup.integrity_ok(dest) is True
    conn = sqlite3.connect(dest)
    try:
        assert conn.execute("SELECT count(*) FROM t").fetchone()[0] == 2000  # as of the start, none of 'during'
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # one self-contained file
    finally:
        conn.close()
    assert writer.execute("SELECT count(*) FROM t").fetchone()[0] == 2000 + len(steps)  # every step saw a commit
    writer.close()


def test_backup_to_of_a_missing_database_is_refused(tmp_path):
    with pytest.raises(StoreError, match="数据库文件不存在"):
        store_backup.backup_to(tmp_path / "none.db", tmp_path / "copy.db")
    assert not (tmp_path / "none.db").exists()


def test_integrity_ok_names_the_problem(tmp_path):
    good = tmp_path / "good.db"
    _wal_db(good, 500).close()
    assert store_backup.integrity_ok(good) is True
    text = tmp_path / "notes.db"
    text.write_text("这不是数据库" * 1000, encoding="utf-8")
    assert isinstance(store_backup.integrity_ok(text), str)
    bad = tmp_path / "bad.db"
    bad.write_bytes(good.read_bytes())
    corrupt(bad)
    problem = store_backup.integrity_ok(bad)
    assert isinstance(problem, str) and problem
    assert isinstance(store_backup.integrity_ok(tmp_path / "none.db"), str)
    assert not (tmp_path / "none.db").exists()


def test_inspect_tells_a_hub_database_from_others(tmp_path, hub):
    facts = store_backup.inspect(hub / "hub.db")
    store = HubStore(hub / "hub.db")
    try:
        epoch = store.epoch
    finally:
        store.close()
    assert facts.hub and facts.county == COUNTY and facts.epoch == epoch and len(epoch) == 16
    assert set(facts.tables) >= {"veterans", "visits", "petitions", "petition_events", "conflicts"}
    assert facts.rows == 0
    station = Store(tmp_path / "station.db", create=True)
    station.close()
    assert store_backup.inspect(tmp_path / "station.db").hub is False
    plain = tmp_path / "plain.db"
    _wal_db(plain, 1).close()
    assert store_backup.inspect(plain).hub is False
    with pytest.raises(StoreError, match="数据库文件不存在"):
        store_backup.inspect(tmp_path / "none.db")


# --------------------------------------------------------------------------- county-hub backup


def test_backup_writes_a_checked_private_copy(tmp_path, hub):
    ok(hub, "token", "--station", VILLAGE_A)
    dest = tmp_path / "backups" / "daily"
    out = ok_json(hub, "backup", str(dest))
    path = Path(out["path"])
    assert path.parent == dest and BACKUP_NAME.match(path.name)
    assert mode(dest) == 0o700 and mode(path) == 0o600
    assert sorted(p.name for p in dest.iterdir()) == [path.name]  # no temporary file left
    assert out["bytes"] == path.stat().st_size > 0
    assert out["rows"] == sum(out["tables"].values()) == 0 and "veterans" in out["tables"]
    assert out["removed"] == [] and out["epoch"] == store_backup.inspect(hub / "hub.db").epoch
    assert store_backup.integrity_ok(path) is True
    assert tokens_of(path) == 1


def test_backup_prints_path_size_and_rows(tmp_path, hub):
    text = ok(hub, "backup", str(tmp_path / "b"))
    (only,) = list((tmp_path / "b").iterdir())
    assert f"已备份到 {only}" in text and "大小" in text and "记录 0 行" in text


def test_keep_removes_only_the_oldest_backups(tmp_path, hub):
    dest = tmp_path / "b"
    dest.mkdir()
    old = ["hub-20240101T000000Z.db", "hub-20240102T000000Z.db", "hub-20240103T000000Z.db"]
    others = ["hub-latest.db", "notes.txt", "hub-20240101T000000Z.db.bak", "hub.db.before-restore-20240101T000000Z"]
    for name in old + others:
        (dest / name).write_text(name)
    out = ok_json(hub, "backup", str(dest), "--keep", "2")
    new = Path(out["path"]).name
    assert sorted(Path(p).name for p in out["removed"]) == old[:2]
    assert sorted(p.name for p in dest.iterdir()) == sorted([new, old[2], *others])
    assert all((dest / n).read_text() == n for n in [old[2], *others])


def test_keep_must_be_positive(tmp_path, hub):
    result = cli(hub, "backup", str(tmp_path / "b"), "--keep", "0")
    assert result.exit_code == 2 and "--keep" in result.stderr
    assert not (tmp_path / "b").exists()


def test_a_copy_that_fails_its_check_is_removed(tmp_path, hub, monkeypatch):
    monkeypatch.setattr(backup_mod.store_backup, "integrity_ok", lambda path: "*** in database main *** Page 7: 坏")
    dest = tmp_path / "b"
    refused(hub, "backup", str(dest), match="未通过完整性检查")
    assert list(dest.iterdir()) == []


def test_backup_of_a_home_not_initialised_is_refused(tmp_path):
    refused(tmp_path / "nohub", "backup", str(tmp_path / "b"), match="尚未初始化")
    assert not (tmp_path / "b").exists()


def test_backup_into_a_file_is_refused(tmp_path, hub):
    (tmp_path / "f").write_text("x")
    refused(hub, "backup", str(tmp_path / "f"), match="不是目录")


# --------------------------------------------------------------------------- county-hub restore


def test_restore_puts_the_copy_back_with_a_new_epoch(tmp_path, hub):
    copy = Path(ok_json(hub, "backup", str(tmp_path / "b"))["path"])
    copy_epoch = store_backup.inspect(copy).epoch
    ok(hub, "token", "--station", VILLAGE_A)  # after the backup
    before = (hub / "hub.db").read_bytes()
    out = ok_json(hub, "restore", str(copy), "--yes")
    assert tokens_of(hub / "hub.db") == 0  # the database is the copy's
    assert out["previous_epoch"] == copy_epoch  # the copy is of the same lineage
    epoch = store_backup.inspect(hub / "hub.db").epoch
    assert out["epoch"] == epoch and epoch not in (copy_epoch, "") and len(epoch) == 16
    aside = Path(out["aside"])
    assert aside.parent == hub and re.fullmatch(r"hub\.db\.before-restore-\d{8}T\d{6}Z", aside.name)
    assert aside.read_bytes() == before and tokens_of(aside) == 1  # kept whole, the token with it
    assert mode(hub / "hub.db") == 0o600
    assert not [p.name for p in hub.iterdir() if p.name.startswith(".hub.db.restore")]
    entry = ok_json(hub, "audit")[-1]
    assert entry["kind"] == "restore" and entry["detail"]["epoch"] == epoch
    assert entry["detail"]["source"] == str(copy.resolve())
    assert store_backup.inspect(copy).epoch == copy_epoch  # the backup itself is untouched


def test_restore_twice_keeps_both_old_databases(tmp_path, hub):
    copy = Path(ok_json(hub, "backup", str(tmp_path / "b"))["path"])
    first = Path(ok_json(hub, "restore", str(copy), "--yes")["aside"])
    second = Path(ok_json(hub, "restore", str(copy), "--yes")["aside"])
    assert first != second and first.exists() and second.exists()


def test_restore_moves_a_stale_wal_aside_with_the_old_database(tmp_path, hub):
    copy = Path(ok_json(hub, "backup", str(tmp_path / "b"))["path"])
    # A hub that died: its last commit still in the -wal (copied while a connection holds it open).
    conn = sqlite3.connect(hub / "hub.db", isolation_level=None)
    conn.execute("PRAGMA wal_autocheckpoint=0")
    conn.execute("INSERT INTO _tokens (secret_hash, station, created_ms, expires_ms) VALUES ('h', 's', 0, 1)")
    wal = (hub / "hub.db-wal").read_bytes()
    main_bytes = (hub / "hub.db").read_bytes()
    conn.close()
    (hub / "hub.db").write_bytes(main_bytes)
    (hub / "hub.db-wal").write_bytes(wal)
    (hub / "hub.db-shm").write_bytes(b"\0" * 32768)
    out = ok_json(hub, "restore", str(copy), "--yes")
    aside = Path(out["aside"])
    assert not (hub / "hub.db-shm").exists() or (hub / "hub.db-shm").read_bytes() != b"\0" * 32768
    assert Path(f"{aside}-wal").read_bytes() == wal
    assert tokens_of(aside) == 1  # the old database with its last commit
    assert tokens_of(hub / "hub.db") == 0


def _other_county_copy(tmp_path: Path) -> Path:
    other = make_hub(tmp_path / "other", "440903")
    return Path(ok_json(other, "backup", str(tmp_path / "ob"))["path"])


def _station_db(tmp_path: Path) -> Path:
    Store(tmp_path / "station.db", create=True).close()
    return tmp_path / "station.db"


def _corrupt_copy(tmp_path: Path, hub: Path) -> Path:
    for n in range(40):  # enough pages that the damage is past the schema
        ok(hub, "token", "--station", VILLAGE_A)
    copy = Path(ok_json(hub, "backup", str(tmp_path / "cb"))["path"])
    corrupt(copy)
    return copy


def _text_file(tmp_path: Path) -> Path:
    path = tmp_path / "hub-20240101T000000Z.db"
    path.write_text("不是数据库\n" * 2000, encoding="utf-8")
    return path


@pytest.mark.parametrize("make_src, match", [
    (lambda tmp, hub: tmp / "missing.db", "备份文件不存在"),
    (lambda tmp, hub: _station_db(tmp), "不是县中心数据库"),
    (lambda tmp, hub: _text_file(tmp), "备份文件已损坏"),
    (lambda tmp, hub: _other_county_copy(tmp), "另一个县（440903）"),
    (lambda tmp, hub: _corrupt_copy(tmp, hub), "备份文件已损坏"),
], ids=["missing", "station-db", "not-a-database", "other-county", "corrupt"])
def test_a_bad_source_is_refused_and_changes_nothing(tmp_path, hub, make_src, match):
    src = make_src(tmp_path, hub)
    home_before = snapshot(hub)
    src_before = snapshot(src.parent) if src.parent.exists() else {}
    refused(hub, "restore", str(src), "--yes", match=match)
    assert snapshot(hub) == home_before
    assert src_before == (snapshot(src.parent) if src.parent.exists() else {})


def test_restore_without_yes_off_a_terminal_is_refused(tmp_path, hub):
    copy = Path(ok_json(hub, "backup", str(tmp_path / "b"))["path"])
    before = snapshot(hub)
    refused(hub, "restore", str(copy), match="--yes")
    assert snapshot(hub) == before


def test_restore_answered_no_on_a_terminal_changes_nothing(tmp_path, hub, monkeypatch):
    copy = Path(ok_json(hub, "backup", str(tmp_path / "b"))["path"])
    before = (hub / "hub.db").read_bytes()
    monkeypatch.setattr("county_hub.cli._on_terminal", lambda: True)
    result = CliRunner().invoke(main, ["restore", str(copy), "--home", str(hub)], input="n\n")
    assert result.exit_code == 1 and "确定恢复吗" in result.stderr and "已取消" in result.stderr
    assert (hub / "hub.db").read_bytes() == before
    assert not [p for p in hub.iterdir() if "restore" in p.name]
    result = CliRunner().invoke(main, ["restore", str(copy), "--home", str(hub)], input="y\n")
    assert result.exit_code == 0 and "新纪元" in result.stdout
    assert (hub / "hub.db").read_bytes() != before


def test_restore_of_a_home_not_initialised_is_refused(tmp_path, hub):
    copy = Path(ok_json(hub, "backup", str(tmp_path / "b"))["path"])
    refused(tmp_path / "nohub", "restore", str(copy), "--yes", match="不存在")
    (tmp_path / "empty").mkdir()
    refused(tmp_path / "empty", "restore", str(copy), "--yes", match="尚未初始化")
    assert not (tmp_path / "empty" / "hub.db").exists()


def test_restore_into_a_home_whose_database_was_lost(tmp_path, hub):
    """A disk failure took hub.db: the home's CA names the county, the copy goes back."""
    copy = Path(ok_json(hub, "backup", str(tmp_path / "b"))["path"])
    (hub / "hub.db").unlink()
    out = ok_json(hub, "restore", str(copy), "--yes")
    assert out["aside"] is None and store_backup.inspect(hub / "hub.db").county == COUNTY
    other = _other_county_copy(tmp_path)
    (hub / "hub.db").unlink()
    refused(hub, "restore", str(other), "--yes", match="另一个县")
    assert not (hub / "hub.db").exists()


def test_restore_is_refused_while_the_serve_lock_is_held(tmp_path, hub):
    copy = Path(ok_json(hub, "backup", str(tmp_path / "b"))["path"])
    before = (hub / "hub.db").read_bytes()
    fd = backup_mod.hold_serve_lock(hub)
    try:
        with pytest.raises(HomeError, match="县中心服务正在运行"):
            backup_mod.restore(hub, copy)
    finally:
        backup_mod.release_serve_lock(fd)
    assert (hub / "hub.db").read_bytes() == before
    with backup_mod.serve_lock(hub, exclusive=True):  # and a hub does not start in the middle of a restore
        with pytest.raises(HomeError, match="正在恢复"):
            backup_mod.hold_serve_lock(hub)


def test_commands_have_help_and_readme_lines():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    for name, flag in (("backup", "--keep"), ("restore", "--yes")):
        result = CliRunner().invoke(main, [name, "--help"])
        assert result.exit_code == 0 and flag in result.stdout and "--home" in result.stdout
        assert any(line.startswith(f"| `{name} ") and flag in line for line in readme.splitlines()), name
    units = Path(__file__).resolve().parent.parent / "deploy" / "systemd"
    assert "county-hub backup /var/backups/vetsync --keep 14" in (units / "vetsync-hub-backup.service").read_text()
    assert "OnCalendar=" in (units / "vetsync-hub-backup.timer").read_text()


# --------------------------------------------------------------------------- real processes


@pytest.mark.e2e
def test_backup_while_the_hub_serves_and_a_station_pushes(tmp_path):
    """A push in 20 batches runs through a slowed proxy; frozen half way (its
    stream open, some batches applied), a backup holds exactly what the hub
    holds then — everything acknowledged before, nothing half of a batch — and a
    second backup taken while the push goes on passes its check too."""
    hub = Hub(tmp_path / "hub").start()
    proxy = None
    try:
        station = Station(tmp_path / "va", VILLAGE_A).enroll(hub)
        acked = {station.add_veteran(id_number(i), f"李{i}") for i in range(5)}
        station.sync()
        roster = tmp_path / "roster.csv"
        roster.write_text("姓名,身份证号\n" + "".join(f"王{i},{id_number(i)}\n" for i in range(5, 205)), encoding="utf-8")
        assert station.cli_json("import", str(roster), "--area", VILLAGE_A)["created"] == 200
        proxy = GateProxy(hub.port, rate_up=30_000)
        set_station_meta(station.home, "hub", f"127.0.0.1:{proxy.port}")
        push = subprocess.Popen(
            [str(Path(HUB).with_name("station-node")), "sync", "--json", "--batch-rows", "10", "--home", str(station.home)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL,
        )
        try:
            wait_for(lambda: len(_ids(hub.home / "hub.db")) >= len(acked) + 20, 60, what="two pushed batches")
            proxy.freeze()
            at_hub = _ids(hub.home / "hub.db")
            assert acked < at_hub and len(at_hub) < 205 and len(at_hub) % 10 == 5  # whole batches, push not done
            frozen = Path(json.loads(hub.cli("backup", str(tmp_path / "b"), "--json").stdout)["path"])
            proxy.thaw(unthrottle=False)
            moving = Path(json.loads(hub.cli("backup", str(tmp_path / "b2"), "--json").stdout)["path"])
        finally:
            out, err = push.communicate(timeout=120)
        assert push.returncode == 0, err
        assert json.loads(out)["pushed"] == 200
        final = _ids(hub.home / "hub.db")
        assert len(final) == 205
        assert store_backup.integrity_ok(frozen) is True and _ids(frozen) == at_hub
        assert store_backup.integrity_ok(moving) is True and at_hub <= _ids(moving) <= final
        for copy in (frozen, moving):
            facts = store_backup.inspect(copy)
            assert facts.tables["veterans"] == len(_ids(copy))
            assert facts.epoch == store_backup.inspect(hub.home / "hub.db").epoch
    finally:
        if proxy is not None:
            proxy.close()
        hub.stop()


def _ids(db: Path) -> set[str]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        return {r[0] for r in conn.execute("SELECT id FROM veterans")}
    finally:
        conn.close()


@pytest.mark.e2e
def test_restore_refused_while_serving_then_done_when_stopped(tmp_path):
    hub = Hub(tmp_path / "hub").start()
    try:
        station = Station(tmp_path / "va", VILLAGE_A).enroll(hub)
        first = station.add_veteran(id_number(1), "李一")
        station.sync()
        copy = Path(json.loads(hub.cli("backup", str(tmp_path / "b"), "--json").stdout)["path"])
        station.add_veteran(id_number(2), "王二")
        station.sync()
        before = (hub.home / "hub.db").read_bytes()
        line = one_line_error(hub.cli("restore", str(copy), "--yes", check=False))
        assert "县中心服务正在运行" in line and "停止" in line
        assert (hub.home / "hub.db").read_bytes() == before
        assert not [p for p in hub.home.iterdir() if "restore" in p.name]
        old_epoch = store_backup.inspect(hub.home / "hub.db").epoch
        assert hub.stop() == 0
        out = json.loads(hub.cli("restore", str(copy), "--yes", "--json").stdout)
        assert out["epoch"] != old_epoch and _ids(hub.home / "hub.db") == {first}
        assert len(_ids(Path(out["aside"]))) == 2
        hub.start()  # serves the restored database, the station still enrolled
        assert [s["station"] for s in hub.cli_json("stations")] == [VILLAGE_A]
        assert store_backup.inspect(hub.home / "hub.db").epoch == out["epoch"]
        line = one_line_error(hub.cli("restore", str(copy), "--yes", check=False))
        assert "正在运行" in line
    finally:
        hub.stop()
