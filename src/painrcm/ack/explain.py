"""Explain acknowledgements in plain English and match them to what was submitted. Pure: no file I/O.

Matching (``submitted``: indexes of the 837 files that were sent, x12/submitted.py):
- a TA1 answers the interchange whose ISA13 = TA101;
- a 999 answers the functional group whose GS06 = AK102 (leading zeros ignored) and, inside it, the
  transaction sets whose ST02 = AK202; an IK3 error is placed in a claim by its CTX*CLM01 context,
  else by its position IK302 (the claim whose CLM precedes that segment in the submitted set);
- a 277CA batch level (2200B) answers the file whose BHT03 = TRN02; each claim (2200D) answers the
  submitted claim whose CLM01 = TRN02.

Outcome of a claim: ``rejected`` when any status category says so (A3, A4, A6-A8, E0, E3, E4, D0),
else ``pended`` (P*, R*, E1, E2), else ``accepted``. A rejected claim never entered adjudication:
the fix is a corrected NEW claim (frequency 1), not a replacement (7) and not an appeal.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, Literal

from pydantic import BaseModel, Field

from painrcm.ack.codes import AckCodes, ack_codes
from painrcm.x12.ack_model import (
    AckFile,
    ClaimAck,
    ClaimAckSet,
    ClaimStatus,
    ElementError,
    FunctionalAck,
    InterchangeAck,
    SegmentError,
    SetAck,
    StatusReport,
)
from painrcm.x12.submitted import SubmittedClaim, SubmittedFile, SubmittedGroup, SubmittedSet

ACK_SCHEMA: Final = "painrcm.ack/1"
Outcome = Literal["accepted", "rejected", "pended"]
_RANK = {"accepted": 0, "finalized": 0, "info": 0, "pended": 1, "rejected": 2}
REJECTED_NEXT = (
    "Correct what is named and send the claim again as a new claim (frequency 1): a rejected claim "
    "never reached adjudication, so it is neither a corrected claim (7) nor an appeal."
)
PENDED_NEXT = "Wait for the payer, and answer any request for information it names."
ACCEPTED_NEXT = "Nothing to do now; the payment or denial will come on the 835."


def _worst(outcomes: Sequence[str]) -> Outcome:
    best = max(outcomes, key=lambda o: _RANK.get(o, 0), default="accepted")
    return "rejected" if best == "rejected" else "pended" if best == "pended" else "accepted"


def _same_number(a: str | None, b: str | None) -> bool:
    if not a or not b:
        return False
    a, b = a.strip(), b.strip()
    if a.isdigit() and b.isdigit():
        return int(a) == int(b)
    return a == b


# --- report models ------------------------------------------------------------------------------


class ExplainedStatus(BaseModel):
    category: str
    code: str | None = None
    entity: str | None = None
    outcome: str
    explanation: str
    known: bool
    parts: list[str] = Field(default_factory=list, exclude=True)  # the category's and the code's sentences


class ExplainedLine(BaseModel):
    procedure: str | None
    modifiers: list[str]
    line_control_number: str | None
    outcome: Outcome
    statuses: list[ExplainedStatus]
    free_text: list[str] = Field(default_factory=list)


class ExplainedClaim(BaseModel):
    patient_control_number: str
    payer_claim_number: str | None
    clearinghouse_trace: str | None
    outcome: Outcome
    statuses: list[ExplainedStatus]
    free_text: list[str] = Field(default_factory=list)
    explanation: str
    next_action: str
    prevented_by: list[str]
    lines: list[ExplainedLine] = Field(default_factory=list)
    submitted_file: str | None = None
    matched: bool | None = None  # None: no submitted claims given
    segment: int


class ExplainedLevel(BaseModel):
    level: str
    trace: str | None
    entity_id: str | None
    outcome: Outcome
    statuses: list[ExplainedStatus]
    accepted_count: int | None
    rejected_count: int | None
    accepted_amount: str | None
    rejected_amount: str | None
    submitted_file: str | None = None


class ExplainedClaimAckSet(BaseModel):
    kind: Literal["277CA"] = "277CA"
    control_number: str
    reference: str | None
    payer_name: str | None
    outcome: Outcome
    levels: list[ExplainedLevel]
    claims: list[ExplainedClaim]
    segment: int


class ExplainedElement(BaseModel):
    position: str
    reference: str
    code: str
    value: str | None
    explanation: str


class ExplainedSegmentError(BaseModel):
    segment_id: str
    position: int | None
    loop: str | None
    code: str | None
    explanation: str
    summary: str  # the explanation without the copied bad values (they may hold patient data)
    elements: list[ExplainedElement]
    claim_id: str | None
    context: list[str]
    prevented_by: list[str]


class ExplainedSet(BaseModel):
    transaction_type: str
    control_number: str
    status: str
    outcome: Outcome
    explanation: str
    errors: list[ExplainedSegmentError]
    claims: list[str] = Field(default_factory=list)  # CLM01 of the submitted set (when matched)
    rejected_claims: list[str] = Field(default_factory=list)  # claims an error was placed in
    submitted_file: str | None = None
    matched: bool | None = None


class ExplainedGroup(BaseModel):
    kind: Literal["999"] = "999"
    interchange_control: str
    group_code: str
    group_control: str
    status: str
    outcome: Outcome
    explanation: str
    counts: str
    sets: list[ExplainedSet]
    submitted_file: str | None = None
    matched: bool | None = None
    next_action: str
    segment: int


class ExplainedInterchange(BaseModel):
    kind: Literal["TA1"] = "TA1"
    control_number: str
    status: str
    note_code: str
    outcome: Outcome
    explanation: str
    submitted_file: str | None = None
    matched: bool | None = None


class AckReport(BaseModel):
    file: str
    outcome: Outcome
    interchanges: list[ExplainedInterchange]
    groups: list[ExplainedGroup]
    claim_acks: list[ExplainedClaimAckSet]
    warnings: list[str]

    def claims(self) -> list[ExplainedClaim]:
        return [c for s in self.claim_acks for c in s.claims]


# --- explaining ---------------------------------------------------------------------------------


def explain_status(st: ClaimStatus, codes: AckCodes | None = None) -> ExplainedStatus:
    codes = codes or ack_codes()
    cat = codes.categories.get(st.category)
    parts: list[str] = []
    known = cat is not None
    if cat is not None:
        parts.append(cat.explain)
    else:
        parts.append(f"Status category {st.category} is not in painrcm's table.")
    outcome = cat.outcome if cat is not None else ("rejected" if st.category[:1] in ("A", "E") else "pended")
    if st.code:
        info = codes.statuses.get(st.code)
        who = codes.entities.get(st.entity or "", "")
        if info is not None:
            text = info.explain
            if who and "named" in text:
                text = text.replace("the person or organization named", who)
            elif who and outcome != "accepted" and st.entity != "PR":
                text = f"{text} (about {who})"
            parts.append(text)
            if info.send:
                parts.append(info.send)
        else:
            known = False
            parts.append(
                f"Status code {st.code} is not in painrcm's table"
                + (f"; it is about {who}" if who else "")
                + "; look it up in the claim status code list."
            )
    return ExplainedStatus(
        category=st.category,
        code=st.code,
        entity=st.entity,
        outcome=outcome,
        explanation=" ".join(parts),
        known=known,
        parts=parts,
    )


def status_sentences(statuses: Sequence[ExplainedStatus]) -> str:
    """The statuses' sentences once each (several statuses often share a category)."""
    return " ".join(dict.fromkeys(p for s in statuses for p in s.parts))


