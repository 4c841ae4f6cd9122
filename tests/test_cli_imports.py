"""Imports among the station's command modules go one way: ``station_node.cli``
imports the command modules, and they import only the shared chrome
(``station_node.cli_common``), never ``station_node.cli`` back."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "station_node"
COMMAND_MODULES = sorted(p for p in PACKAGE.glob("cli_*.py"))


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
