"""Edit.applies_when (painrcm.edits.applies): the engine runs an edit only on claims whose features
meet its declaration, so the declaration must be true. For every edit, on the large generated corpus,
on every edit's own examples and on odd generated claims (no lines, unknown codes, lowercase codes,
any modifier, unknown payers, history and an authorization log present or not): run on a claim its
declaration rules out, the check yields nothing (no hit, so no fix, and no not_checked entry). The
engine's masks agree with the plain reading of the features."""

from __future__ import annotations

import os
from datetime import date, timedelta
from functools import cache
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from painrcm.edits import CATALOGUE
from painrcm.edits.applies import Gate, claim_features, known_feature, may_apply
from painrcm.edits.base import ClaimContext, Edit
from painrcm.edits.examples import example_encounter
from painrcm.history import History
from painrcm.history.auths import AuthLog
from painrcm.model import Encounter, Line
from painrcm.scrub import AUTH_LOG_EDITS, HISTORY_EDITS, Engine
from painrcm.synth import generate_encounters
from tests import scrub_corpus
from tests.support import ENGINE, context_for

SETTINGS = settings(
    max_examples=int(os.environ.get("PAINRCM_PROPERTY_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    database=None,
)


def ruled_out(engine: Engine, enc: Encounter, history: Any, auths: Any) -> list[str]:
    """Run every edit the declarations rule out for this claim (as the engine would have run it:
    history edits only with a history, log edits only with a log when the claim has a number) and
    return what any of them yielded."""
    lines = enc.lines or []
    policy = engine.policy_for(enc)
    features = claim_features(enc, lines, engine.reference, policy)
    edits = tuple(CATALOGUE.values())
    gate = Gate(engine.reference, policy, edits)
    runs = gate.runs(gate.mask(enc, lines))
    has_number = bool(enc.authorization_number or any(ln.authorization_number for ln in lines))
    problems = []
    for edit, engine_runs in zip(edits, runs, strict=True):
        assert engine_runs == may_apply(edit, features), (edit.id, sorted(features))
        if engine_runs or (history is None and edit.id in HISTORY_EDITS):
            continue
        if auths is None and has_number and edit.id in AUTH_LOG_EDITS:
            continue
        assert edit.fn is not None
        ctx = ClaimContext(enc, list(lines), engine.reference, policy, history=history, auths=auths)
        found = list(edit.fn(ctx))
        if found:
            problems.append(f"{edit.id} {edit.applies_when} yielded {found[:2]} on {enc.model_dump_json()}")
    return problems


def test_every_declaration_names_known_features() -> None:
    for edit in CATALOGUE.values():
        for entry in edit.applies_when:
            assert all(known_feature(f) for f in entry.split("+")), (edit.id, entry)


def test_ruled_out_edits_yield_nothing_on_the_golden_corpus() -> None:
    # the corpus of tests/test_scrub_golden.py, each claim in the context the golden run scrubs it in
    encs, history, auths = scrub_corpus.corpus(ENGINE.engine)
    problems: list[str] = []
    for i, enc in enumerate(encs):
        if i % 3 == 0:
            problems += ruled_out(ENGINE.engine, enc, None, None)
        else:
            problems += ruled_out(ENGINE.engine, enc, history, auths)
    assert not problems, "\n".join(problems[:5])


def _examples() -> list[tuple[Edit, dict[str, Any], dict[str, Any]]]:
    return [(e, ex, ctx) for e in CATALOGUE.values() for ex, ctx in ((e.example, e.example_context), (e.fixed, e.fixed_context))]  # fmt: skip


@pytest.mark.parametrize("edit,example,extra", _examples(), ids=lambda v: v.id if isinstance(v, Edit) else "")
def test_ruled_out_edits_yield_nothing_on_the_examples(edit: Edit, example: dict, extra: dict) -> None:
    from painrcm.policy.loader import add_payer_doc, load_policies

    enc = example_encounter(example)
    kw = context_for(extra, enc)
    engine = ENGINE.engine
    if "payer_file" in kw:
        book = load_policies()
        add_payer_doc(book, kw["payer_file"], "example payer file", "example")
        engine = Engine(engine.reference, book)
    for history, auths in ((None, None), (kw.get("history") or History(), kw.get("auths"))):
        assert not ruled_out(engine, enc, history, auths)


# --- odd generated claims ---------------------------------------------------------------------
_MODS = ["RT", "LT", "50", "59", "XS", "XU", "XE", "XP", "25", "57", "24", "KX", "76", "77", "26", "TC", "GA", "GZ", "JW", "QW", "ZZ", ""]  # fmt: skip
_PAYERS = [
    {"id": "MEDICARE-CA", "plan": "medicare", "state": "CA"},
    {"id": "ACME-HEALTH", "plan": "commercial", "state": "CA"},
    {"id": "UNKNOWN-PAYER", "plan": "commercial"},
    {"id": "MA-PLAN", "plan": "medicare_advantage", "state": "TX"},
    {"id": "MEDICAID-NY", "plan": "medicaid", "state": "NY"},
    {"id": "", "plan": "commercial"},  # no payer ID: the default policy
]


@cache
def _codes() -> list[str]:
    ref = ENGINE.engine.reference
    return sorted(ref.codes) + ["G0260", "J1040", "ZZZ99", "6448", "", "64483 ", "j3301", "A4550"]


@cache
def _seeds() -> tuple[list[Encounter], History, AuthLog]:
    encs, history, auths = scrub_corpus.corpus(ENGINE.engine, claims=300, history_lines=3000)
    return encs + generate_encounters(60, 77, with_lines=False, engine=ENGINE.engine), history, auths


lines_st = st.lists(
    st.builds(
        lambda code, mods, units, ptrs, day, charge, auth, line_pos: Line.model_construct(
            code=code,
            modifiers=mods,
            units=units,
            diagnosis_pointers=ptrs,
            date_of_service=day,
            place_of_service=line_pos,
            charge=charge,
            authorization_number=auth,
        ),
        st.sampled_from(_codes()),
        st.lists(st.sampled_from(_MODS), max_size=5),
        st.sampled_from([None, 0.0, -1.0, 0.5, 1.0, 2.0, 1.5, 4.0, 12.0, 999.0]),
        st.sampled_from([None, [], [1], [1, 2], [9], [0], [1, 2, 3, 4, 5]]),
        st.sampled_from([None, timedelta(days=-1), timedelta(days=40)]),
        st.sampled_from([None, 0.0, 125.0, -3.0]),
        st.sampled_from([None, "A12", "AUTH-MISSING"]),
        st.sampled_from([None, None, "11", "1", "88", " 22", "ZZ"]),
    ),
    max_size=6,
)


@given(
    seed=st.integers(0, 10**6),
    lines=lines_st,
    keep=st.booleans(),
    payer=st.sampled_from(_PAYERS),
    pos=st.sampled_from(["11", "22", "24", "21", "99", "88", "1", " 11", ""]),
    kind=st.sampled_from(["physician", "asc"]),
    procs=st.booleans(),
    dx=st.sampled_from([None, [], ["M54.16"], ["M54.5", "Z00.00"], ["M47.816", "M51.16", "G89.4"]]),
    total=st.sampled_from([None, 0.0, 250.0, -1.0]),
    context=st.sampled_from(["none", "history", "both"]),
    reused=st.sampled_from([None, [], ["line 40"]]),
    npi=st.sampled_from([None, "1679576722", "1679576723", "12345", ""]),
    shift=st.sampled_from([0, 0, 4000, -20000]),
    dob=st.sampled_from(["keep", None, "after"]),
)
@SETTINGS
def test_ruled_out_edits_yield_nothing_on_odd_claims(
    seed, lines, keep, payer, pos, kind, procs, dx, total, context, reused, npi, shift, dob
) -> None:
    encs, history, auths = _seeds()
    base = encs[seed % len(encs)]
    own = [ln.model_copy(deep=True) for ln in base.lines or []] if keep else []
    for ln in lines:
        if isinstance(ln.date_of_service, timedelta):
            ln.date_of_service = base.date_of_service + ln.date_of_service
    update: dict[str, Any] = {
        "lines": own + lines,
        "payer": base.payer.model_copy(update=payer),
        "place_of_service": pos,
        "practice": base.practice.model_copy(update={"kind": kind}),
        "total_charge": total,
        "claim_id_also_at": reused,
    }
    if npi is not None:
        update["rendering_provider"] = base.rendering_provider.model_copy(update={"npi": npi})
    if shift:  # a date of service in the future or before any plausible one (the lines keep theirs)
        update["date_of_service"] = base.date_of_service + timedelta(days=shift)
    if dob != "keep":
        born = None if dob is None else base.date_of_service + timedelta(days=2)
        update["patient"] = base.patient.model_copy(update={"dob": born})
    if not procs:
        update["procedures"] = []
    if dx is not None:
        update["diagnoses"] = dx
    enc = base.model_copy(update=update)
    h = history if context != "none" else None
    a = auths if context == "both" else None
    assert not ruled_out(ENGINE.engine, enc, h, a)


def test_no_lines_and_a_date_far_in_the_past() -> None:
    encs, history, auths = _seeds()
    for enc in encs[:40]:
        bare = enc.model_copy(update={"lines": [], "date_of_service": date(1990, 1, 2)})
        assert not ruled_out(ENGINE.engine, bare, None, None)
        assert not ruled_out(ENGINE.engine, bare, history, auths)


def test_a_claim_without_lines_is_counted_by_its_note() -> None:
    # the frequency edits run on a claim's limited families (frequency:E); a claim without lines has
    # none, but its documented procedures are its sessions: FRQ001 still counts them
    from painrcm.edits.examples import example_encounter
    from tests.support import context_for

    edit = CATALOGUE["FRQ001"]
    enc = example_encounter({**edit.example, "lines": []})
    assert enc.lines == [] and enc.procedures
    result = ENGINE.scrub(enc, **context_for(edit.example_context, enc))
    assert [f.edit for f in result.findings if f.edit.startswith("FRQ")] == ["FRQ001"]


def test_a_payer_that_pays_no_level_gets_add003_on_one_line() -> None:
    # ADD003 is ruled out on one line of one unit (one level, within any limit of one or more), but a
    # payer file may allow none: `no_levels`
    encs, _history, _auths = _seeds()
    enc = next(
        e
        for e in encs
        if e.lines and len(e.lines) == 1 and e.lines[0].units == 1 and e.lines[0].code == "62323"
    )
    engine = ENGINE.engine
    policy = engine.policy_for(enc)
    strict = policy.model_copy(
        update={"session_levels": {**policy.session_levels, "epidural_interlaminar": 0}}
    )
    edits = tuple(CATALOGUE.values())
    add003 = [e.id for e in edits].index("ADD003")
    for pol, runs in ((policy, False), (strict, True)):
        gate = Gate(engine.reference, pol, edits)
        assert gate.runs(gate.mask(enc, enc.lines or []))[add003] is runs
    ctx = ClaimContext(enc, list(enc.lines or []), engine.reference, strict)
    assert [type(o).__name__ for o in CATALOGUE["ADD003"].run(ctx)] == ["Hit"]