# Explained statuses by (table, category, code, entity): a 277CA repeats the same few statuses on
# thousands of claims. The cached objects are shared: treat them as read-only.
_STATUS_CACHE: dict[tuple[int, str, str | None, str | None], ExplainedStatus] = {}


def _explained(st: ClaimStatus, codes: AckCodes) -> ExplainedStatus:
    key = (id(codes), st.category, st.code, st.entity)
    hit = _STATUS_CACHE.get(key)
    if hit is None:
        if len(_STATUS_CACHE) > 4096:
            _STATUS_CACHE.clear()
        hit = _STATUS_CACHE[key] = explain_status(st, codes)
    return hit


def _reports(reports: Sequence[StatusReport], codes: AckCodes) -> tuple[list[ExplainedStatus], list[str]]:
    out: list[ExplainedStatus] = []
    texts: list[str] = []
    for r in reports:
        out.extend(_explained(s, codes) for s in r.statuses)
        if r.free_text:
            texts.append(r.free_text)
    return out, texts


def _prevented(statuses: Sequence[ClaimStatus], codes: AckCodes) -> list[str]:
    out: list[str] = []
    for s in statuses:
        info = codes.statuses.get(s.code or "")
        for e in info.prevented_by if info else []:
            if e not in out:
                out.append(e)
    return out


