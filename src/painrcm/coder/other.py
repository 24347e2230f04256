"""SI joint, trigger points, peripheral nerve blocks, spinal cord stimulation, vertebral
augmentation and drug tests."""

from __future__ import annotations

from painrcm.coder.base import CodingContext, Service, code_for, need, spinal_levels
from painrcm.errors import InputError
from painrcm.model import Procedure


def sacroiliac_joint(proc: Procedure, index: int, ctx: CodingContext) -> list[Service]:
    need(proc.laterality, index, "laterality", "left, right or bilateral")
    code = code_for(ctx.reference, family="sacroiliac_joint", part="injection")
    if ctx.practice_kind == "asc":
        code = ctx.policy.asc_code_substitutions.get(code, code)
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
    info = next(
        c
        for c in ctx.reference.codes.values()
        if c.family == "peripheral_nerve_block" and c.nerve == proc.nerve
    )
    out = [Service(info.code, 1, proc.laterality, family=proc.family.value, procedure_index=index)]
    if info.imaging == "separate" and proc.imaging not in (None, "none"):
        # the non-spinal needle-guidance code of the documented modality (77002, 76942, 77012)
        guidance = code_for(
            ctx.reference,
            family=None,
            kind="imaging",
            needle_guidance=True,
            modality=proc.imaging,
            spinal=False,
        )
        out.append(Service(guidance, 1, None, procedure_index=index))
    return out


def spinal_cord_stimulator(proc: Procedure, index: int, ctx: CodingContext) -> list[Service]:
    need(proc.stage, index, "stage", "trial, implant, revision or removal")
    fam = proc.family.value

    def part(name: str, units: int = 1) -> Service:
        return Service(
            code_for(ctx.reference, family=fam, part=name), units, None, family=fam, procedure_index=index
        )

    if proc.stage in ("revision", "removal"):
        return [part("generator_revision")]
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
