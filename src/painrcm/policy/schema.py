"""The payer policy schema: what a payer wants, as validated data.

A payer is a YAML file of this shape (see ``data/medicare.yaml`` and ``docs/payers.md``). A user's
payer file names a built-in policy as its ``base`` and overrides any key for its payer IDs.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

BilateralConvention = Literal["modifier_50", "rt_lt_lines"]


class _P(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Bilateral(_P):
    """How a bilateral procedure (fee-schedule bilateral indicator 1) is reported."""

    default: BilateralConvention = "modifier_50"
    by_practice_kind: dict[Literal["physician", "asc"], BilateralConvention] = Field(default_factory=dict)
    by_place_of_service: dict[str, BilateralConvention] = Field(default_factory=dict)
    # follow_primary: the add-on is reported the way its primary is; per_side_lines: always RT/LT lines
    addons: Literal["follow_primary", "per_side_lines"] = "follow_primary"


class DistinctModifier(_P):
    preferred: Literal["59", "XE", "XS", "XP", "XU"] = "XS"
    warn_on_59: bool = False


class FrequencyLimit(_P):
    """At most `max` sessions in a rolling window (months), counted per region when `per_region`."""

    id: str
    edit: str
    families: list[str]
    purpose: Literal["diagnostic", "therapeutic"] | None = None
    codes: list[str] = Field(default_factory=list)
    per_region: bool = False
    max: int = Field(ge=0)
    window_months: int = Field(default=12, ge=1)


class Intervals(_P):
    mbb_second_min_days: int | None = 14
    rfa_repeat_min_months: int | None = 6


class Relief(_P):
    rfa_diagnostic_block_percent: float = Field(ge=0, le=100)
    rfa_blocks_required: int = Field(default=2, ge=0)
    scs_trial_percent: float = Field(default=50, ge=0, le=100)


class AuthRule(_P):
    """Codes that need prior authorization, optionally only from a date, in some states.

    `missing` is the edit a claim without an authorization number gets: AUT001 (denied) or
    AUT091 (Medicare WISeR: pre-payment review)."""

    name: str
    codes: list[str]
    effective_from: date | None = None
    effective_to: date | None = None
    states: list[str] | None = None
    missing: Literal["AUT001", "AUT091"] = "AUT001"


class Authorization(_P):
    rules: list[AuthRule] = Field(default_factory=list)
    expiry_warning_days: int = Field(default=14, ge=0)
    # What a request must carry, per procedure family (item keys of authreq/evidence.yaml).
    evidence: dict[str, list[str]] = Field(default_factory=dict)
    # How long the payer takes to answer a request (calendar days): standard and expedited.
    response_days: int = Field(default=14, ge=0)
    expedited_response_days: int = Field(default=3, ge=0)


class Deadlines(_P):
    """How long the payer allows: a claim must be filed within `timely_filing_days` of the date of
    service; an appeal within `appeal_days` of the remittance date. The work queues show a due date
    from these and call it due soon within `due_soon_days`."""

    timely_filing_days: int = Field(default=365, ge=1)
    appeal_days: int = Field(default=120, ge=1)
    due_soon_days: int = Field(default=14, ge=0)


class Drugs(_P):
    # places of service where the payer pays a drug J-code separately on a professional claim
    separately_payable_pos: list[str] = Field(default_factory=list)
    # places of service where a facility bills the drug (POS001 on a professional claim)
    facility_pos: list[str] = Field(default_factory=lambda: ["19", "22", "24"])
    # the payer treats drugs as included in the injection (BUN008 warns)
    included_with_injection: bool = False
    # drugs are packaged into the procedure's payment on an ASC facility claim (POS001)
    packaged_on_asc_facility_claim: bool = False


class Diagnoses(_P):
    """ICD-10-CM prefixes (no dots) that support a family; families absent are not checked."""

    covered: dict[str, list[str]] = Field(default_factory=dict)
    nonspecific: list[str] = Field(default_factory=list)


class Policy(_P):
    schema_: Literal["painrcm.policy/1"] = Field(default="painrcm.policy/1", alias="schema")
    id: str
    name: str
    effective_from: date
    base: str | None = None
    payer_ids: list[str] = Field(default_factory=list)
    plans: list[Literal["medicare", "medicare_advantage", "medicaid", "commercial"]] = Field(
        default_factory=list
    )
    bilateral: Bilateral = Field(default_factory=Bilateral)
    distinct_modifier: DistinctModifier = Field(default_factory=DistinctModifier)
    session_levels: dict[str, int] = Field(default_factory=dict)
    frequency: list[FrequencyLimit] = Field(default_factory=list)
    intervals: Intervals = Field(default_factory=Intervals)
    relief: Relief
    conservative_care_weeks: dict[str, float] = Field(default_factory=dict)
    psych_evaluation_required: list[Literal["trial", "implant"]] = Field(default_factory=list)
    kx_on_diagnostic_facet: bool = False
    not_covered: list[str] = Field(default_factory=list)
    asc_code_substitutions: dict[str, str] = Field(default_factory=dict)
    drugs: Drugs = Field(default_factory=Drugs)
    diagnoses: Diagnoses = Field(default_factory=Diagnoses)
    authorization: Authorization = Field(default_factory=Authorization)
    disabled_edits: list[str] = Field(default_factory=list)
    deadlines: Deadlines = Field(default_factory=Deadlines)
    # Category III ultrasound-guided facet/transforaminal codes the payer's LCDs do not cover (NEC012)
    not_covered_ultrasound: list[str] = Field(default_factory=list)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    def convention(self, practice_kind: str, place_of_service: str) -> BilateralConvention:
        b = self.bilateral
        if practice_kind in b.by_practice_kind:
            return b.by_practice_kind[practice_kind]
        return b.by_place_of_service.get(place_of_service, b.default)

    def addon_convention(self, practice_kind: str, place_of_service: str) -> BilateralConvention:
        if self.bilateral.addons == "per_side_lines":
            return "rt_lt_lines"
        return self.convention(practice_kind, place_of_service)
