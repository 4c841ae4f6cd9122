"""The benchmark scenarios. Each takes the ``Bench`` (shared state of one run)
and records figures; ``bench.run`` prints and saves them.

The county is generated once per run into a template store file; every
scenario that needs the county's rows gets a copy of that file. The hub is a
real ``county-hub serve`` process on 127.0.0.1 (mutual TLS); the stations run
in subprocesses (``bench.worker``) where their memory or their GIL matters,
in the driver process otherwise.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench import env as E
from bench.worker import edit_rows
from station_node.client import channel_options
from station_node.home import open_store
from station_node.session import connect
from sync.wire import codec
from sync.wire.codec import pb
from sync.engine.replicate import sync_once
from sync.engine.schema import TABLES
from sync.engine.scope import scope_range
from sync.store.station import Store

ROOT = Path(__file__).resolve().parent.parent

__all__ = ["Bench", "Figure", "SCENARIOS", "DEPENDS"]


@dataclass
class Figure:
    name: str
    unit: str
    samples: list[float]
    scenario: str
    rows: float | None = None  # rows moved per sample, for a time figure's ratio to the limits
    note: str = ""

    @property
    def value(self) -> float:
        return statistics.median(self.samples)


@dataclass
class Bench:
    workdir: Path
    scale: float
    runs: int
    seed: int = 1
    stations: int = 300
    client_procs: int = 2
    log: callable = print
    figures: list[Figure] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    info: dict = field(default_factory=dict)
    template: Path | None = None
    hubs: list[E.HubProc] = field(default_factory=list)
    hub: E.HubProc | None = None
    county_home: Path | None = None
    town_home: Path | None = None

    def figure(self, name: str, unit: str, samples: list[float], scenario: str, **kw) -> None:
        self.figures.append(Figure(name, unit, [float(s) for s in samples], scenario, **kw))

    def cpu(self, what: str, wall_s: float, station_cpu_s: float, hub_cpu_s: float) -> None:
        """Where the time went: CPU seconds of the station side and of the hub process."""
        self.info.setdefault("cpu", {})[what] = {"wall_s": round(wall_s, 3), "station_cpu_s": round(station_cpu_s, 3),
                                                  "hub_cpu_s": round(hub_cpu_s, 3)}
        self.log(f"  {what}: wall {wall_s:.2f} s, CPU station {station_cpu_s:.2f} s, hub {hub_cpu_s:.2f} s")

    def problem(self, text: str) -> None:
        self.problems.append(text)
        self.log(f"  !! {text}")

    def prepare(self) -> None:
        self.template = self.workdir / "template.db"
        started = time.perf_counter()
        counts = E.make_template(self.template, scale=self.scale, seed=self.seed)
        self.info["rows"] = {"veterans": counts.veterans, "visits": counts.visits, "petitions": counts.petitions,
                             "petition_events": counts.petition_events, "total": counts.total}
        self.info["generate_s"] = round(time.perf_counter() - started, 2)
        self.log(f"generated county at scale {self.scale}: {counts.total:,} rows in {self.info['generate_s']} s")

    def close(self) -> None:
        for hub in self.hubs:
            hub.stop()

    def new_hub(self, name: str) -> E.HubProc:
        hub = E.HubProc(self.workdir / name)
        self.hubs.append(hub)
        return hub


def run_worker(*args: str, timeout: float = 3600) -> dict:
    proc = subprocess.run([sys.executable, "-m", "bench.worker", *args], capture_output=True, text=True,
                          timeout=timeout, env=E.env_for_children(), cwd=ROOT, stdin=subprocess.DEVNULL)
    if proc.returncode != 0 or not proc.stdout.strip():
        raise RuntimeError(f"bench.worker {args[0]} exited {proc.returncode}: {proc.stderr.strip()[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def nearest_rank(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


# --------------------------------------------------------------------------- limits


def _qcols(cols) -> str:
    return ", ".join(f'"{c}"' for c in cols)


def limits(b: Bench, runs: int) -> None:
    """Raw SQLite executemany, and gRPC streaming with no processing, of the same rows."""
    # -- SQLite: the template's rows, as column tuples, into a fresh store's schema
    conn = sqlite3.connect(b.template)
    data = {}
    for name, t in TABLES.items():
        cols = [r[1] for r in conn.execute(f'PRAGMA table_info("{name}")')]  # every column the store wrote
        data[name] = (cols, conn.execute(f'SELECT {_qcols(cols)} FROM "{name}"').fetchall())
    conn.close()
    total = sum(len(rows) for _, rows in data.values())
    rates = []
    for i in range(runs):
        path = b.workdir / f"limit-sqlite-{i}.db"
        store = Store(path, create=True)  # WAL, synchronous=FULL, every index of the schema
        c = store.conn
        t0 = time.perf_counter()
        c.execute("BEGIN IMMEDIATE")
        for name, (cols, rows) in data.items():
            if rows:
                c.executemany(f'INSERT INTO "{name}" ({_qcols(cols)}) VALUES ({", ".join("?" * len(cols))})', rows)
        c.execute("COMMIT")
        rates.append(total / (time.perf_counter() - t0))
        store.close()
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
    del data
    b.figure("limit_sqlite_executemany", "rows/s", rates, "limits")
    b.info["limit_rows"] = total

    # -- gRPC: PushRequest-sized messages of the same rows, echoed by a trivial handler
    hub = b.hub or b.new_hub("hub-limits")
    key, cert, ca = E.client_identity(hub, b.workdir / "limit-client")
    store = Store(b.template)
    msgs = []
    for number, batch in enumerate(store.pending_batches(1000)):
        msgs.append(pb.PushRequest(batch=number, replica_id=store.replica_id,
                                   rows=[codec.row_to_pb(r, with_base=True) for r in batch]).SerializeToString())
    store.close()
    nrows = total
    b.info["limit_grpc_bytes"] = sum(map(len, msgs))
    server = subprocess.Popen([sys.executable, "-m", "bench.worker", "echo-server", str(hub.home / "tls" / "server.key"),
                               str(hub.home / "tls" / "server.crt"), str(hub.home / "ca" / "ca.crt")],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=E.env_for_children(), cwd=ROOT)
    try:
        port = int(server.stdout.readline().split()[1])
        import grpc

        rates = []
        for _ in range(runs):
            creds = grpc.ssl_channel_credentials(root_certificates=ca, private_key=key, certificate_chain=cert)
            with grpc.secure_channel(f"127.0.0.1:{port}", creds, options=channel_options()) as channel:
                grpc.channel_ready_future(channel).result(timeout=20)
                call = channel.stream_stream("/bench.Echo/Stream")
                t0 = time.perf_counter()
                replies = sum(1 for _ in call(iter(msgs), timeout=600))
                rates.append(nrows / (time.perf_counter() - t0))
                if replies != len(msgs):
                    b.problem(f"gRPC limit: {replies} replies for {len(msgs)} messages")
    finally:
        server.stdin.close()
        server.wait(30)
    b.figure("limit_grpc_stream", "rows/s", rates, "limits")


# --------------------------------------------------------------------------- push and pull


def initial_push(b: Bench, runs: int) -> None:
    """The whole county, pending in one station store (the county station), pushed to an empty hub."""
    push, session, st_mb, hub_mb = [], [], [], []
    total = b.info["rows"]["total"]
    for i in range(runs):
        if b.hub is not None:  # a previous run's hub (or the limits' one): start from an empty hub
            b.hub.stop()
        hub = b.new_hub(f"hub{i}")
        hub.start()
        b.hub = hub
        home = b.workdir / f"county{i}"
        hub.enroll(E.COUNTY, home)
        E.install_template(home, b.template)
        hub_cpu = E.cpu_seconds(hub.pid)
        r = run_worker("sync", str(home))
        b.cpu(f"initial_push run {i + 1}", r["session_s"], r["cpu_s"], E.cpu_seconds(hub.pid) - hub_cpu)
        if r["pushed"] != total or r["rejected"]:
            b.problem(f"initial push: pushed {r['pushed']} of {total} rows, {r['rejected']} rejected")
        push.append(r["pushed"] / r["push_s"])
        session.append(r["session_s"])
        st_mb.append(r["rss_mb"])
        hub_mb.append(E.vm_hwm_mb(hub.pid))
        b.county_home = home
        b.log(f"  run {i + 1}: pushed {r['pushed']:,} rows in {r['push_s']:.2f} s, then pulled {r['pulled']:,} back "
              f"in {r['pull_s']:.2f} s")
    b.figure("initial_push", "rows/s", push, "initial_push")
    b.figure("initial_push_session", "s", session, "initial_push", rows=total,
             note="whole session: the push, then the pull of the pushed rows back (the hub re-stamps them)")
    b.figure("memory_station_initial_push", "MB", st_mb, "memory")
    b.figure("memory_hub_initial_push", "MB", hub_mb, "memory")


def bootstrap_pull(b: Bench, runs: int) -> None:
    """A fresh town station (enrolled over the network) pulling its whole scope."""
    rate, st_mb, hub_mb, pulled = [], [], [], 0
    for i in range(runs):
        home = b.workdir / f"town{i}"
        b.hub.enroll(E.TOWN, home)
        if not E.reset_hwm(b.hub.pid):
            b.problem("cannot reset the hub's VmHWM: its bootstrap figure includes the initial push")
        hub_cpu = E.cpu_seconds(b.hub.pid)
        r = run_worker("sync", str(home))
        b.cpu(f"bootstrap_pull run {i + 1}", r["session_s"], r["cpu_s"], E.cpu_seconds(b.hub.pid) - hub_cpu)
        pulled = r["pulled"]
        rate.append(r["pulled"] / r["session_s"])
        st_mb.append(r["rss_mb"])
        hub_mb.append(E.vm_hwm_mb(b.hub.pid))
        b.town_home = home
        b.log(f"  run {i + 1}: pulled {r['pulled']:,} rows in {r['session_s']:.2f} s")
    conn = sqlite3.connect(b.template)
    lo, hi = scope_range(E.TOWN)
    in_scope = sum(conn.execute(f'SELECT count(*) FROM "{t}" WHERE area >= ? AND area < ?', (lo, hi)).fetchone()[0]
                   for t in E.DATA_TABLES)
    conn.close()
    if pulled < in_scope * 0.9:
        b.problem(f"bootstrap pull: {pulled} rows pulled, {in_scope} in the town's scope")
    b.info["bootstrap_rows"] = pulled
    b.figure("bootstrap_pull", "rows/s", rate, "bootstrap_pull")
    b.figure("memory_station_bootstrap_pull", "MB", st_mb, "memory")
    b.figure("memory_hub_bootstrap_pull", "MB", hub_mb, "memory")


def incremental(b: Bench, runs: int) -> None:
    """1,000 rows (``--incremental-rows``) of the town edited at the county station,
    pushed; the town station pulls them."""
    wanted = getattr(b, "incremental_rows", 1000)
    county, town = open_store(b.county_home), open_store(b.town_home)
    push, pull, both, n = [], [], [], 0
    try:
        for i in range(runs):
            n = edit_rows(county, E.TOWN, wanted, "incremental", f"run{i}")
            t0 = time.perf_counter()
            with connect(b.county_home, county) as hub:
                r1 = sync_once(county, hub)
            t1 = time.perf_counter()
            with connect(b.town_home, town) as hub:
                r2 = sync_once(town, hub)
            t2 = time.perf_counter()
            if r1.pushed != n or r2.pulled < n:
                b.problem(f"incremental: edited {n}, pushed {r1.pushed}, pulled by the town {r2.pulled}")
            push.append(t1 - t0)
            pull.append(t2 - t1)
            both.append(t2 - t0)
    finally:
        county.close()
        town.close()
    b.info["incremental_rows"] = n
    if n < wanted:
        b.log(f"  (only {n} rows in the town's scope at this scale)")
    name = "incremental" if wanted == 1000 else f"incremental_{wanted}"  # the target is for 1,000 rows
    b.figure(name, "s", both, "incremental", rows=n, note=f"{n} rows edited, pushed, pulled by the town")
    b.figure(f"{name}_push", "s", push, "incremental", rows=n, note="the editing station's session (push + pull back)")
    b.figure(f"{name}_pull", "s", pull, "incremental", rows=n, note="the town station's session (pull)")


def noop(b: Bench, runs: int) -> None:
    """Nothing changed: in-process on a warm channel, and ``station-node sync`` as a whole process."""
    town = open_store(b.town_home)
    warm = []
    try:
        with connect(b.town_home, town) as hub:
            for _ in range(3):
                sync_once(town, hub)
            for _ in range(max(20, runs)):
                t0 = time.perf_counter()
                r = sync_once(town, hub)
                warm.append((time.perf_counter() - t0) * 1000)
                if r.pushed or r.pulled:
                    b.problem(f"no-op sync moved rows: pushed {r.pushed}, pulled {r.pulled}")
    finally:
        town.close()
    b.figure("noop_warm_channel", "ms", warm, "noop")
    cmd = [str(E.BIN / "station-node"), "sync", "--json", "--home", str(b.town_home)]
    whole = []
    for _ in range(max(5, runs)):
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
        whole.append((time.perf_counter() - t0) * 1000)
        if proc.returncode != 0:
            b.problem(f"station-node sync exited {proc.returncode}: {proc.stderr.strip()[-500:]}")
    b.figure("noop_station_node_sync", "ms", whole, "noop")


# --------------------------------------------------------------------------- many stations


def village_codes(b: Bench, what: str) -> list[str]:
    """The ``--stations`` villages, the largest first (at small scales some villages hold no rows; they still sync)."""
    sizes = E.village_sizes(b.template)
    villages = [f"{E.COUNTY}{t:03d}{v:03d}" for t in range(1, 16) for v in range(1, 21)]  # the generator's 15 × 20
    if b.stations > len(villages):
        b.problem(f"{what}: the county has {len(villages)} villages, running {len(villages)} stations")
    return sorted(villages, key=lambda c: (-sizes.get(c, 0), c))[: b.stations]


def direct_homes(b: Bench, hub: E.HubProc, root: Path, codes: list[str], *, own_rows: bool = False) -> list[Path]:
    """One station home per village, certificates issued directly (``env.make_direct_stations``)."""
    blank = b.workdir / "blank.db"
    if not blank.exists():
        E.make_blank(blank)
    t0 = time.perf_counter()
    homes = E.make_direct_stations(hub, root, codes, b.template, blank, own_rows=own_rows)
    b.log(f"  made {len(homes)} station homes (certificates issued directly) in {time.perf_counter() - t0:.1f} s")
    return homes


@dataclass
class Wave:
    """Many stations synced at once: every station's result (``bench.worker many``)."""
    results: list[dict]
    client_cpu_s: float
    hub_cpu_s: float  # from just before ``go``

    @property
    def failed(self) -> list[dict]:
        return [r for r in self.results if "error" in r]

    @property
    def span_s(self) -> float:
        """From the first station's start to the last one's end."""
        return max(r["end"] for r in self.results) - min(r["start"] for r in self.results)

    def seconds(self) -> list[float]:
        return [r["seconds"] for r in self.results if "error" not in r] or [0.0]


