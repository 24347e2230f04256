"""AUT091: a Medicare WISeR service without an authorization number goes to pre-payment review."""

from __future__ import annotations

from collections.abc import Iterator

from painrcm.edits.aut001 import NO_STATE, missing_auth, where
from painrcm.edits.base import ClaimContext, Edit, Hit, Outcome, Skip
from painrcm.model import Severity

EDIT = Edit(
    id="AUT091",
    severity=Severity.WARNING,
    applies_when=("auth_rule:AUT091",),
    title="WISeR service without prior authorization: pre-payment medical review",
    what="Under Medicare's WISeR model (services from 2026-01-15 in AZ, NJ, OH, OK, TX and WA, by the state "
    "where the service is furnished), checks whether a listed service (epidurals with imaging, "
    "transforaminal epidurals, vertebral augmentation, paddle stimulator leads) carries an authorization "
    "(UTN). Rules come from the payer policy's authorization rules marked AUT091.",
    why="Under WISeR a listed service without prior authorization is not denied outright, but the claim "
    "goes to pre-payment medical review: payment is delayed, the records must be sent, and the service "
    "can still be denied. Requesting the authorization first avoids it.",
    example={
        "practice": {
            "id": "P02",
            "name": "Lone Star Pain Center",
            "npi": "1245319599",
            "tax_id": "741234567",
            "kind": "physician",
            "state": "TX",
        },
        "payer": {"id": "MEDICARE", "plan": "medicare", "state": "TX"},
    },
    fixed={
        "practice": {
            "id": "P02",
            "name": "Lone Star Pain Center",
            "npi": "1245319599",
            "tax_id": "741234567",
            "kind": "physician",
            "state": "TX",
        },
        "payer": {"id": "MEDICARE", "plan": "medicare", "state": "TX"},
        "authorization_number": "TX26W0012345AB",
    },
    example_note="A right L5 transforaminal epidural (64483) furnished in Texas on 2026-03-02 for an original "
    "Medicare patient, with no WISeR authorization. The corrected claim carries the unique tracking "
    "number (UTN) of the affirmed request.",
    sources=[
        "RULES.md section 7 (WISeR)",
        "CMS WISeR model operational guide (states, codes)",
        "payer policy: authorization.rules (missing: AUT091)",
    ],
)


@EDIT.check
def check(ctx: ClaimContext) -> Iterator[Outcome]:
    lines, _rules, unknown = missing_auth(ctx, "AUT091")
    if unknown:
        yield Skip(NO_STATE)
    if not lines:
        return
    state = ctx.encounter.practice.state
    yield Hit(
        f"{where(ctx, lines)}: a Medicare WISeR service furnished in {state}, and the claim carries no "
        "prior authorization (UTN). It will be held for pre-payment medical review, so the records must "
        "support it and payment will be delayed.",
        line=lines[0],
        fix="Request WISeR prior authorization and put the UTN on the claim (REF*G1), or be ready to send "
        "the medical records for pre-payment review.",
    )
