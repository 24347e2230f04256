from collections.abc import Iterator

from painrcm.edits._examples_history import RFA_CLAIM, mbb
from painrcm.edits.base import ClaimContext, Edit, Hit, Outcome, Skip
from painrcm.edits.frequency import claim_services, history_services
from painrcm.model import Severity

EDIT = Edit(
    id="NEC001",
    severity=Severity.ERROR,
    title="Radiofrequency ablation without two qualifying diagnostic blocks",
    what="For an RFA, looks for the payer's number of earlier diagnostic medial branch blocks (2 by default) "
    "of the same region, at any practice, each with documented relief at or above the payer's threshold "
    "(Medicare 80%, commercial default 50%). A block whose relief is not documented cannot qualify; when "
    "such blocks are what keeps the edit from deciding, it reports the RFA as not checked instead of "
    "passing or failing it.",
    why="Payers cover facet nerve ablation only when two diagnostic blocks proved the facet joints are the "
    "pain source. Without them the ablation, the most expensive line on the claim, is denied.",
    example=RFA_CLAIM,
    fixed=RFA_CLAIM,
    example_context={"history": [mbb("B-1", "2026-01-05", 85), mbb("B-2", "2026-01-26", 60)]},
    fixed_context={"history": [mbb("B-1", "2026-01-05", 85), mbb("B-2", "2026-01-26", 90)]},
    example_note="The second block gave 60% relief, below Medicare's 80%: only one block qualifies.",
    sources=[
        "RULES.md section 8 (two blocks, relief thresholds) and section 10",
        "Noridian JF facet joint intervention Q&A",
    ],
)


@EDIT.check
def check(ctx: ClaimContext) -> Iterator[Outcome]:
    need = ctx.policy.relief.rfa_blocks_required
    threshold = ctx.policy.relief.rfa_diagnostic_block_percent
    regions = {s.region for s in claim_services(ctx) if s.family == "radiofrequency_ablation"}
    for region in sorted(regions, key=str):
        blocks = [
            h
            for h in history_services(ctx, None, ctx.dos)
            if h.family == "facet_joint"
            and h.region == region
            and h.date < ctx.dos
            and h.target != "intraarticular"
            and h.purpose != "therapeutic"
        ]
        # One block per date: the same session recorded twice (note and 837) is still one block.
        qualifying_dates = {
            b.date for b in blocks if b.purpose == "diagnostic" and (b.relief_percent or 0) >= threshold
        }
        qualifying = sorted(qualifying_dates)
        undecided_by_date = {
            b.date: b
            for b in blocks
            if b.date not in qualifying_dates
            and (b.purpose is None or (b.purpose == "diagnostic" and b.relief_percent is None))
        }
        undecided = [undecided_by_date[d] for d in sorted(undecided_by_date)]
        if len(qualifying) >= need:
            continue
        if len(qualifying) + len(undecided) >= need:
            yield Skip(
                f"{len(undecided)} earlier block(s) ({', '.join(b.date.isoformat() for b in undecided)}) have no "
                "documented relief or purpose; relief must be documented for a block to qualify"
            )
            continue
        low = [
            b
            for b in blocks
            if b.purpose == "diagnostic" and b.relief_percent is not None and b.relief_percent < threshold
        ]
        detail = "; ".join(f"{b.date.isoformat()} relief {b.relief_percent:g}%" for b in low)
        yield Hit(
            f"The RFA needs {need} earlier diagnostic medial branch blocks of this region with at least "
            f"{threshold:g}% relief; history has {len(qualifying)}"
            + (f" (below the threshold: {detail})" if detail else "")
            + ".",
            line=next(
                (
                    i
                    for i, _, info in ctx.indexed()
                    if info and info.family == "radiofrequency_ablation" and info.region == region
                ),
                None,
            ),
            fix="Do not bill the RFA until two qualifying blocks are documented; add the missing block "
            "records (with relief) if they were done elsewhere.",
        )
