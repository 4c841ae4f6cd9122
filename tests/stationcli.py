"""The station CLI run in process, for the CLI tests: ``run`` (the result), ``ok`` (its
stdout, after checking it succeeded), ``ok_json`` (its ``--json`` output, parsed),
``refused`` (its one 错误 line, after checking the database is unchanged)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from click.testing import CliRunner

from station_node.cli import main


def run(home: Path, *args: str, env: dict | None = None):
    return CliRunner().invoke(main, [*args, "--home", str(home)], env=env)


def ok(home: Path, *args: str, env: dict | None = None) -> str:
    result = run(home, *args, env=env)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result.stdout


def ok_json(home: Path, *args: str):
    return json.loads(ok(home, *args, "--json"))


def dump(home: Path) -> str:
    """The station database as SQL text: what a refused command must leave unchanged."""
    conn = sqlite3.connect(home / "station.db")
    try:
        return "\n".join(conn.iterdump())
    finally:
        conn.close()


def refused(home: Path, *args: str) -> str:
    """The one 错误 line on stderr of a refused command (exit 1), the database unchanged."""
    before = dump(home)
    result = run(home, *args)
    assert result.exit_code == 1, (result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("错误："), result.stderr
    assert dump(home) == before
    return lines[0]
