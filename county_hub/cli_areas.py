"""``county-hub areas import FILE [--replace] [--dry-run] [--json]`` and ``county-hub
areas list [--under CODE] [--json]``: the county's area list (统计用区划代码 → 名称,
issue 14 §2). Plugged into ``county-hub`` by :func:`register`.

The list is the hub-only table ``areas`` (one row per code, its ``area`` the code
itself): the hub writes it here, through ``HubStore.write_as_hub`` in one
transaction, and every station receives its own subtree by the ordinary pull. No
station may write it (the hub refuses such a push, the station's store refuses the
write). Once a store holds a list, a veteran's or petition's area must be on it
(``veterans.admission.unlisted_area``).

An import checks every row first (``veterans.area_list``) and writes nothing if
one is bad. Importing again renames what the file names anew; a code the file no
longer has is kept unless ``--replace`` (then it is removed: a tombstone that
syncs). Recorded in the audit log (``areas_import``).

``--json`` (a contract, fields only added) — import: ``dry_run``, ``replace``,
``file``, ``added``, ``renamed``, ``removed``, ``kept``, ``unchanged``, ``writes``,
``total`` (live codes after), ``removed_in_use`` (removed codes veterans are still
filed under); list: an array of ``{"code", "name", "level"}``.
"""

from __future__ import annotations

from pathlib import Path

import click

# Not from county_hub.cli: that module imports this one while it loads.
from county_hub import home as home_mod
from sync.store import areas as areas_store
from sync.store import contacts
from veterans import area_list
from veterans import values as domain
from vetsync_cli import ChineseCommand, ChineseGroup, CliError, emit_json, json_option, make_home_option, print_table

__all__ = ["register", "areas", "import_areas"]

home_option = make_home_option("县中心目录", home_mod.ENV_VAR)


def _county(store) -> str:
    county = store.meta("county") or ""
    if not county:
        raise CliError("县中心数据库缺少县级区划代码（请先运行 county-hub init --county CODE）")
    return county


def import_areas(store, registry, path: Path, *, replace: bool = False, dry_run: bool = False) -> dict:
    """Import the area list at ``path`` into the hub ``store``: all rows or none (see the
    module docstring); the counts, as ``--json`` gives them."""
    county = _county(store)
    rows = area_list.read_area_list(path, county)
    with store.transaction():
        plan = area_list.plan_import(rows, areas_store.area_states(store), replace=replace)
        if not dry_run:
            for code, changes, create in plan.writes:
                store.write_as_hub("areas", code, changes, create=create)
    in_use = sorted(set(plan.removed) & set(contacts.veteran_areas(store, county))) if plan.removed else []
    out = {"dry_run": dry_run, "replace": replace, "file": path.name, **plan.as_json(),
           "total": len(areas_store.area_names(store)), "removed_in_use": in_use}
    if not dry_run:
        registry.audit("areas_import", None, file=path.name, replace=replace,
                       **{k: out[k] for k in ("added", "renamed", "removed", "kept", "unchanged", "total")})
    return out


@click.group("areas", cls=ChineseGroup, help="县区划名单（区划代码与名称）：导入、查看。名单随同步下发到各站点，"
                                              "录入时不在名单中的区划代码将被拒绝。")
def areas() -> None:
    """The ``county-hub areas`` group."""


@areas.command(
    "import", cls=ChineseCommand,
    help="从 Excel（.xlsx）或 CSV 导入县区划名单：列“区划代码”“名称”，“层级”可选（无则按代码位数：6 县、9 乡镇/街道、"
         "12 村/社区）。代码须以本县代码开头；空行跳过，重复、缺名称的行拒绝；先检查全部行，有任何一行有误则不导入，"
         "并逐行列出错误。再次导入更新名称；名单中没有的代码保留，加 --replace 则标记删除。",
)
@click.argument("file", metavar="FILE", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--replace", is_flag=True, help="名单中没有的已有代码标记删除（随同步下发）")
@click.option("--dry-run", is_flag=True, help="只检查并统计将新增、改名、删除的数量，不写入")
@json_option
@home_option
def import_command(file: Path, replace: bool, dry_run: bool, as_json: bool, home: str | None) -> None:
    store, registry = home_mod.open_hub(home_mod.resolve_home(home))
    try:
        try:
            out = import_areas(store, registry, file, replace=replace, dry_run=dry_run)
        except area_list.AreaListError as exc:
            for line in exc.problems:
                click.echo(line, err=True)
            raise CliError(str(exc)) from exc
    finally:
        store.close()
    if as_json:
        emit_json(out)
        return
    counts = f"新增 {out['added']} 个，改名 {out['renamed']} 个，删除 {out['removed']} 个，未变 {out['unchanged']} 个"
    if dry_run:
        click.echo(f"检查通过，未写入（--dry-run）：将{counts}")
    else:
        click.echo(f"已导入区划名单 {out['file']}：{counts}；现有区划 {out['total']} 个")
    if out["kept"]:
        click.echo(f"名单中没有的 {out['kept']} 个已有代码保留（加 --replace 则标记删除）")
    if out["removed_in_use"]:
        click.echo("注意：以下已删除的代码仍有退役军人档案，请核实后迁移：" + "、".join(out["removed_in_use"][:20])
                   + ("……" if len(out["removed_in_use"]) > 20 else ""))


@areas.command("list", cls=ChineseCommand, help="列出县区划名单（代码、名称、层级）。")
@click.option("--under", "under", metavar="CODE", default=None, help="只列此区划（镇或村）及其下属")
@json_option
@home_option
def list_command(under: str | None, as_json: bool, home: str | None) -> None:
    store, _registry = home_mod.open_hub(home_mod.resolve_home(home))
    try:
        prefix = domain.validate_area(under, scope=_county(store)) if under else ""
        rows = areas_store.area_rows(store, prefix)
    finally:
        store.close()
    if as_json:
        emit_json(rows)
        return
    shown = [{**r, "level": domain.label("area_level", r["level"]) if r["level"] else ""} for r in rows]
    print_table([("code", "区划代码"), ("name", "名称"), ("level", "层级")], shown, no_wrap=("code",),
                empty="（尚未导入区划名单：county-hub areas import FILE）")
    if rows:
        click.echo(f"共 {len(rows)} 个区划")


def register(group: click.Group) -> None:
    """Add ``areas`` to the top ``county-hub`` group."""
    group.add_command(areas)
