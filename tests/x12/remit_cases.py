"""A fixed set of 835 inputs (two sources and deterministic mutations of them) and a canonical form of
what ``read_835`` answers for each: the models (every field, its type and exact value, and the fields
the reader gave) as a digest, the warnings and the error as text. ``scripts/remit_golden.py`` writes
the answers of the reader as it was before the single-pass rewrite; ``test_remit_golden`` proves the
reader still gives exactly those."""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from random import Random
from typing import Any

from pydantic import BaseModel

from painrcm.errors import InputError

HERE = Path(__file__).resolve().parent
GOLDEN = HERE / "data" / "remit835_golden.json.gz"
MUTATIONS = 1500

# Segments the denials fixture does not have: MIA, MOA with a rate, claim and line date ranges, NM1 IL
# and 82, SVC06 and SVC07, a composite written with ">", adjustments with quantities and several
# triplets, QTY, other AMT and LQ qualifiers, an empty REF*6R, several PLB adjustments.
_EXTRA = [
    "ISA*00*          *00*          *ZZ*PAYERID        *ZZ*PAINRCM        *260401*1200*^*00501*000000777*0*T*:",
    "GS*HP*PAYERID*PAINRCM*20260401*1200*777*X*005010X221A1",
    "ST*835*0777*005010X221A1",
    "BPR*H*0*C*NON************20260499",
    "TRN*1*EFT0777*1512345678",
    "CUR*PR*USD",
    "REF*EV*RECEIVER",
    "DTM*405*20260401",
    "N1*PR*OTHER PLAN*XV*PLAN77",
    "N3*2 PAYER WAY",
    "N4*DALLAS*TX*75201",
    "PER*CX*CLAIMS*TE*8005550100",
    "N1*PE*MESA SPINE AND PAIN*XX*1245319599",
    "REF*TJ*741234567",
    "LX*2",
    "TS3*1245319599*11*20261231*2*1000",
    "CLP*E-3001*2*1000.50*250.25*75.00*MB*PCN3001*11*1",
    "NM1*QC*1*DOE*JANE****MI*MEM001",
    "NM1*IL*1*DOE*JOHN****MI*SUB001",
    "NM1*82*1*ALVAREZ*R****XX*1679576722",
    "MIA*0***12.5*MA01***********************MA02*MA03",
    "MOA*0.85*40.10*MA130*MA01",
    "DTM*232*20260301",
    "DTM*233*20260305",
    "AMT*AU*900",
    "QTY*CA*5",
    "CAS*OA*23*100.25",
    "SVC*HC>64483>RT>59*800.50*200.25*0450*2*HC>64483*3",
    "DTM*150*20260301",
    "DTM*151*20260305",
    "CAS*CO*45*400.00*1*253*1.25**59*50.00",
    "CAS*PR*3*50*1.5",
    "REF*6R",
    "REF*LU*11",
    "AMT*B6*400.25",
    "AMT*KH*1",
    "QTY*ZK*2",
    "LQ*RX*X1",
    "LQ*HE*N130",
    "LQ*HE*M80",
    "SVC*AD:D0120*200*50*****",
    "DTM*472*20260302",
    "CAS*CO*45*150",
    "CLP*E-3002*1*-0*0.00**13",
    "SVC*HC:99213*0*0",
    "PLB*1245319599*20261231*WO:A1*-10.50*FB*5*L6:B2*0",
    "PLB*1245319599**CS*1.25",
    "SE*{count}*0777",
    "GE*1*777",
    "IEA*1*000000777",
]
EXTRA = "~\n".join(_EXTRA).replace("{count}", str(len(_EXTRA) - 4)) + "~\n"

NASTY = [
    "", "0", "-", ".", "1.2.3", "1_000", "1e309", "1E5", "-0.00", "00012.50", "+5", " 12", "nan", "inf",
    "\u0661\u0662", "12.", ".5", "-.5", "99999999999999999999", "20261399", "20260229", "20240229",
    "HC:99213", "HC>99213:25", "N1", "SE", "ISA", "*", ":", "^", "\u00e9", "CO", "PR", "XX", "1", "22",
    "472", "150", "151", "6R", "B6", "HE", "2U", "PE", "QC", "IL", "82", "AB", "abc", "1e-3", "-1E+2",
]  # fmt: skip
SEGMENTS = [
    "CAS*CO*45*10", "CAS*PR*1*5*1*2*3", "CAS*ZZ*1*1", "CAS*CO", "SVC*HC:99213*100*50**1", "SVC*HC*100*50",
    "SVC*:99213*1*1", "DTM*472*20260101", "DTM*150*20260101", "DTM*151*20260102", "DTM*232*20260101",
    "DTM*233*20260131", "DTM*405*20269999", "REF*6R*X1", "REF*2U*P1", "AMT*B6*12.34", "LQ*HE*N130", "LQ*HE",
    "CLP*X*1*100*50*10*12*ABC", "CLP**1*1*1", "CLP*X*A*1*1", "NM1*QC*1*DOE*J****MI*M1", "NM1*IL*1*A****MI*M2",
    "NM1*82*1*B****XX*1234567893", "MOA*0.5*12.00*MA01*MA02", "MIA*1***5*MA01", "PLB*123*20261231*WO:X*10",
    "PLB*123", "PLB*123*2026*WO*1", "LX*1", "TS3*1", "N1*PR*P", "N1*PE*Q*XX*1", "N3*A", "N4*A*B*C", "PER*BL*X",
    "BPR*I*1*C*ACH", "TRN*1*T*1", "CUR*PR*USD", "QTY*ZK*1", "RDM*BM", "ST*835*9", "SE*1*9",
    "GS*HP*A*B*1*1*1*X*005010X221A1", "GE*1*1", "IEA*1*000000001", "ZZZ*1", "zz*1", "A", "", "MIA*1",
]  # fmt: skip


