"""Network commands of ``station-node``: ``sync``, ``verify``, ``status``,
``report``, ``daemon``, ``renew``, ``config``, and the networked ``init``
(called from ``station_node.cli``; also ``init --reenroll``). Thin: open the
store, call one function of ``station_node.session`` / ``enroll`` / ``daemon``,
print."""

from __future__ import annotations

import datetime as dt
import sys

import click
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from station_node import home as home_mod
from station_node.cli_common import StationError, emit_json, home_option, json_option, open_station
from station_node.daemon import EXIT_PERMANENT, Daemon
from station_node.enroll import change_hub, enroll, reenroll
from station_node.recover import recover as recover_station
from station_node.session import (DEFAULT_TIMEOUT_S, RenewalReport, renew_session, station_status, sync_with_retry,
                                  verify_session)
from station_node.verify import DEFAULT_VERIFY_EVERY, VerifyReport, set_verify_every
from station_node.verify import verify_every as verify_every_of
from sync.engine.defaults import (DAEMON_INTERVAL_S, DEFAULT_BATCH_ROWS, MAX_BATCH_ROWS, MAX_SYNC_ATTEMPTS,
                           SYNC_ATTEMPTS)
from vetsync_cli.process import tune_gc
from veterans.labels import table_label
from veterans.report import build_report
from vetsync_cli.report_view import show_report

__all__ = ["register", "init_networked", "init_reenroll"]

CERT_STATE_LABELS = {"valid": "有效", "expired": "已过期", "revoked": "已吊销", "unknown": "县中心无此证书记录"}
_REFUSAL_LABELS = {"revoked": "县中心已吊销", "superseded": "已被续期后的新证书取代", "reenrolled": "本站已重新登记",
                   "expired": "已过期", "unknown": "县中心无此证书的记录（可能已从较早的备份恢复）"}


def init_reenroll(home, station: str | None, hub: str | None, token: str, *, as_json: bool = False) -> None:
    """``init --reenroll``: an existing home (enrolled, or made ``--offline``) gets a new certificate."""
    where = home_mod.resolve_home(home)
    info = reenroll(where, token, target=hub, station=station)
    if as_json:
        emit_json({**info, "mode": "networked", "home": str(where)})
        return
    what = "已联网登记" if info["joined"] else "已重新登记"
    click.echo(f"站点 {info['station']} {what}（范围 {info['scope']}），县中心 {info['hub']}，"
               f"新证书有效期至 {info['not_after'][:10]}（序列号 {info['serial']}）")
    click.echo(f"本站数据已保留；未上传的修改 {info['pending']} 条，运行 station-node sync 上传。"
               if info["pending"] else "本站数据已保留。")


def init_networked(home, station: str | None, hub: str, token: str, *, recover: str | None = None,
                   as_json: bool = False) -> None:
    where = home_mod.resolve_home(home)
    if recover:
        info, rec = recover_station(where, hub, token, recover, station=station)
    else:
        info, rec = enroll(where, hub, token, station=station), None
    if as_json:
        emit_json({**info, "mode": "networked", "home": str(where), **({"recovery": rec.to_dict()} if rec else {})})
        return
    click.echo(f"已登记站点 {info['station']}（范围 {info['scope']}），县中心 {info['hub']}，"
               f"证书有效期至 {info['not_after'][:10]}")
    if rec:
        lost = "" if rec.unreadable_pending is None else f"，其中未上传的修改 {rec.unreadable_pending} 条"
        click.echo(f"已从县中心下载本站数据 {rec.pulled} 条。")
        click.echo(f"从旧数据库 {rec.source} 找回未上传的修改 {rec.recovered} 条（新建 {rec.created} 条，"
                   f"覆盖县中心的值 {rec.updated} 条），县中心已有 {rec.unchanged} 条，不属本站 {rec.skipped} 条；"
                   f"无法读取的记录 {rec.unreadable} 条{lost}。")
        if rec.recovered:
            click.echo("请运行 station-node sync 上传找回的修改。")


