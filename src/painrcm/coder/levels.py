"""Level families (transforaminal epidural, facet joint, facet RFA) when the sides differ.

A note often reads "right L4 and L5, left L5": one procedure entry per side, or a bilateral entry
plus one-sided entries. All entries of one family with the same other facts are one session
(RULES.md section 1). A level done on both sides is a bilateral level; a level done on one side
carries that side. The first-level code goes to a bilateral level when there is one; every other
level is reported with the add-on code, with its own side.
"""

from __future__ import annotations

from painrcm.coder.base import CodingContext, Service, code_for, need, spinal_levels
from painrcm.codes.tables import RegionGroup
from painrcm.model import Family, Procedure
from painrcm.spine import Level

LEVEL_FAMILIES = frozenset(
    {Family.EPIDURAL_TRANSFORAMINAL, Family.FACET_JOINT, Family.RADIOFREQUENCY_ABLATION}
)
# Facts of a level-family entry that its codes never depend on (the note's record of the procedure):
# entries that differ only in them are coded alike, and the coder keeps coded sessions without them.
UNCODED_FACTS = frozenset({"images_stored", "medications", "relief_percent"})
# Facts that may differ between the entries of one session (one entry per side).
_PER_ENTRY = {"laterality", "levels", "region", *UNCODED_FACTS}
_SIDES = {"right": frozenset({"R"}), "left": frozenset({"L"}), "bilateral": frozenset({"R", "L"})}
_SIDE_NAME = {frozenset({"R"}): "right", frozenset({"L"}): "left", frozenset({"R", "L"}): "bilateral"}


def session_key(proc: Procedure) -> tuple[str, str]:
    """Entries with equal keys are one session of a level family."""
    facts = proc.model_dump(exclude=_PER_ENTRY, mode="json")
    return proc.family.value, repr(sorted(facts.items()))


def sessions(procs: list[Procedure]) -> list[tuple[list[int], list[Procedure]]]:
    """Documented procedures grouped into sessions: entries of a level family with the same key are
    one session; every other entry is its own (the caller merges a left and a right twin)."""
    out: list[tuple[list[int], list[Procedure]]] = []
    seen: dict[tuple[str, str], int] = {}
    # one level-family entry is its own session: its key is needed only to meet another entry's
    grouped = sum(p.family in LEVEL_FAMILIES for p in procs) > 1
    for i, p in enumerate(procs):
        if grouped and p.family in LEVEL_FAMILIES:
            key = session_key(p)
            if key in seen:
                out[seen[key]][0].append(i)
                out[seen[key]][1].append(p)
                continue
            seen[key] = len(out)
        out.append(([i], [p]))
    return out


def side_levels(
    procs: list[Procedure], indices: list[int], *, joints: bool
) -> dict[RegionGroup, list[tuple[Level, frozenset[str]]]]:
    """Per region: each documented level with the sides it was done on, ordered for coding:
    bilateral levels first, then the first-documented side's levels, then the other side's."""
    sides: dict[str, tuple[Level, set[str]]] = {}
    first_side: dict[RegionGroup, str] = {}
    for index, proc in zip(indices, procs, strict=True):
        need(proc.laterality, index, "laterality", "left, right or bilateral")
        assert proc.laterality is not None
        for lv in spinal_levels(proc, index, joints=joints):
            entry = sides.setdefault(str(lv), (lv, set()))
            entry[1].update(_SIDES[proc.laterality])
            if proc.laterality != "bilateral":
                first_side.setdefault(lv.region, proc.laterality)
    out: dict[RegionGroup, list[tuple[Level, frozenset[str]]]] = {}
    for lv, s in sides.values():
        out.setdefault(lv.region, []).append((lv, frozenset(s)))
    for region, items in out.items():
        lead = _SIDES[first_side.get(region, "right")]

        def order(item: tuple[Level, frozenset[str]], lead: frozenset[str] = lead) -> tuple[int, int]:
            s = item[1]
            return (0 if len(s) == 2 else 1 if s == lead else 2, item[0].upper.rank)

        items.sort(key=order)
    return out


def _units_by_side(items: list[tuple[Level, frozenset[str]]]) -> list[tuple[str, int]]:
    counts: dict[str, int] = {}
    for _, s in items:
        counts[_SIDE_NAME[s]] = counts.get(_SIDE_NAME[s], 0) + 1
    return [(side, counts[side]) for side in ("bilateral", "right", "left") if counts.get(side)]


def code_session(procs: list[Procedure], indices: list[int], ctx: CodingContext) -> list[Service]:
    """Services for one session of a level family (one or more documented entries)."""
    proc, index = procs[0], indices[0]
    fam = proc.family.value
    extra: list[str] = []
    if proc.family is Family.FACET_JOINT and ctx.terms.kx_on_diagnostic_facet:
        need(
            proc.purpose,
            index,
            "purpose",
            "diagnostic or therapeutic (the payer wants KX on diagnostic blocks)",
        )
        extra = ["KX"] if proc.purpose == "diagnostic" else []
    joints = proc.family is not Family.EPIDURAL_TRANSFORAMINAL
    # The imaging these codes include is fluoroscopy or CT; under ultrasound the facet and transforaminal
    # injections are Category III codes (RULES.md section 2). RFA has no ultrasound code: NEC010 says so.
    modality = (
        "ultrasound" if proc.imaging == "ultrasound" and has_ultrasound_codes(ctx, fam) else "fluoroscopy_ct"
    )
    out: list[Service] = []
    for region, items in side_levels(procs, indices, joints=joints).items():
        if proc.family is Family.FACET_JOINT:
            # level codes: first, second, third-and-further (once, whatever the number of further levels)
            for rank, chunk in ((1, items[:1]), (2, items[1:2]), (3, items[2:])):
                if not chunk:
                    continue
                sides = frozenset().union(*(s for _, s in chunk))
                code = code_for(ctx.reference, family=fam, region=region, level=rank, guidance=modality)
                out.append(Service(code, 1, _SIDE_NAME[sides], list(extra), fam, index))
            continue
        first = code_for(ctx.reference, family=fam, region=region, level=1, guidance=modality)
        out.append(Service(first, 1, _SIDE_NAME[items[0][1]], list(extra), fam, index))
        if len(items) > 1:
            addon = code_for(ctx.reference, family=fam, region=region, level="each", guidance=modality)
            for side, units in _units_by_side(items[1:]):
                out.append(Service(addon, units, side, list(extra), fam, index))
    return out


def has_ultrasound_codes(ctx: CodingContext, family: str) -> bool:
    return any(c.guidance == "ultrasound" for c in ctx.reference.codes_by_family.get(family, ()))


def code_one(proc: Procedure, index: int, ctx: CodingContext) -> list[Service]:
    """A single documented entry of a level family (the coder's per-family interface)."""
    return code_session([proc], [index], ctx)
