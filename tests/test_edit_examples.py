"""Every edit's documented examples are its tests (the sqlfluff way): one harness for all edits.

The failing example must produce a finding of that edit; the fixed example must not. When the edit
has a safe automatic fix, `--fix` applied to the failing example must remove the finding too.
"""

from __future__ import annotations

import pytest

from painrcm.edits import CATALOGUE
from painrcm.edits.examples import example_encounter
from tests.support import ENGINE, context_for

EDITS = list(CATALOGUE.values())


@pytest.mark.parametrize("edit", EDITS, ids=[e.id for e in EDITS])
def test_failing_example_is_caught(edit):
    enc = example_encounter(edit.example)
    result = ENGINE.scrub(enc, **context_for(edit.example_context, enc))
    hits = [f for f in result.findings if f.edit == edit.id]
    assert hits, f"{edit.id} example not caught; findings: {[(f.edit, f.line) for f in result.findings]}"
    assert all(f.severity == edit.severity for f in hits)
    assert all(f.message for f in hits)


@pytest.mark.parametrize("edit", EDITS, ids=[e.id for e in EDITS])
def test_fixed_example_passes(edit):
    enc = example_encounter(edit.fixed)
    result = ENGINE.scrub(enc, **context_for(edit.fixed_context or edit.example_context, enc))
    assert not [f for f in result.findings if f.edit == edit.id], [
        (f.edit, f.line, f.message) for f in result.findings
    ]
    assert edit.id not in {n.edit for n in result.not_checked}


@pytest.mark.parametrize("edit", EDITS, ids=[e.id for e in EDITS])
def test_documentation_is_complete(edit):
    for field in ("title", "what", "why"):
        assert len(getattr(edit, field)) > 20, f"{edit.id}.{field} too short"
    assert edit.sources
