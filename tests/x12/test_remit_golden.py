"""The 835 reader reads and says exactly what it did before its single-pass rewrite (issue 13): the
same models (every field, type and exact value), warnings and errors (file, place, wording) for two
835 sources and 1,500 deterministic mutations of them (dropped, repeated, swapped and cut segments,
bad amounts and dates, misplaced and foreign segments, truncation, separators 0x1C-0x1F, CR/LF/CRLF
line ends, a byte-order mark, a repeated interchange), read leniently and strictly. The expected
answers were written by the reader before the rewrite (``scripts/remit_golden.py``)."""

from __future__ import annotations

from painrcm.x12.reader835 import read_835

from .remit_cases import answers, load_golden


def test_read_835_answers_as_before() -> None:
    golden = load_golden()
    got = answers(read_835)
    assert got.keys() == golden.keys()
    changed = [name for name in golden if got[name] != golden[name]]
    assert not changed, [(name, golden[name], got[name]) for name in changed[:3]]


def test_the_cases_cover_results_warnings_and_errors() -> None:
    golden = load_golden()
    read = [v for v in golden.values() if "models" in v]
    assert len(read) > 300 and any(v["claims"] > 4 for v in read)
    assert any(v["warnings"] for v in read)
    errors = {v["error"][2].split(" ", 1)[0] for v in golden.values() if "error" in v}
    assert len(errors) > 30  # many different refusals, not one repeated
