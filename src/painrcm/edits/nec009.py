"""NEC009: a billed procedure code contradicts the documented procedure (family/approach, region, side)."""

from __future__ import annotations

from collections.abc import Iterator
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from painrcm.coder import code_procedures
from painrcm.coder.levels import LEVEL_FAMILIES, session_key
from painrcm.codes.tables import CodeInfo, RegionGroup
from painrcm.edits.base import ClaimContext, Edit, FixOp, Hit, Outcome, Skip, remove, replace
from painrcm.edits.sides import rebuild_ops, sessions, side_units
from painrcm.edits.words import REGION_WORDS, a_family, family_words
from painrcm.errors import InputError
from painrcm.model import Line, Procedure, Severity

# Families close enough that one is billed by mistake for the other: a line of one billed for a documented
# procedure of the other can safely be replaced by the coded lines (62323 for a transforaminal, a facet code
# for an RFA). Anything else (a trigger-point code for a documented epidural) needs a person.
_CLOSE: tuple[frozenset[str], ...] = (
    frozenset({"epidural_interlaminar", "epidural_transforaminal"}),
    frozenset({"facet_joint", "radiofrequency_ablation"}),
)


_BOTH_SIDES = frozenset({"left", "right"})
_PROC_SIDES = {"bilateral": _BOTH_SIDES, "left": frozenset({"left"}), "right": frozenset({"right"})}


def proc_sides(proc: Procedure) -> frozenset[str] | None:
    """The sides a documented procedure was done on (None when the note does not say); the sets are made
    once (a group's sides are replaced, never changed in place)."""
    lat = proc.laterality
    if lat is None:
        return None
    found = _PROC_SIDES.get(lat)
    return frozenset({lat}) if found is None else found


@dataclass(slots=True)
class Group:
    """One documented procedure, or a left and a right one with otherwise equal facts (one bilateral
    session, as the coder reads them)."""

    procs: list[Procedure]
    # the code-table family of the first entry (later entries only join a group of its family)
    family: str
    # the region groups the entries cover (None when an entry does not say)
    regions: frozenset[RegionGroup] | None
    sides: frozenset[str] | None = None
    represented: bool = False

    @property
    def proc(self) -> Procedure:
        return self.procs[0]

    def join(self, p: Procedure, regions: frozenset[RegionGroup] | None) -> None:
        self.procs.append(p)
        self.regions = None if self.regions is None or regions is None else self.regions | regions


def groups_of(
    procs: list[Procedure], families: list[str], regions: list[frozenset[RegionGroup] | None]
) -> list[Group]:
    """The documented procedures as groups; `families` and `regions` are each entry's code-table family
    and region groups (the claim's `procedure_families` and `procedure_region_groups`)."""
    out: list[Group] = []
    by_session: dict[tuple[str, str], Group] = {}
    # a lone level-family entry is its own group: its session key only matters to meet another entry's
    grouped = len(procs) > 1 and len([p for p in procs if p.family in LEVEL_FAMILIES]) > 1
    for k, p in enumerate(procs):
        if p.family in LEVEL_FAMILIES:
            # one session of a level family, whatever the sides of its entries (RULES.md section 1)
            if not grouped:
                out.append(Group([p], families[k], regions[k], proc_sides(p)))
                continue
            skey = session_key(p)
            if skey in by_session:
                g = by_session[skey]
                g.join(p, regions[k])
                ps = proc_sides(p)
                g.sides = None if g.sides is None or ps is None else g.sides | ps
                continue
            by_session[skey] = Group([p], families[k], regions[k], proc_sides(p))
            out.append(by_session[skey])
            continue
        twin = None
        if p.laterality in ("left", "right"):
            key = None  # the entry's other facts, dumped only when an entry of the other side may be its twin
            for g in out:
                q = g.procs[-1]
                if len(g.procs) == 1 and q.laterality in ("left", "right") and q.laterality != p.laterality:
                    if key is None:
                        key = p.model_dump(exclude={"laterality"})
                    if q.model_dump(exclude={"laterality"}) == key:
                        twin = g
                        break
        if twin is None:
            out.append(Group([p], families[k], regions[k], proc_sides(p)))
        else:
            twin.join(p, regions[k])
            twin.sides = _BOTH_SIDES
    return out


