"""Run the benchmarks: ``python -m bench.run [--scale S] [--runs N] [--out FILE] [--only SCENARIO ...]``.

Prints one line per figure — ``name  value unit  (runs=N min=… median=… max=…)``,
its ratio to the limits measured in the same run, and the issue's target —
and writes every figure to a JSON file (default ``bench/results/latest.json``).
See ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

from bench.scenarios import DEPENDS, SCENARIOS, Bench, Figure

ROOT = Path(__file__).resolve().parent.parent
ORDER = ["limits", "initial_push", "bootstrap_pull", "incremental", "noop", "many_stations", "recovery", "cli", "web"]

# name → (comparison, must reach, aim), from the issue (scale 1.0, 2 cores, loopback, mTLS, durable commits)
TARGETS = {
    "initial_push": (">=", 30_000, 60_000),
    "bootstrap_pull": (">=", 30_000, 60_000),
    "incremental": ("<=", 0.3, 0.1),
    "noop_warm_channel": ("<=", 10, 3),
    "noop_station_node_sync": ("<=", 600, 300),
    "many_stations_total": ("<=", 15, 5),
    # issue 11: the restored hub healed by every station within 3× (aim 2×) the stations' first push of the county
    "recovery_vs_push": ("<=", 3, 2),
    # issue 12: local commands at a station holding the county, each ≤ 0.3 s; start-up within 6× a bare interpreter
    "cli_veteran_list": ("<=", 0.3, None),
    "cli_veteran_show": ("<=", 0.3, None),
    "cli_visit_list_veteran": ("<=", 0.3, None),
    "cli_petition_list": ("<=", 0.3, None),
    "cli_petition_list_overdue": ("<=", 0.3, None),
    "cli_startup_vs_python": ("<=", 6, None),
    # issue 13: the station's page at a station holding the county (p95 of each page ≤ 100 ms, search ≤ 50 ms)
    "web_veteran_list_p95": ("<=", 100, None),
    "web_search_as_you_type_p95": ("<=", 50, None),
    "web_search_pinyin_p95": ("<=", 50, None),
    "web_record_page_p95": ("<=", 100, None),
    "web_home_p95": ("<=", 100, None),
    "memory_station_initial_push": ("<=", 200, 120),
    "memory_hub_initial_push": ("<=", 200, 120),
    "memory_station_bootstrap_pull": ("<=", 200, 120),
    "memory_hub_bootstrap_pull": ("<=", 200, 120),
}
LIMITS = {"limit_sqlite_executemany": "sqlite", "limit_grpc_stream": "grpc"}


def _num(value: float, unit: str) -> str:
    if unit == "rows/s":
        return f"{value:,.0f}"
    if unit == "s":
        return f"{value:.3f}"
    return f"{value:,.1f}"


def ratios(fig: Figure, limits: dict[str, float]) -> dict[str, float]:
    """Throughput of a figure as a fraction of each limit (rows/s figures, and
    time figures that move a known number of rows)."""
    if fig.name in LIMITS:
        return {}
    if fig.unit == "rows/s":
        rate = fig.value
    elif fig.unit == "s" and fig.rows and fig.value > 0:
        rate = fig.rows / fig.value
    else:
        return {}
    return {key: rate / limit for key, limit in limits.items() if limit > 0}


def target_status(fig: Figure) -> tuple[str, str] | None:
    if fig.name not in TARGETS:
        return None
    op, must, aim = TARGETS[fig.name]
    v = fig.value
    ok = (lambda x: v >= x) if op == ">=" else (lambda x: v <= x)
    if aim is None:  # one target, no aim beyond it
        return f"{op}{_num(must, fig.unit)}", "ok" if ok(must) else "MISSED"
    status = "aim met" if ok(aim) else "ok" if ok(must) else "MISSED"
    return f"{op}{_num(must, fig.unit)} (aim {op}{_num(aim, fig.unit)})", status


def line(fig: Figure, limits: dict[str, float]) -> str:
    s = fig.samples
    out = (f"{fig.name:<32} {_num(fig.value, fig.unit):>12} {fig.unit:<7} "
           f"(runs={len(s)} min={_num(min(s), fig.unit)} median={_num(fig.value, fig.unit)} max={_num(max(s), fig.unit)})")
    r = ratios(fig, limits)
    if r:
        out += "  " + " ".join(f"{r[k]:.3f}×{k}" for k in ("sqlite", "grpc") if k in r)
    t = target_status(fig)
    if t:
        out += f"  target {t[0]}: {t[1]}"
    return out


def _git_rev() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              timeout=10).stdout.strip()
    except OSError:
        return ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description="vetsync benchmarks (see bench/README.md)")
    parser.add_argument("--scale", type=float, default=1.0, help="dataset scale: 1.0 = a county, ~263,000 rows")
    parser.add_argument("--runs", type=int, default=3, help="repetitions of each scenario (no-op: at least 20 / 5)")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "latest.json"), help="JSON file of the figures")
    parser.add_argument("--only", nargs="+", choices=[*ORDER, "memory"], metavar="SCENARIO",
                        help=f"run only these ({', '.join([*ORDER, 'memory'])}); what they need runs as setup")
    parser.add_argument("--stations", type=int, default=300, help="stations in the many-stations and recovery scenarios")
    parser.add_argument("--incremental-rows", type=int, default=1000, help="rows edited in the incremental scenario")
    parser.add_argument("--client-procs", type=int, default=2, help="client processes driving the many stations")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", default=None, help="keep the working files here (default: a temp dir, removed)")
    args = parser.parse_args(argv)
    if args.scale <= 0 or args.runs < 1 or args.stations < 1:
        parser.error("--scale must be > 0, --runs and --stations ≥ 1")

    selected = set(args.only or [*ORDER, "memory"])
    needed = set(selected)
    for name in list(selected):
        needed.update(DEPENDS.get(name, ()))

    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="vetsync-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    bench = Bench(workdir, args.scale, args.runs, seed=args.seed, stations=args.stations,
                  client_procs=args.client_procs, log=lambda s: print(s, flush=True))
    bench.incremental_rows = args.incremental_rows
    started = time.perf_counter()
    failed: list[str] = []
    try:
        bench.prepare()
        for name in ORDER:
            if name not in needed:
                continue
            runs = args.runs if name in selected or (name in ("initial_push", "bootstrap_pull") and "memory" in selected) else 1
            print(f"== {name}" + ("" if name in selected or runs > 1 else " (setup)"), flush=True)
            t0 = time.perf_counter()
            try:
                SCENARIOS[name](bench, runs)
            except Exception as exc:  # noqa: BLE001 - report it, go on with what does not depend on it
                failed.append(name)
                bench.problem(f"{name} failed: {type(exc).__name__}: {exc}")
                traceback.print_exc()
                if name in ("initial_push", "bootstrap_pull"):
                    needed -= {n for n, deps in DEPENDS.items() if name in deps}
            print(f"   ({time.perf_counter() - t0:.1f} s)", flush=True)
    finally:
        bench.close()
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)

    figures = [f for f in bench.figures if f.scenario in selected]
    limits = {LIMITS[f.name]: f.value for f in bench.figures if f.name in LIMITS}
    print()
    print(f"vetsync bench — scale {args.scale} ({bench.info.get('rows', {}).get('total', 0):,} rows), "
          f"runs {args.runs}, {os.cpu_count()} cores, {time.perf_counter() - started:.0f} s")
    for fig in figures:
        print(line(fig, limits))
    for p in bench.problems:
        print(f"PROBLEM: {p}")

    import grpc

    result = {
        "meta": {
            "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"), "git": _git_rev(),
            "scale": args.scale, "runs": args.runs, "seed": args.seed, "stations": args.stations,
            "client_procs": args.client_procs, "cores": os.cpu_count(), "python": platform.python_version(),
            "grpc": grpc.__version__, "sqlite": sqlite3.sqlite_version, "platform": platform.platform(),
            "seconds": round(time.perf_counter() - started, 1), **bench.info,
        },
        "limits": limits,
        "figures": {
            f.name: {
                "value": f.value, "unit": f.unit, "runs": len(f.samples), "min": min(f.samples),
                "median": f.value, "max": max(f.samples), "samples": f.samples, "scenario": f.scenario,
                "ratio": ratios(f, limits), **({"note": f.note} if f.note else {}),
                **({"target": dict(zip(("goal", "status"), t))} if (t := target_status(f)) else {}),
            }
            for f in figures
        },
        "problems": bench.problems,
        "failed": failed,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
    print(f"figures written to {out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
