"""Prior-authorization request and response: plain typed data (no X12, no storage).

``AuthRequest`` is what ``painrcm.x12.x278.write_278_request(request) -> str`` writes as an X12 278
request (005010X217), and what ``read_278`` gives back for a request file. ``AuthResponse`` is what
``read_278`` gives for a payer's 278 response; ``AuthResponse.authorizations()`` turns it into records
of the authorization log (``painrcm.history.auths.Authorization``, CONTRACTS.md section 3).

AuthRequest fields (X12 place in brackets):
- ``request_id``: the requester's tracking number for this request [2000E TRN02, TRN01 = 1]; the
  payer echoes it in the response. 1-50 characters.
- ``certification_type``: ``initial`` | ``renewal`` | ``revised`` | ``extension`` | ``cancel``
  [UM02: I, R, S, 4, 3].
- ``request_category``: ``HS`` health services review (outpatient procedures, the default), ``SC``
  specialty care review (a referral), ``AR`` admission review [UM01].
- ``service_type``: the service type code [UM03]; default ``2`` (surgical), which covers
  interventional pain procedures.
- ``place_of_service``: the CMS two-digit code [UM04-1, qualifier B].
- ``urgent``: an expedited (urgent) review instead of an elective one [UM06: U or E].
- ``payer``: ``AuthParty`` the utilization management organization: ``id`` (payer ID) and ``name``
  [2010A NM1*X3, NM108 PI].
- ``requester``: ``AuthParty`` the requesting provider: ``npi`` (required), ``name`` (organization, or
  ``last_name``/``first_name`` for a person), ``contact_name``, ``phone`` [2010B NM1*1P, PER*IC].
- ``servicing_provider``: ``AuthParty`` who will perform the service, when it is not the requester
  [2010EA NM1*SJ]; ``npi`` required.
- ``subscriber``: ``AuthPerson`` the insured: ``member_id`` (required), ``last_name``, ``first_name``,
  ``dob``, ``sex`` [2010C NM1*IL, DMG].
- ``patient``: ``AuthPerson`` when the patient is a dependent of the subscriber (else None: the
  patient is the subscriber) [2000D/2010D NM1*QC, DMG; ``relationship`` = INS02, default 19 child].
- ``diagnoses``: ICD-10-CM codes, first = principal [2000E HI, ABK then ABF]; at least one.
- ``event_from``/``event_to``: the dates the services are planned for [2000E DTP*AAH, D8 or RD8].
- ``services``: ``AuthService`` lines, at least one: ``code`` (CPT/HCPCS), ``modifiers`` (up to 4),
  ``units`` [SV1-04, UN], ``sessions`` (visits asked for, [HSD*VS]), ``from_date``/``to_date``
  [DTP*472], ``charge`` [SV1-02, default 0] [2000F].
- ``notes``: free-text lines for the reviewer (evidence summary), up to 264 characters each [MSG].

AuthResponse fields: ``request_id`` (our TRN02 echoed), ``payer_trace`` (the payer's TRN), ``payer``,
``requester``, ``servicing_provider``, ``subscriber``, ``patient``, ``response_date`` (BHT04), and
``decisions``: ``AuthDecision`` per event and per service the payer answered for: ``decision``
(``certified`` A1, ``partially_certified`` A2, ``denied`` A3, ``pended`` A4, ``modified`` A6,
``cancelled`` C, ``contact_payer`` CT, ``not_required`` NA) with the raw ``action_code`` [HCR01],
``certification_number`` [HCR02], ``reason_code`` [HCR03], ``codes``, ``units``, ``sessions``
[HSD*VS], ``start_date``/``end_date`` [DTP*007 effective (or its range), DTP*036 expiration, else
DTP*472, else DTP*AAH], ``servicing_npi`` and ``rejections`` (AAA reject reason codes).
"""

from __future__ import annotations

from datetime import date
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

