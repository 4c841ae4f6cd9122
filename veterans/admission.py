"""The domain checks the hub runs on every pushed row: a row is admitted only
if a station could have built it (``HubStore.apply_push`` calls them as hooks;
``county_hub.home.open_hub`` installs :data:`DOMAIN_CHECKS`).

Pure code over values (no sqlite): the store hands in the pushed row, the hub's
row before it, and a lookup of other hub rows. Each check returns ``None`` or
the refusal reason, one line of Chinese that names nothing outside the pusher's
scope (a parent that does not exist and one outside the scope read alike).

:meth:`DomainChecks.check_values` — before the merge, on the pushed fields only:

- ``recorded_by`` (the writer, display only) is a name as a station records it:
  1 to ``WRITER_MAX_CHARS`` (64) printable characters, no surrounding blanks
  (``sync.engine.schema.writer_problem``); the hub trusts it for nothing else;
- every pushed field is in its canonical form, the one the station's validators
  store: ``veterans.fields.parse_value(table, name, value) == value`` (so the same
  input a clerk gets an error for is refused here), or in the form the previous
  release stored (``veterans.fields.admissible``: text not yet folded, a phone
  before the mobile prefixes, so that rows written before an upgrade keep
  syncing); a cheap exact test first for the common kinds (short text, enum
  codes, dates seen before), the validator itself otherwise;
- nothing that cannot be true (:func:`row_problem`, on the row as the push
  leaves it, where it involves a pushed field; the same rules the station
  applies through :func:`complete_veteran`): a gender or birth date the ID
  number contradicts, an enlistment before the age of 16 (except 红军老战士) or
  before birth, a discharge before the enlistment, a date in the future, a
  negative amount; the national collection's fields (issue 14 §2): further categories
  without the main one, a death date only for 已故 and not before birth, a 迁出 date only
  for 迁出, 评残日期/残疾军人证号 only with a 伤残等级, a soldier and the relationship
  together and the soldier not the person; a plaque replaced not before it was hung;
  a must-visit trigger (必访事项) due and closed not before it occurred, a visit's
  follow-up due and done not before the visit (a due date may lie ahead: the only
  dates exempt from "not in the future", :data:`AHEAD_DATES`).
  Not for a row pushed deleted, nor for a recovery re-offer
  (its rows were admitted once, maybe under older rules: refusing them would lose them);
- a new row has every required field; no push clears one;
- dates of visits, petitions and events are not in the future (a day of slack);
- ``station`` of a new visit or petition is the pusher's own station (from its
  certificate), and a push never changes it;
- a 检举控告类 (accusation) petition is confidential; a push does not move a
  petition into or out of that class (only the county reclassifies);
- a new event is a transition the petition law allows from its ``from_status``,
  carries an outcome only if it is a reply or an opinion, and an extension says why;
  a 更正 (``correct``) says why and names the event it voids (``voids``), which no
  other kind carries; no push changes what a 更正 voids, or makes an event a 更正
  or a 更正 something else.

:meth:`DomainChecks.check_links` — after the merge, on the row as it would be,
when the row is new or a reference or its area changes:

- its parent exists at the hub (or earlier in the same batch, which the hub
  applies parents first), lies in the pusher's scope and, if it is a
  confidential petition, was registered by the pusher: ``visits.veteran_id``,
  ``petitions.veteran_id`` (when set), ``petition_events.petition_id``,
  ``plaques.veteran_id``, ``contact_triggers.veteran_id`` (a new trigger's veteran also
  live and not merged away: one wording), ``veterans.merged_into``; a new plaque not replaced while its
  veteran has one not replaced is refused (one 光荣牌 a household hangs); a family member's ``soldier_id``
  names a live veteran in the scope (a plain field, not a ref: checked here alone);
- its area is its parent's, as the station builds it (a visit and a petition
  take their veteran's area, an event its petition's);
- a 更正 voids an event the hub holds of the same petition (one wording for an
  unknown event and another petition's), neither a 登记 nor another 更正;
- a veteran's or a petition's area, new or changed, is a code of the county's area
  list when the hub holds one (:func:`unlisted_area`, the station's own rule at entry).
"""

from __future__ import annotations

import datetime as _dt
import math
import re
import time
from typing import Any, Callable, Protocol

from veterans import values as domain

