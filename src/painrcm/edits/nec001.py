from collections.abc import Iterator
from datetime import timedelta

from painrcm.edits._examples_history import RFA_CLAIM, mbb
from painrcm.edits.base import ClaimContext, Edit, Hit, Outcome, Skip
from painrcm.edits.frequency import claim_services, history_services
from painrcm.history import Service
from painrcm.model import Severity

EDIT = Edit(
    id="NEC001",
    severity=Severity.ERROR,
    # the claim's own sessions come from its lines, or from its notes when it has none
    applies_when=("family:radiofrequency_ablation", "proc:radiofrequency_ablation"),
    title="Radiofrequency ablation without two qualifying diagnostic blocks",
    what="For an RFA, looks for the payer's number of earlier diagnostic medial branch blocks (2 by default) "
    "of the same region covering the ablated side (a bilateral block covers both) and levels, at any "
    "practice, each with documented relief at or above the payer's threshold "
    "(Medicare 80%, commercial default 50%). A block whose relief is not documented cannot qualify; when "
    "such blocks are what keeps the edit from deciding, it reports the RFA as not checked instead of "
    "passing or failing it.",
    why="Payers cover facet nerve ablation only when two diagnostic blocks proved the facet joints are the "
    "pain source. Without them the ablation, the most expensive line on the claim, is denied.",
    example=RFA_CLAIM,
    fixed=RFA_CLAIM,
    example_context={
        "history": [mbb("B-1", "2026-01-05", 85), mbb("B-2", "2026-01-26", 95, laterality="left")]
    },
    fixed_context={"history": [mbb("B-1", "2026-01-05", 85), mbb("B-2", "2026-01-26", 90)]},
    example_note="A right L4-L5/L5-S1 ablation: the second block was of the left side only, so it does not "
    "qualify the right-sided RFA (a block of the other side or of other levels never does); with a bilateral "
    "second block at 90% relief both qualify. A block below Medicare's 80% relief does not qualify either.",
    sources=[
        "RULES.md section 8 (two blocks, relief thresholds) and section 10",
        "Noridian JF facet joint intervention Q&A",
    ],
)


_DAY = timedelta(days=1)


_ANY_SITE = (("", "?", None),)


def _covering(block: Service, site: tuple[str, str]) -> tuple[bool, float | None]:
    """Whether the block covers an ablated site, and its relief there.

    A block site covers the ablated site when the sides match and the levels match (an unknown level
    or side is not held against the block: the claim-only record cannot say). The relief is the
    lowest documented at the covering sites, else the block's own."""
    level, side = site
    any_side, any_level = side == "?", level == ""
    covers = False
    relief: float | None = None
    for b_level, b_side, r in block.sites or _ANY_SITE:
        if (any_side or b_side == side or b_side == "?") and (any_level or b_level == level or b_level == ""):
            covers = True
            if r is not None and (relief is None or r < relief):
                relief = r
    return covers, block.relief_percent if relief is None else relief


def _side_word(side: str) -> str:
    return {"R": "right", "L": "left"}.get(side, "")


@EDIT.check
def check(ctx: ClaimContext) -> Iterator[Outcome]:
    need = ctx.policy.relief.rfa_blocks_required
    threshold = ctx.policy.relief.rfa_diagnostic_block_percent
    rfas = [s for s in claim_services(ctx) if s.family == "radiofrequency_ablation"]
    for region in sorted({s.region for s in rfas}, key=str):
        sites = sorted(
            {
                (lv, side)
                for s in rfas
                if s.region == region
                for lv, side, _ in (s.sites or (("", "?", None),))
            }
        )
        blocks = [
            h
            for h in history_services(ctx, None, ctx.dos - _DAY, "facet_joint")  # before the RFA's date
            if h.region == region and h.target != "intraarticular" and h.purpose != "therapeutic"
        ]
        failing: list[tuple[tuple[str, str], int, list[tuple[Service, float | None]]]] = []
        undecided_all: list[Service] = []
        for site in sites:
            # each block covering the site, with its relief there
            covering = [(b, r) for b in blocks for covers, r in (_covering(b, site),) if covers]
            # One block per date: the same session recorded twice (note and 837) is still one block.
            qualifying = {b.date for b, r in covering if b.purpose == "diagnostic" and (r or 0) >= threshold}
            undecided = {
                b.date: b
                for b, r in covering
                if b.date not in qualifying
                and (b.purpose is None or (b.purpose == "diagnostic" and r is None))
            }
            if len(qualifying) >= need:
                continue
            if len(qualifying) + len(undecided) >= need:
                undecided_all += [undecided[d] for d in sorted(undecided)]
                continue
            failing.append((site, len(qualifying), covering))
        if not failing:
            if undecided_all:
                dates = sorted({b.date.isoformat() for b in undecided_all})
                yield Skip(
                    f"{len(dates)} earlier block(s) ({', '.join(dates)}) have no documented relief or purpose; "
                    "relief must be documented for a block to qualify"
                )
            continue
        site, count, covering = failing[0]
        where = " ".join(x for x in (site[0], _side_word(site[1])) if x)
        detail = "; ".join(
            f"{b.date.isoformat()} relief {r:g}%"
            for b, r in covering
            if b.purpose == "diagnostic" and r is not None and r < threshold
        )
        yield Hit(
            f"The RFA needs {need} earlier diagnostic medial branch blocks of this region"
            + (f" covering the ablated site ({where})" if where else "")
            + f" with at least {threshold:g}% relief; history has {count}"
            + (f" (below the threshold: {detail})" if detail else "")
            + ". A block of the other side or of other levels does not qualify this ablation.",
            line=next(
                (
                    i
                    for i, _, info in ctx.indexed()
                    if info and info.family == "radiofrequency_ablation" and info.region == region
                ),
                None,
            ),
            fix="Do not bill the RFA until two qualifying blocks of the ablated side and levels are documented; "
            "add the missing block records (with relief) if they were done elsewhere.",
        )
