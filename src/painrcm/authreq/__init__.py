"""A prior-authorization request, built from the note and the patient's history (issue 14).

For a planned encounter (the encounter JSON without `lines`, or with the lines the practice means to
bill) this codes the service, finds the codes the payer wants an authorization for, and assembles
the evidence the payer's policy asks for per family (`authorization.evidence`, items described in
``evidence.yaml``). Whether an item is complete is decided by the edits that would deny the claim,
run now, before the service: the request is judged by the same rules as the claim it leads to.

The engine side only: the CLI (`painrcm auth request`), the 278 writer and the FHIR endpoints are
adapters around `build_request`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import date, timedelta
from importlib import resources
from typing import TYPE_CHECKING, Any, Literal

import yaml

from painrcm.codes.tables import strip_dot
from painrcm.history import History, Service, services_of
from painrcm.history.limits import standing
from painrcm.model import ClaimResult, Encounter, Finding, Line, NotChecked, Severity
from painrcm.policy.schema import Policy
from painrcm.scrub import Engine, scrub_encounter

if TYPE_CHECKING:
    from painrcm.auth_request_model import AuthRequest

REQUEST_SCHEMA = "painrcm.auth-request/1"
# Edits that judge the claim as billed, not the planned service: the authorization itself (AUT*, what is
# being requested) and a date of service after today (CLM003: a request is always for a later date).
_NOT_FOR_REQUESTS = ("AUT", "CLM003")
ItemStatus = Literal["present", "missing", "warning", "unknown"]


@dataclass(frozen=True)
class EvidenceDef:
    key: str
    label: str
    edits: tuple[str, ...]


@functools.cache
def evidence_items() -> dict[str, EvidenceDef]:
    """The evidence catalogue (evidence.yaml): item key -> label and the edits that judge it."""
    raw = yaml.safe_load(resources.files("painrcm.authreq").joinpath("evidence.yaml").read_text("utf-8"))
    return {
        k: EvidenceDef(k, str(v["label"]), tuple(str(e) for e in v.get("edits", [])))
        for k, v in raw["items"].items()
    }


@dataclass
class EvidenceItem:
    key: str
    label: str
    status: ItemStatus
    facts: list[str]
    findings: list[Finding] = field(default_factory=list)
    not_checked: list[NotChecked] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "item": self.key,
            "label": self.label,
            "status": self.status,
            "facts": list(self.facts),
            "findings": [f.contract_dict() for f in self.findings],
            "not_checked": [n.contract_dict() for n in self.not_checked],
        }


@dataclass
class ServiceNeed:
    """One planned code and whether (and under which rule) the payer wants it authorized."""

    code: str
    modifiers: list[str]
    units: float | None
    family: str | None
    needs_authorization: bool
    rule: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "modifiers": list(self.modifiers),
            "units": self.units,
            "family": self.family,
            "needs_authorization": self.needs_authorization,
            "rule": self.rule,
        }


@dataclass
class AuthRequestPacket:
    encounter: Encounter
    payer_policy: str
    lines: list[Line]
    services: list[ServiceNeed]
    families: list[str]
    evidence: list[EvidenceItem]
    # error findings outside the evidence items that would still deny the claim (codes, modifiers...)
    other_problems: list[Finding]
    not_checked: list[NotChecked]
    response_due: date
    expedited_response_due: date
    history_used: bool
    scrub: ClaimResult

    @property
    def needs_authorization(self) -> bool:
        return any(s.needs_authorization for s in self.services)

    @property
    def missing(self) -> list[EvidenceItem]:
        return [e for e in self.evidence if e.status == "missing"]

    @property
    def ready(self) -> bool:
        """Complete: no evidence item missing or undecided and nothing else that would deny the claim."""
        return not self.other_problems and all(e.status in ("present", "warning") for e in self.evidence)

    def gaps(self) -> list[str]:
        """What the request is waiting for, one line each (what the tracker shows)."""
        out = []
        for e in self.evidence:
            if e.status == "missing":
                detail = "; ".join(f.message for f in e.findings if f.severity is Severity.ERROR)
                out.append(f"{e.label}: {detail}" if detail else e.label)
            elif e.status == "unknown":
                detail = "; ".join(n.reason for n in e.not_checked)
                out.append(f"{e.label}: not known ({detail})" if detail else f"{e.label}: not known")
        out += [f"{f.edit}: {f.message}" for f in self.other_problems]
        return out

    def as_dict(self) -> dict[str, Any]:
        enc = self.encounter
        return {
            "schema": REQUEST_SCHEMA,
            "request_id": enc.encounter_id,
            "planned_date": enc.date_of_service.isoformat(),
            "payer": {"id": enc.payer.id, "plan": enc.payer.plan},
            "payer_policy": self.payer_policy,
            "patient": {
                "member_id": enc.patient.member_id,
                "last_name": enc.patient.last_name,
                "first_name": enc.patient.first_name,
                "dob": enc.patient.dob.isoformat() if enc.patient.dob else None,
            },
            "rendering_npi": enc.rendering_provider.npi,
            "diagnoses": list(enc.diagnoses),
            "needs_authorization": self.needs_authorization,
            "services": [s.as_dict() for s in self.services],
            "families": list(self.families),
            "evidence": [e.as_dict() for e in self.evidence],
            "other_problems": [f.contract_dict() for f in self.other_problems],
            "not_checked": [n.contract_dict() for n in self.not_checked],
            "ready": self.ready,
            "waiting_for": self.gaps(),
            "response_due": self.response_due.isoformat(),
            "expedited_response_due": self.expedited_response_due.isoformat(),
            "history_used": self.history_used,
        }


def _rule_for(policy: Policy, enc: Encounter, code: str) -> str | None:
    for rule in policy.authorization.rules:
        if code not in rule.codes:
            continue
        dos = enc.date_of_service
        if rule.effective_from and dos < rule.effective_from:
            continue
        if rule.effective_to and dos > rule.effective_to:
            continue
        if rule.states is not None and (enc.practice.state or "") not in rule.states:
            continue
        return rule.name
    return None


def _families(enc: Encounter, lines: list[Line], engine: Engine) -> list[str]:
    out: list[str] = [str(p.family) for p in enc.procedures]
    for ln in lines:
        info = engine.reference.info(ln.code)
        if info is not None and info.family:
            out.append(info.family)
    return list(dict.fromkeys(out))


def _fmt(d: date) -> str:
    return d.isoformat()


def _service_facts(s: Service) -> str:
    parts = [_fmt(s.date)]
    if s.purpose:
        parts.append(s.purpose)
    side = getattr(s, "laterality", None)
    if side:
        parts.append(str(side))
    levels = getattr(s, "levels", None)
    if levels:
        parts.append("levels " + ", ".join(str(x) for x in levels))
    if s.region:
        parts.append(s.region.replace("_", "/"))
    parts.append("relief " + (f"{s.relief_percent:g}%" if s.relief_percent is not None else "not documented"))
    if s.codes:
        parts.append("codes " + " ".join(s.codes))
    if s.practice_id:
        parts.append(f"practice {s.practice_id}")
    return ", ".join(parts)


def _facts(
    key: str,
    enc: Encounter,
    families: list[str],
    regions: set[str],
    policy: Policy,
    history: History | None,
) -> list[str]:
    """The note's and the history's facts for one evidence item (what a reviewer reads)."""
    doc = enc.documentation
    dos = enc.date_of_service
    if key == "conservative_care":
        asks = [policy.conservative_care_weeks[f] for f in families if f in policy.conservative_care_weeks]
        have = (
            f"{doc.conservative_care_weeks:g} weeks documented"
            if doc.conservative_care_weeks is not None
            else "not documented"
        )
        return [have] + ([f"payer asks for {max(asks):g} weeks"] if asks else [])
    if key == "supporting_diagnoses":
        out = []
        for dx in enc.diagnoses:
            norm = strip_dot(dx)
            fams = [
                f for f in families if any(norm.startswith(p) for p in policy.diagnoses.covered.get(f, []))
            ]
            out.append(f"{dx}: supports {', '.join(fams)}" if fams else f"{dx}: not on the covered list")
        return out or ["no diagnoses"]
    if key == "psych_evaluation":
        v = doc.psych_evaluation
        return ["documented" if v else ("documented as not done" if v is False else "not documented")]
    if key == "imaging_guidance":
        return [
            f"{p.family}: {p.imaging or 'imaging not documented'}"
            + (", images stored" if p.images_stored else "")
            for p in enc.procedures
        ] or ["no procedure note"]
    if key == "note_facts":
        return [f"{len(enc.procedures)} procedure(s) documented"] if enc.procedures else ["no procedure note"]
    if history is None:
        return ["no history supplied"]
    past = list(history.services(enc.patient, end=dos, exclude_encounter=enc.encounter_id))
    if key == "qualifying_blocks":
        blocks = [
            s
            for s in past
            if s.family == "facet_joint" and s.target != "intraarticular" and s.purpose != "therapeutic"
        ]
        need = policy.relief.rfa_blocks_required
        head = f"payer asks for {need} blocks with at least {policy.relief.rfa_diagnostic_block_percent:g}% relief"
        return (
            [head] + [f"block {_service_facts(s)}" for s in blocks] if blocks else [head, "no earlier blocks"]
        )
    if key == "trial_result":
        trials = [s for s in past if s.family == "spinal_cord_stimulator" and s.stage == "trial"]
        relief = [p.relief_percent for p in enc.procedures if p.relief_percent is not None]
        out = [f"payer asks for at least {policy.relief.scs_trial_percent:g}% relief in the trial"]
        out += [f"trial {_service_facts(s)}" for s in trials] or ["no trial in history"]
        out += [f"trial relief documented in the note: {r:g}%" for r in relief]
        return out
    if key == "sessions_in_window":
        out = []
        for st in standing(history, enc.patient, policy, dos):
            limit = next(x for x in policy.frequency if x.id == st.limit_id)
            if not any(f in limit.families for f in families):
                continue
            if st.region is not None and regions and st.region not in regions:
                continue
            where = f" ({st.region.replace('_', '/')})" if st.region else ""
            out.append(
                f"{st.limit_id.replace('_', ' ')}{where}: {st.used} of {st.max} in {st.window_months} months"
                + ("" if st.left else f"; next payable {st.next_payable(dos).isoformat()}")
            )
        return out or ["no frequency limit applies"]
    if key == "repeat_interval":
        same = [s for s in past if s.family in families]
        return (
            [f"last {same[-1].family.replace('_', ' ')} on {_fmt(same[-1].date)}"]
            if same
            else ["no earlier session of this family"]
        )
    return []


def build_request(
    enc: Encounter,
    engine: Engine,
    *,
    history: History | None = None,
    requested_on: date | None = None,
) -> AuthRequestPacket:
    """Code the planned service and assemble the evidence its payer asks for.

    `history` None means "not supplied": the items that need it are `unknown`, never passed.
    The planned encounter itself is never counted as history (the same encounter ID is skipped)."""
    policy = engine.policy_for(enc)
    # AUT edits judge the claim's authorization, which is what is being requested: not evidence.
    result = scrub_encounter(enc, engine, history=history, auths=None)
    lines = result.lines
    families = _families(enc, lines, engine)
    planned = enc.model_copy(update={"lines": lines})
    regions = {s.region for s in services_of(planned, engine.reference) if s.region}
    items = evidence_items()
    wanted: list[str] = []
    for fam in families:
        wanted += policy.authorization.evidence.get(fam, [])
    wanted = list(dict.fromkeys(wanted))
    judged: set[str] = set()
    evidence: list[EvidenceItem] = []
    for key in wanted:
        d = items.get(key)
        if d is None:  # a payer file naming an item painrcm does not know: say so, never pass it
            reason = f"the payer policy asks for {key!r}, which is not an evidence item painrcm knows"
            evidence.append(EvidenceItem(key, key, "unknown", [], [], [NotChecked(edit="-", reason=reason)]))
            continue
        judged.update(d.edits)
        found = [f for f in result.findings if f.edit in d.edits]
        skipped = [n for n in result.not_checked if n.edit in d.edits]
        status: ItemStatus
        if any(f.severity is Severity.ERROR for f in found):
            status = "missing"
        elif skipped:
            status = "unknown"
        elif found:
            status = "warning"
        else:
            status = "present"
        evidence.append(
            EvidenceItem(
                key, d.label, status, _facts(key, enc, families, regions, policy, history), found, skipped
            )
        )
    other = [
        f
        for f in result.findings
        if f.severity is Severity.ERROR and f.edit not in judged and not f.edit.startswith(_NOT_FOR_REQUESTS)
    ]
    services = []
    for ln in lines:
        info = engine.reference.info(ln.code)
        rule = _rule_for(policy, enc, ln.code)
        if rule is None and info is not None:
            # an add-on rides on its primary's authorization (RULES.md section 7)
            rule = next((r for p in info.addon_of if (r := _rule_for(policy, enc, p))), None)
        services.append(
            ServiceNeed(
                ln.code, list(ln.modifiers), ln.units, info.family if info else None, rule is not None, rule
            )
        )
    start = requested_on or date.today()
    return AuthRequestPacket(
        encounter=enc,
        payer_policy=policy.id,
        lines=lines,
        services=services,
        families=families,
        evidence=evidence,
        other_problems=other,
        not_checked=[
            n for n in result.not_checked if n.edit not in judged and not n.edit.startswith(_NOT_FOR_REQUESTS)
        ],
        response_due=start + timedelta(days=policy.authorization.response_days),
        expedited_response_due=start + timedelta(days=policy.authorization.expedited_response_days),
        history_used=history is not None,
        scrub=result,
    )


def to_x278(packet: AuthRequestPacket, *, urgent: bool = False) -> AuthRequest:
    """The request as the 278 writer takes it (src/painrcm/auth_request_model.py): the services the
    payer wants authorized (all of them when none is on its list), the diagnoses, and one reviewer note
    per evidence item (MSG segments)."""
    from painrcm.auth_request_model import AuthParty, AuthPerson, AuthRequest, AuthService

    enc = packet.encounter
    p = enc.patient
    wanted = [sv for sv in packet.services if sv.needs_authorization] or packet.services
    notes = []
    for e in packet.evidence:
        text = f"{e.label}: {e.status}"
        if e.facts:
            text += " - " + "; ".join(e.facts)
        notes.append(text[:264])
    rendering = enc.rendering_provider.npi
    return AuthRequest(
        request_id=enc.encounter_id,
        place_of_service=enc.place_of_service,
        urgent=urgent,
        payer=AuthParty(id=enc.payer.id, name=enc.payer.name),
        requester=AuthParty(npi=enc.practice.npi or rendering, name=enc.practice.name),
        servicing_provider=AuthParty(npi=rendering) if rendering and rendering != enc.practice.npi else None,
        subscriber=AuthPerson(
            member_id=p.member_id,
            last_name=p.last_name,
            first_name=p.first_name,
            dob=p.dob,
            sex=p.sex if p.sex in ("F", "M") else ("U" if p.sex else None),
        ),
        diagnoses=[strip_dot(d) for d in enc.diagnoses],
        event_from=enc.date_of_service,
        event_to=enc.date_of_service,
        services=[
            AuthService(code=sv.code, modifiers=sv.modifiers[:4], units=sv.units or None, sessions=1)
            for sv in wanted
        ],
        notes=notes,
    )


__all__ = ["AuthRequestPacket", "EvidenceItem", "ServiceNeed", "build_request", "evidence_items", "to_x278"]
