from collections.abc import Iterator

from painrcm.edits.base import ClaimContext, Edit, FixOp, Hit, Outcome, remove, set_code
from painrcm.model import Family, Severity
from painrcm.spine import region_group

# Guidance codes the "with imaging" epidural codes include (fluoroscopy or CT). Epidurography
# (72275) is a study, not guidance, and ultrasound is not part of 62321/62323.
_GUIDANCE_MODALITIES = ("fluoroscopy", "ct")
_STUDIES = ("72275",)

EDIT = Edit(
    id="BUN002",
    severity=Severity.ERROR,
    applies_when=("kind:imaging+imaging:without",),
    title="Fluoroscopy billed with a 'no imaging' interlaminar epidural code",
    what="Finds fluoroscopic or CT guidance (77003, 77002, 77012) billed on the same date as an "
    "interlaminar or caudal epidural code that means 'without imaging' (62320, 62322).",
    why="Since 2017 the interlaminar epidural codes come in two versions: 62320/62322 when no imaging is "
    "used and 62321/62323 when fluoroscopy or CT is used, with the guidance included. Billing the 'no imaging' "
    "code plus a separate guidance code is the old way: the guidance line is denied, and Medicare does not "
    "cover 62320/62322 at all, so the whole service goes unpaid.",
    example={
        "diagnoses": ["M54.16", "M51.16"],
        "procedures": [
            {
                "family": "epidural_interlaminar",
                "region": "lumbar",
                "approach": "interlaminar",
                "levels": ["L5-S1"],
                "imaging": "fluoroscopy",
                "images_stored": True,
                "medications": ["triamcinolone 80 mg"],
            }
        ],
        "lines": [
            {"code": "62322", "modifiers": [], "units": 1, "diagnosis_pointers": [1, 2]},
            {"code": "77003", "modifiers": [], "units": 1, "diagnosis_pointers": [1]},
        ],
    },
    fixed={
        "diagnoses": ["M54.16", "M51.16"],
        "procedures": [
            {
                "family": "epidural_interlaminar",
                "region": "lumbar",
                "approach": "interlaminar",
                "levels": ["L5-S1"],
                "imaging": "fluoroscopy",
                "images_stored": True,
                "medications": ["triamcinolone 80 mg"],
            }
        ],
        "lines": [{"code": "62323", "modifiers": [], "units": 1, "diagnosis_pointers": [1, 2]}],
    },
    example_note="A lumbar interlaminar epidural under fluoroscopy was billed the pre-2017 way, 62322 + 77003; "
    "the correct single line is 62323.",
    sources=[
        "RULES.md section 2 (77003 with 62320/62322 is BUN002)",
        "CPT 2017 epidural code revisions",
        "NCCI PTP v30.1 (62322/77003)",
    ],
)


def _note_says_no_imaging(ctx: ClaimContext, epidural_region: str | None) -> bool | None:
    """True when the note documents the interlaminar epidural without imaging, False when with it,
    None when the note does not say (no documented interlaminar epidural, or imaging absent)."""
    procs = [p for p in ctx.procedures if p.family == Family.EPIDURAL_INTERLAMINAR]
    if epidural_region is not None:
        regional = [p for p in procs if p.region is None or region_group(p.region) == epidural_region]
        procs = regional or procs
    facts = {p.imaging for p in procs if p.imaging is not None}
    if not facts:
        return None
    if facts == {"none"}:
        return True
    if "none" not in facts:
        return False
    return None


@EDIT.check
def check(ctx: ClaimContext) -> Iterator[Outcome]:
    for j, line, info in ctx.indexed():
        if info is None or info.imaging != "without" or not info.with_imaging:
            continue
        guidance = [
            i
            for i, other, oinfo in ctx.indexed()
            if oinfo is not None
            and oinfo.kind == "imaging"
            and oinfo.modality in _GUIDANCE_MODALITIES
            and other.code not in _STUDIES
            and ctx.same_day(i, j)
        ]
        if not guidance:
            continue
        for i in guidance:
            ctx.claim("pair", min(i, j), max(i, j))
        ctx.claim("coverage", j)
        with_code = info.with_imaging
        names = ", ".join(f"{ctx.lines[i].code} (line {i + 1})" for i in guidance)
        message = (
            f"{line.code} (line {j + 1}) is the interlaminar epidural code for an injection done without "
            f"imaging, but imaging guidance {names} is billed with it. When fluoroscopy or CT is used the "
            f"correct code is {with_code}, which includes the guidance; as billed the guidance is denied as "
            f"unbundled and payers such as Medicare do not cover {line.code}."
        )
        documented = ctx.line_dos(j) == ctx.dos and ctx.documented
        no_imaging = _note_says_no_imaging(ctx, info.region) if documented else None
        if no_imaging:
            yield Hit(
                message + " The procedure note documents no imaging, so the guidance line contradicts it.",
                line=j,
                fix=f"Check the note: if imaging was used, bill {with_code} alone; if not, remove "
                f"{names} and keep {line.code}.",
            )
            continue
        ops: tuple[FixOp, ...] = (set_code(j, with_code), *(remove(i) for i in guidance))
        yield Hit(
            message,
            line=j,
            fix=f"Replace line {j + 1} with {with_code} and remove {names}.",
            ops=ops,
        )