from veterans import petition as petition_rules
from sync.engine.errors import ValidationError, VetsyncError
from veterans.fields import NOT_CANONICAL, admissible, display_value
from veterans.labels import field_label, table_label
from sync.engine.limits import text_limit
from sync.engine.rowstate import RowState
from sync.engine.schema import TABLES, WRITER, Table, writer_problem
from sync.engine.scope import in_scope

__all__ = ["DomainChecks", "DOMAIN_CHECKS", "LinkLookup", "PARENT_OUT_OF_REACH", "row_problem", "complete_veteran",
           "ENLISTMENT_AGE", "unlisted_area", "LISTED_AREA_TABLES", "AHEAD_DATES"]

# One wording for a parent that does not exist, lies outside the scope or is
# another station's confidential petition: the pusher learns nothing from it.
PARENT_OUT_OF_REACH = "关联的{label}不在本站范围内，未保存"

_DATED = {"visits": "visited_on", "petitions": "received_on", "petition_events": "at"}
_REPLY_KINDS = frozenset({"reply", "review_opinion", "recheck_opinion"})
# A new event's 信访工作条例 fields and the steps each goes with (veterans.petition).
_EVENT_FIELD_KINDS = (
    ("method", frozenset({"accept"}), "处理方式只用于受理"),
    ("days", frozenset({"extend", "hearing"}), "天数只用于延期和听证"),
    ("approver", frozenset({"extend"}), "批准人只用于延期"),
)
# Child table -> (reference field, parent table, whether the child takes the parent's area).
_LINKS: dict[str, tuple[tuple[str, str, bool], ...]] = {
    "veterans": (("merged_into", "veterans", False),),
    "visits": (("veteran_id", "veterans", True),),
    "petitions": (("veteran_id", "veterans", True),),
    "petition_events": (("petition_id", "petitions", True),),
    "plaques": (("veteran_id", "veterans", True),),
    "contact_triggers": (("veteran_id", "veterans", True),),
}
_LINK_FIELDS = {table: frozenset(f for f, _, _ in links) | {"area"} for table, links in _LINKS.items()}
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_REF = re.compile(r"[^\s]{1,64}")


class LinkLookup(Protocol):
    """What the store gives the checks: who pushes, and the hub's rows."""

    station: str
    scope: str

    def row(self, table: str, row_id: str) -> RowState | None:
        """The hub's row as of this point of the batch (None: no such row)."""

    def owner(self, table: str, state: RowState) -> str | None:
        """The registering station of a confidential row (None: not confidential)."""

    def has_rows(self, table: str) -> bool:
        """Does the hub hold any live row of ``table`` (the area list: is there one)?"""


def _fast_check(t: Table, name: str, memo: set | None) -> Callable[[Any], bool]:
    """An exact but partial admissibility test: True only for a value
    ``veterans.fields.admissible`` admits (False: ask it)."""
    f = t.get(name)
    kind = f.kind
    if name == WRITER:  # exact: the writer's own rule, not a clerk's text (it is never typed in a form)
        return lambda v: writer_problem(v) is None
    if memo is not None:
        return memo.__contains__
    if kind == "text":
        limit = text_limit(t.name, name, kind)
        return lambda v: type(v) is str and 0 < len(v) <= limit and v.isprintable() and v.strip() == v
    if kind == "enum":
        codes = frozenset(domain.ENUMS[f.enum])
        return lambda v: type(v) is str and v in codes
    if kind == "bool":
        return lambda v: type(v) is int and (v == 0 or v == 1)
    if kind == "int":
        return lambda v: type(v) is int
    if kind == "real":
        return lambda v: type(v) is float and math.isfinite(v)
    if kind == "ref":
        return lambda v: type(v) is str and _REF.fullmatch(v) is not None
    return lambda v: False


class _Canonical:
    """Per table: a field's canonical-form check, cheapest first, and a memo of
    the values already checked for kinds with few distinct values (dates, areas)."""

    _MEMO_KINDS = frozenset({"date", "area"})

    def __init__(self, t: Table):
        self.t = t
        self.memo: dict[str, set] = {name: set() for name in t.data_fields if t.get(name).kind in self._MEMO_KINDS}
        self.fast = {name: _fast_check(t, name, self.memo.get(name)) for name in t.data_fields}

    def problem(self, name: str, value: Any) -> str | None:
        if value is None or self.fast[name](value):
            return None
        if name == WRITER:
            return f"{table_label(self.t)}字段 {field_label(self.t, name)}：{writer_problem(value)}"
        memo = self.memo.get(name)
        if memo is not None and value in memo:
            return None
        problem = admissible(self.t, name, value)
        if problem == NOT_CANONICAL:
            return f"{table_label(self.t)}字段 {field_label(self.t, name)} 的值不是规范格式"
        if problem is not None:
            return f"{table_label(self.t)}字段 {field_label(self.t, name)}：{problem}"
        if memo is not None and len(memo) < 100_000:
            memo.add(value)
        return None


