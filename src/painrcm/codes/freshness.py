"""Whether the loaded CMS tables are older than the claims they check (RULES.md section 4, issue 10).

NCCI and MUE are published every quarter, the physician fee schedule every year. Scrubbing a date of
service more than two quarters after the loaded NCCI or MUE edition, or in a later year than the loaded
fee schedule, checks it against pairs, limits and indicators that may have changed since. That is said
once per run (not as a finding on every claim) and points to `painrcm data import`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from painrcm.codes.tables import Reference

QUARTERS_OF_GRACE = 2
_IMPORT = {"ncci_ptp": "ptp", "mue": "mue", "mpfs": "mpfs"}


def _quarter(d: date) -> int:
    return d.year * 4 + (d.month - 1) // 3


@dataclass(frozen=True)
class AgeNotice:
    dataset: str  # ncci_ptp | mue | mpfs
    edition: str
    effective: date
    date_of_service: date  # the latest date of service of the run

    @property
    def how_old(self) -> str:
        if self.dataset == "mpfs":
            return f"is the {self.effective.year} fee schedule"
        quarters = _quarter(self.date_of_service) - _quarter(self.effective)
        return f"is {quarters} quarters older"

    def as_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "edition": self.edition,
            "effective": self.effective.isoformat(),
            "latest_date_of_service": self.date_of_service.isoformat(),
            "import": f"painrcm data import {_IMPORT[self.dataset]} FILE",
        }


def age_notices(reference: Reference, dates: Iterable[date | None]) -> list[AgeNotice]:
    """The loaded CMS tables that are too old for the latest of `dates` (empty when none is)."""
    latest = max((d for d in dates if d is not None), default=None)
    if latest is None:
        return []
    editions = reference.editions()
    out = []
    for dataset, start in reference.edition_dates().items():
        if start is None:
            continue
        if dataset == "mpfs":
            stale = latest.year > start.year
        else:
            stale = _quarter(latest) - _quarter(start) > QUARTERS_OF_GRACE
        if stale:
            out.append(AgeNotice(dataset, editions.get(dataset, ""), start, latest))
    return out


def notice_text(notices: list[AgeNotice]) -> str:
    """One paragraph for a person: which tables, how old, and the command that brings current ones."""
    if not notices:
        return ""
    tables = "; ".join(f"{n.edition} {n.how_old}" for n in notices)
    commands = "|".join(_IMPORT[n.dataset] for n in notices)
    return (
        f"the loaded CMS tables are older than the claims (latest date of service "
        f"{notices[0].date_of_service.isoformat()}): {tables}. Import CMS's current files with "
        f"`painrcm data import {commands} FILE` (`painrcm data show` lists what is loaded)."
    )


def editions_entry(reference: Reference, dates: Iterable[date | None]) -> dict[str, Any]:
    """The run's `editions` entry for JSON output: what was used, and the age notice if any."""
    notices = age_notices(reference, dates)
    return {
        "in_use": reference.editions(),
        "effective": {k: v.isoformat() if v else None for k, v in reference.edition_dates().items()},
        "notices": [n.as_dict() for n in notices],
        "message": notice_text(notices) or None,
    }
