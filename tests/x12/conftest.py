"""Shared helpers for the X12 tests."""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "fixtures"
# tests/x12/conftest.py -> repository root is parents[2]; the shared samples sit beside the repository.
SAMPLES = (Path(__file__).resolve().parents[2] / ".." / "shared" / "x12-samples").resolve()

# The imsweb and linuxforhealth README classifies these as valid 837P files.
VALID_837 = [
    "imsweb/x12_valid.txt",
    "imsweb/x12_valid_different_separators.txt",
    "imsweb/x12_complex.txt",
    "imsweb/x12_many_claims.txt",
    "imsweb/x12_multiple_gs.txt",
    "imsweb/x12_multiple_isa.txt",
    "imsweb/x12_multiple_st.txt",
    "imsweb/x12_multiple_transactions.txt",
    "imsweb/x12_no_errors.txt",
    "imsweb/x12_writer_test.txt",
    "imsweb/x12_ambiguous_loop.txt",
]
# Deliberately broken ones: each must be refused (InputError) or have its bad claims reported as
# located problems.
BROKEN_837 = [
    "imsweb/x12_bad_first_line.txt",
    "imsweb/x12_bad_segment_identifier.txt",
    "imsweb/x12_bad_valid_code.txt",
    "imsweb/x12_loop_errors1_exceeds_max_1_parent.txt",
    "imsweb/x12_loop_errors2_exceeds_max_repeats_multiple_parents.txt",
    "imsweb/x12_loop_errors3_missing_loops.txt",
    "imsweb/x12_missing_elements.txt",
    "imsweb/x12_missing_required_loop_in_one_repeat.txt",
    "imsweb/x12_missing_required_loops_mult_repeats.txt",
    "imsweb/x12_no_isa_line.txt",
    "imsweb/x12_segment_errors.txt",
    "imsweb/x12_segments_out_of_order.txt",
]
# Not 837P at all: an 837I, 999/997 acknowledgements.
NOT_837P = [
    "imsweb/x223-test.txt",
    "imsweb/x12_999_accepted.txt",
    "imsweb/x12_999_rejected.txt",
    "imsweb/x12_valid.997",
]


def samples_dir() -> Path:
    if not SAMPLES.is_dir():
        pytest.skip(
            f"shared X12 samples not found at {SAMPLES} (expected ../shared/x12-samples beside the repository)"
        )
    return SAMPLES


def sample(rel: str) -> tuple[str, str]:
    path = samples_dir() / rel
    if not path.is_file():
        pytest.skip(f"sample {rel} not found in {SAMPLES}")
    return path.read_text(encoding="utf-8"), rel


def linuxforhealth(ext: str) -> list[str]:
    if not SAMPLES.is_dir():
        return [f"linuxforhealth/*.{ext}"]  # sample() skips with the reason
    return sorted(f"linuxforhealth/{p.name}" for p in (SAMPLES / "linuxforhealth").glob(f"*.{ext}"))


def fixture_text(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")
