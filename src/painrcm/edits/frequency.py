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
from painrcm.policy.schema import FrequencyLimit, Policy


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
            (limit, counts) for limit in _billed_limits(ctx) if (counts := _window_counts(ctx, limit))
        ]
    return found


# policy -> (the policy, each family's limits in policy order): worked out once per policy, not per
# claim (the policy is kept so that its id is not reused while the entry lives)
_LIMITS_BY_FAMILY: dict[int, tuple[Policy, dict[str, tuple[FrequencyLimit, ...]]]] = {}


def _limits_by_family(policy: Policy) -> dict[str, tuple[FrequencyLimit, ...]]:
    found = _LIMITS_BY_FAMILY.get(id(policy))
    if found is None or found[0] is not policy:
        if len(_LIMITS_BY_FAMILY) > 64:
            _LIMITS_BY_FAMILY.clear()  # policies are few; stay bounded whatever is loaded
        table: dict[str, tuple[FrequencyLimit, ...]] = {}
        for family in {f for limit in policy.frequency for f in limit.families}:
            table[family] = tuple(limit for limit in policy.frequency if family in limit.families)
        found = _LIMITS_BY_FAMILY[id(policy)] = (policy, table)
    return found[1]


def _billed_limits(ctx: ClaimContext) -> list[FrequencyLimit]:
    """The limits this claim's own sessions may fall under. The sessions of a claim with lines are
    those of its lines' families (`services_of`), so a limit of none of them counts nothing and the
    claim's sessions are not worked out for it."""
    limits = ctx.policy.frequency
    if not limits or not ctx.lines:
        return list(limits)
    table = _limits_by_family(ctx.policy)
    found = {
        id(limit): limit
        for info in ctx.infos
        if info is not None and info.family
        for limit in table.get(info.family, ())
    }
    if len(found) < 2:
        return list(found.values())
    return [limit for limit in limits if id(limit) in found]


def _window_counts(ctx: ClaimContext, limit: FrequencyLimit) -> list[WindowCount]:
    """One count per region (or one overall) in which this claim has a session the limit covers."""
    families, codes, purpose, per_region = limit.families, limit.codes, limit.purpose, limit.per_region
    # this claim's own session dates the limit counts, and those of unknown purpose, by region
    own_known: dict[str | None, set[date]] = {}
    own_unknown: dict[str | None, set[date]] = {}
    for s in claim_services(ctx):
        if s.family not in families or (codes and not any(c in codes for c in s.codes)):
            continue
        region = s.region if per_region else None
        if purpose is None or s.purpose == purpose:
            own_known.setdefault(region, set()).add(s.date)
        elif s.purpose is None:
            own_unknown.setdefault(region, set()).add(s.date)
    if not own_known and not own_unknown:
        return []
    # the scrubber runs the history edits only when a history was given (scrub.py)
    assert ctx.history is not None
    dos = ctx.dos
    start = add_months(dos, -limit.window_months)
    out = []
    for region in sorted(own_known.keys() | own_unknown.keys(), key=str):
        # the past's sessions in the window (the one count `history.limits.standing` makes too),
        # then the claim's own
        known, unknown = session_dates(ctx.past, limit, region, start, dos)
        known.update(own_known.get(region, ()))
        unknown.update(own_unknown.get(region, ()))
        out.append(WindowCount(limit, region, sorted(known), sorted(unknown - known), start))
    return out


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
            if wc.count > limit.max:
                what = _what(limit, wc.region)
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
                yield Skip(_unknown_reason(wc, _what(limit, wc.region)))


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
