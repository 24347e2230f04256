from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from painrcm.codes.tables import Icd10Set, Reference, fiscal_year_of, strip_dot, with_dot
from painrcm.edits.base import ClaimContext, Edit, Hit, Outcome, Skip
from painrcm.model import Severity

EDIT = Edit(
    id="COD002",
    severity=Severity.ERROR,
    applies_when=("unbillable_dx", "diagnoses+line_dates"),
    title="Diagnosis is not a valid, billable ICD-10-CM code on the date of service",
    what="Checks every diagnosis on the claim against the ICD-10-CM code set of the fiscal year of each "
    "date of service it is used on (fiscal years start on October 1). A diagnosis must be a billable "
    "code: the most specific code of its branch, not a category or subcategory with codes below it, "
    "and it must exist in that year's code set.",
    why="Payers reject a claim whose diagnosis is a header code (such as M54.5 after 2021-10-01, when it "
    "was split into M54.50, M54.51 and M54.59), a code retired before the date of service, or a code "
    "that does not exist. The denial (CARC 146, diagnosis invalid for the date of service) holds up "
    "the whole claim until it is corrected and resubmitted.",
    example={
        "diagnoses": ["M54.5", "M54.16"],
        "lines": [{"code": "64483", "modifiers": ["RT"], "units": 1, "diagnosis_pointers": [1, 2]}],
    },
    fixed={
        "diagnoses": ["M54.50", "M54.16"],
        "lines": [{"code": "64483", "modifiers": ["RT"], "units": 1, "diagnosis_pointers": [1, 2]}],
    },
    example_note="M54.5 (low back pain) has had more specific codes below it since 2021-10-01; the note "
    "supports M54.50 (low back pain, unspecified).",
    sources=[
        "RULES.md section 8 (code validity by date)",
        "CMS ICD-10-CM code set (fiscal year files)",
        "RULES.md section 9 (CARC 146)",
    ],
)


def billable(dx: str, d: date, reference: Reference) -> bool:
    """A diagnosis the ICD-10-CM code set of `d` bills (False when none is loaded for its fiscal year:
    the check then says it could not check it)."""
    code_set = reference.icd10.set_for(d)
    return code_set is not None and strip_dot(dx) in code_set.billable


def _dates_by_diagnosis(ctx: ClaimContext) -> list[list[date]]:
    """For each claim diagnosis, the dates of service it is used on (the claim date when unused)."""
    n = len(ctx.encounter.diagnoses)
    dos = ctx.dos
    if ctx.dates.count(dos) == len(ctx.dates):
        return [
            [dos] for _ in range(n)
        ]  # every line on the claim's date: each diagnosis is used (or taken) on it
    dates: list[list[date]] = [[] for _ in range(n)]
    for i, line in enumerate(ctx.lines):
        d = ctx.line_dos(i)
        ptrs = line.diagnosis_pointers or list(range(1, n + 1))
        for p in ptrs:
            if 1 <= p <= n and d not in dates[p - 1]:
                dates[p - 1].append(d)
    for k in range(n):
        if not dates[k]:
            dates[k].append(ctx.dos)
    return dates


@EDIT.check
def check(ctx: ClaimContext) -> Iterator[Outcome]:
    icd = ctx.reference.icd10
    missing_years: dict[int, date] = {}
    sets: dict[date, Icd10Set | None] = {}  # each date's code set (the claim's dates are few)
    stripped = ctx.diagnoses  # strip_dot of each, shared with the other edits
    for k, (raw, dates) in enumerate(zip(ctx.encounter.diagnoses, _dates_by_diagnosis(ctx), strict=True)):
        dx = stripped[k]
        for d in sorted(dates):
            code_set = sets[d] if d in sets else sets.setdefault(d, icd.set_for(d))
            if code_set is None:
                missing_years.setdefault(fiscal_year_of(d), d)
                continue
            if dx in code_set.billable:
                continue
            fy = code_set.fiscal_year
            shown = with_dot(dx) if dx else repr(raw)
            children = icd.children(dx, d) if dx else []
            if dx in code_set.all_codes and children:
                why = (
                    f"it is a category with more specific codes below it in the FY{fy} code set, "
                    "and only the most specific code is billable"
                )
                fix = f"Replace {shown} with the specific code the note supports, e.g. {', '.join(children)}."
            elif children:
                why = f"it is not a code in the FY{fy} code set, though more specific codes start with it"
                fix = f"Replace {shown} with the specific code the note supports, e.g. {', '.join(children)}."
            else:
                why = (
                    f"it is not a code in the FY{fy} ICD-10-CM code set (mistyped, retired or not yet valid)"
                )
                fix = f"Correct diagnosis {k + 1} ({shown}) from the note, using a code valid on {d.isoformat()}."
            yield Hit(
                f"Diagnosis {k + 1} ({shown}) is not billable on {d.isoformat()}: {why}. "
                "The payer will reject the claim (CARC 146).",
                line=None,
                fix=fix,
                code=shown,
            )
            break  # one finding per diagnosis
    for fy, d in sorted(missing_years.items()):
        loaded = ", ".join(f"FY{y}" for y in icd.loaded_years()) or "none"
        yield Skip(
            f"no ICD-10-CM code set is loaded for FY{fy} (date of service {d.isoformat()}); "
            f"loaded fiscal years: {loaded}. Import that year's code list to check the diagnoses."
        )
