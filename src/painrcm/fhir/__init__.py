"""The FHIR R4 front door (an adapter at the API edge; the engine never sees FHIR).

- `mapping.claim_to_encounter`: a professional `Claim` (with its referenced resources, contained or in
  a Bundle) becomes an encounter (CONTRACTS.md section 2); field by field in docs/fhir.md.
- `mapping.outcome_for`: a scrub result becomes an `OperationOutcome` (one issue per finding, plus the
  edits that could not be checked).
- `mapping.claim_response_for`: a built prior-authorization request becomes a pended `ClaimResponse`.
- `mapping.decision_from_response`: a payer's `ClaimResponse` becomes an authorization decision.

Resources are parsed with the `fhir.resources` R4B models (R4B keeps R4's Claim and ClaimResponse);
the codes those models leave as free strings (status, use, claim type) are checked here.
"""
