"""``county-hub``: the county hub's command line.

Thin: each command resolves the hub home (``--home DIR``, else
``COUNTY_HUB_HOME``, else the user's data dir), opens the hub, calls one
library function (:mod:`county_hub.home`, :class:`county_hub.registry.Registry`,
:mod:`county_hub.audit`, :func:`veterans.report.build_report`,
:class:`county_hub.server.HubServer`) and prints. The error translation,
Chinese help and output helpers are the shared chrome of :mod:`vetsync_cli`:
our errors become one line ``错误：<message>`` on stderr with exit code 1,
usage errors one Chinese line with exit code 2.

Output: Rich tables with Chinese headings for people, times in local time;
``--json`` for programs (English keys, times as ISO 8601 UTC and epoch ms,
stable and additive). Two outputs are for scripts and stay English and
stable: ``token`` prints the token alone on stdout (so it can be piped), and
``serve`` prints exactly one line when it is ready::

    listening sync=HOST:PORT enroll=HOST:PORT2

The conflict commands live in ``county_hub.cli_conflicts`` and plug in at
the bottom of this module when present.
"""

from __future__ import annotations

import datetime as _dt
import logging
import sys

from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import click

from county_hub import audit as audit_mod
from county_hub import backup as backup_mod
from county_hub import home as home_mod
from county_hub.ca import load_ca
from county_hub.limits import Limits
from county_hub.registry import Registry
from veterans import fields as F
from veterans.values import parse_date
from sync.store.hub import HubStore
from veterans.report import build_report
from sync.engine.schema import TABLES, WRITER
from vetsync_cli.report_view import show_report
from vetsync_cli import (
    ChineseGroup,
    CliError,
    emit_json,
    json_option,
    local_time,
    make_home_option,
    print_table,
)

__all__ = ["main", "home_option", "open_hub"]

DEFAULT_LISTEN = "0.0.0.0:7443"

CERT_STATE_LABELS = {"valid": "有效", "expired": "已过期", "revoked": "已吊销"}
REVOKED_REASON_LABELS = {"revoked": "县中心吊销", "reenrolled": "重新登记", "superseded": "已续期，被新证书取代"}
AUDIT_KIND_LABELS = {
    "token": "发放登记令牌",
    "enroll": "站点登记",
    "renew": "证书续期",
    "renew_refused": "拒绝续期",
    "superseded": "旧证书被新证书取代",
    "revoke": "吊销证书",
    "push": "站点上传",
    "resolve": "处理冲突",
    "resolution": "处理冲突",
    "restore": "恢复数据库",
    "prune": "数据清理",
    "areas_import": "导入区划名单",
    "web_login": "网页登录",
    "web_login_failed": "网页登录失败",
    "web_logout": "网页退出",
    "user_added": "添加网页账号",
    "user_removed": "删除网页账号",
    "user_password": "修改网页账号密码",
    "web_token": "网页发放登记令牌",
    "web_revoke": "网页吊销证书",
}


# --------------------------------------------------------------------------- shared options


home_option = make_home_option("县中心目录", home_mod.ENV_VAR)


@contextmanager
def open_hub(home: str | None) -> Iterator[tuple[HubStore, Registry]]:
    """The hub's store and registry for one command, closed afterwards."""
    store, registry = home_mod.open_hub(home_mod.resolve_home(home))
    try:
        yield store, registry
    finally:
        store.close()


# --------------------------------------------------------------------------- the group


@click.group("county-hub", cls=ChineseGroup, help="县退役军人服务中心同步服务与管理工具（county-hub）。")
def main() -> None:
    """Entry point of the ``county-hub`` console script."""


# --------------------------------------------------------------------------- init, serve