# --------------------------------------------------------------------------- what cannot be true

#: No one enlists younger (兵役法: 18, 17 for some; 16 leaves room for the records of the
#: 1950s–70s). 红军老战士 are exempt: children served in the Red Army (红小鬼).
ENLISTMENT_AGE = 16
#: Dates that say when something is due, not when it happened: they may lie ahead.
AHEAD_DATES = frozenset({("contact_triggers", "due_by"), ("visits", "follow_up_due")})
_DATES = {name: tuple(f.name for f in t.fields if f.kind == "date" and (name, f.name) not in AHEAD_DATES)
          for name, t in TABLES.items()}
# (table, date, the date it may not precede, the wording of the refusal): the same at entry and at the hub.
_NOT_BEFORE = {
    "contact_triggers": (("due_by", "occurred_on", "应访期限 {v} 早于发生日期 {o}"),
                         ("closed_on", "occurred_on", "关闭日期 {v} 早于发生日期 {o}")),
    "visits": (("follow_up_due", "visited_on", "跟进期限 {v} 早于走访日期 {o}"),
               ("follow_up_done", "visited_on", "跟进完成日期 {v} 早于走访日期 {o}")),
}
_AMOUNTS = {name: tuple(f.name for f in t.fields if f.kind in ("int", "real"))
            for name, t in TABLES.items() if not t.hub_only_writes}
_ID_FIELDS = frozenset({"id_number", "gender", "birth_date"})
_SERVICE_FIELDS = frozenset({"id_number", "birth_date", "enlisted_on", "discharged_on", "category"})
_FROM_ID_HINT = "性别和出生日期可不填，按身份证号自动补全"


def _before(a: str, b: str) -> bool:
    """Is date ``a`` certainly before ``b``, each ``YYYY-MM-DD`` or ``YYYY-MM`` (compared to the coarser)?"""
    n = min(len(a), len(b))
    return a[:n] < b[:n]


def _years_after(day: str, years: int) -> str:
    """``day`` (``YYYY-MM-DD`` or ``YYYY-MM``) ``years`` later; 29 February on the 28th of a common year."""
    year = int(day[:4]) + years
    rest = day[4:]
    if rest == "-02-29" and not (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)):
        rest = "-02-28"
    return f"{year:04d}{rest}"


def _born(row: dict) -> str | None:
    id_number = row.get("id_number")
    if isinstance(id_number, str) and len(id_number) == 18 and id_number[6:14].isdigit():
        return f"{id_number[6:10]}-{id_number[10:12]}-{id_number[12:14]}"
    born = row.get("birth_date")
    return born if isinstance(born, str) else None


def _veteran_problem(row: dict, changed) -> str | None:
    id_number = row.get("id_number")
    born = _born(row)
    if isinstance(id_number, str) and born and not _ID_FIELDS.isdisjoint(changed):
        sex = "male" if id_number[16] in "13579" else "female"
        gender = row.get("gender")
        if gender is not None and gender != sex:
            return (f"性别“{domain.label('gender', gender)}”与身份证号不一致"
                    f"（按身份证号应为“{domain.label('gender', sex)}”）")
        birth = row.get("birth_date")
        if isinstance(birth, str) and birth != born[:len(birth)]:
            return f"出生日期 {birth} 与身份证号不一致（按身份证号应为 {born}）"
    if _SERVICE_FIELDS.isdisjoint(changed):
        return None
    enlisted, discharged = row.get("enlisted_on"), row.get("discharged_on")
    if isinstance(enlisted, str) and born:
        if _before(enlisted, born):
            return f"入伍时间 {enlisted} 早于出生日期 {born}"
        if row.get("category") != "red_army" and _before(enlisted, _years_after(born, ENLISTMENT_AGE)):
            return f"入伍时间 {enlisted} 时未满{ENLISTMENT_AGE}周岁（出生日期 {born}）"
    if isinstance(enlisted, str) and isinstance(discharged, str) and _before(discharged, enlisted):
        return f"退役时间 {discharged} 早于入伍时间 {enlisted}"
    return None


