"""Calendar arithmetic the rules rely on."""

from __future__ import annotations

import calendar
from datetime import date, timedelta


def add_months(d: date, months: int) -> date:
    """The same calendar day `months` later (or earlier); a day the month lacks becomes its last day
    (2024-02-29 minus twelve months is 2023-02-28)."""
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    day = d.day
    if day > 28:  # every month has 28 days: only the last few need the month's length
        day = min(day, calendar.monthrange(year, month)[1])
    return date(year, month, day)


def first_day_outside(session: date, months: int) -> date:
    """The first date whose rolling window of `months` no longer holds `session`.

    A window on date D holds the sessions after the same calendar date `months` earlier, so the
    session drops out on the day D with add_months(D, -months) >= session. Usually that is
    add_months(session, months); after a 29 February it is the day after (2024-02-29 -> 2025-03-01)."""
    d = add_months(session, months)
    while add_months(d, -months) < session:
        d += timedelta(days=1)
    return d
