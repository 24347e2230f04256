"""One truth for counts (issue 9): what "a claim with errors" is, for every card, chart, badge and
table of the workspace.

A claim's *effective status* is the status of its latest scrub run counting only the findings nobody
overrode: a claim whose every error was overridden with a reason is no longer "error" (it loses its
red badge and leaves "claims with errors"), its warnings still make it "warning". The stored
``Encounter.status`` holds this effective status (``settle`` keeps it after a scrub, an override, a
fix or a new version), so every query that groups or filters by status agrees. History rows (earlier
services) are never claims to work and never counted.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_

from painrcm.store import models as m

NOT_WORKED = ("history",)
# the work statuses a claim takes (every write sets one of these, or history)
WORKED = ("open", "fixed", "overridden", "submitted")


def effective_status(run: m.ScrubRun | None) -> str:
    """error | warning | clean from the run's findings that are not overridden (unscrubbed: no run)."""
    if run is None:
        return "unscrubbed"
    open_findings = [f for f in run.findings if f.override_reason is None]
    if any(f.severity == "error" for f in open_findings):
        return "error"
    if any(f.severity == "warning" for f in open_findings):
        return "warning"
    return "clean"


def settle(row: m.Encounter, run: m.ScrubRun | None) -> None:
    """Store the claim's effective status."""
    row.status = effective_status(run)


def worked() -> Any:
    """SQL condition: the claim is one to work (not a history row), as the list of the statuses a
    claim takes, so that an index leading with the work status (ix_encounters_queue) reads the claims
    and skips the history rows, which outnumber them."""
    return m.Encounter.work_status.in_(WORKED)


def with_errors() -> Any:
    """SQL condition: "a claim with errors": worked, and its latest scrub has an error nobody overrode."""
    return and_(worked(), m.Encounter.status == "error")
