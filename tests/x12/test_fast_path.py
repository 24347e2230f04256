"""The single-pass 837P reader must give exactly what the full reader gives, and must be the path
clean files take (otherwise the speed-up silently disappears)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from painrcm.edits.examples import example_encounter
from painrcm.errors import InputError
from painrcm.x12 import reader837
from painrcm.x12.reader837 import Read837, _read_fast, _Reader, read_837
from painrcm.x12.segments import tokenize
from painrcm.x12.writer837 import write_837
from tests.x12.conftest import SAMPLES


def _full(text: str, file: str) -> Read837:
    reader = _Reader(tokenize(text, file, strict=False))
    try:
        return reader.read()
    finally:
        reader.release()


def _same(a: Read837, b: Read837) -> None:
    assert [c.model_dump(mode="json") for c in a.claims] == [c.model_dump(mode="json") for c in b.claims]
    assert [str(p) for p in a.problems] == [str(p) for p in b.problems]
    assert [str(w) for w in a.warnings] == [str(w) for w in b.warnings]


def _written(n: int, seed: int) -> str:
    rng = random.Random(seed)
    encs = []
    for i in range(n):
        lines = [
            {
                "code": "64483",
                "modifiers": [rng.choice(["RT", "LT"])],
                "units": 1,
                "diagnosis_pointers": [1, 2],
                "charge": 650.0,
            }
        ]
        if rng.random() < 0.5:
            lines.append(
                {
                    "code": "64484",
                    "modifiers": lines[0]["modifiers"],
                    "units": 1,
                    "diagnosis_pointers": [1],
                    "charge": 300.0,
                }
            )
        encs.append(example_encounter({"encounter_id": f"FP-{seed}-{i}", "lines": lines}))
    return write_837(encs)


def test_fast_path_is_enabled():
    assert reader837._FAST_OK


@pytest.mark.parametrize("seed", range(5))
def test_clean_written_files_take_the_fast_path_and_match_the_full_reader(seed):
    text = _written(25, seed)
    fast = _read_fast(text, "w.837", False)
    assert fast is not None, "a clean file fell back to the full reader"
    _same(fast, _full(text, "w.837"))


def test_real_samples_read_the_same_either_way():
    files = sorted(SAMPLES.rglob("*.837")) + sorted(SAMPLES.rglob("*.x12")) if SAMPLES.is_dir() else []
    if not files:
        pytest.skip(f"shared X12 samples not found at {SAMPLES}")
    compared = 0
    for f in files:
        text = f.read_text(encoding="utf-8", errors="replace")
        try:
            full = _full(text, str(f))
        except InputError as refused:  # refused files: read_837 must refuse them the same way
            with pytest.raises(InputError) as again:
                read_837(text, str(f))
            assert str(again.value) == str(refused)
            continue
        _same(read_837(text, str(f)), full)
        compared += 1
    assert compared


def test_fixture_with_a_bad_claim_reads_the_same(tmp_path: Path):
    text = (Path(__file__).parent / "fixtures" / "pain.837").read_text()
    _same(read_837(text, "pain.837"), _full(text, "pain.837"))
