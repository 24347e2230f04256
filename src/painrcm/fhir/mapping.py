"""FHIR R4 <-> painrcm: Claim in, OperationOutcome and ClaimResponse out, a payer's ClaimResponse in.

Every mapping rule is listed in docs/fhir.md. What cannot be mapped is a `FhirError` naming the
FHIRPath of the element and what was expected (the API answers 422 with an OperationOutcome).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from painrcm.auth_request_model import DECISIONS, REQUEST_STATUS
from painrcm.model import ClaimResult, Encounter, Severity

if TYPE_CHECKING:
    from painrcm.authreq import AuthRequestPacket

NPI = "http://hl7.org/fhir/sid/us-npi"
TIN = "urn:oid:2.16.840.1.113883.4.4"
ICD10 = ("http://hl7.org/fhir/sid/icd-10-cm", "http://hl7.org/fhir/sid/icd-10")
ICD9 = ("http://hl7.org/fhir/sid/icd-9-cm",)
POS = "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set"
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
CLAIM_TYPE = "http://terminology.hl7.org/CodeSystem/claim-type"
NUCC = "http://nucc.org/provider-taxonomy"
ASC_TAXONOMY = "261QA1903X"
# painrcm's own identifiers (URNs: not resolvable addresses, just names)
SUPPORTING = "urn:painrcm:fhir:supporting-info"
PLAN = "urn:painrcm:fhir:plan"
PRACTICE = "urn:painrcm:practice"
EDIT = "urn:painrcm:edit"
REQUEST = "urn:painrcm:auth-request"
# Da Vinci PAS: the review action on a prior-authorization response (X12 HCR01 values)
REVIEW_ACTION = "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/extension-reviewAction"
REVIEW_ACTION_CODE = "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/extension-reviewActionCode"
AUTHORIZED_DETAIL = "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/extension-itemAuthorizedDetail"

CLAIM_STATUSES = ("active", "cancelled", "draft", "entered-in-error")
USES = ("claim", "preauthorization", "predetermination")
PLANS = ("medicare", "medicare_advantage", "medicaid", "commercial")
# X12 claim filing indicator (SBR09) as a Coverage.type code: the same mapping as the 837P (CONTRACTS 2a)
FILING = {"MB": "medicare", "MA": "medicare", "MC": "medicaid", "16": "medicare_advantage"}
GENDER = {"female": "F", "male": "M", "other": "X", "unknown": "U"}
SEVERITY = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "information"}


class FhirError(Exception):
    """A resource painrcm cannot map: where (FHIRPath) and what was expected."""

    def __init__(self, expression: str, message: str, code: str = "invalid") -> None:
        super().__init__(f"{expression}: {message}")
        self.expression = expression
        self.message = message
        self.code = code


@dataclass
class Parsed:
    claim: dict[str, Any]
    resources: dict[str, dict[str, Any]]  # reference -> resource (contained "#id", "Type/id", fullUrl)

    def resolve(self, ref: Any, where: str, expect: str | tuple[str, ...]) -> dict[str, Any]:
        kinds = (expect,) if isinstance(expect, str) else expect
        if not isinstance(ref, dict) or not isinstance(ref.get("reference"), str):
            raise FhirError(where, f"a reference to a {' or '.join(kinds)}")
        res = self.resources.get(ref["reference"])
        if res is None:
            raise FhirError(
                where, f"{ref['reference']!r} is not contained in the Claim nor an entry of the Bundle"
            )
        if res.get("resourceType") not in kinds:
            raise FhirError(where, f"a {' or '.join(kinds)}, found a {res.get('resourceType')}")
        return res


# --- reading ------------------------------------------------------------------------------------
def _loc(prefix: str, loc: tuple[Any, ...]) -> str:
    out = prefix
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(part, str) and not part.startswith("function-"):
            out += f".{part}"
    return out


def _validate(kind: str, doc: dict[str, Any], where: str) -> None:
    """Structure check with the fhir.resources R4B model of this resource type."""
    import importlib

    module = importlib.import_module(f"fhir.resources.R4B.{kind.lower()}")
    try:
        getattr(module, kind).model_validate(doc)
    except ValidationError as e:
        first = e.errors()[0]
        raise FhirError(_loc(where, tuple(first.get("loc", ()))), str(first.get("msg", "invalid"))) from None
    except (TypeError, ValueError) as e:
        raise FhirError(where, f"a valid {kind} ({e})") from None


def parse(body: Any, *, want_use: str | None = None) -> Parsed:
    """Find the Claim in a Claim, a Parameters (`resource`) or a Bundle, with what it references."""
    if not isinstance(body, dict) or not isinstance(body.get("resourceType"), str):
        raise FhirError("$", "a FHIR resource (a JSON object with resourceType)", "structure")
    if body["resourceType"] == "Parameters":
        params = body.get("parameter") or []
        found = next(
            (p.get("resource") for p in params if isinstance(p, dict) and p.get("name") == "resource"), None
        )
        if not isinstance(found, dict):
            raise FhirError(
                "Parameters.parameter", "a parameter named 'resource' holding a Claim", "required"
            )
        body = found
    resources: dict[str, dict[str, Any]] = {}
    if body["resourceType"] == "Bundle":
        _validate("Bundle", body, "Bundle")
        claim = None
        for i, entry in enumerate(body.get("entry") or []):
            res = entry.get("resource") if isinstance(entry, dict) else None
            if not isinstance(res, dict):
                raise FhirError(f"Bundle.entry[{i}]", "an entry with a resource", "required")
            if claim is None and res.get("resourceType") == "Claim":
                claim = res
            if entry.get("fullUrl"):
                resources[entry["fullUrl"]] = res
            if res.get("id"):
                resources[f"{res.get('resourceType')}/{res['id']}"] = res
        if claim is None:
            raise FhirError("Bundle.entry", "a Claim entry", "required")
    elif body["resourceType"] == "Claim":
        claim = body
    else:
        raise FhirError(
            "$", f"a Claim, a Parameters or a Bundle, found a {body['resourceType']}", "not-supported"
        )
    _validate("Claim", claim, "Claim")
    for c in claim.get("contained") or []:
        if isinstance(c, dict) and c.get("id"):
            resources[f"#{c['id']}"] = c
    status = claim.get("status")
    if status not in CLAIM_STATUSES:
        raise FhirError("Claim.status", f"one of {', '.join(CLAIM_STATUSES)}", "code-invalid")
    use = claim.get("use")
    if use not in USES:
        raise FhirError("Claim.use", f"one of {', '.join(USES)}", "code-invalid")
    if want_use is not None and use != want_use:
        raise FhirError("Claim.use", f"{want_use!r} for this operation, found {use!r}", "business-rule")
    kind = _code(claim.get("type"), CLAIM_TYPE)
    if kind is not None and kind != "professional":
        raise FhirError("Claim.type", f"a professional claim, found {kind!r}", "not-supported")
    return Parsed(claim, resources)


def _codings(cc: Any) -> list[dict[str, Any]]:
    if not isinstance(cc, dict):
        return []
    return [c for c in cc.get("coding") or [] if isinstance(c, dict) and c.get("code")]


def _code(cc: Any, system: str | tuple[str, ...] | None = None) -> str | None:
    systems = (system,) if isinstance(system, str) else system
    for c in _codings(cc):
        if systems is None or c.get("system") in systems:
            return str(c["code"])
    return None


def _identifier(res: dict[str, Any], system: str | None = None, type_code: str | None = None) -> str | None:
    for ident in res.get("identifier") or []:
        if not isinstance(ident, dict) or not ident.get("value"):
            continue
        if system is not None and ident.get("system") != system:
            continue
        if type_code is not None and _code(ident.get("type"), V2_0203) != type_code:
            continue
        return str(ident["value"])
    return None


def _state(res: dict[str, Any]) -> str | None:
    for a in res.get("address") or []:
        if isinstance(a, dict) and a.get("state"):
            return str(a["state"]).strip().upper()
    return None


def _name(res: dict[str, Any]) -> tuple[str | None, str | None]:
    for n in res.get("name") or []:
        if isinstance(n, dict):
            given = n.get("given") or []
            return n.get("family"), (given[0] if given else None)
    return None, None


def _day(value: Any, where: str) -> date:
    if not isinstance(value, str):
        raise FhirError(where, "a date YYYY-MM-DD", "required")
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        raise FhirError(where, f"a date YYYY-MM-DD, found {value!r}") from None


def _service_day(item: dict[str, Any], where: str) -> date | None:
    if item.get("servicedDate"):
        return _day(item["servicedDate"], f"{where}.servicedDate")
    period = item.get("servicedPeriod")
    if isinstance(period, dict) and period.get("start"):
        return _day(period["start"], f"{where}.servicedPeriod.start")
    return None


def _supporting(claim: dict[str, Any]) -> dict[str, Any]:
    """The procedure note, carried as supportingInfo with painrcm's categories (docs/fhir.md)."""
    procedures: list[Any] = []
    documentation: dict[str, Any] = {}
    evaluation: dict[str, Any] | None = None
    for i, info in enumerate(claim.get("supportingInfo") or []):
        where = f"Claim.supportingInfo[{i}]"
        cat = _code(info.get("category"), SUPPORTING)
        if cat is None:
            continue
        if cat in ("procedure", "evaluation"):
            try:
                value = json.loads(info.get("valueString") or "")
            except ValueError:
                raise FhirError(f"{where}.valueString", f"a JSON object describing the {cat}") from None
            if not isinstance(value, dict):
                raise FhirError(f"{where}.valueString", f"a JSON object describing the {cat}")
            if cat == "procedure":
                procedures.append(value)
            else:
                evaluation = value
        elif cat == "conservative-care-weeks":
            q = info.get("valueQuantity") or {}
            if not isinstance(q, dict) or q.get("value") is None:
                raise FhirError(f"{where}.valueQuantity", "the weeks of conservative care")
            documentation["conservative_care_weeks"] = float(q["value"])
        elif cat == "psych-evaluation":
            if not isinstance(info.get("valueBoolean"), bool):
                raise FhirError(f"{where}.valueBoolean", "true or false")
            documentation["psych_evaluation"] = info["valueBoolean"]
        elif cat == "indication":
            documentation["indication"] = str(info.get("valueString") or "")
        else:
            raise FhirError(
                f"{where}.category", f"a painrcm category painrcm knows, found {cat!r}", "code-invalid"
            )
    out: dict[str, Any] = {"procedures": procedures, "documentation": documentation}
    if evaluation is not None:
        out["evaluation"] = evaluation
    return out


