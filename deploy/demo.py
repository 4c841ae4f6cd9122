"""`make demo`: the whole vetsync network on this machine, in about a minute.

A county hub on a free local port with the county's area list (a CSV of codes
and place names), a town station and two of its villages enrolled with one-time
tokens, a roster imported from Excel, visits and
petitions recorded offline, concurrent edits and a duplicate registration,
syncs, the conflict and county reports, the conflicts resolved, and proof
that every station ends up agreeing with the hub (every row of its scope,
values and versions alike). Everything runs through
the real `county-hub` and `station-node` commands, as a clerk would type
them; the homes are left in ./demo-home to look around afterwards.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import select
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOME = Path(os.environ.get("VETSYNC_DEMO_HOME") or ROOT / "demo-home")
BIN = Path(sys.executable).parent
COUNTY, TOWN = "440902", "440902001"
VILLAGES = ["440902001001", "440902001002"]
STARTED = time.monotonic()
# The county's area list the demo imports (统计用区划代码, 名称, 层级): the national 12-digit
# form of the county, a town and its villages, and another town (whose names no station here sees).
AREA_LIST = [("440902000000", "示范县", "县"), (TOWN, "示范镇", "镇"), (VILLAGES[0], "东村", "村"),
             (VILLAGES[1], "西村", "村"), ("440902001003", "南社区", "社区"), ("440902002", "北街道", "街道"),
             ("440902002001", "北门社区", "社区")]


def say(title: str) -> None:
    print(f"\n\033[1m== {title} ==\033[0m  （{time.monotonic() - STARTED:.1f} 秒）", flush=True)


def run(tool: str, *args: str, home: Path, show: bool = True, json_out: bool = False):
    cmd = [str(BIN / tool), *args, "--home", str(home)]
    if show:
        print(f"$ {tool} {' '.join(args)}", flush=True)
    proc = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120,
                          env={**os.environ, "COLUMNS": "150"})
    if proc.returncode != 0:
        sys.exit(f"演示失败：{tool} {' '.join(args)}\n{proc.stderr or proc.stdout}")
    if json_out:
        return json.loads(proc.stdout)
    if show and proc.stdout.strip():
        print(proc.stdout.rstrip(), flush=True)
    return proc.stdout


def id_number(rng: random.Random, used: set) -> str:
    from veterans.values import id_number_check_digit

    while True:
        birth = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(365 * 50))
        first17 = f"{COUNTY}{birth:%Y%m%d}{rng.randrange(1000):03d}"
        number = first17 + id_number_check_digit(first17)
        if number not in used:
            used.add(number)
            return number


def make_roster(path: Path, village: str, n: int, rng: random.Random, used: set) -> None:
    from veterans.tabular import write_table

    surnames, given = "陈李黄张林王吴刘梁何", ["国强", "建华", "志明", "秀英", "伟", "文辉", "海龙", "少芬", "振东", "春生"]
    categories = ["退役士兵"] * 6 + ["转业干部", "复员军人", "残疾军人", "烈属"]
    columns = [(h, h) for h in ("姓名", "身份证号", "联系电话", "住址", "区划代码", "类别", "入伍时间", "退役时间")]
    rows = []
    for i in range(n):
        number = id_number(rng, used)
        # enlisted at 18–21 and discharged 2–5 years later: what can be true (the hub refuses the rest)
        enlisted = dt.date(int(number[6:10]) + 18 + rng.randrange(4), rng.randrange(1, 13), 1)
        rows.append({
            "姓名": rng.choice(surnames) + rng.choice(given), "身份证号": number,
            "联系电话": f"13{rng.randrange(10**9):09d}", "住址": f"{village[-3:]}村{rng.randrange(1, 9)}组{i + 1}号",
            "区划代码": village, "类别": rng.choice(categories),
            "入伍时间": f"{enlisted:%Y/%m/%d}", "退役时间": f"{enlisted.year + rng.randrange(2, 6)}-09-01",
        })
    write_table(path, columns, rows, sheet="名册")


def start_hub(home: Path) -> tuple[subprocess.Popen, str]:
    from county_hub.server import parse_listening

    proc = subprocess.Popen([str(BIN / "county-hub"), "serve", "--listen", "127.0.0.1:0", "--home", str(home)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if select.select([proc.stdout], [], [], 0.2)[0]:
            ready = parse_listening(proc.stdout.readline())
            if ready:
                return proc, f"{ready[0]}:{ready[1]}"
        if proc.poll() is not None:
            break
    proc.kill()
    sys.exit("演示失败：县中心没有启动")


def scoped_state(db: Path, scope: str, station: str | None = None) -> dict:
    """Every row of ``db`` in ``scope``, read-only: ``{(table, id): (values, clock)}``
    with every field's value and version. With ``station`` (reading the hub), only
    what the hub sends that station: another station's confidential petitions, their
    events and conflicts stay out."""
    from sync.engine.clocks import unpack_clock
    from sync.engine.schema import TABLES

    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        out, hidden = {}, set()
        for name, t in TABLES.items():  # petitions before their events
            fields = ("id", *t.data_fields)
            columns = ", ".join(f'"{c}"' for c in (*fields, "_extra", "_clock"))
            for row in conn.execute(f'SELECT {columns} FROM "{name}"'):
                values = dict(zip(fields, row))
                if not (values.get("area") or "").startswith(scope):
                    continue
                if station and values.get("confidential") == 1 and values.get("station") != station:
                    hidden.add(values["id"])
                    continue
                if station and name == "petition_events" and values["petition_id"] in hidden:
                    continue
                values["_extra"] = row[-2]
                out[(name, values["id"])] = (values, unpack_clock(name, row[-1]))
        return out
    finally:
        conn.close()


def describe_difference(mine: tuple | None, hubs: tuple | None) -> str:
    if mine is None or hubs is None:
        return "只在县中心" if mine is None else "只在本站"
    names = sorted(n for n in mine[0].keys() | hubs[0].keys() | mine[1].keys() | hubs[1].keys()
                   if (mine[0].get(n), mine[1].get(n)) != (hubs[0].get(n), hubs[1].get(n)))
    return "；".join(f"{n} 本站 {mine[0].get(n)!r}（{mine[1].get(n, '')}），县中心 {hubs[0].get(n)!r}（{hubs[1].get(n, '')}）"
                    for n in names)


def main() -> None:
    rng = random.Random(7)
    used: set[str] = set()
    shutil.rmtree(HOME, ignore_errors=True)
    hub_home = HOME / "hub"
    homes = {code: HOME / f"station-{code}" for code in [TOWN, *VILLAGES]}

    say("1. 县中心初始化并启动")
    run("county-hub", "init", "--county", COUNTY, "--name", "示范县", "--host", "localhost", home=hub_home)
    area_csv = HOME / "区划名单.csv"
    area_csv.write_text("统计用区划代码,名称,层级\n" + "".join(f"{c},{n},{lv}\n" for c, n, lv in AREA_LIST),
                        encoding="utf-8")
    run("county-hub", "areas", "import", str(area_csv), home=hub_home)
    run("county-hub", "areas", "list", "--under", TOWN, home=hub_home)
    hub, target = start_hub(hub_home)
    print(f"县中心已在 {target} 监听（双向 TLS），登记端口为其后一个端口")
    try:
        say("2. 镇站和两个村站用一次性令牌登记")
        for code, home in homes.items():
            token = run("county-hub", "token", "--station", code, home=hub_home, show=False).strip()
            print(f"令牌（{code}）：{token[:28]}…")
            run("station-node", "init", "--station", code, "--hub", target, "--token", token, home=home)

        say("3. 两个村站导入 Excel 名册（先全部校验，再一次写入）")
        for i, code in enumerate(VILLAGES):
            roster = HOME / f"名册-{code}.xlsx"
            make_roster(roster, code, 40 if i == 0 else 30, rng, used)
            run("station-node", "import", str(roster), home=homes[code])
        run("station-node", "import", str(HOME / f"名册-{VILLAGES[0]}.xlsx"), home=homes[VILLAGES[0]])
        print("（再次导入同一名册：没有任何改动）")

        say("4. 离线登记走访和信访")
        va, vb = homes[VILLAGES[0]], homes[VILLAGES[1]]
        vets_a = run("station-node", "veteran", "list", "--json", home=va, show=False, json_out=True)
        vets_b = run("station-node", "veteran", "list", "--json", home=vb, show=False, json_out=True)
        today = dt.date.today()
        for v in vets_a[:25] + vets_b[:12]:
            home = va if v["area"] == VILLAGES[0] else vb
            run("station-node", "visit", "add", "--veteran", v["id"], "--kind", rng.choice(["入户", "电话"]),
                "--date", str(today - dt.timedelta(days=rng.randrange(0, 20))), "--summary", "走访了解生活情况",
                home=home, show=False)
        print(f"已登记走访 37 次")
        pet = run("station-node", "petition", "open", "--veteran", vets_a[0]["id"], "--channel", "走访",
                  "--summary", "反映优待证办理进度", "--received", str(today - dt.timedelta(days=20)),
                  "--json", home=va, show=False, json_out=True)
        run("station-node", "petition", "open", "--veteran", vets_b[0]["id"], "--channel", "电话",
            "--summary", "咨询医疗优待政策", home=vb, show=False)
        run("station-node", "petition", "event", pet["id"], "--kind", "受理", "--note", "已受理，转镇民政办",
            "--method", "信访处理意见书", "--date", str(today - dt.timedelta(days=18)),
            "--served", str(today - dt.timedelta(days=17)), home=va)  # the written notice (信访工作条例 Arts. 22–23)

        say("5. 第一次同步：各站上传，再下载本站范围")
        for home in [va, vb, homes[TOWN]]:
            run("station-node", "sync", home=home)
        print("（区划名单随同步下发：镇站的列表显示村名）")
        run("station-node", "veteran", "list", "--limit", "5", home=homes[TOWN])
        run("station-node", "petition", "list", home=homes[TOWN])

        say("6. 离线时的并发修改和重复登记")
        target_vet = vets_a[1]
        run("station-node", "veteran", "edit", target_vet["id"], "--set", "联系电话=13900000001", home=va)
        run("station-node", "veteran", "edit", target_vet["id"], "--set", "联系电话=13900000002", home=homes[TOWN])
        dup = vets_a[2]
        run("station-node", "veteran", "add", "--id-number", dup["id_number"], "--name", dup["name"],
            "--area", VILLAGES[1], "--set", "住址=外出务工后迁回", home=vb)
        print(f"（{dup['name']} 同时在 {VILLAGES[0]} 和 {VILLAGES[1]} 登记）")

        say("7. 再次同步：县中心发现冲突，记录双方的值")
        for home in [va, homes[TOWN], vb, va, homes[TOWN]]:
            run("station-node", "sync", home=home, show=False)
        print("三个站点已同步")
        run("county-hub", "conflicts", home=hub_home)
        run("station-node", "conflicts", home=homes[TOWN])

        say("8. 县级统计报表")
        run("county-hub", "report", home=hub_home)
        run("county-hub", "report", "--out", str(HOME / "县级报表.xlsx"), home=hub_home)

        say("9. 处理冲突：保留较新的电话；重复登记并入原档案")
        for c in run("county-hub", "conflicts", "--json", home=hub_home, show=False, json_out=True):
            if c["kind"] == "duplicate_identity":
                survivor = next(v["id"] for v in vets_a if v["id"] in (c["row_id"], c["winner_value"]))
                run("county-hub", "conflicts", "resolve", c["id"], "--merge-into", survivor, home=hub_home)
            else:
                run("county-hub", "conflicts", "resolve", c["id"], "--keep", "winner", home=hub_home)
        run("county-hub", "conflicts", "--all", home=hub_home)

        say("10. 再同步一轮，核对各站与县中心是否一致")
        for home in homes.values():
            run("station-node", "sync", home=home, show=False)
        all_agree = True
        for code, home in homes.items():
            mine = scoped_state(home / "station.db", code)
            hubs = scoped_state(hub_home / "hub.db", code, station=code)
            differ = sorted(k for k in mine.keys() | hubs.keys() if mine.get(k) != hubs.get(k))
            all_agree &= not differ and bool(mine)
            print(f"站点 {code}：{len(mine)} 条记录，值和版本" + ("与县中心一致" if not differ and mine else "与县中心不一致！"))
            for key in differ[:5]:
                print(f"  {key[0]} {key[1]}：{describe_difference(mine.get(key), hubs.get(key))}")
        run("county-hub", "stations", home=hub_home)
        if not all_agree:
            sys.exit("演示失败：站点与县中心不一致")
        show_pages(homes[VILLAGES[0]], hub_home)
    finally:
        say("12. 停止县中心")
        hub.send_signal(signal.SIGTERM)
        hub.wait(15)
        print(f"县中心已停止（退出码 {hub.returncode}）。各站点和县中心的目录留在 {HOME}")
    print(f"\n演示完成，用时 {time.monotonic() - STARTED:.1f} 秒。")


DEMO_PASSWORD = "demo-password"


def _serve(tool: str, home: Path) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([str(BIN / tool), "web", "--listen", "127.0.0.1:0", "--home", str(home)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline()
    if not line.startswith("listening http://"):
        proc.kill()
        sys.exit(f"演示失败：{tool} web 没有启动")
    return proc, line.split()[1]


def show_pages(station_home: Path, hub_home: Path) -> None:
    """The web pages: an account each, both served a moment, their first page asked for."""
    import urllib.request

    say("11. 网页：本站经办人页面与县中心网页")
    for tool, home, args in (("station-node", station_home, ("user", "add", "演示经办人", "--auto-login")),
                             ("county-hub", hub_home, ("user", "add", "演示管理员", "--role", "admin"))):
        proc = subprocess.run([str(BIN / tool), *args, "--home", str(home)], input=DEMO_PASSWORD + "\n",
                              capture_output=True, text=True)
        print(f"$ {tool} {' '.join(args)}\n{proc.stdout.strip() or proc.stderr.strip()}")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    for tool, home, title in (("station-node", station_home, "本站页面（本机自动登录）"), ("county-hub", hub_home, "县中心网页")):
        proc, url = _serve(tool, home)
        try:
            with opener.open(url + "/", timeout=30) as answer:
                where = answer.geturl().replace(url, "") or "/"
                print(f"{title}：{url}/ → {answer.status}（{where}）")
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(15)
    print(f"以后打开：{BIN}/station-node web --home {station_home}；"
          f"{BIN}/county-hub web --home {hub_home}（账号 演示管理员，密码 {DEMO_PASSWORD}）")


if __name__ == "__main__":
    main()