def sources() -> dict[str, str]:
    return {
        "denials.835": (HERE / "fixtures" / "denials.835").read_text(encoding="utf-8"),
        "extra.835": EXTRA,
    }


def _mutate(rnd: Random, text: str) -> str:
    body = text.lstrip("\ufeff \t\r\n")
    if len(body) < 106 or not body.startswith("ISA"):
        return text[: rnd.randrange(len(text) + 1)]
    sep, comp, term = body[3], body[104], body[105]
    flat = body.replace("\r", "").replace("\n", "") if term not in "\r\n" else body
    parts = flat.split(term)
    while parts and not parts[-1].strip():
        parts.pop()
    segs = [p.split(sep) for p in parts]
    kind = rnd.randrange(13)
    n = len(segs)
    if kind == 0 and n > 2:  # drop a segment
        del segs[rnd.randrange(1, n)]
    elif kind == 1 and n > 2:  # duplicate one
        k = rnd.randrange(1, n)
        segs.insert(k, list(segs[k]))
    elif kind == 2 and n > 3:  # swap two
        k = rnd.randrange(1, n - 1)
        segs[k], segs[k + 1] = segs[k + 1], segs[k]
    elif kind in (3, 4, 5) and n > 2:  # a bad or odd value
        seg = segs[rnd.randrange(1, n)]
        if len(seg) > 1:
            e = rnd.randrange(1, len(seg) + 2)
            v = rnd.choice(NASTY)
            if e < len(seg):
                seg[e] = v
            else:
                seg.append(v)
    elif kind == 6 and n > 2:  # a segment from elsewhere
        segs.insert(rnd.randrange(1, n), rnd.choice(SEGMENTS).split("*"))
    elif kind == 7 and n > 2:  # elements cut off
        seg = segs[rnd.randrange(1, n)]
        if len(seg) > 1:
            del seg[rnd.randrange(1, len(seg)) :]
    out_sep, out_term, out_comp, nl = sep, term, comp, ""
    if rnd.random() < 0.15:
        out_sep = rnd.choice("\x1c\x1d\x1e\x1f|")
    if rnd.random() < 0.15:
        out_term = rnd.choice(["\x1c", "\x1d", "\x1e", "\x1f", "\n", "\r", "'"])
    if rnd.random() < 0.1:
        out_comp = rnd.choice([">", "\x1f", "<", ":"])
    if rnd.random() < 0.2:
        nl = rnd.choice(["\n", "\r\n", "\r"])
    if len({out_sep, out_term, out_comp, "^"}) < 4:
        out_sep, out_term, out_comp = sep, term, comp
    lines = []
    for seg in segs:
        if seg and seg[0] == "ISA" and len(seg) == 17:
            seg = [*seg[:16], out_comp]
        else:
            seg = [x.replace(comp, out_comp) for x in seg]
        lines.append(out_sep.join(seg))
    out = (out_term + nl).join(lines) + out_term + nl
    if kind == 8:  # truncated
        out = out[: rnd.randrange(len(out) + 1)]
    elif kind == 9:  # truncated at a segment's end
        out = out[: rnd.randrange(len(out) + 1)].rstrip("\r\n") + out_term
    elif kind == 10:  # a stray character
        k = rnd.randrange(len(out))
        out = out[:k] + rnd.choice(["\x00", "*", "~", "\n", "\u00e9", ":", "\x1d"]) + out[k + 1 :]
    elif kind == 11:  # the interchange twice
        out = out + out
    if rnd.random() < 0.05:
        out = "\ufeff" + out
    return out


def cases(mutations: int = MUTATIONS, seed: int = 835) -> Iterator[tuple[str, str]]:
    """(name, text): the sources as they are, then ``mutations`` mutated copies (1-3 mutations each)."""
    src = sources()
    yield from src.items()
    names = sorted(src)
    rnd = Random(seed)
    for j in range(mutations):
        name = rnd.choice(names)
        text = src[name]
        for _ in range(rnd.choice((1, 1, 1, 2, 3))):
            text = _mutate(rnd, text)
        yield f"{name}#{j}", text


def _canon(v: Any) -> Any:
    if isinstance(v, BaseModel):
        d = v.__dict__
        return [
            type(v).__name__,
            sorted(v.model_fields_set),
            [[k, _canon(d[k])] for k in sorted(d)],
            v.__pydantic_extra__,
            v.__pydantic_private__,
        ]
    if isinstance(v, list):
        return [_canon(x) for x in v]
    return [type(v).__name__, repr(v)]


def _error(e: InputError) -> list[str | None]:
    return [e.file, e.place, e.expected]


def outcome(read: Callable[..., Any], text: str, strict: bool) -> dict[str, Any]:
    """What ``read`` (``read_835``) answers, in a canonical JSON-able form."""
    try:
        r = read(text, "t.835", strict=strict)
    except InputError as e:
        return {"error": _error(e)}
    models = json.dumps([_canon(x) for x in r.remittances], ensure_ascii=True, separators=(",", ":"))
    return {
        "models": hashlib.sha256(models.encode()).hexdigest(),
        "claims": len(r.claims),
        "warnings": [_error(w) for w in r.warnings],
    }


def answers(read: Callable[..., Any]) -> dict[str, dict[str, Any]]:
    out = {}
    for name, text in cases():
        out[name] = outcome(read, text, False)
        out[name + " strict"] = outcome(read, text, True)
    return out


def load_golden() -> dict[str, dict[str, Any]]:
    with gzip.open(GOLDEN, "rt", encoding="utf-8") as f:
        return json.load(f)  # type: ignore[no-any-return]
