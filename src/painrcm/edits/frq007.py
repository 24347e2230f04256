from collections.abc import Iterator
from typing import Any

from painrcm.dates import add_months
from painrcm.edits._examples_history import RFA_CLAIM, line, mbb, visit
from painrcm.edits.base import ClaimContext, Edit, Hit, Outcome
from painrcm.edits.frequency import claim_services, history_services
from painrcm.history import Service
from painrcm.model import Severity


def _rfa(eid: str, when: str, side: str = "RT") -> dict[str, Any]:
    return visit(eid, when, line("64635", side), line("64636", side), diagnoses=["M47.816"])


EDIT = Edit(
    id="FRQ007",
    severity=Severity.ERROR,
    # the claim's own sessions come from its lines, or from its notes when it has none
    applies_when=("family:radiofrequency_ablation", "proc:radiofrequency_ablation"),
    title="Radiofrequency ablation repeated at the same anatomic site too soon",
    what="Finds the patient's most recent earlier radiofrequency ablation of the same anatomic site (any "
    "practice): same region, a side in common (a bilateral RFA covers both sides) and a level in common, and "
    "checks that the payer's minimum interval has passed (6 months in both built-in policies: the same "
    "calendar day six months later is the first allowed date). A staged contralateral RFA (one side, then "
    "the other a week or two later) is not a repeat. SI joint (64625) and genicular (64624) ablations are "
    "families of their own.",
    why="A repeat ablation is covered only after the previous one has given lasting relief; payers deny a "
    "repeat sooner than six months.",
    example=RFA_CLAIM,
    fixed=RFA_CLAIM,
    example_context={
        "history": [mbb("B-1", "2025-07-01", 85), mbb("B-2", "2025-07-20", 90), _rfa("R-1", "2025-10-15")]
    },
    fixed_context={
        "history": [
            mbb("B-1", "2025-07-01", 85),
            mbb("B-2", "2025-07-20", 90),
            _rfa("R-1", "2025-09-02"),
            _rfa("R-2", "2026-02-16", "LT"),
        ]
    },
    example_note="The last lumbar ablation was on 2025-10-15; a repeat is allowed from 2026-04-15. "
    "After one on 2025-09-02 the repeat on 2026-03-02 is exactly six months later and allowed, and the left "
    "side ablated on 2026-02-16 (a staged contralateral RFA) is another site.",
    sources=["RULES.md section 6 (RFA repeated at the same region: at least 6 months)"],
)


def same_site(a: Service, b: Service) -> bool:
    """The same anatomic site: a side in common (a bilateral RFA covers both) and a level in common
    (unknown sides or levels are taken as shared). A staged contralateral RFA is another site."""
    for la, sa, _ in a.sites or (("", "?", None),):
        for lb, sb, _ in b.sites or (("", "?", None),):
            if ("?" in (sa, sb) or sa == sb) and ("" in (la, lb) or la == lb):
                return True
    return False


@EDIT.check
def check(ctx: ClaimContext) -> Iterator[Outcome]:
    months = ctx.policy.intervals.rfa_repeat_min_months
    if months is None:
        return
    for s in claim_services(ctx):
        if s.family != "radiofrequency_ablation":
            continue
        prev = [
            h
            for h in history_services(ctx, add_months(ctx.dos, -months), ctx.dos, "radiofrequency_ablation")
            if h.family == "radiofrequency_ablation" and h.region == s.region and h.date < ctx.dos
        ]
        prev = [h for h in prev if add_months(h.date, months) > ctx.dos and same_site(h, s)]
        if prev:
            last = prev[-1].date
            yield Hit(
                f"This site (region, side and level) was ablated on {last.isoformat()}; the payer pays a repeat ablation only from "
                f"{add_months(last, months).isoformat()} ({months} months later).",
                line=next(
                    (
                        i
                        for i, _, info in ctx.indexed()
                        if info and info.family == "radiofrequency_ablation" and info.region == s.region
                    ),
                    None,
                ),
                fix=f"Schedule the repeat on or after {add_months(last, months).isoformat()}.",
            )
