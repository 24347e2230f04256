from collections.abc import Iterator
from datetime import date

from painrcm.codes.tables import CodeInfo
from painrcm.edits.base import ClaimContext, Edit, FixOp, Hit, Outcome, remove
from painrcm.model import Family, Severity

EDIT = Edit(
    id="BUN003",
    severity=Severity.ERROR,
    applies_when=("family:trigger_point",),
    title="Both trigger-point codes billed on one date",
    what="Finds 20552 (one or two muscles) and 20553 (three or more muscles) billed on the same date of "
    "service. Trigger-point injections are reported with one code per session, chosen by the total number "
    "of muscles injected.",
    why="The two codes describe the same session at different sizes, so they are never paid together "
    "(NCCI edit 20553/20552, no modifier allowed): the 20552 line is denied, and billing both looks like "
    "double billing. Only the code that matches the documented muscle count is correct.",
    example={
        "diagnoses": ["M79.18"],
        "procedures": [
            {
                "family": "trigger_point",
                "muscles": ["left upper trapezius", "left levator scapulae", "left rhomboid major"],
                "medications": ["lidocaine 1% 3 mL"],
            }
        ],
        "lines": [
            {"code": "20552", "modifiers": [], "units": 1, "diagnosis_pointers": [1]},
            {"code": "20553", "modifiers": [], "units": 1, "diagnosis_pointers": [1]},
        ],
    },
    fixed={
        "diagnoses": ["M79.18"],
        "procedures": [
            {
                "family": "trigger_point",
                "muscles": ["left upper trapezius", "left levator scapulae", "left rhomboid major"],
                "medications": ["lidocaine 1% 3 mL"],
            }
        ],
        "lines": [{"code": "20553", "modifiers": [], "units": 1, "diagnosis_pointers": [1]}],
    },
    example_note="Three muscles were injected in one session: 20553 alone is correct.",
    sources=[
        "RULES.md section 2 (trigger points: one line, never both)",
        "NCCI PTP v30.1 (20553/20552, indicator 0)",
        "CPT descriptors of 20552/20553",
    ],
)


def _matches(info: CodeInfo, count: int) -> bool:
    return (info.muscles_min or 0) <= count <= (info.muscles_max if info.muscles_max is not None else 10**6)


def documented_muscle_count(ctx: ClaimContext, day: date) -> int | None:
    """Distinct muscles the note documents for trigger-point injections on `day`; None when unknown."""
    if day != ctx.dos:
        return None
    procs = [p for p in ctx.procedures if p.family == Family.TRIGGER_POINT]
    if not procs or any(not p.muscles for p in procs):
        return None
    return len({m.strip().lower() for p in procs for m in p.muscles or []})


@EDIT.check
def check(ctx: ClaimContext) -> Iterator[Outcome]:
    groups: dict[date, list[int]] = {}
    for i, _, info in ctx.indexed():
        if info is not None and info.family == "trigger_point":
            groups.setdefault(ctx.line_dos(i), []).append(i)
    for day, idx in groups.items():
        codes = sorted({ctx.lines[i].code for i in idx})
        if len(codes) < 2:
            continue
        for a in idx:
            ctx.claim("muscles", a)
            for b in idx:
                if a < b:
                    ctx.claim("pair", a, b)
        listed = " and ".join(f"{ctx.lines[i].code} (line {i + 1})" for i in idx)
        base = (
            f"{listed} are both trigger-point codes on {day.isoformat()}; one session is billed with one code "
            "by the number of muscles, so the payer denies one of them (never payable together)."
        )
        count = documented_muscle_count(ctx, day)
        keep = None
        if count is not None:
            fitting = [
                c for c in codes if (inf := ctx.reference.info(c)) is not None and _matches(inf, count)
            ]
            keep = fitting[0] if len(fitting) == 1 else None
        if keep is None:
            why = (
                "the procedure note does not document the muscles injected"
                if count is None
                else f"neither billed code matches the {count} muscle(s) documented"
            )
            yield Hit(
                f"{base} No automatic fix: {why}.",
                line=None,
                fix="Bill one line: 20552 for one or two muscles, 20553 for three or more, per the note.",
            )
            continue
        drop = [i for i in idx if ctx.lines[i].code != keep]
        ops: tuple[FixOp, ...] = tuple(remove(i) for i in drop)
        yield Hit(
            f"{base} The note documents {count} muscle(s), which is {keep}.",
            line=drop[0],
            fix=f"Keep {keep} and remove "
            + ", ".join(f"line {i + 1} ({ctx.lines[i].code})" for i in drop)
            + ".",
            ops=ops,
        )
