"""What the history edits share: rolling windows, this claim's sessions, and the limit check.

Rolling window (RULES.md section 6): a session counts when its date is after the same calendar
date one window earlier, up to and including the date of service; the claim itself counts. Over the
limit is the limit's edit (error); reaching it exactly is FRQ090 with the date the next session
becomes payable (the oldest counted session's date plus one window).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from painrcm.dates import add_months, first_day_outside
from painrcm.edits.base import ClaimContext, Hit, Skip
from painrcm.edits.words import REGION_SHORT
from painrcm.history import Service
from painrcm.history.limits import session_dates
from painrcm.policy.schema import FrequencyLimit


def claim_services(ctx: ClaimContext) -> list[Service]:
    """This claim's own sessions, as history would record them."""
    return ctx.own_services


def history_services(
    ctx: ClaimContext, start: date | None, end: date | None, family: str | None = None
) -> list[Service]:
    """The patient's earlier services with start < date <= end (of `family` only, when given)."""
    # the scrubber runs the history edits only when a history was given (scrub.py)
    assert ctx.history is not None
    return ctx.past_services(start, end, family)


def applies(limit: FrequencyLimit, s: Service) -> bool:
    if s.family not in limit.families:
        return False
    return not limit.codes or any(c in limit.codes for c in s.codes)


@dataclass(slots=True)  # per claim and limit: not frozen, which costs a setattr call per field
class WindowCount:
    limit: FrequencyLimit
    region: str | None
    dates: list[date]  # distinct counted session dates, the claim's own included, oldest first
    unknown_dates: list[date]  # sessions of unknown purpose that might count
    start: date

    @property
    def count(self) -> int:
        return len(self.dates)

    @property
    def next_payable(self) -> date:
        return first_day_outside(self.dates[0], self.limit.window_months)


_COUNTS = "frequency_window_counts"


def window_counts(ctx: ClaimContext) -> list[tuple[FrequencyLimit, list[WindowCount]]]:
    """Every limit of the payer this claim has a counted session for, in policy order, with its
    counts. Counted once per claim: every limit's edit and FRQ090 ask."""
    found = ctx.memo.get(_COUNTS)
    if found is None:
        found = ctx.memo[_COUNTS] = [
            (limit, counts) for limit in _billed_limits(ctx) if (counts := list(_window_counts(ctx, limit)))
        ]
    return found


def _billed_limits(ctx: ClaimContext) -> list[FrequencyLimit]:
    """The limits this claim's own sessions may fall under. The sessions of a claim with lines are
    those of its lines' families (`services_of`), so a limit of none of them counts nothing and the
    claim's sessions are not worked out for it."""
    limits = ctx.policy.frequency
    if not limits or not ctx.lines:
        return list(limits)
    families = {info.family for info in ctx.infos if info is not None and info.family}
    return [limit for limit in limits if not families.isdisjoint(limit.families)]


def _window_counts(ctx: ClaimContext, limit: FrequencyLimit) -> Iterator[WindowCount]:
    """One count per region (or one overall) in which this claim has a session the limit covers."""
    own = [s for s in claim_services(ctx) if applies(limit, s)]
    if limit.purpose is not None:
        own_known = [s for s in own if s.purpose == limit.purpose]
        own_unknown = [s for s in own if s.purpose is None]
    else:
        own_known, own_unknown = own, []
    regions = {s.region if limit.per_region else None for s in own_known + own_unknown}
    if not regions:
        return
    # the scrubber runs the history edits only when a history was given (scrub.py)
    assert ctx.history is not None
    start = add_months(ctx.dos, -limit.window_months)
    for region in sorted(regions, key=str):
        # the past's sessions in the window (the one count `history.limits.standing` makes too),
        # then the claim's own
        known, unknown = session_dates(ctx.past, limit, region, start, ctx.dos)
        for s in own_known:
            if not limit.per_region or s.region == region:
                known.add(s.date)
        for s in own_unknown:
            if not limit.per_region or s.region == region:
                unknown.add(s.date)
        yield WindowCount(limit, region, sorted(known), sorted(unknown - known), start)


def frequency_check(ctx: ClaimContext, edit_id: str) -> list[Hit | Skip]:
    """The limit check for every policy limit reported by `edit_id`."""
    counts = window_counts(ctx)
    return list(_over_limit(ctx, edit_id, counts)) if counts else []


def _over_limit(
    ctx: ClaimContext, edit_id: str, found: list[tuple[FrequencyLimit, list[WindowCount]]]
) -> Iterator[Hit | Skip]:
    for limit, counts in found:
        if limit.edit != edit_id:
            continue
        for wc in counts:
            what = _what(limit, wc.region)
            if wc.count > limit.max:
                earlier = [d for d in wc.dates if d != ctx.dos]
                payable = first_day_outside(earlier[wc.count - limit.max - 1], limit.window_months)
                yield Hit(
                    f"This is {what} session {wc.count} in the {limit.window_months}-month window "
                    f"after {wc.start.isoformat()} (sessions on {_dates(wc.dates)}); the payer allows "
                    f"{limit.max}, so it will be denied as over the frequency limit.",
                    line=_first_line(ctx, limit, wc.region),
                    fix=f"Hold the claim: a session is payable again from {payable.isoformat()}. "
                    "Appeal only with documented medical necessity.",
                )
            elif wc.unknown_dates and wc.count + len(wc.unknown_dates) > limit.max:
                yield Skip(_unknown_reason(wc, what))


def last_session_warning(ctx: ClaimContext) -> list[Hit | Skip]:
    """FRQ090: this claim uses the last session the window allows."""
    counts = window_counts(ctx)
    return list(_at_limit(ctx, counts)) if counts else []


def _at_limit(
    ctx: ClaimContext, found: list[tuple[FrequencyLimit, list[WindowCount]]]
) -> Iterator[Hit | Skip]:
    for limit, counts in found:
        for wc in counts:
            if wc.count == limit.max and not wc.unknown_dates:
                yield Hit(
                    f"This is the last {_what(limit, wc.region)} session the payer allows in "
                    f"{limit.window_months} months ({limit.max}: {_dates(wc.dates)}). The next one is payable "
                    f"from {wc.next_payable.isoformat()}.",
                    line=_first_line(ctx, limit, wc.region),
                    fix=f"Schedule the next session on or after {wc.next_payable.isoformat()}.",
                )
            elif wc.unknown_dates and wc.count <= limit.max <= wc.count + len(wc.unknown_dates):
                yield Skip(_unknown_reason(wc, _what(limit, wc.region)))


def _unknown_reason(wc: WindowCount, what: str) -> str:
    return (
        f"{len(wc.unknown_dates)} session(s) of unknown purpose ({_dates(wc.unknown_dates)}) could change "
        f"the {what} count; their records document neither purpose nor KX"
    )


def _what(limit: FrequencyLimit, region: str | None) -> str:
    name = limit.id.replace("_", " ")
    return f"{name} ({REGION_SHORT.get(region, region)})" if limit.per_region else name


def _dates(ds: list[date]) -> str:
    return ", ".join(d.isoformat() for d in ds)


def _first_line(ctx: ClaimContext, limit: FrequencyLimit, region: str | None) -> int | None:
    for i, _, info in ctx.indexed():
        if info is None or info.family not in limit.families:
            continue
        if limit.codes and ctx.lines[i].code not in limit.codes:
            continue
        if limit.per_region and info.region != region:
            continue
        return i
    return None