@main.command(help="初始化县中心：建立数据库、县级 CA 证书和本机服务器证书。")
@click.option("--county", required=True, metavar="CODE", help="本县区划代码（6 位）")
@click.option("--name", default=None, metavar="NAME", help="县中心名称，如 茂南区退役军人服务中心")
@click.option(
    "--host", "hosts", multiple=True, metavar="NAME_OR_IP",
    help="站点连接本机所用的主机名或 IP，可重复；localhost 与 127.0.0.1 总会包含",
)
@home_option
def init(county: str, name: str | None, hosts: tuple[str, ...], home: str | None) -> None:
    info = home_mod.init_hub(home_mod.resolve_home(home), county, name, list(hosts))
    title = f"{info['county']}（{info['name']}）" if info["name"] else info["county"]
    click.echo(f"已初始化县中心 {title}")
    click.echo(f"目录：{info['home']}")
    click.echo(f"CA 证书：{info['ca_cert']}")
    click.echo(f"CA 指纹：{info['ca_fingerprint']}")


@main.command(help="运行同步服务（双向 TLS 同步端口，及其后一个端口用于站点登记），直到收到 SIGTERM/SIGINT。")
@click.option(
    "--listen", default=DEFAULT_LISTEN, show_default=True, metavar="HOST:PORT",
    help="同步端口的监听地址；登记端口为其加 1；端口写 0 则自动选择空闲端口",
)
@click.option("--request-timeout", default=Limits.request_timeout_s, show_default=True, type=click.FloatRange(0.1, 600),
              metavar="SECONDS", help="对端须在此时间内发来请求消息，否则断开（防止空占连接）")
@click.option("--idle-timeout", default=Limits.idle_timeout_s, show_default=True, type=click.FloatRange(0.1, 3600),
              metavar="SECONDS", help="上传数据流中两批之间最长的静默时间")
@click.option("--max-db-mb", default=None, type=click.IntRange(1, 1024 * 1024), metavar="MB",
              help="数据库最大体积（MB，默认不限）：达到后拒绝上传（RESOURCE_EXHAUSTED，同磁盘已满），"
                   "已确认的数据不受影响，调大后重启即恢复；用于防止占满与其他系统共用的磁盘")
@home_option
def serve(listen: str, request_timeout: float, idle_timeout: float, max_db_mb: int | None, home: str | None) -> None:
    from county_hub.server import HubServer, listening_line  # grpc is loaded only by the command that needs it
    from vetsync_cli.process import tune_gc

    limits = Limits(request_timeout_s=request_timeout, idle_timeout_s=idle_timeout)
    server = HubServer(home_mod.resolve_home(home), listen, limits=limits,
                       max_db_bytes=max_db_mb * 2**20 if max_db_mb else None)
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    host = listen.rpartition(":")[0] or "0.0.0.0"

    def on_ready(srv: HubServer) -> None:
        click.echo(listening_line(host, srv.port, srv.enroll_port))
        sys.stdout.flush()
        click.echo(f"县中心服务已启动：同步端口 {srv.port}，登记端口 {srv.enroll_port}（Ctrl+C 停止）", err=True)

    tune_gc()
    try:
        server.serve_forever(on_ready)
    except RuntimeError as exc:  # grpc's "Failed to bind to address …"
        raise CliError(f"无法监听 {listen}（端口被占用或地址不属于本机？同步端口与其后一个端口都须空闲）") from exc
    click.echo("县中心服务已停止", err=True)


# --------------------------------------------------------------------------- stations


@main.command(
    short_help="为站点生成一次性登记令牌（只输出令牌本身，便于复制或管道传递）。",
    help="为站点生成一次性登记令牌（只输出令牌本身，便于复制或管道传递）。"
         "站点代码须为本县的镇（9 位）或村（12 位）；县中心本级站点（6 位本县代码，可见全县数据）须加 --county-scope。",
)
@click.option("--station", required=True, metavar="CODE", help="站点区划代码（镇 9 位、村 12 位；加 --county-scope 时为 6 位本县代码）")
@click.option("--county-scope", is_flag=True, help="令牌发给县中心本级站点（站点代码为 6 位本县代码，可见全县数据）")
@click.option("--ttl", default=72.0, show_default=True, type=float, metavar="HOURS", help="有效小时数（最长 720）")
@click.option("--cert-days", "cert_days", default=None, type=click.IntRange(1, 730), metavar="DAYS",
              help="用此令牌登记所得证书的有效天数（1–730，默认 730）；续期所得证书总是 730 天")