# The national collection's fields (migration 9) and the fields each goes with.
_NATIONAL_FIELDS = frozenset({"category", "categories", "status", "died_on", "moved_out_on", "disability_level",
                              "disability_rated_on", "disability_cert_no", "soldier_id", "relationship",
                              "id_number", "birth_date", "id"})


def _national_problem(row: dict, changed) -> str | None:
    """The rules of the national collection's fields, the same at the station and the hub,
    each looked at only when a field it involves changes: the further categories leave out
    the main one; a death date only for 已故 and not before birth (已故 without a date is
    allowed: older files have none); a 迁出 date only for 迁出; 评残日期 and 残疾军人证号 only
    with a 伤残等级 other than 无; a family member's soldier and the relationship together,
    the soldier not the person itself."""
    changed = frozenset(changed)
    if _NATIONAL_FIELDS.isdisjoint(changed):
        return None
    categories, main = row.get("categories"), row.get("category")
    if not changed.isdisjoint({"category", "categories"}) and isinstance(categories, str) and main \
            and main in categories.split(","):
        return f"其他类别不应包含人员类别“{domain.label('category', main)}”"
    status = row.get("status")
    died = row.get("died_on")
    if not changed.isdisjoint({"died_on", "status", "id_number", "birth_date"}):
        if died is not None and status != "deceased":
            shown = domain.label("veteran_status", status) if status else "未填"
            return f"去世日期只用于状态为“已故”的人员（现为“{shown}”）"
        born = _born(row)
        if isinstance(died, str) and born and _before(died, born):
            return f"去世日期 {died} 早于出生日期 {born}"
    if not changed.isdisjoint({"moved_out_on", "status"}) and row.get("moved_out_on") is not None \
            and status != "moved_out":
        return "迁出日期只用于状态为“迁出”的人员"
    if not changed.isdisjoint({"disability_level", "disability_rated_on", "disability_cert_no"}) \
            and row.get("disability_level") in (None, "none"):
        for name in ("disability_rated_on", "disability_cert_no"):
            if row.get(name) is not None:
                return f"{field_label('veterans', name)}只用于有伤残等级的人员"
    if not changed.isdisjoint({"soldier_id", "relationship", "id"}):
        soldier, relation = row.get("soldier_id"), row.get("relationship")
        if (soldier is None) != (relation is None):
            return "关联军人和与军人关系须同时填写" if soldier is None else "填写关联军人时须同时填写与军人关系"
        if soldier is not None and soldier == row.get("id"):
            return "关联军人不能是本人"
    return None


def row_problem(table: str, row: dict, changed, *, latest: str) -> str | None:
    """What cannot be true of ``row`` (as it will be stored), looking only at rules that
    involve a field of ``changed``; None when nothing. ``latest`` is the last day a
    date may be (``YYYY-MM-DD``: today at a station, tomorrow at the hub). A date known
    to the month only is wrong only when every day of that month would be."""
    for name in _DATES.get(table, ()):
        value = row.get(name)
        if name in changed and isinstance(value, str) and value > latest[:len(value)]:
            return f"{field_label(table, name)} {value} 晚于今天"
    for name in _AMOUNTS.get(table, ()):
        value = row.get(name)
        if name in changed and isinstance(value, (int, float)) and value < 0:
            return f"{field_label(table, name)} {display_value(table, name, value)} 不能为负数"
    for name, other, wording in _NOT_BEFORE.get(table, ()):
        value, first = row.get(name), row.get(other)
        if (name in changed or other in changed) and isinstance(value, str) and isinstance(first, str) \
                and _before(value, first):
            return wording.format(v=value, o=first)
    if table == "veterans":
        return _veteran_problem(row, changed) or _national_problem(row, changed)
    if table == "plaques" and not {"hung_on", "replaced_on"}.isdisjoint(changed):
        hung, replaced = row.get("hung_on"), row.get("replaced_on")
        if isinstance(hung, str) and isinstance(replaced, str) and _before(replaced, hung):
            return f"更换日期 {replaced} 早于悬挂日期 {hung}"
        if replaced is None and row.get("replace_reason") is not None:
            return "填写更换原因时须同时填写更换日期"
    return None