_RESULTS = {"clean": "一致", "differs": "不一致", "repaired": "已修复", "behind": "县中心数据正在变化，未能核对，请稍后再试",
            "failed": "未能核对"}
_FIXES = {"taken": "取县中心的值", "inserted": "补回", "deleted": "删除", "repushed": "重新标记待上传",
          "reverted": "恢复为县中心的值（被拒的修改仍在被拒列表中）"}


def _verify_line(result: dict) -> str:
    """One line of a verify's result (a full report or the stored summary)."""
    line = _RESULTS.get(result["result"], result["result"])
    differing = result.get("differing")
    count = len(differing) if isinstance(differing, list) else differing
    if result["result"] == "differs" and count:
        line += f"（{count} 个分组）"
    if result.get("error"):
        line += f"：{result['error']}"
    return line


def _print_verify(result: dict) -> None:
    click.echo(f"核对范围 {result['scope'] or '—'}：{result['buckets']} 个分组，{_verify_line(result)}")
    for b in result["differing"]:
        click.echo(f"  不一致：{table_label(b['table'])}（{b['table']}）区划 {b['area'] or '（无）'}："
                   f"县中心 {b['hub_rows']} 条，本站 {b['local_rows']} 条，{b['rows']} 条记录不同")
    if result["repaired"]:
        done = "，".join(f"{_FIXES.get(k, k)} {n} 条" for k, n in result["repaired"].items())
        click.echo(f"已修复：{done}")
        for b in result["remaining"]:
            click.echo(f"  仍不一致：{table_label(b['table'])}（{b['table']}）区划 {b['area'] or '（无）'}")
    if result["pending"]:
        click.echo(f"未上传的修改 {result['pending']} 条未参与比较（下次同步上传）")
    for r in result["needs_recovery"]:
        click.echo(f"  需要恢复：{table_label(r['table'])} {r['id']}（字段 {'、'.join(r['fields'])}）：本站持有县中心没有的"
                   f"其他站点版本，请联系县中心恢复")


def _cert_text(cert: dict | None) -> str:
    """The 证书 line of ``status``."""
    if not cert:
        return "无"
    text = f"{CERT_STATE_LABELS.get(cert['state'], cert['state'])}，有效期至 {cert['not_after'][:10]}"
    if cert["state"] == "valid":
        text += f"（剩 {cert['days_left']} 天{'，下次同步时自动续期' if cert['renew_due'] else ''}）"
    if cert.get("refused"):
        text += f"（{_REFUSAL_LABELS.get(cert['refused']['reason'], cert['refused']['reason'])}；"
        text += "请向县中心申请新令牌，运行 station-node init --reenroll --token 令牌）"
    elif cert["state"] == "expired":
        text += "（请向县中心申请新令牌，运行 station-node init --reenroll --token 令牌）"
    return text + f"，序列号 {cert['serial']}"


def _progress_bar(total_push: int):
    progress = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed} 行"),
                        TimeElapsedColumn(), transient=True)
    tasks = {"push": progress.add_task("上传", total=total_push or None), "pull": progress.add_task("下载", total=None)}

    def advance(phase: str, rows: int) -> None:
        progress.advance(tasks[phase], rows)

    return progress, advance


_timeout_option = click.option(
    "--timeout", default=DEFAULT_TIMEOUT_S, show_default=True, type=click.FloatRange(0.5, 3600), metavar="秒",
    help="县中心多少秒没有应答即算作无响应（网络很慢时调大）")


def _stamped(line: str) -> None:
    """A daemon log line, with the local time first (journald or a log file keeps it)."""
    click.echo(f"{dt.datetime.now():%Y-%m-%d %H:%M:%S} {line}", err=True)


