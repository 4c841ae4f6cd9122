"""What the station's command line imports.

Imports among the station's command modules go one way: ``station_node.cli``
names the command modules (and loads one when one of its commands is asked
for), and they import only the shared chrome (``station_node.cli_common``),
never ``station_node.cli`` back.

Start-up: a local command (``veteran show``/``list``, ``visit list``,
``petition list``) runs, in a fresh interpreter, without loading gRPC, the
generated protobuf modules, cryptography, the migrations (the schema is
current) or another command's module; with ``--json`` without Rich either.
"""

from __future__ import annotations

import ast
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import click
import pytest

from station_node import home as home_mod
from station_node import records
from station_node.cli import COMMANDS, EXTENDS, main
from sync.store import migrations, rows
from sync.store.station import Store
from veterans.values import id_number_check_digit

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "station_node"
COMMAND_MODULES = sorted(p for p in PACKAGE.glob("cli_*.py"))

VILLAGE = "440902001001"


def _imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return names


def test_there_are_command_modules():
    assert {p.stem for p in COMMAND_MODULES} >= {"cli_common", "cli_records", "cli_roster", "cli_conflicts", "cli_sync"}


@pytest.mark.parametrize("path", COMMAND_MODULES, ids=lambda p: p.stem)
def test_a_command_module_never_imports_the_entry_point(path):
    assert "station_node.cli" not in _imported(path), f"{path.name} imports station_node.cli (a cycle)"


def test_the_chrome_imports_no_command_module():
    imported = _imported(PACKAGE / "cli_common.py")
    assert not {m for m in imported if m.startswith("station_node.cli_")}, imported


# --------------------------------------------------------------------------- the lazy group


def test_the_command_map_names_what_each_module_registers():
    """COMMANDS (station_node.cli) is what loads a module: each name in it is
    registered by its module, and each command a module registers is in it."""
    for module_name in sorted(set(COMMANDS.values())):
        scratch = click.Group("scratch")
        __import__(module_name, fromlist=["register"]).register(scratch)
        for extension in EXTENDS.get(module_name, ()):  # adds commands to its groups, none of its own
            __import__(extension, fromlist=["register"]).register(scratch)
        named = {name for name, mod in COMMANDS.items() if mod == module_name}
        assert set(scratch.commands) == named, (module_name, sorted(scratch.commands), sorted(named))
    ctx = click.Context(main)
    assert main.list_commands(ctx) == sorted({"init", *COMMANDS})
    for name in COMMANDS:
        assert main.get_command(ctx, name).name == name
    assert main.get_command(ctx, "nonsense") is None


def test_every_command_module_is_in_the_map():
    modules = {f"station_node.{p.stem}" for p in COMMAND_MODULES if p.stem != "cli_common"}
    assert set(COMMANDS.values()) | {m for ext in EXTENDS.values() for m in ext} == modules
    assert set(EXTENDS) <= set(COMMANDS.values())


def test_the_store_knows_the_newest_migration():
    assert rows.CURRENT_MIGRATION == migrations.NEWEST, (
        f"a migration was added: set sync.store.rows.CURRENT_MIGRATION = {migrations.NEWEST}")


def test_an_older_database_is_still_migrated_at_open(tmp_path):
    """The fast open skips the migrations only for a database at the newest one."""
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    migrations.migrate(conn, upto=migrations.NEWEST - 1)
    conn.close()
    store = Store(path)
    try:
        assert migrations.current_version(store.conn) == migrations.NEWEST
    finally:
        store.close()


def test_a_newer_database_is_still_refused_at_open(tmp_path):
    path = tmp_path / "new.db"
    Store(path, create=True).close()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("INSERT INTO _migrations VALUES (?, ?, ?)", (migrations.NEWEST + 1, "from a newer vetsync", 0))
    conn.close()
    with pytest.raises(Exception, match="比本程序支持的"):
        Store(path)


# --------------------------------------------------------------------------- what a local command loads

# Never loaded by a local command: the network (gRPC, protobuf, TLS identities), the
# migrations of an already current schema, the hub's store, a sync's pruning, the Excel library.
NOT_LOCAL = ("grpc", "grpc_health", "google.protobuf", "cryptography", "sync.wire", "sync.store.migrations",
             "sync.store.hub", "sync.store.retention", "openpyxl", "station_node.cli_sync", "station_node.session",
             "station_node.client", "station_node.cli_roster")

_PROBE = """
import json, sys
from station_node.cli import main
args, out = json.loads(sys.argv[1]), sys.argv[2]
try:
    main(args, prog_name="station-node")
    code = 0
except SystemExit as exc:
    code = exc.code
with open(out, "w", encoding="utf-8") as f:
    json.dump({"exit": code, "modules": sorted(sys.modules)}, f)
"""


