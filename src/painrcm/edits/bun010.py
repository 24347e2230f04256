from collections.abc import Iterator
from datetime import date

from painrcm.coder import code_procedures
from painrcm.codes.tables import CodeInfo
from painrcm.edits.base import ClaimContext, Edit, FixOp, Hit, Outcome, remove, replace
from painrcm.errors import InputError
from painrcm.model import Family, Procedure, Severity

_TEST_NAME = {"presumptive": "presumptive drug screen", "definitive": "definitive drug test"}

EDIT = Edit(
    id="BUN010",
    severity=Severity.ERROR,
    applies_when=("kind:drug_test",),
    title="More than one presumptive or definitive drug test code on one date",
    what="Finds more than one presumptive drug screen code (80305, 80306, 80307), or more than one definitive "
    "drug test code (G0480-G0483), on the same date of service: two different codes, or one code on two lines "
    "or with more than one unit. One presumptive and one definitive code on the same date are fine. The fix "
    "(with the note) bills the most complex presumptive method, and one definitive code chosen by the day's "
    "total distinct drug classes across all panels (two 7-class panels of different classes: G0481).",
    why="Each group is billed once per patient per day: the presumptive codes by the most complex method used, "
    "the definitive codes by the total number of drug classes tested. A second code of the same group is "
    "denied (NCCI edits, no modifier allowed), and several definitive codes can look like splitting one test "
    "to raise the payment.",
    example={
        "diagnoses": ["Z79.891", "G89.29"],
        "procedures": [{"family": "drug_test", "method": "presumptive_analyzer"}],
        "lines": [
            {"code": "80305", "modifiers": [], "units": 1, "diagnosis_pointers": [1]},
            {"code": "80307", "modifiers": [], "units": 1, "diagnosis_pointers": [1]},
        ],
    },
    fixed={
        "diagnoses": ["Z79.891", "G89.29"],
        "procedures": [{"family": "drug_test", "method": "presumptive_analyzer"}],
        "lines": [{"code": "80307", "modifiers": [], "units": 1, "diagnosis_pointers": [1]}],
    },
    example_note="A cup read by eye and then run on the analyzer: one presumptive code, 80307 (the method "
    "documented).",
    sources=[
        "RULES.md section 4 (drug tests)",
        "NCCI PTP v30.1 (80307/80305, G0481/G0480, indicator 0)",
        "HCPCS descriptors of G0480-G0483",
    ],
)


def _documented_code(ctx: ClaimContext, test: str, billed: list[str]) -> str | None:
    """The one billed code of `test` that the note documents; None when the note does not decide."""
    procs: list[Procedure] = [p for p in ctx.procedures if p.family == Family.DRUG_TEST]
    if test == "presumptive":
        methods = {p.method for p in procs if p.method and p.method != "definitive"}
        if len(methods) != 1:
            return None
        method = methods.pop()
        fits = [c for c in billed if (i := ctx.reference.info(c)) is not None and i.method == method]
    else:
        counts = set()
        for p in procs:
            if p.method != "definitive":
                continue
            if p.drug_classes is None:
                return None
            counts.add(p.drug_classes if isinstance(p.drug_classes, int) else len(set(p.drug_classes)))
        if len(counts) != 1:
            return None
        n = counts.pop()
        fits = [c for c in billed if (i := ctx.reference.info(c)) is not None and _classes_fit(i, n)]
    return fits[0] if len(fits) == 1 else None


def _classes_fit(info: CodeInfo, n: int) -> bool:
    return (info.classes_min or 0) <= n <= (info.classes_max if info.classes_max is not None else 10**6)


def _coded(ctx: ClaimContext, test: str) -> str | None:
    """The one code of `test` the coder makes from the note's drug tests for the day (RULES.md section 4)."""
    procs = [p for p in ctx.procedures if p.family == Family.DRUG_TEST]
    if not procs:
        return None
    try:
        lines = code_procedures(ctx.encounter, procs, ctx.reference, ctx.policy)
    except (InputError, LookupError, StopIteration, ValueError):
        return None
    codes = [ln.code for ln in lines if (i := ctx.reference.info(ln.code)) is not None and i.test == test]
    return codes[0] if len(codes) == 1 else None


@EDIT.check
def check(ctx: ClaimContext) -> Iterator[Outcome]:
    groups: dict[tuple[date, str], list[int]] = {}
    for i, _, info in ctx.indexed():
        if info is not None and info.kind == "drug_test" and info.test in _TEST_NAME:
            groups.setdefault((ctx.line_dos(i), info.test), []).append(i)
    for (day, test), idx in groups.items():
        billed = list(dict.fromkeys(ctx.lines[i].code for i in idx))
        units = sum(ctx.lines[i].units or 0 for i in idx)
        if len(billed) < 2 and units <= 1:
            continue
        for a in idx:
            ctx.claim("units", a)
            for b in idx:
                if a < b:
                    ctx.claim("pair", a, b)
        listed = ", ".join(f"{ctx.lines[i].code} (line {i + 1})" for i in idx)
        name = _TEST_NAME[test]
        if len(billed) > 1:
            base = (
                f"{listed} are all {name} codes on {day.isoformat()}; only one {name} code "
                "is paid per date, so the others will be denied."
            )
        else:
            base = (
                f"{billed[0]} is billed {units:g} times on {day.isoformat()} ({listed}); one {name} code is "
                "billed per date, chosen by "
                + ("the most complex method" if test == "presumptive" else "the day's total drug classes")
                + ", so the repeats will be denied."
            )
        keep = (
            (_coded(ctx, test) or _documented_code(ctx, test, billed))
            if ctx.documented and day == ctx.dos
            else None
        )
        if keep is None:
            rule = (
                "the most complex method used"
                if test == "presumptive"
                else "the total number of drug classes tested"
            )
            yield Hit(
                f"{base} The note does not document which one applies, so no automatic fix.",
                line=None,
                fix=f"Bill one code that matches {rule}, per the lab record, and remove the others.",
            )
            continue
        template = ctx.lines[idx[0]]
        one = template.model_copy(deep=True, update={"code": keep, "units": 1})
        ops: tuple[FixOp, ...] = (replace(idx[0], [one]), *(remove(i) for i in idx[1:]))
        yield Hit(
            f"{base} The note documents {keep} for the day.",
            line=next((i for i in idx if ctx.lines[i].code != keep), idx[1] if len(idx) > 1 else idx[0]),
            fix=f"Bill {keep} once (1 unit) in place of "
            + ", ".join(f"line {i + 1} ({ctx.lines[i].code})" for i in idx)
            + ".",
            ops=ops,
        )
