from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import date

from painrcm.codes.tables import REPEAT_MODIFIERS
from painrcm.edits.add002 import whole_units
from painrcm.edits.base import ClaimContext, Edit, FixOp, Hit, Outcome, Skip, remove, set_units
from painrcm.model import Severity

_TPI = {
    "family": "trigger_point",
    "muscles": ["left trapezius", "right trapezius", "left levator scapulae", "right rhomboid major"],
    "medications": ["lidocaine 1% 4 mL"],
}

EDIT = Edit(
    id="ADD004",
    severity=Severity.ERROR,
    applies_when=("repeat_code", "units:2", "mue:none", "mue:0"),
    title="Units above the code's per-day maximum (MUE)",
    what="Compares each code's units with its CMS Medically Unlikely Edit (MUE): per line for line-level "
    "MUEs, and summed over all lines of the code on one date of service for date-of-service MUEs. A "
    "bilateral procedure reported as separate RT and LT lines is counted per side, because the MUE "
    "assumes the one-line modifier-50 convention.",
    why="Units above the MUE are denied automatically, and for most codes the payer denies the whole line, "
    "not just the excess units. The MUE is the most units one provider reports for one patient on one "
    "day in almost every case (e.g. 1 for 64483, 4 for the add-on 64484).",
    example={
        "diagnoses": ["M79.18"],
        "procedures": [_TPI],
        "lines": [{"code": "20553", "modifiers": [], "units": 4, "diagnosis_pointers": [1]}],
    },
    fixed={
        "diagnoses": ["M79.18"],
        "procedures": [_TPI],
        "lines": [{"code": "20553", "modifiers": [], "units": 1, "diagnosis_pointers": [1]}],
    },
    example_note="Trigger points in four muscles were billed as 20553 x 4, one unit per muscle; 20553 already "
    "means three or more muscles and is reported once a day (MUE 1).",
    sources=["CMS Medically Unlikely Edits, practitioner services (MUE table)", "RULES.md section 3 and 5"],
)


def _level_code(ctx: ClaimContext, code: str) -> bool:
    info = ctx.reference.info(code)
    if info is None:
        return False
    return info.is_addon or code in ctx.reference.addon_primaries


def _without_duplicates(ctx: ClaimContext, idx: list[int]) -> list[int]:
    """Drop lines that repeat an earlier line (same side, no 76/77/59/X modifier) of a code without add-on
    levels: MOD006 reports those as duplicates, and a duplicate is one problem, not also a unit problem."""
    if len(idx) < 2 or _level_code(ctx, ctx.lines[idx[0]].code):
        return idx  # one line repeats nothing
    out: list[int] = []
    seen: set[str | None] = set()
    for i in idx:
        line = ctx.lines[i]
        if line.has(*REPEAT_MODIFIERS):
            out.append(i)
            continue
        side = ctx.side_of(i)
        if side in seen:
            continue
        seen.add(side)
        out.append(i)
    return out


@EDIT.check
def check(ctx: ClaimContext) -> Iterator[Outcome]:
    ref = ctx.reference
    groups: dict[tuple[str, date, str | None, int | None], list[int]] = defaultdict(list)
    no_mue: list[str] = []
    infos, sides, dates = ctx.infos, ctx.sides, ctx.dates  # each line's entry, side and date, per claim
    units: dict[int, int] = {}  # each counted line's whole units
    for i, line in enumerate(ctx.lines):
        u = whole_units(line)
        if u is None or ctx.claimed("units", i):
            continue
        units[i] = u
        info = infos[i]
        if info is not None and info.kind == "drug_test" and info.test is not None:
            continue  # a drug test repeated on one date is BUN010's (one code per date, by method or classes)
        entry = ref.mue.get(line.code)
        if entry is None:
            if ref.known(line.code, dates[i]) and line.code not in no_mue:
                no_mue.append(line.code)
            continue
        side = sides[i]
        per_side = ref.bilateral_indicator(line.code) == 1 and side in ("right", "left")
        # MAI 1: the limit is per line; MAI 2 and 3: per date of service
        per_line = i if entry.adjudication == "1" else None
        groups[(line.code, dates[i], side if per_side else None, per_line)].append(i)

    for (code, day, side, _), idx in groups.items():
        entry = ref.mue.get(code)
        assert entry is not None
        mue = entry.max_units
        idx = _without_duplicates(ctx, idx)
        total = sum([units[i] for i in idx])
        if total <= mue:
            continue
        on_side = f" on the {side} side" if side else ""
        where = f"line {idx[0] + 1}" if len(idx) == 1 else "lines " + ", ".join(str(i + 1) for i in idx)
        scope = "per line" if entry.adjudication == "1" else "per day"
        if mue < 1:
            yield Hit(
                f"{code} is billed with {total} unit{'s' if total != 1 else ''}{on_side} on {day.isoformat()} "
                f"({where}), but its MUE is 0: the payer does not pay it on a practitioner claim.",
                line=idx[0],
                fix=f"Remove {code} or bill it on the claim of the provider who may report it.",
            )
            continue
        ops: list[FixOp] = []
        left = mue
        for i in idx:
            u = units[i]
            if u <= left:
                left -= u
            elif left > 0:
                ops.append(set_units(i, left))
                left = 0
            else:
                ops.append(remove(i))
        fix = (
            f"Set line {idx[0] + 1} to {mue} unit{'s' if mue != 1 else ''}."
            if len(idx) == 1
            else f"Bill {code} with {mue} unit{'s' if mue != 1 else ''} in all{on_side} on {day.isoformat()}."
        )
        info = ref.info(code)
        if info is not None and info.kind == "drug":
            # Drug units are an amount given: the right number comes from the note, not from the MUE.
            ops = []
            fix = (
                f"Bill the dose given in {code}'s billing units (at most {mue}); check the units were "
                "not entered in milligrams."
            )
        yield Hit(
            f"{code} is billed with {total} units{on_side} on {day.isoformat()} ({where}); its MUE allows "
            f"{mue} {scope}. Units above the MUE are denied automatically, usually the whole line.",
            line=next((i for i in idx if any(op.index == i for op in ops)), idx[0]),
            fix=fix,
            ops=tuple(ops) or None,
        )

    if no_mue:
        yield Skip(
            f"no MUE in the loaded table ({ref.mue.edition}) for {', '.join(no_mue)}; "
            "their units were not checked against a per-day maximum."
        )
