"""The coder: a documented encounter becomes claim lines under its payer's policy.

Each procedure family has its own module returning `Service`s (code, units, side). This module
then applies what is common to all: the payer's bilateral convention and side modifiers, KX,
the E/M with 25, drug lines, and diagnosis pointers that put the supporting diagnosis first.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any, NamedTuple

from painrcm.built import builder
from painrcm.coder import epidural, other
from painrcm.coder.base import CodingContext, CodingTerms, Service, coding_terms
from painrcm.coder.levels import LEVEL_FAMILIES, UNCODED_FACTS, code_one, code_session, sessions
from painrcm.codes.tables import Reference, strip_dot
from painrcm.errors import InputError
from painrcm.model import Drug, Encounter, Evaluation, Family, Line, Procedure
from painrcm.policy.schema import Policy

FamilyCoder = Callable[[Procedure, int, CodingContext], list[Service]]

FAMILY_CODERS: dict[Family, FamilyCoder] = {
    Family.EPIDURAL_INTERLAMINAR: epidural.interlaminar,
    Family.EPIDURAL_TRANSFORAMINAL: code_one,
    Family.FACET_JOINT: code_one,
    Family.RADIOFREQUENCY_ABLATION: code_one,
    Family.SACROILIAC_JOINT: other.sacroiliac_joint,
    Family.TRIGGER_POINT: other.trigger_point,
    Family.PERIPHERAL_NERVE_BLOCK: other.peripheral_nerve_block,
    Family.SPINAL_CORD_STIMULATOR: other.spinal_cord_stimulator,
    Family.VERTEBRAL_AUGMENTATION: other.vertebral_augmentation,
    Family.DRUG_TEST: other.drug_test,
    Family.SACROILIAC_ABLATION: other.sacroiliac_ablation,
    Family.GENICULAR: other.genicular,
    Family.JOINT_INJECTION: other.joint_injection,
    Family.SYMPATHETIC_BLOCK: other.sympathetic_block,
    Family.INTRATHECAL_PUMP: other.intrathecal_pump,
    Family.BLOOD_PATCH: other.blood_patch,
}

SIDE_MOD = {"left": "LT", "right": "RT"}
_build_line = builder(Line)


def _merge_sides(procs: list[Procedure]) -> list[tuple[int, Procedure]]:
    """A left and a right procedure documented separately with otherwise equal facts are one
    bilateral procedure (one session, both sides). Level families are combined by `sessions`."""
    out: list[tuple[int, Procedure]] = []
    for i, p in enumerate(procs):
        if p.family in LEVEL_FAMILIES:
            continue
        twin = None
        if p.laterality in ("left", "right"):
            key = None  # the entry's other facts, dumped only when an entry of the other side may be its twin
            for j, (_, q) in enumerate(out):
                if q.laterality in ("left", "right") and q.laterality != p.laterality:
                    if key is None:
                        key = p.model_dump(exclude={"laterality"})
                    if q.model_dump(exclude={"laterality"}) == key:
                        twin = j
                        break
        if twin is None:
            out.append((i, p))
        else:
            idx, q = out[twin]
            out[twin] = (idx, q.model_copy(update={"laterality": "bilateral"}))
    return out


def _line(code: str, modifiers: list[str], units: float, pointers: list[int]) -> Line:
    # the coder's own values (table codes, its modifiers, whole units): valid as they are, so the
    # line is built without validating them again (units as the float validation would make)
    return _build_line(code=code, modifiers=modifiers, units=float(units), diagnosis_pointers=pointers)


def _apply_sides(services: list[Service], family: str, ctx: CodingContext) -> list[CodedLine]:
    ref, terms = ctx.reference, ctx.terms
    # [code, modifiers, units]: the units of one code and side add up in `_combine`
    primaries: list[list[Any]] = []
    addons: list[list[Any]] = []
    for s in services:
        info = ref.info(s.code)
        addon = info is not None and info.is_addon
        target = addons if addon else primaries
        if s.side in SIDE_MOD:
            target.append([s.code, (SIDE_MOD[s.side], *s.modifiers), float(s.units)])
            continue
        if s.side == "bilateral" and ref.bilateral_indicator(s.code) == 1:
            conv = terms.addon_convention if addon else terms.convention
            if conv == "modifier_50":
                # A 50 line is one unit (MOD009): each further bilateral level is its own line.
                for _ in range(max(s.units, 1)):
                    target.append([s.code, ("50", *s.modifiers), 1.0])
            else:
                target.append([s.code, ("RT", *s.modifiers), float(s.units)])
                target.append([s.code, ("LT", *s.modifiers), float(s.units)])
            continue
        target.append([s.code, tuple(s.modifiers), float(s.units)])
    # Add-ons follow their primaries (claim order matters to some payers and to readers).
    return [
        CodedLine(family, code, mods, units) for code, mods, units in _combine(primaries) + _combine(addons)
    ]


def _combine(lines: list[list[Any]]) -> list[list[Any]]:
    """One line per code and side: a bilateral add-on level and a one-sided one on the same side
    (RT/LT convention) add their units. A 50 line stays one unit per level (MOD009)."""
    out: list[list[Any]] = []
    for ln in lines:
        code, mods, units = ln
        twin = next((o for o in out if "50" not in mods and o[0] == code and o[1] == mods), None)
        if twin is None:
            out.append(ln)
        else:
            twin[2] += units
    return out


def _pointers(family: str | None, dx: list[str], policy: Policy) -> list[int]:
    covered = tuple(policy.diagnoses.covered.get(family or "", ()))
    supporting = [i for i, d in enumerate(dx, 1) if d.startswith(covered)] if covered else []
    rest = [i for i in range(1, len(dx) + 1) if i not in supporting]
    return (supporting + rest)[:4]


def _mark_distinct(
    lines: list[Line], families: list[str | None], enc: Encounter, reference: Reference, policy: Policy
) -> None:
    """Documented procedures of different families that NCCI pairs with a bypassable edit get the
    payer's distinct-service modifier on the column-2 line (20553 with 64493: 64493-XS). Two spinal
    procedures of one region are left alone: whether they are distinct is a person's call."""
    for i, a in enumerate(lines):
        for j, b in enumerate(lines):
            if i == j or families[i] == families[j] or b.has("59", "XE", "XS", "XP", "XU"):
                continue
            row = reference.ncci.pair(a.code, b.code, enc.date_of_service)
            if row is None or row.modifier_indicator != "1":
                continue
            ia, ib = reference.info(a.code), reference.info(b.code)
            if ia is not None and ib is not None and ia.region is not None and ia.region == ib.region:
                continue
            b.modifiers = [*b.modifiers, policy.distinct_modifier.preferred]


