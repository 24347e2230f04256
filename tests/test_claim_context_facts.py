"""The per-claim facts several edits share (`ClaimContext.procedure_families`,
`procedure_region_groups`), NEC009's groups built from them, and the normalized policy prefix lists
(`nec003.prefixes_of`) equal what each edit worked out for itself before, on generated claims
(every family, mutated lines, undocumented claims); the level-family sessions table (`sides.sessions`)
equals each line's session read on its own; and the engine's plan read edit by edit."""

from __future__ import annotations

import functools

import pytest

from painrcm import scrub
from painrcm.coder import CodedLine
from painrcm.codes.loader import load_reference
from painrcm.edits.applies import claim_features, may_apply
from painrcm.edits.base import ClaimContext
from painrcm.edits.nec003 import prefixes_of
from painrcm.edits.nec009 import groups_of
from painrcm.edits.sides import (
    _note_lines,
    level_family,
    matches_note,
    note_lines,
    same_lines,
    session_lines,
    sessions,
)
from painrcm.model import Encounter, Procedure
from painrcm.policy.loader import load_policies
from painrcm.scrub import Engine
from painrcm.spine import code_family, procedure_regions
from tests import scrub_corpus


@functools.lru_cache(maxsize=1)
def _engine() -> Engine:
    return Engine(load_reference(), load_policies())


@functools.lru_cache(maxsize=1)
def _claims() -> tuple[Encounter, ...]:
    claims, _history, _auths = scrub_corpus.corpus(_engine(), claims=1500, history_lines=0)
    return tuple(claims)


def _context(enc: Encounter) -> ClaimContext:
    engine = _engine()
    return ClaimContext(enc, enc.lines or [], engine.reference, engine.policy_for(enc))


def test_the_corpus_has_what_the_facts_are_about() -> None:
    procs = [p for enc in _claims() for p in enc.procedures]
    assert len({code_family(p) for p in procs}) >= 8
    assert any(procedure_regions(p) is None for p in procs)
    assert any(len(enc.procedures) > 1 for enc in _claims())
    assert any(not enc.procedures for enc in _claims())


def test_procedure_families_and_regions_are_the_spine_answers() -> None:
    for enc in _claims():
        ctx = _context(enc)
        assert ctx.procedure_families == [code_family(p) for p in enc.procedures]
        assert ctx.procedure_region_groups == [
            None if (r := procedure_regions(p)) is None else frozenset(r) for p in enc.procedures
        ]


def _regions_one_by_one(procs: list[Procedure]) -> set[str] | None:
    # what NEC009 worked out per group before the claim's facts: None when an entry does not say
    out: set[str] = set()
    for p in procs:
        r = procedure_regions(p)
        if r is None:
            return None
        out |= r
    return out


def _with_other_sides(claims: tuple[Encounter, ...]) -> list[Encounter]:
    # each documented one-sided entry again for the other side (and, for every second claim, without
    # its levels and region): a level-family session of two entries, or a left and a right twin
    out = []
    for n, enc in enumerate(claims):
        other = {"left": "right", "right": "left"}
        extra = [
            p.model_copy(
                update={"laterality": other[p.laterality]} | ({"levels": [], "region": None} if n % 2 else {})
            )
            for p in enc.procedures
            if p.laterality in other
        ]
        if extra:
            out.append(enc.model_copy(update={"procedures": [*enc.procedures, *extra]}))
    return out


def test_nec009_groups_carry_the_family_and_regions_of_their_entries() -> None:
    grouped = 0
    for enc in (*_claims(), *_with_other_sides(_claims())):
        ctx = _context(enc)
        groups = groups_of(enc.procedures, ctx.procedure_families, ctx.procedure_region_groups)
        assert sorted(id(p) for g in groups for p in g.procs) == sorted(map(id, enc.procedures))
        for g in groups:
            assert g.family == code_family(g.procs[0])
            assert g.regions == _regions_one_by_one(g.procs)
            grouped += len(g.procs) > 1
    assert grouped  # some groups join two entries (a bilateral session, a left and a right entry)


