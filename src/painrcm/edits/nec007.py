"""NEC007: the procedure note lacks a fact its family requires (EDITS.md table)."""

from __future__ import annotations

from collections.abc import Iterator

from painrcm.edits.base import ClaimContext, Edit, Hit, Outcome, Skip
from painrcm.edits.words import family_words
from painrcm.model import Procedure, Severity

# Facts each family's note must state (EDITS.md, NEC007 table); conditional facts are added below.
REQUIRED: dict[str, tuple[str, ...]] = {
    "epidural_interlaminar": ("region", "approach", "levels", "imaging", "medications"),
    "epidural_transforaminal": ("region", "levels", "laterality", "imaging", "images_stored", "medications"),
    "facet_joint": (
        "region",
        "target",
        "purpose",
        "levels",
        "laterality",
        "imaging",
        "images_stored",
        "medications",
    ),
    "radiofrequency_ablation": ("region", "levels", "laterality", "imaging", "images_stored"),
    "sacroiliac_joint": ("laterality", "imaging", "images_stored", "medications"),
    "trigger_point": ("muscles", "medications"),
    "peripheral_nerve_block": ("nerve", "laterality", "medications"),
    "spinal_cord_stimulator": ("stage", "leads"),
}

_WORDS = {
    "region": "spinal region",
    "approach": "approach (interlaminar or caudal)",
    "levels": "levels treated",
    "laterality": "side",
    "imaging": "imaging guidance used",
    "images_stored": "whether images were stored",
    "medications": "medications injected",
    "target": "target (intra-articular or medial branch)",
    "purpose": "purpose (diagnostic or therapeutic)",
    "relief_percent": "relief obtained (percent)",
    "muscles": "muscles injected",
    "nerve": "nerve blocked",
    "stage": "stage (trial, implant, replacement, revision, removal)",
    "leads": "number of leads",
}


def missing_facts(proc: Procedure) -> list[str]:
    family = proc.family  # a StrEnum: equal to its value, and hashed alike
    facts = list(REQUIRED.get(family, ()))
    if family == "epidural_interlaminar" and proc.imaging not in (None, "none"):
        facts.append("images_stored")
    if family == "facet_joint" and proc.purpose == "diagnostic":
        facts.append("relief_percent")
    if family == "spinal_cord_stimulator":
        if proc.stage in ("replacement", "revision", "removal"):
            facts.remove("leads")  # a generator revision or removal places no leads
        if proc.stage == "trial":
            facts.append("relief_percent")
    return [f for f in facts if getattr(proc, f) in (None, "", [])]


EDIT = Edit(
    id="NEC007",
    severity=Severity.WARNING,
    title="Procedure note lacks a fact its family requires",
    what="Checks each documented procedure for the facts payers and auditors look for in the note: region, "
    "levels, side, imaging and stored images, medications, and family-specific facts (facet target and "
    "purpose, relief after a diagnostic block, muscles for trigger points, nerve for a nerve block, stage "
    "and leads for a stimulator), plus the indication for every procedure.",
    why="A claim is paid on what was billed but kept on what the record shows. When a medical review or "
    "post-payment audit asks for the note and it does not state, for example, the levels or that images "
    "were stored, the payment is taken back. Fix the note before the claim goes out.",
    example={
        "procedures": [
            {
                "family": "epidural_transforaminal",
                "region": "lumbar",
                "levels": ["L5"],
                "laterality": "right",
                "imaging": "fluoroscopy",
            }
        ]
    },
    fixed={
        "procedures": [
            {
                "family": "epidural_transforaminal",
                "region": "lumbar",
                "levels": ["L5"],
                "laterality": "right",
                "imaging": "fluoroscopy",
                "images_stored": True,
                "medications": ["dexamethasone 10 mg", "lidocaine 1% 1 mL"],
            }
        ]
    },
    example_note="The transforaminal injection note does not say whether fluoroscopic images were stored or "
    "what was injected. The corrected note records both.",
    sources=[
        "EDITS.md NEC007 (required facts by family)",
        "CONTRACTS.md section 2 (procedure facts)",
        "Medicare LCD documentation requirements for epidural and facet procedures (stored images)",
    ],
)


@EDIT.check
def check(ctx: ClaimContext) -> Iterator[Outcome]:
    if not ctx.documented:
        yield Skip("no documented procedures: there is no procedure note to check")
        return
    indication = ctx.encounter.documentation.indication
    if indication is None or not indication.strip():
        yield Hit(
            "The record gives no indication (why the procedure was done: the diagnosis, findings and "
            "failed treatment); without it the claim cannot survive a medical review.",
            fix="Document the indication for the procedure in the note.",
        )
    for n, proc in enumerate(ctx.procedures):
        missing = missing_facts(proc)
        if not missing:
            continue
        family = proc.family.value
        lines = [i for i, _ln, info in ctx.indexed() if info is not None and info.family == family]
        same_family = [p for p in ctx.procedures if p.family == proc.family]
        line = lines[0] if lines and len(same_family) == 1 else None
        words = ", ".join(_WORDS.get(f, f) for f in missing)
        where = f" (billed on line {line + 1}, {ctx.lines[line].code})" if line is not None else ""
        yield Hit(
            f"Documented procedure {n + 1}, {family_words(family)}{where}: the note does not state the "
            f"{words}. An audit of this claim would find the documentation incomplete.",
            line=line,
            fix=f"Complete the procedure note: {words}.",
        )
