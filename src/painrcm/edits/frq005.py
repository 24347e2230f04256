from collections.abc import Iterable
from typing import Any

from painrcm.edits._examples_history import line, visit
from painrcm.edits.base import ClaimContext, Edit, Outcome
from painrcm.edits.frequency import frequency_check
from painrcm.model import Severity

_CLAIM = {
    "payer": {"id": "ACME-HEALTH", "plan": "commercial", "state": "CA"},
    "diagnoses": ["Z79.891"],
    "procedures": [{"family": "drug_test", "method": "definitive", "drug_classes": 6}],
    "lines": [line("G0480")],
    "authorization_number": None,
}
_PAYER_FILE = {
    "base": "commercial",
    "payer_ids": ["ACME-HEALTH"],
    "frequency": [
        {
            "id": "definitive_drug_test",
            "edit": "FRQ005",
            "families": ["drug_test"],
            "codes": ["G0480", "G0481", "G0482", "G0483"],
            "max": 4,
        }
    ],
}


def _past(eid: str, when: str) -> dict[str, Any]:
    return visit(eid, when, line("G0480"), diagnoses=["Z79.891"])


EDIT = Edit(
    id="FRQ005",
    severity=Severity.ERROR,
    applies_when=("frequency:FRQ005",),
    title="Definitive drug tests over the limit in the rolling window",
    what="Counts this patient's definitive drug test dates (G0480-G0483), at every practice, in the payer's "
    "rolling window, against a limit the payer's policy file sets (the built-in policies set none, so this "
    "edit runs only for payers whose file adds a `FRQ005` frequency limit).",
    why="Payers that cap confirmatory drug testing for patients on chronic opioid therapy deny the tests "
    "over the cap as not medically necessary.",
    example=_CLAIM,
    fixed=_CLAIM,
    example_context={
        "policy": _PAYER_FILE,
        "history": [
            _past("H-1", "2025-04-01"),
            _past("H-2", "2025-07-01"),
            _past("H-3", "2025-10-01"),
            _past("H-4", "2026-01-02"),
        ],
    },
    fixed_context={
        "policy": _PAYER_FILE,
        "history": [_past("H-1", "2025-04-01"), _past("H-2", "2025-07-01")],
    },
    example_note="A payer file for ACME-HEALTH caps definitive drug tests at four a year; this is the fifth.",
    sources=["RULES.md section 6 (frequency limits are payer data)", "docs/payers.md"],
)


@EDIT.check
def check(ctx: ClaimContext) -> Iterable[Outcome]:
    return frequency_check(ctx, EDIT.id)
