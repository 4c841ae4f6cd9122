"""Tests of the county hub CLI (county-hub) with click's CliRunner, plus one
real ``serve`` process checked with the gRPC health service over TLS.

Every refusal is exactly one line on stderr starting with 错误 and a non-zero
exit; ``--json`` outputs are checked for their keys (a contract).
"""

from __future__ import annotations

import datetime as dt
import json
import signal
import subprocess
import sys
import threading
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from county_hub.ca import load_ca
from county_hub.cli import main
from county_hub.home import open_hub
from veterans.values import id_number_check_digit
from sync.store.hub import HubStore
from sync.store.station import Store
from veterans.tabular import read_table

COUNTY = "440902"
TOWN = "440902001"
VILLAGE = "440902001001"
VILLAGE2 = "440902001002"


def run(home: Path, *args: str, **kw):
    return CliRunner().invoke(main, [*args, "--home", str(home)], **kw)


def ok(home: Path, *args: str) -> str:
    result = run(home, *args)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result.stdout


def ok_json(home: Path, *args: str):
    return json.loads(ok(home, *args, "--json"))


def refused(home: Path, *args: str, match: str | None = None, code: int = 1) -> str:
    result = run(home, *args)
    assert result.exit_code == code, (result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("错误："), result.stderr
    assert "Traceback" not in result.output
    if match:
        assert match in lines[0], lines[0]
    return lines[0]


def id_number(n: int) -> str:
    body = f"4409021960{n:07d}"
    return body + id_number_check_digit(body)


@pytest.fixture
def hub(tmp_path) -> Path:
    home = tmp_path / "hub"
    ok(home, "init", "--county", COUNTY, "--name", "茂南区退役军人服务中心", "--host", "hub.example")
    return home


def enroll(home: Path, station: str) -> None:
    """Enroll ``station`` with a fresh token and a locally made CSR (what station-node init does)."""
    token = ok(home, "token", "--station", station).strip()
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, station)]))
        .sign(key, hashes.SHA256())
        .public_bytes(serialization.Encoding.PEM)
    )
    store, registry = open_hub(home)
    try:
        registry.enroll(token, csr, load_ca(home))
    finally:
        store.close()


# --------------------------------------------------------------------------- init


def test_init_prints_county_home_and_fingerprint(tmp_path):
    home = tmp_path / "h"
    out = ok(home, "init", "--county", COUNTY, "--name", "茂南区")
    fingerprint = load_ca(home).fingerprint
    assert COUNTY in out and str(home) in out and fingerprint in out
    assert (home / "hub.db").exists() and (home / "ca" / "ca.crt").exists()
    assert (home / "ca" / "ca.key").stat().st_mode & 0o077 == 0


def test_reinit_refused(hub):
    before = load_ca(hub).fingerprint
    refused(hub, "init", "--county", COUNTY, match="已初始化")
    assert load_ca(hub).fingerprint == before


@pytest.mark.parametrize("code", ["4409", "440902001", "44090x", ""])
def test_init_bad_county_refused(tmp_path, code):
    home = tmp_path / "h"
    refused(home, "init", "--county", code)
    assert not (home / "hub.db").exists()


def test_home_from_environment(tmp_path):
    home = tmp_path / "envhome"
    result = CliRunner(env={"COUNTY_HUB_HOME": str(home)}).invoke(main, ["init", "--county", COUNTY])
    assert result.exit_code == 0, result.stderr
    assert (home / "hub.db").exists()


def test_commands_on_uninitialised_home(tmp_path):
    home = tmp_path / "nothing"
    for args in (("token", "--station", TOWN), ("stations",), ("audit",), ("history", "x"), ("report",)):
        refused(home, *args, match="county-hub init")
    assert not (home / "hub.db").exists()


# --------------------------------------------------------------------------- token, revoke, stations


