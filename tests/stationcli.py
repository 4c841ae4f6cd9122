"""The station CLI run in process, for the CLI tests: ``run`` (the result), ``ok`` (its
stdout, after checking it succeeded), ``ok_json`` (its ``--json`` output, parsed)."""

from __future__ import annotations

import json
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