@home_option
def token(station: str, county_scope: bool, ttl: float, cert_days: int | None, home: str | None) -> None:
    where = home_mod.resolve_home(home)
    with open_hub(home) as (_store, registry):
        text = registry.create_token(station, load_ca(where), ttl_hours=ttl, county_scope=county_scope,
                                     cert_days=cert_days)
    expires = _dt.datetime.now().astimezone() + _dt.timedelta(hours=ttl)
    click.echo(text)
    click.echo(
        f"站点 {station} 的登记令牌，仅可使用一次，{expires:%Y-%m-%d %H:%M}（本地时间）前有效。"
        f"请在站点运行：station-node init --station {station} --hub 县中心地址:端口 --token 令牌",
        err=True,
    )


@main.command(help="吊销证书：--station 吊销站点的全部证书，--serial 只吊销序列号为 HEX 的一张（如续期前的旧证书、"
                   "丢失的电脑上的证书）。被吊销的证书下一次连接即被拒绝。")
@click.option("--station", default=None, metavar="CODE", help="站点区划代码：吊销该站的全部证书")
@click.option("--serial", default=None, metavar="HEX",
              help="证书序列号（十六进制，见 county-hub certs 或站点的 station-node status）：只吊销这一张")
@home_option
def revoke(station: str | None, serial: str | None, home: str | None) -> None:
    if bool(station) == bool(serial):
        raise CliError("请给出 --station CODE（吊销站点的全部证书）或 --serial HEX（只吊销一张），二者选一")
    with open_hub(home) as (_store, registry):
        if station:
            n = registry.revoke(station)
        else:
            cert, done = registry.revoke_serial(serial)
    if station:
        click.echo(f"已吊销站点 {station} 的证书（{n} 张），该站下次连接即被拒绝。如需恢复，请重新发放登记令牌。")
    elif done:
        click.echo(f"已吊销站点 {cert['station']} 的证书 {cert['serial']}，用它的连接下次即被拒绝；该站的其他证书不受影响。")
    else:
        click.echo(f"站点 {cert['station']} 的证书 {cert['serial']} 早已吊销"
                   f"（{local_time(cert['revoked_at'])}，"
                   f"{REVOKED_REASON_LABELS.get(cert['revoked_reason'], cert['revoked_reason'])}），未作改动。")


@main.command(help="列出县中心签发的证书：序列号、站点、签发与到期时间、状态、由哪张证书续期而来；吊销单张证书时用来查序列号。")
@click.option("--station", default=None, metavar="CODE", help="只列出该站点的证书")
@json_option
@home_option
def certs(station: str | None, as_json: bool, home: str | None) -> None:
    with open_hub(home) as (_store, registry):
        rows = registry.certs(station)
    if as_json:
        emit_json(rows)
        return
    shown = [
        {
            **r,
            "issued_at": local_time(r["issued_at"]) if r["issued_at"] else "—",
            "not_after": local_time(r["not_after"], "%Y-%m-%d") if r["not_after"] else "—",
            "state": CERT_STATE_LABELS.get(r["state"], r["state"])
                     + (f"（{REVOKED_REASON_LABELS.get(r['revoked_reason'], r['revoked_reason'])}）"
                        if r["revoked_reason"] else ""),
            "renewed_from": r["renewed_from"] or "—",
        }
        for r in rows
    ]
    columns = [("serial", "序列号"), ("station", "站点"), ("issued_at", "签发时间"), ("not_after", "到期"),
               ("state", "状态"), ("renewed_from", "续期自")]
    print_table(columns, shown, title="证书", empty="（尚未签发证书）", no_wrap=("serial", "station"))


def _skew_text(skew_ms: int | None) -> str:
    if skew_ms is None:
        return "—"
    return f"{skew_ms / 1000:+.1f} 秒"


