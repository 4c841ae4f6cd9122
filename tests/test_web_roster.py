"""The station page's 导入导出 (station_node.web.roster): an uploaded roster is
checked first (every bad row with its line and reason; what would be created or
updated), imported all or nothing, its error workbook downloadable; the
station's veterans exported as a workbook. Through the real app over a real
store (tests/webapp.py); the rosters are written as tests/test_roster.py writes them."""

from __future__ import annotations

import io
import re
import sqlite3
from pathlib import Path

from openpyxl import load_workbook

from station_node import records
from veterans.tabular import write_table
from veterans.values import id_number_check_digit
from webapp import station_client, station_home

VILLAGE = "440902001001"


def make_id(seq: int, birth: str = "19650312") -> str:
    body = f"440902{birth}{seq:03d}"
    return body + id_number_check_digit(body)


def person(i: int, **over) -> dict:
    row = {"姓名": f"人员{i}", "身份证号": make_id(i), "性别": "男" if i % 2 else "女", "联系电话": f"1380013{i:04d}",
           "住址": f"一村{i}号", "类别": "退役士兵", "入伍时间": "1983-10-01", "退役时间": "1987-12-01"}
    row.update(over)
    return row


def roster_bytes(tmp_path: Path, rows: list[dict], suffix: str = ".xlsx") -> bytes:
    path = tmp_path / f"made{suffix}"
    headings = list(dict.fromkeys(h for r in rows for h in r))
    write_table(path, [(h, h) for h in headings], rows)
    return path.read_bytes()


def dump(home: Path) -> str:
    conn = sqlite3.connect(home / "station.db")
    try:
        return "\n".join(conn.iterdump())
    finally:
        conn.close()


def _text(r) -> str:
    return r.get_data(as_text=True)


def _upload(client, data: bytes, name: str = "名册.xlsx", **form):
    return client.post("/roster/check", data={"file": (io.BytesIO(data), name), **form},
                       content_type="multipart/form-data")


def _token(body: str) -> str:
    m = re.search(r'name="upload" value="([^"]+)"', body)
    assert m, body
    return m.group(1)


def _uploads(home: Path) -> list[Path]:
    folder = home / "web-uploads"
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def _veterans(client) -> dict[str, dict]:
    store = client.app.extensions["station"].store
    return {v["id_number"]: v for v in records.veteran_page(store).rows}


def test_the_page_has_the_upload_form_and_the_export_link(tmp_path):
    client = station_client(station_home(tmp_path, VILLAGE))
    body = _text(client.get("/roster/"))
    assert 'id="roster-upload"' in body and 'enctype="multipart/form-data"' in body
    assert re.search(r'<input type="file" name="file"[^>]*accept="\.xlsx,\.csv"', body)
    assert 'id="roster-export"' in body


def test_a_roster_with_bad_rows_shows_every_problem_and_writes_nothing(tmp_path):
    home = station_home(tmp_path, VILLAGE)
    client = station_client(home)
    rows = [person(1), person(2, 身份证号=make_id(2)[:-1] + ("0" if make_id(2)[-1] != "0" else "1")),
            person(3), person(4, 入伍时间="2099-01-01"), person(5, 姓名="")]
    before = dump(home)
    r = _upload(client, roster_bytes(tmp_path, rows))
    body = _text(r)
    assert r.status_code == 200
    assert 'id="roster-dry-run" data-ok="false"' in body
    problems = re.findall(r'<tr data-testid="roster-problem" data-line="(\d+)"><td class="num">\d+</td><td>([^<]*)</td>'
                          r'<td>([^<]+)</td>', body)
    lines = sorted({int(line) for line, _, _ in problems})
    assert lines == [3, 5, 6], problems  # header on line 1: people 2, 4, 5 are on lines 3, 5, 6
    by_line = {int(line): (who, what) for line, who, what in problems}
    assert by_line[3][0] == "人员2" and "校验位" in by_line[3][1]
    assert by_line[5][0] == "人员4"
    assert re.search(r"名册有 3 行有误，未导入任何记录", body)
    assert 'id="roster-confirm"' not in body, "no import is offered while a row is bad"
    assert dump(home) == before, "nothing written"
    assert [p.stat().st_mode & 0o777 for p in _uploads(home)] == [0o600], "the upload is kept private"
    # the error workbook: every row back, a 错误 column with each bad row's problems
    link = re.search(r'id="roster-errors-link" href="([^"]+)"', body).group(1)
    got = client.get(link)
    assert got.status_code == 200 and got.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(got.data)).active
    values = [[c for c in row] for row in sheet.iter_rows(values_only=True)]
    assert values[0][0] == "错误"
    errors = {row[values[0].index("姓名")]: row[0] for row in values[1:]}
    assert errors["人员1"] is None and "校验位" in errors["人员2"] and errors["人员4"]
    # a forced import of the same upload still writes nothing
    r = client.post("/roster/import", data={"upload": _token(body)})
    assert r.status_code == 422 and "未导入任何记录" in _text(r)
    assert dump(home) == before
    client.post("/roster/cancel", data={"upload": _token(body)})
    assert _uploads(home) == [], "the upload is removed"


