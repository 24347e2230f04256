"""The scrubber's findings on a large generated corpus are exactly those recorded in
tests/data/scrub_golden.txt.gz (written by scripts/scrub_golden.py from the engine before the
issue 13 speed work): making the engine faster must not change a single finding, not_checked
entry, coded line or fixed line."""

from __future__ import annotations

from painrcm.codes.loader import load_reference
from painrcm.policy.loader import load_policies
from painrcm.scrub import Engine
from tests import scrub_corpus


def test_findings_identical_to_the_golden_file() -> None:
    engine = Engine(load_reference(), load_policies())
    want = scrub_corpus.read_golden()
    got = list(scrub_corpus.results(engine))
    assert len(got) == len(want) == scrub_corpus.CLAIMS
    diff = [f"- {w}\n+ {g}" for w, g in zip(want, got, strict=True) if w != g]
    assert not diff, f"{len(diff)} of {len(want)} claims changed; first:\n" + "\n".join(diff[:5])
