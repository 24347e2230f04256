"""Typed data read from an 835 (005010X221A1) health care claim payment/advice."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

REMIT_SCHEMA = "painrcm.remittance/1"

GroupCode = Literal["CO", "PR", "OA", "PI", "CR"]

CLAIM_STATUS = {
    "1": "processed as primary",
    "2": "processed as secondary",
    "3": "processed as tertiary",
    "4": "denied",
    "19": "processed as primary, forwarded to additional payer(s)",
    "20": "processed as secondary, forwarded to additional payer(s)",
    "21": "processed as tertiary, forwarded to additional payer(s)",
    "22": "reversal of previous payment",
    "23": "not our claim, forwarded to additional payer(s)",
    "25": "predetermination pricing only, no payment",
}


def money_json(value: Decimal) -> float:
    """A Decimal amount as a JSON number written exactly: amounts have at most 15 significant digits,
    so the shortest repr of ``float(value)`` is the same decimal number (``0.3``, never
    ``0.30000000000000004``; the arithmetic that would produce that is done in Decimal)."""
    return float(value)


# Money read from an 835: exact (Decimal) in Python, a plain number in JSON.
Money = Annotated[Decimal, PlainSerializer(money_json, return_type=float, when_used="json")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Read(BaseModel):
    """What the 835 reader reads, as it read it: frozen (a remittance says what the payer said). The
    reader builds these without a second validation, and service lines with the same given fields
    share one set of field names (``model_fields_set``), which only assignment would change."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Adjustment(_Read):
    """One CAS triplet: group code, reason code (CARC), amount and optional quantity."""

    group: GroupCode
    reason: str
    amount: Money
    quantity: float | None = None


class ServiceLine(_Read):
    """One SVC loop (2110)."""

    segment: int = Field(description="1-based segment number of the SVC in the file")
    qualifier: str = "HC"
    code: str
    modifiers: list[str] = Field(default_factory=list)
    billed: Money
    paid: Money
    revenue_code: str | None = None
    units: float | None = None
    submitted_code: str | None = Field(default=None, description="SVC06 when the payer changed the code")
    submitted_modifiers: list[str] = Field(default_factory=list)
    date_start: date | None = None
    date_end: date | None = None
    adjustments: list[Adjustment] = Field(default_factory=list)
    control_number: str | None = Field(default=None, description="REF*6R line item control number")
    allowed: Money | None = Field(default=None, description="AMT*B6 allowed amount")
    remarks: list[str] = Field(default_factory=list, description="LQ*HE remark codes (RARC)")
    original_units: float | None = Field(default=None, description="SVC07 units of service billed")


class ClaimRemark(_Model):
    """MIA (inpatient) or MOA (outpatient) claim-level remark codes."""

    kind: Literal["MIA", "MOA"]
    codes: list[str] = Field(default_factory=list)
    reimbursement_rate: float | None = None
    payable_amount: Money | None = None


class RemitClaim(_Read):
    """One CLP loop (2100)."""

    segment: int
    patient_control_number: str
    status: str
    billed: Money
    paid: Money
    patient_responsibility: Money | None = None
    filing_indicator: str | None = None
    payer_claim_number: str | None = None
    facility_code: str | None = None
    frequency: str | None = None
    member_id: str | None = None
    rendering_npi: str | None = None
    statement_start: date | None = None
    statement_end: date | None = None
    adjustments: list[Adjustment] = Field(default_factory=list, description="claim-level CAS")
    remarks: list[ClaimRemark] = Field(default_factory=list)
    lines: list[ServiceLine] = Field(default_factory=list)

    @property
    def status_text(self) -> str:
        return CLAIM_STATUS.get(self.status, f"status {self.status}")

    @property
    def is_reversal(self) -> bool:
        return self.status == "22"


class ProviderAdjustment(_Model):
    """One PLB adjustment (reason, reference, amount). A positive amount reduces the payment."""

    segment: int
    provider_id: str
    fiscal_period_end: date | None = None
    reason: str
    reference: str | None = None
    amount: Money


class Remittance(_Model):
    """One 835 transaction set: one payment (or advice) from one payer to one payee."""

    schema_: Literal["painrcm.remittance/1"] = Field(default=REMIT_SCHEMA, alias="schema")
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    segment: int
    control_number: str
    handling: str
    payment: Money = Field(description="BPR02 total actual provider payment")
    credit_debit: str | None = None
    method: str | None = None
    payment_date: date | None = None
    trace_number: str | None = None
    payer_name: str | None = None
    payer_id: str | None = None
    payee_name: str | None = None
    payee_id: str | None = None
    payee_id_qualifier: str | None = None
    production_date: date | None = None
    claims: list[RemitClaim] = Field(default_factory=list)
    provider_adjustments: list[ProviderAdjustment] = Field(default_factory=list)
