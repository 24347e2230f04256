"""Explain an 835 line by line: amounts, adjustments, remarks, next action, preventing edits, and
the submitted claim line each remittance line pays. Pure: no file I/O.

Matching a remittance line to a submitted line (``encounters`` read from the 837P):
1. the claim: CLP01 (patient control number) = ``Encounter.encounter_id``;
2. the line: REF*6R = ``Line.control_number``; else the same code (SVC06 when the payer changed the
   code, else SVC01), the same modifiers (order ignored) and the same date of service.
A submitted line is matched at most once. Remittance lines that match nothing are reported, never
dropped; so are reversals (CLP02 = 22).

Reconciliation: the sum of claim payments (CLP04) minus provider-level adjustments (PLB, a positive
amount is money taken back) must equal the payment BPR02; every claim must balance (CLP03 minus all
CAS amounts = CLP04) and every line (SVC02 minus its CAS amounts = SVC03). Differences are flags.

Money is exact: amounts are Decimals as the 835 writes them, sums are exact, and a remittance that
balances in decimal never gets a warning made by binary floating point; JSON shows them as numbers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Final, Literal

from pydantic import BaseModel, Field

from painrcm.gcpause import no_gc
from painrcm.model import Encounter
from painrcm.remit.codes import Action, CodeInfo, carc, rarc
from painrcm.x12.remit_model import Adjustment, Money, RemitClaim, Remittance, ServiceLine

ERA_SCHEMA: Final = "painrcm.era/1"
CENT: Final = Decimal("0.005")  # under half a cent is no money (a paid-in-full tolerance)
ZERO: Final = Decimal(0)
_CENTS: Final = Decimal("0.01")

# Which next action wins when a line has several adjustments (first = most urgent).
_ACTION_PRIORITY: dict[str, int] = {
    "correct_and_resubmit": 0,
    "appeal": 1,
    "bill_secondary": 2,
    "bill_patient": 3,
    "write_off": 4,
    "no_action": 5,
}
_CODE_TEXT: dict[str, str] = {
    "correct_and_resubmit": "correct and resubmit",
    "appeal": "appeal",
    "write_off": "write off",
    "bill_patient": "bill the patient",
    "bill_secondary": "bill the secondary payer",
    "no_action": "no action",
}


class ExplainedAdjustment(BaseModel):
    group: str
    reason: str
    code: str = Field(description="group-reason, e.g. CO-97")
    amount: Money
    quantity: float | None = None
    known: bool
    explanation: str
    action: Action
    send: str
    prevented_by: list[str] = Field(default_factory=list)


class ExplainedRemark(BaseModel):
    code: str
    known: bool
    explanation: str
    action: Action
    send: str
    prevented_by: list[str] = Field(default_factory=list)


class LineMatch(BaseModel):
    encounter_id: str
    line: int = Field(description="1-based line number in the submitted encounter")
    by: Literal["control_number", "code_modifiers_date"]


class Underpayment(BaseModel):
    expected_allowed: Money
    basis: str
    shortfall: Money
    flagged: bool


class ExplainedLine(BaseModel):
    segment: int
    code: str
    modifiers: list[str]
    date_of_service: date | None
    units: float | None
    control_number: str | None
    billed: Money
    allowed: Money
    allowed_source: Literal["AMT*B6", "computed"]
    paid: Money
    patient_responsibility: Money
    adjustments: list[ExplainedAdjustment]
    remarks: list[ExplainedRemark]
    explanation: str
    next_action: Action
    next_action_detail: str
    prevented_by: list[str]
    match: LineMatch | None = None
    balanced: bool = True
    underpayment: Underpayment | None = None
    # the last day of a service date range (DTM*151, else the claim's DTM*233), and SVC07
    date_of_service_end: date | None = None
    original_units: float | None = None


class ExplainedClaim(BaseModel):
    segment: int
    patient_control_number: str
    status: str
    status_text: str
    reversal: bool
    billed: Money
    paid: Money
    patient_responsibility: Money | None
    payer_claim_number: str | None
    adjustments: list[ExplainedAdjustment]
    remarks: list[ExplainedRemark]
    lines: list[ExplainedLine]
    matched_encounter: str | None = None
    balanced: bool = True
    explanation: str
    next_action: Action
    next_action_detail: str


class ProviderAdjustmentOut(BaseModel):
    segment: int
    provider_id: str
    reason: str
    reference: str | None
    amount: Money


class Reconciliation(BaseModel):
    claims_paid: Money
    provider_adjustments: Money
    expected_payment: Money = Field(description="sum of CLP04 minus sum of PLB amounts")
    payment: Money = Field(description="BPR02")
    balanced: bool


class UnmatchedLine(BaseModel):
    patient_control_number: str
    segment: int
    code: str
    reason: str


class EraReport(BaseModel):
    schema_: Literal["painrcm.era/1"] = Field(default=ERA_SCHEMA, alias="schema")
    model_config = {"populate_by_name": True}

    control_number: str
    payer_name: str | None
    payer_id: str | None
    payee_name: str | None
    payee_id: str | None
    trace_number: str | None
    payment_date: date | None
    payment: Money
    claims: list[ExplainedClaim]
    provider_adjustments: list[ProviderAdjustmentOut]
    reconciliation: Reconciliation
    matching: Literal["not_requested", "done"]
    unmatched_lines: list[UnmatchedLine]
    reversals: list[str] = Field(description="patient control numbers of reversed claims (CLP02 = 22)")
    flags: list[str] = Field(default_factory=list)


def _r(x: Decimal | int) -> Decimal:
    """Exact money rounded to the cent (half up), as every amount shown is."""
    return Decimal(x).quantize(_CENTS, rounding=ROUND_HALF_UP)


def cents(x: Decimal | int) -> Decimal:
    """Public name of the cent rounding (used by the underpayment check)."""
    return _r(x)


def _sum(values: Iterable[Decimal]) -> Decimal:
    return sum(values, ZERO)


def explain_adjustment(adj: Adjustment) -> ExplainedAdjustment:
    info = carc(adj.reason)
    code = f"{adj.group}-{adj.reason}"
    if info is None:
        info = CodeInfo(
            explain=f"Reason code {adj.reason} is not in painrcm's table; look it up in the X12 CARC list.",
            action=("bill_patient" if adj.group == "PR" else "appeal") if adj.amount > 0 else "no_action",
            send="Look the code up and decide; appeal if the adjustment is not justified.",
        )
        known = False
    else:
        known = True
    action = info.action_for(adj.group)
    explanation = info.explain
    if adj.group == "PR" and action == "bill_patient" and info.action != "bill_patient":
        explanation += " The payer assigned this amount to the patient."
    if adj.amount < 0:
        explanation += " (negative amount: the adjustment is given back)"
    return ExplainedAdjustment(
        group=adj.group,
        reason=adj.reason,
        code=code,
        amount=adj.amount,
        quantity=adj.quantity,
        known=known,
        explanation=explanation,
        action=action,
        send=info.send,
        prevented_by=list(info.prevented_by),
    )


def explain_remark(code: str) -> ExplainedRemark:
    info = rarc(code)
    if info is None:
        return ExplainedRemark(
            code=code,
            known=False,
            explanation=f"Remark code {code} is not in painrcm's table; look it up in the RARC list.",
            action="no_action",
            send="Look the remark up.",
            prevented_by=[],
        )
    return ExplainedRemark(
        code=code,
        known=True,
        explanation=info.explain,
        action=info.action,
        send=info.send,
        prevented_by=list(info.prevented_by),
    )


def _decide(
    adjs: Sequence[ExplainedAdjustment], remarks: Sequence[ExplainedRemark], paid: Decimal, billed: Decimal
) -> tuple[Action, str, list[str]]:
    """The next action for a set of adjustments and remarks, with its detail and the preventing edits."""
    candidates: list[tuple[int, Decimal, Action, str]] = []
    for a in adjs:
        if a.amount == 0:
            continue
        candidates.append((_ACTION_PRIORITY[a.action], -abs(a.amount), a.action, f"{a.code}: {a.send}"))
    for rm in remarks:
        if rm.action in ("correct_and_resubmit", "appeal"):
            candidates.append((_ACTION_PRIORITY[rm.action], ZERO, rm.action, f"{rm.code}: {rm.send}"))
    prevented: list[str] = []
    items: list[ExplainedAdjustment | ExplainedRemark] = [*adjs, *remarks]
    for item in items:
        if isinstance(item, ExplainedAdjustment) and item.group == "PR" and item.action == "bill_patient":
            continue
        for e in item.prevented_by:
            if e not in prevented:
                prevented.append(e)
    if not candidates:
        if paid + CENT >= billed or billed == 0:
            return "no_action", "Paid as billed.", prevented
        return "no_action", "Paid; no adjustment reason given for the difference.", prevented
    candidates.sort(key=lambda c: (c[0], c[1]))
    _, _, action, detail = candidates[0]
    return action, detail, prevented


def _summary(
    paid: Decimal,
    billed: Decimal,
    allowed: Decimal,
    adjs: Sequence[ExplainedAdjustment],
    remarks: Sequence[ExplainedRemark],
) -> str:
    if billed > 0 and paid <= CENT and paid >= -CENT:
        head = f"Denied: nothing paid on {billed:.2f} billed."
    elif paid < -CENT:
        head = f"Payment taken back: {paid:.2f}."
    elif paid + CENT >= billed:
        head = f"Paid in full: {paid:.2f}."
    else:
        head = f"Paid {paid:.2f} of {billed:.2f} billed (allowed {allowed:.2f})."
    parts = [head]
    for a in adjs:
        parts.append(f"{a.code} {a.amount:.2f}: {a.explanation}")
    for rm in remarks:
        parts.append(f"{rm.code}: {rm.explanation}")
    return " ".join(parts)


def _line_explained(line: ServiceLine, claim: RemitClaim) -> ExplainedLine:
    adjs = [explain_adjustment(a) for a in line.adjustments]
    remarks = [explain_remark(c) for c in line.remarks]
    pr = _sum(a.amount for a in line.adjustments if a.group == "PR")
    source: Literal["AMT*B6", "computed"]
    if line.allowed is not None:
        allowed, source = line.allowed, "AMT*B6"
    else:
        allowed, source = line.paid + pr, "computed"
    action, detail, prevented = _decide(adjs, remarks, line.paid, line.billed)
    if claim.is_reversal:
        action, detail = "no_action", "Reversal of an earlier payment: post it against the original claim."
    balanced = line.billed - _sum(a.amount for a in line.adjustments) == line.paid
    return ExplainedLine(
        segment=line.segment,
        code=line.code,
        modifiers=list(line.modifiers),
        date_of_service=line.date_start or claim.statement_start,
        date_of_service_end=line.date_end or (None if line.date_start else claim.statement_end),
        original_units=line.original_units,
        units=line.units,
        control_number=line.control_number,
        billed=line.billed,
        allowed=allowed,
        allowed_source=source,
        paid=line.paid,
        patient_responsibility=pr,
        adjustments=adjs,
        remarks=remarks,
        explanation=_summary(line.paid, line.billed, allowed, adjs, remarks),
        next_action=action,
        next_action_detail=detail,
        prevented_by=prevented,
        balanced=balanced,
    )


def _claim_explained(claim: RemitClaim) -> ExplainedClaim:
    adjs = [explain_adjustment(a) for a in claim.adjustments]
    remarks = [explain_remark(c) for r in claim.remarks for c in r.codes]
    lines = [_line_explained(ln, claim) for ln in claim.lines]
    action, detail, _ = _decide(
        [*adjs, *(a for ln in lines for a in ln.adjustments)],
        [*remarks, *(r for ln in lines for r in ln.remarks)],
        claim.paid,
        claim.billed,
    )
    if claim.is_reversal:
        action, detail = "no_action", "Reversal of an earlier payment: post it against the original claim."
    # A remark that takes the claim's appeal rights away (MA130) overrides "appeal" on every line.
    barred = next(
        (r for r in [*remarks, *(r for ln in lines for r in ln.remarks)] if _no_appeal(r.code)), None
    )
    if barred is not None:
        for ln in lines:
            if ln.next_action == "appeal":
                ln.next_action, ln.next_action_detail = barred.action, f"{barred.code}: {barred.send}"
        if action == "appeal":
            action, detail = barred.action, f"{barred.code}: {barred.send}"
    claim_adj = _sum(a.amount for a in claim.adjustments)
    all_adj = claim_adj + _sum(a.amount for ln in claim.lines for a in ln.adjustments)
    balanced = claim.billed - all_adj == claim.paid
    if claim.lines:
        balanced = balanced and _sum(ln.paid for ln in claim.lines) - claim_adj == claim.paid
    text = f"Claim {claim.status_text}: paid {claim.paid:.2f} of {claim.billed:.2f} billed."
    if adjs:
        text += " " + " ".join(f"{a.code} {a.amount:.2f}: {a.explanation}" for a in adjs)
    return ExplainedClaim(
        segment=claim.segment,
        patient_control_number=claim.patient_control_number,
        status=claim.status,
        status_text=claim.status_text,
        reversal=claim.is_reversal,
        billed=claim.billed,
        paid=claim.paid,
        patient_responsibility=claim.patient_responsibility,
        payer_claim_number=claim.payer_claim_number,
        adjustments=adjs,
        remarks=remarks,
        lines=lines,
        balanced=balanced,
        explanation=text,
        next_action=action,
        next_action_detail=detail,
    )


def _no_appeal(code: str) -> bool:
    info = rarc(code)
    return info is not None and info.no_appeal


def appeal_barred(claim: ExplainedClaim) -> ExplainedRemark | None:
    """The remark of the claim (or one of its lines) that says it has no appeal rights, if any."""
    return next(
        (r for r in [*claim.remarks, *(r for ln in claim.lines for r in ln.remarks)] if _no_appeal(r.code)),
        None,
    )


def _norm_mods(mods: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(m.upper() for m in mods if m))


def _match(
    report_claims: list[ExplainedClaim],
    remit_claims: list[RemitClaim],
    encounters: Sequence[Encounter],
    unmatched: list[UnmatchedLine],
) -> None:
    by_id: dict[str, list[Encounter]] = {}
    for enc in encounters:
        by_id.setdefault(enc.encounter_id, []).append(enc)
    used: set[tuple[int, int]] = set()  # (id(encounter), line index)
    for ec, rc in zip(report_claims, remit_claims, strict=True):
        encs = by_id.get(rc.patient_control_number, [])
        if not encs:
            for ln in rc.lines:
                unmatched.append(
                    UnmatchedLine(
                        patient_control_number=rc.patient_control_number,
                        segment=ln.segment,
                        code=ln.code,
                        reason="no submitted claim with this patient control number",
                    )
                )
            continue
        ec.matched_encounter = encs[0].encounter_id
        for el, rl in zip(ec.lines, rc.lines, strict=True):
            found: LineMatch | None = None
            if rl.control_number:
                for enc in encs:
                    for n, sl in enumerate(enc.lines or []):
                        if sl.control_number == rl.control_number and (id(enc), n) not in used:
                            found = LineMatch(encounter_id=enc.encounter_id, line=n + 1, by="control_number")
                            used.add((id(enc), n))
                            break
                    if found:
                        break
            if found is None:
                code = rl.submitted_code or rl.code
                mods = _norm_mods(rl.submitted_modifiers if rl.submitted_code else rl.modifiers)
                when = rl.date_start or rc.statement_start
                for enc in encs:
                    for n, sl in enumerate(enc.lines or []):
                        if (id(enc), n) in used or sl.code != code or _norm_mods(sl.modifiers) != mods:
                            continue
                        sdate = sl.date_of_service or enc.date_of_service
                        if when is not None and sdate != when:
                            continue
                        found = LineMatch(encounter_id=enc.encounter_id, line=n + 1, by="code_modifiers_date")
                        used.add((id(enc), n))
                        break
                    if found:
                        break
            el.match = found
            if found is None:
                why = (
                    "no submitted line with this control number (REF*6R) or the same code, modifiers and date"
                    if rl.control_number
                    else "no submitted line with the same code, modifiers and date"
                )
                unmatched.append(
                    UnmatchedLine(
                        patient_control_number=rc.patient_control_number,
                        segment=rl.segment,
                        code=rl.code,
                        reason=why,
                    )
                )


def explain_remittance(rem: Remittance, encounters: Sequence[Encounter] | None = None) -> EraReport:
    """Explain one 835 transaction set. ``encounters``: the submitted claims (from 837P files), if any."""
    with no_gc():  # many small models that all survive: see painrcm.x12.segments.no_gc
        return _explain(rem, encounters)


def _explain(rem: Remittance, encounters: Sequence[Encounter] | None) -> EraReport:
    claims = [_claim_explained(c) for c in rem.claims]
    flags: list[str] = []
    unmatched: list[UnmatchedLine] = []
    if encounters is not None:
        _match(claims, rem.claims, encounters, unmatched)
    claims_paid = _sum(c.paid for c in rem.claims)
    plb = _sum(p.amount for p in rem.provider_adjustments)
    expected = claims_paid - plb
    balanced = expected == rem.payment
    if not balanced:
        flags.append(
            f"payment does not reconcile: claims paid {claims_paid:.2f} minus provider adjustments "
            f"{plb:.2f} = {expected:.2f}, but BPR02 says {rem.payment:.2f}"
        )
    for c in claims:
        if not c.balanced:
            flags.append(
                f"claim {c.patient_control_number} (segment {c.segment}) does not balance: billed minus "
                "adjustments differs from paid, or line payments minus claim adjustments differ from the claim payment"
            )
        for ln in c.lines:
            if not ln.balanced:
                flags.append(
                    f"claim {c.patient_control_number} line {ln.code or '?'} (segment {ln.segment}) does not "
                    "balance: billed minus adjustments differs from paid"
                )
    reversals = [c.patient_control_number for c in claims if c.reversal]
    return EraReport(
        control_number=rem.control_number,
        payer_name=rem.payer_name,
        payer_id=rem.payer_id,
        payee_name=rem.payee_name,
        payee_id=rem.payee_id,
        trace_number=rem.trace_number,
        payment_date=rem.payment_date,
        payment=rem.payment,
        claims=claims,
        provider_adjustments=[
            ProviderAdjustmentOut(
                segment=p.segment,
                provider_id=p.provider_id,
                reason=p.reason,
                reference=p.reference,
                amount=p.amount,
            )
            for p in rem.provider_adjustments
        ],
        reconciliation=Reconciliation(
            claims_paid=claims_paid,
            provider_adjustments=plb,
            expected_payment=expected,
            payment=rem.payment,
            balanced=balanced,
        ),
        matching="not_requested" if encounters is None else "done",
        unmatched_lines=unmatched,
        reversals=reversals,
        flags=flags,
    )


def action_text(action: str) -> str:
    return _CODE_TEXT.get(action, action)
