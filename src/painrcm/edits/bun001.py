from collections.abc import Iterator
from datetime import date

from painrcm.edits.base import ClaimContext, Edit, Hit, Outcome, remove
from painrcm.model import Severity

EDIT = Edit(
    id="BUN001",
    severity=Severity.ERROR,
    applies_when=("kind:imaging+imaging:included",),
    title="Imaging guidance billed with a code that includes it",
    what="Finds imaging guidance lines (77002, 77003, 77012, 76942, 72275) on the same date as a "
    "procedure whose code already includes imaging (62321, 62323, 64479-64484, 64490-64495, "
    "64633-64636, 27096, 22510-22515, 64445, 64447, 64451, 64454, 64624, 64625, 20604, 20606, 20611, the "
    "Category III ultrasound codes 0213T-0218T/0228T-0231T, and every other code the code table marks as "
    "imaging-inclusive). Codes whose imaging is billed separately (64405, 64450, 64510-64530, 62273, "
    "20600/20605/20610) are not caught.",
    why="The procedure's payment already covers the fluoroscopy, CT or ultrasound. Billing the guidance "
    "again is unbundling: the imaging line is denied, and a pattern of it draws audits.",
    example={
        "lines": [
            {"code": "64483", "modifiers": ["RT"], "units": 1, "diagnosis_pointers": [1, 2]},
            {"code": "77003", "modifiers": [], "units": 1, "diagnosis_pointers": [1]},
        ]
    },
    fixed={"lines": [{"code": "64483", "modifiers": ["RT"], "units": 1, "diagnosis_pointers": [1, 2]}]},
    sources=[
        "RULES.md section 2 (imaging guidance codes)",
        "CPT descriptors of 64479-64495 (imaging included)",
        "NCCI PTP v30.1 (64483/77003)",
    ],
)


@EDIT.check
def check(ctx: ClaimContext) -> Iterator[Outcome]:
    included: dict[date, list[int]] = {}  # per date, the lines whose code includes imaging
    for j, _, oinfo in ctx.indexed():
        if oinfo is not None and oinfo.imaging == "included":
            included.setdefault(ctx.line_dos(j), []).append(j)
    for i, line, info in ctx.indexed():
        if info is None or info.kind != "imaging":
            continue
        including = included.get(ctx.line_dos(i), [])
        if not including:
            continue
        for j in including:
            ctx.claim("pair", min(i, j), max(i, j))
        other = ctx.lines[including[0]].code
        yield Hit(
            f"Imaging guidance {line.code} is included in {other} (line {including[0] + 1}); "
            "it will be denied as unbundled.",
            line=i,
            fix=f"Remove line {i + 1} ({line.code}).",
            ops=(remove(i),),
        )
