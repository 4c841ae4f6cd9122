"""Seeded generator of a county dataset, written straight into a store.

``generate_county(store, scale=1.0)`` makes what one county holds in a year:
20,000 veterans, 240,000 visit logs, 3,000 petitions and their 2–5 events
each (about 263,000 rows), spread over ``towns`` × ``villages_per_town``
village codes under ``county``. Counts scale linearly (at least one of each).

Deterministic: the same ``seed`` and ``as_of`` give the same rows (ids
included). It works in two levels so that a ``station_scope`` yields exactly
the rows of the full county under that prefix, without generating the rest:

1. a cheap *plan* from ``random.Random(seed)``: the villages, how many
   veterans, visits and petitions each holds, and every veteran's identity
   skeleton (category, gender, birth date, ID number — unique county-wide);
2. per village, a ``random.Random`` seeded from (seed, village code) makes
   the heavy content: names, addresses, visits, petitions, events.

Rows go in through ``Store.save_rows`` in chunks of ``CHUNK`` rows, one
transaction per chunk. Each row gets one HLC tick, used as the version of all
of its fields; with ``pending=True`` every field is marked pending with an
empty base, as if this station had typed it (so the rows are pushed).

Run ``python -m bench.generate --scale 0.05 --out /tmp/county.db`` for a bare
store file, or ``python -m bench.generate --station-home DIR`` for a station
home to try commands on (:func:`make_station_home`: as ``station-node init
--offline --station 440902`` makes it, the whole county in that one station):
``station-node --home DIR veteran list`` then works.
"""

from __future__ import annotations

import argparse
import bisect
import datetime as _dt
import itertools
import json
import random
import sys
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

from bench import names as N
from station_node import home as home_mod
from veterans.values import id_number_check_digit, parse_enum_set
from veterans.petition import next_status
from sync.engine.rowstate import RowState
from sync.store.station import Store

__all__ = ["Counts", "generate_county", "make_station_home", "main", "CHUNK", "FULL", "GENERATED"]

CHUNK = 5_000
#: Row counts at scale 1.0.
FULL = {"veterans": 20_000, "visits": 240_000, "petitions": 3_000}

# category code → (weight, birth year range, share male)
_CATEGORIES: dict[str, tuple[float, tuple[int, int], float]] = {
    "retired_soldier": (74.0, (1950, 2000), 0.97),
    "active_duty_family": (7.0, (1955, 1985), 0.5),
    "transferred_cadre": (3.5, (1950, 1985), 0.92),
    "disabled_soldier": (3.0, (1935, 2000), 0.98),
    "martyr_family": (2.0, (1930, 1980), 0.45),
    "demobilized": (2.5, (1930, 1958), 0.99),
    "retired_cadre": (2.0, (1935, 1975), 0.95),
    "illness_death_family": (2.5, (1930, 1965), 0.15),
    "duty_death_family": (0.8, (1935, 1975), 0.2),
    "disabled_militia": (0.5, (1935, 1970), 0.95),
    "non_military_staff": (0.5, (1940, 1975), 0.6),
    # 红军老战士: none left alive in a county register born 1930 or later.
}
_FAMILY_CATEGORIES = {"active_duty_family", "martyr_family", "illness_death_family", "duty_death_family"}
_CADRE_CATEGORIES = {"transferred_cadre", "retired_cadre"}

_LUNAR_NEW_YEAR = [
    _dt.date(*d) for d in (
        (2019, 2, 5), (2020, 1, 25), (2021, 2, 12), (2022, 2, 1), (2023, 1, 22), (2024, 2, 10),
        (2025, 1, 29), (2026, 2, 17), (2027, 2, 6), (2028, 1, 26), (2029, 2, 13), (2030, 2, 3),
        (2031, 1, 23), (2032, 2, 11), (2033, 1, 31), (2034, 2, 19), (2035, 2, 8),
    )
]

_VISIT_KINDS = {  # occasion → (kinds, weights)
    "regular": (("phone", "home", "video", "forum", "other"), (55, 30, 8, 5, 2)),
    "spring_festival": (("home", "forum", "phone"), (80, 10, 10)),
    "army_day": (("home", "forum", "phone"), (65, 25, 10)),
    "sick_visit": (("home", "phone", "video"), (80, 15, 5)),
    "other": (("home", "phone"), (70, 30)),
}
_OCCASIONS = (("regular", "spring_festival", "army_day", "sick_visit", "other"), (52, 24, 12, 8, 4))