def _loaded_by(tmp_path: Path, *args: str) -> set[str]:
    """The modules a fresh interpreter holds after running ``station-node ARGS``."""
    out = tmp_path / "modules.json"
    proc = subprocess.run([sys.executable, "-c", _PROBE, json.dumps(list(args)), str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert out.exists(), proc.stderr
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["exit"] == 0, (args, proc.stdout[-2000:], proc.stderr[-2000:])
    return set(result["modules"])


def _hits(modules: set[str], prefixes) -> list[str]:
    return sorted(m for m in modules if any(m == p or m.startswith(p + ".") for p in prefixes))


@pytest.fixture(scope="module")
def station(tmp_path_factory):
    """A village station with one veteran, one visit and one petition; the check at open done."""
    home = tmp_path_factory.mktemp("station")
    store = home_mod.init_offline(home, VILLAGE)
    try:
        body = "44090219600101001"
        vet = records.add_veteran(store, {"id_number": body + id_number_check_digit(body), "name": "张三",
                                          "area": VILLAGE})
        records.add_visit(store, vet["id"], "phone", date="2026-01-05", summary="电话问候")
        records.open_petition(store, veteran_id=vet["id"], channel="letter", summary="咨询优待政策",
                              received="2026-01-02")
    finally:
        store.close()
    home_mod.open_store(home).close()
    return home, vet["id"]


def _local_commands(vet_id: str) -> list[tuple[str, ...]]:
    return [("veteran", "show", vet_id), ("veteran", "list"), ("visit", "list", "--veteran", vet_id),
            ("visit", "list"), ("petition", "list"), ("petition", "list", "--overdue")]


@pytest.mark.parametrize("index", range(6))
def test_a_local_command_loads_no_network_and_no_migrations(station, tmp_path, index):
    home, vet_id = station
    args = _local_commands(vet_id)[index]
    modules = _loaded_by(tmp_path, *args, "--home", str(home))
    assert not _hits(modules, NOT_LOCAL), (args, _hits(modules, NOT_LOCAL))
    # what it does need, loaded (the probe ran the command: exit 0, its module and the store)
    assert {"station_node.cli_records", "sync.store.station"} <= modules, args


@pytest.mark.parametrize("index", range(6))
def test_a_local_command_with_json_loads_no_rich(station, tmp_path, index):
    home, vet_id = station
    args = _local_commands(vet_id)[index]
    modules = _loaded_by(tmp_path, *args, "--json", "--home", str(home))
    assert not _hits(modules, (*NOT_LOCAL, "rich")), (args, _hits(modules, (*NOT_LOCAL, "rich")))
    assert "station_node.cli_records" in modules


def test_the_network_commands_do_load_it(station, tmp_path):
    """The probe can see the difference: ``status`` loads the sync session's module."""
    home, _ = station
    modules = _loaded_by(tmp_path, "status", "--json", "--home", str(home))
    assert "station_node.cli_sync" in modules and _hits(modules, ("grpc",))


def test_home_given_before_the_command(tmp_path):
    """``station-node --home DIR veteran list``: the top group's --home reaches the command;
    the command's own --home wins over it."""
    from click.testing import CliRunner

    a, b = tmp_path / "a", tmp_path / "b"
    for home, name in ((a, "张三"), (b, "李四")):
        store = home_mod.init_offline(home, VILLAGE)
        body = "44090219600101001" if home == a else "44090219700202002"
        records.add_veteran(store, {"id_number": body + id_number_check_digit(body), "name": name, "area": VILLAGE})
        store.close()

    def names(*args):
        result = CliRunner().invoke(main, [*args, "--json"])
        assert result.exit_code == 0, result.output
        return [r["name"] for r in json.loads(result.stdout)]

    assert names("--home", str(a), "veteran", "list") == ["张三"]
    assert names("--home", str(a), "veteran", "list", "--home", str(b)) == ["李四"]
    result = CliRunner().invoke(main, ["--home", str(tmp_path / "none"), "veteran", "list"])
    assert result.exit_code == 1 and result.stderr == f"错误：站点目录 {tmp_path / 'none'} 尚未初始化（请先运行 station-node init）\n"


def test_a_write_of_its_own_does_not_make_the_next_command_check_the_file(tmp_path, monkeypatch):
    """The file changes when SQLite folds a command's writes into it at close; that
    change is stamped good then, so the next command opens without the quick check
    (0.2–1 s at a county). A change from outside is still checked."""
    home = tmp_path / "home"
    home_mod.init_offline(home, VILLAGE).close()
    checks = []
    real = home_mod.check_database
    monkeypatch.setattr(home_mod, "check_database", lambda path: checks.append(path) or real(path))
    home_mod.open_store(home).close()
    assert len(checks) == 1  # never checked before
    db = home_mod.db_path(home)
    before = db.stat().st_mtime_ns, db.stat().st_size
    store = home_mod.open_store(home)
    body = "44090219600101001"
    records.add_veteran(store, {"id_number": body + id_number_check_digit(body), "name": "张三", "area": VILLAGE})
    store.close()
    assert (db.stat().st_mtime_ns, db.stat().st_size) != before  # the write reached the file at close
    home_mod.open_store(home).close()
    assert len(checks) == 1, "a write of our own made the next open check the whole file"
    st = db.stat()
    os.utime(db, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))  # a change from outside
    home_mod.open_store(home).close()
    assert len(checks) == 2