# the families whose codes also name an approach (`_approach_ok` passes every other code)
_APPROACHES = frozenset({"peripheral_nerve_block", "vertebral_augmentation", "spinal_cord_stimulator"})


def _approach_ok(info: CodeInfo, proc: Procedure) -> bool:
    if info.family == "peripheral_nerve_block" and info.nerve and proc.nerve:
        return info.nerve == proc.nerve
    if info.family == "vertebral_augmentation" and info.augmentation and proc.kind:
        return info.augmentation == proc.kind
    if info.family == "spinal_cord_stimulator" and proc.stage and info.stages:
        return proc.stage in info.stages
    return True


def _approach_words(info: CodeInfo, proc: Procedure) -> str:
    if info.family == "peripheral_nerve_block":
        return (
            f"a {str(info.nerve).replace('_', ' ')} nerve block, but the note documents a "
            f"{str(proc.nerve).replace('_', ' ')} nerve block"
        )
    if info.family == "vertebral_augmentation":
        return f"a {info.augmentation}, but the note documents a {proc.kind}"
    return f"{info.label.lower()}, but the note documents a stimulator {proc.stage}"


@dataclass
class Contradiction:
    index: int
    kind: str  # family | approach | region | side
    message: str
    candidates: list[Group]  # documented procedures the line may have been meant for


# a line's side (ClaimContext.sides) as the sides it is billed for
_BILLED = {
    "bilateral": frozenset({"left", "right"}),
    "left": frozenset({"left"}),
    "right": frozenset({"right"}),
}


def _side_words(sides: AbstractSet[str]) -> str:
    return "both sides" if sides == {"left", "right"} else f"the {next(iter(sides))} side"


def _desc(lines: list[Line]) -> str:
    return ", ".join(
        f"{ln.code}{''.join('-' + m for m in ln.modifiers)} x {_units(ln.units)}" for ln in lines
    )


def _units(u: float | None) -> str:
    return "?" if u is None else (str(int(u)) if float(u).is_integer() else f"{u:g}")


def _coded(ctx: ClaimContext, group: Group) -> list[Line] | None:
    try:
        lines = code_procedures(ctx.encounter, list(group.procs), ctx.reference, ctx.policy)
    except (InputError, LookupError, StopIteration, ValueError):  # a fact the coder needs is missing: no fix
        return None
    return lines or None


EDIT = Edit(
    id="NEC009",
    severity=Severity.ERROR,
    applies_when=("kind:procedure",),
    title="Billed procedure code contradicts the procedure note",
    what="Compares each billed procedure line with the documented procedures: the procedure family or "
    "approach (an interlaminar code for a documented transforaminal injection, a facet code for a "
    "documented RFA, the wrong nerve), the spinal region (a lumbar code for a cervical procedure; the "
    "documented levels decide, T12-L1 is thoracic) and the side (RT billed, left documented). Level "
    "counts, units and imaging are left to the ADD and BUN edits.",
    why="A code that describes a different procedure, region or side than the note is not supported by the "
    "record: payers deny it on review or take the payment back on audit, and a wrong side can also clash "
    "with the patient's other claims. The fix recodes the documented procedure.",
    example={"lines": [{"code": "62323", "modifiers": [], "units": 1, "diagnosis_pointers": [1, 2]}]},
    fixed={"lines": [{"code": "64483", "modifiers": ["RT"], "units": 1, "diagnosis_pointers": [1, 2]}]},
    example_note="The note documents a right L5 transforaminal epidural, but the interlaminar code 62323 was "
    "billed. The fix replaces the line with the coded 64483-RT.",
    sources=[
        "RULES.md sections 1 and 2 (regions, codes by procedure)",
        "CONTRACTS.md section 2",
        "EDITS.md NEC009",
    ],
)