def drive_stations(b: Bench, hub: E.HubProc, codes: list[str], homes: list[Path], *, rows: int, tag: str,
                   before_go=None) -> Wave:
    """Sync every station once, at the same moment, from ``client_procs`` client
    processes (one thread per station; ``rows`` of each edited first, untimed).
    ``before_go()`` runs once every client is ready, just before they are released."""
    procs = max(1, min(b.client_procs, len(homes)))
    workers = []
    for k in range(procs):
        spec = b.workdir / f"{tag}-{k}.json"
        spec.write_text(json.dumps({"rows": rows, "tag": tag, "stations": [
            {"code": c, "home": str(h)} for c, h in list(zip(codes, homes))[k::procs]]}))
        workers.append(subprocess.Popen([sys.executable, "-m", "bench.worker", "many", str(spec)],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                        env=E.env_for_children(), cwd=ROOT))
    try:
        for w in workers:
            if w.stdout.readline().strip() != "ready":
                raise RuntimeError("a many-stations client did not get ready")
        if before_go:
            before_go()
        hub_cpu = E.cpu_seconds(hub.pid)
        for w in workers:
            w.stdin.write("go\n")
            w.stdin.flush()
        results, client_cpu = [], 0.0
        for w in workers:
            answer = json.loads(w.stdout.readline())
            results.extend(answer["stations"])
            client_cpu += answer["cpu_s"]
            w.wait(60)
        hub_cpu = E.cpu_seconds(hub.pid) - hub_cpu
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
                w.wait(10)
    return Wave(results, client_cpu, hub_cpu)