def test_token_printed_alone_and_stored_hashed(hub):
    result = run(hub, "token", "--station", VILLAGE, "--ttl", "24")
    assert result.exit_code == 0, result.stderr
    token = result.stdout.strip()
    assert result.stdout == token + "\n"  # one line, nothing else: it can be piped
    assert token.startswith(f"VST1-{VILLAGE}-")
    _, station, secret, fingerprint = token.split("-")
    assert fingerprint == load_ca(hub).fingerprint
    assert "有效" in result.stderr  # the hint with the expiry goes to stderr
    for path in hub.glob("hub.db*"):
        data = path.read_bytes()
        assert secret.encode() not in data and token.encode() not in data


@pytest.mark.parametrize(
    "args, code",
    [
        (("token", "--station", "440903001"), 1),  # another county
        (("token", "--station", "12ab"), 1),
        (("token", "--station", TOWN, "--ttl", "0"), 1),
        (("token", "--station", TOWN, "--ttl", "abc"), 2),
        (("token",), 2),
    ],
)
def test_token_refused(hub, args, code):
    refused(hub, *args, code=code)


def test_revoke_unknown_station_refused(hub):
    refused(hub, "revoke", "--station", VILLAGE, match=VILLAGE)


def test_stations_json_shape_and_revoke(hub):
    assert ok_json(hub, "stations") == []
    enroll(hub, TOWN)
    enroll(hub, VILLAGE)
    rows = ok_json(hub, "stations")
    assert [r["station"] for r in rows] == [TOWN, VILLAGE]
    for r in rows:
        assert {"station", "scope", "last_sync", "pushed", "pulled", "skew_ms", "cert_not_after", "cert_state"} <= set(r)
        assert r["cert_state"] == "valid" and r["last_sync"] is None and r["pushed"] == 0
    assert "有效" in ok(hub, "stations")

    out = ok(hub, "revoke", "--station", VILLAGE)
    assert VILLAGE in out and "吊销" in out
    states = {r["station"]: r["cert_state"] for r in ok_json(hub, "stations")}
    assert states == {TOWN: "valid", VILLAGE: "revoked"}
    human = ok(hub, "stations")
    assert "已吊销" in human and "从未同步" in human


# --------------------------------------------------------------------------- audit, history


def test_audit_lists_token_enrollment_and_revocation(hub):
    enroll(hub, VILLAGE)
    ok(hub, "revoke", "--station", VILLAGE)
    entries = ok_json(hub, "audit")
    assert [e["kind"] for e in entries] == ["token", "enroll", "revoke"]
    for e in entries:
        assert {"at_ms", "at", "kind", "station", "detail"} <= set(e) and e["station"] == VILLAGE
    human = ok(hub, "audit")
    assert "发放登记令牌" in human and "站点登记" in human and "吊销证书" in human
    today = dt.date.today()
    assert len(ok_json(hub, "audit", "--since", (today - dt.timedelta(days=1)).isoformat())) == 3
    assert ok_json(hub, "audit", "--since", (today + dt.timedelta(days=2)).isoformat()) == []
    refused(hub, "audit", "--since", "yesterday", match="日期")


def test_history_of_unknown_row_is_empty(hub):
    assert ok_json(hub, "history", "no-such-row") == []
    assert "没有修改历史" in ok(hub, "history", "no-such-row")


def test_history_lists_every_accepted_field_version(hub, tmp_path):
    station = Store(tmp_path / "station.db", create=True)
    station.write("veterans", "v1", {"id_number": id_number(1), "name": "张三", "area": VILLAGE,
                                     "category": "retired_soldier"}, create=True)
    store = HubStore(hub / "hub.db")
    try:
        for batch in station.pending_batches():
            store.apply_push(batch, station=VILLAGE, scope=VILLAGE, replica_id=station.replica_id)
        station.acknowledge([(s.table, s.id, dict(s.clock)) for s in batch])
        station.write("veterans", "v1", {"name": "张叁"})
        for batch in station.pending_batches():
            store.apply_push(batch, station=VILLAGE, scope=VILLAGE, replica_id=station.replica_id)
    finally:
        store.close()
        station.close()
    items = ok_json(hub, "history", "v1")
    names = [i["value"] for i in items if i["field"] == "name"]
    assert names == ["张三", "张叁"]
    for i in items:
        assert {"seq", "table", "row_id", "field", "value", "version", "station", "at_ms", "at"} <= set(i)
        assert i["station"] == VILLAGE and i["table"] == "veterans" and i["row_id"] == "v1"
    assert items[-1]["seq"] > items[0]["seq"]
    human = ok(hub, "history", "v1")
    assert "张三" in human and "张叁" in human and VILLAGE in human and "姓名" in human