@pytest.mark.parametrize("name", ["covered", "nonspecific"])
def test_prefixes_are_normalized_once_per_policy_list(name: str) -> None:
    for policy in _engine().policies.all():
        lists = (
            list(policy.diagnoses.covered.values()) if name == "covered" else [policy.diagnoses.nonspecific]
        )
        for listed in lists:
            wanted = prefixes_of(listed)
            assert wanted == tuple(p.replace(".", "").strip().upper() for p in listed)
            assert prefixes_of(listed) is wanted  # the same list: the answer kept, not worked out again
    # an equal list that is another object gets its own (equal) answer
    assert prefixes_of(["m54.16 ", "M47.8"]) == ("M5416", "M478")


def test_the_plan_is_the_catalogue_read_edit_by_edit() -> None:
    # the checks a claim runs and the not_checked entries of the edits it skips (no history, no
    # authorization log) are, edit by edit in catalogue order, what the declarations say on the
    # claim's features
    engine = _engine()
    for enc in _claims()[:400]:
        policy = engine.policy_for(enc)
        lines = enc.lines or []
        features = claim_features(enc, lines, engine.reference, policy)
        plan = scrub._plan(engine, policy)
        for history in (False, True):
            for needs_log in (False, True):
                want = []
                for edit in plan.edits:
                    if not history and edit.id in scrub.HISTORY_EDITS:
                        want.append((edit.id, "no history supplied (--history)"))
                    elif needs_log and edit.id in scrub.AUTH_LOG_EDITS:
                        want.append((edit.id, "no authorization log supplied (--auths)"))
                    elif may_apply(edit, features):
                        want.append((edit.id, "run"))
                runs, skipped = plan.steps(enc, lines, history, needs_log)
                got: list[tuple[str, str]] = [(n.edit, n.reason) for n in skipped]
                for edit, check, before in reversed(runs):
                    assert check is edit.fn
                    got.insert(before, (edit.id, "run"))
                assert got == want


def _plain_coded(ctx: ClaimContext, i: int) -> list[CodedLine] | None:
    # the coder's lines for line i's family and region, coded on their own (None off the claim's date)
    info = ctx.infos[i]
    assert info is not None
    return None if ctx.dates[i] != ctx.encounter.date_of_service else _note_lines(ctx, info)


def test_the_sessions_table_is_each_line_read_on_its_own() -> None:
    # sides.sessions, made once per claim, against each line's session worked out alone: its billed lines
    # (same level family, region and date), the coder's lines for it and whether they are the same
    seen = {"matches": 0, "differs": 0, "uncoded": 0, "dates": 0}
    for enc in _claims():
        ctx = _context(enc)
        table = sessions(ctx)
        assert len(table.of_line) == len(ctx.lines)
        for i, info in enumerate(ctx.infos):
            session = table.of_line[i]
            if not level_family(info):
                assert session is None
                assert (
                    session_lines(ctx, i) == [i] and note_lines(ctx, i) is None and not matches_note(ctx, i)
                )
                continue
            assert info is not None and session is not None
            assert session.lines == [
                j
                for j, other in enumerate(ctx.infos)
                if level_family(other)
                and other is not None
                and (other.family, other.region, ctx.dates[j]) == (info.family, info.region, ctx.dates[i])
            ]
            coded = _plain_coded(ctx, i)
            assert session.coded == coded
            billed = [ctx.lines[j] for j in session.lines]
            assert session.matches == (coded is not None and same_lines(billed, coded))
            assert session_lines(ctx, i) == session.lines and note_lines(ctx, i) == coded
            assert matches_note(ctx, i) == session.matches
            seen["matches" if session.matches else "uncoded" if coded is None else "differs"] += 1
            seen["dates"] += ctx.dates[i] != ctx.dos
        firsts = [s.lines[0] for s in table.all]
        assert firsts == sorted(firsts) and len({id(s) for s in table.all}) == len(table.all)
        assert {id(s) for s in table.of_line if s is not None} == {id(s) for s in table.all}
    assert all(seen.values()), seen  # the corpus has every kind of session