def claim_to_encounter(parsed: Parsed, *, practice_id: str | None = None) -> Encounter:
    """The encounter a professional Claim describes (docs/fhir.md, field by field)."""
    claim = parsed.claim
    cid = _identifier(claim) or claim.get("id")
    if not cid:
        raise FhirError("Claim.identifier", "an identifier (the claim or request ID)", "required")
    patient_res = parsed.resolve(claim.get("patient"), "Claim.patient", "Patient")
    insurance = sorted(
        (i for i in claim.get("insurance") or [] if isinstance(i, dict)),
        key=lambda i: (not i.get("focal"), i.get("sequence") or 0),
    )
    if not insurance:
        raise FhirError("Claim.insurance", "the patient's coverage", "required")
    ins = insurance[0]
    ins_where = f"Claim.insurance[{(claim.get('insurance') or []).index(ins)}]"
    coverage = parsed.resolve(ins.get("coverage"), f"{ins_where}.coverage", "Coverage")
    payors = coverage.get("payor") or []
    if not payors:
        raise FhirError("Coverage.payor", "the payer", "required")
    payer_res = parsed.resolve(payors[0], "Coverage.payor[0]", "Organization")
    payer_id = _identifier(payer_res)
    if not payer_id:
        raise FhirError("Coverage.payor.identifier", "the payer ID", "required")
    plan = _code(coverage.get("type"), PLAN)
    if plan is None:
        filing = next(
            (FILING.get(c["code"]) for c in _codings(coverage.get("type")) if c["code"] in FILING), None
        )
        plan = filing or "commercial"
    if plan not in PLANS:
        raise FhirError("Coverage.type", f"a plan among {', '.join(PLANS)}, found {plan!r}", "code-invalid")
    member_id = _identifier(patient_res, type_code="MB") or coverage.get("subscriberId")
    last, first = _name(patient_res)
    provider = parsed.resolve(
        claim.get("provider"), "Claim.provider", ("Organization", "Practitioner", "PractitionerRole")
    )
    taxonomies = [c["code"] for q in provider.get("qualification") or [] for c in _codings(q.get("code"))]
    taxonomies += [c["code"] for t in provider.get("type") or [] for c in _codings(t)]
    practice: dict[str, Any] = {
        "id": practice_id or _identifier(provider, PRACTICE) or _identifier(provider, NPI),
        "name": provider.get("name") if isinstance(provider.get("name"), str) else None,
        "npi": _identifier(provider, NPI),
        "tax_id": _identifier(provider, TIN),
        "kind": "asc" if ASC_TAXONOMY in taxonomies else "physician",
        "state": _state(provider),
    }
    rendering: dict[str, Any] = {}
    for i, member in enumerate(claim.get("careTeam") or []):
        role = _code(member.get("role"))
        if role in ("primary", "rendering", "performing") or len(claim.get("careTeam") or []) == 1:
            prac = parsed.resolve(
                member.get("provider"),
                f"Claim.careTeam[{i}].provider",
                ("Practitioner", "PractitionerRole", "Organization"),
            )
            fam, giv = _name(prac)
            rendering = {"npi": _identifier(prac, NPI), "name": " ".join(x for x in (giv, fam) if x) or None}
            break
    if not rendering:
        rendering = {"npi": practice["npi"], "name": practice["name"]}
    diagnoses: list[tuple[int, str]] = []
    for i, d in enumerate(claim.get("diagnosis") or []):
        where = f"Claim.diagnosis[{i}]"
        if _code(d.get("diagnosisCodeableConcept"), ICD9):
            raise FhirError(f"{where}.diagnosisCodeableConcept", "an ICD-10-CM code (ICD-9 is not accepted)")
        code = _code(d.get("diagnosisCodeableConcept"), ICD10)
        if code is None:
            raise FhirError(
                f"{where}.diagnosisCodeableConcept",
                "an ICD-10-CM coding (system http://hl7.org/fhir/sid/icd-10-cm)",
            )
        diagnoses.append((int(d.get("sequence") or i + 1), code))
    diagnoses.sort()
    pointer = {seq: n for n, (seq, _) in enumerate(diagnoses, 1)}
    lines: list[dict[str, Any]] = []
    days: list[date] = []
    pos_seen: list[str] = []
    items = sorted(
        ((i, it) for i, it in enumerate(claim.get("item") or []) if isinstance(it, dict)),
        key=lambda x: x[1].get("sequence") or 0,
    )
    for i, item in items:
        where = f"Claim.item[{i}]"
        codings = _codings(item.get("productOrService"))
        if not codings:
            raise FhirError(f"{where}.productOrService", "a CPT or HCPCS coding", "required")
        line: dict[str, Any] = {
            "code": str(codings[0]["code"]),
            "modifiers": [c for m in item.get("modifier") or [] if (c := _code(m))],
        }
        q = item.get("quantity")
        line["units"] = float(q["value"]) if isinstance(q, dict) and q.get("value") is not None else 1
        ptrs = []
        for seq in item.get("diagnosisSequence") or []:
            if seq not in pointer:
                raise FhirError(f"{where}.diagnosisSequence", f"a sequence of Claim.diagnosis, found {seq}")
            ptrs.append(pointer[seq])
        line["diagnosis_pointers"] = ptrs
        day = _service_day(item, where)
        if day is not None:
            days.append(day)
            line["date_of_service"] = day.isoformat()
        pos = _code(item.get("locationCodeableConcept"), POS)
        if pos:
            pos_seen.append(pos)
            line["place_of_service"] = pos
        money = item.get("net") or item.get("unitPrice")
        if isinstance(money, dict) and money.get("value") is not None:
            line["charge"] = float(money["value"])
        lines.append(line)
    billable = claim.get("billablePeriod") or {}
    if days:
        dos = min(days)
    elif isinstance(billable, dict) and billable.get("start"):
        dos = _day(billable["start"], "Claim.billablePeriod.start")
    else:
        raise FhirError(
            "Claim.item.servicedDate", "the date of service (or Claim.billablePeriod.start)", "required"
        )
    place = pos_seen[0] if pos_seen else None
    if place is None:
        facility = claim.get("facility")
        if facility:
            loc = parsed.resolve(facility, "Claim.facility", "Location")
            place = _code((loc.get("type") or [None])[0], POS)
    if place is None:
        raise FhirError("Claim.item.locationCodeableConcept", "the CMS place-of-service code", "required")
    for line in lines:
        if line.get("place_of_service") == place:
            line.pop("place_of_service")
        if line.get("date_of_service") == dos.isoformat():
            line.pop("date_of_service")
    refs = [r for r in ins.get("preAuthRef") or [] if r]
    note = _supporting(claim)
    doc: dict[str, Any] = {
        "schema": "painrcm.encounter/1",
        "encounter_id": str(cid),
        "practice": {k: v for k, v in practice.items() if v is not None},
        "rendering_provider": {k: v for k, v in rendering.items() if v is not None},
        "patient": {
            k: v
            for k, v in {
                "id": _identifier(patient_res, type_code="MR"),
                "member_id": member_id,
                "last_name": last,
                "first_name": first,
                "dob": patient_res.get("birthDate"),
                "sex": GENDER.get(str(patient_res.get("gender"))),
            }.items()
            if v is not None
        },
        "payer": {
            k: v
            for k, v in {
                "id": payer_id,
                "plan": plan,
                "state": _state(payer_res),
                "name": payer_res.get("name"),
            }.items()
            if v is not None
        },
        "date_of_service": dos.isoformat(),
        "place_of_service": place,
        "diagnoses": [code for _, code in diagnoses],
        **note,
    }
    if refs:
        doc["authorization_number"] = str(refs[0])
    if lines:
        doc["lines"] = lines
    try:
        return Encounter.model_validate(doc)
    except ValidationError as e:
        first_err = e.errors()[0]
        where = ".".join(str(p) for p in first_err.get("loc", ()))
        raise FhirError(f"Claim (as encounter {where})", str(first_err.get("msg"))) from None


