"""NEC010: an imaging-inclusive code billed, but the note documents no imaging guidance."""

from __future__ import annotations

from collections.abc import Iterator

from painrcm.edits.base import ClaimContext, Edit, Hit, Outcome, Skip, set_code
from painrcm.edits.words import REGION_WORDS, family_words
from painrcm.model import Procedure, Severity
from painrcm.spine import procedure_regions

# The "with imaging" interlaminar codes (62321/62323) mean fluoroscopy or CT; ultrasound does not count
# (the coder codes an ultrasound-guided interlaminar epidural as "without imaging").
_COUNTS_AS_IMAGING: dict[str, tuple[str, ...]] = {"epidural_interlaminar": ("fluoroscopy", "ct")}


def _no_imaging(proc: Procedure) -> bool | None:
    """True when the note says no (qualifying) imaging was used, False when it was, None when unknown."""
    if proc.imaging is None:
        return None
    if proc.imaging == "none":
        return True
    allowed = _COUNTS_AS_IMAGING.get(proc.family.value)
    return allowed is not None and proc.imaging not in allowed


EDIT = Edit(
    id="NEC010",
    severity=Severity.ERROR,
    title="Imaging-inclusive code billed, but no imaging documented",
    what="For codes whose descriptor includes imaging guidance (62321/62323 need fluoroscopy or CT; "
    "transforaminal, facet, RFA, SI joint and several nerve-block codes require it), checks that the "
    "documented procedure of that family used imaging.",
    why="The imaging is part of what these codes pay for. Billing the 'with imaging' code for a procedure "
    "done without guidance is overcoding: it is denied on review or recovered on audit. Where a 'without "
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
    rows = [
        (i, info, info.family)
        for i, _ln, info in ctx.indexed()
        if info is not None and info.imaging == "included" and info.family and ctx.line_dos(i) == ctx.dos
    ]
    if not rows:
        return
    if not ctx.documented:
        yield Skip("no documented procedures: whether imaging was used is unknown")
        return
    for i, info, family in rows:
        line = ctx.lines[i]
        same = [p for p in ctx.procedures if p.family.value == family]
        if not same:
            continue  # the note documents another procedure: NEC009
        if info.region:
            regional = [p for p in same if (r := procedure_regions(p)) is None or info.region in r]
            same = regional or same
        states = [_no_imaging(p) for p in same]
        if any(s is False for s in states):
            continue
        if any(s is None for s in states):
            yield Skip(f"line {i + 1} ({line.code}): the note does not say whether imaging guidance was used")
            continue
        used = sorted({str(p.imaging) for p in same if p.imaging != "none"})
        documented = "without imaging guidance" if not used else f"with {' or '.join(used)} guidance only"
        region = f" {REGION_WORDS[info.region]}" if info.region else ""
        twin = info.without_imaging
        twin_info = ctx.reference.info(twin) if twin else None
        msg = (
            f"Line {i + 1}: {line.code} includes imaging guidance, but the note documents the{region} "
            f"{family_words(family)} {documented}"
        )
        if twin and twin_info is not None:
            yield Hit(
                msg + f"; the code for this procedure without imaging is {twin}. As billed it will be denied "
                "or recovered on review.",
                line=i,
                fix=f"Change line {i + 1} from {line.code} to {twin} (without imaging).",
                ops=(set_code(i, twin),),
            )
        else:
            yield Hit(
                msg + f". {line.code} requires imaging guidance and has no 'without imaging' code, so the "
                "procedure as documented does not meet its definition and will be denied.",
                line=i,
                fix="Check the procedure note: if guidance was used, document it; otherwise this procedure "
                "cannot be billed with this code.",
            )
