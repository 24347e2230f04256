"""Spinal levels: parsing, region groups and the medial-branch nerve-to-joint rule (RULES.md section 1)."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from painrcm.codes.tables import RegionGroup
from painrcm.model import Family, Procedure

_SEGMENT = re.compile(r"^([CTLS])(\d{1,2})$")
_MAX = {"C": 8, "T": 12, "L": 5, "S": 5}
_ORDER = "CTLS"


@dataclass(frozen=True, order=True)
class Vertebra:
    segment: str  # C, T, L or S
    number: int

    def __str__(self) -> str:
        return f"{self.segment}{self.number}"

    # levels are parsed once each (parse_level) and asked these often while coding: kept once worked out
    @functools.cached_property
    def rank(self) -> int:
        return _ORDER.index(self.segment) * 100 + self.number

    @functools.cached_property
    def region(self) -> RegionGroup:
        return "cervical_thoracic" if self.segment in "CT" else "lumbar_sacral"


def parse_vertebra(text: str) -> Vertebra | None:
    m = _SEGMENT.match(text.strip().upper())
    if not m:
        return None
    seg, num = m.group(1), int(m.group(2))
    if not 1 <= num <= _MAX[seg]:
        return None
    return Vertebra(seg, num)


@dataclass(frozen=True)
class Level:
    """A joint level (``L4-L5``) or a single segment (a foramen/nerve root such as ``L5``)."""

    upper: Vertebra
    lower: Vertebra | None = None

    def __str__(self) -> str:
        return self.text

    @functools.cached_property
    def text(self) -> str:
        return f"{self.upper}-{self.lower}" if self.lower else str(self.upper)

    @property
    def is_joint(self) -> bool:
        return self.lower is not None

    @functools.cached_property
    def region(self) -> RegionGroup:
        # A level belongs to the region of its upper vertebra: T12-L1 is thoracic (RULES.md 1).
        return self.upper.region


@functools.lru_cache(maxsize=4096)
def parse_level(text: str) -> Level | None:
    t = text.strip().upper().replace(" ", "")
    if t == "CAUDAL":
        return Level(Vertebra("S", 5))
    if "-" in t:
        a, b = t.split("-", 1)
        va, vb = parse_vertebra(a), parse_vertebra(b)
        if va is None or vb is None or vb.rank <= va.rank:
            return None
        return Level(va, vb)
    v = parse_vertebra(t)
    return Level(v) if v else None


def next_vertebra(v: Vertebra) -> Vertebra | None:
    if v.number < _MAX[v.segment]:
        return Vertebra(v.segment, v.number + 1)
    idx = _ORDER.index(v.segment)
    return Vertebra(_ORDER[idx + 1], 1) if idx + 1 < len(_ORDER) else None


def lumbar_nerves_to_joints(nerves: list[Vertebra]) -> list[Level]:
    """Lumbar facet joints whose two nerves were all blocked.

    The Lk-L(k+1) joint is supplied by the L(k-1) and Lk medial branches; L5-S1 by the L4 medial
    branch and the L5 dorsal ramus. Blocking L3, L4 and L5 therefore covers L4-L5 and L5-S1."""
    blocked = {(n.segment, n.number) for n in nerves}
    joints: list[Level] = []
    # T12-L1 (a thoracic joint, coded 64490-64492: RULES.md section 1) is supplied by T11 and T12
    if {("T", 11), ("T", 12)} <= blocked:
        joints.append(Level(Vertebra("T", 12), Vertebra("L", 1)))
    for k in range(1, 6):
        upper = Vertebra("L", k)
        lower = next_vertebra(upper)
        assert lower is not None
        supply = {("L", k - 1), ("L", k)} if k > 1 else {("T", 12), ("L", 1)}
        if supply <= blocked:
            joints.append(Level(upper, lower))
    return joints


def region_group(region: str | None) -> RegionGroup | None:
    """The billing region group of a documented `region` fact (cervical and thoracic share codes)."""
    if region in ("cervical", "thoracic"):
        return "cervical_thoracic"
    if region in ("lumbar", "sacral"):
        return "lumbar_sacral"
    return None


def procedure_regions(proc: Procedure) -> set[RegionGroup] | None:
    """Region groups a documented procedure covers: the levels decide (T12-L1 is thoracic, RULES.md 1),
    then the region fact; a caudal epidural is lumbar/sacral. None when the note does not say."""
    if proc.family is Family.EPIDURAL_INTERLAMINAR and proc.approach == "caudal":
        return {"lumbar_sacral"}
    if proc.levels:
        found = _level_regions(tuple(proc.levels))
        if found:
            return set(found)
    group = region_group(proc.region)
    return None if group is None else {group}


@functools.lru_cache(maxsize=4096)
def _level_regions(levels: tuple[str, ...]) -> frozenset[RegionGroup]:
    # the same few level lists recur on every claim: parsed once each
    return frozenset(lv.region for lv in (parse_level(x) for x in levels) if lv is not None)


def code_family(proc: Procedure) -> str:
    """The code-table family a documented procedure is billed under: a genicular nerve block documented as
    a peripheral nerve block is billed with 64454, a genicular code."""
    if proc.family is Family.PERIPHERAL_NERVE_BLOCK and proc.nerve == "genicular":
        return Family.GENICULAR.value
    return proc.family.value