def test_a_good_roster_is_checked_then_imported_and_the_upload_removed(tmp_path):
    home = station_home(tmp_path, VILLAGE)
    client = station_client(home)
    before = dump(home)
    r = _upload(client, roster_bytes(tmp_path, [person(1), person(2), person(3)], ".csv"), name="村名册.csv")
    body = _text(r)
    assert 'id="roster-dry-run" data-ok="true"' in body
    assert re.search(r'id="roster-created">3<', body) and re.search(r'id="roster-updated">0<', body)
    assert "第 2 行（人员1）：新增" in body
    assert 'id="roster-confirm"' in body
    assert dump(home) == before, "the check writes nothing"
    r = client.post("/roster/import", data={"upload": _token(body)})
    assert r.status_code == 200 and re.search(r'id="roster-created">3<', _text(r))
    vets = _veterans(client)
    assert {vets[make_id(i)]["name"] for i in (1, 2, 3)} == {"人员1", "人员2", "人员3"}
    assert vets[make_id(1)]["area"] == VILLAGE
    assert _uploads(home) == []
    # the same roster with one change: one update, shown as 旧 → 新
    r = _upload(client, roster_bytes(tmp_path, [person(1), person(2, 住址="二村9号"), person(3)]))
    body = _text(r)
    assert re.search(r'id="roster-created">0<', body) and re.search(r'id="roster-updated">1<', body)
    assert "住址：一村2号 → 二村9号" in body
    assert client.post("/roster/import", data={"upload": _token(body)}).status_code == 200
    assert _veterans(client)[make_id(2)]["address"] == "二村9号"


def test_an_upload_that_is_not_a_roster_is_refused_in_words(tmp_path):
    home = station_home(tmp_path, VILLAGE)
    client = station_client(home)
    r = _upload(client, b"hello", name="notes.txt")
    assert r.status_code == 400 and "只能导入 .xlsx 或 .csv 名册" in _text(r)
    r = _upload(client, "编号,备注\n1,x\n".encode(), name="x.csv")
    assert r.status_code == 400 and "缺少" in _text(r) and "姓名" in _text(r)
    r = _upload(client, roster_bytes(tmp_path, [person(1)]), area="440902002001")
    assert r.status_code == 400 and re.search(r'id="roster-error"[^>]*>[^<]*440902002001', _text(r)), _text(r)
    r = client.post("/roster/check", data={}, content_type="multipart/form-data")
    assert r.status_code == 400 and "请先选择" in _text(r)
    assert _uploads(home) == []


def test_another_clerk_cannot_import_my_upload(tmp_path):
    from webapp import add_account

    home = station_home(tmp_path, VILLAGE)
    add_account(home, "李明", role="clerk")
    mine = station_client(home)
    body = _text(_upload(mine, roster_bytes(tmp_path, [person(1)])))
    other = station_client(home, "李明")
    assert other.post("/roster/import", data={"upload": _token(body)}).status_code == 404
    assert _veterans(mine) == {}


def test_export_downloads_a_workbook_of_the_veterans(tmp_path):
    home = station_home(tmp_path, VILLAGE)
    client = station_client(home)
    store = client.app.extensions["station"].store
    for i in (1, 2):
        records.add_veteran(store, {"name": f"导出{i}", "id_number": make_id(i), "area": VILLAGE})
    r = client.get("/roster/export")
    assert r.status_code == 200 and r.mimetype.endswith("spreadsheetml.sheet")
    assert "attachment" in r.headers["Content-Disposition"] and VILLAGE in r.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(r.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    heads = list(rows[0])
    got = {row[heads.index("姓名")]: row[heads.index("身份证号")] for row in rows[1:]}
    assert got == {"导出1": make_id(1), "导出2": make_id(2)}
    assert _uploads(home) == [] and not any((home / "web-uploads").iterdir())
