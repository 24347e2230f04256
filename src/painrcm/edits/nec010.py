"""NEC010: an imaging-inclusive code billed, but the note documents no imaging guidance."""

from __future__ import annotations

from collections.abc import Iterator

from painrcm.codes.tables import CodeInfo
from painrcm.edits.base import ClaimContext, Edit, Hit, Outcome, Skip, set_code
from painrcm.edits.words import REGION_WORDS, family_words
from painrcm.model import Procedure, Severity

# The imaging a code includes, by its code-table `guidance` fact: fluoroscopy or CT for 62321/62323, the
# transforaminal, facet and RFA codes, 64451 and 64625; ultrasound for the Category III codes and 20604/
# 20606/20611. A code without the fact counts any documented imaging.
_GUIDANCE: dict[str, tuple[str, ...]] = {
    "fluoroscopy_ct": ("fluoroscopy", "ct"),
    "ultrasound": ("ultrasound",),
}


def _no_imaging(proc: Procedure, info: CodeInfo) -> bool | None:
    """True when the note says no imaging of the code's kind was used, False when it was, None when unknown."""
    if proc.imaging is None:
        return None
    if proc.imaging == "none":
        return True
    allowed = _GUIDANCE.get(info.guidance or "")
    return allowed is not None and proc.imaging not in allowed


def _twin(ctx: ClaimContext, info: CodeInfo, imaging: set[str]) -> str | None:
    """The code of the same family, region and level for the documented imaging: the 'without imaging'
    code, or the code of the other guidance kind (64493 <-> 0216T)."""
    if imaging == {"none"}:
        return info.without_imaging
    kinds = {k for k, mods in _GUIDANCE.items() if imaging and imaging <= set(mods)}
    if len(kinds) != 1:
        return None
    kind = kinds.pop()
    hits = [
        c.code
        for c in ctx.reference.codes.values()
        if c.family == info.family
        and c.region == info.region
        and c.level == info.level
        and c.guidance == kind
        and c.kind == "procedure"
        and c.code != info.code
        and (c.joint == info.joint)
    ]
    return hits[0] if len(hits) == 1 else None


EDIT = Edit(
    id="NEC010",
    severity=Severity.ERROR,
    applies_when=("imaging:included",),
    title="Imaging-inclusive code billed, but no imaging (or imaging of another kind) documented",
    what="For codes whose descriptor includes imaging guidance, checks that the documented procedure of that "
    "family used imaging of the code's kind: 62321/62323, the transforaminal, facet and RFA codes, 64451 and "
    "64625 need fluoroscopy or CT (under ultrasound the facet and transforaminal injections are the Category "
    "III codes 0213T-0218T and 0228T-0231T); the Category III codes and 20604/20606/20611 need ultrasound.",
    why="The imaging is part of what these codes pay for. Billing the 'with imaging' code for a procedure "
    "done without guidance, or 64493/64483 for an ultrasound-guided injection, misrepresents the service: it is denied on review or recovered on audit. Where a 'without "
    "imaging' code exists (62320, 62322), that is the right code; where none exists the procedure as "
    "documented does not meet the code's definition.",
    example={
        "payer": {"id": "ACME-HEALTH", "plan": "commercial", "state": "CA"},
        "authorization_number": "PA-10021",
        "diagnoses": ["M54.16", "M51.16"],
        "procedures": [
            {
                "family": "epidural_interlaminar",
                "region": "lumbar",
                "approach": "interlaminar",
                "levels": ["L5-S1"],
                "imaging": "none",
                "medications": ["triamcinolone 80 mg"],
            }
        ],
        "lines": [{"code": "62323", "modifiers": [], "units": 1, "diagnosis_pointers": [1, 2]}],
    },
    fixed={
        "payer": {"id": "ACME-HEALTH", "plan": "commercial", "state": "CA"},
        "authorization_number": "PA-10021",
        "diagnoses": ["M54.16", "M51.16"],
        "procedures": [
            {
                "family": "epidural_interlaminar",
                "region": "lumbar",
                "approach": "interlaminar",
                "levels": ["L5-S1"],
                "imaging": "none",
                "medications": ["triamcinolone 80 mg"],
            }
        ],
        "lines": [{"code": "62322", "modifiers": [], "units": 1, "diagnosis_pointers": [1, 2]}],
    },
    example_note="A lumbar interlaminar epidural done by loss of resistance without fluoroscopy, billed as "
    "62323 (with imaging) to a commercial payer. The fix swaps it for 62322 (without imaging).",
    sources=[
        "RULES.md section 2 (codes by procedure, imaging)",
        "CPT 62320-62323 descriptors",
        "EDITS.md NEC010",
    ],
)


@EDIT.check
def check(ctx: ClaimContext) -> Iterator[Outcome]:
    dos, dates = ctx.dos, ctx.dates
    rows = [
        (i, info, info.family)
        for i, _ln, info in ctx.indexed()
        if info is not None and info.imaging == "included" and info.family and dates[i] == dos
    ]
    if not rows:
        return
    if not ctx.documented:
        yield Skip("no documented procedures: whether imaging was used is unknown")
        return
    procs, families, regions = ctx.procedures, ctx.procedure_families, ctx.procedure_region_groups
    for i, info, family in rows:
        line = ctx.lines[i]
        # the documented entries of the line's family: those of its region (or of no given region), if any
        line_region = info.region
        of_family: list[int] = []
        regional: list[int] = []
        for k, f in enumerate(families):
            if f == family:
                of_family.append(k)
                if line_region and ((r := regions[k]) is None or line_region in r):
                    regional.append(k)
        if not of_family:
            continue  # the note documents another procedure: NEC009
        same = [procs[k] for k in (regional or of_family)]
        states = [_no_imaging(p, info) for p in same]  # each True, False or None
        if False in states:
            continue
        if None in states:
            yield Skip(f"line {i + 1} ({line.code}): the note does not say whether imaging guidance was used")
            continue
        used = sorted({str(p.imaging) for p in same if p.imaging != "none"})
        documented = "without imaging guidance" if not used else f"with {' or '.join(used)} guidance only"
        region = f" {REGION_WORDS[info.region]}" if info.region else ""
        twin = _twin(ctx, info, {str(p.imaging) for p in same})
        twin_info = ctx.reference.info(twin) if twin else None
        kind = (
            "ultrasound"
            if info.guidance == "ultrasound"
            else "fluoroscopy or CT"
            if info.guidance
            else "imaging"
        )
        msg = (
            f"Line {i + 1}: {line.code} includes {kind} guidance, but the note documents the{region} "
            f"{family_words(family)} {documented}"
        )
        if twin and twin_info is not None:
            what = "without imaging" if twin == info.without_imaging else f"under {' or '.join(used)}"
            yield Hit(
                msg
                + f"; the code for this procedure {what} is {twin}. As billed it misrepresents the service "
                "and will be denied or recovered on review.",
                line=i,
                fix=f"Change line {i + 1} from {line.code} to {twin} ({what}).",
                ops=(set_code(i, twin),),
            )
        else:
            yield Hit(
                msg + f". {line.code} requires {kind} guidance and there is no code for the procedure as "
                "documented here, so it does not meet the code's definition and will be denied.",
                line=i,
                fix="Check the procedure note: if the code's guidance was used, document it; otherwise this "
                "procedure cannot be billed with this code.",
            )
