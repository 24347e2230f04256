from collections.abc import Iterator
from datetime import timedelta

from painrcm.edits._examples_history import MBB_CLAIM, mbb
from painrcm.edits.base import ClaimContext, Edit, Hit, Outcome, Skip
from painrcm.edits.frequency import claim_services, history_services
from painrcm.model import Severity

EDIT = Edit(
    id="FRQ006",
    severity=Severity.ERROR,
    # the claim's own sessions come from its lines, or from its notes when it has none
    applies_when=("family:facet_joint", "proc:facet_joint"),
    title="Second diagnostic medial branch block too soon after the first",
    what="For a diagnostic medial branch block, finds the patient's most recent earlier diagnostic block of "
    "the same region (any practice) and checks that at least the payer's minimum interval has passed "
    "(14 days in both built-in policies).",
    why="The second confirmatory block only means something once the first one's effect is gone; payers "
    "deny a second block given sooner than the minimum interval.",
    example=MBB_CLAIM,
    fixed=MBB_CLAIM,
    example_context={"history": [mbb("H-1", "2026-02-23", 85)]},
    fixed_context={"history": [mbb("H-1", "2026-02-16", 85)]},
    example_note="The first block was on 2026-02-23, seven days before this one. Fourteen days (2026-02-16) "
    "is enough.",
    sources=["RULES.md section 6 (second diagnostic medial branch block: at least 14 days)"],
)


@EDIT.check
def check(ctx: ClaimContext) -> Iterator[Outcome]:
    days = ctx.policy.intervals.mbb_second_min_days
    if days is None:
        return
    for s in claim_services(ctx):
        if s.family != "facet_joint" or s.purpose != "diagnostic" or s.target == "intraarticular":
            continue
        earlier = [
            h
            for h in history_services(ctx, ctx.dos - timedelta(days=days), ctx.dos, "facet_joint")
            if h.family == "facet_joint"
            and h.region == s.region
            and h.date < ctx.dos
            and h.target != "intraarticular"
        ]
        too_soon = [h for h in earlier if h.purpose == "diagnostic"]
        unknown = [h for h in earlier if h.purpose is None]
        if too_soon:
            prev = too_soon[-1].date
            ok_from = prev + timedelta(days=days)
            yield Hit(
                f"A diagnostic medial branch block of the same region was done on {prev.isoformat()}, "
                f"{(ctx.dos - prev).days} days before this one; the payer wants at least {days} days between them.",
                line=next((i for i, _, info in ctx.indexed() if info and info.family == "facet_joint"), None),
                fix=f"Do the second block on or after {ok_from.isoformat()}.",
            )
        elif unknown:
            yield Skip(
                f"a facet session of unknown purpose on {unknown[-1].date.isoformat()} is within {days} days"
            )
