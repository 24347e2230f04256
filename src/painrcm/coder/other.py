"""SI joint, trigger points, peripheral nerve blocks, spinal cord stimulation, vertebral
augmentation and drug tests."""

from __future__ import annotations

from painrcm.coder.base import CodingContext, Service, code_for, need, spinal_levels
from painrcm.errors import InputError
from painrcm.model import Procedure


def sacroiliac_joint(proc: Procedure, index: int, ctx: CodingContext) -> list[Service]:
    need(proc.laterality, index, "laterality", "left, right or bilateral")
    code = code_for(ctx.reference, family="sacroiliac_joint", part="injection")
    if ctx.terms.practice_kind == "asc":
        code = dict(ctx.terms.asc_code_substitutions).get(code, code)
    return [Service(code, 1, proc.laterality, family=proc.family.value, procedure_index=index)]


def trigger_point(proc: Procedure, index: int, ctx: CodingContext) -> list[Service]:
    need(proc.muscles, index, "muscles", "the muscles injected (their number decides the code)")
    assert proc.muscles is not None
    count = len({m.strip().lower() for m in proc.muscles})
    code = next(
        c.code
        for c in ctx.reference.codes.values()
        if c.family == "trigger_point" and (c.muscles_min or 0) <= count <= (c.muscles_max or 10**6)
    )
    return [Service(code, 1, None, family=proc.family.value, procedure_index=index)]


def peripheral_nerve_block(proc: Procedure, index: int, ctx: CodingContext) -> list[Service]:
    need(
        proc.nerve,
        index,
        "nerve",
        "greater_occipital, femoral, sciatic, genicular, sacroiliac_lateral_branches or other",
    )
    need(proc.laterality, index, "laterality", "left, right or bilateral")
    # the nerve picks the code (64454, the genicular block, belongs to the genicular family)
    info = next(c for c in ctx.reference.codes.values() if c.nerve == proc.nerve and c.kind == "procedure")
    out = [Service(info.code, 1, proc.laterality, family=proc.family.value, procedure_index=index)]
    out += _guidance(proc, info.code, index, ctx)
    return out


def _guidance(proc: Procedure, code: str, index: int, ctx: CodingContext) -> list[Service]:
    """The needle-guidance line of the documented modality, for a code whose imaging is billed
    separately (77002 or 77003 fluoroscopy, 76942 ultrasound, 77012 CT)."""
    info = ctx.reference.info(code)
    if info is None or info.imaging != "separate" or proc.imaging in (None, "none"):
        return []
    spinal = info.spinal and proc.imaging == "fluoroscopy"
    guidance = code_for(
        ctx.reference, family=None, kind="imaging", needle_guidance=True, modality=proc.imaging, spinal=spinal
    )
    return [Service(guidance, 1, None, procedure_index=index)]


def sacroiliac_ablation(proc: Procedure, index: int, ctx: CodingContext) -> list[Service]:
    need(proc.laterality, index, "laterality", "left, right or bilateral")
    code = code_for(ctx.reference, family="sacroiliac_ablation")
    return [Service(code, 1, proc.laterality, family=proc.family.value, procedure_index=index)]


def genicular(proc: Procedure, index: int, ctx: CodingContext) -> list[Service]:
    need(proc.kind, index, "kind", "block (64454) or ablation (64624)")
    need(proc.laterality, index, "laterality", "left, right or bilateral")
    if proc.kind not in ("block", "ablation"):
        raise InputError(None, f"$.procedures[{index}].kind", f"block or ablation (got {proc.kind!r})")
    code = code_for(ctx.reference, family="genicular", genicular=proc.kind)
    return [Service(code, 1, proc.laterality, family=proc.family.value, procedure_index=index)]


def joint_injection(proc: Procedure, index: int, ctx: CodingContext) -> list[Service]:
    need(proc.joint, index, "joint", "small, intermediate or major")
    need(proc.laterality, index, "laterality", "left, right or bilateral")
    # Under ultrasound the code with ultrasound included (20604, 20606, 20611); otherwise the code
    # without imaging, and fluoroscopy or CT guidance on its own line.
    if proc.imaging == "ultrasound":
        code = code_for(ctx.reference, family="joint_injection", joint=proc.joint, guidance="ultrasound")
        return [Service(code, 1, proc.laterality, family=proc.family.value, procedure_index=index)]
    code = code_for(ctx.reference, family="joint_injection", joint=proc.joint, imaging="separate")
    out = [Service(code, 1, proc.laterality, family=proc.family.value, procedure_index=index)]
    return out + _guidance(proc, code, index, ctx)


def sympathetic_block(proc: Procedure, index: int, ctx: CodingContext) -> list[Service]:
    need(proc.target, index, "target", "stellate_ganglion, lumbar_sympathetic or celiac_plexus")
    if proc.target not in ("stellate_ganglion", "lumbar_sympathetic", "celiac_plexus"):
        raise InputError(
            None,
            f"$.procedures[{index}].target",
            f"stellate_ganglion, lumbar_sympathetic or celiac_plexus (got {proc.target!r})",
        )
    code = code_for(ctx.reference, family="sympathetic_block", sympathetic=proc.target)
    info = ctx.reference.info(code)
    side = None
    if info is not None and info.one_sided:
        need(proc.laterality, index, "laterality", "left, right or bilateral")
        side = proc.laterality
    out = [Service(code, 1, side, family=proc.family.value, procedure_index=index)]
    return out + _guidance(proc, code, index, ctx)


