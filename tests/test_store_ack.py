"""Acknowledgements clear exactly what was sent (sync.store.station.Store.acknowledge)."""

from __future__ import annotations

from sync.store.station import Store

AREA = "440902001001"


def _store(tmp_path) -> Store:
    store = Store(tmp_path / "s.db", create=True)
    for i in range(4):
        store.write("veterans", f"v{i}", {"name": f"老兵{i}", "area": AREA, "phone": "13800000000"}, create=True)
    return store


def _watch(store: Store, monkeypatch) -> tuple[list, list]:
    """Record the statements the store runs and the rows handed to the field-by-field path."""
    statements, compared = [], []
    store.conn.set_trace_callback(statements.append)
    slow = Store._acknowledge_fields

    def spy(self, table, rows):
        compared.append(set(rows))
        return slow(self, table, rows)

    monkeypatch.setattr(Store, "_acknowledge_fields", spy)
    return statements, compared


def test_rows_unchanged_since_read_are_cleared_whole(tmp_path, monkeypatch):
    store = _store(tmp_path)
    [batch] = store.pending_batches()
    assert all(r.seq for r in batch)
    statements, compared = _watch(store, monkeypatch)
    assert store.acknowledge([(r.table, r.id, r.clock) for r in batch], batch) == 4
    # the fast path alone: one UPDATE by id and seq per row, the pending marks never read back
    assert compared == []
    clears = [s for s in statements if s.startswith("UPDATE")]
    assert len(clears) == 4 and all("WHERE id = " in s and "AND seq = " in s for s in clears), clears
    assert not [s for s in statements if "_pending" in s and s.startswith("SELECT")], statements
    store.conn.set_trace_callback(None)
    assert store.pending_count() == 0 and list(store.pending_batches()) == []


def test_only_the_rows_that_cannot_be_cleared_whole_are_compared(tmp_path, monkeypatch):
    store = _store(tmp_path)
    [batch] = store.pending_batches()
    store.write("veterans", "v1", {"phone": "13900000000"})  # v1's seq moves on: not clearable whole
    partial = {n: v for n, v in batch[2].clock.items() if n != "phone"}  # v2 acked for fewer versions
    acks = [(r.table, r.id, partial if r.id == "v2" else r.clock) for r in batch]
    statements, compared = _watch(store, monkeypatch)
    assert store.acknowledge(acks, batch) == 4
    by_seq = [s for s in statements if s.startswith("UPDATE") and "AND seq = " in s]
    assert len(by_seq) == 3 and not any("'v2'" in s for s in by_seq), by_seq  # v0, v1 (seq moved: no-op), v3
    assert compared == [{"v0", "v1", "v2", "v3"}]  # compared: every row of the table (v0 and v3 already clear)
    store.conn.set_trace_callback(None)
    left = {r.id: r for r in next(store.pending_batches())}
    assert set(left) == {"v1", "v2"} and set(left["v1"].base) == {"phone"} and set(left["v2"].base) == {"phone"}


def test_a_row_written_after_it_was_read_keeps_its_new_write(tmp_path):
    store = _store(tmp_path)
    [batch] = store.pending_batches()
    store.write("veterans", "v1", {"phone": "13900000000"})  # while the batch is on the wire
    assert store.acknowledge([(r.table, r.id, r.clock) for r in batch], batch) == 4
    [[again]] = list(store.pending_batches())
    assert again.id == "v1" and set(again.base) == {"phone"}
    assert again.values["phone"] == "13900000000"
    # The new write's base is the original one: the hub never saw the first phone as acked before it was sent.
    first = next(r for r in batch if r.id == "v1")
    assert again.base["phone"] == first.base["phone"] == ""


def test_an_ack_for_other_versions_than_sent_is_compared_field_by_field(tmp_path):
    store = _store(tmp_path)
    [batch] = store.pending_batches()
    partial = {n: v for n, v in batch[0].clock.items() if n != "phone"}
    assert store.acknowledge([(batch[0].table, batch[0].id, partial)], batch) == 1
    left = {r.id: r for r in next(store.pending_batches())}
    assert set(left) == {"v0", "v1", "v2", "v3"} and set(left["v0"].base) == {"phone"}


def test_without_the_sent_rows_every_row_is_compared(tmp_path):
    store = _store(tmp_path)
    [batch] = store.pending_batches()
    assert store.acknowledge([(r.table, r.id, r.clock) for r in batch]) == 4
    assert store.pending_count() == 0
