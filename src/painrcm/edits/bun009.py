from collections.abc import Iterator
from datetime import date

from painrcm.edits.base import ClaimContext, Edit, Hit, Outcome, Skip
from painrcm.model import Family, Procedure, Severity

_REGION_GROUP = {
    "cervical": "cervical_thoracic",
    "thoracic": "cervical_thoracic",
    "lumbar": "lumbar_sacral",
    "sacral": "lumbar_sacral",
}
_LABEL = {"cervical_thoracic": "cervical/thoracic", "lumbar_sacral": "lumbar/sacral"}

EDIT = Edit(
    id="BUN009",
    severity=Severity.WARNING,
    applies_when=("family:facet_joint+family:radiofrequency_ablation",),
    title="Diagnostic block and ablation of the same region on one date",
    what="Finds a diagnostic facet joint injection or medial branch block (64490-64495, documented as "
    "diagnostic) billed on the same date as radiofrequency ablation (64633-64636) of the same spinal region.",
    why="A diagnostic block is done to decide whether ablation is worth doing; doing both in one session "
    "means the block decided nothing. Payers deny or recoup the block, and question whether the ablation met "
    "its prerequisite of earlier successful blocks.",
    example={
        "diagnoses": ["M47.816"],
        "procedures": [
            {
                "family": "facet_joint",
                "region": "lumbar",
                "target": "medial_branch",
                "purpose": "diagnostic",
                "levels": ["L4-L5"],
                "laterality": "right",
                "imaging": "fluoroscopy",
                "images_stored": True,
                "medications": ["bupivacaine 0.5% 0.5 mL"],
                "relief_percent": 85,
            },
            {
                "family": "radiofrequency_ablation",
                "region": "lumbar",
                "levels": ["L4-L5"],
                "laterality": "right",
                "imaging": "fluoroscopy",
                "images_stored": True,
                "medications": ["lidocaine 2% 1 mL"],
            },
        ],
        "lines": [
            {"code": "64635", "modifiers": ["RT"], "units": 1, "diagnosis_pointers": [1]},
            {"code": "64493", "modifiers": ["RT", "KX"], "units": 1, "diagnosis_pointers": [1]},
        ],
    },
    fixed={
        "diagnoses": ["M47.816"],
        "procedures": [
            {
                "family": "radiofrequency_ablation",
                "region": "lumbar",
                "levels": ["L4-L5"],
                "laterality": "right",
                "imaging": "fluoroscopy",
                "images_stored": True,
                "medications": ["lidocaine 2% 1 mL"],
            },
        ],
        "lines": [{"code": "64635", "modifiers": ["RT"], "units": 1, "diagnosis_pointers": [1]}],
    },
    example_note="A right L4-L5 medial branch block and a right L4-L5 ablation billed for the same visit.",
    sources=[
        "RULES.md sections 8 and 10 (diagnostic blocks before RFA; reading the purpose)",
        "Noridian JF facet joint intervention Q&A (diagnostic blocks and RFA)",
    ],
)


def _purposes(ctx: ClaimContext, region: str) -> set[str | None]:
    """Documented purposes of the facet procedures of `region` (None: purpose not documented)."""
    procs: list[Procedure] = [p for p in ctx.procedures if p.family == Family.FACET_JOINT]
    matching = [p for p in procs if p.region is not None and _REGION_GROUP.get(p.region) == region]
    if not matching:
        matching = [p for p in procs if p.region is None]
    return {p.purpose for p in matching}


@EDIT.check
def check(ctx: ClaimContext) -> Iterator[Outcome]:
    facets: dict[tuple[date, str], list[int]] = {}
    rfas: dict[tuple[date, str], list[int]] = {}
    for i, _, info in ctx.indexed():
        if info is None or info.region is None:
            continue
        if info.family == Family.FACET_JOINT.value:
            facets.setdefault((ctx.line_dos(i), info.region), []).append(i)
        elif info.family == Family.RADIOFREQUENCY_ABLATION.value:
            rfas.setdefault((ctx.line_dos(i), info.region), []).append(i)
    for key, idx in facets.items():
        if key not in rfas:
            continue
        day, region = key
        i, j = idx[0], rfas[key][0]
        codes = f"{ctx.lines[i].code} (line {i + 1}) and {ctx.lines[j].code} (line {j + 1})"
        if not ctx.documented or day != ctx.dos:
            yield Skip(
                f"{codes}: the purpose of the facet block (diagnostic or therapeutic) is not documented "
                "for that date"
            )
            continue
        purposes = _purposes(ctx, region)
        if "diagnostic" in purposes:
            yield Hit(
                f"Diagnostic facet/medial branch block {ctx.lines[i].code} (line {i + 1}) and ablation "
                f"{ctx.lines[j].code} (line {j + 1}) of the {_LABEL[region]} spine are billed on the same date "
                f"({day.isoformat()}); a diagnostic block belongs to a session before the ablation decision and "
                "is likely to be denied or recouped.",
                line=i,
                fix="Check the note: bill the block only if it was a separate, earlier session's work; otherwise "
                "remove it.",
            )
        elif not purposes or None in purposes:
            yield Skip(
                f"{codes}: the note does not document whether the {_LABEL[region]} facet block was "
                "diagnostic or therapeutic"
            )
