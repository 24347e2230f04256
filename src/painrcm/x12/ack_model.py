"""What the acknowledgement reader (x12/reader_ack.py) returns: plain data, no explanations.

- ``FunctionalAck``: one 999 (005010X231A1) transaction set, answering one functional group of a
  submitted file (AK102 = the submitted GS06) and each of its transaction sets (AK202 = ST02), with the
  segment (IK3), element (IK4) and business-context (CTX) errors found in them.
- ``InterchangeAck``: one TA1 (the interchange as a whole: TA101 = the submitted ISA13).
- ``ClaimAckSet``: one 277CA (005010X214) transaction set: statuses for the whole batch (2200B), for a
  billing provider (2200C) and for each claim (2200D: TRN02 = the submitted CLM01, REF*1K = the
  payer's claim control number) and its service lines (2220D).

``segment`` fields are 1-based segment numbers in the acknowledgement file (as in error messages).
"""

from __future__ import annotations

from datetime import date as Date

from pydantic import BaseModel, Field


class ElementError(BaseModel):
    """IK4: one bad data element in the segment named by the IK3 before it."""

    position: str  # IK401: element position, "2" or "2:1" (element:component) or "2:1:3" (repetition)
    reference: str  # IK402: the data element reference number
    code: str  # IK403: element error code
    value: str | None = None  # IK404: a copy of the bad value
    segment: int


class SegmentError(BaseModel):
    """IK3 (and its IK4/CTX): one segment the receiver found wrong in a submitted transaction set."""

    segment_id: str  # IK301
    position: int | None  # IK302: position in the submitted transaction set (ST = 1)
    loop: str | None  # IK303
    code: str | None  # IK304: segment error code (empty when only element errors follow)
    elements: list[ElementError] = Field(default_factory=list)
    claim_id: str | None = None  # CTX*CLM01:value (business unit context: the claim's CLM01)
    context: list[str] = Field(default_factory=list)  # every CTX, as written
    segment: int


class SetAck(BaseModel):
    """AK2..IK5: one submitted transaction set."""

    transaction_type: str  # AK201 (837)
    control_number: str  # AK202 = submitted ST02
    version: str | None = None  # AK203
    status: str  # IK501: A, E, M, R, W, X
    codes: list[str] = Field(default_factory=list)  # IK502..IK506
    errors: list[SegmentError] = Field(default_factory=list)
    segment: int


class FunctionalAck(BaseModel):
    """One 999 transaction set."""

    interchange_control: str  # ISA13 of the 999 itself
    sender_id: str  # ISA06 of the 999 (the receiver of the submitted file)
    receiver_id: str  # ISA08 of the 999 (the submitter)
    group_code: str  # AK101 (HC for an 837)
    group_control: str  # AK102 = submitted GS06
    version: str | None = None  # AK103
    sets: list[SetAck] = Field(default_factory=list)
    status: str  # AK901: A, E, P, R, M, W, X
    included: int | None = None  # AK902
    received: int | None = None  # AK903
    accepted: int | None = None  # AK904
    codes: list[str] = Field(default_factory=list)  # AK905..AK909
    segment: int


class InterchangeAck(BaseModel):
    """TA1: the submitted interchange's envelope as the receiver saw it."""

    control_number: str  # TA101 = submitted ISA13
    date: str | None = None  # TA102 YYMMDD
    status: str  # TA104: A, E, R
    note_code: str  # TA105
    segment: int


class ClaimStatus(BaseModel):
    """One STC status triple (STC01, or STC10/STC11 for the second and third)."""

    category: str  # claim status category code (A0-A8, E0-E4, P0-P5, R0-R16, F0-F4, D0)
    code: str | None = None  # claim status code
    entity: str | None = None  # entity identifier code (85 billing provider, IL subscriber, ...)
    code_list: str | None = None  # fourth component: NCPDP reject code, when given


class StatusReport(BaseModel):
    """One STC segment."""

    statuses: list[ClaimStatus]
    date: Date | None = None  # STC02
    action: str | None = None  # STC03: WQ accepted, U rejected (277CA)
    amount: str | None = None  # STC04: total charge, as written
    free_text: str | None = None  # STC12
    segment: int


class LineAck(BaseModel):
    """2220D: one service line of a claim."""

    procedure: str | None = None  # SVC01-2
    modifiers: list[str] = Field(default_factory=list)
    charge: str | None = None  # SVC02
    units: str | None = None  # SVC07
    line_control_number: str | None = None  # REF*FJ = submitted REF*6R
    service_date: Date | None = None
    reports: list[StatusReport] = Field(default_factory=list)
    segment: int


class ClaimAck(BaseModel):
    """2200D: one submitted claim."""

    patient_control_number: str  # TRN02 = submitted CLM01
    payer_claim_number: str | None = None  # REF*1K
    clearinghouse_trace: str | None = None  # REF*D9
    member_id: str | None = None  # NM1*QC/IL NM109
    billing_provider_id: str | None = None  # 2100C NM109 (NPI or tax ID)
    service_from: Date | None = None
    service_to: Date | None = None
    reports: list[StatusReport] = Field(default_factory=list)
    lines: list[LineAck] = Field(default_factory=list)
    segment: int


class LevelStatus(BaseModel):
    """A status above the claims: the whole batch (2200B) or one billing provider (2200C)."""

    level: str  # "receiver" (2200B) or "provider" (2200C)
    trace: str | None = None  # TRN02 (2200B: the submitter's batch ID, often the submitted BHT03)
    entity_id: str | None = None  # NM109 of the level
    reports: list[StatusReport] = Field(default_factory=list)
    accepted_count: int | None = None  # QTY*90
    rejected_count: int | None = None  # QTY*AA
    accepted_amount: str | None = None  # AMT*YU
    rejected_amount: str | None = None  # AMT*YY
    segment: int


class ClaimAckSet(BaseModel):
    """One 277CA transaction set."""

    interchange_control: str
    sender_id: str
    receiver_id: str
    group_control: str
    control_number: str  # ST02
    reference: str | None = None  # BHT03
    created: Date | None = None  # BHT04
    payer_name: str | None = None  # 2100A NM103
    levels: list[LevelStatus] = Field(default_factory=list)
    claims: list[ClaimAck] = Field(default_factory=list)
    segment: int


class AckFile(BaseModel):
    file: str
    interchange_acks: list[InterchangeAck] = Field(default_factory=list)
    functional_acks: list[FunctionalAck] = Field(default_factory=list)
    claim_acks: list[ClaimAckSet] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
