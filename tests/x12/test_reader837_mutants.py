"""The 837P reader's answers on a fixed set of broken files, pinned.

Every mutant is made from ``fixtures/pain.837`` by one change: a segment dropped, duplicated or swapped
with the next, an element emptied or the segment cut after it; plus a few hundred seeded mutants of up
to three changes with awkward values (separators, ``1_000``, bad dates, qualifiers). For each, the file
``data/reader837_mutants.jsonl.gz`` holds what the reader answered when the reader was made fast (issue 13):
the refusal (place and message) or the claims (a digest of the models, field order and number types
included), the claim problems and the warnings, each with its place. The reader must keep answering
exactly that: a speed change must not change a message, a place or a model.

An intended change of messages or models regenerates the file (and the diff shows what changed):

    .venv/bin/python -m tests.x12.test_reader837_mutants --regenerate
"""

from __future__ import annotations

import gzip
import hashlib
import json
import random
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from painrcm.errors import InputError
from painrcm.x12.reader837 import read_837

from .conftest import fixture_text

EXPECTED = Path(__file__).resolve().parent / "data" / "reader837_mutants.jsonl.gz"
_VALUES = ["", "*", ":", "~", "^", "\n", " ", "-5", "1_000", " 12", "1e309", "nan", "1.5", "00", "X", "ZZ"]
_VALUES += ["20261399", "20260230", "D8", "RD8", "ABK:M5416", "BK:7242", "HC:64483:RT", "HC>64483", "18"]
_VALUES += ["22", "23", "20", "IL", "PR", "85", "82", "DN", "77", "QC", "472", "6R", "G1", "EI", "MB", "13"]
_VALUES += ["1:2:3:4:5", "é", "\x1d"]


def mutants() -> Iterator[tuple[str, str]]:
    text = fixture_text("pain.837")
    term, sep = text[105], text[3]
    segs = text.split(term)
    for k in range(len(segs)):
        yield f"drop {k}", term.join(segs[:k] + segs[k + 1 :])
        yield f"dup {k}", term.join(segs[: k + 1] + segs[k:])
        if k + 1 < len(segs):
            yield f"swap {k}", term.join(segs[:k] + [segs[k + 1], segs[k]] + segs[k + 2 :])
        parts = segs[k].split(sep)
        for e in range(1, len(parts)):
            blank = parts[:e] + [""] + parts[e + 1 :]
            yield f"blank {k}.{e}", term.join(segs[:k] + [sep.join(blank)] + segs[k + 1 :])
            yield f"cut {k}.{e}", term.join(segs[:k] + [sep.join(parts[:e])] + segs[k + 1 :])
    rnd = random.Random(837)
    for n in range(300):
        s = list(segs)
        for _ in range(rnd.randint(1, 3)):
            k = rnd.randrange(len(s))
            parts = s[k].split(sep)
            e = rnd.randrange(len(parts) + 1)
            value = rnd.choice(_VALUES)
            if e < len(parts):
                parts[e] = value
            else:
                parts.append(value)
            s[k] = sep.join(parts)
        yield f"random {n}", term.join(s)


def answer(text: str) -> dict[str, Any]:
    """What the reader said, in a form that compares exactly and stores as JSON."""
    try:
        result = read_837(text, "m.837")
    except InputError as e:
        return {"refused": [e.place, e.expected]}
    models = repr([c.model_dump(by_alias=True) for c in result.claims])
    sources = repr([(s.header, s.billing, s.subscriber, s.patient, s.claim, s.lines) for s in result.sources])
    return {
        "claims": [c.encounter_id for c in result.claims],
        "models": hashlib.sha256((models + sources).encode()).hexdigest()[:16],
        "problems": [[p.place, p.expected] for p in result.problems],
        "warnings": [[w.place, w.expected] for w in result.warnings],
    }


def _expected() -> dict[str, dict[str, Any]]:
    rows = [json.loads(line) for line in gzip.decompress(EXPECTED.read_bytes()).decode().splitlines()]
    return {row["mutant"]: row["answer"] for row in rows}


@pytest.fixture(autouse=True)
def _needs_expected() -> None:
    if not EXPECTED.is_file():  # pragma: no cover
        pytest.fail(f"{EXPECTED} is missing: regenerate it (see the module docstring)")


def test_reader_answers_every_mutant_as_pinned() -> None:
    expected = _expected()
    seen = 0
    wrong = []
    for name, text in mutants():
        seen += 1
        got = answer(text)
        if got != expected.get(name):
            wrong.append(f"{name}: expected {expected.get(name)}, got {got}")
    assert seen == len(expected), "the mutants changed: regenerate (see the module docstring)"
    assert not wrong, f"{len(wrong)} of {seen} mutants answered differently:\n" + "\n".join(wrong[:10])


def test_the_pinned_answers_cover_each_kind() -> None:
    answers = list(_expected().values())
    refused = [a for a in answers if "refused" in a]
    with_problems = [a for a in answers if a.get("problems")]
    with_warnings = [a for a in answers if a.get("warnings")]
    read = [a for a in answers if a.get("claims")]
    assert min(len(refused), len(with_problems), len(with_warnings), len(read)) >= 20, (
        len(refused),
        len(with_problems),
        len(with_warnings),
        len(read),
    )


if __name__ == "__main__":  # pragma: no cover
    if sys.argv[1:] != ["--regenerate"]:
        raise SystemExit(__doc__)
    lines = [
        json.dumps({"mutant": name, "answer": answer(text)}, ensure_ascii=True) for name, text in mutants()
    ]
    EXPECTED.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode(), mtime=0))
    print(f"wrote {EXPECTED}")
