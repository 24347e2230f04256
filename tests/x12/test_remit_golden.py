"""The 835 reader reads and says exactly what it did before its single-pass rewrite (issue 13): the
same models (every field, type and exact value), warnings and errors (file, place, wording) for two
835 sources and 1,500 deterministic mutations of them (dropped, repeated, swapped and cut segments,
bad amounts and dates, misplaced and foreign segments, truncation, separators 0x1C-0x1F, CR/LF/CRLF
line ends, a byte-order mark, a repeated interchange), read leniently and strictly. The expected
answers were written by the reader before the rewrite (``scripts/remit_golden.py``)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from painrcm.x12.reader835 import read_835

from .remit_cases import EXTRA, answers, load_golden


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


def test_read_models_are_frozen_and_in_field_order() -> None:
    """Models built without validation look like validated ones: fields in declaration order (JSON
    keys), and frozen (lines share their set of given fields, which only assignment would change)."""
    claim = read_835(EXTRA, "x.835").claims[0]
    for model in (claim, claim.lines[0], claim.lines[0].adjustments[0]):
        assert list(model.__dict__) == list(type(model).model_fields)
        assert list(model.model_dump(mode="json")) == list(type(model).model_fields)
    assert claim.model_fields_set >= {"member_id", "rendering_npi", "statement_start"}
    assert "date_end" in claim.lines[0].model_fields_set and "date_end" not in claim.lines[1].model_fields_set
    with pytest.raises(ValidationError):
        claim.lines[1].date_end = claim.lines[0].date_end  # type: ignore[misc]


def test_reading_never_walks_a_frozen_heap(monkeypatch: pytest.MonkeyPatch) -> None:
    """`painrcm scrub --history` freezes the loaded history (gc.freeze); asking gc for the frozen count
    walks every frozen object, so a reader that asked after each file made the CI's serial test run
    (one process, thousands of reads after a CLI test froze its heap) crawl. Reads never ask, and once
    the process has frozen data for good a read leaves it frozen."""
    import gc

    from painrcm import gcpause

    def walk() -> int:
        raise AssertionError("gc.get_freeze_count walks the frozen set")

    released: list[bool] = []
    monkeypatch.setattr(gcpause, "_kept", False)  # as in a process that froze nothing (restored after)
    monkeypatch.setattr(gc, "get_freeze_count", walk)
    monkeypatch.setattr(gc, "unfreeze", lambda: released.append(True))
    monkeypatch.setattr(gc, "freeze", lambda: None)
    claim = read_835(EXTRA, "x.835").claims[0]
    assert claim.lines and gc.isenabled() and released == [True]  # nothing kept: the usual hand-over
    gcpause.keep_for_good()  # what scrub --history does
    released.clear()
    read_835(EXTRA, "x.835")
    assert released == [] and gc.isenabled()  # the kept history is not released