@EDIT.check
def check(ctx: ClaimContext) -> Iterator[Outcome]:
    dos, dates = ctx.dos, ctx.dates
    rows = [
        (i, info)
        for i, _ln, info in ctx.indexed()
        if info is not None and info.kind == "procedure" and info.family and dates[i] == dos
    ]
    if not rows:
        return
    if not ctx.documented:
        yield Skip("no documented procedures: the billed codes cannot be compared with the note")
        return
    groups = groups_of(ctx.procedures, ctx.procedure_families, ctx.procedure_region_groups)
    by_family: dict[str, list[Group]] = {}
    for g in groups:
        by_family.setdefault(g.family, []).append(g)
    found: list[Contradiction] = []
    skips: list[str] = []
    lines, sides, claims = ctx.lines, ctx.sides, ctx.claims_
    for i, info in rows:
        line = lines[i]
        assert info.family is not None
        fam = by_family.get(info.family)
        if not fam:
            documented = " and ".join(sorted({a_family(g.family) for g in groups}))
            found.append(
                Contradiction(
                    i,
                    "family",
                    f"Line {i + 1}: {line.code} ({info.label.lower()}) is billed, but the note documents "
                    f"{documented}, not {a_family(info.family)}.",
                    [g for g in groups if any(info.family in c and g.family in c for c in _CLOSE)],
                )
            )
            continue
        compatible = [g for g in fam if _approach_ok(info, g.proc)] if info.family in _APPROACHES else fam
        if not compatible:
            found.append(
                Contradiction(
                    i, "approach", f"Line {i + 1}: {line.code} is {_approach_words(info, fam[0].proc)}.", fam
                )
            )
            continue
        if info.region:
            in_region = [g for g in compatible if g.regions is not None and info.region in g.regions]
            if len(in_region) < len(compatible):  # an entry elsewhere or without a region
                unknown = [g for g in compatible if g.regions is None]
                if not in_region and not unknown:
                    where = compatible[0].proc.levels or [compatible[0].proc.region or "?"]
                    doc_regions = sorted(set().union(*(g.regions or () for g in compatible)))
                    found.append(
                        Contradiction(
                            i,
                            "region",
                            f"Line {i + 1}: {line.code} is a {REGION_WORDS[info.region]} code, but the documented "
                            f"{family_words(info.family)} was at {', '.join(where)}, which is "
                            f"{' and '.join(REGION_WORDS[r] for r in doc_regions)}.",
                            compatible,
                        )
                    )
                    continue
                if not in_region:
                    skips.append(
                        f"line {i + 1} ({line.code}): the region or levels of the documented "
                        f"{family_words(info.family)} are not given, so the code's region cannot be checked"
                    )
                compatible = in_region + unknown
        side = sides[i]
        if info.one_sided and side is not None and ("side", i) not in claims:
            billed = _BILLED[side]
            if any(g.sides is None for g in compatible):
                skips.append(
                    f"line {i + 1} ({line.code}): the side of the documented "
                    f"{family_words(info.family)} is not given, so the billed side cannot be checked"
                )
            else:
                matching = [g for g in compatible if g.sides is not None and billed <= g.sides]
                if not matching:
                    doc = set().union(*(g.sides or set() for g in compatible))
                    mods = "/".join(m for m in line.modifiers if m in ("RT", "LT", "50"))
                    found.append(
                        Contradiction(
                            i,
                            "side",
                            f"Line {i + 1}: {line.code} is billed for {_side_words(billed)} ({mods}), but the note "
                            f"documents the {family_words(info.family)} on {_side_words(doc)}.",
                            compatible,
                        )
                    )
                    continue
                compatible = matching
        for g in compatible:
            g.represented = True
    for reason in dict.fromkeys(skips):
        yield Skip(reason)
    yield from _level_sides(ctx, {c.index for c in found})
    if not found:
        return
    ops = _fix_ops(ctx, groups, found)
    for n, c in enumerate(found):
        line = ctx.lines[c.index]
        if ops is None:
            fix = f"Recode line {c.index + 1} from the procedure note (or correct the note if the code is right)."
            yield Hit(
                c.message + " The code is not supported by the record and will be denied.",
                line=c.index,
                fix=fix,
            )
            continue
        if n == 0:
            coded = ops[0].value
            fix = f"Replace line {c.index + 1} ({line.code}) with the lines coded from the note: {_desc(list(coded))}."
            yield Hit(
                c.message + " The code is not supported by the record and will be denied.",
                line=c.index,
                fix=fix,
                ops=(ops[0],),
            )
        else:
            yield Hit(
                c.message + " The code is not supported by the record and will be denied.",
                line=c.index,
                fix=f"Remove line {c.index + 1} ({line.code}): the lines coded from the note replace it.",
                ops=(ops[n],),
            )


