"""Small synthetic inputs for the storage tests (no real patient)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from painrcm.edits._examples_history import OTHER_PRACTICE, RFA_CLAIM, mbb
from painrcm.edits.examples import example_dict

PRACTICE_A = {
    "id": "P01",
    "name": "Mesa Spine & Pain",
    "npi": "1245319599",
    "tax_id": "741234567",
    "kind": "physician",
    "state": "CA",
}
PRACTICE_B = OTHER_PRACTICE


def epidural(eid: str, when: str, practice: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    """A lumbar transforaminal epidural claim (64483-RT) of the example patient, Jane Doe."""
    doc = example_dict({"encounter_id": eid, "date_of_service": when, **extra})
    if practice is not None:
        doc["practice"] = dict(practice)
    return doc


def block(eid: str, when: str, relief: float) -> dict[str, Any]:
    """A diagnostic medial branch block (for the RFA rule) of the example patient."""
    return example_dict(mbb(eid, when, relief))


def rfa(eid: str, when: str) -> dict[str, Any]:
    return example_dict({"encounter_id": eid, "date_of_service": when, **RFA_CLAIM})


def as_bytes(obj: Any) -> bytes:
    return json.dumps(obj).encode()


AUTH_HEADER = "auth_number,payer_id,member_id,codes,sessions,start_date,end_date,rendering_npi,status"


def auth_csv(*rows: str) -> bytes:
    return ("\n".join([AUTH_HEADER, *rows]) + "\n").encode()


@dataclass
class SvcLine:
    code: str
    billed: float
    paid: float
    adjustments: Sequence[tuple[str, str, float]] = ()
    modifiers: Sequence[str] = ()
    control_number: str | None = None
    dos: date = date(2026, 3, 2)


@dataclass
class Clp:
    pcn: str
    lines: list[SvcLine] = field(default_factory=list)
    status: str = "1"

    @property
    def billed(self) -> float:
        return sum(ln.billed for ln in self.lines)

    @property
    def paid(self) -> float:
        return sum(ln.paid for ln in self.lines)


def _amt(x: float) -> str:
    return f"{x:.2f}".rstrip("0").rstrip(".")


def write_835(
    claims: Sequence[Clp],
    *,
    trace: str = "EFT0001",
    payee_npi: str = "1245319599",
    payer: str = "DEMO HEALTH PLAN",
) -> str:
    """A balanced 835 (one ST) paying `claims`."""
    total = sum(c.paid for c in claims)
    body = [
        "ST*835*0001",
        f"BPR*I*{_amt(total)}*C*ACH*CCP*01*999999999*DA*123456*1512345678**01*999988880*DA*98765*20260401",
        f"TRN*1*{trace}*1512345678",
        "DTM*405*20260401",
        f"N1*PR*{payer}",
        "N3*1 PAYER WAY",
        "N4*AUSTIN*TX*78701",
        "PER*BL*TECH SUPPORT*TE*8005550199",
        f"N1*PE*MESA SPINE AND PAIN*XX*{payee_npi}",
        "LX*1",
    ]
    for c in claims:
        pr = sum(a[2] for ln in c.lines for a in ln.adjustments if a[0] == "PR")
        body.append(f"CLP*{c.pcn}*{c.status}*{_amt(c.billed)}*{_amt(c.paid)}*{_amt(pr)}*12*PCN-{c.pcn}")
        body.append("NM1*QC*1*DOE*JANE****MI*1EG4TE5MK73")
        for ln in c.lines:
            proc = ":".join(["HC", ln.code, *ln.modifiers])
            body.append(f"SVC*{proc}*{_amt(ln.billed)}*{_amt(ln.paid)}**1")
            body.append(f"DTM*472*{ln.dos:%Y%m%d}")
            for group, reason, amount in ln.adjustments:
                body.append(f"CAS*{group}*{reason}*{_amt(amount)}")
            if ln.control_number:
                body.append(f"REF*6R*{ln.control_number}")
    body.append(f"SE*{len(body) + 1}*0001")
    segs = [
        "ISA*00*          *00*          *ZZ*PAYERID        *ZZ*PAINRCM        *260401*1200*^*00501*000000123*0*T*:",
        "GS*HP*PAYERID*PAINRCM*20260401*1200*123*X*005010X221A1",
        *body,
        "GE*1*123",
        "IEA*1*000000123",
    ]
    return "~\n".join(segs) + "~\n"
