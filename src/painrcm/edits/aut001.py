"""AUT001: the payer requires prior authorization for a billed code and the claim carries none."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from painrcm.edits.base import ClaimContext, Edit, Hit, Outcome, Skip
from painrcm.model import Severity
from painrcm.policy.schema import AuthRule

NO_STATE = "practice.state unknown: the WISeR check needs where the service was furnished"


def _active(rule: AuthRule, dos: date) -> bool:
    if rule.effective_from and dos < rule.effective_from:
        return False
    return not (rule.effective_to and dos > rule.effective_to)


def missing_auth(ctx: ClaimContext, edit_id: str) -> tuple[list[int], list[AuthRule], list[int]]:
    """Lines that need an authorization under the payer's rules whose `missing` is `edit_id` and carry
    none: (lines, the rules that apply, lines that would need one if the practice's state were known)."""
    rules = [r for r in ctx.policy.authorization.rules if r.missing == edit_id]
    lines: list[int] = []
    applied: list[AuthRule] = []
    unknown_state: list[int] = []
    state = ctx.encounter.practice.state
    for i, line in enumerate(ctx.lines):
        if ctx.encounter.authorization_number or line.authorization_number:
            continue
        for rule in rules:
            if line.code not in rule.codes or not _active(rule, ctx.line_dos(i)):
                continue
            if rule.states:
                if state is None:
                    unknown_state.append(i)
                    continue
                if state not in rule.states:
                    continue
            lines.append(i)
            if rule not in applied:
                applied.append(rule)
            break
    return lines, applied, [i for i in dict.fromkeys(unknown_state) if i not in lines]


def where(ctx: ClaimContext, lines: list[int]) -> str:
    return ", ".join(f"{ctx.lines[i].code} on line {i + 1}" for i in lines)


EDIT = Edit(
    id="AUT001",
    severity=Severity.ERROR,
    applies_when=("auth_rule:AUT001",),
    title="Prior authorization required but no authorization number on the claim",
    what="Checks the payer's prior-authorization rules (codes, dates, states) against the billed lines and "
    "flags a claim that bills a code needing authorization without an authorization number (on the claim "
    "or on the line).",
    why="Payers that require prior authorization deny the service outright when the claim carries no "
    "authorization number (CARC 197/15), and the practice usually cannot bill the patient. Getting a "
    "retro-authorization is rarely possible, so catch it before the service or at least before submission.",
    example={"payer": {"id": "ACME-HEALTH", "plan": "commercial", "state": "CA"}},
    fixed={
        "payer": {"id": "ACME-HEALTH", "plan": "commercial", "state": "CA"},
        "authorization_number": "PA-55012",
    },
    example_note="A right L5 transforaminal epidural (64483) for a commercial plan that requires prior "
    "authorization for epidural injections; the claim has no authorization number. The corrected claim "
    "carries the approved authorization PA-55012.",
    sources=[
        "RULES.md section 7 (prior authorization)",
        "payer policy: authorization.rules",
        "CONTRACTS.md section 2a (REF*G1)",
    ],
)


@EDIT.check
def check(ctx: ClaimContext) -> Iterator[Outcome]:
    lines, rules, unknown = missing_auth(ctx, "AUT001")
    if unknown and not lines:
        yield Skip(
            f"practice.state unknown: the authorization rule for {where(ctx, unknown)} applies only in "
            "some states"
        )
    if not lines:
        return
    names = "; ".join(f'"{r.name}"' for r in rules)
    yield Hit(
        f"The payer requires prior authorization for {where(ctx, lines)} (its rule {names}), but the claim "
        "carries no authorization number: the service will be denied for lack of authorization.",
        line=lines[0],
        fix="Add the payer's authorization number to the claim (REF*G1); if none was obtained, ask the payer "
        "about retro-authorization before submitting.",
    )
