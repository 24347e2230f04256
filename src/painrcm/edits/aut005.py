from collections.abc import Iterator

from painrcm.edits.authorization import COMMERCIAL_CLAIM, EXAMPLE_AUTH, claim_numbers, record_for
from painrcm.edits.base import ClaimContext, Edit, Hit, Outcome
from painrcm.model import Severity

EDIT = Edit(
    id="AUT005",
    severity=Severity.ERROR,
    applies_when=("auth_number",),
    title="Authorization issued for another rendering provider",
    what="When the authorization names a rendering provider NPI, checks it is the claim's rendering provider.",
    why="Some payers authorize a service for a named physician; the same procedure done by a colleague is "
    "not authorized.",
    example=COMMERCIAL_CLAIM,
    fixed=COMMERCIAL_CLAIM,
    example_context={"auths": [{**EXAMPLE_AUTH, "rendering_npi": "1932104566"}]},
    fixed_context={"auths": [{**EXAMPLE_AUTH, "rendering_npi": "1679576722"}]},
    example_note="The authorization names NPI 1932104566; the claim's rendering provider is 1679576722.",
    sources=["RULES.md section 7", "CONTRACTS.md section 3 (rendering_npi)"],
)


@EDIT.check
def check(ctx: ClaimContext) -> Iterator[Outcome]:
    npi = ctx.encounter.rendering_provider.npi
    for number, idxs in claim_numbers(ctx):
        a = record_for(ctx, number)
        if a is None or not a.rendering_npi:
            continue
        if npi and a.rendering_npi != npi:
            yield Hit(
                f"Authorization {number} was issued for rendering provider {a.rendering_npi}, not {npi}.",
                line=idxs[0] if idxs else None,
                fix="Have the authorized provider render the service, or ask the payer to change the "
                "authorization.",
            )
