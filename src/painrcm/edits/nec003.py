"""NEC003: no diagnosis on the line supports the procedure under the payer's covered-diagnosis list."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from painrcm.codes.tables import with_dot
from painrcm.edits.base import ClaimContext, Edit, Hit, Outcome, Skip
from painrcm.edits.words import a_family
from painrcm.model import Severity


def prefixes_of(listed: Sequence[str]) -> tuple[str, ...]:
    """A policy list of diagnosis prefixes, normalized (no dots, upper case): worked out once per list
    (a policy's lists are few and never change), not per claim."""
    found = _PREFIXES.get(id(listed))
    if found is not None and found[0] is listed:
        return found[1]
    if len(_PREFIXES) > 1024:
        _PREFIXES.clear()  # policies are few; stay bounded whatever arrives
    wanted = tuple(p.replace(".", "").strip().upper() for p in listed)
    _PREFIXES[id(listed)] = (listed, wanted)  # the list is kept with its answer: an id is never reused
    return wanted


_PREFIXES: dict[int, tuple[Sequence[str], tuple[str, ...]]] = {}


def matches(dx: str, prefixes: tuple[str, ...]) -> bool:
    """Prefix match of a dot-less ICD-10-CM code (`ClaimContext.line_diagnoses`) on `prefixes_of` a
    policy list (M5416 matches M541)."""
    return dx.startswith(prefixes)


def checked_lines(ctx: ClaimContext) -> list[tuple[int, str, list[str]]]:
    """(index, family, line diagnoses) for each line whose family the payer lists covered diagnoses for
    (worked out once per claim: NEC003 and NEC004 both read it)."""
    found: list[tuple[int, str, list[str]]] | None = ctx.memo.get("checked_lines")
    if found is None:
        covered = ctx.policy.diagnoses.covered
        found = ctx.memo["checked_lines"] = [
            (i, info.family, ctx.line_diagnoses(i))
            for i, _line, info in ctx.indexed()
            if info is not None and info.kind == "procedure" and info.family and info.family in covered
        ]
    return found


def dx_list(dx: list[str]) -> str:
    return ", ".join(with_dot(d) for d in dx)


EDIT = Edit(
    id="NEC003",
    severity=Severity.ERROR,
    applies_when=("covered",),
    title="No diagnosis on the line supports the procedure",
    what="For epidurals, facet joint injections and RFA, SI joint injections and trigger points, checks that "
    "at least one diagnosis the line points to is on the payer's list of diagnoses that support that "
    "procedure family (prefix match: M54.16 is covered by M54.1).",
    why="Payers pay a spinal injection only for the conditions their coverage policy lists (radiculopathy, "
    "spondylosis, disc displacement, post-laminectomy syndrome ...). A line whose diagnoses are all "
    "outside that list is denied as not medically necessary (CARC 50/11), even when the right diagnosis "
    "is elsewhere on the claim but not pointed to.",
    example={
        "diagnoses": ["M62.830"],
        "lines": [{"code": "64483", "modifiers": ["RT"], "units": 1, "diagnosis_pointers": [1]}],
    },
    fixed={
        "diagnoses": ["M54.16", "M62.830"],
        "lines": [{"code": "64483", "modifiers": ["RT"], "units": 1, "diagnosis_pointers": [1, 2]}],
    },
    example_note="A right L5 transforaminal epidural billed with muscle spasm of the back (M62.830) only. "
    "The note documents right L5 radiculopathy: the corrected claim adds M54.16 and points the line to it.",
    sources=[
        "RULES.md section 8 (covered diagnoses by family)",
        "payer policy: diagnoses.covered",
        "Medicare billing and coding article A58993 (epidural steroid injections)",
    ],
)


@EDIT.check
def check(ctx: ClaimContext) -> Iterator[Outcome]:
    covered = ctx.policy.diagnoses.covered
    for i, family, dx in checked_lines(ctx):
        line = ctx.lines[i]
        if not dx:
            yield Skip(f"line {i + 1} ({line.code}) has no diagnosis to compare with the covered list")
            continue
        prefixes = covered[family]
        wanted = prefixes_of(prefixes)
        if any(matches(d, wanted) for d in dx):
            continue
        examples = ", ".join(with_dot(p) for p in prefixes[:6])
        yield Hit(
            f"Line {i + 1}: no diagnosis on {line.code} ({dx_list(dx)}) is one this payer accepts for "
            f"{a_family(family)} (accepted: {examples}...); the line will be denied as not medically "
            "necessary.",
            line=i,
            fix="Point the line to the documented diagnosis that supports the procedure (add it to the claim "
            "if it is missing); if the note documents none, the procedure does not meet coverage.",
        )
