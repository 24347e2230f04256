from collections.abc import Iterator

from painrcm.edits.authorization import COMMERCIAL_CLAIM, EXAMPLE_AUTH, claim_numbers
from painrcm.edits.base import ClaimContext, Edit, Hit, Outcome
from painrcm.model import Severity

EDIT = Edit(
    id="AUT002",
    severity=Severity.ERROR,
    applies_when=("auth_number",),
    title="Authorization number not on file for this patient and payer",
    what="Looks up each authorization number on the claim in the authorization log: it must be there, for "
    "this patient's member ID and this payer.",
    why="A number the payer cannot match to the member is the same as no authorization: the service is "
    "denied as unauthorized.",
    example={**COMMERCIAL_CLAIM, "authorization_number": "PA-7010"},
    fixed=COMMERCIAL_CLAIM,
    example_context={"auths": [EXAMPLE_AUTH]},
    example_note="PA-7010 is a typo for PA-7001.",
    sources=["RULES.md section 7", "CONTRACTS.md section 3 (authorization log)"],
)


@EDIT.check
def check(ctx: ClaimContext) -> Iterator[Outcome]:
    for number, idxs in claim_numbers(ctx):
        # a claim with an authorization number reaches the AUT edits only with a log (scrub.py)
        assert ctx.auths is not None
        records = ctx.auths.find(number)
        line = idxs[0] if idxs else None
        if not records:
            yield Hit(
                f"Authorization {number} is not in the authorization log.",
                line=line,
                fix="Check the number against the payer's approval, or obtain an authorization.",
            )
            continue
        member = ctx.encounter.patient.member_id
        payer = ctx.encounter.payer.id.strip().upper()
        if not any(a.member_matches(member) for a in records):
            yield Hit(
                f"Authorization {number} was issued for another member, not {member or 'this patient'}.",
                line=line,
                fix="Use this patient's own authorization number.",
            )
        elif not any(a.payer_id.strip().upper() == payer and a.member_matches(member) for a in records):
            yield Hit(
                f"Authorization {number} was issued by another payer ({records[0].payer_id}), not {payer}.",
                line=line,
                fix="Bill the payer that issued the authorization, or obtain one from this payer.",
            )
