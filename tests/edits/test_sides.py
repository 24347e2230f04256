"""The sides helpers against their plain readings: `same_lines` is an equal count of (code, sides,
units) keys, `side_units` counts a 50 line, an RT and LT line or a sideless line on both sides."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from painrcm.edits.sides import same_lines, side_units
from painrcm.model import Line

_MODS = ("RT", "LT", "50", "KX", "XS")
lines = st.lists(
    st.builds(
        lambda code, mods, units: Line(code=code, modifiers=mods, units=units, diagnosis_pointers=[1]),
        st.sampled_from(("64483", "64484")),
        st.lists(st.sampled_from(_MODS), max_size=3, unique=True),
        st.sampled_from((1, 1.0, 2, None)),
    ),
    max_size=4,
)


def _counts(ls: list[Line]) -> Counter[tuple[str, frozenset[str], float | None]]:
    return Counter((ln.code, frozenset(ln.modifiers) & {"50", "RT", "LT"}, ln.units) for ln in ls)


@settings(max_examples=300, deadline=None)
@given(billed=lines, coded=lines)
def test_same_lines_is_an_equal_count_of_code_sides_and_units(billed: list[Line], coded: list[Line]) -> None:
    assert same_lines(billed, coded) == (_counts(billed) == _counts(coded))
    assert same_lines(billed, list(reversed(billed)))


@settings(max_examples=300, deadline=None)
@given(ls=lines)
def test_side_units_counts_50_both_and_sideless_lines_on_both_sides(ls: list[Line]) -> None:
    r = lt = 0.0
    for ln in ls:
        if ln.code != "64483":
            continue
        u, mods = ln.units or 0, set(ln.modifiers)
        if "50" in mods or {"RT", "LT"} <= mods or not mods & {"RT", "LT"}:
            r, lt = r + u, lt + u
        elif "RT" in mods:
            r += u
        else:
            lt += u
    assert side_units(ls, "64483") == (r, lt)