@main.command(help="列出已登记的站点：范围、最近同步、上传下载行数、时钟偏差和证书状态。")
@json_option
@home_option
def stations(as_json: bool, home: str | None) -> None:
    with open_hub(home) as (_store, registry):
        rows = registry.stations()
    if as_json:
        emit_json(rows)
        return
    columns = [
        ("station", "站点代码"), ("scope", "范围"), ("last_sync", "最近同步"), ("pushed", "上传行数"),
        ("pulled", "下载行数"), ("skew", "时钟偏差"), ("cert_not_after", "证书到期"), ("cert_state", "证书状态"),
    ]
    shown = [
        {
            **r,
            "last_sync": local_time(r["last_sync"]) if r["last_sync"] else "从未同步",
            "skew": _skew_text(r["skew_ms"]),
            "cert_not_after": local_time(r["cert_not_after"], "%Y-%m-%d"),
            "cert_state": CERT_STATE_LABELS.get(r["cert_state"], r["cert_state"]),
        }
        for r in rows
    ]
    print_table(columns, shown, title="已登记站点", empty="（尚无站点登记）", no_wrap=("station", "scope"))


# --------------------------------------------------------------------------- audit, history


def _since_ms(since: str | None) -> int:
    """``YYYY-MM-DD`` → epoch ms of local midnight that day (0 for none)."""
    if not since:
        return 0
    day = _dt.date.fromisoformat(parse_date(since, field_label="起始日期"))
    return int(_dt.datetime.combine(day, _dt.time()).astimezone().timestamp() * 1000)


def _detail_text(kind: str, detail: dict) -> str:
    if kind == "token" and "expires_ms" in detail:
        return f"有效期至 {local_time(detail['expires_ms'], '%Y-%m-%d %H:%M')}"
    if kind == "enroll" and "serial" in detail:
        return f"证书序列号 {detail['serial']}"
    if kind == "revoke" and "serial" in detail:
        return f"吊销证书 {detail['serial']}"
    if kind == "revoke" and "certificates" in detail:
        return f"吊销证书 {detail['certificates']} 张"
    if kind == "renew" and "serial" in detail:
        return f"新证书 {detail['serial']}（原证书 {detail.get('renewed_from', '—')}）"
    if kind == "superseded" and "serial" in detail:
        return f"新证书 {detail['serial']} 启用，旧证书 {detail.get('certificates', 0)} 张作废"
    if kind == "prune" and "cutoff_ms" in detail:
        held = f"；未下载的站点 {'、'.join(detail['holders'])}" if detail.get("holders") else ""
        return (f"截止 {local_time(detail['cutoff_ms'], '%Y-%m-%d %H:%M')}，删除记录 {detail.get('tombstones_total', 0)} 条，"
                f"修改历史 {detail.get('history', 0)} 条，迁移记录 {detail.get('moves', 0)} 条{held}")
    if kind == "push" and "rows" in detail:
        return f"{detail['rows']} 行，拒绝 {detail.get('refused', 0)}，冲突 {detail.get('conflicts', 0)}"
    return "，".join(f"{k}={v}" for k, v in detail.items())


@main.command(help="审计日志：上传、站点登记、令牌发放、证书吊销和冲突处理，时间为本地时间。")
@click.option("--since", default=None, metavar="YYYY-MM-DD", help="只列出该日（本地时间）起的记录")
@json_option
@home_option
def audit(since: str | None, as_json: bool, home: str | None) -> None:
    since_ms = _since_ms(since)
    with open_hub(home) as (_store, registry):
        entries = registry.audit_log(since_ms)
    if as_json:
        emit_json([{**e, "at": _utc_iso(e["at_ms"])} for e in entries])
        return
    shown = [
        {
            "at": local_time(e["at_ms"]),
            "kind": AUDIT_KIND_LABELS.get(e["kind"], e["kind"]),
            "station": e["station"] or "—",
            "detail": _detail_text(e["kind"], e["detail"]),
        }
        for e in entries
    ]
    columns = [("at", "时间"), ("kind", "事件"), ("station", "站点"), ("detail", "详情")]
    print_table(columns, shown, title="审计日志", empty="（无记录）", no_wrap=("at", "station"))


