"""The stored form of clocks and pending marks (sync.engine.clocks)."""

from __future__ import annotations

import orjson
from hypothesis import given
from hypothesis import strategies as st

from sync.engine.clocks import pack_clock, pack_pending, unpack_clock, unpack_pending
from sync.engine.hlc import HLC
from sync.store.hub import HubStore, history_of, history_versions
from sync.engine.rowstate import RowState
from sync.engine.schema import TABLES
from sync.store.station import Store

# The bit of a field in a stored mask is its index here. Fields may only be
# appended: a stored clock must keep its meaning under a newer schema.
FROZEN_FIELD_ORDER = {
    "veterans": ("id_number", "name", "gender", "birth_date", "ethnicity", "phone", "address", "area", "category",
                 "branch", "unit", "enlisted_on", "discharged_on", "disability_level", "disability_cause",
                 "honor_plaque", "health", "family", "difficulties", "needs", "status", "note", "merged_into",
                 "deleted"),
    "visits": ("veteran_id", "area", "station", "visitors", "visited_on", "kind", "occasion", "summary",
               "difficulties", "aid_cash", "aid_goods", "follow_up", "deleted"),
    "petitions": ("veteran_id", "petitioner", "contact", "area", "station", "channel", "group_size", "received_on",
                  "class", "summary", "handler", "confidential", "deleted"),
    "petition_events": ("petition_id", "area", "at", "kind", "outcome", "actor", "note", "from_status", "deleted",
                        "voids"),
    "conflicts": ("kind", "table", "row_id", "field", "area", "winner_value", "winner_version", "winner_station",
                  "loser_value", "loser_version", "loser_station", "detected_at", "status", "resolution",
                  "resolved_by", "deleted"),
    # migration 9
    "plaques": ("veteran_id", "area", "household", "address", "hung_on", "hung_by", "signed_by", "replaced_on",
                "replace_reason", "note", "deleted", "recorded_by"),
    "contact_triggers": ("veteran_id", "area", "kind", "occurred_on", "due_by", "note", "closed_on", "deleted",
                         "recorded_by"),
    "areas": ("area", "name", "level", "deleted"),
}

_hlc = HLC("00000000000000a1")
V1, V2 = _hlc.tick(), _hlc.tick()
VERSIONS = [f"{1700000000000 + i:016d}-{c:04d}-{r}" for i in range(3) for c in range(2) for r in ("00000000000000a1", "ffffffffffffffff")]


def test_fields_are_only_ever_appended():
    assert set(TABLES) == set(FROZEN_FIELD_ORDER)
    for name, frozen in FROZEN_FIELD_ORDER.items():
        assert TABLES[name].data_fields[: len(frozen)] == frozen, f"{name}: a field was inserted, removed or moved"


def test_one_write_packs_to_one_group_a_fifth_of_the_json():
    clock = dict.fromkeys(TABLES["visits"].data_fields[:12], VERSIONS[0])
    packed = pack_clock("visits", clock)
    assert packed == f"{VERSIONS[0]}:fff"
    assert len(packed) * 5 < len(orjson.dumps(clock))
    assert unpack_clock("visits", packed) == clock


def test_groups_are_in_version_order_whatever_the_dict_order():
    a = {"name": VERSIONS[3], "area": VERSIONS[0], "deleted": VERSIONS[0]}
    b = {"deleted": VERSIONS[0], "name": VERSIONS[3], "area": VERSIONS[0]}
    assert pack_clock("veterans", a) == pack_clock("veterans", b)
    assert pack_clock("veterans", a).split(" ")[0].startswith(VERSIONS[0])


def test_an_undeclared_field_keeps_the_json_form():
    clock = {"name": VERSIONS[0], "from_newer_schema": VERSIONS[1]}
    packed = pack_clock("veterans", clock)
    assert packed.startswith("{") and unpack_clock("veterans", packed) == clock
    pending = {"from_newer_schema": (VERSIONS[1], "")}
    assert unpack_pending("veterans", pack_pending("veterans", pending)) == pending


def test_json_written_before_the_compact_form_is_still_read():
    assert unpack_clock("veterans", '{"name":"%s"}' % VERSIONS[0]) == {"name": VERSIONS[0]}
    assert unpack_pending("veterans", '{"name":["%s",""]}' % VERSIONS[0]) == {"name": (VERSIONS[0], "")}
    old = orjson.dumps({"name": ["张三", VERSIONS[0]]}).decode()
    assert history_versions("veterans", old, None) == {"name": VERSIONS[0]}


tables = st.sampled_from(sorted(TABLES))


@st.composite
def clocks(draw):
    table = draw(tables)
    names = draw(st.lists(st.sampled_from(TABLES[table].data_fields), unique=True))
    return table, {n: draw(st.sampled_from(VERSIONS)) for n in names}


@given(clocks())
def test_clock_round_trip(case):
    table, clock = case
    if clock:
        assert unpack_clock(table, pack_clock(table, clock)) == clock


@given(clocks(), st.lists(st.sampled_from(["", *VERSIONS])))
def test_pending_round_trip(case, bases):
    table, clock = case
    pending = {n: (v, bases[i % len(bases)] if bases else "") for i, (n, v) in enumerate(clock.items())}
    if pending:
        assert unpack_pending(table, pack_pending(table, pending)) == pending