# --------------------------------------------------------------------------- report

REPORT_KEYS = {"scope", "month", "today", "generated_at", "categories", "rows", "stale_stations"}


def test_report_on_empty_hub(hub, tmp_path):
    data = ok_json(hub, "report")
    assert REPORT_KEYS <= set(data)
    assert data["scope"] == COUNTY and data["month"] == dt.date.today().strftime("%Y-%m")
    assert [r["area"] for r in data["rows"]] == [COUNTY] and data["rows"][0]["veterans_on_file"] == 0
    assert "统计报表" in ok(hub, "report")
    for suffix in ("xlsx", "csv"):
        out = tmp_path / f"empty.{suffix}"
        assert str(out) in ok(hub, "report", "--out", str(out))
        headers, rows = _report_table(out)
        assert "区划代码" in headers and "在册人数" in headers and len(rows) == 1


def _report_table(path: Path) -> tuple[list, list]:
    """``(headers, [(line, row)])`` of a report file: a .csv as read_table reads it; the
    A4 .xlsx's 汇总 and 分村 sheets (the header on the third row, under the title)."""
    if path.suffix == ".csv":
        return read_table(path)
    from openpyxl import load_workbook

    wb = load_workbook(path)
    headers = [c.value for c in wb["汇总"][3]]
    rows = {r[0]: dict(zip(headers, r)) for name in ("汇总", "分村") for r in wb[name].iter_rows(min_row=4, values_only=True)}
    return headers, list(enumerate(rows.values()))


def _fill(hub: Path) -> None:
    store = HubStore(hub / "hub.db")
    try:
        for n, area in enumerate([VILLAGE, VILLAGE, VILLAGE2], start=1):
            store.write_as_hub("veterans", f"v{n}", {"id_number": id_number(n), "name": f"退役军人{n}", "area": area,
                                              "category": "retired_soldier", "status": "active"}, create=True)
        store.write_as_hub("visits", "w1", {"veteran_id": "v1", "area": VILLAGE, "visited_on": "2024-03-05",
                                     "kind": "home"}, create=True)
        store.write_as_hub("petitions", "p1", {"petitioner": "李四", "area": VILLAGE2, "received_on": "2024-03-10",
                                        "channel": "letter", "class": "suggestion"}, create=True)
    finally:
        store.close()


def test_report_on_hub_with_rows(hub, tmp_path):
    _fill(hub)
    enroll(hub, VILLAGE2)  # enrolled, never synced: stale
    data = ok_json(hub, "report", "--month", "2024-03")
    assert data["month"] == "2024-03"
    rows = {r["area"]: r for r in data["rows"]}
    assert set(rows) == {COUNTY, TOWN, VILLAGE, VILLAGE2}
    assert rows[COUNTY]["total"] and rows[COUNTY]["veterans_on_file"] == 3
    assert rows[VILLAGE]["veterans_on_file"] == 2 and rows[VILLAGE]["visited"] == 1
    assert rows[VILLAGE]["visit_coverage_pct"] == 50.0
    assert rows[VILLAGE2]["petitions_received"] == 1
    assert [s["station"] for s in data["stale_stations"]] == [VILLAGE2]

    human = ok(hub, "report", "--month", "2024-03")
    assert VILLAGE in human and "50.0%" in human and "超过 7 天未同步" in human

    for suffix in ("xlsx", "csv"):
        out = tmp_path / "out" / f"report.{suffix}"
        printed = ok(hub, "report", "--month", "2024-03", "--out", str(out))
        assert str(out) in printed
        headers, table = _report_table(out)
        assert [h for h in headers if h != "名称"][:3] == ["区划代码", "层级", "在册人数"]
        by_area = {str(r["区划代码"]): r for _, r in table}
        assert set(by_area) == set(rows)
        assert int(by_area[COUNTY]["在册人数"]) == 3 and by_area[COUNTY]["层级"] == "合计"


