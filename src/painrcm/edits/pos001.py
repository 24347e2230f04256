import re
from collections.abc import Iterator

from painrcm.edits.base import ClaimContext, Edit, Hit, Outcome, remove
from painrcm.model import Severity

# Codes outside painrcm's table that are drugs or supplies by the HCPCS code set's own structure:
# J-codes (drugs administered other than orally), A4xxx/A6xxx supplies, and CPT 99070 (supplies).
_DRUG_OR_SUPPLY = re.compile(r"^(J\d{4}|A[46]\d{3}|99070)$")

EDIT = Edit(
    id="POS001",
    severity=Severity.WARNING,
    applies_when=("kind:drug", "kind:supply", "kind:?"),
    title="Drug or supply on a professional claim at a facility",
    what="Finds a drug (J-code) or supply line on a physician's professional claim when the place of service "
    "is a facility where the facility bills drugs and supplies (by default POS 19, 21, 22, 23 and 24: hospital "
    "outpatient, inpatient, emergency room and ambulatory surgical center), and on an ASC facility claim for a "
    "payer that packages drugs into the procedure's payment (Medicare).",
    why="At a hospital outpatient department or surgery center the facility buys the drug and bills it on "
    "its own claim. On the physician's claim the line is denied, or paid twice and taken back on audit.",
    example={
        "place_of_service": "22",
        "drugs": [{"code": "J1100", "units": 10}],
        "lines": [
            {"code": "64483", "modifiers": ["RT"], "units": 1, "diagnosis_pointers": [1, 2]},
            {"code": "J1100", "modifiers": [], "units": 10, "diagnosis_pointers": [1]},
        ],
    },
    fixed={
        "place_of_service": "22",
        "drugs": [{"code": "J1100", "units": 10}],
        "lines": [{"code": "64483", "modifiers": ["RT"], "units": 1, "diagnosis_pointers": [1, 2]}],
    },
    example_note="A transforaminal injection in the hospital outpatient department: the hospital bills the "
    "dexamethasone, not the physician.",
    sources=[
        "RULES.md section 4 (drugs: never on a professional claim at POS 19, 21, 22, 23 or 24; packaged on a Medicare ASC facility claim)",
        "painrcm payer policies (drugs.facility_pos)",
    ],
)


def _drug_or_supply(ctx: ClaimContext, i: int) -> bool:
    info = ctx.info(i)
    if info is not None:
        return info.kind in ("drug", "supply")
    return bool(_DRUG_OR_SUPPLY.match(ctx.lines[i].code))


@EDIT.check
def check(ctx: ClaimContext) -> Iterator[Outcome]:
    if ctx.encounter.practice.kind == "asc":
        if not ctx.policy.drugs.packaged_on_asc_facility_claim:
            return
        for i, line in enumerate(ctx.lines):
            if _drug_or_supply(ctx, i):
                yield Hit(
                    f"{line.code} (line {i + 1}) is a drug or supply billed on an ASC facility claim; "
                    f"{ctx.policy.name} packages drugs into the procedure's payment, so this line will be denied.",
                    line=i,
                    fix=f"Remove line {i + 1} ({line.code}).",
                    ops=(remove(i),),
                )
        return
    if ctx.encounter.practice.kind != "physician":
        return
    facility_pos = ctx.policy.drugs.facility_pos
    for i, line in enumerate(ctx.lines):
        pos = ctx.line_pos(i)
        if pos not in facility_pos or not _drug_or_supply(ctx, i):
            continue
        place = ctx.reference.places.get(pos, {}).get("name", "a facility")
        yield Hit(
            f"{line.code} (line {i + 1}) is a drug or supply billed on the physician's claim at place of service "
            f"{pos} ({place}); the facility bills it, so this line will be denied.",
            line=i,
            fix=f"Remove line {i + 1} ({line.code}).",
            ops=(remove(i),),
        )