def many_stations(b: Bench, runs: int) -> None:
    """``stations`` village stations, each with ~100 changed rows, syncing at once.

    Driven from ``client_procs`` client processes, one thread per station, each
    station with its own store file, certificate and gRPC channel."""
    codes = village_codes(b, "many stations")
    homes = direct_homes(b, b.hub, b.workdir / "many", codes)
    procs = max(1, min(b.client_procs, len(homes)))
    total_s, p50, p99, rows = [], [], [], 0
    for run in range(runs):
        wave = drive_stations(b, b.hub, codes, homes, rows=100, tag=f"many-{run}")
        results = wave.results
        failed = wave.failed
        if failed:
            b.problem(f"many stations: {len(failed)} of {len(results)} stations failed, e.g. {failed[0]['error']}")
        bad = [r for r in results if "error" not in r and r.get("pushed") != r["edited"]]
        if bad:
            b.problem(f"many stations: {len(bad)} stations pushed a different count than they edited")
        rows = sum(r.get("pushed", 0) for r in results)
        total_s.append(wave.span_s)
        b.cpu(f"many_stations run {run + 1}", total_s[-1], wave.client_cpu_s, wave.hub_cpu_s)
        secs = wave.seconds()
        p50.append(nearest_rank(secs, 0.50))
        p99.append(nearest_rank(secs, 0.99))
        b.log(f"  run {run + 1}: {len(results)} stations, {rows:,} rows pushed, {total_s[-1]:.2f} s in all")
    b.info["many_stations"] = {"stations": len(homes), "client_processes": procs, "rows_pushed": rows,
                               "rows_per_station_max": 100}
    note = f"{len(homes)} stations, {rows} rows in all"
    b.figure("many_stations_total", "s", total_s, "many_stations", rows=rows, note=note)
    b.figure("many_stations_p50", "s", p50, "many_stations")
    b.figure("many_stations_p99", "s", p99, "many_stations")