def test_report_json_and_out_together(hub, tmp_path):
    out = tmp_path / "r.csv"
    result = run(hub, "report", "--json", "--out", str(out))
    assert result.exit_code == 0, result.stderr
    assert REPORT_KEYS <= set(json.loads(result.stdout)) and out.exists() and str(out) in result.stderr


@pytest.mark.parametrize("args", [("--month", "2024-13"), ("--out", "report.txt"), ("--out", "report.xls")])
def test_report_refused(hub, tmp_path, args):
    refused(hub, "report", *args)
    assert not (tmp_path / "report.txt").exists()


# --------------------------------------------------------------------------- help, entry points


def _walk(cmd: click.Command, path: tuple[str, ...] = ()):
    yield path, cmd
    if isinstance(cmd, click.Group):
        for name, sub in cmd.commands.items():
            yield from _walk(sub, (*path, name))


def test_every_command_has_help_text():
    seen = []
    for path, cmd in _walk(main):
        assert (cmd.help or "").strip(), f"{' '.join(path) or 'county-hub'} has no help"
        result = CliRunner().invoke(main, [*path, "--help"])
        assert result.exit_code == 0, result.output
        assert cmd.help.strip()[:10] in result.stdout and "用法" in result.stdout
        if not isinstance(cmd, click.Group):
            assert "--home" in result.stdout
            for param in cmd.params:
                if isinstance(param, click.Option):
                    assert (param.help or "").strip(), f"{path} {param.name} has no help"
        seen.append(" ".join(path))
    for expected in ("init", "serve", "token", "revoke", "stations", "audit", "history", "report"):
        assert expected in seen


def test_usage_errors_name_the_program(hub):
    line = refused(hub, "token", code=2)
    assert "--station" in line and "county-hub token --help" in line
    line = refused(hub, "tokn", code=2)
    assert "county-hub --help" in line