def _fix_ops(ctx: ClaimContext, groups: list[Group], found: list[Contradiction]) -> list[FixOp] | None:
    """Replace the first contradicting line with the coded lines of the one documented procedure no
    billed line stands for, and remove the others, when every contradicting line can only be meant for it."""
    open_groups = [g for g in groups if not g.represented]
    if len(open_groups) != 1:
        return None
    target = open_groups[0]
    if any(not any(g is target for g in c.candidates) for c in found):
        return None
    coded = _coded(ctx, target)
    if coded is None:
        return None
    auth = next(
        (ctx.lines[c.index].authorization_number for c in found if ctx.lines[c.index].authorization_number),
        None,
    )
    if auth:
        coded = [ln.model_copy(update={"authorization_number": auth}) for ln in coded]
    first = found[0].index
    return [replace(first, coded)] + [remove(c.index) for c in found[1:]]


def _level_sides(ctx: ClaimContext, reported: set[int]) -> Iterator[Outcome]:
    """Sides that differ: a level-family code billed for a side on which the note documents no level
    of that code (64483-50 when no level was done on both sides; 64484-50 when the added level was done
    on one side only). The fix rebuilds the session's lines from the note."""
    claimed = ctx.claims_
    for session in sessions(ctx).all:
        # a session billed as the note codes it, or one the note does not code, has no sides to compare
        if session.matches or session.coded is None:
            continue
        idx = session.lines
        if any(j in reported or ("side", j) in claimed for j in idx):
            continue
        i, coded = idx[0], session.coded
        billed = [ctx.lines[j] for j in idx]
        wrong: list[tuple[int, str]] = []
        for j in idx:
            code = ctx.lines[j].code
            b_right, b_left = side_units(billed, code)
            c_right, c_left = side_units(coded, code)
            if not c_right and not c_left:
                continue  # a code the note does not lead to at all (imaging kind: NEC010; levels: ADD)
            side = ctx.side_of(j)
            if side in ("bilateral", "right") and b_right and not c_right:
                wrong.append((j, "right"))
            elif side in ("bilateral", "left") and b_left and not c_left:
                wrong.append((j, "left"))
        if not wrong:
            continue
        rebuilt = rebuild_ops(ctx, i)
        assert rebuilt is not None
        ops, new_lines = rebuilt
        for n, (j, side) in enumerate(wrong):
            line = ctx.lines[j]
            info_j = ctx.info(j)
            assert info_j is not None
            yield Hit(
                f"Line {j + 1}: {line.code} is billed for "
                f"{'both sides (50)' if '50' in line.modifiers else 'the ' + side + ' side'}, but the note documents no "
                f"{'first' if info_j.level == 1 else 'additional'} level of the "
                f"{family_words(str(info_j.family))} on the {side} side (the sides differ by level). "
                "The code is not supported by the record and will be denied.",
                line=j,
                fix=f"Bill {_desc(new_lines)} (coded from the note) in place of the session's lines.",
                ops=ops if n == 0 else (),
            )