def _utc_iso(ms: int) -> str:
    return _dt.datetime.fromtimestamp(ms / 1000, _dt.timezone.utc).isoformat(timespec="seconds")


def _field_text(table: str, name: str, value) -> str:
    if table not in TABLES:
        return "" if value is None else str(value)
    try:
        return F.display_value(table, name, value)
    except Exception:  # a field of a newer schema: shown as stored
        return "" if value is None else str(value)


def _field_label(table: str, name: str) -> str:
    try:
        return F.field_label(table, name) if table in TABLES else name
    except Exception:
        return name


@main.command(help="一条记录的修改历史：县中心接受的每个字段版本，含值、站点、经办人和时间。")
@click.argument("row_id", metavar="ROW_ID")
@json_option
@home_option
def history(row_id: str, as_json: bool, home: str | None) -> None:
    with open_hub(home) as (store, _registry):
        items = audit_mod.history(store, row_id)
    if as_json:
        emit_json(items)
        return
    if not items:
        click.echo(f"记录 {row_id} 没有修改历史（县中心未收到过该记录）")
        return
    shown = [
        {
            "at": local_time(i["at_ms"]),
            "station": i["station"] or "—",
            "by": i["recorded_by"] or "—",
            "table": i["table"],
            "field": _field_label(i["table"], i["field"]),
            "value": _field_text(i["table"], i["field"], i["value"]) or "（空）",
        }
        for i in items
        if i["field"] != WRITER  # shown as the 经办人 of the other fields (in --json, a field like any)
    ]
    # 经办人 (录入人 of a 信访办理记录, whose 经办人 is the handler of the step)
    columns = [("at", "时间"), ("station", "站点"), ("by", _field_label(items[0]["table"], WRITER)), ("table", "数据表"),
               ("field", "字段"), ("value", "值")]
    print_table(columns, shown, title=f"记录 {row_id} 的修改历史", no_wrap=("at", "station"))


# --------------------------------------------------------------------------- report


@main.command(help="县级统计报表：各镇、村的在册人数、走访覆盖、信访办理和待处理冲突，以及超过 7 天未同步的站点。"
                   "统计期间可为月、季度、年或日期范围，信访的未办结、超期按期末计算。--submit 将报表存档上报"
                   "（不可更改）；已上报的期间再次生成时显示上报时的数字，并在旁边标出此后的变化。")
@click.option("--period", default=None, metavar="PERIOD",
              help="统计期间：2026-11（月）、2026-Q4（季度）、2026（年）或 2026-10-01..2026-11-30（默认本月）")
@click.option("--month", default=None, metavar="YYYY-MM", help="统计月份（同 --period YYYY-MM）")
@click.option("--submit", is_flag=True, help="上报：将此期报表存档（记下上报时间和填报人，存档后不可更改）")
@click.option("--resubmit", is_flag=True, help="重新上报已上报的期间：另存为新版本，原版本保留")
@click.option("--by", "by", default=None, metavar="NAME", help="填报人（默认为本机登录用户名）")
@click.option("--archive", "list_archive", is_flag=True, help="列出已上报的报表（期间、版本、上报时间、填报人）")
@click.option("--out", "out", default=None, metavar="FILE",
              help="写入 .xlsx（按 A4 排版：汇总、分村、上报统计、逾期信访、未联系、未同步网点）或 .csv 文件")