# status → ((next kind, weight, (min delay days, max delay days)), ...)
_PATH: dict[str | None, tuple[tuple[str, int, tuple[int, int]], ...]] = {
    None: (("register", 1, (0, 2)),),
    "registered": (("accept", 55, (1, 15)), ("forward", 25, (1, 10)), ("reject", 8, (3, 15)),
                   ("reply", 7, (5, 30)), ("escalate", 3, (1, 10)), ("mediate", 2, (3, 15))),
    "forwarded": (("accept", 80, (1, 10)), ("reply", 10, (10, 40)), ("reject", 10, (3, 10))),
    # no 办结 straight after 受理: a matter answered with a 信访处理意见书 is closed after its 答复 (条例 Art. 32)
    "accepted": (("reply", 72, (10, 60)), ("extend", 12, (40, 58)), ("mediate", 16, (5, 30))),
    "not_accepted": (("close", 55, (5, 30)), ("escalate", 25, (5, 30)), ("accept", 20, (10, 30))),
    "replied": (("close", 65, (31, 40)), ("review_request", 35, (3, 30))),
    "under_review": (("review_opinion", 1, (10, 30)),),
    "reviewed": (("close", 60, (31, 40)), ("recheck_request", 40, (5, 30))),
    "under_recheck": (("recheck_opinion", 1, (10, 30)),),
    "escalated": (("accept", 60, (3, 20)), ("forward", 30, (1, 10)), ("reply", 10, (10, 40))),
}
_OUTCOME_KINDS = {"reply", "review_opinion", "recheck_opinion"}


@dataclass
class Counts:
    veterans: int = 0
    visits: int = 0
    petitions: int = 0
    petition_events: int = 0
    plaques: int = 0
    total: int = 0
    seconds: float = 0.0


def _cum(weights) -> list[float]:
    return list(itertools.accumulate(weights))


class _Pick:
    """Weighted choice from fixed options with precomputed cumulative weights."""

    __slots__ = ("options", "cum", "total")

    def __init__(self, pairs):
        self.options = [p[0] for p in pairs]
        self.cum = _cum(p[1] for p in pairs)
        self.total = self.cum[-1]

    def __call__(self, rng: random.Random):
        return self.options[bisect.bisect(self.cum, rng.random() * self.total)]


# The national collection's fields (issue 14 §2).
_POLITICAL = _Pick((("cpc_member", 38), ("masses", 55), ("league_member", 4), ("cpc_probationary", 2),
                    ("democratic_party", 1)))
_EMPLOYMENT = _Pick((("employed", 55), ("own_business", 12), ("flexible", 20), ("unemployed", 8), ("unable", 5)))
_RELATIONSHIP = _Pick((("parent", 35), ("spouse", 40), ("child", 20), ("sibling", 5)))
_PLACEMENT = {"transferred_cadre": "transferred", "retired_cadre": "retired", "demobilized": "demobilized",
              "red_army": "retired"}
_PRIORITY = {"disabled_soldier": "disabled_soldier", "martyr_family": "martyr_family", "duty_death_family": "duty_death_family",
             "illness_death_family": "illness_death_family", "demobilized": "demobilized"}

_SURNAME = _Pick(N.SURNAMES)
_ETHNICITY = _Pick(N.ETHNICITIES)
_BRANCH = _Pick(N.BRANCHES)
_CATEGORY = _Pick([(c, w) for c, (w, _, _) in _CATEGORIES.items()])
_OCCASION = _Pick(list(zip(*_OCCASIONS)))
_KIND = {occ: _Pick(list(zip(*kw))) for occ, kw in _VISIT_KINDS.items()}
_PETITION_CLASS = _Pick((("appeal", 80), ("suggestion", 12), ("accusation", 8)))
_CHANNEL = _Pick((("visit", 35), ("online", 28), ("phone", 20), ("letter", 15), ("fax", 2)))
_OUTCOME = _Pick((("explain", 45), ("support", 35), ("not_support", 20)))
_EVENTS_PER_PETITION = _Pick(((2, 25), (3, 35), (4, 25), (5, 15)))
# 伤残等级: the lower grades (七–十级) are the most common.
_DISABILITY = _Pick([(f"level{n}", w) for n, w in zip(range(1, 11), (1, 2, 3, 4, 6, 8, 12, 16, 20, 22))])
_DISABILITY_CAUSE = _Pick((("duty", 50), ("war", 25), ("illness", 25)))


# --------------------------------------------------------------------------- plan


@dataclass(slots=True)
class _Skeleton:
    category: str
    male: bool
    birth: _dt.date
    id_number: str


