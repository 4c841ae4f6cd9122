"""``station-node web`` (the clerk's page) and ``station-node user`` (its accounts)."""

from __future__ import annotations

import click

from station_node import home as home_mod
from station_node.cli_common import StationError, home_option
from vetsync_cli.accounts_cli import add_user_commands

__all__ = ["register"]

DEFAULT_LISTEN = "127.0.0.1:8470"


def register(group: click.Group) -> None:
    add_user_commands(group, resolve_home=home_mod.resolve_home, home_option=home_option,
                      roles={"clerk": "经办人"}, default_role="clerk", auto_login=True)

    @group.command(help="打开本站网页（浏览器访问 http://127.0.0.1:8470）：建档立卡、走访慰问、信访、冲突、导入导出、报表和同步。"
                        "就绪时输出一行 listening http://HOST:PORT；Ctrl+C 停止。需先用 station-node user add 姓名 建账号。")
    @click.option("--listen", default=DEFAULT_LISTEN, show_default=True, metavar="HOST:PORT",
                  help="监听地址（端口 0 为任选空闲端口）；默认只有本机能打开")
    @click.option("--allow-remote", is_flag=True,
                  help="允许监听本机回环以外的地址（其他电脑也能打开；总要输密码登录）")
    @home_option
    def web(listen: str, allow_remote: bool, home: str | None) -> None:
        from vetsync_web.serve import check_bind, serve, split_listen

        where = home_mod.resolve_home(home)
        host, port = split_listen(listen)
        check_bind(host, allow_remote)
        run_page(where, host, port)


def run_page(where, host: str, port: int) -> None:
    """Serve the page until a stop signal (also what ``daemon --web`` runs beside its syncs)."""
    from station_node.web import create_app
    from vetsync_web.accounts import Accounts
    from vetsync_web.serve import serve

    accounts = Accounts(where)
    if not accounts.all():
        accounts.close()
        raise StationError("本站还没有网页账号：先运行 station-node user add 姓名（可加 --auto-login）")
    store = home_mod.open_store(where)
    holder: dict = {}

    def ready(actual: int) -> None:
        holder["port"] = actual
        click.echo(f"本站网页已启动：http://{host}:{actual}/（Ctrl+C 停止）", err=True)

    # The app is made for the port asked; with port 0 the Host it answers is known once bound.
    from vetsync_web.serve import bind

    sock, actual = bind(host, port)
    app = create_app(where, host=host, port=actual, store=store, accounts=accounts)
    try:
        serve(app, host, actual, sock=sock, on_ready=ready)
    finally:
        store.close()
        accounts.close()
    click.echo("本站网页已停止", err=True)
