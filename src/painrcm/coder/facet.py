"""Facet joint injections and medial branch blocks (64490-64495): codes count joints, not nerves."""

from __future__ import annotations

from painrcm.coder.base import CodingContext, Service, by_region, code_for, need, spinal_levels
from painrcm.model import Procedure


def facet_joint(proc: Procedure, index: int, ctx: CodingContext) -> list[Service]:
    need(proc.laterality, index, "laterality", "left, right or bilateral")
    if ctx.policy.kx_on_diagnostic_facet:
        need(
            proc.purpose,
            index,
            "purpose",
            "diagnostic or therapeutic (the payer wants KX on diagnostic blocks)",
        )
    extra = ["KX"] if ctx.policy.kx_on_diagnostic_facet and proc.purpose == "diagnostic" else []
    out: list[Service] = []
    for region, joints in by_region(spinal_levels(proc, index, joints=True)).items():
        for rank in (1, 2, 3):
            if len(joints) >= rank:
                code = code_for(ctx.reference, family="facet_joint", region=region, level=rank)
                # The third-and-further code is reported once, whatever the number of further levels.
                out.append(Service(code, 1, proc.laterality, list(extra), proc.family.value, index))
    return out


def radiofrequency_ablation(proc: Procedure, index: int, ctx: CodingContext) -> list[Service]:
    need(proc.laterality, index, "laterality", "left, right or bilateral")
    out: list[Service] = []
    for region, joints in by_region(spinal_levels(proc, index, joints=True)).items():
        first = code_for(ctx.reference, family="radiofrequency_ablation", region=region, level=1)
        out.append(Service(first, 1, proc.laterality, family=proc.family.value, procedure_index=index))
        if len(joints) > 1:
            addon = code_for(ctx.reference, family="radiofrequency_ablation", region=region, level="each")
            out.append(
                Service(
                    addon, len(joints) - 1, proc.laterality, family=proc.family.value, procedure_index=index
                )
            )
    return out
