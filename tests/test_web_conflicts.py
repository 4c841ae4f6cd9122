"""The pages' 冲突 (issue 13): a conflict made for real — two stations editing one
veteran offline, synced through a hub store — listed with both sides side by
side (who wrote what, when) and resolved with one form: at the station (a local
write, pending for the next push) and on the county dashboard (the hub's own
write, audited with the account; a viewer sees the queue and cannot resolve)."""

from __future__ import annotations

import re
from pathlib import Path

from county_hub import home as hub_home_mod
from station_node import home as station_home_mod
from station_node import records
from sync.engine.replicate import sync_once
from sync.store.hub import HubStore
from sync.store.local_hub import LocalHub
from sync.store.station import Store
from veterans import resolve as R
from veterans.hub_checks import HUB_CHECKS
from veterans.values import id_number_check_digit
from webapp import hub_client, hub_home, station_client, station_home

COUNTY = "110101"
TOWN = "110101001"
VILLAGE = "110101001001"
ID1 = "11010119600101001" + id_number_check_digit("11010119600101001")


def _station_store(path: Path, code: str) -> Store:
    s = Store(path, create=True)
    with s.transaction():
        s.set_meta("station", code)
        s.set_meta("scope", code)
        s.set_meta("county", code[:6])
    return s


def _sync(hub: HubStore, store: Store) -> None:
    code = store.meta("station")
    sync_once(store, LocalHub(hub, code, scope=store.meta("scope")), batch_rows=50)


def _diverge(hub: HubStore, a: Store, b: Store, *, name_a: str, name_b: str) -> str:
    """One veteran filed at ``a``, both stations edit its name offline, both sync:
    the hub records a concurrent edit (and hands it to both). Returns the veteran's id."""
    vid = records.add_veteran(a, {"id_number": ID1, "name": "张三", "area": VILLAGE})["id"]
    _sync(hub, a)
    _sync(hub, b)
    records.edit_veteran(a, vid, {"name": name_a})
    records.edit_veteran(b, vid, {"name": name_b})
    for s in (a, b, a, b):
        _sync(hub, s)
    return vid


def _hub_store(path: Path) -> HubStore:
    hub = HubStore(path, create=not path.exists(), checks=HUB_CHECKS)
    if not hub.meta("county"):
        with hub.transaction():
            hub.set_meta("county", COUNTY)
    return hub


def _one_open(store) -> dict:
    (c,) = R.list_conflicts(store)
    return c


def _page(r) -> str:
    return r.get_data(as_text=True)


def _sides(html: str) -> list[str]:
    return re.findall(r'data-testid="conflict-side-(\w+)".*?data-testid="side-value">([^<]*)<'
                      r'.*?data-testid="side-station">([^<]*)<.*?data-testid="side-at">([^<]*)<', html, re.S)


# --------------------------------------------------------------------------- the station


def _station_with_conflict(tmp_path: Path, *, name_a: str = "张三甲", name_b: str = "张三乙"):
    home = station_home(tmp_path, VILLAGE)
    hub = _hub_store(tmp_path / "hub.db")
    mine = station_home_mod.open_store(home)
    town = _station_store(tmp_path / "town.db", TOWN)
    try:
        vid = _diverge(hub, mine, town, name_a=name_a, name_b=name_b)
        c = _one_open(mine)
    finally:
        mine.close()
        town.close()
        hub.close()
    return home, vid, c


def test_station_lists_the_conflict_and_shows_both_sides_with_who_and_when(tmp_path):
    home, vid, c = _station_with_conflict(tmp_path)
    client = station_client(home)
    r = client.get("/conflicts/")
    assert r.status_code == 200
    html = _page(r)
    rows = re.findall(r'<tr data-testid="conflict-row" data-id="([^"]+)"', html)
    assert rows == [c["id"]]
    assert "并发修改" in html and "张三甲" in html and "张三乙" in html

    r = client.get(f"/conflicts/{c['id']}")
    assert r.status_code == 200
    sides = _sides(_page(r))
    assert [s[0] for s in sides] == ["winner", "loser"]
    by_value = {value.strip(): (station, at) for _, value, station, at in sides}
    assert set(by_value) == {"张三甲", "张三乙"}
    assert by_value[c["winner_value"]][0] == c["winner_station"]
    assert by_value[c["loser_value"]][0] == c["loser_station"]
    assert {by_value["张三甲"][0], by_value["张三乙"][0]} == {VILLAGE, TOWN}
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", at) for _, at in by_value.values())
    # one form per choice, each asking once; a typed value too (a field edit)
    for button in ("resolve-keep-winner", "resolve-keep-loser", "resolve-value"):
        assert f'id="{button}"' in _page(r)
    assert _page(r).count('data-confirm="确认') == 3
    assert " style=" not in _page(r) and " onclick=" not in _page(r)  # the CSP allows neither
    # the kind filter: another kind lists nothing
    r = client.get("/conflicts/?kind=duplicate_identity")
    assert 'data-testid="conflict-row"' not in _page(r) and "没有待处理的冲突" in _page(r)


