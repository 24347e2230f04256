"""The work queues a biller works all day: claims, denials, authorizations, underpayments.

One row shape for the four (``QueueRow``), one filter set (``QueueFilters``: practice, payer, code, edit,
reason, status, assignee, age, due), one sort, assignment to a user and bulk status change. Due dates
come from the payer policy (``deadlines`` in the policy files, see docs/payers.md): a claim not yet
submitted is due `timely_filing_days` after its date of service; a denial or underpayment still being
worked is due `appeal_days` after the remittance date; an authorization is due when it ends.

Scoped through ``painrcm.store.scope`` like every other read; listing patients is audited (IDs only).
"""

from painrcm.store.queues.core import (
    KINDS,
    STATUSES,
    BadFilter,
    QueueFilters,
    QueueRow,
    assign,
    assignable_users,
    list_queue,
    parse_filters,
    set_status,
)

__all__ = [
    "KINDS",
    "STATUSES",
    "BadFilter",
    "QueueFilters",
    "QueueRow",
    "assign",
    "assignable_users",
    "list_queue",
    "parse_filters",
    "set_status",
]
