"""Calendar arithmetic the rules rely on."""

from __future__ import annotations

import calendar
from datetime import date


def add_months(d: date, months: int) -> date:
    """The same calendar day `months` later (or earlier); a day the month lacks becomes its last day
    (2024-02-29 minus twelve months is 2023-02-28)."""
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))
