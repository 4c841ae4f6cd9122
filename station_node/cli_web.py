"""``station-node web`` (the clerk's page) and ``station-node user`` (its accounts);
and the page served beside the sync loop by ``station-node daemon --web``
(:class:`PageServer`: the page in a thread of the daemon's process, over the
daemon's one store)."""

from __future__ import annotations

import sys
import threading

import click

from station_node import home as home_mod
from station_node.cli_common import StationError, home_option
from vetsync_cli.accounts_cli import add_user_commands

__all__ = ["register", "run_page", "PageServer", "DEFAULT_LISTEN", "listen_options"]

DEFAULT_LISTEN = "127.0.0.1:8470"

NO_ACCOUNT = "本站还没有网页账号：先运行 station-node user add 姓名（可加 --auto-login）"


def listen_options(func):
    """``--listen`` and ``--allow-remote`` (``web`` and ``daemon --web``)."""
    func = click.option("--allow-remote", is_flag=True,
                        help="允许监听本机回环以外的地址（其他电脑也能打开；总要输密码登录）")(func)
    func = click.option("--listen", default=DEFAULT_LISTEN, show_default=True, metavar="HOST:PORT",
                        help="网页的监听地址（端口 0 为任选空闲端口）；默认只有本机能打开")(func)
    return func


def register(group: click.Group) -> None:
    add_user_commands(group, resolve_home=home_mod.resolve_home, home_option=home_option,
                      roles={"clerk": "经办人"}, default_role="clerk", auto_login=True)

    @group.command(help="打开本站网页（浏览器访问 http://127.0.0.1:8470）：建档立卡、走访慰问、信访、冲突、导入导出、报表和同步。"
                        "就绪时输出一行 listening http://HOST:PORT；Ctrl+C 停止。需先用 station-node user add 姓名 建账号。"
                        "后台定时同步的同时开网页：station-node daemon --web。")
    @listen_options
    @home_option
    def web(listen: str, allow_remote: bool, home: str | None) -> None:
        from vetsync_web.serve import check_bind, split_listen

        where = home_mod.resolve_home(home)
        host, port = split_listen(listen)
        check_bind(host, allow_remote)
        run_page(where, host, port)


def _warm(store) -> None:
    """Fold the petitions' due dates once at start (the 首页's first load stays quick)."""
    from station_node import records

    try:
        records.refresh_petition_dues(store)
    except Exception:  # the page folds them itself when asked; nothing is lost
        pass


def run_page(where, host: str, port: int) -> None:
    """Serve the page until a stop signal (SIGTERM/SIGINT)."""
    from station_node.web import create_app
    from vetsync_web.accounts import Accounts
    from vetsync_web.serve import bind, serve

    accounts = Accounts(where)
    if not accounts.all():
        accounts.close()
        raise StationError(NO_ACCOUNT)
    store = home_mod.open_store(where)

    def ready(actual: int) -> None:
        click.echo(f"本站网页已启动：http://{host}:{actual}/（Ctrl+C 停止）", err=True)
        threading.Thread(target=_warm, args=(store,), name="vetsync-web-warm", daemon=True).start()

    # The app is made for the port asked; with port 0 the Host it answers is known once bound.
    sock, actual = bind(host, port)
    app = create_app(where, host=host, port=actual, store=store, accounts=accounts)
    try:
        serve(app, host, actual, sock=sock, on_ready=ready)
    finally:
        store.close()
        accounts.close()
    click.echo("本站网页已停止", err=True)


class PageServer:
    """The page served in a thread (waitress) over a store the caller owns: what
    ``daemon --web`` runs beside its loop. The caller handles the signals and calls
    :meth:`stop`. ``runner``: the page's sync runner (the daemon sets its waker)."""

    def __init__(self, where, store, host: str, port: int, *, threads: int = 6):
        from station_node.web import create_app
        from station_node.web.sync_runner import runner
        from vetsync_web.accounts import Accounts
        from vetsync_web.serve import bind

        self.accounts = Accounts(where)
        if not self.accounts.all():
            self.accounts.close()
            raise StationError(NO_ACCOUNT)
        try:
            self.sock, self.port = bind(host, port)
        except BaseException:
            self.accounts.close()
            raise
        self.host = host
        self.app = create_app(where, host=host, port=self.port, store=store, accounts=self.accounts)
        self.runner = runner(self.app.extensions["station"])
        self.threads = threads
        self._server = None
        self._thread: threading.Thread | None = None

    def start(self) -> "PageServer":
        from waitress.server import create_server

        from vetsync_web.serve import listening_line

        self._server = create_server(self.app, sockets=[self.sock], threads=self.threads, ident="vetsync",
                                     clear_untrusted_proxy_headers=True, channel_timeout=60,
                                     max_request_body_size=self.app.config.get("MAX_CONTENT_LENGTH") or 2**30)
        self._thread = threading.Thread(target=self._serve, name="vetsync-web", daemon=True)
        self._thread.start()
        print(listening_line(self.host, self.port), flush=True)
        store = self.app.extensions["station"].store
        threading.Thread(target=_warm, args=(store,), name="vetsync-web-warm", daemon=True).start()
        return self

    def _serve(self) -> None:
        try:
            self._server.run()
        except Exception as exc:  # the page stopped by itself: say so; the loop goes on
            click.echo(f"本站网页出错停止：{exc}", err=True)

    def stop(self, timeout: float = 10.0) -> None:
        """Close the listening socket and every connection, let the requests running end, join."""
        server = self._server
        if server is not None:
            from waitress import wasyncore

            sockets_map = getattr(server, "map", None) or getattr(server, "_map", None)

            def close_all() -> None:
                server.task_dispatcher.shutdown(cancel_pending=True, timeout=timeout / 2)
                wasyncore.close_all(sockets_map)

            trigger = getattr(server, "trigger", None)
            if trigger is None and sockets_map:
                trigger = next((s for s in sockets_map.values() if hasattr(s, "pull_trigger")), None)
            if trigger is not None and self._thread is not None and self._thread.is_alive():
                trigger.pull_trigger(close_all)  # run in the server's own thread
            else:
                close_all()
            if self._thread is not None:
                self._thread.join(timeout)
        self.accounts.close()
        sys.stdout.flush()
