"""Import kind ``x12_ack``: 999, 277CA and TA1 acknowledgements into the workspace.

Each acknowledged claim becomes a ``ClaimAck`` row (outcome, codes, painrcm's explanation, next
action, preventing edits); a matched claim (``Encounter``) gets the latest outcome and reason in
``ack_status``/``ack_reason``, and a rejected claim goes back to the claim queue (work status
``open``; the queue's default "problems" view lists it with the reason).

Matching:
- 277CA: each claim by TRN02 = the stored claim's encounter ID (CLM01), in the upload's practice
  when one is chosen, else in the practice whose NPI is the billing provider's (2100C) when several
  practices hold the same ID;
- 999: the functional group by GS06 = AK102 against the 837P files imported through upload jobs
  (their stored bytes), newest first; a rejected transaction set rejects every claim in it, each
  with the errors the 999 places in it (CTX*CLM01, else the IK3 position). Without a stored file,
  only the claims a CTX names can be matched.

The practice of each row: the matched claim's, else the upload's, else the billing provider NPI's;
an acknowledgement of a claim that none of these place is refused with its segment (choose the
practice when importing). Nothing here logs PHI.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from painrcm.ack.explain import ExplainedClaim, ExplainedSet, explain_claim_acks, explain_functional_ack
from painrcm.errors import InputError
from painrcm.store import models as m
from painrcm.x12.ack_model import AckFile, FunctionalAck
from painrcm.x12.reader_ack import read_ack
from painrcm.x12.submitted import SubmittedFile, index_submitted

if TYPE_CHECKING:
    from painrcm.store.imports import ImportResult, Progress

KIND = "x12_ack"
LABEL = "999 / 277CA acknowledgement"
MAX_REASON = 2000
_SEARCH_JOBS = 200


def _text(data: bytes, file: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise InputError(file, f"byte {e.start}", "UTF-8 text") from e


def _rows(s: Session, pcns: set[str], practice_id: str | None) -> dict[str, list[m.Encounter]]:
    if not pcns:
        return {}
    q = select(m.Encounter).where(m.Encounter.encounter_id.in_(sorted(pcns)))
    if practice_id is not None:
        q = q.where(m.Encounter.practice_id == practice_id)
    out: dict[str, list[m.Encounter]] = {}
    for r in s.scalars(q.order_by(m.Encounter.id)):
        out.setdefault(r.encounter_id, []).append(r)
    return out


def _practice_by_npi(s: Session, npi: str | None) -> str | None:
    if not npi:
        return None
    found = list(s.scalars(select(m.Practice.id).where(m.Practice.npi == npi)))
    return found[0] if len(found) == 1 else None


def _pick(rows: list[m.Encounter], practice_hint: str | None) -> m.Encounter | None:
    if len(rows) == 1:
        return rows[0]
    mine = [r for r in rows if r.practice_id == practice_hint]
    return mine[0] if len(mine) == 1 else None


@dataclass
class _Plan:
    practice_id: str
    row: m.Encounter | None
    kind: str  # 999 | 277CA
    claim: str
    outcome: str
    codes: list[str]
    explanation: str
    next: str | None
    edits: list[str]
    payer_claim: str | None = None
    ack_date: date | None = None


def _where(file: str, segment: int, sid: str) -> tuple[str, str]:
    return file, f"segment {segment} ({sid})"


def _plans_277(s: Session, text_file: str, ack: AckFile, result: ImportResult) -> list[_Plan]:
    plans: list[_Plan] = []
    for ca in ack.claim_acks:
        rep = explain_claim_acks(ca)
        rows = _rows(s, {c.patient_control_number for c in ca.claims}, result.practice_id)
        for raw, ex in zip(ca.claims, rep.claims, strict=True):
            hint = result.practice_id or _practice_by_npi(s, raw.billing_provider_id)
            row = _pick(rows.get(raw.patient_control_number, []), hint)
            practice = row.practice_id if row is not None else hint
            if practice is None:
                raise InputError(
                    *_where(text_file, raw.segment, "TRN"),
                    f"claim {raw.patient_control_number!r} to match a stored claim or its billing provider "
                    "NPI a stored practice; neither does, so choose the practice when importing",
                )
            plan = _claim_plan(practice, row, ex)
            plan.ack_date = next((r.date for r in raw.reports if r.date), None)
            plans.append(plan)
    return plans


def _claim_plan(practice: str, row: m.Encounter | None, ex: ExplainedClaim) -> _Plan:
    codes = [
        ":".join(x for x in (st.category, st.code, st.entity) if x)
        for st in ex.statuses + [st for ln in ex.lines for st in ln.statuses]
    ]
    return _Plan(
        practice,
        row,
        "277CA",
        ex.patient_control_number,
        ex.outcome,
        codes,
        ex.explanation,
        ex.next_action,
        ex.prevented_by,
        ex.payer_claim_number,
    )


def _stored_837(
    s: Session, fa: FunctionalAck, practice_id: str | None
) -> tuple[SubmittedFile, str | None] | None:
    """The imported 837P file this 999 answers (GS06 = AK102), from the upload jobs' stored bytes."""
    q = select(m.ImportJob).where(
        m.ImportJob.kind == "x12_837", m.ImportJob.status == "done", m.ImportJob.stored_path.is_not(None)
    )
    if practice_id is not None:
        q = q.where((m.ImportJob.practice_id == practice_id) | m.ImportJob.practice_id.is_(None))
    for job in s.scalars(q.order_by(m.ImportJob.id.desc()).limit(_SEARCH_JOBS)):
        path = Path(job.stored_path or "")
        if not path.is_file():
            continue
        try:
            subs = index_submitted(path.read_bytes().decode("utf-8-sig"), job.file_name)
        except (InputError, UnicodeDecodeError):
            continue
        for sf in subs:
            for g in sf.groups:
                a, b = g.control_number.lstrip("0"), fa.group_control.lstrip("0")
                if a == b:
                    return sf, job.practice_id
    return None


