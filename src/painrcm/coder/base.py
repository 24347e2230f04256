"""What a family coder returns, and the helpers every family shares."""

from __future__ import annotations

from dataclasses import dataclass, field

from painrcm.codes.tables import Reference, RegionGroup
from painrcm.errors import InputError
from painrcm.model import Encounter, Procedure
from painrcm.policy.schema import Policy
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


@dataclass(frozen=True)
class CodingContext:
    encounter: Encounter
    reference: Reference
    policy: Policy

    @property
    def practice_kind(self) -> str:
        return self.encounter.practice.kind


def need(value: object, index: int, fact: str, expected: str) -> None:
    if value is None or value == [] or value == "":
        raise InputError(None, f"$.procedures[{index}].{fact}", f"missing: {expected}")


def spinal_levels(proc: Procedure, index: int, *, joints: bool) -> list[Level]:
    need(proc.levels, index, "levels", "the levels treated, e.g. " + ('["L4-L5"]' if joints else '["L5"]'))
    assert proc.levels is not None
    parsed: list[Level] = []
    for i, raw in enumerate(proc.levels):
        lvl = parse_level(raw)
        if lvl is None:
            raise InputError(
                None,
                f"$.procedures[{index}].levels[{i}]",
                f"a spinal level such as L5 or L4-L5 (got {raw!r})",
            )
        parsed.append(lvl)
    if joints and not all(lv.is_joint for lv in parsed):
        singles = [lv for lv in parsed if not lv.is_joint]
        lumbar_mbb = proc.target == "medial_branch" and all(
            lv.region == "lumbar_sacral" or str(lv) in ("T11", "T12") for lv in parsed
        )
        if lumbar_mbb and len(singles) == len(parsed):
            joints_found = lumbar_nerves_to_joints([lv.upper for lv in singles])
            if not joints_found:
                raise InputError(
                    None,
                    f"$.procedures[{index}].levels",
                    "medial branch nerves that supply at least one whole facet joint "
                    f"(e.g. L3 and L4 for L4-L5); got {proc.levels}",
                )
            return joints_found
        raise InputError(
            None,
            f"$.procedures[{index}].levels",
            f"joint levels such as L4-L5 (nerve names are accepted only for lumbar medial branch blocks); "
            f"got {proc.levels}",
        )
    unique: dict[str, Level] = {}
    for lv in parsed:
        unique.setdefault(str(lv), lv)
    return sorted(unique.values(), key=lambda lv: lv.upper.rank)


def by_region(levels: list[Level]) -> dict[RegionGroup, list[Level]]:
    out: dict[RegionGroup, list[Level]] = {}
    for lv in levels:
        out.setdefault(lv.region, []).append(lv)
    return out


def code_for(
    ref: Reference, *, family: str | None, region: RegionGroup | None = None, **facts: object
) -> str:
    """The one code of the table with these facts (the table is the single source of codes)."""
    key = (family, region, *sorted(facts.items()))
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