def _claim_index(submitted: Sequence[SubmittedFile]) -> dict[str, str]:
    out: dict[str, str] = {}
    for sf in submitted:
        for cid in sf.claim_ids:
            out.setdefault(cid, sf.file)
        for g in sf.groups:
            for st in g.sets:
                for c in st.claims:
                    out.setdefault(c.claim_id, sf.file)
    return out


def explain_claim(claim: ClaimAck, codes: AckCodes, where: dict[str, str] | None) -> ExplainedClaim:
    statuses, texts = _reports(claim.reports, codes)
    lines: list[ExplainedLine] = []
    all_raw = [s for r in claim.reports for s in r.statuses]
    for ln in claim.lines:
        ls, lt = _reports(ln.reports, codes)
        all_raw += [s for r in ln.reports for s in r.statuses]
        lines.append(
            ExplainedLine(
                procedure=ln.procedure,
                modifiers=ln.modifiers,
                line_control_number=ln.line_control_number,
                outcome=_worst([s.outcome for s in ls]),
                statuses=ls,
                free_text=lt,
            )
        )
    # A claim rejected by an action code U (277CA STC03) is rejected whatever its category says.
    rejected_by_action = any((r.action or "").upper() == "U" for r in claim.reports)
    outcome = _worst([s.outcome for s in statuses] + [ln.outcome for ln in lines])
    if rejected_by_action:
        outcome = "rejected"
    next_action = (
        REJECTED_NEXT if outcome == "rejected" else PENDED_NEXT if outcome == "pended" else ACCEPTED_NEXT
    )
    return ExplainedClaim(
        patient_control_number=claim.patient_control_number,
        payer_claim_number=claim.payer_claim_number,
        clearinghouse_trace=claim.clearinghouse_trace,
        outcome=outcome,
        statuses=statuses,
        free_text=texts,
        explanation=status_sentences(statuses + [s for ln in lines for s in ln.statuses]),
        next_action=next_action,
        prevented_by=_prevented(all_raw, codes) if outcome != "accepted" else [],
        lines=lines,
        submitted_file=(where or {}).get(claim.patient_control_number),
        matched=None if where is None else claim.patient_control_number in where,
        segment=claim.segment,
    )


def explain_claim_acks(
    ack: ClaimAckSet, submitted: Sequence[SubmittedFile] | None = None, codes: AckCodes | None = None
) -> ExplainedClaimAckSet:
    codes = codes or ack_codes()
    where = _claim_index(submitted) if submitted is not None else None
    levels: list[ExplainedLevel] = []
    for lv in ack.levels:
        st, _ = _reports(lv.reports, codes)
        file = None
        if lv.trace and submitted:
            file = next(
                (
                    sf.file
                    for sf in submitted
                    for g in sf.groups
                    for s in g.sets
                    if s.reference and s.reference == lv.trace
                ),
                None,
            )
        levels.append(
            ExplainedLevel(
                level=lv.level,
                trace=lv.trace,
                entity_id=lv.entity_id,
                outcome=_worst([s.outcome for s in st]),
                statuses=st,
                accepted_count=lv.accepted_count,
                rejected_count=lv.rejected_count,
                accepted_amount=lv.accepted_amount,
                rejected_amount=lv.rejected_amount,
                submitted_file=file,
            )
        )
    claims = [explain_claim(c, codes, where) for c in ack.claims]
    return ExplainedClaimAckSet(
        control_number=ack.control_number,
        reference=ack.reference,
        payer_name=ack.payer_name,
        outcome=_worst([c.outcome for c in claims] + [lv.outcome for lv in levels]),
        levels=levels,
        claims=claims,
        segment=ack.segment,
    )