def _set_claim_text(es: ExplainedSet, claim: str) -> tuple[str, list[str]]:
    """What the 999 says about one claim of a set; without the copied bad values (patient data)."""
    mine = [e for e in es.errors if e.claim_id == claim]
    if mine:
        text = es.explanation + " " + " ".join(e.summary for e in mine)
    elif es.outcome == "rejected":
        text = (
            es.explanation + " The errors are elsewhere in the file, but a rejected transaction set "
            "is rejected whole: this claim did not reach the payer either."
        )
    else:
        text = es.explanation
    edits: list[str] = []
    for e in mine:
        edits += [x for x in e.prevented_by if x not in edits]
    return text, edits


def _plans_999(s: Session, file: str, fa: FunctionalAck, result: ImportResult) -> list[_Plan]:
    found = _stored_837(s, fa, result.practice_id)
    rep = explain_functional_ack(fa, [found[0]] if found else None)
    plans: list[_Plan] = []
    for es, raw in zip(rep.sets, fa.sets, strict=True):
        claims = list(es.claims) or [e.claim_id for e in es.errors if e.claim_id]
        claims = list(dict.fromkeys(c for c in claims if c))
        if not claims:
            if es.outcome == "rejected":
                result.warnings.append(
                    f"{file}: segment {raw.segment} (AK2): transaction set {es.control_number} was rejected "
                    "but matches no imported 837P file, so its claims cannot be marked"
                )
            continue
        hint = result.practice_id or (found[1] if found else None)
        rows = _rows(s, set(claims), hint)
        for claim in claims:
            row = _pick(rows.get(claim, []), hint)
            practice = row.practice_id if row is not None else hint
            if practice is None:
                raise InputError(
                    file,
                    f"segment {raw.segment} (AK2)",
                    f"claim {claim!r} to match a stored claim; choose the practice when importing",
                )
            text, edits = _set_claim_text(es, claim)
            outcome = "rejected" if es.outcome == "rejected" else "accepted"
            plans.append(
                _Plan(
                    practice,
                    row,
                    "999",
                    claim,
                    outcome,
                    [f"IK5 {raw.status}" + (" " + " ".join(raw.codes) if raw.codes else "")],
                    text,
                    rep.next_action if outcome == "rejected" else None,
                    edits,
                )
            )
    return plans


def import_ack(s: Session, data: bytes, file: str, result: ImportResult, progress: Progress | None) -> None:
    """Read the whole file, decide every row, then write (all-or-nothing with the caller's session)."""
    ack = read_ack(_text(data, file), file)
    result.warnings.extend(ack.warnings)
    plans = _plans_277(s, file, ack, result)
    for fa in ack.functional_acks:
        plans += _plans_999(s, file, fa, result)
    for t in ack.interchange_acks:
        if t.status == "R":
            result.warnings.append(
                f"{file}: segment {t.segment} (TA1): interchange {t.control_number} was rejected whole; "
                "send the file again with a corrected envelope"
            )
    total = len(plans)
    if progress:
        progress(0, total)
    for n, p in enumerate(plans, 1):
        s.add(
            m.ClaimAck(
                practice_id=p.practice_id,
                import_id=result.import_id,
                encounter_pk=p.row.id if p.row is not None else None,
                kind=p.kind,
                patient_control_number=p.claim[:80],
                payer_claim_number=p.payer_claim,
                outcome=p.outcome,
                codes=p.codes,
                explanation=p.explanation,
                next_action=p.next,
                preventing_edits=p.edits,
                ack_date=p.ack_date,
            )
        )
        row = p.row
        if row is not None:
            # A 999 acceptance says only that the file was readable: it never hides a claim's own status.
            if not (p.kind == "999" and p.outcome == "accepted" and row.ack_status is not None):
                row.ack_status = p.outcome
                row.ack_reason = p.explanation[:MAX_REASON]
            if p.outcome == "rejected" and row.work_status not in ("history",):
                row.work_status = "open"
            result.encounter_pks.append(row.id)
            result.updated += 1  # claims whose acknowledgement status changed
        result.added += 1  # acknowledgement rows stored
        if progress and (n % 25 == 0 or n == total):
            progress(n, total)
    result.records = total
    s.flush()
