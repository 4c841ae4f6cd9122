"""The wire form of a row (sync.wire.codec): compact where one write made it, exact always."""

from __future__ import annotations

import pytest

from sync.wire.codec import pb, row_from_pb, row_to_pb
from sync.engine.errors import ProtocolError
from sync.engine.rowstate import RowState

V1 = "0001795403624609-0000-b08ce5a036c74775"
V2 = "0001795403699999-0003-b08ce5a036c74775"
VALUES = {"name": "张三", "area": "440902001001", "phone": None, "deleted": 0}


def _round_trip(state: RowState) -> tuple[pb.Row, RowState]:
    msg = pb.Row.FromString(row_to_pb(state, with_base=True).SerializeToString())
    return msg, row_from_pb(msg)


def test_a_created_row_travels_with_one_version_and_no_base():
    state = RowState("veterans", "v1", dict(VALUES), dict.fromkeys(VALUES, V1), dict.fromkeys(VALUES, ""))
    msg, back = _round_trip(state)
    assert (msg.version, msg.clock, msg.base, msg.created) == (V1, b"", b"", True)
    assert (back.values, back.clock, back.base) == (state.values, state.clock, state.base)


def test_an_edit_keeps_its_versions_and_bases_per_field():
    clock = {"name": V2, "area": V1, "phone": V1, "deleted": V1}
    state = RowState("veterans", "v1", dict(VALUES), clock, {"name": V1})
    msg, back = _round_trip(state)
    assert not msg.version and msg.clock and msg.base and not msg.created
    assert (back.values, back.clock, back.base) == (state.values, state.clock, state.base)


def test_a_pull_row_has_no_base():
    state = RowState("veterans", "v1", dict(VALUES), dict.fromkeys(VALUES, V1))
    msg = row_to_pb(state)
    assert (msg.version, msg.base, msg.created) == (V1, b"", False)
    assert row_from_pb(msg).base == {}


@pytest.mark.parametrize("msg, match", [
    (pb.Row(table="veterans", id="v1", values=b'{"name":"x"}', version="not-a-version"), "^记录 v1 的版本不合法"),
    (pb.Row(table="veterans", id="v1", values=b'{"name":"x"}', created=True), "有字段缺少版本"),  # no version for name
    (pb.Row(table="veterans", id="v1", values=b'{"name":"x"}', version=V1, clock=b'{"name":"bad"}'), "有字段的版本不合法"),
    (pb.Row(table="veterans", id="v1", values=b'{"name":["x"]}', version=V1), "字段 name 的值不合法"),
])
def test_malformed_rows_are_refused(msg, match):
    with pytest.raises(ProtocolError, match=match):
        row_from_pb(msg)