@dataclass
class _Plan:
    villages: list[str]
    town_names: dict[str, str]
    village_names: dict[str, str]
    veterans: dict[str, list[_Skeleton]]
    visits: dict[str, int]
    petitions: dict[str, int]


def _scaled(n: int, scale: float) -> int:
    return max(1, round(n * scale))


def _plan(rng: random.Random, county: str, towns: int, villages_per_town: int, scale: float) -> _Plan:
    town_codes = [county + f"{i:03d}" for i in range(1, towns + 1)]
    town_pool = list(N.TOWN_NAMES)
    rng.shuffle(town_pool)
    town_names = {}
    for i, code in enumerate(town_codes):
        town_names[code] = town_pool[i] if i < len(town_pool) else town_pool[i % len(town_pool)] + str(i // len(town_pool) + 1)
    villages, village_names = [], {}
    all_village_names = [h + t for h in N.VILLAGE_HEADS for t in N.VILLAGE_TAILS]
    for code in town_codes:
        pool = rng.sample(all_village_names, min(villages_per_town, len(all_village_names)))
        for j in range(1, villages_per_town + 1):
            v = code + f"{j:03d}"
            villages.append(v)
            village_names[v] = pool[j - 1] if j <= len(pool) else pool[(j - 1) % len(pool)] + str(j)

    # Village sizes vary (a few large villages, many small ones).
    size = [rng.lognormvariate(0.0, 0.5) for _ in villages]
    n_vet = _scaled(FULL["veterans"], scale)
    where = rng.choices(range(len(villages)), weights=size, k=n_vet)
    veterans: dict[str, list[_Skeleton]] = {v: [] for v in villages}
    used: set[str] = set()
    for vi in where:
        category = _CATEGORY(rng)
        _, (lo, hi), male_share = _CATEGORIES[category]
        if category == "retired_soldier":  # younger cohorts are larger
            year = hi - int((hi - lo + 1) * rng.random() ** 1.6)
        else:
            year = rng.randint(lo, hi)
        birth = _dt.date(year, 1, 1) + _dt.timedelta(days=rng.randrange(366 if year % 4 == 0 else 365))
        male = rng.random() < male_share
        while True:  # sequence code: 3 digits, the last odd for men (GB 11643)
            seq = rng.randrange(100) * 10 + rng.randrange(5) * 2 + (1 if male else 0)
            body = f"{county}{birth:%Y%m%d}{seq:03d}"
            if body not in used:
                used.add(body)
                break
        veterans[villages[vi]].append(_Skeleton(category, male, birth, body + id_number_check_digit(body)))

    vet_counts = [len(veterans[v]) for v in villages]
    visits = dict.fromkeys(villages, 0)
    for vi in rng.choices(range(len(villages)), weights=vet_counts, k=_scaled(FULL["visits"], scale)):
        visits[villages[vi]] += 1
    petitions = dict.fromkeys(villages, 0)
    for vi in rng.choices(range(len(villages)), weights=vet_counts, k=_scaled(FULL["petitions"], scale)):
        petitions[villages[vi]] += 1
    return _Plan(villages, town_names, village_names, veterans, visits, petitions)


# --------------------------------------------------------------------------- rows


_ID_MS_PER_VILLAGE = 10_000_000  # far more rows than a village holds at any scale used


class _Writer:
    """Buffers rows and writes them with ``save_rows`` in chunked transactions."""

    def __init__(self, store: Store, pending: bool):
        self.store = store
        self.pending = pending
        self.tick = store.hlc.tick
        self.buf: list[tuple[RowState, dict | None]] = []
        self.counts = Counts()

    def add(self, table: str, row_id: str, values: dict) -> None:
        values = {k: v for k, v in values.items() if v is not None}
        values["deleted"] = 0
        version = self.tick()
        clock = dict.fromkeys(values, version)
        # One (version, base) shared by the row's fields.
        pending = dict.fromkeys(values, (version, "")) if self.pending else None
        self.buf.append((RowState(table, row_id, values, clock), pending))
        if len(self.buf) >= CHUNK:
            self.flush()

    def flush(self) -> None:
        if not self.buf:
            return
        with self.store.transaction():
            self.store.save_rows(self.buf)
        self.buf = []


class _Village:
    """Generates the content of one village from its own random stream."""

    def __init__(self, seed: int, code: str, plan: _Plan, as_of: _dt.date, w: _Writer, station: str | None = None):
        self.rng = random.Random(f"vetsync-bench:{seed}:{code}")
        # The national collection's fields and the plaques (issue 14 §2) from a stream of their
        # own: the rows the generator made before them stay what they were for a seed.
        self.nat = random.Random(f"vetsync-bench:{seed}:{code}:national")
        self.heads: list[tuple[str, str, str, str]] = []  # (id, name, address, status) of soldiers, for households
        self.members: dict[str, list[str]] = {}  # soldier id -> statuses of the family members linked to it
        self.station = station
        self.code = code
        self.town = code[:-3]
        self.county = code[:-6]
        self.plan = plan
        self.as_of = as_of
        self.w = w
        self.town_name = plan.town_names[self.town]
        self.village_name = plan.village_names[code]
        self.staff = [self.person()[0] for _ in range(self.rng.randint(2, 3))]
        self.town_staff = [self.person()[0] for _ in range(3)]
        self.vets: list[tuple[str, str, float, bool]] = []  # (id, name, visit weight, alive)
        # Ids are UUIDv7 like the ones the station software makes (veterans.values.new_id):
        # their time part rises in the order rows are written, village after village.
        start = _dt.datetime.combine(as_of - _dt.timedelta(days=400), _dt.time(), _dt.timezone.utc)
        self.id_ms = int(start.timestamp() * 1000) + plan.villages.index(code) * _ID_MS_PER_VILLAGE

    # -- helpers

    def uid(self) -> str:
        self.id_ms += 1
        rand = self.rng.getrandbits(74)  # 12 + 62 random bits around the version and variant
        return str(uuid.UUID(int=(self.id_ms << 80) | (0x7 << 76) | ((rand >> 62) << 64) | (0b10 << 62) | (rand & (1 << 62) - 1)))

    def person(self, male: bool | None = None, born: int = 1975) -> tuple[str, bool]:
        rng = self.rng
        if male is None:
            male = rng.random() < 0.6
        gen = "old" if born < 1960 else "mid" if born < 1985 else "new"
        if gen == "old" and rng.random() < 0.25:
            given = rng.choice(N.MALE_CLASSIC if male else N.FEMALE_CLASSIC)
        else:
            chars = (N.MALE_CHARS if male else N.FEMALE_CHARS)[gen]
            given = rng.choice(chars) if rng.random() < 0.3 else rng.choice(chars) + rng.choice(chars)
        return _SURNAME(rng) + given, male

    def phone(self) -> str:
        return self.rng.choice(N.MOBILE_PREFIXES) + f"{self.rng.randrange(10**8):08d}"

    def day_in_last_year(self) -> _dt.date:
        return self.as_of - _dt.timedelta(days=self.rng.randrange(365))

    def date_between(self, lo: _dt.date, hi: _dt.date) -> _dt.date:
        span = (hi - lo).days
        return lo + _dt.timedelta(days=self.rng.randint(0, max(span, 0)))

    # -- tables

    def run(self) -> None:
        for sk in self.plan.veterans[self.code]:
            self.veteran(sk)
        self.visits(self.plan.visits[self.code])
        for _ in range(self.plan.petitions[self.code]):
            self.petition()
        self.plaques()

    def veteran(self, sk: _Skeleton) -> None:
        rng, as_of = self.rng, self.as_of
        name, male = self.person(sk.male, sk.birth.year)
        age = as_of.year - sk.birth.year
        family = sk.category in _FAMILY_CATEGORIES
        branch = unit = enlisted = discharged = None
        if not family:
            branch = _BRANCH(rng)
            enlisted = _dt.date(sk.birth.year + rng.randint(17, 21), rng.choice((3, 9, 12)), 1)
            years = rng.randint(12, 25) if sk.category in _CADRE_CATEGORIES else rng.choice((2, 2, 2, 3, 4, 5, 5, 8, 12))
            if sk.category == "retired_cadre":
                years = rng.randint(20, 32)
            discharged = enlisted + _dt.timedelta(days=365 * years + rng.randint(-40, 40))
            if enlisted >= as_of:
                enlisted = as_of - _dt.timedelta(days=800)
            if discharged >= as_of:
                discharged = as_of - _dt.timedelta(days=rng.randint(30, 400))
            units = N.UNITS_OLD if discharged.year < 2016 else N.UNITS_NEW
            unit = rng.choice(units[branch])
        level = cause = None
        if sk.category in ("disabled_soldier", "disabled_militia"):
            level, cause = _DISABILITY(rng), _DISABILITY_CAUSE(rng)
        elif not family:
            level = "none"
        deceased_share = 0.15 if sk.birth.year < 1945 else 0.05 if sk.birth.year < 1955 else 0.005
        r = rng.random()
        status = "deceased" if r < deceased_share else "moved_out" if r < deceased_share + 0.01 else "active"
        difficult = rng.random() < 0.25
        old = age >= 60
        vid = self.uid()
        row = {
            "id_number": sk.id_number,
            "name": name,
            "gender": "male" if male else "female",
            "birth_date": sk.birth.isoformat(),
            "ethnicity": _ETHNICITY(rng),
            "phone": self.phone() if rng.random() < 0.95 else None,
            "address": f"{self.town_name}镇{self.village_name}村{rng.randint(1, 12)}组{rng.randint(1, 120)}号",
            "area": self.code,
            "category": sk.category,
            "branch": branch,
            "unit": unit,
            "enlisted_on": enlisted.isoformat() if enlisted else None,
            "discharged_on": discharged.isoformat() if discharged else None,
            "disability_level": level,
            "disability_cause": cause,
            "honor_plaque": (self.date_between(_dt.date(2018, 8, 1), min(_dt.date(2021, 12, 31), as_of)).isoformat()
                             if rng.random() < 0.85 else None),
            "health": rng.choice(N.HEALTH_OLD if old else N.HEALTH_YOUNG),
            "family": rng.choice(N.FAMILY),
            "difficulties": rng.choice(N.VETERAN_DIFFICULTIES) if difficult else None,
            "needs": rng.choice(N.NEEDS),
            "status": status,
            "note": rng.choice(N.VETERAN_NOTES) if rng.random() < 0.2 else None,
        }
        row.update(self.national(vid, row, sk, age, family))
        self.w.add("veterans", vid, row)
        self.w.counts.veterans += 1
        weight = 1.0 + (1.0 if old else 0) + (1.5 if difficult else 0) + (1.0 if level not in (None, "none") else 0)
        self.vets.append((vid, name, weight, status == "active"))

    def national(self, vid: str, row: dict, sk: _Skeleton, age: int, family: bool) -> dict:
        """The national collection's fields of one veteran, by the rules the hub applies
        (veterans.admission): further categories without the main one, a death date only for
        已故, 评残 fields only with a 伤残等级, a family member linked to a soldier of the village."""
        rng, as_of, status = self.nat, self.as_of, row["status"]
        level = row.get("disability_level")
        out: dict = {"registered_on": self.nat_date(_dt.date(2019, 1, 1), as_of).isoformat()}
        further = []
        if not family and rng.random() < 0.12:
            further.append(rng.choice(("war_veteran", "war_veteran", "test_veteran", "sick_returned")))
        if not family and age >= 60 and rng.random() < 0.5:
            further.append("rural_elder_soldier")
        further = [c for c in further if c != sk.category]
        if further:
            out["categories"] = parse_enum_set("category", ",".join(further))
        out["political_status"] = _POLITICAL(rng)
        if not family:
            out["placement"] = _PLACEMENT.get(sk.category) or ("self_employed" if rng.random() < 0.7 else "assigned_job")
            if status == "active":
                out["employment"] = "retired" if age >= 60 else _EMPLOYMENT(rng)
        priority = _PRIORITY.get(sk.category)
        if priority:
            out["priority_type"] = priority
        if level not in (None, "none"):
            born = sk.birth + _dt.timedelta(days=365 * 18)
            out["disability_rated_on"] = self.nat_date(max(born, _dt.date(1980, 1, 1)), as_of).isoformat()
            out["disability_cert_no"] = f"粤{rng.randrange(10**8):08d}"
        if status == "deceased":
            out["died_on"] = self.nat_date(max(as_of - _dt.timedelta(days=3650), sk.birth), as_of).isoformat()
        elif status == "moved_out":
            out["moved_out_on"] = self.nat_date(as_of - _dt.timedelta(days=1000), as_of).isoformat()
        soldiers = [h for h in self.heads if h[0] != vid]
        if family and soldiers and rng.random() < 0.6:
            soldier = rng.choice(soldiers)
            out["soldier_id"] = soldier[0]
            out["relationship"] = _RELATIONSHIP(rng)
            self.members.setdefault(soldier[0], []).append(status)
        else:
            self.heads.append((vid, row["name"], row["address"], status))
        return out

    def nat_date(self, lo: _dt.date, hi: _dt.date) -> _dt.date:
        lo = min(lo, hi)
        return lo + _dt.timedelta(days=self.nat.randint(0, (hi - lo).days))

    def plaques(self) -> None:
        """光荣牌 for about 70% of the households that should have one (veterans.households:
        a soldier and the family linked to it, someone in it on file); a few replaced."""
        rng = self.nat
        for vid, name, address, status in self.heads:
            living = status == "active" or "active" in self.members.get(vid, ())
            if not living or rng.random() >= 0.7:
                continue
            hung = self.nat_date(_dt.date(2018, 8, 1), self.as_of)
            plaque = {"veteran_id": vid, "area": self.code, "household": name, "address": address,
                      "hung_on": hung.isoformat(), "hung_by": rng.choice(self.staff), "signed_by": name}
            if rng.random() < 0.05 and hung < self.as_of - _dt.timedelta(days=60):
                replaced = self.nat_date(hung + _dt.timedelta(days=30), self.as_of)
                self.w.add("plaques", self.uid(), {**plaque, "replaced_on": replaced.isoformat(),
                                                   "replace_reason": rng.choice(("褪色", "损坏", "搬迁"))})
                plaque["hung_on"] = replaced.isoformat()
                self.w.counts.plaques += 1
            self.w.add("plaques", self.uid(), plaque)
            self.w.counts.plaques += 1

    def visits(self, n: int) -> None:
        if n == 0:
            return
        rng, as_of = self.rng, self.as_of
        pool = [v for v in self.vets if v[3]] or self.vets
        cum = _cum(v[2] for v in pool)
        total = cum[-1]
        window_lo = as_of - _dt.timedelta(days=364)
        lny = [d for d in _LUNAR_NEW_YEAR if window_lo <= d <= as_of + _dt.timedelta(days=20)]
        army_day = _dt.date(as_of.year if as_of >= _dt.date(as_of.year, 8, 1) else as_of.year - 1, 8, 1)
        planned = []
        for _ in range(n):
            occasion = _OCCASION(rng)
            if occasion == "spring_festival" and lny:
                day = lny[0] - _dt.timedelta(days=rng.randint(1, 20))
            elif occasion == "army_day":
                day = army_day - _dt.timedelta(days=rng.randint(0, 12))
            else:
                if occasion == "spring_festival":
                    occasion = "regular"
                day = self.day_in_last_year()
            if not window_lo <= day <= as_of:
                occasion, day = "regular", self.day_in_last_year()
            planned.append((day, occasion, pool[bisect.bisect(cum, rng.random() * total)]))
        planned.sort(key=lambda p: p[0])  # entered as they happen
        for day, occasion, (vid, name, _, _) in planned:
            kind = _KIND[occasion](rng)
            festive = occasion in ("spring_festival", "army_day", "sick_visit") and kind == "home"
            by_town = rng.random() < 0.25
            staff = self.town_staff if by_town else self.staff
            visitors = "、".join(rng.sample(staff, rng.randint(1, 2)))
            hard = rng.random() < 0.3
            self.w.add("visits", self.uid(), {
                "veteran_id": vid,
                "area": self.code,
                "station": self.station or (self.town if by_town else self.code),
                "visitors": visitors,
                "visited_on": day.isoformat(),
                "kind": kind,
                "occasion": occasion,
                "summary": rng.choice(
                    N.VISIT_SUMMARIES_REMOTE if kind in ("phone", "video") else N.VISIT_SUMMARIES[occasion]
                ).format(name=name),
                "difficulties": rng.choice(N.VISIT_DIFFICULTIES) if hard else "无",
                "aid_cash": float(rng.choice((200, 300, 300, 500, 500, 800, 1000))) if festive and rng.random() < 0.7 else None,
                "aid_goods": rng.choice(N.AID_GOODS) if festive else None,
                "follow_up": rng.choice(N.FOLLOW_UPS) if hard else None,
            })
        self.w.counts.visits += n

    def petition(self) -> None:
        rng, as_of = self.rng, self.as_of
        cls = _PETITION_CLASS(rng)
        linked = self.vets and rng.random() < 0.85
        if linked:
            vid, name, _, _ = rng.choice(self.vets)
            petitioner = name if rng.random() < 0.8 else self.person()[0]
        else:
            vid, petitioner = None, self.person()[0]
        channel = _CHANNEL(rng)
        group = 1 if rng.random() < 0.92 or cls == "accusation" else rng.randint(3, 30)
        received = as_of - _dt.timedelta(days=rng.randint(2, 365))
        r = rng.random()
        station = self.station or (self.code if r < 0.5 else self.town if r < 0.85 else self.county)
        handler = rng.choice(self.town_staff)
        pid = self.uid()
        self.w.add("petitions", pid, {
            "veteran_id": vid,
            "petitioner": petitioner,
            "contact": self.phone() if rng.random() < 0.9 else None,
            "area": self.code,
            "station": station,
            "channel": channel,
            "group_size": group,
            "received_on": received.isoformat(),
            "class": cls,
            "summary": rng.choice(N.PETITION_SUMMARIES[cls]).format(year=rng.randint(2005, as_of.year - 1)),
            "handler": handler,
            "confidential": 1 if cls == "accusation" else 0,
        })
        self.w.counts.petitions += 1
        self.events(pid, received, handler)

    def events(self, pid: str, received: _dt.date, handler: str) -> None:
        rng, as_of = self.rng, self.as_of
        n = _EVENTS_PER_PETITION(rng)
        status: str | None = None
        day = received
        extended = False
        written = 0
        while written < n and status != "closed":
            options = [o for o in _PATH[status] if not (o[0] == "extend" and extended)]
            kind, _, (lo, hi) = options[bisect.bisect(_cum(o[1] for o in options), rng.random() * sum(o[1] for o in options))]
            day = day + _dt.timedelta(days=rng.randint(lo, hi))
            if day > as_of:
                if written >= 2:
                    break
                day = as_of
            new = next_status(status, kind)
            extended = extended or kind == "extend"
            event = {
                "petition_id": pid,
                "area": self.code,
                "at": day.isoformat(),
                "kind": kind,
                "outcome": _OUTCOME(rng) if kind in _OUTCOME_KINDS else None,
                "actor": handler if rng.random() < 0.8 else rng.choice(self.staff),
                "note": rng.choice(N.EVENT_NOTES[kind]),
                "from_status": status,
            }
            if kind == "accept":  # the 处理方式 and the written notice (条例 Arts. 22–23, 31)
                event.update(method="opinion", served_on=day.isoformat())
            elif kind == "extend":  # its days, approver and notice (Art. 34)
                event.update(days=rng.randint(10, 30), approver=rng.choice(self.staff), served_on=day.isoformat())
            self.w.add("petition_events", self.uid(), event)
            status = new
            written += 1
        self.w.counts.petition_events += written


# --------------------------------------------------------------------------- entry points


def generate_county(
    store: Store,
    *,
    scale: float = 1.0,
    seed: int = 1,
    county: str = "440902",
    towns: int = 15,
    villages_per_town: int = 20,
    station_scope: str | None = None,
    station: str | None = None,
    pending: bool = True,
    as_of: _dt.date | None = None,
) -> Counts:
    """Fill ``store`` with a seeded county dataset; returns the row counts and seconds taken.

    ``as_of`` (default: today) is the last day of the generated year; the
    data are a function of (seed, as_of, county, towns, villages_per_town,
    scale). With ``station_scope`` only the rows whose area starts with it
    are written — the same rows the full county has there. ``station``: the
    station that registers every visit and petition (``station`` of those rows,
    as the hub demands of the station that pushes them); None: a mix of the
    village's, its town's and the county's stations.
    """
    if scale <= 0:
        raise ValueError("scale must be positive")
    if len(county) != 6 or not county.isdigit():
        raise ValueError(f"county must be a 6-digit code: {county!r}")
    started = time.perf_counter()
    as_of = as_of or _dt.date.today()
    plan = _plan(random.Random(seed), county, towns, villages_per_town, scale)
    writer = _Writer(store, pending)
    for code in plan.villages:
        if station_scope and not code.startswith(station_scope):
            continue
        _Village(seed, code, plan, as_of, writer, station).run()
    writer.flush()
    counts = writer.counts
    counts.total = counts.veterans + counts.visits + counts.petitions + counts.petition_events + counts.plaques
    counts.seconds = time.perf_counter() - started
    return counts


#: The ``_meta`` key of a station home made by :func:`make_station_home`: what made it
#: (JSON: seed, scale, as_of, scope). Only such a home is replaced by ``--force``.
GENERATED = "bench_generated"


def make_station_home(
    home: str | Path,
    *,
    scale: float = 1.0,
    seed: int = 1,
    county: str = "440902",
    scope: str | None = None,
    towns: int = 15,
    villages_per_town: int = 20,
    as_of: _dt.date | None = None,
    pending: bool = True,
    force: bool = False,
) -> Counts:
    """A station home at ``home`` holding the generated county (or the part of it under ``scope``).

    The home is what ``station-node init --offline --station CODE`` makes
    (``station_node.home.init_offline``), CODE being ``scope`` or else the county
    itself: one station whose scope is the whole county. Every visit and petition
    is registered by that station; with ``pending`` (the default) every row is a
    local edit not yet sent, as at an offline station where the clerks typed it all.
    The check a command makes at open is made here, so the first command does not
    pay for it. An existing home is refused; with ``force`` one made by this
    function (its ``_meta`` has :data:`GENERATED`) is replaced, never another.
    """
    home = Path(home)
    code = scope or county
    if not code.startswith(county):
        raise ValueError(f"scope {code} is not in county {county}")
    db = home_mod.db_path(home)
    if db.exists():
        if not force:
            raise FileExistsError(f"{home} already holds a station (use --force to replace a generated one)")
        store = Store(db)
        try:
            made_here = store.meta(GENERATED) is not None
        finally:
            store.close()
        if not made_here:
            raise FileExistsError(f"{home} holds a station this generator did not make: not replaced")
        for suffix in ("", "-wal", "-shm"):
            Path(str(db) + suffix).unlink(missing_ok=True)
        (home / ".checked").unlink(missing_ok=True)
    as_of = as_of or _dt.date.today()
    store = home_mod.init_offline(home, code)
    try:
        counts = generate_county(store, scale=scale, seed=seed, county=county, towns=towns,
                                 villages_per_town=villages_per_town, station_scope=code, station=code,
                                 pending=pending, as_of=as_of)
        with store.transaction():
            store.set_meta(GENERATED, json.dumps({"seed": seed, "scale": scale, "as_of": as_of.isoformat(),
                                                  "scope": code, "pending": pending}))
    finally:
        store.close()
    home_mod.open_store(home).close()  # the quick check at open, made now (0.2 s at a county)
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.generate",
        description="Generate a seeded county dataset into a new store file (--out) or a new station home (--station-home).")
    parser.add_argument("--scale", type=float, default=None,
                        help="1.0 = 20,000 veterans, 240,000 visits, 3,000 petitions "
                             "(default 0.05 with --out, 1.0 with --station-home)")
    parser.add_argument("--seed", type=int, default=1)
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--out", help="path of the store file to create")
    where.add_argument("--station-home", metavar="DIR",
                       help="a station home to create (as station-node init --offline makes it), holding the data")
    parser.add_argument("--scope", default=None,
                        help="only rows under this area code (with --station-home: the station's code; default the county)")
    parser.add_argument("--county", default="440902")
    parser.add_argument("--towns", type=int, default=15)
    parser.add_argument("--villages-per-town", type=int, default=20)
    parser.add_argument("--as-of", default=None, help="last day of the generated year (YYYY-MM-DD, default today)")
    parser.add_argument("--no-pending", action="store_true", help="write rows as already acknowledged")
    parser.add_argument("--force", action="store_true",
                        help="replace PATH if it exists (a station home: only one this generator made)")
    args = parser.parse_args(argv)
    as_of = _dt.date.fromisoformat(args.as_of) if args.as_of else None

    if args.station_home:
        try:
            counts = make_station_home(
                args.station_home, scale=1.0 if args.scale is None else args.scale, seed=args.seed,
                county=args.county, scope=args.scope, towns=args.towns, villages_per_town=args.villages_per_town,
                as_of=as_of, pending=not args.no_pending, force=args.force,
            )
        except (FileExistsError, ValueError) as exc:
            print(exc, file=sys.stderr)
            return 2
        _print_counts(counts)
        print(f"station home     {Path(args.station_home).resolve()} "
              f"(try: station-node --home {args.station_home} veteran list)")
        return 0

    out = Path(args.out)
    if out.exists():
        if not args.force:
            print(f"{out} exists (use --force to replace it)", file=sys.stderr)
            return 2
        for suffix in ("", "-wal", "-shm"):
            Path(str(out) + suffix).unlink(missing_ok=True)
    store = Store(out, create=True)
    try:
        counts = generate_county(
            store,
            scale=0.05 if args.scale is None else args.scale,
            seed=args.seed,
            county=args.county,
            towns=args.towns,
            villages_per_town=args.villages_per_town,
            station_scope=args.scope,
            pending=not args.no_pending,
            as_of=as_of,
        )
    finally:
        store.close()
    _print_counts(counts)
    return 0


def _print_counts(counts: Counts) -> None:
    for key, value in asdict(counts).items():
        print(f"{key:16} {value:.2f}" if isinstance(value, float) else f"{key:16} {value}")
    print(f"{'rows_per_second':16} {counts.total / counts.seconds:,.0f}")


if __name__ == "__main__":
    sys.exit(main())
