"""Scrubbing grows with a claim's lines, not with their square (issue 8): the NCCI pair edits look a
pair up once per pair of distinct codes of a date, and find what a line-by-line search finds."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from painrcm.codes.loader import load_reference
from painrcm.edits import CATALOGUE
from painrcm.edits.examples import example_dict
from painrcm.model import Encounter
from painrcm.policy.loader import load_policies
from painrcm.scrub import Engine, scrub_encounter


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(load_reference(), load_policies())


def _claim(edit: str, n: int) -> Encounter:
    doc: dict[str, Any] = example_dict(copy.deepcopy(CATALOGUE[edit].example))
    base = doc["lines"]
    doc["lines"] = [dict(base[i % len(base)]) for i in range(n)]
    return Encounter.model_validate(doc)


@pytest.mark.parametrize("edit", ["BUN006", "BUN007", "BUN001"])
def test_pair_lookups_do_not_grow_with_the_square_of_the_lines(
    engine: Engine, edit: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    cls = type(engine.reference.ncci)
    calls = 0
    real = cls.pair

    def counting(self: Any, *args: Any) -> Any:
        nonlocal calls
        calls += 1
        return real(self, *args)

    monkeypatch.setattr(cls, "pair", counting)
    small = scrub_encounter(_claim(edit, 4), engine, fix=True)
    calls_small, calls = calls, 0
    big = scrub_encounter(_claim(edit, 400), engine, fix=True)
    assert calls <= max(calls_small, 1) * 4  # the same distinct codes: about the same lookups
    # and the edit still finds its problem on every copy of the line
    assert edit in {f.edit for f in small.findings}
    per_copy = sum(f.edit == edit for f in small.findings)
    assert sum(f.edit == edit for f in big.findings) == per_copy * 100
