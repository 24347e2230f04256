from collections.abc import Iterator

from painrcm.codes.tables import DISTINCT_MODIFIERS, PtpRow
from painrcm.edits.base import ClaimContext, Edit, Hit, Outcome, add_modifier
from painrcm.model import Severity

EDIT = Edit(
    id="BUN006",
    severity=Severity.ERROR,
    applies_when=("lines:2",),
    title="NCCI pair billed without a distinct-service modifier",
    what="Finds two codes on the same date that form a CMS NCCI procedure-to-procedure pair whose modifier "
    "indicator is 1, when the column-2 (bundled) code carries no distinct-service modifier (59, XE, XS, XP, "
    "XU; for a visit in column 2, modifier 25 also counts). Example: trigger points 20553 with a lumbar facet "
    "injection 64493.",
    why="NCCI pays the column-1 code and denies the column-2 code as part of it, unless the claim shows the "
    "second service was separate (another site, structure or encounter). Without the modifier the column-2 "
    "line is denied. The modifier must be true: add it only when the note documents two separate procedures.",
    example={
        "diagnoses": ["M47.816", "M79.18"],
        "procedures": [
            {
                "family": "trigger_point",
                "muscles": ["right upper trapezius", "right levator scapulae", "right rhomboid major"],
                "medications": ["lidocaine 1% 3 mL"],
            },
            {
                "family": "facet_joint",
                "region": "lumbar",
                "target": "intraarticular",
                "purpose": "therapeutic",
                "levels": ["L4-L5"],
                "laterality": "right",
                "imaging": "fluoroscopy",
                "images_stored": True,
                "medications": ["triamcinolone 40 mg", "bupivacaine 0.5% 1 mL"],
            },
        ],
        "lines": [
            {"code": "20553", "modifiers": [], "units": 1, "diagnosis_pointers": [2]},
            {"code": "64493", "modifiers": ["RT"], "units": 1, "diagnosis_pointers": [1]},
        ],
    },
    fixed={
        "diagnoses": ["M47.816", "M79.18"],
        "procedures": [
            {
                "family": "trigger_point",
                "muscles": ["right upper trapezius", "right levator scapulae", "right rhomboid major"],
                "medications": ["lidocaine 1% 3 mL"],
            },
            {
                "family": "facet_joint",
                "region": "lumbar",
                "target": "intraarticular",
                "purpose": "therapeutic",
                "levels": ["L4-L5"],
                "laterality": "right",
                "imaging": "fluoroscopy",
                "images_stored": True,
                "medications": ["triamcinolone 40 mg", "bupivacaine 0.5% 1 mL"],
            },
        ],
        "lines": [
            {"code": "20553", "modifiers": [], "units": 1, "diagnosis_pointers": [2]},
            {"code": "64493", "modifiers": ["RT", "XS"], "units": 1, "diagnosis_pointers": [1]},
        ],
    },
    example_note="Trigger points in the neck and upper back, and a lumbar facet injection: two separate "
    "structures, so the column-2 facet line carries XS.",
    sources=[
        "RULES.md sections 3 and 4 (distinct-service modifiers, NCCI pairs)",
        "NCCI PTP v30.1 (20553/64493, indicator 1)",
        "NCCI Policy Manual ch. 1 (modifiers 59 and X{EPSU})",
    ],
)


def _bypassed(ctx: ClaimContext, j: int) -> bool:
    mods = set(ctx.lines[j].modifiers)
    if mods & DISTINCT_MODIFIERS:
        return True
    info = ctx.info(j)
    if info is None or info.kind != "em":
        return False
    if "25" in mods:
        return True
    # 57 is the visit of the decision for a 090-global procedure that day (CMS manual ch. 12 s. 30.6.6)
    return "57" in mods and any(
        ctx.same_day(j, k) and ctx.reference.global_days(ln.code) == "090" for k, ln in enumerate(ctx.lines)
    )


def _safe_modifier(ctx: ClaimContext, i: int, j: int) -> str | None:
    """The modifier to add to column-2 line j, when the note shows the two lines are separate services."""
    if not ctx.documented or ctx.line_dos(i) != ctx.dos or ctx.line_dos(j) != ctx.dos:
        return None
    info_j, info_i = ctx.info(j), ctx.info(i)
    if info_j is not None and info_j.kind == "em":
        if info_i is None or info_i.kind == "em":
            return None  # two visits on one date: a person decides which one stands
        ev = ctx.encounter.evaluation
        return "25" if ev is not None and ev.separately_identifiable is True else None
    if info_i is None or info_j is None or not info_i.family or not info_j.family:
        return None
    if info_i.family == info_j.family:
        return None
    documented = ctx.procedure_families
    if info_i.family not in documented or info_j.family not in documented:
        return None
    if (
        info_i.region is not None
        and info_i.region == info_j.region
        and not _opposite_sides(ctx, info_i.family, info_j.family)
    ):
        # Two spinal procedures in the same region (e.g. a facet block and an ablation of the lumbar spine)
        # may well be the same structure: whether they are distinct is a person's call.
        return None
    return ctx.policy.distinct_modifier.preferred


def _opposite_sides(ctx: ClaimContext, family_a: str, family_b: str) -> bool:
    pairs = list(zip(ctx.procedure_families, ctx.procedures, strict=True))
    sides_a = {p.laterality for f, p in pairs if f == family_a}
    sides_b = {p.laterality for f, p in pairs if f == family_b}
    return {frozenset(sides_a), frozenset(sides_b)} == {frozenset({"left"}), frozenset({"right"})}


@EDIT.check
def check(ctx: ClaimContext) -> Iterator[Outcome]:
    found: dict[int, list[tuple[int, PtpRow]]] = {}
    for i, j, row in ctx.same_day_ptp:
        if ctx.claimed("pair", min(i, j), max(i, j)) or row.modifier_indicator != "1" or _bypassed(ctx, j):
            continue
        found.setdefault(j, []).append((i, row))
    for j, pairs in sorted(found.items()):
        line = ctx.lines[j]
        with_ = ", ".join(f"{ctx.lines[i].code} (line {i + 1})" for i, _ in pairs)
        # the safe modifier depends on the two codes only (same date): ask once per column-1 code
        firsts = {ctx.lines[i].code: i for i, _ in reversed(pairs)}
        mods = {_safe_modifier(ctx, i, j) for i in firsts.values()}
        em = (info := ctx.info(j)) is not None and info.kind == "em"
        wanted = (
            "25" if em else f"a distinct-service modifier ({ctx.policy.distinct_modifier.preferred} or 59)"
        )
        message = (
            f"{line.code} (line {j + 1}) is bundled into {with_} under NCCI ({pairs[0][1].rationale.lower()}); "
            f"without {wanted} on line {j + 1} it will be denied as part of the other service."
        )
        if len(mods) == 1 and (mod := mods.pop()) is not None:
            yield Hit(
                message + " The note documents them as separate procedures.",
                line=j,
                fix=f"Add modifier {mod} to line {j + 1} ({line.code}).",
                ops=(add_modifier(j, mod),),
            )
        else:
            yield Hit(
                message,
                line=j,
                fix=f"If the note shows a separate site, structure or encounter, add {wanted} to line {j + 1}; "
                f"otherwise remove line {j + 1} ({line.code}).",
            )