@click.option("--office", default=None, metavar="NAME", help="制表单位（.xlsx 用，默认县名称及“退役军人服务中心”）")
@json_option
@home_option
def report(period: str | None, month: str | None, submit: bool, resubmit: bool, by: str | None, list_archive: bool,
           out: str | None, office: str | None, as_json: bool, home: str | None) -> None:
    import getpass

    from sync.store import report_archive
    from vetsync_cli.report_view import show_archive

    if period and month:
        raise CliError("--period 与 --month 只能用一个")
    xlsx = bool(out) and out.lower().endswith(".xlsx")
    if by is not None and not (submit or resubmit or xlsx):
        raise CliError("--by 只用于 --submit、--resubmit 或写入 .xlsx 报表（写明填报人）")
    if office is not None and not xlsx:
        raise CliError("--office 只用于写入 .xlsx 报表（--out 文件.xlsx）")
    if list_archive and (submit or resubmit or period or month or out):
        raise CliError("--archive 只列出已上报的报表，不能与其他选项同用")
    with open_hub(home) as (store, registry):
        county = store.meta("county") or ""
        if list_archive:
            entries = report_archive.submissions(store, county)
            show_archive(entries, as_json=as_json)
            return
        stations = [{"station": s["station"], "last_sync": s["last_sync"]} for s in registry.stations()]
        rep = build_report(store, county, period=period or month or _dt.date.today(), today=_dt.date.today(),
                           stations=stations)
        archived = report_archive.latest(store, county, rep.period.label)
        if submit or resubmit:
            try:
                who = by or getpass.getuser()
            except (KeyError, OSError):
                raise CliError("无法得知本机用户名：请用 --by 写明填报人") from None
            at = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
            entry = report_archive.submit(store, county, rep.period.label, rep.to_dict(), by=who, at=at,
                                          resubmit=resubmit)
            click.echo(f"已上报并存档：{rep.period.title}（{rep.period.label}）第 {entry.version} 版，填报人 {who}",
                       err=as_json or bool(out))
            if rep.as_of < rep.period.last:
                click.echo(f"注意：本期尚未结束，上报的是截至 {rep.as_of.isoformat()} 的数字", err=True)
            archived = None  # what was just archived is what is shown
        sheet = None
        if xlsx:
            from sync.store.areas import area_names
            from vetsync_cli.report_view import sheet_options

            try:
                who = by or getpass.getuser()
            except (KeyError, OSError):
                raise CliError("无法得知本机用户名：请用 --by 写明填报人") from None
            names = area_names(store, county)
            where = office or f"{names.get(county) or county}退役军人服务中心"
            sheet = sheet_options(store, rep, office=where, by=who, stale=True)
    show_report(rep, out=out, as_json=as_json, archived=archived, sheet=sheet)


# --------------------------------------------------------------------------- backup, restore


def _size_text(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)  # pragma: no cover


def _progress_on_terminal() -> Callable[[int, int], None] | None:
    """Pages copied of total, on stderr when it is a terminal (large databases take a while)."""
    if not sys.stderr.isatty():
        return None

    def show(done: int, total: int) -> None:
        click.echo(f"\r备份中：{done}/{total} 页（{done * 100 // max(total, 1)}%）", err=True, nl=done >= total)

    return show


@main.command(
    short_help="备份县中心数据库（服务运行中也可），只保留最新 N 份。",
    help="备份县中心数据库（服务运行中也可）：一致的副本经完整性检查后写入目录 DEST，"
         "文件名为 hub-<UTC 时间>.db（如 hub-20260101T020000Z.db），只保留最新 N 份。"
         "CA 与证书（ca/、tls/）不在备份内，请另行妥善保存一份。",
)
@click.argument("dest", metavar="DEST")
@click.option("--keep", default=backup_mod.DEFAULT_KEEP, show_default=True, type=click.IntRange(1, 100000), metavar="N",
              help="保留最新的 N 份备份；更早的 hub-*.db 备份被删除（其他文件不动）")
@json_option
@home_option
def backup(dest: str, keep: int, as_json: bool, home: str | None) -> None:
    result = backup_mod.backup(home_mod.resolve_home(home), Path(dest), keep=keep,
                               progress=None if as_json else _progress_on_terminal())
    if as_json:
        emit_json(result.as_json())
        return
    click.echo(f"已备份到 {result.path}")
    click.echo(f"大小 {_size_text(result.bytes)}，记录 {result.rows} 行，完整性检查通过")
    if result.removed:
        click.echo(f"已删除较早的备份 {len(result.removed)} 份（保留最新 {keep} 份）")


def _on_terminal() -> bool:
    return sys.stdin.isatty()


