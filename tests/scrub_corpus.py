"""A large generated corpus for the scrubber's "findings unchanged" test (and its golden file).

Synthetic claims from `painrcm.synth` (every family, payer, place of service), a multi-patient
history of the same patients, an authorization log, and seeded mutations of the coder's own lines
(dropped and added modifiers, units, extra codes, pointers, undocumented claims, other places of
service), so that most edits fire somewhere. Deterministic for a seed. The golden file
tests/data/scrub_golden.txt.gz records each claim's result in a compact form
(`scripts/scrub_golden.py` writes it; tests/test_scrub_golden.py compares).
"""

from __future__ import annotations

import gzip
import hashlib
import random
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from painrcm import synth
from painrcm.history import History
from painrcm.history.auths import AuthLog, Authorization
from painrcm.model import ClaimResult, Encounter, Line

GOLDEN = Path(__file__).parent / "data" / "scrub_golden.txt.gz"
SEED = 1313
CLAIMS = 8000
HISTORY_LINES = 60_000
PATIENTS = 1500

_MODS = ("RT", "LT", "50", "59", "XS", "XU", "25", "KX", "76", "26", "TC", "GA", "GZ", "JW", "XE", "QW")
_POS = ("11", "22", "24", "21", "99", "02")


def _mutate(enc: Encounter, rng: random.Random, codes: list[str]) -> Encounter:
    lines = [ln.model_copy(deep=True) for ln in enc.lines or []]
    update: dict[str, Any] = {}
    for _ in range(rng.choice((1, 1, 2, 3))):
        k = rng.randrange(12)
        if k == 0 and lines:
            ln = rng.choice(lines)
            if ln.modifiers:
                ln.modifiers = ln.modifiers[1:]
        elif k == 1 and lines:
            rng.choice(lines).modifiers.append(rng.choice(_MODS))
        elif k == 2 and lines:
            rng.choice(lines).units = float(rng.choice((0, 2, 3, 4, 6, 12)))
        elif k == 3:
            lines.append(Line(code=rng.choice(codes), diagnosis_pointers=[1]))
        elif k == 4 and lines:
            lines.append(rng.choice(lines).model_copy(deep=True))
        elif k == 5 and lines:
            rng.choice(lines).diagnosis_pointers = rng.choice((None, [], [9], [1, 2, 3, 4, 5]))
        elif k == 6:
            update["procedures"] = []
        elif k == 7:
            update["place_of_service"] = rng.choice(_POS)
        elif k == 8 and lines:
            del lines[rng.randrange(len(lines))]
        elif k == 9:
            update["diagnoses"] = rng.choice(([], ["M54.5"], ["Z00.00", "M47.816"], ["M54.16", "M51.16"]))
        elif k == 10 and lines:
            ln = rng.choice(lines)
            ln.date_of_service = enc.date_of_service + timedelta(days=rng.choice((-1, 1, 40)))
        elif k == 11:
            update["authorization_number"] = rng.choice((None, "AUTH-MISSING", "A" + str(rng.randrange(99))))
    update["lines"] = lines
    return enc.model_copy(update=update)


def corpus(
    engine: Any, claims: int = CLAIMS, history_lines: int = HISTORY_LINES
) -> tuple[list[Encounter], History, AuthLog]:
    patients = synth.make_patients(PATIENTS, SEED)
    start = synth.DEFAULT_START + timedelta(days=1)
    history = History()
    for enc in synth.iter_history(history_lines, SEED + 1, patients=patients, end=start, engine=engine):
        history.add(enc, engine.reference)
    encs = synth.generate_encounters(
        claims, SEED + 2, start=start, days=365, patients=patients, engine=engine
    )
    rng = random.Random(f"corpus:{SEED}")
    codes = sorted(engine.reference.codes)
    out: list[Encounter] = []
    for enc in encs:
        out.append(_mutate(enc, rng, codes) if rng.random() < 0.6 else enc)
    # an authorization log covering some of the claims' numbers: approved, expired, denied, other codes
    by_number: dict[str, list[Authorization]] = {}
    for enc in out:
        number = enc.authorization_number
        if not number or rng.random() < 0.25:
            continue
        roll = rng.random()
        dos = enc.date_of_service
        first, last = dos - timedelta(days=30), dos + timedelta(days=60)
        if roll < 0.15:
            last = dos - timedelta(days=1)
        codes_ok = tuple(ln.code for ln in enc.lines or [])
        if roll > 0.85:
            codes_ok = ("64483",)
        by_number.setdefault("".join(number.split()).upper(), []).append(
            Authorization(
                auth_number=number,
                payer_id=enc.payer.id,
                member_id=(enc.patient.member_id or "X") if roll < 0.9 else "OTHER",
                codes=codes_ok,
                sessions=rng.choice((None, 1, 2, 3)),
                start_date=first,
                end_date=last,
                rendering_npi=enc.rendering_provider.npi if roll < 0.95 else "1234567893",
                status="denied" if 0.7 < roll < 0.75 else ("pending" if 0.75 < roll < 0.78 else "approved"),
            )
        )
    return out, history, AuthLog(source="corpus", by_number=by_number)


def _h(text: str | None) -> str:
    return "-" if text is None else hashlib.blake2b(text.encode(), digest_size=5).hexdigest()


def _lines(lines: list[Line] | None) -> str:
    if lines is None:
        return "none"
    return _h(repr([ln.contract_dict() for ln in lines]))


def summary(r: ClaimResult) -> str:
    """One compact line per claim: status, findings (edit, severity, line, code, message and fix
    hashes), not_checked (edit, reason hash), the coded and the fixed lines (hashes)."""
    f = " ".join(
        f"{x.edit}/{x.severity.value[0]}/{x.line}/{x.code}/{_h(x.message)}{_h(x.fix)}" for x in r.findings
    )
    n = " ".join(f"{x.edit}/{_h(x.reason)}" for x in r.not_checked)
    return (
        f"{r.claim_id} {r.status[0]} {r.payer_policy} L{_lines(r.lines)} F{_lines(r.fixed_lines)} | {f} | {n}"
    )


def results(engine: Any, claims: int = CLAIMS, history_lines: int = HISTORY_LINES) -> Iterator[str]:
    from painrcm.scrub import scrub_encounter

    encs, history, auths = corpus(engine, claims, history_lines)
    for i, enc in enumerate(encs):
        # a third without history or log (not_checked), the rest with both; all with fixes
        if i % 3 == 0:
            yield summary(scrub_encounter(enc, engine, fix=True))
        else:
            yield summary(scrub_encounter(enc, engine, history=history, auths=auths, fix=True))


def read_golden() -> list[str]:
    with gzip.open(GOLDEN, "rt", encoding="utf-8") as f:
        return f.read().splitlines()


def write_golden(lines: list[str]) -> None:
    GOLDEN.parent.mkdir(parents=True, exist_ok=True)
    with gzip.GzipFile(GOLDEN, "wb", mtime=0) as f:
        f.write(("\n".join(lines) + "\n").encode())
