"""``user add|list|remove|password`` for a web page's accounts, shared by
``station-node user`` and ``county-hub user`` (each gives its home and roles).

A password is read from the terminal (typed twice, not shown) or, when stdin is
not a terminal, as the first line of stdin (for scripts: ``echo … | county-hub user add``)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable

import click

from vetsync_cli.chrome import CliError, emit_json, json_option, local_time, print_table

__all__ = ["read_password", "add_user_commands"]


def read_password() -> str:
    if sys.stdin is not None and sys.stdin.isatty():
        return click.prompt("密码", hide_input=True, confirmation_prompt="再输入一次密码", err=True)
    line = sys.stdin.readline() if sys.stdin is not None else ""
    if not line:
        raise CliError("没有读到密码：请在终端输入，或从标准输入给出一行")
    return line.rstrip("\r\n")


def add_user_commands(group: click.Group, *, resolve_home: Callable[[str | None], Path], home_option,
                      roles: dict[str, str], default_role: str, auto_login: bool,
                      on_change: Callable[[Path, str, str, dict], None] | None = None) -> None:
    """Add ``user`` with its subcommands to ``group``. ``roles``: code → label;
    ``auto_login``: offer ``--auto-login`` (the station's one clerk on 127.0.0.1);
    ``on_change(home, kind, name, detail)``: told of each change (the hub's audit)."""
    from vetsync_web import accounts as accounts_mod  # argon2, only for these commands

    def _accounts(home: str | None):
        return accounts_mod.Accounts(resolve_home(home))

    @group.group("user", help="网页账号：添加、列出、删除、改密码（密码以 Argon2id 存储）。")
    def user() -> None:
        pass

    role_help = "、".join(f"{k}（{v}）" for k, v in roles.items())

    @user.command("add", help="添加网页账号；密码从终端输入两次（不显示），或从标准输入读一行。至少 "
                              f"{accounts_mod.MIN_PASSWORD} 个字符。")
    @click.argument("name")
    @click.option("--role", type=click.Choice(list(roles)), default=default_role, show_default=True, help=f"角色：{role_help}")
    @(click.option("--auto-login", "auto", is_flag=True,
                   help="本站只有这一个账号时，在本机（127.0.0.1）打开页面自动登录，不输密码")
      if auto_login else (lambda f: f))
    @home_option
    def add(name: str, role: str, home: str | None, auto: bool = False) -> None:
        password = read_password()
        with _accounts(home) as accounts:
            account = accounts.add(name, password, role=role, auto_login=auto)
        if on_change:
            on_change(resolve_home(home), "user_added", account.name, {"role": role})
        click.echo(f"已添加账号 {account.name}（{roles[role]}）" + ("，本机打开页面时自动登录" if auto else ""))

    @user.command("list", help="列出网页账号。")
    @json_option
    @home_option
    def list_(as_json: bool, home: str | None) -> None:
        with _accounts(home) as accounts:
            rows = accounts.all()
        if as_json:
            emit_json([a.to_dict() for a in rows])
            return
        print_table([("name", "账号"), ("role", "角色"), ("auto", "自动登录"), ("last", "上次登录"), ("locked", "状态")],
                    [{"name": a.name, "role": roles.get(a.role, a.role), "auto": "是" if a.auto_login else "",
                      "last": local_time(a.last_login_ms) if a.last_login_ms else "从未登录",
                      "locked": "已锁定" if a.locked else "正常"} for a in rows],
                    title="网页账号", empty="（还没有账号：用 user add 姓名 添加）")

    @user.command("remove", help="删除网页账号（已登录的页面随即退出）。")
    @click.argument("name")
    @home_option
    def remove(name: str, home: str | None) -> None:
        with _accounts(home) as accounts:
            accounts.remove(name)
        if on_change:
            on_change(resolve_home(home), "user_removed", name, {})
        click.echo(f"已删除账号 {name}")

    @user.command("password", help="改网页账号的密码（也解除锁定）；新密码的读法同 user add。")
    @click.argument("name")
    @home_option
    def password(name: str, home: str | None) -> None:
        new = read_password()
        with _accounts(home) as accounts:
            accounts.set_password(name, new)
        if on_change:
            on_change(resolve_home(home), "user_password", name, {})
        click.echo(f"已修改账号 {name} 的密码")