def _element_text(e: ElementError, codes: AckCodes, *, value: bool = True) -> str:
    what = codes.element_errors.get(e.code, f"element error {e.code} (not in painrcm's table)")
    return (
        f"element {e.position}"
        + (f" (data element {e.reference})" if e.reference else "")
        + f": {what}"
        + (f", value {e.value!r}" if e.value and value else "")
    )


def _segment_edits(err: SegmentError, codes: AckCodes) -> list[str]:
    out: list[str] = []
    keys = [f"{err.segment_id}-{e.position.split(':')[0].zfill(2)}" for e in err.elements] or [err.segment_id]
    for k in keys:
        for e in codes.segment_edits.get(k, codes.segment_edits.get(err.segment_id, [])):
            if e not in out:
                out.append(e)
    return out


def explain_segment_error(
    err: SegmentError, claim: SubmittedClaim | None, codes: AckCodes
) -> ExplainedSegmentError:
    place = f"{err.segment_id} segment" + (f" at position {err.position}" if err.position else "")
    if err.loop:
        place += f" in loop {err.loop}"
    what = (
        codes.segment_errors.get(err.code, f"segment error {err.code} (not in painrcm's table)")
        if err.code
        else "it has element errors"
    )
    text = f"The {place}: {what}."
    elems = [
        ExplainedElement(
            position=e.position,
            reference=e.reference,
            code=e.code,
            value=e.value,
            explanation=_element_text(e, codes),
        )
        for e in err.elements
    ]
    summary = text
    if elems:
        text += " " + "; ".join(e.explanation for e in elems) + "."
        summary += " " + "; ".join(_element_text(e, codes, value=False) for e in err.elements) + "."
    claim_id = err.claim_id or (claim.claim_id if claim else None)
    if claim_id:
        text += f" In claim {claim_id}."
        summary += f" In claim {claim_id}."
    return ExplainedSegmentError(
        segment_id=err.segment_id,
        position=err.position,
        loop=err.loop,
        code=err.code,
        explanation=text,
        summary=summary,
        elements=elems,
        claim_id=claim_id,
        context=err.context,
        prevented_by=_segment_edits(err, codes),
    )


def _find_group(
    ack: FunctionalAck, submitted: Sequence[SubmittedFile]
) -> tuple[SubmittedFile, SubmittedGroup] | None:
    candidates = [
        (sf, g) for sf in submitted for g in sf.groups if _same_number(g.control_number, ack.group_control)
    ]
    if not candidates:
        return None
    # Several files with the same GS06: the one sent to whoever answered.
    for sf, g in candidates:
        if sf.receiver_id == ack.sender_id:
            return sf, g
    return candidates[0]


def explain_set(s: SetAck, sub: SubmittedSet | None, codes: AckCodes) -> ExplainedSet:
    st = codes.ack_status.get(s.status)
    outcome = _worst([st.outcome]) if st else "rejected"
    why = [codes.set_errors.get(c, f"error {c} (not in painrcm's table)") for c in s.codes]
    text = f"Transaction set {s.transaction_type} {s.control_number}: " + (
        st.explain if st else f"acknowledgement code {s.status} (not in painrcm's table)"
    )
    if why:
        text += " (" + "; ".join(why) + ")"
    errors = [explain_segment_error(e, sub.claim_at(e.position) if sub else None, codes) for e in s.errors]
    rejected_claims: list[str] = []
    if outcome == "rejected":
        for e in errors:
            if e.claim_id and e.claim_id not in rejected_claims:
                rejected_claims.append(e.claim_id)
    return ExplainedSet(
        transaction_type=s.transaction_type,
        control_number=s.control_number,
        status=s.status,
        outcome=outcome,
        explanation=text + ".",
        errors=errors,
        claims=[c.claim_id for c in sub.claims] if sub else [],
        rejected_claims=rejected_claims,
    )