def intrathecal_pump(proc: Procedure, index: int, ctx: CodingContext) -> list[Service]:
    need(proc.service, index, "service", "refill, analysis or analysis_with_programming")
    if proc.service == "refill":
        code = code_for(
            ctx.reference,
            family="intrathecal_pump",
            pump_service="refill",
            by_physician=bool(proc.by_physician),
        )
    else:
        code = code_for(ctx.reference, family="intrathecal_pump", pump_service=proc.service)
    return [Service(code, 1, None, family=proc.family.value, procedure_index=index)]


def blood_patch(proc: Procedure, index: int, ctx: CodingContext) -> list[Service]:
    code = code_for(ctx.reference, family="blood_patch")
    out = [Service(code, 1, None, family=proc.family.value, procedure_index=index)]
    return out + _guidance(proc, code, index, ctx)


def spinal_cord_stimulator(proc: Procedure, index: int, ctx: CodingContext) -> list[Service]:
    need(proc.stage, index, "stage", "trial, implant, replacement, revision or removal")
    fam = proc.family.value

    def part(name: str, units: int = 1) -> Service:
        return Service(
            code_for(ctx.reference, family=fam, part=name), units, None, family=fam, procedure_index=index
        )

    if proc.stage in ("revision", "removal"):
        return [part("generator_revision")]
    if proc.stage == "replacement":
        # a generator (battery) replacement is 63685, never also 63688 (RULES.md section 2)
        return [part("generator")]
    out: list[Service] = []
    if proc.stage == "implant":
        out.append(part("generator"))
    if proc.lead_type == "paddle":
        out.append(part("paddle"))
    elif proc.stage == "trial" or (proc.leads or 0) > 0:
        need(proc.leads or None, index, "leads", "the number of percutaneous leads placed (at least 1)")
        out.append(part("lead", int(proc.leads or 0)))
    return out


def vertebral_augmentation(proc: Procedure, index: int, ctx: CodingContext) -> list[Service]:
    need(proc.kind, index, "kind", "vertebroplasty or kyphoplasty")
    levels = spinal_levels(proc, index, joints=False)
    if any(lv.is_joint for lv in levels):
        raise InputError(None, f"$.procedures[{index}].levels", "vertebrae such as T12 or L1, not joints")
    first = code_for(
        ctx.reference,
        family="vertebral_augmentation",
        region=levels[0].region,
        augmentation=proc.kind,
        level=1,
    )
    out = [Service(first, 1, None, family=proc.family.value, procedure_index=index)]
    if len(levels) > 1:
        addon = code_for(ctx.reference, family="vertebral_augmentation", augmentation=proc.kind, level="each")
        out.append(Service(addon, len(levels) - 1, None, family=proc.family.value, procedure_index=index))
    return out


def drug_test(proc: Procedure, index: int, ctx: CodingContext) -> list[Service]:
    need(
        proc.method,
        index,
        "method",
        "presumptive_direct, presumptive_instrument, presumptive_analyzer or definitive",
    )
    if proc.method != "definitive":
        code = next(c.code for c in ctx.reference.codes.values() if c.method == proc.method)
        return [Service(code, 1, None, family=proc.family.value, procedure_index=index)]
    need(proc.drug_classes, index, "drug_classes", "the drug classes tested (a list or a count)")
    n = proc.drug_classes if isinstance(proc.drug_classes, int) else len(set(proc.drug_classes or []))
    if n < 1:
        raise InputError(None, f"$.procedures[{index}].drug_classes", "at least one drug class")
    code = next(
        c.code
        for c in ctx.reference.codes.values()
        if c.test == "definitive" and (c.classes_min or 0) <= n <= (c.classes_max or 10**6)
    )
    return [Service(code, 1, None, family=proc.family.value, procedure_index=index)]


_PRESUMPTIVE_RANK = {"presumptive_direct": 1, "presumptive_instrument": 2, "presumptive_analyzer": 3}


def combine_drug_tests(procs: list[tuple[int, Procedure]]) -> list[tuple[int, Procedure]]:
    """Drug tests are coded per date of service (RULES.md section 4): one presumptive test, the most
    complex method performed, and one definitive test for the day's distinct drug classes across all
    panels (a list of class names is de-duplicated; a bare count is added)."""
    out: list[tuple[int, Procedure]] = []
    presumptive: tuple[int, Procedure] | None = None
    definitive: list[tuple[int, Procedure]] = []
    for i, p in procs:
        if p.family.value != "drug_test" or p.method is None:
            out.append((i, p))
        elif p.method == "definitive":
            definitive.append((i, p))
        elif (
            presumptive is None or _PRESUMPTIVE_RANK[p.method] > _PRESUMPTIVE_RANK[str(presumptive[1].method)]
        ):
            presumptive = (i, p)
    if presumptive is not None:
        out.append(presumptive)
    if definitive:
        first_index, first = definitive[0]
        if len(definitive) == 1:
            out.append(definitive[0])
        else:
            for i, p in definitive:
                need(p.drug_classes, i, "drug_classes", "the drug classes tested (a list or a count)")
            names: set[str] = set()
            count = 0
            for _, p in definitive:
                if isinstance(p.drug_classes, int):
                    count += p.drug_classes
                else:
                    names |= {c.strip().lower() for c in p.drug_classes or []}
            total: list[str] | int = count + len(names) if count else sorted(names)
            out.append((first_index, first.model_copy(update={"drug_classes": total})))
    return sorted(out, key=lambda x: x[0])