# --- writing ------------------------------------------------------------------------------------
def _issue(severity: str, code: str, text: str, *, edit: str | None = None, expression: str | None = None,
           diagnostics: str | None = None) -> dict[str, Any]:  # fmt: skip
    issue: dict[str, Any] = {"severity": severity, "code": code, "details": {"text": text}}
    if edit:
        issue["details"]["coding"] = [{"system": EDIT, "code": edit}]
    if expression:
        issue["expression"] = [expression]
    if diagnostics:
        issue["diagnostics"] = diagnostics
    return issue


def outcome_for(result: ClaimResult) -> dict[str, Any]:
    """One issue per finding (edit, severity, line, message; the fix as diagnostics), then one
    `incomplete` issue per edit that could not be checked. A clean claim gets one information issue."""
    issues = [
        _issue(
            SEVERITY[f.severity],
            "business-rule",
            f.message,
            edit=f.edit,
            expression="Claim" if f.line is None else f"Claim.item[{f.line - 1}]",
            diagnostics=f"fix: {f.fix}" if f.fix else None,
        )
        for f in result.findings
    ]
    issues += [
        _issue("information", "incomplete", f"not checked: {n.reason}", edit=n.edit, expression="Claim")
        for n in result.not_checked
    ]
    if not result.findings:
        issues.insert(
            0, _issue("information", "informational", f"painrcm found no problem ({result.status})")
        )
    return {"resourceType": "OperationOutcome", "issue": issues}


