"""Converters between protobuf messages and engine values.

Wire types stop here: the rest of the code sees ``RowState``, ``Eviction`` and
plain tuples. Decoding checks every field of a message it did not make and
raises ``ProtocolError`` (one line, says what is wrong) on anything malformed.
"""

from __future__ import annotations

import re

import orjson

from sync.engine import limits
from sync.engine.errors import ProtocolError
from sync.wire.gen.vetsync.v1 import sync_pb2 as pb
from sync.engine.hlc import is_version
from sync.engine.rowstate import Eviction, RowState
from sync.engine.schema import TABLES
from sync.engine.scope import AREA_LENGTHS

__all__ = ["PROTOCOL_VERSION", "row_to_pb", "row_from_pb", "acks_to_pb", "acks_from_pb", "evictions_to_pb", "evictions_from_pb", "pb"]

PROTOCOL_VERSION = 1
MAX_ID_LEN = 64
MAX_FIELDS = 200
MAX_VALUE_LEN = limits.MAX_VALUE_LEN  # the most characters of one string value (sync.engine.limits)
_SCALAR_TYPES = frozenset((str, int, float, bool, type(None)))
_COMPACT_CLOCK = re.compile(rb'\{(?:"[^"\\]{1,64}":"\d{16}-\d{4}-[0-9a-f]{16}",)*"[^"\\]{1,64}":"\d{16}-\d{4}-[0-9a-f]{16}"\}')


def _enc(obj: dict) -> bytes:
    return orjson.dumps(obj)


def row_to_pb(state: RowState, *, with_base: bool = False) -> pb.Row:
    """The wire form of a row: its versioned values, and ``version`` alone
    when one version stamps them all (the usual row: one write made it)."""
    clock, values = state.clock, state.values
    if values.keys() != clock.keys():
        values = {k: values.get(k) for k in clock}
    versions = set(clock.values())
    base = state.base if with_base else None
    created = bool(base) and len(base) == len(values) and not any(base.values())  # base keys are clock keys
    return pb.Row(
        table=state.table,
        id=state.id,
        values=_enc(values),
        clock=b"" if len(versions) == 1 else _enc(clock),
        version=versions.pop() if len(versions) == 1 else "",
        base=_enc(base) if base and not created else b"",
        created=created,
    )


def _obj(raw: bytes, what: str, row_id: str) -> dict:
    if not raw:
        return {}
    try:
        obj = orjson.loads(raw)  # refuses integers beyond 64 bits, which SQLite could not store either
    except (ValueError, UnicodeDecodeError):
        raise ProtocolError(f"记录 {row_id} 的 {what} 不是合法的 JSON") from None
    if not isinstance(obj, dict) or len(obj) > MAX_FIELDS:
        raise ProtocolError(f"记录 {row_id} 的 {what} 应为字段对象")
    return obj


def _clock_of(row_id: str, raw: bytes, version: str, values: dict) -> dict[str, str]:
    clock = _obj(raw, "clock", row_id)
    # Fast path: a compact clock (as we encode it) is checked by one regex over its bytes.
    if clock and not _COMPACT_CLOCK.fullmatch(raw) and not all(map(is_version, clock.values())):
        raise ProtocolError(f"记录 {row_id} 有字段的版本不合法")
    if version:
        if not is_version(version):
            raise ProtocolError(f"记录 {row_id} 的版本不合法")
        stamped = dict.fromkeys(values, version)
        stamped.update(clock)  # the fields with versions of their own
        return stamped
    if not values.keys() <= clock.keys():
        raise ProtocolError(f"记录 {row_id} 有字段缺少版本")
    return clock


def row_from_pb(msg: pb.Row) -> RowState:
    table, row_id, raw_values = msg.table, msg.id, msg.values  # each read of a message field makes a new object
    if table not in TABLES:
        raise ProtocolError(f"未知的数据表：{table[:40]!r}")
    if not row_id or len(row_id) > MAX_ID_LEN or not row_id.isprintable():
        raise ProtocolError(f"记录编号不合法：{row_id[:40]!r}")
    values = _obj(raw_values, "values", row_id)
    # Scalars only (one C-level pass over the types); a string can only be too
    # long if the whole JSON is.
    if not _SCALAR_TYPES.issuperset(map(type, values.values())) or (
        len(raw_values) > MAX_VALUE_LEN
        and any(isinstance(v, str) and len(v) > MAX_VALUE_LEN for v in values.values())
    ):
        bad = next(n for n, v in values.items() if type(v) not in _SCALAR_TYPES or (isinstance(v, str) and len(v) > MAX_VALUE_LEN))
        raise ProtocolError(f"记录 {row_id} 字段 {bad[:40]} 的值不合法")
    clock = _clock_of(row_id, msg.clock, msg.version, values)
    base = dict.fromkeys(values, "") if msg.created and not msg.base else _obj(msg.base, "base", row_id)
    if base and not (base.keys() <= clock.keys() and all(map(is_version, filter(None, base.values())))):
        raise ProtocolError(f"记录 {row_id} 的 base 不合法")
    area = values.get("area")
    if "area" in values and not (type(area) is str and area.isdigit() and len(area) in AREA_LENGTHS):
        raise ProtocolError(f"记录 {row_id} 的区划代码不合法")
    return RowState(table, row_id, values, clock, base)


def acks_to_pb(acks) -> list[pb.Ack]:
    """Acks name the rows only: an ack without versions stands for exactly the
    versions the station sent for that row in that batch."""
    return [pb.Ack(table=t, id=i) for t, i, _ in acks]


def acks_from_pb(msgs, sent: list[RowState]) -> list[tuple[str, str, dict[str, str]]]:
    """The acknowledged (table, id, versions) of a batch the station ``sent``."""
    pushed = {(r.table, r.id): r.clock for r in sent}
    out = []
    for m in msgs:
        clock = pushed.get((m.table, m.id))
        if clock is None:
            raise ProtocolError(f"县中心确认了未发送的记录：{m.table[:40]} {m.id[:40]}")
        out.append((m.table, m.id, _obj(m.versions, "versions", m.id) if m.versions else clock))
    return out


def evictions_to_pb(evictions) -> list[pb.Eviction]:
    return [pb.Eviction(table=e.table, id=e.id) for e in evictions]


def evictions_from_pb(msgs) -> list[Eviction]:
    out = []
    for m in msgs:
        if m.table not in TABLES:
            raise ProtocolError(f"移出通知中有未知的数据表：{m.table[:40]!r}")
        out.append(Eviction(m.table, m.id))
    return out
