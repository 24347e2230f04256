from collections.abc import Iterator
from datetime import date

from painrcm.edits.base import ClaimContext, Edit, Hit, Outcome
from painrcm.edits.claim_facts import EARLIEST_SERVICE
from painrcm.model import Severity

EDIT = Edit(
    id="CLM003",
    severity=Severity.ERROR,
    applies_when=("odd_dos", "line_dates"),
    title="Service date in the future or not plausible",
    what="Checks the claim's and every line's date of service: not after today, and not before "
    f"{EARLIEST_SERVICE.isoformat()} (a typo such as 0001 or 2999 for the year).",
    why="A service that has not happened yet cannot be billed, and a date decades ago is past every timely "
    "filing limit: the payer rejects the claim, and a wrong year also breaks every frequency count.",
    example={"date_of_service": "2999-03-02"},
    fixed={"date_of_service": "2026-03-02"},
    example_note="The year was typed as 2999.",
    sources=["ASC X12 005010X222A1, DTP*472 (service date)", "payer timely filing rules (CMS: one year)"],
)


@EDIT.check
def check(ctx: ClaimContext) -> Iterator[Outcome]:
    today = date.today()
    enc = ctx.encounter
    seen: list[tuple[int | None, date]] = [(None, enc.date_of_service)]
    seen += [(i, ln.date_of_service) for i, ln in enumerate(ctx.lines) if ln.date_of_service is not None]
    for i, d in seen:
        where = "the claim's" if i is None else f"line {i + 1}'s"
        if d > today:
            yield Hit(
                f"{where.capitalize()} date of service {d.isoformat()} is after today: a service cannot be "
                "billed before it happens.",
                line=i,
                fix="Correct the date of service.",
            )
        elif d < EARLIEST_SERVICE:
            yield Hit(
                f"{where.capitalize()} date of service {d.isoformat()} is not plausible (before "
                f"{EARLIEST_SERVICE.isoformat()}); most likely a typo in the year.",
                line=i,
                fix="Correct the date of service.",
            )