# --------------------------------------------------------------------------- recovery


def area_counts(db: Path) -> dict[str, dict[str, int]]:
    """Rows per table and area of a store or hub database."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return {t: dict(conn.execute(f'SELECT area, count(*) FROM "{t}" GROUP BY area').fetchall())
                for t in E.DATA_TABLES}
    finally:
        conn.close()


def table_counts(db: Path, tables=(*E.DATA_TABLES, "conflicts")) -> dict[str, int]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
    finally:
        conn.close()


def hub_backup(hub: E.HubProc, dest: Path) -> dict:
    """``county-hub backup DEST --json`` while the hub serves: its JSON, and the command's wall time."""
    t0 = time.perf_counter()
    proc = subprocess.run([str(E.BIN / "county-hub"), "backup", str(dest), "--json", "--home", str(hub.home)],
                          capture_output=True, text=True, timeout=3600, stdin=subprocess.DEVNULL)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"county-hub backup exited {proc.returncode}: {proc.stderr.strip()[-1000:]}")
    return {**json.loads(proc.stdout), "seconds": seconds}


def hub_restore(hub: E.HubProc, src: str) -> dict:
    """``county-hub restore SRC --yes --json`` (the hub stopped)."""
    t0 = time.perf_counter()
    proc = subprocess.run([str(E.BIN / "county-hub"), "restore", src, "--yes", "--json", "--home", str(hub.home)],
                          capture_output=True, text=True, timeout=3600, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise RuntimeError(f"county-hub restore exited {proc.returncode}: {proc.stderr.strip()[-1000:]}")
    return {**json.loads(proc.stdout), "seconds": time.perf_counter() - t0}


def recovery(b: Bench, runs: int) -> None:
    """A hub restored from a backup healed by its stations (issue 11).

    A fresh hub; one station per village (``--stations``, made as for the many
    stations) holding its village's rows as its own pending work; a backup then,
    before any station has pushed: the snapshot to restore (the stations are
    registered in it, no row is). The stations push the county to the hub (each
    its own rows; every station synced in full); ``county-hub backup`` of the
    full county while the hub serves (its size and time); the hub stopped,
    ``county-hub restore`` of the early snapshot, the hub started again on its
    port, and every station syncs: each sees the new epoch, re-offers all it
    holds and pulls its scope again from 0. Checked: the hub then holds every
    row of the stations' villages (per table), the conflicts it held, and a
    station enrolled after the restore pulls exactly its village."""
    codes = village_codes(b, "recovery")
    by_area = area_counts(b.template)
    expected = {t: sum(by_area[t].get(c, 0) for c in codes) for t in E.DATA_TABLES}
    own = {c: sum(by_area[t].get(c, 0) for t in E.DATA_TABLES) for c in codes}
    total = sum(expected.values())
    push_s, backup_s, backup_mb, rec_s, offered, taken, ratio = [], [], [], [], [], [], []
    info: dict = {}
    for i in range(runs):
        root = b.workdir / f"recovery{i}"
        hub = b.new_hub(f"hub-recovery{i}")
        hub.start()
        homes = direct_homes(b, hub, root / "stations", codes, own_rows=True)

        # The snapshot to restore: every station registered, no row pushed yet.
        early = hub_backup(hub, root / "backup-early")
        if early["rows"]:
            b.problem(f"recovery: the early backup holds {early['rows']} rows, expected none")

        # The county pushed by its stations, each its own village; every station synced in full.
        fill = drive_stations(b, hub, codes, homes, rows=0, tag=f"recovery-{i}-push")
        _wave_problems(b, "recovery, first push", fill, lambda r: (r.get("pushed"), own[r["station"]]))
        push_s.append(fill.span_s)
        b.cpu(f"recovery first push run {i + 1}", fill.span_s, fill.client_cpu_s, fill.hub_cpu_s)
        held = table_counts(hub.home / "hub.db")
        if {t: held[t] for t in E.DATA_TABLES} != expected:
            b.problem(f"recovery: after the first push the hub holds {held}, the villages {expected}")

        # A backup of the full county, while the hub serves.
        full = hub_backup(hub, root / "backup-full")
        backup_s.append(full["seconds"])
        backup_mb.append(full["bytes"] / 2**20)
        # (the backup counts every replicated table, the empty ones too: areas, contact_triggers)
        if {t: n for t, n in full["tables"].items() if n} != {t: n for t, n in held.items() if n}:
            b.problem(f"recovery: the full backup holds {full['tables']}, the hub {held}")
        b.log(f"  run {i + 1}: {len(fill.results)} stations pushed {total:,} rows in "
              f"{fill.span_s:.2f} s; backup {full['bytes'] / 2**20:.1f} MB in {full['seconds']:.2f} s")

        # The hub put back to the early snapshot, started again, healed by every station at once.
        hub.stop()
        restored = hub_restore(hub, early["path"])
        marks = {}

        def start_restored() -> None:
            marks["start"] = time.time()
            hub.start(port=hub.port)  # the address the stations know
            marks["listening"] = time.time()

        wave = drive_stations(b, hub, codes, homes, rows=0, tag=f"recovery-{i}-heal", before_go=start_restored)
        _wave_problems(b, "recovery", wave, lambda r: (r.get("recovered"), own[r["station"]]))
        _wave_problems(b, "recovery, pull from 0", wave, lambda r: (r.get("pulled"), own[r["station"]]))
        refused = sum(r.get("recovery_refused", 0) for r in wave.results)
        if refused:
            b.problem(f"recovery: the restored hub refused {refused} re-offered rows")
        healed_s = max(r["end"] for r in wave.results) - marks["start"]
        rec_s.append(healed_s)
        n_offered = sum(r.get("recovered", 0) + r.get("recovery_refused", 0) for r in wave.results)
        after = table_counts(hub.home / "hub.db")
        n_taken = sum(after[t] for t in E.DATA_TABLES) - restored["rows"]
        offered.append(n_offered / healed_s)
        taken.append(n_taken / healed_s)
        ratio.append(healed_s / fill.span_s)
        hub_cpu = E.cpu_seconds(hub.pid)  # a fresh process: all it did since its start
        b.cpu(f"recovery run {i + 1}", healed_s, wave.client_cpu_s, hub_cpu)
        if {t: after[t] for t in E.DATA_TABLES} != expected:
            b.problem(f"recovery: the healed hub holds {after}, the villages {expected}")
        if after["conflicts"] != held["conflicts"]:
            b.problem(f"recovery: the healed hub holds {after['conflicts']} conflicts, before the restore "
                      f"{held['conflicts']}")
        b.log(f"  run {i + 1}: restored hub started in {marks['listening'] - marks['start']:.2f} s; "
              f"{len(wave.results)} stations re-offered {n_offered:,} rows (hub took {n_taken:,}) and pulled "
              f"{sum(r.get('pulled', 0) for r in wave.results):,} back; healed {healed_s:.2f} s after its start")

        # A station enrolled after the restore (a new PC for the largest village) pulls exactly its village.
        fresh = root / "fresh"
        hub.enroll(codes[0], fresh)
        r = run_worker("sync", str(fresh))
        got = table_counts(fresh / "station.db", E.DATA_TABLES)
        want = {t: by_area[t].get(codes[0], 0) for t in E.DATA_TABLES}
        if got != want:
            b.problem(f"recovery: a station of {codes[0]} enrolled after the restore holds {got}, its village {want}")
        secs = wave.seconds()
        info = {
            "stations": len(homes), "client_processes": max(1, min(b.client_procs, len(homes))), "rows": total,
            "tables": expected,
            "snapshot": "the backup taken after the stations were registered and before any pushed a row: "
                        "the restored hub holds no row, every row comes back from the stations",
            "restored_rows": restored["rows"], "restore_s": round(restored["seconds"], 3),
            "hub_start_s": round(marks["listening"] - marks["start"], 3),
            "stations_span_s": round(wave.span_s, 3), "session_p50_s": round(nearest_rank(secs, 0.5), 3),
            "session_p99_s": round(nearest_rank(secs, 0.99), 3), "offered": n_offered, "taken": n_taken,
            "pulled": sum(r.get("pulled", 0) for r in wave.results), "recovery_refused": refused,
            "conflicts": after["conflicts"], "backup_rows": full["rows"], "backup_bytes": full["bytes"],
            "early_backup_bytes": early["bytes"], "fresh_station": {"station": codes[0], "pulled": r["pulled"],
                                                                     "tables": got},
        }
        hub.stop()
    b.info["recovery"] = info
    n = f"{len(codes)} stations, {total} rows"
    b.figure("recovery_push_s", "s", push_s, "recovery", rows=total,
             note=f"{n}: each station's first sync, pushing its own rows to the empty hub (first start to last end)")
    b.figure("backup_size_mb", "MB", backup_mb, "recovery", note=f"county-hub backup of the hub holding {total} rows")
    b.figure("backup_s", "s", backup_s, "recovery", rows=total,
             note="county-hub backup while the hub serves, the whole command (interpreter start included)")
    b.figure("recovery_s", "s", rec_s, "recovery", rows=total,
             note=f"{n}: from the restored hub's start until the last station finished its recovering session")
    b.figure("recovery_offered", "rows/s", offered, "recovery", note="rows re-offered by the stations ÷ recovery_s")
    b.figure("recovery_taken", "rows/s", taken, "recovery", note="rows the restored hub gained ÷ recovery_s")
    b.figure("recovery_vs_push", "×", ratio, "recovery", note="recovery_s ÷ recovery_push_s of the same run")


def _wave_problems(b: Bench, what: str, wave: Wave, got_want) -> None:
    """A failed station, or one whose count (``got_want(result)`` → (got, want)) is off."""
    if wave.failed:
        b.problem(f"{what}: {len(wave.failed)} of {len(wave.results)} stations failed, e.g. {wave.failed[0]['error']}")
    off = [(r["station"], *got_want(r)) for r in wave.results if "error" not in r and got_want(r)[0] != got_want(r)[1]]
    if off:
        b.problem(f"{what}: {len(off)} stations moved a different count of rows than they hold, e.g. "
                  f"{off[0][0]}: {off[0][1]} of {off[0][2]}")
    rejected = sum(r.get("rejected", 0) for r in wave.results)
    if rejected:
        b.problem(f"{what}: {rejected} rows rejected")


# --------------------------------------------------------------------------- the command line


#: The local commands timed at the county station (issue 12: each ≤ 0.3 s), by figure name.
CLI_COMMANDS = {
    "cli_veteran_list": ("veteran", "list"),
    "cli_veteran_show": ("veteran", "show", "{veteran}"),
    "cli_visit_list_veteran": ("visit", "list", "--veteran", "{veteran}"),
    "cli_petition_list": ("petition", "list"),
    "cli_petition_list_overdue": ("petition", "list", "--overdue"),
}
#: A veteran id that no station holds: ``veteran show`` of it at an empty station.
NOBODY = "00000000-0000-7000-8000-000000000000"


@dataclass
class Run:
    wall_s: float
    exit: int
    lines: int
    stderr: str


def run_command(cmd: list[str], env: dict, timeout: float = 600) -> Run:
    """One whole process: wall time from its start to its end (its output read
    through a pipe as it comes), exit code, lines printed, what it said on stderr.
    (No peak RSS: a child's ``ru_maxrss`` starts at this driver's, inherited at fork.)"""
    with tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL, env=env,
                              timeout=timeout)
        wall = time.perf_counter() - t0
        err.seek(0)
        text = err.read().decode("utf-8", "replace")
    return Run(wall, proc.returncode, proc.stdout.count(b"\n"), text)


