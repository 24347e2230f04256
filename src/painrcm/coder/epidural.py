"""Interlaminar/caudal epidural injections (62320-62323). Transforaminal injections are a level family:
`painrcm.coder.levels`."""

from __future__ import annotations

from painrcm.coder.base import (
    CodingContext,
    Service,
    code_for,
    need,
    spinal_levels,
)
from painrcm.codes.tables import RegionGroup
from painrcm.errors import InputError
from painrcm.model import Procedure
from painrcm.spine import region_group


def interlaminar(proc: Procedure, index: int, ctx: CodingContext) -> list[Service]:
    need(proc.imaging, index, "imaging", "fluoroscopy, ct, ultrasound or none")
    region: RegionGroup | None
    if proc.approach == "caudal":
        region = "lumbar_sacral"
    else:
        levels = spinal_levels(proc, index, joints=False) if proc.levels else []
        regions = {lv.region for lv in levels}
        if len(regions) > 1:
            raise InputError(None, f"$.procedures[{index}].levels", "interlaminar levels in one region")
        region = regions.pop() if regions else region_group(proc.region)
        if region is None:
            raise InputError(None, f"$.procedures[{index}].region", "missing: region or levels")
    imaging = "included" if proc.imaging in ("fluoroscopy", "ct") else "without"
    code = code_for(ctx.reference, family="epidural_interlaminar", region=region, imaging=imaging)
    # One code, one unit per session whatever the number of levels (RULES.md section 2).
    return [Service(code, 1, None, family=proc.family.value, procedure_index=index)]
