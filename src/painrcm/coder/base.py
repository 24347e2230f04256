"""What a family coder returns, and the helpers every family shares."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import NamedTuple

from painrcm.codes.tables import Reference, RegionGroup
from painrcm.errors import InputError
from painrcm.model import Procedure
from painrcm.policy.schema import BilateralConvention, Policy
from painrcm.spine import Level, lumbar_nerves_to_joints, parse_level


@dataclass
class Service:
    """One code for one documented procedure, before the payer's side conventions are applied."""

    code: str
    units: int = 1
    side: str | None = None  # left | right | bilateral | None
    modifiers: list[str] = field(default_factory=list)
    family: str | None = None
    procedure_index: int | None = None


class CodingTerms(NamedTuple):
    """The payer's terms the coder reads for a practice kind and place of service: all it takes from the
    policy (payers and places with equal terms share their coded sessions, see `painrcm.coder`)."""

    practice_kind: str
    convention: BilateralConvention  # a bilateral procedure: one 50 line or RT and LT lines
    addon_convention: BilateralConvention  # the same for a bilateral add-on level
    kx_on_diagnostic_facet: bool
    asc_code_substitutions: tuple[tuple[str, str], ...]


def coding_terms(policy: Policy, practice_kind: str, place_of_service: str) -> CodingTerms:
    return CodingTerms(
        practice_kind,
        policy.convention(practice_kind, place_of_service),
        policy.addon_convention(practice_kind, place_of_service),
        policy.kx_on_diagnostic_facet,
        tuple(sorted(policy.asc_code_substitutions.items())),
    )


@dataclass(frozen=True)
class CodingContext:
    """What the family coders may read: the payer's coding terms for the encounter and the code table."""

    terms: CodingTerms
    reference: Reference


def need(value: object, index: int, fact: str, expected: str) -> None:
    if value is None or value == [] or value == "":
        raise InputError(None, f"$.procedures[{index}].{fact}", f"missing: {expected}")


def spinal_levels(proc: Procedure, index: int, *, joints: bool) -> list[Level]:
    need(proc.levels, index, "levels", "the levels treated, e.g. " + ('["L4-L5"]' if joints else '["L5"]'))
    assert proc.levels is not None
    found = _levels_of(tuple(proc.levels), joints, proc.target == "medial_branch")
    if isinstance(found, _Bad):
        raise InputError(None, f"$.procedures[{index}].{found.where}", found.expected)
    return list(found)


@dataclass(frozen=True)
class _Bad:
    where: str  # the fact's path below the procedure: "levels" or "levels[2]"
    expected: str


@functools.lru_cache(maxsize=4096)
def _levels_of(levels: tuple[str, ...], joints: bool, medial_branch: bool) -> tuple[Level, ...] | _Bad:
    """The documented levels, parsed, ordered and unique (joints for a joint family), or what is wrong
    with them: the same few level lists recur on every claim, so each is worked out once."""
    parsed: list[Level] = []
    for i, raw in enumerate(levels):
        lvl = parse_level(raw)
        if lvl is None:
            return _Bad(f"levels[{i}]", f"a spinal level such as L5 or L4-L5 (got {raw!r})")
        parsed.append(lvl)
    if joints and not all(lv.is_joint for lv in parsed):
        singles = [lv for lv in parsed if not lv.is_joint]
        lumbar_mbb = medial_branch and all(
            lv.region == "lumbar_sacral" or str(lv) in ("T11", "T12") for lv in parsed
        )
        if lumbar_mbb and len(singles) == len(parsed):
            joints_found = lumbar_nerves_to_joints([lv.upper for lv in singles])
            if not joints_found:
                return _Bad(
                    "levels",
                    "medial branch nerves that supply at least one whole facet joint "
                    f"(e.g. L3 and L4 for L4-L5); got {list(levels)}",
                )
            return tuple(joints_found)
        return _Bad(
            "levels",
            f"joint levels such as L4-L5 (nerve names are accepted only for lumbar medial branch blocks); "
            f"got {list(levels)}",
        )
    unique: dict[str, Level] = {}
    for lv in parsed:
        unique.setdefault(str(lv), lv)
    return tuple(sorted(unique.values(), key=lambda lv: lv.upper.rank))


def by_region(levels: list[Level]) -> dict[RegionGroup, list[Level]]:
    out: dict[RegionGroup, list[Level]] = {}
    for lv in levels:
        out.setdefault(lv.region, []).append(lv)
    return out


def code_for(
    ref: Reference, *, family: str | None, region: RegionGroup | None = None, **facts: object
) -> str:
    """The one code of the table with these facts (the table is the single source of codes)."""
    # the facts in the caller's order: a call site gives them in one order, and another order only
    # makes another entry with the same answer
    key = (family, region, *facts.items())
    memo = ref.code_for_memo
    found = memo.get(key)
    if found is None:
        found = memo[key] = _code_for(ref, family, region, facts)
    return found


def _code_for(
    ref: Reference, family: str | None, region: RegionGroup | None, facts: dict[str, object]
) -> str:
    hits = [
        c.code
        for c in ref.codes_by_family.get(family, ())
        if (region is None or c.region == region) and all(getattr(c, k) == v for k, v in facts.items())
    ]
    if len(hits) != 1:
        raise LookupError(f"code table has {len(hits)} codes for {family} {region} {facts}")
    return hits[0]
