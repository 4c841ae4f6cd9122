"""Subprocess entry points of the benchmark, so that what is measured runs in a
process of its own (its peak RSS is its own, and it does not share the
benchmark driver's GIL):

- ``sync HOME``: one ``sync_once`` of a station (``station_node.session.connect``),
  timing the push and pull phases; prints one JSON line with the report, the
  phase times and the process's peak RSS (VmHWM).
- ``many SPEC.json``: many stations synced at once from threads of this one
  process: edits each station's rows (untimed), prints ``ready``, waits for
  ``go`` on stdin, then starts one thread per station behind a barrier; each
  thread connects (its own channel, its own certificate) and runs ``sync_once``.
  Prints one JSON line with every station's start, end, seconds and report
  (pushed, pulled, …, and what a recovering session re-offered: ``recovered``,
  ``recovery_refused``). ``"rows": 0`` edits nothing (the recovery scenario).
- ``echo-server KEY CERT CA``: the gRPC limit's server: a generic stream-stream
  handler over mutual TLS that ignores each request's bytes and answers each
  with an empty message. Prints ``port N``; serves until stdin closes.

Run as ``python -m bench.worker ...``.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path

EDIT_FIELDS = {
    # the field written in each table, per scenario: different fields, so that
    # scenarios never build on each other's versions
    "incremental": {"visits": "follow_up", "veterans": "note", "petitions": "handler", "petition_events": "actor"},
    "many": {"visits": "summary", "veterans": "needs", "petitions": "summary", "petition_events": "note"},
}


def vm_hwm_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _cpu() -> float:
    import resource

    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def edit_rows(store, scope: str, n: int, kind: str, tag: str) -> int:
    """``store.write`` one field of up to ``n`` existing rows in ``scope`` (visits
    first, then veterans, petitions, events), all in one transaction."""
    from sync.engine.scope import scope_range

    lo, hi = scope_range(scope)
    done = 0
    with store.transaction():
        for table, field in EDIT_FIELDS[kind].items():
            if done >= n:
                break
            ids = [r[0] for r in store.conn.execute(
                f'SELECT id FROM "{table}" WHERE area >= ? AND area < ? AND deleted IS NOT 1 ORDER BY id LIMIT ?',
                (lo, hi, n - done))]
            for i, row_id in enumerate(ids):
                store.write(table, row_id, {field: f"基准测试修改 {tag} 第{done + i + 1}条"})
            done += len(ids)
    return done


def _sync(home: Path) -> dict:
    from station_node.home import open_store
    from station_node.session import connect
    from sync.engine.replicate import sync_once

    from vetsync_cli.process import tune_gc

    tune_gc()  # as `station-node sync` does
    store = open_store(home)
    marks = {"push_end": None}

    def progress(phase: str, _rows: int) -> None:
        if phase == "push":
            marks["push_end"] = time.perf_counter()

    try:
        c0, t0 = _cpu(), time.perf_counter()
        with connect(home, store) as hub:
            report = sync_once(store, hub, progress=progress)
        t1 = time.perf_counter()
    finally:
        store.close()
    push_end = marks["push_end"] or t0
    return {
        "pushed": report.pushed, "pulled": report.pulled, "rejected": report.rejected, "conflicts": report.conflicts,
        "session_s": t1 - t0, "push_s": push_end - t0 if marks["push_end"] else 0.0, "pull_s": t1 - push_end,
        "rss_mb": vm_hwm_mb(), "cpu_s": _cpu() - c0,
    }


def _many(spec_path: Path) -> None:
    from station_node.home import open_store
    from station_node.session import connect
    from sync.engine.replicate import sync_once

    spec = json.loads(Path(spec_path).read_text())
    stations = []
    for entry in spec["stations"]:
        home = Path(entry["home"])
        store = open_store(home)
        edited = edit_rows(store, entry["code"], spec["rows"], "many", spec["tag"])
        stations.append((entry["code"], home, store, edited))
    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        return
    c0 = _cpu()
    barrier = threading.Barrier(len(stations))
    results: list[dict] = [{} for _ in stations]

    def run(i: int) -> None:
        code, home, store, edited = stations[i]
        out = {"station": code, "edited": edited}
        barrier.wait()
        out["start"] = time.time()
        t0 = time.perf_counter()
        try:
            with connect(home, store) as hub:
                report = sync_once(store, hub)
            out.update(pushed=report.pushed, pulled=report.pulled, rejected=report.rejected, conflicts=report.conflicts,
                       evicted=report.evicted, recovered=report.recovered, recovery_refused=report.recovery_refused)
        except Exception as exc:  # noqa: BLE001 - reported, counted as a failure
            out["error"] = f"{type(exc).__name__}: {exc}"
        out["seconds"] = time.perf_counter() - t0
        out["end"] = time.time()
        results[i] = out

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(stations))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for _, _, store, _ in stations:
        store.close()
    print(json.dumps({"cpu_s": _cpu() - c0, "stations": results}), flush=True)


def _echo_server(key: Path, cert: Path, ca: Path) -> None:
    from concurrent import futures

    import grpc

    def stream(request_iterator, context):
        for _ in request_iterator:
            yield b""

    handler = grpc.method_handlers_generic_handler(
        "bench.Echo", {"Stream": grpc.stream_stream_rpc_method_handler(stream)})
    size = 32 * 1024 * 1024
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4), handlers=[handler], options=[
        ("grpc.max_receive_message_length", size), ("grpc.max_send_message_length", size), ("grpc.so_reuseport", 0)])
    creds = grpc.ssl_server_credentials([(key.read_bytes(), cert.read_bytes())], root_certificates=ca.read_bytes(),
                                        require_client_auth=True)
    port = server.add_secure_port("127.0.0.1:0", creds)
    server.start()
    print(f"port {port}", flush=True)
    sys.stdin.read()  # until the driver closes our stdin
    server.stop(0).wait()


def main(argv: list[str]) -> int:
    cmd, *args = argv
    if cmd == "sync":
        print(json.dumps(_sync(Path(args[0]))), flush=True)
    elif cmd == "many":
        _many(Path(args[0]))
    elif cmd == "echo-server":
        _echo_server(*map(Path, args))
    else:
        print(f"unknown command {cmd}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