def register(main: click.Group) -> None:
    @main.command(help="与县中心同步一次：先上传本站修改，再下载本站范围内的更新。")
    @click.option("--retries", default=SYNC_ATTEMPTS, show_default=True, type=click.IntRange(1, MAX_SYNC_ATTEMPTS), help="连不上县中心时最多尝试几次")
    @click.option("--batch-rows", default=DEFAULT_BATCH_ROWS, show_default=True, type=click.IntRange(1, MAX_BATCH_ROWS),
                  help="每批行数（网络差时调小，每批确认后即保存进度）")
    @click.option("--gzip", "gzip", is_flag=True, help="压缩传输（网速很慢时用；快速网络上反而更慢）")
    @click.option("--verify-every", "verify_every", default=None, type=click.IntRange(0, 100000), metavar="N",
                  help=f"每同步 N 次后与县中心核对一次数据（默认 {DEFAULT_VERIFY_EVERY}，0 为不核对；设定后本站以后的同步和后台同步都按此执行）")
    @_timeout_option
    @json_option
    @home_option
    def sync(retries: int, batch_rows: int, gzip: bool, verify_every: int | None, timeout: float, as_json: bool,
             home: str | None) -> None:
        tune_gc()
        where = home_mod.resolve_home(home)
        verified: list[VerifyReport] = []
        renewed: list[RenewalReport] = []
        with open_station(home) as store:
            if verify_every is not None:
                set_verify_every(store, verify_every)

            def on_retry(exc, wait):
                click.echo(f"连接失败，{wait:.1f} 秒后重试：{exc}", err=True)

            show_bar = not as_json and sys.stdout.isatty()
            if show_bar:
                progress, advance = _progress_bar(store.pending_count())
                with progress:
                    report = sync_with_retry(where, store, attempts=retries, progress=advance, on_retry=on_retry,
                                             batch_rows=batch_rows, compression=gzip, on_verify=verified.append,
                                             on_renew=renewed.append, timeout=timeout)
            else:
                report = sync_with_retry(where, store, attempts=retries, on_retry=on_retry, batch_rows=batch_rows,
                                         compression=gzip, on_verify=verified.append, on_renew=renewed.append,
                                         timeout=timeout)
        if as_json:
            emit_json({**report.to_dict(), **({"verify": verified[0].to_dict()} if verified else {}),
                       **({"renewal": renewed[0].to_dict()} if renewed else {})})
            return
        click.echo(f"同步完成：上传 {report.pushed} 条，下载 {report.pulled} 条，移出 {report.evicted} 条，"
                   f"被拒 {report.rejected} 条，新冲突 {report.conflicts} 条（用时 {report.seconds:.2f} 秒）")
        for r in report.rejections:
            click.echo(f"  被拒：{r['table']} {r['id']}：{r['reason']}")
        if verified:
            click.echo(f"定期核对：{_verify_line(verified[0].to_dict())}")
        if renewed:
            click.echo(renewed[0].line())

    @main.command(help="与县中心核对本站范围内的数据（按数据表和区划分组比较校验值），列出不一致的分组；加 --repair 修复。")
    @click.option("--repair", is_flag=True, help="修复不一致：重新取县中心的记录，删除县中心没有的记录（未上传的修改保留，下次同步上传）")
    @click.option("--batch-rows", default=DEFAULT_BATCH_ROWS, show_default=True, type=click.IntRange(1, MAX_BATCH_ROWS),
                  help="取县中心记录时每批行数")
    @json_option
    @home_option
    def verify(repair: bool, batch_rows: int, as_json: bool, home: str | None) -> None:
        where = home_mod.resolve_home(home)
        with open_station(home) as store:
            result = verify_session(where, store, repair=repair, batch_rows=batch_rows).to_dict()
        if as_json:
            emit_json(result)
        else:
            _print_verify(result)
        if result["result"] in ("differs", "behind"):
            raise StationError(_verify_line(result) if result["result"] == "behind" else
                               f"本站数据与县中心不一致：{len(result['remaining'] or result['differing'])} 个分组"
                               + ("" if repair else "（运行 station-node verify --repair 修复）"))

    @main.command(help="显示本站状态：站点、范围、县中心、上次同步、未上传修改、被拒记录、时钟偏差、证书有效期。")
    @json_option
    @home_option
    def status(as_json: bool, home: str | None) -> None:
        where = home_mod.resolve_home(home)
        with open_station(home) as store:
            info = station_status(where, store)
        if as_json:
            emit_json(info)
            return
        from vetsync_cli import local_time  # times as a clerk reads them: local, to the minute

        cert = info["certificate"]
        skew_ms = info["clock_skew_ms"]
        lines = [
            ("站点", info["station"]), ("范围", info["scope"]), ("县中心", info["hub"] or "（离线）"),
            ("上次同步", local_time(info["last_sync"]) if info["last_sync"] else "从未同步"),
            ("未上传的修改", f"{info['pending']} 条"),
            ("被拒记录", f"{len(info['rejected'])} 条"),
            ("时钟偏差", "未知" if skew_ms is None else f"{skew_ms / 1000:+.1f} 秒（本机减县中心）"),
            ("证书", _cert_text(cert)),
        ]
        last = info["last_verify"]
        lines.append(("上次核对", "从未核对" if not last else f"{local_time(last['at'])}，{_verify_line(last)}"))
        for k, v in lines:
            click.echo(f"{k}：{v}")
        for r in info["rejected"]:
            click.echo(f"  被拒：{r['table']} {r['row_id']} {r['fields']}：{r['reason']}")

    @main.command(help="立即续期本站证书（不论剩余几天）：在本机生成新密钥，经双向 TLS 连接向县中心申请新证书，"
                       "新密钥与证书一起替换旧的；再用新证书连接一次确认。证书剩余不足 30 天时，同步会自动续期。")
    @json_option
    @home_option
    def renew(as_json: bool, home: str | None) -> None:
        where = home_mod.resolve_home(home)
        with open_station(home) as store:
            result = renew_session(where, store)
        if as_json:
            emit_json(result.to_dict())
            return
        click.echo(f"证书已续期：新证书序列号 {result.serial}，有效期至 {result.not_after[:10]}"
                   f"（原证书 {result.previous_serial}），县中心已接受新证书")

    @main.command(help="查看或修改本站设置。--hub 改县中心的地址（县中心换了地址或端口时；新地址须在县中心证书所列的主机名或 IP 中）。")
    @click.option("--hub", default=None, metavar="HOST:PORT", help="县中心同步服务的新地址，如 192.168.1.20:7443")
    @json_option
    @home_option
    def config(hub: str | None, as_json: bool, home: str | None) -> None:
        with open_station(home) as store:
            changed = change_hub(store, hub) if hub else None
            current = {"station": store.meta("station"), "hub": store.meta("hub"),
                       "mode": store.meta("mode") or ("networked" if store.meta("hub") else "offline"),
                       "verify_every": verify_every_of(store)}
        if as_json:
            emit_json({**current, **({"previous_hub": changed[0]} if changed else {})})
            return
        if changed:
            click.echo(f"县中心地址已改为 {changed[1]}（原为 {changed[0]}），下次同步起生效")
            return
        click.echo(f"站点：{current['station']}")
        click.echo(f"县中心：{current['hub'] or '（离线）'}")
        click.echo(f"定期核对：每 {current['verify_every']} 次同步" if current["verify_every"] else "定期核对：不核对")

    @main.command(help="本站范围的统计报表：在册人数、走访覆盖、信访办理和待处理冲突（与县级报表同一口径）。"
                       "统计期间可为月、季度、年或日期范围，信访的未办结、超期按期末计算。")
    @click.option("--period", default=None, metavar="PERIOD",
                  help="统计期间：2026-11（月）、2026-Q4（季度）、2026（年）或 2026-10-01..2026-11-30（默认本月）")
    @click.option("--month", default=None, metavar="YYYY-MM", help="统计月份（同 --period YYYY-MM）")
    @click.option("--out", "out", default=None, metavar="FILE",
                  help="写入 .xlsx（按 A4 排版：汇总、分村、上报统计、逾期信访、未联系）或 .csv 文件")
    @click.option("--office", default=None, metavar="NAME", help="制表单位（.xlsx 用，默认本站代码及名称）")
    @click.option("--by", "by", default=None, metavar="NAME", help="填报人（.xlsx 用，默认本机登录用户名）")
    @json_option
    @home_option
    def report(period: str | None, month: str | None, out: str | None, office: str | None, by: str | None,
               as_json: bool, home: str | None) -> None:
        import getpass

        from vetsync_cli import CliError
        from vetsync_cli.report_view import sheet_options

        if period and month:
            raise CliError("--period 与 --month 只能用一个")
        if (office or by) and not (out and out.lower().endswith(".xlsx")):
            raise CliError("--office、--by 只用于写入 .xlsx 报表（--out 文件.xlsx）")
        with open_station(home) as store:
            rep = build_report(store, store.meta("scope"), period=period or month or dt.date.today(),
                               today=dt.date.today())
            sheet = None
            if out and out.lower().endswith(".xlsx"):
                from sync.store.areas import area_names
                from veterans.places import place

                try:
                    who = by or getpass.getuser()
                except (KeyError, OSError):
                    raise CliError("无法得知本机用户名：请用 --by 写明填报人") from None
                station = store.meta("station") or ""
                where = office or f"{place(station, area_names(store, station[:6]))} 服务站"
                sheet = sheet_options(store, rep, office=where, by=who, stale=False)
        show_report(rep, out=out, as_json=as_json, sheet=sheet)

    from station_node.cli_web import listen_options

    @main.command(help="后台定时同步，直到收到停止信号；县中心不可达或无响应时逐步延长间隔一直重试。"
                       f"只有本站证书被吊销等无法自行恢复的问题才退出（退出码 {EXIT_PERMANENT}）。每行日志带时间。"
                       "加 --web 同时打开本站网页（同一进程、同一数据库；网页上的“同步”按钮让后台立即同步一次），"
                       "就绪时输出一行 listening http://HOST:PORT；此时无法自行恢复的问题只停止后台同步，网页照常可用。")
    @click.option("--interval", default=DAEMON_INTERVAL_S, show_default=True, type=click.FloatRange(0.1, 86400), help="同步间隔（秒）")
    @_timeout_option
    @click.option("--web", "with_web", is_flag=True, help="同时打开本站网页（地址见 --listen；需先用 station-node user add 建账号）")
    @listen_options
    @home_option
    def daemon(interval: float, timeout: float, with_web: bool, listen: str, allow_remote: bool,
               home: str | None) -> None:
        tune_gc()
        where = home_mod.resolve_home(home)
        if with_web:
            from vetsync_web.serve import check_bind, split_listen

            host, port = split_listen(listen)
            check_bind(host, allow_remote)
        with open_station(home) as store:
            d = Daemon(where, store, interval=interval, timeout=timeout, report=_stamped)
            page = None
            if with_web:
                from station_node.cli_web import PageServer

                page = PageServer(where, store, host, port)
                page.runner.timeout = timeout
                page.runner.session = d.sync_session  # the loop's session, with the page's progress
                page.runner.waker = d.wake  # the button wakes the loop: one session at a time
                d.session = page.runner.run
            d.install_signals()
            try:
                if page is not None:
                    page.start()
                    _stamped(f"本站网页已启动：http://{page.host}:{page.port}/")
                if page is not None and not store.meta("hub"):
                    # An offline station has nothing to sync with: the page only (re-enrolled: restart the daemon).
                    _stamped("本站离线使用（没有县中心地址），不做后台同步；网页照常可用，收到停止信号后退出")
                    d.stop_event.wait()
                    code = 0
                else:
                    code = d.run()
                if code == EXIT_PERMANENT and page is not None and not d.stop_event.is_set():
                    page.runner.waker = None  # the button now runs a session of its own
                    _stamped("后台同步已停止；网页仍在运行（可在网页上看错误、按“同步”重试），收到停止信号后退出")
                    d.stop_event.wait()
            finally:
                if page is not None:
                    page.stop()
                    _stamped("本站网页已停止")
        sys.exit(code)
