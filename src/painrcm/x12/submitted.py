"""An index of submitted 837 files for matching acknowledgements: envelope control numbers (ISA13,
GS06, ST02, BHT03) and where each claim (CLM01) starts in its transaction set.

Only the envelopes and CLM segments are looked at (``x12.segments.tokenize`` checks the envelopes),
so an 837 the claim reader would refuse for a claim-level problem can still be matched to its 999.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from painrcm.x12.segments import tokenize


class SubmittedClaim(BaseModel):
    claim_id: str  # CLM01
    charge: str | None = None  # CLM02 as written
    position: int  # segment position of CLM in its transaction set (ST = 1), as a 999 IK302 counts


class SubmittedSet(BaseModel):
    control_number: str  # ST02
    version: str
    reference: str | None = None  # BHT03
    claims: list[SubmittedClaim] = Field(default_factory=list)

    def claim_at(self, position: int | None) -> SubmittedClaim | None:
        """The claim whose segments include ``position`` (none for header segments)."""
        if position is None:
            return None
        found = None
        for c in self.claims:
            if c.position <= position:
                found = c
            else:
                break
        return found


class SubmittedGroup(BaseModel):
    functional_code: str  # GS01
    control_number: str  # GS06
    sets: list[SubmittedSet] = Field(default_factory=list)


class SubmittedFile(BaseModel):
    file: str
    interchange_control: str  # ISA13
    sender_id: str  # ISA06
    receiver_id: str  # ISA08
    groups: list[SubmittedGroup] = Field(default_factory=list)
    claim_ids: list[str] = Field(default_factory=list)  # from encounter JSON: no envelope


def index_submitted(text: str, file: str) -> list[SubmittedFile]:
    """One SubmittedFile per interchange in ``text`` (raises InputError for a broken envelope)."""
    tok = tokenize(text, file)
    out: list[SubmittedFile] = []
    by_isa: dict[int, SubmittedFile] = {}
    by_gs: dict[tuple[int, int], SubmittedGroup] = {}
    for tx in tok.transactions:
        isa, gs = tx.isa, tx.gs
        sf = by_isa.get(id(isa))
        if sf is None:
            sf = SubmittedFile(
                file=file,
                interchange_control=isa[13].strip() if len(isa) > 13 else "",
                sender_id=isa[6].strip() if len(isa) > 6 else "",
                receiver_id=isa[8].strip() if len(isa) > 8 else "",
            )
            by_isa[id(isa)] = sf
            out.append(sf)
        grp = by_gs.get((id(isa), id(gs)))
        if grp is None:
            grp = SubmittedGroup(functional_code=gs[1].strip(), control_number=gs[6].strip())
            by_gs[(id(isa), id(gs))] = grp
            sf.groups.append(grp)
        st = SubmittedSet(control_number=tx.st[2].strip(), version=tx.version)
        for k in range(tx.start, tx.end):
            seg = tok.segments[k]
            if seg[0] == "BHT" and st.reference is None:
                st.reference = seg[3].strip() if len(seg) > 3 and seg[3].strip() else None
            elif seg[0] == "CLM" and len(seg) > 1 and seg[1].strip():
                st.claims.append(
                    SubmittedClaim(
                        claim_id=seg[1].strip(),
                        charge=seg[2].strip() if len(seg) > 2 and seg[2].strip() else None,
                        position=k - tx.start + 1,
                    )
                )
        grp.sets.append(st)
    return out
