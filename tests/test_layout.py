"""The layout's import rules (README "Layout", DESIGN §2), read from the code.

Every module of ours is parsed and its imports are held to the table below:
the engine imports neither the domain, gRPC, the CLI nor sqlite3 outside the
store package; the stores import no domain; ``county_hub`` and
``station_node`` never import each other. An import under ``if
TYPE_CHECKING:`` is a type annotation only and is not counted. A second test
imports each engine module in a fresh interpreter and looks at what came in
with it, so that nothing slips in through a module we do not parse.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OURS = ("sync", "veterans", "vetsync_cli", "vetsync_web", "county_hub", "station_node")
THIRD_PARTY_UI = ("click", "rich")
NETWORK = ("grpc", "grpc_health", "cryptography")

# package (a path prefix) -> the top-level names and sub-packages it must not import.
RULES: dict[str, tuple[str, ...]] = {
    "sync/engine/": ("sync.store", "sync.wire", "veterans", "vetsync_cli", "county_hub", "station_node",
                     "sqlite3", "sqlite_utils", "openpyxl", *NETWORK, *THIRD_PARTY_UI),
    "sync/wire/": ("sync.store", "veterans", "vetsync_cli", "county_hub", "station_node",
                   "sqlite3", "sqlite_utils", "openpyxl", "cryptography", *THIRD_PARTY_UI),
    "sync/store/": ("sync.wire", "veterans", "vetsync_cli", "county_hub", "station_node",
                    "openpyxl", *NETWORK, *THIRD_PARTY_UI),
    "sync/__init__": ("veterans", "vetsync_cli", "county_hub", "station_node", *NETWORK, *THIRD_PARTY_UI),
    "veterans/": ("vetsync_cli", "county_hub", "station_node", "sqlite3", *NETWORK, *THIRD_PARTY_UI),
    "vetsync_cli/": ("county_hub", "station_node", "sqlite3", *NETWORK),
    "vetsync_web/": ("county_hub", "station_node", "sqlite3", "click", "rich", *NETWORK),
    "county_hub/": ("station_node", "sqlite3"),
    "station_node/": ("county_hub", "sqlite3"),
}
# The generated stubs import grpc (DESIGN §2: "grpc only in the generated stubs").
GENERATED = "sync/wire/gen/"


def _modules() -> list[tuple[str, Path]]:
    out = []
    for package in OURS:
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if not rel.startswith(GENERATED):
                out.append((rel, path))
    return out


def _type_checking_only(tree: ast.AST) -> set[int]:
    """Line numbers of the imports inside ``if TYPE_CHECKING:`` blocks."""
    lines = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", getattr(node.test, "attr", None)) == "TYPE_CHECKING":
            for inner in node.body:
                for sub in ast.walk(inner):
                    if isinstance(sub, (ast.Import, ast.ImportFrom)):
                        lines.add(sub.lineno)
    return lines


def imports_of(path: Path) -> set[str]:
    """Every module a file imports at run time (``from a.b import c`` gives ``a.b`` and ``a.b.c``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _type_checking_only(tree)
    names: set[str] = set()
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in skip:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return names


def _names(module: str, forbidden: str) -> bool:
    return module == forbidden or module.startswith(forbidden + ".")


def test_every_package_of_the_layout_exists_and_holds_modules():
    for prefix in RULES:
        found = [rel for rel, _ in _modules() if rel.startswith(prefix)]
        assert found, prefix


def test_imports_follow_the_layout():
    broken = {}
    for rel, path in _modules():
        forbidden = [f for prefix, names in RULES.items() if rel.startswith(prefix) for f in names]
        bad = sorted(m for m in imports_of(path) if any(_names(m, f) for f in forbidden))
        if bad:
            broken[rel] = bad
    assert not broken, broken


def test_the_rules_see_a_forbidden_import(tmp_path):
    """The checker itself: a module importing the domain is caught, one under TYPE_CHECKING is not."""
    bad = tmp_path / "bad.py"
    bad.write_text("from typing import TYPE_CHECKING\nimport veterans.values\n"
                   "if TYPE_CHECKING:\n    from county_hub import cli\n", encoding="utf-8")
    found = imports_of(bad)
    assert "veterans.values" in found and not any(m.startswith("county_hub") for m in found)


def test_sqlite_is_imported_only_by_the_store_package():
    users = sorted(rel for rel, path in _modules() if any(_names(m, "sqlite3") for m in imports_of(path)))
    assert users and all(rel.startswith("sync/store/") for rel in users), users


def test_hub_and_station_never_import_each_other():
    for rel, path in _modules():
        names = imports_of(path)
        if rel.startswith("county_hub/"):
            assert not any(_names(m, "station_node") for m in names), rel
        if rel.startswith("station_node/"):
            assert not any(_names(m, "county_hub") for m in names), rel


ENGINE_MODULES = sorted(
    "sync.engine." + p.stem for p in (ROOT / "sync" / "engine").glob("*.py") if p.stem != "__init__"
)


@pytest.mark.parametrize("module", ENGINE_MODULES)
def test_an_engine_module_brings_in_no_domain_network_or_database(module):
    code = f"import sys, {module}; print(' '.join(sorted(sys.modules)))"
    loaded = set(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                                cwd=ROOT).stdout.split())
    assert module in loaded
    unwanted = {m for m in loaded if any(_names(m, f) for f in
                                        ("veterans", "county_hub", "station_node", "vetsync_cli", "sync.store",
                                         "sqlite3", "grpc", "click", "rich", "cryptography"))}
    assert not unwanted, unwanted


def test_sync_exports_a_short_list():
    import sync

    assert 0 < len(sync.__all__) <= 12
    for name in sync.__all__:
        assert getattr(sync, name) is not None, name