@main.command(
    short_help="从备份恢复县中心数据库（须先停止服务）。",
    help="从备份文件 SRC 恢复县中心数据库（须先停止 county-hub serve）：检查备份（完整性、本县的县中心数据库），"
         "原数据库另存为 hub.db.before-restore-<UTC 时间>（不删除），恢复后数据库启用新纪元，"
         "各站点下次同步时会重新上传其所持数据。",
)
@click.argument("src", metavar="SRC")
@click.option("--yes", is_flag=True, help="不询问确认（用于脚本）")
@json_option
@home_option
def restore(src: str, yes: bool, as_json: bool, home: str | None) -> None:
    where = home_mod.resolve_home(home)

    def confirm(facts) -> None:
        if yes:
            return
        if not _on_terminal():
            raise CliError("恢复将替换当前数据库；非交互方式运行时须加 --yes")
        click.confirm(f"将用 {src}（记录 {facts.rows} 行）替换 {home_mod.db_path(where)}，"
                      f"原数据库另存保留。确定恢复吗？", abort=True, err=True)

    result = backup_mod.restore(where, Path(src), confirm=confirm)
    if as_json:
        emit_json(result.as_json())
        return
    click.echo(f"已从 {result.source} 恢复县中心数据库（记录 {result.rows} 行）")
    if result.aside:
        click.echo(f"原数据库另存为 {result.aside}")
    click.echo(f"新纪元 {result.epoch}：各站点下次同步时将重新上传其所持数据")


# --------------------------------------------------------------------------- plug-ins

from county_hub import cli_conflicts as _cli_conflicts  # noqa: E402
from county_hub import cli_prune as _cli_prune  # noqa: E402
from county_hub import cli_records as _cli_records  # noqa: E402
from county_hub import cli_areas as _cli_areas  # noqa: E402

_cli_conflicts.register(main)
_cli_prune.register(main)
_cli_records.register(main)
_cli_areas.register(main)


# --------------------------------------------------------------------------- the dashboard and its accounts


def _account_audit(home: Path, kind: str, name: str, detail: dict) -> None:
    with open_hub(str(home)) as (_store, registry):
        registry.audit(kind, None, user=name, **detail)


from vetsync_cli.accounts_cli import add_user_commands  # noqa: E402  (the commands are added here)

add_user_commands(main, resolve_home=home_mod.resolve_home, home_option=home_option,
                  roles={"admin": "管理员", "viewer": "只读"}, default_role="viewer", auto_login=False,
                  on_change=_account_audit)


@main.command(help="打开县中心网页（浏览器访问 http://127.0.0.1:8480）：网点、冲突、信访和报表。"
                   "就绪时输出一行 listening http://HOST:PORT；Ctrl+C 停止。需先用 county-hub user add 姓名 --role admin 建账号。")
@click.option("--listen", default="127.0.0.1:8480", show_default=True, metavar="HOST:PORT",
              help="监听地址（端口 0 为任选空闲端口）；默认只有本机能打开")
@click.option("--allow-remote", is_flag=True, help="允许监听本机回环以外的地址（其他电脑也能打开）")
@home_option
def web(listen: str, allow_remote: bool, home: str | None) -> None:
    from county_hub.web import create_app
    from vetsync_web.accounts import Accounts
    from vetsync_web.serve import bind, check_bind, serve, split_listen

    where = home_mod.resolve_home(home)
    host, port = split_listen(listen)
    check_bind(host, allow_remote)
    accounts = Accounts(where)
    if not accounts.all():
        accounts.close()
        raise CliError("还没有网页账号：先运行 county-hub user add 姓名 --role admin")
    sock, actual = bind(host, port)
    app = create_app(where, host=host, port=actual, accounts=accounts)

    def ready(bound: int) -> None:
        click.echo(f"县中心网页已启动：http://{host}:{bound}/（Ctrl+C 停止）", err=True)

    try:
        serve(app, host, actual, sock=sock, on_ready=ready)
    finally:
        app.extensions["hub"].store.close()
        accounts.close()
    click.echo("县中心网页已停止", err=True)