def explain_functional_ack(
    ack: FunctionalAck, submitted: Sequence[SubmittedFile] | None = None, codes: AckCodes | None = None
) -> ExplainedGroup:
    codes = codes or ack_codes()
    match = _find_group(ack, submitted) if submitted is not None else None
    sets: list[ExplainedSet] = []
    for s in ack.sets:
        sub = None
        if match is not None:
            sub = next((x for x in match[1].sets if _same_number(x.control_number, s.control_number)), None)
        es = explain_set(s, sub, codes)
        if submitted is not None:
            es.matched = sub is not None
            es.submitted_file = match[0].file if match and sub else None
        sets.append(es)
    st = codes.ack_status.get(ack.status)
    outcome = _worst([st.outcome if st else "rejected"] + [s.outcome for s in sets])
    text = f"Functional group {ack.group_code} {ack.group_control}: " + (
        st.explain if st else f"acknowledgement code {ack.status} (not in painrcm's table)"
    )
    why = [codes.group_errors.get(c, f"error {c} (not in painrcm's table)") for c in ack.codes]
    if why:
        text += " (" + "; ".join(why) + ")"
    counts = (
        f"{ack.accepted if ack.accepted is not None else '?'} of "
        f"{ack.received if ack.received is not None else '?'} transaction set(s) accepted"
    )
    if outcome == "rejected":
        nxt = (
            "Fix what the errors name (painrcm edits listed where one catches it), and send the rejected "
            "transaction sets again in a new file with new control numbers; none of their claims reached "
            "the payer."
        )
    else:
        nxt = "Nothing to do for this file; wait for the 277CA (claim by claim) and the 835."
    return ExplainedGroup(
        interchange_control=ack.interchange_control,
        group_code=ack.group_code,
        group_control=ack.group_control,
        status=ack.status,
        outcome=outcome,
        explanation=text + ".",
        counts=counts,
        sets=sets,
        submitted_file=match[0].file if match else None,
        matched=None if submitted is None else match is not None,
        next_action=nxt,
        segment=ack.segment,
    )


def explain_interchange(
    ta1: InterchangeAck, submitted: Sequence[SubmittedFile] | None = None, codes: AckCodes | None = None
) -> ExplainedInterchange:
    codes = codes or ack_codes()
    st = codes.interchange_status.get(ta1.status)
    sf = None
    if submitted is not None:
        sf = next((x for x in submitted if _same_number(x.interchange_control, ta1.control_number)), None)
    note = "" if ta1.note_code in ("", "000") else f" (note code {ta1.note_code})"
    return ExplainedInterchange(
        control_number=ta1.control_number,
        status=ta1.status,
        note_code=ta1.note_code,
        outcome=_worst([st.outcome if st else "rejected"]),
        explanation=f"Interchange {ta1.control_number}: "
        + (st.explain if st else f"status {ta1.status} (not in painrcm's table)")
        + note
        + ".",
        submitted_file=sf.file if sf else None,
        matched=None if submitted is None else sf is not None,
    )


def explain_ack_file(
    ack: AckFile, submitted: Sequence[SubmittedFile] | None = None, codes: AckCodes | None = None
) -> AckReport:
    codes = codes or ack_codes()
    inter = [explain_interchange(t, submitted, codes) for t in ack.interchange_acks]
    groups = [explain_functional_ack(f, submitted, codes) for f in ack.functional_acks]
    cas = [explain_claim_acks(c, submitted, codes) for c in ack.claim_acks]
    outcome = _worst([x.outcome for x in inter] + [g.outcome for g in groups] + [c.outcome for c in cas])
    return AckReport(
        file=ack.file,
        outcome=outcome,
        interchanges=inter,
        groups=groups,
        claim_acks=cas,
        warnings=ack.warnings,
    )
