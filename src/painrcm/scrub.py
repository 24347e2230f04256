"""Run the edit catalogue over a claim: ordering, "one problem, one finding", not_checked, fixes."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from painrcm.built import builder
from painrcm.coder import code_encounter
from painrcm.codes.tables import Reference
from painrcm.edits import CATALOGUE
from painrcm.edits.applies import Gate
from painrcm.edits.base import Check, ClaimContext, Edit, FixOp, Hit, Skip, apply_fixes
from painrcm.edits.claim_facts import still_unreadable
from painrcm.model import ClaimResult, Encounter, Finding, Line, NotChecked, Severity, status_of
from painrcm.policy.loader import PolicyBook
from painrcm.policy.schema import Policy

# Edits that need the patient's past services, and those that need the authorization log.
HISTORY_EDITS = (
    "FRQ001", "FRQ002", "FRQ003", "FRQ004", "FRQ005", "FRQ006", "FRQ007", "FRQ008", "FRQ009", "FRQ090",
    "NEC001", "NEC005", "AUT006", "BUN011",
)  # fmt: skip
AUTH_LOG_EDITS = ("AUT002", "AUT003", "AUT004", "AUT005", "AUT006", "AUT090")
# Edits that count lines' units: a line whose units an 837P wrote in a form that is not an X12 number
# (CLM006) has unknown units, which these edits leave out (as they leave out missing units), saying so.
UNITS_EDITS = ("ADD002", "ADD003", "ADD004", "ADD005", "BUN010", "MOD006", "MOD009")


@dataclass(frozen=True)
class Engine:
    """The reference data and policies one scrub run uses."""

    reference: Reference
    policies: PolicyBook

    def policy_for(self, enc: Encounter) -> Policy:
        return self.policies.for_payer(enc.payer)


# results and findings are built from values the engine made itself: nothing needs validating again
_build_finding = builder(Finding)
_build_result = builder(ClaimResult)

_NO_HISTORY = "no history supplied (--history)"
_NO_AUTH_LOG = "no authorization log supplied (--auths)"


# A plan for one kind of claim: the checks to run, in catalogue order, each with the number of
# not_checked entries of skipped edits that come before it, and those entries (the edits skipped for want
# of a history or of the authorization log), in order. The entries of skipped edits are the same for every
# claim of the kind: a claim none of whose checks yields a Skip takes them as they are.
_Run = tuple[Edit, Check, int]
_Steps = tuple[tuple[_Run, ...], tuple[NotChecked, ...]]


class _Plan:
    """The edits a policy runs, in catalogue order, and for each kind of claim (its feature mask, with
    or without a history, needing the authorization log or not) the steps to take: decided once per
    policy and kind, not per claim."""

    def __init__(self, engine: Engine, policy: Policy) -> None:
        off = set(policy.disabled_edits)
        self.edits = tuple(e for e in CATALOGUE.values() if e.id not in off)
        for edit in self.edits:
            if edit.fn is None:
                raise RuntimeError(f"{edit.id} has no check")
        self.gate = Gate(engine.reference, policy, self.edits)
        self._steps: dict[tuple[int, bool, bool], _Steps] = {}

    def steps(self, enc: Encounter, lines: list[Line], history: bool, needs_log: bool) -> _Steps:
        """The checks a claim runs and the not_checked entries of the edits it skips (`_Steps`)."""
        key = (self.gate.mask(enc, lines), history, needs_log)
        found = self._steps.get(key)
        if found is None:
            if len(self._steps) > 10_000:
                self._steps.clear()  # kinds of claims are few; stay bounded whatever arrives
            found = self._steps[key] = self._make(*key)
        return found

    def _make(self, mask: int, history: bool, needs_log: bool) -> _Steps:
        runs: list[_Run] = []
        skipped: list[NotChecked] = []
        for edit, runs_on_mask in zip(self.edits, self.gate.runs(mask), strict=True):
            if not history and edit.id in HISTORY_EDITS:
                skipped.append(_skipped((edit.id, _NO_HISTORY)))
            elif needs_log and edit.id in AUTH_LOG_EDITS:
                skipped.append(_skipped((edit.id, _NO_AUTH_LOG)))
            elif runs_on_mask:  # otherwise the claim has none of the features the edit needs (applies_when)
                assert edit.fn is not None
                runs.append((edit, edit.fn, len(skipped)))
        return tuple(runs), tuple(skipped)


# plans by policy (the policy object is kept with its plan, so an id is never reused while cached)
_PLANS: dict[int, tuple[Policy, Engine, _Plan]] = {}


def _plan(engine: Engine, policy: Policy) -> _Plan:
    found = _PLANS.get(id(policy))
    if found is not None and found[0] is policy and found[1] is engine:
        return found[2]
    if len(_PLANS) > 64:
        _PLANS.clear()
    plan = _Plan(engine, policy)
    _PLANS[id(policy)] = (policy, engine, plan)
    return plan


@functools.lru_cache(maxsize=4096)
def _skipped(key: tuple[str, str]) -> NotChecked:
    # results share these entries: the same edit skipped for the same reason on many claims
    return NotChecked.model_construct(edit=key[0], reason=key[1])


def _evaluate(
    enc: Encounter, lines: list[Line], engine: Engine, policy: Policy, history: Any, auths: Any
) -> tuple[list[tuple[Edit, Hit]], list[NotChecked]]:
    ctx = ClaimContext(enc, lines, engine.reference, policy, history=history, auths=auths)
    hits: list[tuple[Edit, Hit]] = []
    said: list[tuple[int, str, str]] | None = None  # (entries of skipped edits before, edit, reason)
    needs_log = auths is None and bool(
        enc.authorization_number or any(ln.authorization_number for ln in lines)
    )
    runs, skipped = _plan(engine, policy).steps(enc, lines, history is not None, needs_log)
    for edit, check, before in runs:
        for outcome in check(ctx):
            if type(outcome) is Skip:
                if said is None:
                    said = []
                said.append((before, edit.id, outcome.reason))
            else:
                hits.append((edit, outcome))  # type: ignore[arg-type]
    if said is None and not enc.unreadable_numbers:
        return hits, list(skipped)  # the skipped edits' entries: distinct, in catalogue order
    # every (edit, reason) in catalogue order, then the first of each
    keys = [(n.edit, n.reason) for n in skipped]
    for before, eid, reason in reversed(said or ()):  # from the last, so earlier positions stay put
        keys.insert(before, (eid, reason))
    if enc.unreadable_numbers:
        keys += _units_unknown(enc, policy)
    return hits, [_skipped(key) for key in dict.fromkeys(keys)]


def _units_unknown(enc: Encounter, policy: Policy) -> list[tuple[str, str]]:
    lines = [n.line for n in still_unreadable(enc) if n.element == "SV104" and n.line is not None]
    if not lines:
        return []
    which = ", ".join(str(k) for k in lines)
    reason = f"the units of line {which} (SV104) are not an X12 number (CLM006), so they were not counted"
    off = set(policy.disabled_edits)
    return [(eid, reason) for eid in UNITS_EDITS if eid not in off and eid in CATALOGUE]


def _finding(edit: Edit, hit: Hit, lines: list[Line]) -> Finding:
    code = hit.code
    if code is None and hit.line is not None and 0 <= hit.line < len(lines):
        code = lines[hit.line].code
    return _build_finding(
        edit=edit.id,
        severity=hit.severity or edit.severity,
        line=None if hit.line is None else hit.line + 1,
        code=code,
        message=hit.message,
        fix=hit.fix,
    )


def _fixed_lines(
    enc: Encounter,
    lines: list[Line],
    engine: Engine,
    policy: Policy,
    history: Any,
    auths: Any,
    hits: list[tuple[Edit, Hit]],
) -> list[Line] | None:
    current = lines
    for _ in range(8):
        errors = [h for e, h in hits if (h.severity or e.severity) is Severity.ERROR]
        if any(h.ops is None for h in errors):
            return None
        ops: list[FixOp] = [op for _, h in hits if h.ops for op in h.ops]
        if not ops:
            return current
        current = apply_fixes(current, _ordered(ops))
        hits, _ = _evaluate(enc, current, engine, policy, history, auths)
    errors = [h for e, h in hits if (h.severity or e.severity) is Severity.ERROR]
    return None if errors else current


def _ordered(ops: Iterable[FixOp]) -> list[FixOp]:
    # Replacements first, so modifier and unit changes land on the replacing lines too;
    # removals last, so nothing is added to a line that is going away.
    rank = {"replace": 0, "code": 1, "units": 2, "remove_modifier": 3, "add_modifier": 4, "remove": 5}
    return sorted(ops, key=lambda op: rank[op.kind])


def scrub_encounter(
    enc: Encounter,
    engine: Engine,
    *,
    history: Any = None,
    auths: Any = None,
    fix: bool = False,
) -> ClaimResult:
    """Scrub one claim. An encounter without lines is coded first (InputError if it cannot be)."""
    policy = engine.policy_for(enc)
    lines = enc.lines if enc.lines is not None else code_encounter(enc, engine.reference, policy)
    hits, skipped = _evaluate(enc, lines, engine, policy, history, auths)
    findings = [_finding(e, h, lines) for e, h in hits]
    fixed = _fixed_lines(enc, lines, engine, policy, history, auths, hits) if fix else None
    # built from values the engine made itself: nothing here needs validating again
    return _build_result(
        claim_id=enc.encounter_id,
        status=status_of(findings),
        lines=list(lines),
        findings=findings,
        not_checked=skipped,
        fixed_lines=fixed,
        payer_policy=policy.id,
        editions=dict(engine.reference.editions_),
    )