def test_station_resolves_keeping_the_losing_side_then_the_list_is_empty(tmp_path):
    home, vid, c = _station_with_conflict(tmp_path)
    client = station_client(home)
    r = client.post(f"/conflicts/{c['id']}/resolve", {"choice": "loser"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/conflicts/")
    r = client.get("/conflicts/")
    html = _page(r)
    assert "已处理冲突" in html and c["loser_value"] in html
    assert 'data-testid="conflict-row"' not in html
    store = client.app.extensions["station"].store
    assert store.get("veterans", vid)["name"] == c["loser_value"]
    done = R.get_conflict(store, c["id"])
    assert done["status"] == "resolved" and done["resolved_by"] == VILLAGE
    assert store.pending_count() > 0  # a local write, pushed on the next sync
    # resolved: the page shows the outcome, no controls; a second resolve is refused in words
    page = _page(client.get(f"/conflicts/{c['id']}"))
    assert 'id="conflict-resolution"' in page and 'id="resolve-keep-winner"' not in page
    r = client.post(f"/conflicts/{c['id']}/resolve", {"choice": "winner"})
    assert r.status_code == 400 and "已处理" in _page(r)
    assert store.get("veterans", vid)["name"] == c["loser_value"]


def test_station_typed_value_is_checked_and_written(tmp_path):
    home, vid, c = _station_with_conflict(tmp_path)
    client = station_client(home)
    store = client.app.extensions["station"].store
    r = client.post(f"/conflicts/{c['id']}/resolve", {"choice": "value", "value": "   "})
    assert r.status_code == 400 and "请填写要改为的值" in _page(r)
    assert R.get_conflict(store, c["id"])["status"] == "open"
    r = client.post(f"/conflicts/{c['id']}/resolve", {"choice": "value", "value": "张三丙"})
    assert r.status_code == 302
    assert store.get("veterans", vid)["name"] == "张三丙"
    assert R.get_conflict(store, c["id"])["status"] == "resolved"


def test_markup_in_a_side_shows_as_text(tmp_path):
    home, vid, c = _station_with_conflict(tmp_path, name_a="<b>甲</b>", name_b="<script>x</script>")
    client = station_client(home)
    for path in ("/conflicts/", f"/conflicts/{c['id']}"):
        html = _page(client.get(path))
        assert "<script>x</script>" not in html and "<b>甲</b>" not in html
        assert "&lt;script&gt;x&lt;/script&gt;" in html and "&lt;b&gt;甲&lt;/b&gt;" in html


def test_unknown_conflict_is_404(tmp_path):
    client = station_client(station_home(tmp_path, VILLAGE))
    assert client.get("/conflicts/nope").status_code == 404
    assert client.post("/conflicts/nope/resolve", {"choice": "winner"}).status_code == 404


# --------------------------------------------------------------------------- the county dashboard


def _hub_with_conflict(tmp_path: Path):
    home = hub_home(tmp_path, COUNTY)
    hub = _hub_store(hub_home_mod.db_path(home))
    village = _station_store(tmp_path / "village.db", VILLAGE)
    town = _station_store(tmp_path / "town.db", TOWN)
    try:
        vid = _diverge(hub, village, town, name_a="李四甲", name_b="李四乙")
        c = _one_open(hub)
    finally:
        village.close()
        town.close()
        hub.close()
    return home, vid, c


def _audit_resolutions(client) -> list[dict]:
    registry = client.app.extensions["hub"].registry
    return [e for e in registry.audit_log() if e["kind"] == "resolve"]


def test_hub_queue_filters_by_kind_and_area(tmp_path):
    home, vid, c = _hub_with_conflict(tmp_path)
    client = hub_client(home)
    html = _page(client.get("/conflicts/"))
    assert re.findall(r'data-testid="conflict-row" data-id="([^"]+)"', html) == [c["id"]]
    assert 'data-testid="conflict-row"' in _page(client.get(f"/conflicts/?area={TOWN}&kind=concurrent_edit"))
    assert 'data-testid="conflict-row"' in _page(client.get("/conflicts/?kind=并发修改"))
    assert 'data-testid="conflict-row"' not in _page(client.get("/conflicts/?area=110101002"))
    assert 'data-testid="conflict-row"' not in _page(client.get("/conflicts/?kind=delete_edit"))
    r = client.get("/conflicts/?area=12ab")
    assert r.status_code == 400 and 'id="conflict-error"' in _page(r)
    # an htmx request gets the list alone
    r = client.client.get("/conflicts/?kind=concurrent_edit", headers={"HX-Request": "true"})
    assert "<html" not in _page(r) and 'id="conflict-list"' in _page(r)


def test_hub_viewer_sees_the_queue_but_cannot_resolve(tmp_path):
    home, vid, c = _hub_with_conflict(tmp_path)
    viewer = hub_client(home, "县查看员")
    assert 'data-testid="conflict-row"' in _page(viewer.get("/conflicts/"))
    page = _page(viewer.get(f"/conflicts/{c['id']}"))
    assert 'data-testid="conflict-side-winner"' in page and 'data-testid="conflict-side-loser"' in page
    assert 'id="resolve-keep-winner"' not in page and 'id="conflict-readonly"' in page
    r = viewer.post(f"/conflicts/{c['id']}/resolve", {"choice": "loser"})
    assert r.status_code == 403
    store = viewer.app.extensions["hub"].store
    assert R.get_conflict(store, c["id"])["status"] == "open"
    assert _audit_resolutions(viewer) == []


def test_hub_admin_resolves_and_the_audit_has_the_account(tmp_path):
    home, vid, c = _hub_with_conflict(tmp_path)
    admin = hub_client(home, "县管理员")
    page = _page(admin.get(f"/conflicts/{c['id']}"))
    assert 'id="resolve-keep-loser"' in page
    r = admin.post(f"/conflicts/{c['id']}/resolve", {"choice": "loser"})
    assert r.status_code == 302, _page(r)[-400:]
    store = admin.app.extensions["hub"].store
    assert store.get("veterans", vid)["name"] == c["loser_value"]
    done = R.get_conflict(store, c["id"])
    assert done["status"] == "resolved" and done["resolved_by"] == "county"
    (entry,) = _audit_resolutions(admin)
    assert entry["detail"]["user"] == "县管理员"
    assert entry["detail"]["conflict"] == c["id"] and c["loser_value"] in entry["detail"]["resolution"]
    assert "已处理冲突" in _page(admin.get("/conflicts/"))


def test_hub_admin_merges_a_duplicate_registration(tmp_path):
    home = hub_home(tmp_path, COUNTY)
    hub = _hub_store(hub_home_mod.db_path(home))
    va = _station_store(tmp_path / "va.db", VILLAGE)
    vb = _station_store(tmp_path / "vb.db", "110101001002")
    try:
        a = records.add_veteran(va, {"id_number": ID1, "name": "王五", "area": VILLAGE})["id"]
        b = records.add_veteran(vb, {"id_number": ID1, "name": "王伍", "area": "110101001002"})["id"]
        for s in (va, vb, va, vb):
            _sync(hub, s)
        (c,) = R.list_conflicts(hub, kind="duplicate_identity")
    finally:
        va.close()
        vb.close()
        hub.close()
    admin = hub_client(home)
    page = _page(admin.get(f"/conflicts/{c['id']}"))
    assert "王五" in page and "王伍" in page
    assert 'id="resolve-merge-row"' in page and 'id="resolve-merge-other"' in page
    assert 'id="resolve-keep-winner"' not in page and 'id="resolve-value"' not in page
    r = admin.post(f"/conflicts/{c['id']}/resolve", {"choice": "merge", "merge_into": "someone-else"})
    assert r.status_code == 400 and "someone-else" in _page(r)
    r = admin.post(f"/conflicts/{c['id']}/resolve", {"choice": "merge", "merge_into": b})
    assert r.status_code == 302
    store = admin.app.extensions["hub"].store
    gone = store.get("veterans", a, include_deleted=True)
    assert gone["merged_into"] == b and gone["deleted"] == 1
    assert store.get("veterans", b)["deleted"] == 0
    (entry,) = _audit_resolutions(admin)
    assert entry["detail"]["user"] == "县管理员" and entry["detail"]["kind"] == "duplicate_identity"