def error_outcome(err: FhirError) -> dict[str, Any]:
    return {
        "resourceType": "OperationOutcome",
        "issue": [_issue("error", err.code, err.message, expression=err.expression)],
    }


def claim_response_for(
    parsed: Parsed, packet: AuthRequestPacket, request_id: str, status: str
) -> dict[str, Any]:
    """A pended prior-authorization answer: what the request still needs, one note per gap."""
    claim = parsed.claim
    now = datetime.now().astimezone().isoformat(timespec="seconds")
    notes = [{"number": n, "type": "display", "text": text} for n, text in enumerate(packet.gaps(), 1)]
    ready = packet.ready
    resp: dict[str, Any] = {
        "resourceType": "ClaimResponse",
        "identifier": [{"system": REQUEST, "value": request_id}],
        "status": "active",
        "type": claim.get("type") or {"coding": [{"system": CLAIM_TYPE, "code": "professional"}]},
        "use": "preauthorization",
        "patient": claim.get("patient"),
        "created": now,
        "insurer": (claim.get("insurer") or {"display": packet.encounter.payer.id}),
        "requestor": claim.get("provider"),
        "request": {"identifier": {"system": REQUEST, "value": packet.encounter.encounter_id}},
        "outcome": "queued",
        "disposition": (
            "Pended: the request carries the evidence the payer's policy asks for"
            if ready
            else f"Pended: the request is waiting for {len(packet.gaps())} item(s) of evidence"
        ),
        "extension": [
            {
                "url": REVIEW_ACTION,
                "extension": [
                    {
                        "url": "code",
                        "valueCodeableConcept": {"coding": [{"system": REVIEW_ACTION_CODE, "code": "A4"}]},
                    }
                ],
            }
        ],
        "item": [
            {"itemSequence": n, "adjudication": [{"category": {"coding": [{"code": "submitted"}]}}]}
            for n, _ in enumerate(packet.services, 1)
        ],
    }
    if notes:
        resp["processNote"] = notes
    resp["extension"].append({"url": "urn:painrcm:fhir:request-status", "valueCode": status})
    return resp


