"""The benchmarks, end to end at a tiny scale, so that they never rot.

Runs ``python -m bench.run`` as a subprocess (real hub process, mutual TLS on
127.0.0.1, station subprocesses, 10 stations instead of 300) and checks that
every figure is there and positive. No timing assertions: this machine's
speed is not what is tested.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

FIGURES = {
    "limit_sqlite_executemany": "rows/s",
    "limit_grpc_stream": "rows/s",
    "initial_push": "rows/s",
    "initial_push_session": "s",
    "bootstrap_pull": "rows/s",
    "incremental": "s",
    "incremental_push": "s",
    "incremental_pull": "s",
    "noop_warm_channel": "ms",
    "noop_station_node_sync": "ms",
    "many_stations_total": "s",
    "many_stations_p50": "s",
    "many_stations_p99": "s",
    "memory_station_initial_push": "MB",
    "memory_hub_initial_push": "MB",
    "memory_station_bootstrap_pull": "MB",
    "memory_hub_bootstrap_pull": "MB",
    "recovery_push_s": "s",
    "backup_size_mb": "MB",
    "backup_s": "s",
    "recovery_s": "s",
    "recovery_offered": "rows/s",
    "recovery_taken": "rows/s",
    "recovery_vs_push": "×",
}
CLI_FIGURES = {
    "cli_veteran_list": "s",
    "cli_veteran_show": "s",
    "cli_visit_list_veteran": "s",
    "cli_petition_list": "s",
    "cli_petition_list_overdue": "s",
    "cli_veteran_show_empty": "ms",
    "cli_python_startup": "ms",
    "cli_startup_vs_python": "×",
}
FIGURES.update(CLI_FIGURES)


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_bench_runs_end_to_end(tmp_path):
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, "-m", "bench.run", "--scale", "0.01", "--runs", "1", "--stations", "10", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=170, stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, f"stdout:\n{proc.stdout[-4000:]}\nstderr:\n{proc.stderr[-4000:]}"
    result = json.loads(out.read_text())
    assert result["problems"] == [] and result["failed"] == []
    figures = result["figures"]
    assert set(FIGURES) <= set(figures), f"missing: {set(FIGURES) - set(figures)}"
    for name, unit in FIGURES.items():
        fig = figures[name]
        assert fig["unit"] == unit, name
        assert fig["runs"] >= 1 and fig["value"] > 0 and fig["min"] > 0, (name, fig)
        assert f"{name} " in proc.stdout, f"no printed line for {name}"
    assert set(result["limits"]) == {"sqlite", "grpc"}
    assert figures["initial_push"]["ratio"].keys() == {"sqlite", "grpc"}
    assert result["meta"]["rows"]["total"] > 0
    assert result["meta"]["many_stations"]["stations"] == 10
    # The restored hub held no row; its 10 stations gave every row of their villages back (the scenario
    # itself compares the hub's tables with the dataset and reports any difference as a problem).
    rec = result["meta"]["recovery"]
    assert rec["stations"] == 10 and rec["restored_rows"] == 0
    assert rec["taken"] == rec["offered"] == rec["rows"] == sum(rec["tables"].values()) > 0
    assert rec["fresh_station"]["pulled"] == sum(rec["fresh_station"]["tables"].values()) > 0


@pytest.mark.slow
def test_only_runs_what_is_asked_and_its_setup(tmp_path):
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, "-m", "bench.run", "--scale", "0.01", "--runs", "1", "--only", "noop", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    figures = json.loads(out.read_text())["figures"]
    assert set(figures) == {"noop_warm_channel", "noop_station_node_sync"}
    assert all(f["value"] > 0 for f in figures.values())


@pytest.mark.slow
@pytest.mark.timeout(90)
def test_cli_scenario_alone(tmp_path):
    """``--only cli`` needs no hub: the county station and the empty one are made from the
    template; every command ran (exit 0, something printed) and has its target line."""
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, "-m", "bench.run", "--scale", "0.01", "--runs", "1", "--only", "cli", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=80, stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    result = json.loads(out.read_text())
    assert result["problems"] == [] and result["failed"] == []
    figures = result["figures"]
    assert set(figures) == set(CLI_FIGURES)
    for name, unit in CLI_FIGURES.items():
        assert figures[name]["unit"] == unit and figures[name]["value"] > 0 and figures[name]["runs"] >= 3, name
    for name in ("cli_veteran_list", "cli_veteran_show", "cli_visit_list_veteran", "cli_petition_list",
                 "cli_petition_list_overdue", "cli_startup_vs_python"):
        assert figures[name]["target"]["status"] in ("ok", "MISSED"), name
        assert f"{name} " in proc.stdout and "target <=" in proc.stdout
    info = result["meta"]["cli"]
    assert info["visits_of_veteran"] >= 1 and len(info["veteran"]) == 36
    assert all(c["lines"] > 0 for c in info["commands"].values()), info["commands"]
    assert info["startup"]["python_ms"] > 0
