"""The workspace's tables (SQLAlchemy 2). Every schema change is an Alembic migration
(``store/migrations``); ``tests/store/test_migrations.py`` checks the two agree.

Scoping: every row a biller can reach hangs off a practice (``practice_id``), and every query the
API or web app makes goes through ``painrcm.store.scope`` which filters by the user's practices.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# a name column that sorts by code point on both databases (SQLite's default; PostgreSQL's "C")
NAME_SORT = String(250).with_variant(String(250, collation="C"), "postgresql")


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


class Practice(Base):
    __tablename__ = "practices"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    npi: Mapped[str | None] = mapped_column(String(10), index=True)
    tax_id: Mapped[str | None] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(20), default="physician")
    state: Mapped[str | None] = mapped_column(String(2))


class Provider(Base):
    __tablename__ = "providers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    npi: Mapped[str] = mapped_column(String(10), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))


class Person(Base):
    """One patient across practices, matched as RULES.md section 6 says."""

    __tablename__ = "persons"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_key: Mapped[str | None] = mapped_column(String(120), index=True)
    name_key: Mapped[str | None] = mapped_column(String(250), index=True)
    member_id: Mapped[str | None] = mapped_column(String(80))
    last_name: Mapped[str | None] = mapped_column(String(120))
    first_name: Mapped[str | None] = mapped_column(String(120))
    dob: Mapped[date | None] = mapped_column(Date)
    sex: Mapped[str | None] = mapped_column(String(1))


def full_name(last_name: str | None, first_name: str | None) -> str | None:
    """A person's name as the pages show it: "last, first" (either alone when the other is missing);
    None without a name. The one statement of the rule."""
    return ", ".join(x for x in (last_name, first_name) if x) or None


def patient_name(last_name: str | None, first_name: str | None, person_id: int) -> str:
    """A person as the queues show and sort them: `full_name`, "patient ID" without a name
    (``Encounter.patient_name`` stores it per claim)."""
    return full_name(last_name, first_name) or f"patient {person_id}"


class Chart(Base):
    """A person as one practice knows them (its chart ID)."""

    __tablename__ = "charts"
    __table_args__ = (UniqueConstraint("practice_id", "person_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    practice_id: Mapped[str] = mapped_column(ForeignKey("practices.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    chart_id: Mapped[str | None] = mapped_column(String(80))
    person: Mapped[Person] = relationship()


class Payer(Base):
    __tablename__ = "payers"
    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    plan: Mapped[str] = mapped_column(String(30))
    policy_yaml: Mapped[str | None] = mapped_column(Text)  # a payer policy file (docs/payers.md)


class Encounter(Base):
    """A claim: the encounter document (CONTRACTS.md section 2) and its billed lines."""

    __tablename__ = "encounters"
    __table_args__ = (
        UniqueConstraint("practice_id", "encounter_id"),
        Index("ix_encounters_person_dos", "person_id", "date_of_service"),
        # the claim queues' and the dashboard's filters, sort keys and sums in one index (no document
        # read), the work status first: the claims (`counts.worked`) are read without the history rows
        Index(
            "ix_encounters_queue",
            "work_status",
            "status",
            "practice_id",
            "ack_status",
            "payer_id",
            "date_of_service",
            "total_charge",
            "id",
        ),
        # the queues' sort by patient: walked in order (then ID), with what their filters read, so a
        # page is read off the index instead of sorting the book
        Index(
            "ix_encounters_patient",
            "patient_name",
            "id",
            "work_status",
            "practice_id",
            "payer_id",
            "date_of_service",
        ),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    practice_id: Mapped[str] = mapped_column(ForeignKey("practices.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    encounter_id: Mapped[str] = mapped_column(String(80))
    payer_id: Mapped[str] = mapped_column(String(80), index=True)
    date_of_service: Mapped[date] = mapped_column(Date)
    place_of_service: Mapped[str] = mapped_column(String(2))
    rendering_npi: Mapped[str | None] = mapped_column(String(10))
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    total_charge: Mapped[float | None] = mapped_column(Float)
    # unscrubbed | clean | warning | error (the latest scrub run's status)
    status: Mapped[str] = mapped_column(String(12), default="unscrubbed", index=True)
    # open | fixed | overridden | submitted | history (an earlier service, not a claim to work)
    work_status: Mapped[str] = mapped_column(String(12), default="open", index=True)
    source: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
    person: Mapped[Person] = relationship()
    practice: Mapped[Practice] = relationship()
    lines: Mapped[list[ClaimLine]] = relationship(
        back_populates="encounter", order_by="ClaimLine.line_no", cascade="all, delete-orphan"
    )
    scrub_runs: Mapped[list[ScrubRun]] = relationship(
        back_populates="encounter", order_by="ScrubRun.id", cascade="all, delete-orphan"
    )
    # The latest acknowledgement (999/277CA) of the claim: accepted | rejected | pended; and why.
    ack_status: Mapped[str | None] = mapped_column(String(12), nullable=True, index=True)
    ack_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    # the document's claim-level authorization number (837P 2300 REF*G1), kept with the stored services
    # (``service_rows.refresh_services``) so that authorization usage is found without the documents
    authorization_number: Mapped[str | None] = mapped_column(String(80), nullable=True, index=True)
    # the patient's name as the queues show and sort it (`patient_name` of the person row), kept with
    # the stored services (``service_rows.refresh_services``, which every write calls) and brought up
    # to date on all of a person's claims when the person learns a name. Compared by code point on
    # both databases (PostgreSQL: collation "C", whatever the database's default)
    patient_name: Mapped[str | None] = mapped_column(NAME_SORT, nullable=True)


class ClaimLine(Base):
    __tablename__ = "claim_lines"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    encounter_pk: Mapped[int] = mapped_column(ForeignKey("encounters.id", ondelete="CASCADE"), index=True)
    line_no: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(10), index=True)
    modifiers: Mapped[list[Any]] = mapped_column(JSON, default=list)
    units: Mapped[float | None] = mapped_column(Float)
    diagnosis_pointers: Mapped[list[Any]] = mapped_column(JSON, default=list)
    date_of_service: Mapped[date | None] = mapped_column(Date)
    authorization_number: Mapped[str | None] = mapped_column(String(80), index=True)
    charge: Mapped[float | None] = mapped_column(Float)
    control_number: Mapped[str | None] = mapped_column(String(50))
    encounter: Mapped[Encounter] = relationship(back_populates="lines")


class ScrubRun(Base):
    __tablename__ = "scrub_runs"
    # a claim's runs, and its latest ("no later run of this claim"), read off the index
    __table_args__ = (Index("ix_scrub_runs_encounter_run", "encounter_pk", "id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    encounter_pk: Mapped[int] = mapped_column(ForeignKey("encounters.id", ondelete="CASCADE"))
    run_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    status: Mapped[str] = mapped_column(String(12))
    policy_id: Mapped[str | None] = mapped_column(String(80))
    editions: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    not_checked: Mapped[list[Any]] = mapped_column(JSON, default=list)
    fixed_lines: Mapped[list[Any] | None] = mapped_column(JSON, nullable=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    encounter: Mapped[Encounter] = relationship(back_populates="scrub_runs")
    findings: Mapped[list[Finding]] = relationship(
        back_populates="run", order_by="Finding.id", cascade="all, delete-orphan"
    )


class Finding(Base):
    __tablename__ = "findings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("scrub_runs.id", ondelete="CASCADE"), index=True)
    edit: Mapped[str] = mapped_column(String(10), index=True)
    severity: Mapped[str] = mapped_column(String(8))
    line: Mapped[int | None] = mapped_column(Integer)
    code: Mapped[str | None] = mapped_column(String(10))
    message: Mapped[str] = mapped_column(Text)
    fix: Mapped[str | None] = mapped_column(Text)
    override_reason: Mapped[str | None] = mapped_column(Text)
    overridden_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    overridden_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    run: Mapped[ScrubRun] = relationship(back_populates="findings")


class Authorization(Base):
    __tablename__ = "authorizations"
    __table_args__ = (UniqueConstraint("practice_id", "auth_number", "payer_id", "member_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    practice_id: Mapped[str] = mapped_column(ForeignKey("practices.id"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    auth_number: Mapped[str] = mapped_column(String(80), index=True)
    payer_id: Mapped[str] = mapped_column(String(80))
    member_id: Mapped[str] = mapped_column(String(80))
    codes: Mapped[list[Any]] = mapped_column(JSON, default=list)
    sessions: Mapped[int | None] = mapped_column(Integer)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date, index=True)
    rendering_npi: Mapped[str | None] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10))
    # the number and member ID as compared (``auth_usage.norm``: spaces and case ignored), set on every
    # ORM insert and update (``auth_usage`` registers the hook): the tracker joins on them in SQL
    number_key: Mapped[str | None] = mapped_column(String(80), index=True)
    member_key: Mapped[str | None] = mapped_column(String(80))


class ClaimAuthUse(Base):
    """One stored claim's use of one authorization number (``auth_usage.uses_of_claim``: claim level,
    837P 2300 REF*G1, covering the lines without a number of their own, or line level, 2400 REF*G1),
    with the date of service it counts on. Kept beside the encounter by ``service_rows.refresh_services``
    (every write calls it). member_key: the claim's person's member ID as compared."""

    __tablename__ = "claim_auth_uses"
    __table_args__ = (
        Index("ix_claim_auth_uses_number_person", "number_key", "person_id"),
        Index("ix_claim_auth_uses_number_member", "number_key", "member_key"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    encounter_pk: Mapped[int] = mapped_column(ForeignKey("encounters.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(Integer, index=True)
    member_key: Mapped[str | None] = mapped_column(String(80))
    number_key: Mapped[str] = mapped_column(String(80))
    date_of_service: Mapped[date] = mapped_column(Date)
    level: Mapped[str] = mapped_column(String(5))  # claim | line
    lines: Mapped[str] = mapped_column(String(200))  # line numbers relying on it, space-separated
    codes: Mapped[str] = mapped_column(String(400))  # their codes, space-separated


class Remittance(Base):
    """One 835 payment (BPR/TRN) to one practice."""

    __tablename__ = "remittances"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    practice_id: Mapped[str] = mapped_column(ForeignKey("practices.id"), index=True)
    import_id: Mapped[int | None] = mapped_column(ForeignKey("import_jobs.id"))
    payer_name: Mapped[str | None] = mapped_column(String(200))
    trace_number: Mapped[str | None] = mapped_column(String(80))
    payment_amount: Mapped[float] = mapped_column(Float, default=0)
    payment_date: Mapped[date | None] = mapped_column(Date)
    reconciled: Mapped[bool] = mapped_column(Boolean, default=True)
    claims: Mapped[list[RemitClaim]] = relationship(back_populates="remittance", cascade="all, delete-orphan")


class RemitClaim(Base):
    __tablename__ = "remit_claims"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    remittance_id: Mapped[int] = mapped_column(ForeignKey("remittances.id", ondelete="CASCADE"), index=True)
    practice_id: Mapped[str] = mapped_column(ForeignKey("practices.id"), index=True)
    patient_control_number: Mapped[str] = mapped_column(String(80), index=True)
    status_code: Mapped[str] = mapped_column(String(3))
    billed: Mapped[float] = mapped_column(Float, default=0)
    paid: Mapped[float] = mapped_column(Float, default=0)
    patient_responsibility: Mapped[float] = mapped_column(Float, default=0)
    payer_claim_number: Mapped[str | None] = mapped_column(String(80))
    encounter_pk: Mapped[int | None] = mapped_column(ForeignKey("encounters.id"))
    remittance: Mapped[Remittance] = relationship(back_populates="claims")
    lines: Mapped[list[RemitLine]] = relationship(back_populates="claim", cascade="all, delete-orphan")


class RemitLine(Base):
    __tablename__ = "remit_lines"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    remit_claim_id: Mapped[int] = mapped_column(ForeignKey("remit_claims.id", ondelete="CASCADE"), index=True)
    practice_id: Mapped[str] = mapped_column(ForeignKey("practices.id"), index=True)
    code: Mapped[str] = mapped_column(String(10))
    modifiers: Mapped[list[Any]] = mapped_column(JSON, default=list)
    units: Mapped[float | None] = mapped_column(Float)
    billed: Mapped[float] = mapped_column(Float, default=0)
    allowed: Mapped[float | None] = mapped_column(Float)
    paid: Mapped[float] = mapped_column(Float, default=0)
    date_of_service: Mapped[date | None] = mapped_column(Date)
    control_number: Mapped[str | None] = mapped_column(String(50))
    remarks: Mapped[list[Any]] = mapped_column(JSON, default=list)
    explanation: Mapped[str | None] = mapped_column(Text)
    next_action: Mapped[str | None] = mapped_column(String(40))
    preventing_edits: Mapped[list[Any]] = mapped_column(JSON, default=list)
    claim_line_id: Mapped[int | None] = mapped_column(ForeignKey("claim_lines.id"))
    denied: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    # open | working | appealed | resubmitted | written_off | resolved
    work_status: Mapped[str] = mapped_column(String(12), default="open", index=True)
    work_note: Mapped[str | None] = mapped_column(Text)
    claim: Mapped[RemitClaim] = relationship(back_populates="lines")
    adjustments: Mapped[list[RemitAdjustment]] = relationship(
        back_populates="line", cascade="all, delete-orphan"
    )


class RemitAdjustment(Base):
    __tablename__ = "remit_adjustments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    remit_line_id: Mapped[int] = mapped_column(ForeignKey("remit_lines.id", ondelete="CASCADE"), index=True)
    group_code: Mapped[str] = mapped_column(String(2))
    reason_code: Mapped[str] = mapped_column(String(5), index=True)
    amount: Mapped[float] = mapped_column(Float)
    quantity: Mapped[float | None] = mapped_column(Float)
    line: Mapped[RemitLine] = relationship(back_populates="adjustments")


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(200), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(12))  # admin | supervisor | biller
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class UserPractice(Base):
    """The practices a biller is assigned to (admins and supervisors see every practice)."""

    __tablename__ = "user_practices"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    practice_id: Mapped[str] = mapped_column(ForeignKey("practices.id", ondelete="CASCADE"), primary_key=True)


class ApiToken(Base):
    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class WebSession(Base):
    __tablename__ = "web_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the cookie value
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AuditEntry(Base):
    """Append-only: the application never updates or deletes these rows."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(
        String(40)
    )  # read | create | update | fix | override | import | login
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[str | None] = mapped_column(String(80))
    practice_id: Mapped[str | None] = mapped_column(String(40), index=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ImportJob(Base):
    __tablename__ = "import_jobs"
    __table_args__ = (UniqueConstraint("kind", "file_hash", "practice_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # encounters | x12_837 | x12_835 | auths
    file_name: Mapped[str] = mapped_column(String(300))
    file_hash: Mapped[str] = mapped_column(String(64))
    stored_path: Mapped[str | None] = mapped_column(String(500))
    practice_id: Mapped[str | None] = mapped_column(ForeignKey("practices.id"))
    status: Mapped[str] = mapped_column(String(12), default="queued")  # queued | running | done | failed
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # who runs the job ("host:pid") and when it last said it is alive (store/jobs.py's watchdog)
    worker: Mapped[str | None] = mapped_column(String(120))
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AuthRequest(Base):
    """A prior-authorization request for a planned service (issue 14): built from the note and the
    patient's history, sent (278, FHIR or by hand), answered by the payer.

    status: requested (sent, waiting for the payer) | pended (the payer, or missing evidence, holds it)
    | approved | denied; `expired` is derived (an approval whose window ended before the service)."""

    __tablename__ = "auth_requests"
    __table_args__ = (UniqueConstraint("practice_id", "request_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    practice_id: Mapped[str] = mapped_column(ForeignKey("practices.id"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"), index=True)
    request_id: Mapped[str] = mapped_column(String(80))
    payer_id: Mapped[str] = mapped_column(String(80))
    member_id: Mapped[str | None] = mapped_column(String(80))
    rendering_npi: Mapped[str | None] = mapped_column(String(10))
    planned_date: Mapped[date] = mapped_column(Date, index=True)
    codes: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # the planned codes the payer's policy wants authorized (an approval covers these)
    auth_codes: Mapped[list[Any]] = mapped_column(JSON, default=list)
    families: Mapped[list[Any]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(12), default="requested")
    ready: Mapped[bool] = mapped_column(Boolean, default=False)
    waiting_for: Mapped[list[Any]] = mapped_column(JSON, default=list)
    evidence: Mapped[list[Any]] = mapped_column(JSON, default=list)
    document: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    source: Mapped[str] = mapped_column(String(12), default="api")  # api | fhir | x12_278 | page
    response_due: Mapped[date] = mapped_column(Date)
    authorization_id: Mapped[int | None] = mapped_column(ForeignKey("authorizations.id"))
    auth_number: Mapped[str | None] = mapped_column(String(80))
    payer_note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ClaimAck(Base):
    """One claim's status in one acknowledgement file (a 277CA claim, or a claim of a 999 set)."""

    __tablename__ = "claim_acks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    practice_id: Mapped[str] = mapped_column(ForeignKey("practices.id"), index=True)
    import_id: Mapped[int | None] = mapped_column(ForeignKey("import_jobs.id"))
    encounter_pk: Mapped[int | None] = mapped_column(
        ForeignKey("encounters.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(8))  # 999 | 277CA
    patient_control_number: Mapped[str] = mapped_column(String(80), index=True)
    payer_claim_number: Mapped[str | None] = mapped_column(String(80))
    outcome: Mapped[str] = mapped_column(String(12))  # accepted | rejected | pended
    codes: Mapped[list[Any]] = mapped_column(JSON, default=list)  # "A7:562:82", or 999 "IK5 R 5"
    explanation: Mapped[str] = mapped_column(Text)
    next_action: Mapped[str | None] = mapped_column(Text)
    preventing_edits: Mapped[list[Any]] = mapped_column(JSON, default=list)
    ack_date: Mapped[date | None] = mapped_column(Date)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ClaimVersion(Base):
    """One version of a claim (issue 9): the encounter document as it stood, who made it, when and why,
    and the diff from the version before. Version 1 is the claim as first stored; later versions come
    from re-uploads, edits, fixes and corrections. ``frequency_code`` is what an 837P of this version
    carries in CLM05-3 (1 original, 7 replacement, 8 void) and ``payer_claim_number`` its REF*F8."""

    __tablename__ = "claim_versions"
    __table_args__ = (UniqueConstraint("encounter_pk", "number"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    encounter_pk: Mapped[int] = mapped_column(ForeignKey("encounters.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    # upload | reupload | corrected | edit | fix | correction | api
    kind: Mapped[str] = mapped_column(String(20))
    frequency_code: Mapped[str] = mapped_column(String(1), default="1")
    payer_claim_number: Mapped[str | None] = mapped_column(String(80))
    reason: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(String(300))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    diff: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class FeeScheduleRow(Base):
    """An uploaded fee schedule row (issue 9): what a practice expects a payer to allow for a code (per
    unit, facility and non-facility rates; the CSV format of docs/fee-schedule.md)."""

    __tablename__ = "fee_schedule_rows"
    __table_args__ = (UniqueConstraint("practice_id", "payer_id", "code", "modifier"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    practice_id: Mapped[str] = mapped_column(ForeignKey("practices.id"), index=True)
    payer_id: Mapped[str] = mapped_column(String(80))
    code: Mapped[str] = mapped_column(String(10))
    modifier: Mapped[str] = mapped_column(String(2), default="")
    facility_rate: Mapped[float] = mapped_column(Float)
    nonfacility_rate: Mapped[float] = mapped_column(Float)
    source: Mapped[str | None] = mapped_column(String(300))
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class WorkItem(Base):
    """Who works an item of a queue (a claim, a remittance line, an authorization) and, for items with
    no status of their own (authorizations), where the work stands."""

    __tablename__ = "work_items"
    __table_args__ = (UniqueConstraint("object_type", "object_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    object_type: Mapped[str] = mapped_column(String(20))  # encounter | remit_line | authorization
    object_id: Mapped[int] = mapped_column(Integer)
    practice_id: Mapped[str] = mapped_column(ForeignKey("practices.id"), index=True)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[str | None] = mapped_column(String(20))
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class StoredService(Base):
    """What one stored encounter contributes to its patient's history (`history.services_of` of its
    document: one row per procedure family, region and date), kept beside the encounter so that the
    frequency watch reads services instead of re-reading every document (``store/service_rows.py``
    keeps it; every write that changes an encounter's document calls ``refresh_services``).

    member_key / name_key: the identity keys of the document's patient (the keys `History` files the
    services under), person_id: the encounter's person row."""

    __tablename__ = "stored_services"
    __table_args__ = (
        Index("ix_stored_services_date_family", "date_of_service", "family"),
        Index("ix_stored_services_person_date", "person_id", "date_of_service"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    encounter_pk: Mapped[int] = mapped_column(ForeignKey("encounters.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(Integer)
    member_key: Mapped[str | None] = mapped_column(String(120))
    name_key: Mapped[str | None] = mapped_column(String(250))
    date_of_service: Mapped[date] = mapped_column(Date)
    family: Mapped[str] = mapped_column(String(40))
    region: Mapped[str | None] = mapped_column(String(20))
    purpose: Mapped[str | None] = mapped_column(String(20))
    codes: Mapped[str] = mapped_column(String(200))  # the service's codes, space-separated


class StandingSnapshot(Base):
    """The frequency watch's standings computed for one date (``store/standings.py``): `rules` is the
    fingerprint of the frequency limits and payer plans they were computed with (another fingerprint
    makes the snapshot stale)."""

    __tablename__ = "standing_snapshots"
    on: Mapped[date] = mapped_column(Date, primary_key=True)
    rules: Mapped[str] = mapped_column(String(64))
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class StandingPerson(Base):
    """A candidate person's latest encounter on or before the snapshot's date at one practice (whose
    payer's policy the standings of `StandingRow` follow)."""

    __tablename__ = "standing_persons"
    on: Mapped[date] = mapped_column(
        ForeignKey("standing_snapshots.on", ondelete="CASCADE"), primary_key=True
    )
    person_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    practice_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    payer_id: Mapped[str] = mapped_column(String(80))
    last_date: Mapped[date] = mapped_column(Date)
    last_pk: Mapped[int] = mapped_column(Integer)


class StandingRow(Base):
    """One limit a person is at, over or one session short of on the snapshot's date, under the payer
    of their latest encounter at the practice (`history.limits.standing`)."""

    __tablename__ = "standing_rows"
    __table_args__ = (
        Index("ix_standing_rows_on_person", "on", "person_id", "practice_id"),
        Index("ix_standing_rows_order", "on", "left", "next_payable", "practice_id", "patient"),
        Index("ix_standing_rows_counts", "on", "latest", "state", "person_id", "practice_id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    on: Mapped[date] = mapped_column(ForeignKey("standing_snapshots.on", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(Integer)
    practice_id: Mapped[str] = mapped_column(String(40))
    # the practice's latest encounter of the person (a copy of standing_persons), whether it is their
    # latest at any practice, and at how many practices they were seen: most scopes need no join
    last_date: Mapped[date] = mapped_column(Date)
    last_pk: Mapped[int] = mapped_column(Integer)
    latest: Mapped[bool] = mapped_column(Boolean)
    practices: Mapped[int] = mapped_column(Integer)
    patient: Mapped[str | None] = mapped_column(String(250))
    payer_id: Mapped[str] = mapped_column(String(80))
    policy_id: Mapped[str] = mapped_column(String(80))
    limit_id: Mapped[str] = mapped_column(String(80))
    edit: Mapped[str] = mapped_column(String(20))
    region: Mapped[str | None] = mapped_column(String(20))
    used: Mapped[int] = mapped_column(Integer)
    max: Mapped[int] = mapped_column(Integer)
    left: Mapped[int] = mapped_column(Integer)
    window_months: Mapped[int] = mapped_column(Integer)
    next_payable: Mapped[date] = mapped_column(Date)
    last_session: Mapped[date | None] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(12))


class StandingDirty(Base):
    """Persons whose stored services changed since a snapshot was computed: the next read of that
    snapshot recomputes them (``service_rows.refresh_services`` files them)."""

    __tablename__ = "standing_dirty"
    on: Mapped[date] = mapped_column(
        ForeignKey("standing_snapshots.on", ondelete="CASCADE"), primary_key=True
    )
    person_id: Mapped[int] = mapped_column(Integer, primary_key=True)