def cli(b: Bench, runs: int) -> None:
    """Local ``station-node`` commands as whole processes: the five clerk's lists and files
    at a station holding the whole county, and start-up (``veteran show`` at an empty
    station) against ``python -c pass``, paired run by run."""
    from station_node.home import init_offline

    env = {k: v for k, v in os.environ.items() if k != "STATION_NODE_HOME"}
    exe = str(E.BIN / "station-node")
    # The county in one station: what `python -m bench.generate --station-home DIR` makes
    # (the same rows: the template is generated with the same seed, every visit and petition
    # registered by the county station, every row a local edit not yet sent), made by
    # copying the template into a home `init --offline --station 440902` made.
    county = b.workdir / "cli-county"
    init_offline(county, E.COUNTY).close()
    E.install_template(county, b.template)
    open_store(county).close()  # the check at open (only when the file changed): made here, not timed
    empty = b.workdir / "cli-empty"
    init_offline(empty, E.COUNTY).close()
    open_store(empty).close()
    conn = sqlite3.connect(b.template)
    try:  # the veteran with the most visits: the longest file to show
        veteran, visits = conn.execute(
            "SELECT veteran_id, count(*) AS n FROM visits GROUP BY veteran_id ORDER BY n DESC, veteran_id LIMIT 1"
        ).fetchone()
    finally:
        conn.close()

    n = max(3, runs)
    info: dict = {"veteran": veteran, "visits_of_veteran": visits, "runs": n, "commands": {}}
    for name, args in CLI_COMMANDS.items():
        cmd = [exe, *(a.format(veteran=veteran) for a in args), "--home", str(county)]
        first = run_command(cmd, env)  # warm-up: the page cache, .pyc files
        samples, done = [], [first]
        for _ in range(n):
            r = run_command(cmd, env)
            samples.append(r.wall_s)
            done.append(r)
        bad = [r for r in done if r.exit != 0]
        if bad:
            b.problem(f"{' '.join(args)} exited {bad[0].exit}: {bad[0].stderr.strip()[-300:]}")
        shown = " ".join(args).replace("{veteran}", "ID")
        info["commands"][name] = {"args": shown, "lines": done[-1].lines}
        b.log(f"  {shown}: median {statistics.median(samples):.3f} s, {done[-1].lines:,} lines printed")
        b.figure(name, "s", samples, "cli", note=f"{shown}: {done[-1].lines} lines printed")

    # start-up: `veteran show` at an empty station (找不到 that veteran, exit 1) and a bare interpreter, in turn
    show = [exe, "veteran", "show", NOBODY, "--home", str(empty)]
    bare = [sys.executable, "-c", "pass"]
    run_command(show, env)
    run_command(bare, env)
    shows, bares, ratio = [], [], []
    for _ in range(max(10, runs)):
        r = run_command(show, env)
        if r.exit != 1 or "找不到" not in r.stderr:
            b.problem(f"veteran show at an empty station: exit {r.exit}: {r.stderr.strip()[-300:]}")
        p = run_command(bare, env)
        shows.append(r.wall_s * 1000)
        bares.append(p.wall_s * 1000)
        ratio.append(r.wall_s / p.wall_s)
    info["startup"] = {"show_ms": round(statistics.median(shows), 1), "python_ms": round(statistics.median(bares), 1)}
    b.log(f"  start-up: veteran show (empty station) {statistics.median(shows):.0f} ms, python -c pass "
          f"{statistics.median(bares):.0f} ms, ratio {statistics.median(ratio):.2f} (pair by pair)")
    b.figure("cli_veteran_show_empty", "ms", shows, "cli", note="veteran show of an id the station lacks (exit 1)")
    b.figure("cli_python_startup", "ms", bares, "cli", note="python -c pass, the same interpreter")
    b.figure("cli_startup_vs_python", "×", ratio, "cli", note="veteran show at an empty station / python -c pass, pair by pair")
    b.info["cli"] = info


SCENARIOS = {
    "limits": limits,
    "initial_push": initial_push,
    "bootstrap_pull": bootstrap_pull,
    "incremental": incremental,
    "noop": noop,
    "many_stations": many_stations,
    "recovery": recovery,
    "cli": cli,
    "web": None,  # bench/web.py (added below)
    "memory": None,  # its figures come from initial_push and bootstrap_pull
}
DEPENDS = {
    "bootstrap_pull": ["initial_push"],
    "incremental": ["initial_push", "bootstrap_pull"],
    "noop": ["initial_push", "bootstrap_pull"],
    "many_stations": ["initial_push"],
    "memory": ["initial_push", "bootstrap_pull"],
    "web": ["initial_push"],  # the dashboard's report page at the hub the initial push filled
}

from bench.web import web as _web  # noqa: E402

SCENARIOS["web"] = _web