def test_python_dash_m():
    out = subprocess.run([sys.executable, "-m", "county_hub", "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "county-hub" in out.stdout and "serve" in out.stdout


def test_no_cross_imports():
    """county_hub and station_node never import each other (DESIGN §2); the shared chrome imports neither."""
    for first, forbidden in (("county_hub.cli", "station_node"), ("station_node.cli", "county_hub"),
                             ("vetsync_cli", "station_node"), ("vetsync_cli", "county_hub")):
        code = f"import sys, {first}; bad = [m for m in sys.modules if m.split('.')[0] == {forbidden!r}]; assert not bad, bad"
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, (first, out.stderr)


# --------------------------------------------------------------------------- serve, in a real process


def test_serve_health_and_sigterm(hub):
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    exe = Path(sys.executable).parent / "county-hub"
    if not exe.exists():
        pytest.skip("console script not installed next to this interpreter")
    proc = subprocess.Popen(
        [str(exe), "serve", "--listen", "127.0.0.1:0", "--home", str(hub)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.append(proc.stdout.readline()), daemon=True)
        reader.start()
        reader.join(20)
        assert lines and lines[0].startswith("listening "), (lines, proc.poll())
        parts = dict(p.split("=", 1) for p in lines[0].split()[1:])
        sync_port = int(parts["sync"].rpartition(":")[2])
        enroll_port = int(parts["enroll"].rpartition(":")[2])
        assert parts["sync"] == f"127.0.0.1:{sync_port}" and enroll_port == sync_port + 1

        creds = grpc.ssl_channel_credentials(root_certificates=(hub / "ca" / "ca.crt").read_bytes())
        with grpc.secure_channel(f"localhost:{enroll_port}", creds) as channel:
            reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""), timeout=10)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        assert proc.stdout.read() == ""  # the listening line is the only stdout
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_serve_on_a_busy_port_refused(hub):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        line = refused(hub, "serve", "--listen", f"127.0.0.1:{port}")
    assert "无法监听" in line


# --------------------------------------------------------------------------- token: station code levels


def _token_count(hub: Path) -> int:
    store = HubStore(hub / "hub.db")
    try:
        return store.conn.execute("SELECT count(*) FROM _tokens").fetchone()[0]
    finally:
        store.close()


@pytest.mark.parametrize("station", [TOWN, VILLAGE])
def test_token_for_town_and_village(hub, station):
    assert ok(hub, "token", "--station", station).strip().startswith(f"VST1-{station}-")


@pytest.mark.parametrize(
    "args, match",
    [
        (("token", "--station", COUNTY), "县级代码"),  # county-wide access only when asked for explicitly
        (("token", "--station", "440903"), "440903"),  # another county, even as a county code
        (("token", "--station", "440903", "--county-scope"), "440903"),  # another county stays refused
        (("token", "--station", "440903001001", "--county-scope"), "440903001001"),
        (("token", "--station", TOWN, "--county-scope"), "--county-scope"),  # the flag is for the county code only
        (("token", "--station", VILLAGE, "--county-scope"), "--county-scope"),
        (("token", "--station", "4409020010"), "6、9或12位"),  # 10 digits: no level
    ],
)
def test_token_station_level_refused(hub, args, match):
    line = refused(hub, *args, match=match)
    assert "Traceback" not in line
    assert _token_count(hub) == 0  # nothing stored for a refused token


def test_token_county_code_hint_names_the_flag(hub):
    assert "--county-scope" in refused(hub, "token", "--station", COUNTY)


def test_token_county_scope_for_the_county_code(hub):
    token = ok(hub, "token", "--station", COUNTY, "--county-scope").strip()
    assert token.startswith(f"VST1-{COUNTY}-")
    assert _token_count(hub) == 1
    assert ok_json(hub, "audit")[-1]["station"] == COUNTY


def test_token_help_mentions_county_scope():
    result = CliRunner().invoke(main, ["token", "--help"])
    assert result.exit_code == 0 and "--county-scope" in result.stdout and "9 位" in result.stdout
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    assert any("`token --station CODE" in line and "--county-scope" in line for line in readme.splitlines())


# --------------------------------------------------------------------------- token expiry (the registry's clock)


def _csr(station: str) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    return (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, station)]))
        .sign(key, hashes.SHA256())
        .public_bytes(serialization.Encoding.PEM)
    )


def test_token_expiry_follows_the_registry_clock(hub):
    """A token lives exactly its ttl on the registry's clock: redeemable at its last
    millisecond, refused one millisecond later (nothing signed), without sleeping."""
    from county_hub.errors import TokenError
    from county_hub.registry import Registry

    now = [1_750_000_000.0]  # seconds, as time.time
    store, _ = open_hub(hub)
    try:
        registry, ca = Registry(store, clock=lambda: now[0]), load_ca(hub)
        last_ms = int(now[0] * 1000) + 3_600_000
        on_time = registry.create_token(VILLAGE, ca, ttl_hours=1)
        late = registry.create_token(VILLAGE2, ca, ttl_hours=1)
        assert [tuple(r) for r in store.conn.execute("SELECT DISTINCT expires_ms FROM _tokens")] == [(last_ms,)]

        now[0] = last_ms / 1000  # the last millisecond of both tokens
        _, station = registry.enroll(on_time, _csr(VILLAGE), ca)
        assert station == VILLAGE
        assert tuple(store.conn.execute("SELECT used_ms FROM _tokens WHERE station = ?", (VILLAGE,)).fetchone()) == (last_ms,)

        now[0] = (last_ms + 1) / 1000
        with pytest.raises(TokenError, match="令牌已过期"):
            registry.enroll(late, _csr(VILLAGE2), ca)
        assert [tuple(r) for r in store.conn.execute("SELECT station FROM _certs")] == [(VILLAGE,)]
        assert tuple(store.conn.execute("SELECT used_ms FROM _tokens WHERE station = ?", (VILLAGE2,)).fetchone()) == (None,)
    finally:
        store.close()