@dataclass
class Decision:
    """What a payer's ClaimResponse decided about a prior-authorization request."""

    request_id: str | None
    status: str  # approved | pended | denied
    auth_number: str | None
    start: date | None
    end: date | None
    sessions: int | None
    codes: list[str]
    disposition: str | None


# X12 HCR01 (the PAS review action) -> our authorization status
ACTIONS = {code: REQUEST_STATUS[d] for code, d in DECISIONS.items() if d in REQUEST_STATUS}


def _review_action(res: dict[str, Any]) -> str | None:
    for ext in res.get("extension") or []:
        if isinstance(ext, dict) and ext.get("url") == REVIEW_ACTION:
            for sub in ext.get("extension") or []:
                if sub.get("url") == "code":
                    return _code(sub.get("valueCodeableConcept"))
    return None


def decision_from_response(body: Any) -> Decision:
    if not isinstance(body, dict) or body.get("resourceType") != "ClaimResponse":
        raise FhirError("$", "a ClaimResponse", "structure")
    _validate("ClaimResponse", body, "ClaimResponse")
    if body.get("use") != "preauthorization":
        raise FhirError("ClaimResponse.use", "'preauthorization'", "business-rule")
    request = body.get("request") or {}
    req_ident = request.get("identifier") if isinstance(request, dict) else None
    request_id = (
        str(req_ident.get("value")) if isinstance(req_ident, dict) and req_ident.get("value") else None
    )
    if request_id is None:
        raise FhirError(
            "ClaimResponse.request.identifier", "the identifier of the request it answers", "required"
        )
    actions = [a for it in body.get("item") or [] if (a := _review_action(it))]
    action = _review_action(body) or (actions[0] if actions else None)
    if action in ACTIONS:
        status = ACTIONS[action]
    else:
        outcome = body.get("outcome")
        status = {"complete": "approved", "partial": "approved", "queued": "pended", "error": "denied"}.get(
            str(outcome), ""
        )
        if not status:
            raise FhirError(
                "ClaimResponse.outcome",
                "queued, complete, partial or error (or a PAS review action)",
                "code-invalid",
            )
    ref = body.get("preAuthRef")
    period = body.get("preAuthPeriod") or {}
    sessions = None
    for it in body.get("item") or []:
        for ext in it.get("extension") or []:
            if ext.get("url") == AUTHORIZED_DETAIL:
                for sub in ext.get("extension") or []:
                    q = sub.get("valueQuantity")
                    if sub.get("url") == "quantity" and isinstance(q, dict) and q.get("value") is not None:
                        sessions = (sessions or 0) + int(Decimal(str(q["value"])))
    codes = [c for ai in body.get("addItem") or [] if (c := _code(ai.get("productOrService")))]
    if status == "approved" and not ref:
        raise FhirError(
            "ClaimResponse.preAuthRef", "the certification number of an approved request", "required"
        )
    return Decision(
        request_id=request_id,
        status=status,
        auth_number=str(ref) if ref else None,
        start=_day(period["start"], "ClaimResponse.preAuthPeriod.start") if period.get("start") else None,
        end=_day(period["end"], "ClaimResponse.preAuthPeriod.end") if period.get("end") else None,
        sessions=sessions,
        codes=codes,
        disposition=body.get("disposition"),
    )


