"""Plain typed data: the encounter (CONTRACTS.md section 2), claim lines, findings and results.

No behaviour beyond validation lives here. Every other part of painrcm (coder, edits, readers,
storage) speaks in these types.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

ENCOUNTER_SCHEMA: Final = "painrcm.encounter/1"
SCRUB_SCHEMA = "painrcm.scrub/1"
CLAIM_SCHEMA = "painrcm.claim/1"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False, str_strip_whitespace=True)


class Family(StrEnum):
    EPIDURAL_INTERLAMINAR = "epidural_interlaminar"
    EPIDURAL_TRANSFORAMINAL = "epidural_transforaminal"
    FACET_JOINT = "facet_joint"
    RADIOFREQUENCY_ABLATION = "radiofrequency_ablation"
    SACROILIAC_JOINT = "sacroiliac_joint"
    TRIGGER_POINT = "trigger_point"
    PERIPHERAL_NERVE_BLOCK = "peripheral_nerve_block"
    SPINAL_CORD_STIMULATOR = "spinal_cord_stimulator"
    VERTEBRAL_AUGMENTATION = "vertebral_augmentation"
    DRUG_TEST = "drug_test"
    SACROILIAC_ABLATION = "sacroiliac_ablation"
    GENICULAR = "genicular"
    JOINT_INJECTION = "joint_injection"
    SYMPATHETIC_BLOCK = "sympathetic_block"
    INTRATHECAL_PUMP = "intrathecal_pump"
    BLOOD_PATCH = "blood_patch"


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


Laterality = Literal["left", "right", "bilateral"]
Imaging = Literal["fluoroscopy", "ct", "ultrasound", "none"]
Region = Literal["cervical", "thoracic", "lumbar", "sacral"]


class Practice(_Model):
    id: str | None = None
    name: str | None = None
    npi: str | None = None
    tax_id: str | None = None
    kind: Literal["physician", "asc"] = "physician"
    state: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")


class Provider(_Model):
    npi: str | None = None
    name: str | None = None


class Patient(_Model):
    id: str | None = None
    member_id: str | None = None
    last_name: str | None = None
    first_name: str | None = None
    dob: date | None = None
    sex: Literal["F", "M", "U", "X"] | None = None


class Payer(_Model):
    id: str
    plan: Literal["medicare", "medicare_advantage", "medicaid", "commercial"]
    state: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    name: str | None = None


class Evaluation(_Model):
    code: str
    separately_identifiable: bool | None = None
    # the visit where the decision for a 090-global procedure was made (modifier 57)
    decision_for_surgery: bool | None = None
    # a visit inside an earlier procedure's global period, for an unrelated problem (modifier 24)
    unrelated_to_procedure: bool | None = None


class Procedure(_Model):
    """One documented procedure. Which facts matter depends on the family (CONTRACTS.md section 2)."""

    family: Family
    region: Region | None = None
    approach: Literal["interlaminar", "caudal"] | None = None
    levels: list[str] | None = None
    laterality: Laterality | None = None
    imaging: Imaging | None = None
    images_stored: bool | None = None
    medications: list[str] | None = None
    target: (
        Literal["intraarticular", "medial_branch", "stellate_ganglion", "lumbar_sympathetic", "celiac_plexus"]
        | None
    ) = None
    purpose: Literal["diagnostic", "therapeutic"] | None = None
    relief_percent: float | None = Field(default=None, ge=0, le=100)
    muscles: list[str] | None = None
    nerve: (
        Literal[
            "greater_occipital", "femoral", "sciatic", "genicular", "sacroiliac_lateral_branches", "other"
        ]
        | None
    ) = None
    stage: Literal["trial", "implant", "replacement", "revision", "removal"] | None = None
    leads: int | None = Field(default=None, ge=0)
    lead_type: Literal["percutaneous", "paddle"] | None = None
    kind: Literal["vertebroplasty", "kyphoplasty", "block", "ablation"] | None = None
    method: (
        Literal["presumptive_direct", "presumptive_instrument", "presumptive_analyzer", "definitive"] | None
    ) = None
    drug_classes: list[str] | int | None = None
    joint: Literal["small", "intermediate", "major"] | None = None
    service: Literal["refill", "analysis", "analysis_with_programming"] | None = None
    by_physician: bool | None = None

    @field_validator("levels")
    @classmethod
    def _levels_upper(cls, v: list[str] | None) -> list[str] | None:
        return None if v is None else [x.strip().upper() for x in v]


class Drug(_Model):
    code: str
    units: float = 1


class Documentation(_Model):
    conservative_care_weeks: float | None = Field(default=None, ge=0)
    indication: str | None = None
    psych_evaluation: bool | None = None


# What an 837P amount or quantity (X12 R) must look like, in the words the reader and CLM006 use
# (the grammar itself: painrcm.x12.segments.x12_decimal).
X12_DECIMAL_FORM = (
    "digits with at most one decimal point and an optional leading minus (135, 135.5, -2): no plus "
    "sign, spaces, separators or exponent"
)


class UnreadableNumber(_Model):
    """An amount or quantity an 837P wrote that is not an X12 number (``1_000``, ``+5``, ``1E5``): the
    claim is kept, the value is left unknown, and CLM006 reports it."""

    place: str  # the segment, as every X12 message names it: "segment 23 (CLM)"
    element: str  # "CLM02", "SV102", "SV104"
    # the text the file holds, spaces included (" 135" is the error), cut to a readable length
    found: Annotated[str, StringConstraints(strip_whitespace=False)]
    expected: str
    line: int | None = None  # 1-based service line, None for the claim


class Line(_Model):
    """A claim service line as billed (or as coded)."""

    code: str
    modifiers: list[str] = Field(default_factory=list)
    units: float | None = 1
    diagnosis_pointers: list[int] | None = None
    # 837P extras: a line may carry its own date, place of service and authorization.
    date_of_service: date | None = None
    place_of_service: str | None = None
    authorization_number: str | None = None
    charge: float | None = None
    control_number: str | None = None

    @field_validator("code")
    @classmethod
    def _code_upper(cls, v: str) -> str:
        return v.strip().upper()

    @field_validator("modifiers")
    @classmethod
    def _mods_upper(cls, v: list[str]) -> list[str]:
        return [m.strip().upper() for m in v]

    def has(self, *mods: str) -> bool:
        modifiers = self.modifiers
        for m in mods:
            if m in modifiers:
                return True
        return False

    def contract_dict(self, number: int | None = None) -> dict[str, object]:
        out: dict[str, object] = {}
        if number is not None:
            out["line"] = number
        out["code"] = self.code
        out["modifiers"] = list(self.modifiers)
        units = self.units
        out["units"] = int(units) if units is not None and float(units).is_integer() else units
        out["diagnosis_pointers"] = list(self.diagnosis_pointers or [])
        if self.date_of_service is not None:
            out["date_of_service"] = self.date_of_service.isoformat()
        return out


class Encounter(_Model):
    schema_: Literal["painrcm.encounter/1"] = Field(default=ENCOUNTER_SCHEMA, alias="schema")
    encounter_id: str
    practice: Practice = Field(default_factory=Practice)
    rendering_provider: Provider = Field(default_factory=Provider)
    patient: Patient = Field(default_factory=Patient)
    payer: Payer
    date_of_service: date
    place_of_service: str
    diagnoses: list[str] = Field(default_factory=list)
    evaluation: Evaluation | None = None
    procedures: list[Procedure] = Field(default_factory=list)
    drugs: list[Drug] = Field(default_factory=list)
    documentation: Documentation = Field(default_factory=Documentation)
    authorization_number: str | None = None
    lines: list[Line] | None = None
    # the claim's total charge as billed (837P CLM02); None when not given (the sum of the lines)
    total_charge: float | None = None
    # the referring provider (837P loop 2310A), when the claim names one
    referring_provider: Provider | None = None
    # What reading the file learned about the claim (None when nothing): amounts or quantities that
    # are not X12 numbers (CLM006), and where else in the same file a claim of the same billing
    # provider has this claim ID (CLM007, decided by painrcm.claim_ids).
    unreadable_numbers: list[UnreadableNumber] | None = None
    claim_id_also_at: list[str] | None = None

    model_config = ConfigDict(extra="forbid", populate_by_name=True, str_strip_whitespace=True)

    @field_validator("diagnoses")
    @classmethod
    def _dx_norm(cls, v: list[str]) -> list[str]:
        return [d.strip().upper() for d in v]

    @field_validator("place_of_service")
    @classmethod
    def _pos_norm(cls, v: str) -> str:
        v = v.strip()
        return v.zfill(2) if v.isdigit() and len(v) == 1 else v


class Finding(_Model):
    edit: str
    severity: Severity
    line: int | None
    code: str | None = None
    message: str
    fix: str | None = None

    def contract_dict(self) -> dict[str, object]:
        return {
            "edit": self.edit,
            "severity": self.severity.value,
            "line": self.line,
            "code": self.code,
            "message": self.message,
            "fix": self.fix,
        }


class NotChecked(_Model):
    edit: str
    reason: str

    def contract_dict(self) -> dict[str, str]:
        return {"edit": self.edit, "reason": self.reason}


class ClaimResult(_Model):
    claim_id: str
    status: Literal["error", "warning", "clean"]
    lines: list[Line]
    findings: list[Finding]
    not_checked: list[NotChecked]
    fixed_lines: list[Line] | None = None
    payer_policy: str | None = None
    editions: dict[str, str] = Field(default_factory=dict)

    def contract_dict(self) -> dict[str, object]:
        return {
            "claim_id": self.claim_id,
            "status": self.status,
            "lines": [ln.contract_dict(i) for i, ln in enumerate(self.lines, 1)],
            "findings": [f.contract_dict() for f in self.findings],
            "not_checked": [n.contract_dict() for n in self.not_checked],
            "fixed_lines": (
                None
                if self.fixed_lines is None
                else [ln.contract_dict(i) for i, ln in enumerate(self.fixed_lines, 1)]
            ),
            "payer_policy": self.payer_policy,
            "editions": dict(self.editions),
        }


def status_of(findings: list[Finding]) -> Literal["error", "warning", "clean"]:
    if not findings:
        return "clean"  # most claims
    if any(f.severity is Severity.ERROR for f in findings):
        return "error"
    if any(f.severity is Severity.WARNING for f in findings):
        return "warning"
    return "clean"
