from collections.abc import Iterator

from painrcm.edits.base import ClaimContext, Edit, Hit, Outcome
from painrcm.edits.claim_facts import npi_problem
from painrcm.model import Encounter, Severity

EDIT = Edit(
    id="CLM002",
    severity=Severity.ERROR,
    applies_when=("bad_npi",),
    title="NPI that is not a valid National Provider Identifier",
    what="Checks the billing, rendering and referring providers' NPIs: ten digits whose last digit is "
    "the check digit of the first nine (the Luhn formula with the 80840 prefix the NPI standard uses).",
    why="An NPI with a typo or a letter is rejected by the clearinghouse or the payer's front end: the "
    "claim never reaches adjudication, and the rejection often arrives days later.",
    example={"rendering_provider": {"npi": "1679576723", "name": "R. Alvarez MD"}},
    fixed={"rendering_provider": {"npi": "1679576722", "name": "R. Alvarez MD"}},
    example_note="The rendering NPI's last digit was mistyped (3 instead of 2).",
    sources=[
        "CMS, NPI check digit: Luhn formula over the prefix 80840 and the first nine digits",
        "ASC X12 005010X222A1, NM109 of loops 2010AA, 2310A and 2310B",
    ],
)


def provider_npis(enc: Encounter) -> list[tuple[str, str]]:
    """The NPIs the claim gives, with their roles: billing, rendering (when another), referring."""
    billing = enc.practice.npi
    who = [("billing provider", billing)]
    if enc.rendering_provider.npi != billing:
        who.append(("rendering provider", enc.rendering_provider.npi))
    if enc.referring_provider is not None:
        who.append(("referring provider", enc.referring_provider.npi))
    return [(role, npi) for role, npi in who if npi is not None]


@EDIT.check
def check(ctx: ClaimContext) -> Iterator[Outcome]:
    for role, npi in provider_npis(ctx.encounter):
        why = npi_problem(npi)
        if why is not None:
            yield Hit(
                f"The {role} NPI {npi!r} is not a valid NPI: {why}. The claim will be rejected.",
                fix=f"Correct the {role} NPI (check it in the NPI registry).",
            )
