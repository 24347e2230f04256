"""Mutated X12 files: the readers answer with a result or a clean InputError, never anything else."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from painrcm.errors import InputError
from painrcm.x12.reader835 import read_835
from painrcm.x12.reader837 import read_837

from .conftest import SAMPLES, fixture_text


def _load(rels: list[str]) -> list[str]:
    out = []
    for rel in rels:
        p = SAMPLES / rel
        if p.is_file():
            out.append(p.read_text(encoding="utf-8"))
    return out


SOURCES_837 = [
    fixture_text("pain.837"),
    *_load(
        [
            "imsweb/x12_valid.txt",
            "imsweb/x12_complex.txt",
            "imsweb/x12_valid_different_separators.txt",
            "linuxforhealth/demo.example1.837",
            "linuxforhealth/demo.cob.example3.C.837",
        ]
    ),
]
SOURCES_835 = [
    fixture_text("denials.835"),
    *_load(
        [
            "linuxforhealth/managed-care.835",
            "linuxforhealth/medicare-part-a.835",
            "linuxforhealth/secondary-payment.835",
        ]
    ),
]
NASTY = [
    "*",
    ":",
    "~",
    "^",
    "|",
    ">",
    "\n",
    "\r",
    "",
    " ",
    "\x00",
    "é",
    "-",
    "0",
    "99999999999999999999",
    "1e309",
    "nan",
    "ISA",
    "SE",
    "HL*1**20*1",
    "CLM",
    "SV1*HC",
    "CAS*CO",
    "LX*1",
    "20261399",
]


@st.composite
def mutated(draw: st.DrawFn, sources: list[str]) -> str:
    text = draw(st.sampled_from(sources))
    term = text[105] if len(text) > 105 else "~"
    segs = text.split(term)
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["drop", "dup", "swap", "truncate", "sep", "char", "element", "term"]))
        if not segs:
            break
        k = draw(st.integers(0, len(segs) - 1))
        if kind == "drop":
            del segs[k]
        elif kind == "dup":
            segs.insert(k, segs[k])
        elif kind == "swap":
            j = draw(st.integers(0, len(segs) - 1))
            segs[k], segs[j] = segs[j], segs[k]
        elif kind == "truncate":
            joined = term.join(segs)
            cut = draw(st.integers(0, len(joined)))
            segs = joined[:cut].split(term)
        elif kind == "sep":
            old = draw(st.sampled_from(["*", ":", "^", "~", "|", ">"]))
            new = draw(st.sampled_from(["*", ":", "^", "~", "|", ">", "!", "\n"]))
            segs[k] = segs[k].replace(old, new)
        elif kind == "char" and segs[k]:
            pos = draw(st.integers(0, len(segs[k]) - 1))
            segs[k] = segs[k][:pos] + draw(st.sampled_from(NASTY)) + segs[k][pos + 1 :]
        elif kind == "element":
            sep = text[3] if len(text) > 3 else "*"
            parts = segs[k].split(sep)
            n = draw(st.integers(0, len(parts)))
            value = draw(st.sampled_from(NASTY) | st.text(max_size=8))
            if n < len(parts):
                parts[n] = value
            else:
                parts.append(value)
            segs[k] = sep.join(parts)
        elif kind == "term":
            segs[k] = segs[k] + draw(st.sampled_from(["\n", "\r\n", "", "~", "'"]))
    return term.join(segs)


def _check(fn, text: str) -> None:  # type: ignore[no-untyped-def]
    try:
        result = fn(text, "mutant.x12")
    except InputError as e:
        assert e.file == "mutant.x12"
        assert e.expected
        return
    for p in getattr(result, "problems", []):
        assert isinstance(p, InputError) and p.place and p.place.startswith("segment ")


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated(SOURCES_837))
def test_mutated_837_never_crashes(text: str) -> None:
    _check(read_837, text)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated(SOURCES_835))
def test_mutated_835_never_crashes(text: str) -> None:
    _check(read_835, text)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=300))
def test_arbitrary_text_never_crashes(text: str) -> None:
    _check(read_837, text)
    _check(read_835, text)


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet="ISA*~:^0123456789 \n", min_size=100, max_size=400))
def test_isa_like_text_never_crashes(text: str) -> None:
    _check(read_837, "ISA" + text)
    _check(read_835, "ISA" + text)
