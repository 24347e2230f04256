"""Build synthetic 999 and 277CA files for tests (own code; shaped like the implementation guides'
examples): what a clearinghouse would send back for a submitted 837P."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


def isa(sender: str, receiver: str, control: int, *, component: str = ":", repetition: str = "^") -> str:
    return (
        f"ISA*00*{'':10}*00*{'':10}*ZZ*{sender:<15}*ZZ*{receiver:<15}*261130*0800*{repetition}*00501*"
        f"{control:09d}*0*T*{component}"
    )


def envelope(
    functional: str,
    version: str,
    st_type: str,
    body: Sequence[str],
    *,
    sender: str = "CLEARINGHOUSE",
    receiver: str = "PAINRCM",
    control: int = 900,
    extra_before_gs: Sequence[str] = (),
) -> str:
    st = [f"ST*{st_type}*0001*{version}", *body]
    st.append(f"SE*{len(st) + 1}*0001")
    segs = [
        isa(sender, receiver, control),
        *extra_before_gs,
        f"GS*{functional}*{sender}*{receiver}*20261130*0800*{control}*X*{version}",
        *st,
        f"GE*1*{control}",
        f"IEA*1*{control:09d}",
    ]
    return "~\n".join(segs) + "~\n"


@dataclass
class SetResult:
    control_number: str
    status: str = "A"  # IK501
    codes: tuple[str, ...] = ()
    # (segment ID, position, loop, code, [(element position, reference, code, bad value)], CLM01)
    errors: list[tuple[str, int, str, str, list[tuple[str, str, str, str]], str | None]] = field(
        default_factory=list
    )


def make_999(
    group_control: str, sets: Sequence[SetResult], *, group_status: str | None = None, control: int = 901
) -> str:
    body = [f"AK1*HC*{group_control}*005010X222A1"]
    for s in sets:
        body.append(f"AK2*837*{s.control_number}*005010X222A1")
        for sid, pos, loop, code, elems, clm in s.errors:
            body.append(f"IK3*{sid}*{pos}*{loop}*{code}".rstrip("*"))
            if clm:
                body.append(f"CTX*CLM01:{clm}")
            for epos, ref, ecode, bad in elems:
                body.append(f"IK4*{epos}*{ref}*{ecode}*{bad}".rstrip("*"))
        body.append("*".join(["IK5", s.status, *s.codes]))
    accepted = sum(1 for s in sets if s.status in ("A", "E"))
    if group_status is None:
        group_status = "A" if accepted == len(sets) else ("R" if accepted == 0 else "P")
    body.append(f"AK9*{group_status}*{len(sets)}*{len(sets)}*{accepted}")
    return envelope("FA", "005010X231A1", "999", body, control=control)


@dataclass
class ClaimResult:
    claim_id: str
    statuses: Sequence[str]  # "A2:20:PR", "A7:562:82"
    action: str = "WQ"
    amount: str = "100"
    payer_claim_number: str | None = None
    member_id: str = "MEMBER01"
    service_date: str = "20261102"
    lines: Sequence[tuple[str, str, Sequence[str]]] = ()  # (procedure, charge, statuses)


def make_277ca(
    claims: Sequence[ClaimResult],
    *,
    batch: str = "PAINRCM1",
    billing_npi: str = "1245319599",
    control: int = 902,
    provider_status: str = "A1:19:PR**WQ",
) -> str:
    accepted = [c for c in claims if c.action == "WQ"]
    rejected = [c for c in claims if c.action != "WQ"]
    body = [
        "BHT*0085*08*277CA0001*20261130*0800*TH",
        "HL*1**20*1",
        "NM1*PR*2*SYNTHETIC PAYER*****PI*SYNPAYER",
        "TRN*1*20261130SYN01",
        "DTP*050*D8*20261130",
        "DTP*009*D8*20261130",
        "HL*2*1*21*1",
        "NM1*41*2*PAINRCM SUBMITTER*****46*PAINRCM",
        f"TRN*2*{batch}",
        f"STC*A1:19:PR*20261130*WQ*{sum(float(c.amount) for c in claims):.2f}",
        f"QTY*90*{len(accepted)}",
        f"QTY*AA*{len(rejected)}",
        f"AMT*YU*{sum(float(c.amount) for c in accepted):.2f}",
        f"AMT*YY*{sum(float(c.amount) for c in rejected):.2f}",
        "HL*3*2*19*1",
        f"NM1*85*2*MESA SPINE AND PAIN*****XX*{billing_npi}",
        "TRN*1*0",
        f"STC*{provider_status}",
    ]
    hl = 3
    for c in claims:
        hl += 1
        body += [
            f"HL*{hl}*3*PT",
            f"NM1*QC*1*DOE*JANE****MI*{c.member_id}",
            f"TRN*2*{c.claim_id}",
        ]
        first, *more = c.statuses
        extra = ""
        if more:
            extra = "*" * 6 + "*".join(more)
        body.append(f"STC*{first}*20261130*{c.action}*{c.amount}{extra}")
        if c.payer_claim_number:
            body.append(f"REF*1K*{c.payer_claim_number}")
        body.append(f"DTP*472*D8*{c.service_date}")
        for n, (proc, charge, sts) in enumerate(c.lines, 1):
            body.append(f"SVC*HC:{proc}*{charge}*****1")
            for s in sts:
                body.append(f"STC*{s}**U")
            body.append(f"REF*FJ*{n}")
            body.append(f"DTP*472*D8*{c.service_date}")
    return envelope("HN", "005010X214", "277", body, control=control)
