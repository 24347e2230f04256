"""Properties over realistic synthetic encounters (painrcm.synth), issue 2 item 8:

(a) the coder codes every valid generated encounter;
(b) the scrubber finds no error in the coder's own output;
(c) for claims with deliberately broken lines, scrubbing never raises, and when `--fix` offers
    corrected lines, those lines scrub without error.
"""

from __future__ import annotations

import json
import os
from functools import cache

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from painrcm.coder import code_encounter
from painrcm.model import Encounter, Line, Severity
from painrcm.synth import FAMILY_WEIGHTS, generate_encounters
from tests.support import ENGINE

SETTINGS = settings(
    max_examples=int(os.environ.get("PAINRCM_PROPERTY_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    database=None,
)

families = st.one_of(st.none(), st.sampled_from(sorted(FAMILY_WEIGHTS)))


@cache
def _encounter(seed: int, family: str | None) -> Encounter:
    (enc,) = generate_encounters(1, seed, with_lines=False, patients=1, family=family, engine=ENGINE.engine)
    return enc


def encounter(seed: int, family: str | None) -> Encounter:
    return _encounter(seed, family).model_copy(deep=True)


def coded(enc: Encounter) -> list[Line]:
    return code_encounter(enc, ENGINE.engine.reference, ENGINE.engine.policy_for(enc))


def with_lines(enc: Encounter, lines: list[Line]) -> Encounter:
    return enc.model_copy(update={"lines": [ln.model_copy(deep=True) for ln in lines]}, deep=True)


def errors(result) -> list:
    return [f for f in result.findings if f.severity is Severity.ERROR]


def explain(enc: Encounter, result) -> str:
    return json.dumps(
        {
            "encounter": enc.model_dump(mode="json", by_alias=True, exclude_none=True),
            "findings": [f.contract_dict() for f in result.findings],
        },
        indent=1,
    )


@given(seed=st.integers(0, 2**32 - 1), family=families)
@SETTINGS
def test_coder_codes_every_generated_encounter(seed, family):
    enc = encounter(seed, family)
    lines = coded(enc)
    assert lines, enc.model_dump_json()
    assert all(ln.units and ln.units >= 1 for ln in lines)
    assert all(ln.diagnosis_pointers for ln in lines)


@given(seed=st.integers(0, 2**32 - 1), family=families)
@SETTINGS
def test_scrubber_finds_no_error_in_the_coders_own_output(seed, family):
    enc = encounter(seed, family)
    claim = with_lines(enc, coded(enc))
    result = ENGINE.scrub(claim)
    assert not errors(result), explain(claim, result)


# --- broken claims ---------------------------------------------------------------------------------


def _info(code: str):
    return ENGINE.engine.reference.info(code)


def _mutations(lines: list[Line]) -> list[str]:
    out = ["duplicate_line"]
    if any((i := _info(ln.code)) is not None and i.imaging == "included" for ln in lines):
        out.append("add_77003")
    if any((i := _info(ln.code)) is not None and i.is_addon for ln in lines):
        out.append("drop_primary_of_addon")
    if any(ln.code in ("62321", "62323") for ln in lines):
        out.append("add_50_to_interlaminar")
    if any("RT" in ln.modifiers or "LT" in ln.modifiers for ln in lines):
        out.append("remove_side")
    if any(_is_primary(ln) for ln in lines):
        out.append("units_2_on_primary")
    return out


def _is_primary(ln: Line) -> bool:
    i = _info(ln.code)
    return i is not None and i.kind == "procedure" and not i.is_addon and i.level == 1


def mutate(lines: list[Line], kind: str, pick: int) -> list[Line]:
    lines = [ln.model_copy(deep=True) for ln in lines]

    def choose(pred) -> int:
        idx = [i for i, ln in enumerate(lines) if pred(ln)]
        return idx[pick % len(idx)]

    if kind == "duplicate_line":
        i = pick % len(lines)
        lines.insert(i + 1, lines[i].model_copy(deep=True))
    elif kind == "add_77003":
        i = choose(lambda ln: (x := _info(ln.code)) is not None and x.imaging == "included")
        lines.insert(
            i + 1,
            Line(
                code="77003",
                modifiers=[],
                units=1,
                diagnosis_pointers=list(lines[i].diagnosis_pointers or [1]),
            ),
        )
    elif kind == "drop_primary_of_addon":
        i = choose(lambda ln: (x := _info(ln.code)) is not None and x.is_addon)
        primaries = _info(lines[i].code).addon_of
        lines = [ln for ln in lines if ln.code not in primaries]
    elif kind == "add_50_to_interlaminar":
        i = choose(lambda ln: ln.code in ("62321", "62323"))
        lines[i].modifiers = ["50", *lines[i].modifiers]
    elif kind == "remove_side":
        i = choose(lambda ln: "RT" in ln.modifiers or "LT" in ln.modifiers)
        lines[i].modifiers = [m for m in lines[i].modifiers if m not in ("RT", "LT")]
    elif kind == "units_2_on_primary":
        i = choose(_is_primary)
        lines[i].units = 2
    else:  # pragma: no cover
        raise AssertionError(kind)
    return lines


@st.composite
def broken_claims(draw):
    seed = draw(st.integers(0, 2**32 - 1))
    family = draw(families)
    enc = encounter(seed, family)
    lines = coded(enc)
    kind = draw(st.sampled_from(_mutations(lines)))
    pick = draw(st.integers(0, 7))
    return with_lines(enc, mutate(lines, kind, pick)), kind


@given(case=broken_claims())
@SETTINGS
def test_scrub_never_raises_on_broken_claims(case):
    claim, _ = case
    result = ENGINE.scrub(claim, fix=True)
    assert result.claim_id == claim.encounter_id
    assert result.status in ("clean", "warning", "error")


@given(case=broken_claims())
@SETTINGS
def test_fixed_lines_scrub_without_error(case):
    claim, kind = case
    result = ENGINE.scrub(claim, fix=True)
    if result.fixed_lines is None:
        return
    fixed = with_lines(claim, result.fixed_lines)
    again = ENGINE.scrub(fixed)
    assert not errors(again), (
        f"mutation {kind}; broken claim findings: "
        + explain(claim, result)
        + ("\nafter --fix: " + explain(fixed, again))
    )
