"""The coder keeps coded sessions per the payer's coding terms (`painrcm.coder.base.CodingTerms`), not
per policy: payers and places with equal terms share them. This proves on generated claims (every family,
both built-in payers, every practice kind and place of service of the corpus) that a note coded afresh
under one policy, practice kind and place of service gives the same lines as under any other with equal
terms, and different terms where a term the coder reads differs."""

from __future__ import annotations

import functools
import itertools

import painrcm.coder
from painrcm.coder import CodedLine, coded_procedures
from painrcm.coder.base import coding_terms
from painrcm.codes.loader import load_reference
from painrcm.errors import InputError
from painrcm.model import Encounter, Practice
from painrcm.policy.loader import load_policies
from painrcm.scrub import Engine
from tests import scrub_corpus


@functools.lru_cache(maxsize=1)
def _engine() -> Engine:
    return Engine(load_reference(), load_policies())


def _fresh(enc: Encounter, policy_id: str, kind: str, pos: str) -> tuple[CodedLine, ...] | None:
    """The note's lines coded with nothing kept from before (None: a fact the coder needs is missing)."""
    engine = _engine()
    painrcm.coder._MEMOS.clear()
    other = enc.model_copy(update={"practice": Practice(**{**enc.practice.model_dump(), "kind": kind}),
                                   "place_of_service": pos})  # fmt: skip
    try:
        return coded_procedures(
            other, other.procedures, engine.reference, engine.policies.built_in[policy_id]
        )
    except (InputError, LookupError, StopIteration, ValueError):
        return None


def test_equal_terms_code_every_note_alike() -> None:
    engine = _engine()
    claims, _history, _auths = scrub_corpus.corpus(engine, claims=400, history_lines=0)
    notes = [enc for enc in claims if enc.procedures and enc.diagnoses]
    places = sorted({enc.place_of_service for enc in claims} | {"11", "22", "24"})
    settings = [
        (pid, kind, pos)
        for pid in engine.policies.built_in
        for kind in ("physician", "asc")
        for pos in places
    ]
    terms = {s: coding_terms(engine.policies.built_in[s[0]], s[1], s[2]) for s in settings}
    assert len(set(terms.values())) < len(settings)  # some settings do share their terms
    assert len(set(terms.values())) > 1
    compared = 0
    for a, b in itertools.combinations(settings, 2):
        if terms[a] != terms[b]:
            continue
        for enc in notes[:: max(1, len(notes) // 60)]:
            assert _fresh(enc, *a) == _fresh(enc, *b), (a, b, enc.encounter_id)
            compared += 1
    assert compared > 100


def test_the_terms_are_what_the_policy_says() -> None:
    policies = _engine().policies.built_in
    for policy in policies.values():
        for kind, pos in itertools.product(("physician", "asc"), ("11", "22", "24")):
            t = coding_terms(policy, kind, pos)
            assert t.convention == policy.convention(kind, pos)
            assert t.addon_convention == policy.addon_convention(kind, pos)
            assert t.kx_on_diagnostic_facet is policy.kx_on_diagnostic_facet
            assert dict(t.asc_code_substitutions) == policy.asc_code_substitutions