def complete_veteran(changes: dict[str, Any], current: dict[str, Any] | None = None, *,
                     today: _dt.date | None = None) -> dict[str, Any]:
    """The values a station writes for a veteran: ``changes`` (parsed values) completed
    from the ID number, or ValidationError naming what cannot be true.

    Gender and birth date come from the ID number when the record is new or its ID
    number changes and they are not given (or are cleared); a birth date typed to
    the month that agrees with the ID number is stored as the ID's day; the further
    categories lose the main one. ``current``:
    the stored record of an edit (None for a new one). Then :func:`row_problem`, with
    today as the latest date. A stored value this write does not touch is not
    looked at (a record filed under older rules can still be edited).
    """
    before = current or {}
    out = dict(changes)
    id_number = out.get("id_number", before.get("id_number"))
    new_number = current is None or ("id_number" in out and out["id_number"] != before.get("id_number"))
    if id_number:
        for name, derived in (("gender", domain.gender_from_id(id_number)),
                              ("birth_date", domain.birth_date_from_id(id_number))):
            given = out.get(name)
            if given is None and (new_number or name in out):
                out[name] = derived
            elif name == "birth_date" and isinstance(given, str) and len(given) == 7 and derived.startswith(given):
                out[name] = derived
    day = (today or _dt.date.today()).isoformat()
    main = out.get("category", before.get("category"))
    categories = out.get("categories", before.get("categories"))
    if ("category" in out or "categories" in out) and categories and main:  # the main one is left out
        kept = domain.parse_enum_set("category", categories, leave_out=main)
        if kept != categories or "categories" in out:
            out["categories"] = kept
    problem = row_problem("veterans", {**before, **out}, out.keys(), latest=day)
    if problem:
        hint = _FROM_ID_HINT if problem.startswith(("性别", "出生日期")) else None
        raise ValidationError(problem, hint=hint)
    return out


# --------------------------------------------------------------------------- the area list

#: The tables whose area a clerk chooses; a visit, an event, a plaque … take their parent's.
LISTED_AREA_TABLES = frozenset({"veterans", "petitions"})
_UNLISTED = "区划代码 {area} 不在县区划名单中"


def unlisted_area(area: Any, *, on_list: Callable[[str], bool], has_list: Callable[[], bool]) -> str | None:
    """Why ``area`` may not be entered (None: it may): a town or village code the county's
    area list (issue 14 §2) does not hold, when there is a list. No list (a station not yet
    synced, an older county): nothing is refused, as before. The county's own code is named
    by its hub, not by its list: never refused here (the scope rules decide). ``has_list``
    is asked only for a code not on the list."""
    if not isinstance(area, str) or len(area) <= 6 or on_list(area) or not has_list():
        return None
    return _UNLISTED.format(area=area)