def code_encounter(enc: Encounter, reference: Reference, policy: Policy) -> list[Line]:
    """Claim lines for the documented encounter. Raises InputError for a missing or bad fact."""
    return _code(enc, enc.procedures, enc.evaluation, enc.drugs, reference, policy)


def code_procedures(
    enc: Encounter, procedures: list[Procedure], reference: Reference, policy: Policy
) -> list[Line]:
    """Claim lines for some of the encounter's documented procedures alone (no E/M visit, no drugs):
    what the edits compare a billed session with. The encounter is read, not copied."""
    return _code(enc, procedures, None, [], reference, policy)


class CodedLine(NamedTuple):
    """A line as the coder codes a documented session, before the claim-level steps (diagnosis
    pointers, and the distinct-service modifier between procedures of different families)."""

    family: str  # the session's procedure family
    code: str
    modifiers: tuple[str, ...]
    units: float


# The procedures' lines per (the payer's coding terms, each procedure's facts), kept per code table: the
# same few documented sessions recur on claim after claim (under the same terms for most payers and
# places), and several edits code a claim's note again (a session's lines as the note gives them).
_MEMOS: dict[int, tuple[Reference, dict[tuple[object, ...], tuple[CodedLine, ...]]]] = {}
# the coding terms of each (policy, practice kind, place of service), with the policy they were read from,
# and each distinct terms' number (a memo key holds the number: hashed at once, where the terms' fields
# would be hashed again on every look-up)
_TERMS: dict[tuple[int, str, str], tuple[Policy, CodingTerms, int]] = {}
_TERMS_NUMBER: dict[CodingTerms, int] = {}


# an entry's facts in declaration order: every fact, or a level-family entry's coded ones
_ALL_FACTS = operator.itemgetter(*Procedure.model_fields)
_LEVEL_FACTS = operator.itemgetter(*(f for f in Procedure.model_fields if f not in UNCODED_FACTS))


def _facts(p: Procedure) -> tuple[object, ...]:
    # every fact the coder may read (lists as tuples)
    values = (_LEVEL_FACTS if p.family in LEVEL_FAMILIES else _ALL_FACTS)(p.__dict__)
    return tuple([tuple(v) if type(v) is list else v for v in values])


def _memo(reference: Reference) -> dict[tuple[object, ...], tuple[CodedLine, ...]]:
    found = _MEMOS.get(id(reference))
    if found is not None and found[0] is reference:
        if len(found[1]) > 50_000:
            found[1].clear()  # a long-running server fed endless different notes stays bounded
        return found[1]
    if len(_MEMOS) > 64:
        _MEMOS.clear()
    memo: dict[tuple[object, ...], tuple[CodedLine, ...]] = {}
    _MEMOS[id(reference)] = (reference, memo)
    return memo


