"""The replicated tables, declared once.

The station CLI builds its ``--set FIELD=VALUE``
parsing and its table headings, the validators their field rules. Field
``kind`` says how a value is checked and stored:

- ``text``, ``int``, ``real``, ``bool``: plain values;
- ``date``: ``YYYY-MM-DD`` (several input forms accepted);
- ``enum``: a code of ``veterans.values.ENUMS[enum]`` (the Chinese label is shown);
- ``id_number``, ``area``, ``phone``: checked by ``veterans.values``;
- ``ref``: the ``id`` of a row in ``ref`` table.

Every replicated table also has the sync columns (see ``SYNC_COLUMNS``):
``deleted`` (tombstone, itself a versioned field), ``seq`` (this store's change
sequence), ``_clock`` (``{field: version}``), ``_pending`` (``{field: (version,
base)}``: local writes not yet acknowledged by the hub), both stored packed
(``sync.engine.clocks``: one group per version, fields named by a bit mask), and
``_extra`` (JSON ``{field: value}``: fields of a newer schema, kept and sent on).
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Field", "Table", "TABLES", "REFERENCES", "SCHEMA_VERSION", "table", "SYNC_COLUMNS", "CONTEXT_FIELDS"]

# The version of the replicated fields, sent in the Handshake: the number of the
# newest migration (sync.store.migrations) that changed what a replicated row carries
# (a table or field added). Bookkeeping-only migrations (hub- or station-side
# ``_`` columns and tables) leave it alone, so they never make a hub refuse a
# station that sends nothing new; a hub refuses only a station whose rows may
# carry fields it does not know, and accepts older stations (weeks offline) as
# before. tests/test_migrations.py holds it to the migrations.
SCHEMA_VERSION = 4

# Fields always sent with a pushed row, pending or not: the hub needs them to
# check scope (area) and to see whether the writer had seen a delete (deleted).
CONTEXT_FIELDS = ("area", "deleted")

SYNC_COLUMNS = ("seq", "_clock", "_pending", "_extra")

_SQL_TYPES = {"int": "INTEGER", "bool": "INTEGER", "real": "REAL"}


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    kind: str = "text"
    enum: str | None = None
    ref: str | None = None
    required: bool = False
    settable: bool = True  # may a clerk set it with --set?

    @property
    def sql_type(self) -> str:
        return _SQL_TYPES.get(self.kind, "TEXT")


@dataclass(frozen=True)
class Table:
    name: str
    label: str
    fields: tuple[Field, ...]
    indexes: tuple[tuple[str, ...], ...] = ()
    hub_only_writes: bool = False  # conflicts: written by the hub only
    by_name: dict = field(default_factory=dict, compare=False, repr=False)
    field_names: tuple[str, ...] = field(default=(), compare=False, repr=False)
    # Versioned fields: every declared field but ``id`` (computed once: hot path).
    data_fields: tuple[str, ...] = field(default=(), compare=False, repr=False)

    def __post_init__(self):
        self.by_name.update({f.name: f for f in self.fields})
        object.__setattr__(self, "field_names", tuple(f.name for f in self.fields))
        object.__setattr__(self, "data_fields", tuple(f.name for f in self.fields if f.name != "id"))

    def get(self, name: str) -> Field | None:
        return self.by_name.get(name)


def _f(name, label, kind="text", **kw) -> Field:
    return Field(name, label, kind, **kw)


def _common_tail() -> tuple[Field, ...]:
    return (_f("deleted", "已删除", "bool", settable=False),)


VETERANS = Table(
    "veterans",
    "退役军人",
    (
        _f("id", "编号", settable=False),
        _f("id_number", "身份证号", "id_number", required=True),
        _f("name", "姓名", required=True),
        _f("gender", "性别", "enum", enum="gender"),
        _f("birth_date", "出生日期", "date"),
        _f("ethnicity", "民族"),
        _f("phone", "联系电话", "phone"),
        _f("address", "住址"),
        _f("area", "区划代码", "area", required=True),
        _f("category", "类别", "enum", enum="category"),
        _f("branch", "军种"),
        _f("unit", "原部队"),
        _f("enlisted_on", "入伍时间", "date"),
        _f("discharged_on", "退役时间", "date"),
        _f("disability_level", "伤残等级", "enum", enum="disability_level"),
        _f("disability_cause", "伤残性质", "enum", enum="disability_cause"),
        _f("honor_plaque", "光荣牌悬挂日期", "date"),
        _f("health", "健康状况"),
        _f("family", "家庭情况"),
        _f("difficulties", "困难情况"),
        _f("needs", "诉求"),
        _f("status", "状态", "enum", enum="veteran_status"),
        _f("note", "备注"),
        _f("merged_into", "并入", "ref", ref="veterans", settable=False),
        *_common_tail(),
    ),
    indexes=(("id_number",), ("name",)),
)

VISITS = Table(
    "visits",
    "走访慰问",
    (
        _f("id", "编号", settable=False),
        _f("veteran_id", "退役军人", "ref", ref="veterans", required=True),
        _f("area", "区划代码", "area", required=True, settable=False),
        _f("station", "走访站点", settable=False),
        _f("visitors", "走访人"),
        _f("visited_on", "走访日期", "date", required=True),
        _f("kind", "方式", "enum", enum="visit_kind", required=True),
        _f("occasion", "事由", "enum", enum="occasion"),
        _f("summary", "情况摘要"),
        _f("difficulties", "反映困难"),
        _f("aid_cash", "慰问金（元）", "real"),
        _f("aid_goods", "慰问品"),
        _f("follow_up", "后续跟进"),
        *_common_tail(),
    ),
    indexes=(("veteran_id",), ("visited_on",)),
)

PETITIONS = Table(
    "petitions",
    "信访件",
    (
        _f("id", "编号", settable=False),
        _f("veteran_id", "退役军人", "ref", ref="veterans"),
        _f("petitioner", "信访人", required=True),
        _f("contact", "联系方式"),
        _f("area", "区划代码", "area", required=True),
        _f("station", "登记站点", settable=False),
        _f("channel", "信访形式", "enum", enum="channel", required=True),
        _f("group_size", "人数", "int"),
        _f("received_on", "收到日期", "date", required=True),
        _f("class", "类别", "enum", enum="petition_class"),
        _f("summary", "事项摘要", required=True),
        _f("handler", "承办人"),
        _f("confidential", "保密（检举控告）", "bool"),
        *_common_tail(),
    ),
    indexes=(("veteran_id",), ("received_on",)),
)

PETITION_EVENTS = Table(
    "petition_events",
    "信访办理记录",
    (
        _f("id", "编号", settable=False),
        _f("petition_id", "信访件", "ref", ref="petitions", required=True),
        _f("area", "区划代码", "area", required=True, settable=False),
        _f("at", "日期", "date", required=True),
        _f("kind", "环节", "enum", enum="event_kind", required=True),
        _f("outcome", "答复意见", "enum", enum="outcome"),
        _f("actor", "经办人"),
        _f("note", "说明"),
        _f("from_status", "办理前状态", "enum", enum="petition_status", settable=False),
        *_common_tail(),
    ),
    indexes=(("petition_id",),),
)

CONFLICTS = Table(
    "conflicts",
    "冲突",
    (
        _f("id", "编号", settable=False),
        _f("kind", "类型", "enum", enum="conflict_kind"),
        _f("table", "表"),
        _f("row_id", "记录"),
        _f("field", "字段"),
        _f("area", "区划代码", "area"),
        _f("winner_value", "采用值"),
        _f("winner_version", "采用值版本"),
        _f("winner_station", "采用值站点"),
        _f("loser_value", "未采用值"),
        _f("loser_version", "未采用值版本"),
        _f("loser_station", "未采用值站点"),
        _f("detected_at", "发现时间"),
        _f("status", "状态", "enum", enum="conflict_status"),
        _f("resolution", "处理结果"),
        _f("resolved_by", "处理人"),
        *_common_tail(),
        # Appended (migration 4): a conflict about a confidential petition (or its
        # events) reaches only the hub and ``station``, the petition's registering station.
        _f("confidential", "保密", "bool", settable=False),
        _f("station", "限于站点", settable=False),
    ),
    indexes=(("row_id",), ("status",)),
    hub_only_writes=True,
)

TABLES: dict[str, Table] = {t.name: t for t in (VETERANS, VISITS, PETITIONS, PETITION_EVENTS, CONFLICTS)}

#: Per table: its ``ref`` fields and the table each names, ``((field, parent table), …)``.
REFERENCES: dict[str, tuple[tuple[str, str], ...]] = {
    name: tuple((f.name, f.ref) for f in t.fields if f.kind == "ref" and f.ref) for name, t in TABLES.items()
}


def table(name: str) -> Table:
    from sync.engine.errors import ValidationError

    try:
        return TABLES[name]
    except KeyError:
        raise ValidationError(f"未知的数据表：{name}") from None
