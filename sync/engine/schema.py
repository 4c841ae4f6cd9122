"""The replicated tables, declared once: names, kinds and field order.

The station CLI builds its ``--set FIELD=VALUE``
parsing and its table headings, the validators their field rules. The Chinese
labels shown for tables and fields are domain, not engine: they live in
``veterans.labels``, keyed by the names declared here. Field
``kind`` says how a value is checked and stored:

- ``text``, ``int``, ``real``, ``bool``: plain values;
- ``date``: ``YYYY-MM-DD`` (several input forms accepted);
- ``enum``: a code of ``veterans.values.ENUMS[enum]`` (the Chinese label is shown);
- ``enum_set``: several codes of one enum, joined by commas in the enum's order;
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

__all__ = ["Field", "Table", "TABLES", "REFERENCES", "SCHEMA_VERSION", "table", "SYNC_COLUMNS", "CONTEXT_FIELDS",
           "PARENTS_FIRST", "WRITER", "WRITER_MAX_CHARS", "WRITER_TABLES", "writer_name", "writer_problem"]

# The version of the replicated fields, sent in the Handshake: the number of the
# newest migration (sync.store.migrations) that changed what a replicated row carries
# (a table or field added). Bookkeeping-only migrations (hub- or station-side
# ``_`` columns and tables) leave it alone, so they never make a hub refuse a
# station that sends nothing new; a hub refuses only a station whose rows may
# carry fields it does not know, and accepts older stations (weeks offline) as
# before. tests/test_migrations.py holds it to the migrations.
SCHEMA_VERSION = 9

# Fields always sent with a pushed row, pending or not: the hub needs them to
# check scope (area) and to see whether the writer had seen a delete (deleted).
CONTEXT_FIELDS = ("area", "deleted")

SYNC_COLUMNS = ("seq", "_clock", "_pending", "_extra")

# The person who wrote a row's latest version at a station (经办人, 录入人 of an event):
# stamped by the station's store on every write that changes the row
# (``sync.store.rows.RowStore.stamp``), never set by a clerk, for display only —
# the hub checks its form (``veterans.admission``) and trusts it for nothing else.
# Appended (migration 7) to the tables a station writes.
WRITER = "recorded_by"
WRITER_MAX_CHARS = 64


def writer_name(name: str | None) -> str | None:
    """``name`` as it is recorded: surrounding blanks off, characters that are not
    printable (control characters, line breaks) dropped, at most
    ``WRITER_MAX_CHARS`` characters; None for nothing left."""
    if not name:
        return None
    if not name.isprintable():
        name = "".join(c for c in name if c.isprintable())
    name = name.strip()[:WRITER_MAX_CHARS].strip()
    return name or None


def writer_problem(value) -> str | None:
    """Why a pushed ``recorded_by`` is not one a station records (None: it is)."""
    if value is None:
        return None
    if type(value) is not str or not value or len(value) > WRITER_MAX_CHARS:
        return f"应为 1 至 {WRITER_MAX_CHARS} 个字"
    if not value.isprintable() or value.strip() != value:
        return "含有控制字符或首尾空白"
    return None

_SQL_TYPES = {"int": "INTEGER", "bool": "INTEGER", "real": "REAL"}


@dataclass(frozen=True)
class Field:
    name: str
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


def _f(name, kind="text", **kw) -> Field:
    return Field(name, kind, **kw)


def _common_tail() -> tuple[Field, ...]:
    return (_f("deleted", "bool", settable=False),)


VETERANS = Table(
    "veterans",
    (
        _f("id", settable=False),
        _f("id_number", "id_number", required=True),
        _f("name", required=True),
        _f("gender", "enum", enum="gender"),
        _f("birth_date", "date"),
        _f("ethnicity"),
        _f("phone", "phone"),
        _f("address"),
        _f("area", "area", required=True),
        _f("category", "enum", enum="category"),
        _f("branch"),
        _f("unit"),
        _f("enlisted_on", "date"),
        _f("discharged_on", "date"),
        _f("disability_level", "enum", enum="disability_level"),
        _f("disability_cause", "enum", enum="disability_cause"),
        _f("honor_plaque", "date"),
        _f("health"),
        _f("family"),
        _f("difficulties"),
        _f("needs"),
        _f("status", "enum", enum="veteran_status"),
        _f("note"),
        _f("merged_into", "ref", ref="veterans", settable=False),
        *_common_tail(),
        _f(WRITER, settable=False),  # appended (migration 7)
        # Appended (migration 9, the national collection and 常态化联系): further categories
        # beside the main one, 政治面貌, 安置方式, 就业, 重点优抚对象 type, 评残日期, 残疾军人证号,
        # the death date, a family member's soldier (a veteran id: not a ref, no link the sync
        # machinery follows) and the relationship, the contact policy and 包联人/网格员,
        # the day the file was opened (建档, for 新增 in a period) and the day of 迁出.
        _f("categories", "enum_set", enum="category"),
        _f("political_status", "enum", enum="political_status"),
        _f("placement", "enum", enum="placement"),
        _f("employment", "enum", enum="employment"),
        _f("priority_type", "enum", enum="priority_type"),
        _f("disability_rated_on", "date"),
        _f("disability_cert_no"),
        _f("died_on", "date"),
        _f("soldier_id"),
        _f("relationship", "enum", enum="relationship"),
        _f("contact_policy", "enum", enum="contact_policy"),
        _f("liaison"),
        _f("registered_on", "date"),
        _f("moved_out_on", "date"),
    ),
    indexes=(("id_number",), ("name",)),
)

VISITS = Table(
    "visits",
    (
        _f("id", settable=False),
        _f("veteran_id", "ref", ref="veterans", required=True),
        _f("area", "area", required=True, settable=False),
        _f("station", settable=False),
        _f("visitors"),
        _f("visited_on", "date", required=True),
        _f("kind", "enum", enum="visit_kind", required=True),
        _f("occasion", "enum", enum="occasion"),
        _f("summary"),
        _f("difficulties"),
        _f("aid_cash", "real"),
        _f("aid_goods"),
        _f("follow_up"),
        *_common_tail(),
        _f(WRITER, settable=False),  # appended (migration 7)
        # Appended (migration 9): the follow-up's due date and the day it was done (闭环), and
        # the value of the goods given (元), for the 慰问金/物资 totals.
        _f("follow_up_due", "date"),
        _f("follow_up_done", "date"),
        _f("aid_goods_value", "real"),
    ),
    indexes=(("veteran_id",), ("visited_on",)),
)

PETITIONS = Table(
    "petitions",
    (
        _f("id", settable=False),
        _f("veteran_id", "ref", ref="veterans"),
        _f("petitioner", required=True),
        _f("contact"),
        _f("area", "area", required=True),
        _f("station", settable=False),
        _f("channel", "enum", enum="channel", required=True),
        _f("group_size", "int"),
        _f("received_on", "date", required=True),
        _f("class", "enum", enum="petition_class"),
        _f("summary", required=True),
        _f("handler"),
        _f("confidential", "bool"),
        *_common_tail(),
        _f(WRITER, settable=False),  # appended (migration 7)
        # Appended (migration 8, 信访工作条例 2022): the national 信访信息系统 case number
        # (Art. 21), 涉及领域 and 被投诉单位 (Art. 41), 集体访 and its representatives
        # (Art. 20: at most five), the petitioner's name or address unclear (no notice
        # due, Art. 22), and the earlier petition of the same matter (Art. 36).
        _f("case_no"),
        _f("domain"),
        _f("respondent"),
        _f("collective", "bool"),
        _f("representatives", "int"),
        _f("address_unclear", "bool"),
        _f("linked_to"),  # a petition id (not a ref: no link the sync machinery follows)
    ),
    indexes=(("veteran_id",), ("received_on",)),
)

PETITION_EVENTS = Table(
    "petition_events",
    (
        _f("id", settable=False),
        _f("petition_id", "ref", ref="petitions", required=True),
        _f("area", "area", required=True, settable=False),
        _f("at", "date", required=True),
        _f("kind", "enum", enum="event_kind", required=True),
        _f("outcome", "enum", enum="outcome"),
        _f("actor"),
        _f("note"),
        _f("from_status", "enum", enum="petition_status", settable=False),
        *_common_tail(),
        # Appended (migration 6): a 更正 (kind ``correct``) names the event of the same
        # petition it voids; the fold of the events leaves that one out (veterans.petition).
        _f("voids", "ref", ref="petition_events", settable=False),
        _f(WRITER, settable=False),  # appended (migration 7)
        # Appended (migration 8): 处理方式 of a 受理 (Arts. 29–31), the days of a 延期 or a
        # 听证, who approved a 延期, and the day a notice or reply reached the petitioner.
        _f("method", "enum", enum="handling_method"),
        _f("days", "int"),
        _f("approver"),
        _f("served_on", "date"),
    ),
    indexes=(("petition_id",),),
)

# 光荣牌 by household (国办发〔2018〕72号), a table of migration 9: hung when, by whom, signed
# for by the household, replaced when and why. Its area follows its veteran's, like a visit's.
PLAQUES = Table(
    "plaques",
    (
        _f("id", settable=False),
        _f("veteran_id", "ref", ref="veterans", required=True),
        _f("area", "area", required=True, settable=False),
        _f("household"),
        _f("address"),
        _f("hung_on", "date", required=True),
        _f("hung_by"),
        _f("signed_by"),
        _f("replaced_on", "date"),
        _f("replace_reason"),
        _f("note"),
        *_common_tail(),
        _f(WRITER, settable=False),
    ),
    indexes=(("veteran_id",),),
)

# A must-visit trigger (必访事项), a table of migration 9: what happened, when, and the day
# a visit is due by; met or missed is derived from the visits, never stored.
CONTACT_TRIGGERS = Table(
    "contact_triggers",
    (
        _f("id", settable=False),
        _f("veteran_id", "ref", ref="veterans", required=True),
        _f("area", "area", required=True, settable=False),
        _f("kind", "enum", enum="trigger_kind", required=True),
        _f("occurred_on", "date", required=True),
        _f("due_by", "date"),
        _f("note"),
        _f("closed_on", "date"),
        *_common_tail(),
        _f(WRITER, settable=False),
    ),
    indexes=(("veteran_id",), ("due_by",)),
)

CONFLICTS = Table(
    "conflicts",
    (
        _f("id", settable=False),
        _f("kind", "enum", enum="conflict_kind"),
        _f("table"),
        _f("row_id"),
        _f("field"),
        _f("area", "area"),
        _f("winner_value"),
        _f("winner_version"),
        _f("winner_station"),
        _f("loser_value"),
        _f("loser_version"),
        _f("loser_station"),
        _f("detected_at"),
        _f("status", "enum", enum="conflict_status"),
        _f("resolution"),
        _f("resolved_by"),
        *_common_tail(),
        # Appended (migration 4): a conflict about a confidential petition (or its
        # events) reaches only the hub and ``station``, the petition's registering station.
        _f("confidential", "bool", settable=False),
        _f("station", settable=False),
    ),
    indexes=(("row_id",), ("status",)),
    hub_only_writes=True,
)

# The county's place names (统计用区划代码 → name), a table of migration 9, written by the
# hub only (``county-hub areas import``): one row per code, whose ``area`` is the code
# itself, so that each station receives the names of its own subtree.
AREAS = Table(
    "areas",
    (
        _f("id", settable=False),
        _f("area", "area", required=True, settable=False),
        _f("name", required=True),
        _f("level", "enum", enum="area_level"),
        *_common_tail(),
    ),
    hub_only_writes=True,
)

TABLES: dict[str, Table] = {t.name: t for t in (VETERANS, VISITS, PETITIONS, PETITION_EVENTS, PLAQUES,
                                                  CONTACT_TRIGGERS, CONFLICTS, AREAS)}

#: The tables whose rows carry ``recorded_by`` (a station's writes stamp it).
WRITER_TABLES: frozenset[str] = frozenset(name for name, t in TABLES.items() if WRITER in t.by_name)

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


def _depth(table: str) -> int:
    """How many references lie above a table's rows (veterans 0, their visits and petitions 1, …)."""
    parents = [p for _c, p in REFERENCES.get(table, ()) if p != table]
    return 1 + max(map(_depth, parents)) if parents else 0


#: The tables in an order where a row's parents come before it, the hub-only tables
#: (conflicts: a station only resolves one) last: how a batch is applied and re-offered.
PARENTS_FIRST: tuple[str, ...] = tuple(sorted(TABLES, key=lambda n: (TABLES[n].hub_only_writes, _depth(n))))