CERTIFICATION_TYPES: Final = {"initial": "I", "renewal": "R", "revised": "S", "extension": "4", "cancel": "3"}
DECISIONS: Final = {
    "A1": "certified",
    "A2": "partially_certified",
    "A3": "denied",
    "A4": "pended",
    "A6": "modified",
    "C": "cancelled",
    "CT": "contact_payer",
    "NA": "not_required",
}
# Decision -> the authorization log's status (CONTRACTS.md section 3). not_required makes no record.
LOG_STATUS: Final = {
    "certified": "approved",
    "partially_certified": "approved",
    "modified": "approved",
    "denied": "denied",
    "cancelled": "denied",
    "pended": "pending",
    "contact_payer": "pending",
}
# Decision -> the state of the workspace's request it answers (store/auth_requests.py, the FHIR front
# door). contact_payer and not_required leave the request as it is.
REQUEST_STATUS: Final = {
    "certified": "approved",
    "partially_certified": "approved",
    "modified": "approved",
    "denied": "denied",
    "cancelled": "denied",
    "pended": "pended",
}
Decision = Literal[
    "certified",
    "partially_certified",
    "denied",
    "pended",
    "modified",
    "cancelled",
    "contact_payer",
    "not_required",
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class AuthParty(_Model):
    """A payer or provider: an organization (``name``) or a person (``last_name``, ``first_name``)."""

    id: str | None = None  # payer ID (for the payer)
    npi: str | None = Field(default=None, pattern=r"^\d{10}$")
    name: str | None = None
    last_name: str | None = None
    first_name: str | None = None
    contact_name: str | None = None
    phone: str | None = Field(default=None, pattern=r"^\d{10,15}$")


class AuthPerson(_Model):
    member_id: str | None = None
    last_name: str | None = None
    first_name: str | None = None
    dob: date | None = None
    sex: Literal["F", "M", "U"] | None = None
    relationship: str | None = None  # for a dependent patient: INS02 (19 child, 01 spouse, ...)


class AuthService(_Model):
    code: str = Field(pattern=r"^[A-Z0-9]{5}$")
    modifiers: list[str] = Field(default_factory=list, max_length=4)
    units: float | None = Field(default=None, gt=0)
    sessions: int | None = Field(default=None, ge=1)
    from_date: date | None = None
    to_date: date | None = None
    charge: float = Field(default=0, ge=0)

    @field_validator("code", mode="before")
    @classmethod
    def _upper(cls, v: object) -> object:
        return v.strip().upper() if isinstance(v, str) else v


class AuthRequest(_Model):
    request_id: str = Field(min_length=1, max_length=50, pattern=r"^[^*:^~|\r\n]+$")
    certification_type: Literal["initial", "renewal", "revised", "extension", "cancel"] = "initial"
    request_category: Literal["HS", "SC", "AR"] = "HS"
    service_type: str = Field(default="2", min_length=1, max_length=2)
    place_of_service: str = Field(default="11", pattern=r"^\d{2}$")
    urgent: bool = False
    payer: AuthParty
    requester: AuthParty
    servicing_provider: AuthParty | None = None
    subscriber: AuthPerson
    patient: AuthPerson | None = None
    diagnoses: list[str] = Field(min_length=1, max_length=12)
    event_from: date | None = None
    event_to: date | None = None
    services: list[AuthService] = Field(min_length=1)
    notes: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> AuthRequest:
        if not self.payer.id:
            raise ValueError("payer.id (the payer ID) is required")
        if not self.requester.npi:
            raise ValueError("requester.npi is required")
        if self.servicing_provider is not None and not self.servicing_provider.npi:
            raise ValueError("servicing_provider.npi is required when a servicing provider is given")
        if not self.subscriber.member_id:
            raise ValueError("subscriber.member_id is required")
        if self.event_from and self.event_to and self.event_to < self.event_from:
            raise ValueError("event_to must be on or after event_from")
        if any(len(n) > 264 for n in self.notes):
            raise ValueError("each note must be at most 264 characters (one MSG segment)")
        return self


class AuthDecision(_Model):
    level: Literal["event", "service"]
    decision: Decision
    action_code: str
    certification_number: str | None = None
    reason_code: str | None = None
    codes: list[str] = Field(default_factory=list)
    units: float | None = None
    sessions: int | None = None
    start_date: date | None = None
    end_date: date | None = None
    servicing_npi: str | None = None
    rejections: list[str] = Field(default_factory=list)
    segment: int | None = None  # the HCR segment number in the file


class AuthResponse(_Model):
    request_id: str | None = None
    payer_trace: str | None = None
    payer: AuthParty
    requester: AuthParty | None = None
    servicing_provider: AuthParty | None = None
    subscriber: AuthPerson
    patient: AuthPerson | None = None
    response_date: date | None = None
    decisions: list[AuthDecision] = Field(default_factory=list)
    rejections: list[str] = Field(default_factory=list)  # AAA reject reasons above the event level

    def authorizations(self) -> list[dict[str, object]]:
        """Rows of the authorization log (CONTRACTS.md section 3), one per decision that makes one:
        auth_number = the certification number, else the payer's trace number, else our request ID;
        dates fall back to the response date when the payer gave none (a pended or denied answer);
        a decision without any procedure code (and ``not_required``) makes no row. Decisions with the
        same number and outcome make one row (codes joined, widest dates, most sessions); a decision
        under a number already used with another outcome makes none (the log keeps one status per
        number; the decisions themselves keep every answer)."""
        rows: list[dict[str, object]] = []
        for d in self.decisions:
            status = LOG_STATUS.get(d.decision)
            if status is None:
                continue
            number = d.certification_number or self.payer_trace or self.request_id
            start = d.start_date or d.end_date or self.response_date
            end = d.end_date or d.start_date or self.response_date
            if not number or start is None or end is None or not d.codes:
                continue  # the log needs a number, dates and codes
            npi = d.servicing_npi or (self.servicing_provider.npi if self.servicing_provider else None)
            same = next((r for r in rows if r["auth_number"] == number and r["status"] == status), None)
            if same is not None:  # service decisions under one number: one log row
                codes = str(same["codes"]).split() + [
                    c for c in d.codes if c not in str(same["codes"]).split()
                ]
                same["codes"] = " ".join(codes)
                if d.sessions is not None:
                    same["sessions"] = str(max(d.sessions, int(str(same["sessions"] or 0))))
                same["start_date"] = min(str(same["start_date"]), start.isoformat())
                same["end_date"] = max(str(same["end_date"]), end.isoformat(), start.isoformat())
                continue
            if any(r["auth_number"] == number for r in rows):
                continue  # another decision under the same number: the log keeps the first one
            rows.append(
                {
                    "auth_number": number,
                    "payer_id": self.payer.id or "",
                    "member_id": self.subscriber.member_id or "",
                    "codes": " ".join(d.codes),
                    "sessions": "" if d.sessions is None else str(d.sessions),
                    "start_date": start.isoformat(),
                    "end_date": max(start, end).isoformat(),
                    "rendering_npi": npi or "",
                    "status": status,
                }
            )
        return rows