def encounter_to_claim(enc: Encounter, use: str = "claim") -> dict[str, Any]:
    """The inverse mapping: an encounter as a FHIR Claim with contained resources (examples, tests and
    EHR teams who want to see what painrcm expects)."""
    p = enc.patient
    patient: dict[str, Any] = {"resourceType": "Patient", "id": "patient"}
    idents = []
    if p.member_id:
        idents.append({"type": {"coding": [{"system": V2_0203, "code": "MB"}]}, "value": p.member_id})
    if p.id:
        idents.append({"type": {"coding": [{"system": V2_0203, "code": "MR"}]}, "value": p.id})
    if idents:
        patient["identifier"] = idents
    if p.last_name or p.first_name:
        patient["name"] = [
            {
                k: v
                for k, v in {"family": p.last_name, "given": [p.first_name] if p.first_name else None}.items()
                if v
            }
        ]
    if p.dob:
        patient["birthDate"] = p.dob.isoformat()
    if p.sex:
        patient["gender"] = {v: k for k, v in GENDER.items()}[p.sex]
    payer: dict[str, Any] = {
        "resourceType": "Organization",
        "id": "payer",
        "identifier": [{"value": enc.payer.id}],
    }
    if enc.payer.name:
        payer["name"] = enc.payer.name
    if enc.payer.state:
        payer["address"] = [{"state": enc.payer.state}]
    coverage: dict[str, Any] = {
        "resourceType": "Coverage",
        "id": "coverage",
        "status": "active",
        "type": {"coding": [{"system": PLAN, "code": enc.payer.plan}]},
        "beneficiary": {"reference": "#patient"},
        "payor": [{"reference": "#payer"}],
    }
    if p.member_id:
        coverage["subscriberId"] = p.member_id
    pr = enc.practice
    org: dict[str, Any] = {"resourceType": "Organization", "id": "billing"}
    org_ids = []
    if pr.id:
        org_ids.append({"system": PRACTICE, "value": pr.id})
    if pr.npi:
        org_ids.append({"system": NPI, "value": pr.npi})
    if pr.tax_id:
        org_ids.append({"system": TIN, "value": pr.tax_id})
    if org_ids:
        org["identifier"] = org_ids
    if pr.name:
        org["name"] = pr.name
    if pr.state:
        org["address"] = [{"state": pr.state}]
    if pr.kind == "asc":
        org["type"] = [{"coding": [{"system": NUCC, "code": ASC_TAXONOMY}]}]
    contained = [patient, payer, coverage, org]
    claim: dict[str, Any] = {
        "resourceType": "Claim",
        "identifier": [{"value": enc.encounter_id}],
        "status": "active",
        "type": {"coding": [{"system": CLAIM_TYPE, "code": "professional"}]},
        "use": use,
        "patient": {"reference": "#patient"},
        "created": enc.date_of_service.isoformat(),
        "provider": {"reference": "#billing"},
        "priority": {"coding": [{"code": "normal"}]},
        "insurance": [{"sequence": 1, "focal": True, "coverage": {"reference": "#coverage"}}],
        "billablePeriod": {"start": enc.date_of_service.isoformat()},
    }
    rp = enc.rendering_provider
    if rp.npi or rp.name:
        prac: dict[str, Any] = {"resourceType": "Practitioner", "id": "rendering"}
        if rp.npi:
            prac["identifier"] = [{"system": NPI, "value": rp.npi}]
        if rp.name:
            prac["name"] = [{"text": rp.name, "family": rp.name}]
        contained.append(prac)
        claim["careTeam"] = [
            {
                "sequence": 1,
                "provider": {"reference": "#rendering"},
                "role": {"coding": [{"code": "primary"}]},
            }
        ]
    if enc.authorization_number:
        claim["insurance"][0]["preAuthRef"] = [enc.authorization_number]
    if enc.diagnoses:
        claim["diagnosis"] = [
            {"sequence": n, "diagnosisCodeableConcept": {"coding": [{"system": ICD10[0], "code": dx}]}}
            for n, dx in enumerate(enc.diagnoses, 1)
        ]
    info: list[dict[str, Any]] = []

    def cat(code: str) -> dict[str, Any]:
        return {"coding": [{"system": SUPPORTING, "code": code}]}

    for proc in enc.procedures:
        info.append({"category": cat("procedure"), "valueString": proc.model_dump_json(exclude_none=True)})
    if enc.evaluation is not None:
        info.append(
            {"category": cat("evaluation"), "valueString": enc.evaluation.model_dump_json(exclude_none=True)}
        )
    doc = enc.documentation
    if doc.conservative_care_weeks is not None:
        info.append(
            {
                "category": cat("conservative-care-weeks"),
                "valueQuantity": {"value": doc.conservative_care_weeks, "unit": "wk"},
            }
        )
    if doc.psych_evaluation is not None:
        info.append({"category": cat("psych-evaluation"), "valueBoolean": doc.psych_evaluation})
    if doc.indication:
        info.append({"category": cat("indication"), "valueString": doc.indication})
    for n, item in enumerate(info, 1):
        item["sequence"] = n
    if info:
        claim["supportingInfo"] = info
    items = []
    for n, ln in enumerate(enc.lines or [], 1):
        item: dict[str, Any] = {
            "sequence": n,
            "productOrService": {"coding": [{"code": ln.code}]},
            "servicedDate": (ln.date_of_service or enc.date_of_service).isoformat(),
            "locationCodeableConcept": {
                "coding": [{"system": POS, "code": ln.place_of_service or enc.place_of_service}]
            },
        }
        if ln.modifiers:
            item["modifier"] = [{"coding": [{"code": m}]} for m in ln.modifiers]
        if ln.units is not None:
            item["quantity"] = {"value": ln.units}
        if ln.diagnosis_pointers:
            item["diagnosisSequence"] = list(ln.diagnosis_pointers)
        if ln.charge is not None:
            item["net"] = {"value": ln.charge, "currency": "USD"}
        items.append(item)
    if items:
        claim["item"] = items
    else:
        loc = {
            "resourceType": "Location",
            "id": "facility",
            "type": [{"coding": [{"system": POS, "code": enc.place_of_service}]}],
        }
        contained.append(loc)
        claim["facility"] = {"reference": "#facility"}
    claim["contained"] = contained
    return claim