def _terms(policy: Policy, practice_kind: str, place_of_service: str) -> tuple[CodingTerms, int]:
    key = (id(policy), practice_kind, place_of_service)
    found = _TERMS.get(key)
    if found is not None and found[0] is policy:
        return found[1], found[2]
    if len(_TERMS) > 4096:
        _TERMS.clear()  # policies and places are few; stay bounded whatever arrives
    terms = coding_terms(policy, practice_kind, place_of_service)
    number = _TERMS_NUMBER.setdefault(terms, len(_TERMS_NUMBER))  # equal terms, one number, for good
    _TERMS[key] = (policy, terms, number)  # the policy is kept with its terms: an id is never reused
    return terms, number


def coded_procedures(
    enc: Encounter, procedures: list[Procedure], reference: Reference, policy: Policy
) -> tuple[CodedLine, ...]:
    """The lines of the encounter's documented `procedures`, session by session in the order
    documented, before the claim-level steps: what an edit compares a billed session with (its codes,
    sides and units). Raises InputError for a missing or bad fact (as `code_procedures`)."""
    if not enc.diagnoses:
        raise InputError(None, "$.diagnoses", "at least one ICD-10-CM diagnosis to point the lines to")
    memo = _memo(reference)
    terms, number = _terms(policy, enc.practice.kind, enc.place_of_service)
    key = (number, *map(_facts, procedures))
    found = memo.get(key)
    if found is None:  # a missing or bad fact raises InputError (nothing kept)
        found = memo[key] = _code_sessions(procedures, CodingContext(terms, reference))
    return found


def _code_sessions(procedures: list[Procedure], ctx: CodingContext) -> tuple[CodedLine, ...]:
    """The documented procedures' lines, session by session in the order documented."""
    coded_sessions: list[tuple[int, str, list[Service]]] = []
    for indices, procs in sessions(procedures):
        if procs[0].family in LEVEL_FAMILIES:
            coded_sessions.append((indices[0], procs[0].family.value, code_session(procs, indices, ctx)))
    for index, proc in other.combine_drug_tests(_merge_sides(procedures)):
        coded_sessions.append((index, proc.family.value, FAMILY_CODERS[proc.family](proc, index, ctx)))
    out: list[CodedLine] = []
    for _, family, services in sorted(coded_sessions, key=lambda u: u[0]):
        out += _apply_sides(services, family, ctx)
    return tuple(out)


def _code(
    enc: Encounter,
    procedures: list[Procedure],
    evaluation: Evaluation | None,
    drugs: list[Drug],
    reference: Reference,
    policy: Policy,
) -> list[Line]:
    coded = coded_procedures(enc, procedures, reference, policy)
    pointers: dict[str | None, list[int]] = {}  # the same for every line of a family
    dx = [strip_dot(d) for d in enc.diagnoses] if coded else []
    for fam, *_ in coded:
        if fam not in pointers:
            pointers[fam] = _pointers(fam, dx, policy)
    # new lines for this call alone (the caller may change them)
    lines = [_line(code, list(mods), units, list(pointers[fam])) for fam, code, mods, units in coded]
    families: list[str | None] = [c[0] for c in coded]

    procedure_codes = [ln.code for ln in lines]
    em_lines: list[Line] = []
    if evaluation is not None:
        ev = evaluation
        info = reference.info(ev.code.strip().upper())
        if info is None or info.kind != "em":
            raise InputError(None, "$.evaluation.code", f"an E/M visit code 99202-99215 (got {ev.code!r})")
        globals_ = {reference.global_days(c) or "" for c in procedure_codes}
        extra = ["24"] if ev.unrelated_to_procedure else []
        visit_pointers = list(range(1, min(4, len(enc.diagnoses)) + 1))
        if ev.decision_for_surgery and "090" in globals_:
            # the visit where the decision for a major (090-global) procedure was made: 57, not 25
            em_lines.append(_line(info.code, ["57", *extra], 1, visit_pointers))
        elif not globals_ & {"000", "010", "090"}:
            em_lines.append(_line(info.code, extra, 1, visit_pointers))
        elif ev.separately_identifiable:
            em_lines.append(_line(info.code, ["25", *extra], 1, visit_pointers))
        # otherwise the visit is the pre-procedure assessment, included in the procedure

    drug_lines: list[Line] = []
    pays_drugs = (
        enc.practice.kind == "physician"
        and enc.place_of_service in policy.drugs.separately_payable_pos
        and not policy.drugs.included_with_injection
    )
    if pays_drugs:
        units: dict[str, float] = {}
        for i, d in enumerate(drugs):
            if not reference.known(d.code.upper(), enc.date_of_service):
                raise InputError(None, f"$.drugs[{i}].code", f"a known drug HCPCS code (got {d.code!r})")
            # the same drug given twice is one line with the units added
            units[d.code.upper()] = units.get(d.code.upper(), 0) + d.units
        drug_lines = [_line(code, [], u, [1]) for code, u in units.items()]

    _mark_distinct(lines, families, enc, reference, policy)

    return em_lines + lines + drug_lines