def test_a_store_reads_rows_written_in_json(tmp_path):
    """A database written before the compact form (JSON clocks and pending marks) works as before."""
    store = Store(tmp_path / "s.db", create=True)
    state = store.write("veterans", "v1", {"name": "张三", "area": "440902001001"}, create=True)
    version = state.clock["name"]
    with store.transaction():
        store.conn.execute(
            "UPDATE veterans SET _clock = ?, _pending = ? WHERE id = 'v1'",
            (orjson.dumps(state.clock).decode(), orjson.dumps({n: [version, ""] for n in state.clock}).decode()),
        )
    loaded, pending = store.load("veterans", "v1")
    assert loaded.clock == state.clock and pending == {n: (version, "") for n in state.clock}
    [batch] = store.pending_batches()
    assert batch[0].clock == state.clock
    store.acknowledge([("veterans", "v1", batch[0].clock)])
    assert store.pending_count() == 0


def test_one_write_stamps_its_fields_with_one_version(tmp_path):
    store = Store(tmp_path / "s.db", create=True)
    state = store.write("veterans", "v1", {"name": "张三", "area": "440902001001", "phone": "13800000000"}, create=True)
    assert len(set(state.clock.values())) == 1
    edited = store.write("veterans", "v1", {"name": "张三丰", "phone": "13800000000"})
    assert edited.clock["name"] > state.clock["name"] and edited.clock["phone"] == state.clock["phone"]
    raw = store.conn.execute("SELECT _clock FROM veterans WHERE id = 'v1'").fetchone()[0]
    assert len(raw.split(" ")) == 2  # two writes, two groups


def _push(hub: HubStore, *rows: RowState) -> None:
    hub.apply_push(list(rows), station="440902001001", scope="440902001001", replica_id="00000000000000a1")


def test_hub_history_keeps_values_and_versions(tmp_path):
    hub = HubStore(tmp_path / "h.db", create=True)
    vals = {"name": "李四", "area": "440902001001", "deleted": 0}
    _push(hub, RowState("veterans", "v1", vals, dict.fromkeys(vals, V1), dict.fromkeys(vals, "")))
    [(fields, prior)] = hub.conn.execute("SELECT fields, prior FROM _history").fetchall()
    assert fields is None and prior is None  # a new row's entry: its values are the row's
    _push(hub, RowState("veterans", "v1", {"name": "李四光", "area": "440902001001", "deleted": 0},
                        {"name": V2, "area": V1, "deleted": V1}, {"name": V1}))
    # The first entry shows the values as they came, though the row has changed since.
    assert [e.fields for e in history_of(hub, "v1")] == [{n: (v, V1) for n, v in vals.items()}, {"name": ("李四光", V2)}]


def test_history_of_a_row_changed_by_the_hub_itself(tmp_path):
    """A move re-stamps a dependent's area (an entry of the hub's own); a
    resolution writes as the hub; the first entry still shows what came."""
    hub = HubStore(tmp_path / "h.db", create=True)
    town = "440902001"
    vet = {"name": "赵六", "area": "440902001001", "deleted": 0}
    visit = {"veteran_id": "v1", "area": "440902001001", "summary": "走访", "deleted": 0}
    hub.apply_push([RowState("veterans", "v1", vet, dict.fromkeys(vet, V1), dict.fromkeys(vet, "")),
                    RowState("visits", "x1", visit, dict.fromkeys(visit, V1), dict.fromkeys(visit, ""))],
                   station=town, scope=town, replica_id="00000000000000a1")
    hub.apply_push([RowState("veterans", "v1", {"area": "440902001002", "deleted": 0},
                             {"area": V2, "deleted": V1}, {"area": V1})],
                   station=town, scope=town, replica_id="00000000000000a1")
    hub.write_as_hub("visits", "x1", {"summary": "电话回访"})
    entries = history_of(hub, "x1")
    assert entries[0].fields == {n: (v, V1) for n, v in visit.items()}
    assert entries[1].fields["area"][0] == "440902001002" and entries[1].station == hub.station_of(hub.replica_id)
    assert entries[2].fields["summary"][0] == "电话回访"
    assert hub.load("visits", "x1")[0].values["summary"] == "电话回访"


def test_history_values_follow_the_packed_clock_order(tmp_path):
    """Values are stored without names, in the order of the packed clock's
    fields, whatever order the row's dict had; several versions included."""
    hub = HubStore(tmp_path / "h.db", create=True)
    vals = {"deleted": 0, "phone": "13800000000", "area": "440902001001", "name": "王五"}
    _push(hub, RowState("veterans", "v2", vals, dict.fromkeys(vals, V1), dict.fromkeys(vals, "")))
    edit = {"deleted": 0, "phone": "13900000000", "area": "440902001001", "name": "王五一"}
    clock = {"deleted": V1, "phone": V2, "area": V1, "name": V2}
    _push(hub, RowState("veterans", "v2", edit, clock, {"phone": V1, "name": V1}))
    [(fields, packed, prior)] = hub.conn.execute("SELECT fields, clock, prior FROM _history WHERE fields IS NOT NULL")
    assert orjson.loads(fields) == ["王五一", "13900000000"] and orjson.loads(prior) == ["王五", "13800000000"]  # schema order
    assert [e.fields for e in history_of(hub, "v2")][1] == {"phone": ("13900000000", V2), "name": ("王五一", V2)}