class DomainChecks:
    """The hub's domain checks of pushed rows (see the module docstring)."""

    def __init__(self, *, today: Callable[[], _dt.date] = _dt.date.today):
        self._canonical = {name: _Canonical(t) for name, t in TABLES.items()}
        self._required = {name: tuple(f.name for f in t.fields if f.required) for name, t in TABLES.items()}
        self._today = today
        self._latest_at: tuple[int, str] = (-1, "")

    def _latest(self) -> str:
        """The latest date a pushed date may hold: tomorrow (a clock a day off), computed once a minute."""
        minute = int(time.time() // 60)
        if self._latest_at[0] != minute:
            self._latest_at = (minute, (self._today() + _dt.timedelta(days=1)).isoformat())
        return self._latest_at[1]

    # -- before the merge --------------------------------------------------

    def check_values(self, incoming: RowState, current: RowState | None, pushed, station: str, *,
                     recovery: bool = False) -> str | None:
        """``recovery``: the row is re-offered to a restored hub (PROTOCOL.md
        "Recovery"): a visit or petition another station registered keeps that
        station; a confidential petition only by the station that registered it."""
        t = TABLES[incoming.table]
        values = incoming.values
        canonical = self._canonical[t.name]
        fast = canonical.fast
        for name in pushed:
            v = values.get(name)
            if v is None or fast[name](v):
                continue
            problem = canonical.problem(name, v)
            if problem:
                return problem
        if current is None:
            missing = [field_label(t, n) for n in self._required[t.name] if values.get(n) is None]
            if missing:
                return f"新{table_label(t)}记录缺少必填项：{'、'.join(missing)}"
        else:
            cleared = [field_label(t, n) for n in self._required[t.name] if n in pushed and values.get(n) is None]
            if cleared:
                return f"{table_label(t)}的必填项不能清空：{'、'.join(cleared)}"
        dated = _DATED.get(t.name)
        if dated and dated in pushed and values.get(dated):
            if values[dated] > self._latest():
                return f"{field_label(t, dated)} {values[dated]} 晚于今天"
        if not recovery and values.get("deleted") != 1:
            row = values if current is None else {**current.values, **{n: values.get(n) for n in pushed}}
            problem = row_problem(t.name, row, pushed, latest=self._latest())
            if problem:
                return problem
        if t.name in ("visits", "petitions"):
            if recovery and current is None:
                owner = values.get("station")
                if not owner or (t.name == "petitions" and values.get("confidential") == 1 and owner != station):
                    return f"{field_label(t, 'station')}应为本站 {station}"
            elif current is None and values.get("station") != station:
                return f"{field_label(t, 'station')}应为本站 {station}"
            if current is not None and "station" in pushed and values.get("station") != current.values.get("station"):
                return f"{field_label(t, 'station')}不能修改"
        if t.name == "veterans" and "soldier_id" in pushed and values.get("soldier_id") == incoming.id:
            return "关联军人不能是本人"
        if t.name == "petitions":
            return self._petition_class(values, current, pushed)
        if t.name == "petition_events":
            return self._new_event(values) if current is None else self._event_change(values, current, pushed)
        return None

    @staticmethod
    def _petition_class(values: dict, current: RowState | None, pushed) -> str | None:
        before = current.values if current is not None else {}
        reps = values.get("representatives") if "representatives" in pushed else None
        if reps is not None and not (isinstance(reps, int) and 1 <= reps <= petition_rules.COLLECTIVE_MAX):
            return f"集体访代表不超过 {petition_rules.COLLECTIVE_MAX} 人"
        cls = values.get("class") if "class" in pushed else before.get("class")
        confidential = values.get("confidential") if "confidential" in pushed else before.get("confidential")
        if cls == "accusation" and confidential != 1:
            return "检举控告类信访件必须保密"
        if current is not None and "class" in pushed and (cls == "accusation") != (before.get("class") == "accusation"):
            return "检举控告类信访件的类别只能由县中心变更"
        return None

    @staticmethod
    def _new_event(values: dict) -> str | None:
        kind = values.get("kind")
        try:
            petition_rules.next_status(values.get("from_status"), kind)
        except VetsyncError:
            return "信访办理环节与办理前状态不符"
        if values.get("outcome") is not None and kind not in _REPLY_KINDS:
            return "只有答复、复查意见、复核意见有答复意见"
        if kind == "extend" and not values.get("note"):
            return "延期须说明理由"
        # 信访工作条例 (migration 8): each new field goes with its step only. Not required:
        # a station of the code before (schema 7) sends none of them, and is accepted.
        for name, kinds, problem in _EVENT_FIELD_KINDS:
            if values.get(name) is not None and kind not in kinds:
                return problem
        days = values.get("days")
        if kind == "extend" and days is not None \
                and not (isinstance(days, int) and 1 <= days <= petition_rules.MAX_EXTENSION_DAYS):
            return f"延期不得超过 {petition_rules.MAX_EXTENSION_DAYS} 日"
        if kind == petition_rules.CORRECT:
            if not values.get("voids"):
                return "更正须指明作废的环节"
            if not values.get("note"):
                return "更正须说明理由"
        elif values.get("voids") is not None:
            return "只有更正环节可指明作废的环节"
        return None

    @staticmethod
    def _event_change(values: dict, current: RowState, pushed) -> str | None:
        """An edit of a known event: what a 更正 voids, and whether an event is one, stay as created."""
        before = current.values
        if "voids" in pushed and values.get("voids") != before.get("voids"):
            return "更正所作废的环节不能修改"
        if "kind" in pushed and (values.get("kind") == petition_rules.CORRECT) != (before.get("kind") == petition_rules.CORRECT):
            return "办理环节不能改为更正，更正也不能改为其他环节"
        return None

    # -- after the merge ---------------------------------------------------

    def check_links(self, table: str, after: dict, changed, is_new: bool, ctx: LinkLookup) -> str | None:
        problem = self._parents(table, after, changed, is_new, ctx)
        if problem is None and table == "plaques" and is_new and after.get("deleted") != 1 \
                and after.get("replaced_on") is None:
            problem = self._second_plaque(after.get("veteran_id"), ctx)
        if problem is None and table == "contact_triggers" and after.get("deleted") != 1 \
                and (is_new or "veteran_id" in changed):
            vet = ctx.row("veterans", after.get("veteran_id")) if isinstance(after.get("veteran_id"), str) else None
            if not _live(vet) or vet.values.get("merged_into"):
                problem = PARENT_OUT_OF_REACH.format(label=table_label("veterans"))
        if problem is None and table == "veterans" and after.get("soldier_id") is not None \
                and (is_new or "soldier_id" in changed) and after.get("deleted") != 1:
            problem = self._soldier(after.get("soldier_id"), ctx)
        if problem is None and table == "petition_events" and after.get("kind") == petition_rules.CORRECT \
                and (is_new or "voids" in changed or "kind" in changed):
            problem = self._voided(after, ctx)
        # A petition of a veteran has the veteran's area (checked above): the list is the veteran's to meet.
        if problem is None and table in LISTED_AREA_TABLES and (is_new or "area" in changed) \
                and after.get("deleted") != 1 and not (table == "petitions" and after.get("veteran_id")):
            problem = unlisted_area(after.get("area"), on_list=lambda code: _live(ctx.row("areas", code)),
                                    has_list=lambda: ctx.has_rows("areas"))
        return problem

    @staticmethod
    def _second_plaque(veteran_id: Any, ctx: LinkLookup) -> str | None:
        """A new plaque not replaced while its veteran has one not replaced (the station's
        rule: record the replacement first). The hub's stored plaques of the veteran, each as
        merged so far in this batch (``ctx.row``: a replacement pushed before the new plaque
        counts), and the batch's new ones. A lookup without a store (none here) admits."""
        store = getattr(ctx, "store", None)
        if store is None or not isinstance(veteran_id, str):
            return None
        stored = [ctx.row("plaques", s.id) for s in store.live_rows("plaques", {"veteran_id": veteran_id})]
        batch = getattr(getattr(ctx, "batch", None), "current", {})
        fresh = [st for (table, _), st in batch.items() if table == "plaques"]
        for state in (*stored, *fresh):
            if _live(state) and state.values.get("veteran_id") == veteran_id and state.values.get("replaced_on") is None:
                return "该退役军人已有未更换的光荣牌，须先登记更换"
        return None

    @staticmethod
    def _soldier(soldier_id: Any, ctx: LinkLookup) -> str | None:
        """A family member's soldier (``soldier_id``, not a ref the sync follows): a live
        veteran, not merged away, in the pusher's scope; one wording for all else."""
        soldier = ctx.row("veterans", soldier_id) if isinstance(soldier_id, str) else None
        if not _live(soldier) or soldier.values.get("merged_into") or not in_scope(soldier.area, ctx.scope):
            return "关联军人不在本站范围内，未保存"
        return None

    @staticmethod
    def _voided(after: dict, ctx: LinkLookup) -> str | None:
        """A 更正's target: an event of the same petition, neither a 登记 nor a 更正."""
        target_id = after.get("voids")
        target = ctx.row("petition_events", target_id) if isinstance(target_id, str) else None
        if target is None or target.values.get("petition_id") != after.get("petition_id"):
            return "更正所指的办理环节不属于该信访件，未保存"
        if target.values.get("kind") == petition_rules.CORRECT:
            return "更正不能作废另一条更正"
        if target.values.get("kind") == "register":
            return "“登记”环节不能作废"
        return None

    @staticmethod
    def _parents(table: str, after: dict, changed, is_new: bool, ctx: LinkLookup) -> str | None:
        links = _LINKS.get(table)
        if not links or not (is_new or not _LINK_FIELDS[table].isdisjoint(changed)):
            return None
        for field, parent_table, same_area in links:
            parent_id = after.get(field)
            if parent_id is None:
                continue
            if not (is_new or field in changed or (same_area and "area" in changed)):
                continue
            parent = ctx.row(parent_table, parent_id)
            label = table_label(parent_table)
            if parent is None or not in_scope(parent.area, ctx.scope) or ctx.owner(parent_table, parent) not in (None, ctx.station):
                return PARENT_OUT_OF_REACH.format(label=label)
            if same_area and after.get("area") != parent.area:
                return f"区划代码应与所属{label}一致"
        return None


def _live(state: RowState | None) -> bool:
    return state is not None and state.values.get("deleted") != 1


DOMAIN_CHECKS = DomainChecks()
