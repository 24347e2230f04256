"""Earlier encounters used by the history edits' examples (synthetic)."""

from __future__ import annotations

from typing import Any


def line(code: str, *mods: str) -> dict[str, Any]:
    return {"code": code, "modifiers": list(mods), "units": 1, "diagnosis_pointers": [1]}


def visit(
    eid: str,
    when: str,
    *lines: dict[str, Any],
    procedures: list[dict[str, Any]] | None = None,
    practice: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "encounter_id": eid,
        "date_of_service": when,
        "procedures": procedures or [],
        "lines": list(lines),
    }
    if practice:
        out["practice"] = practice
    out.update(extra)
    return out


OTHER_PRACTICE = {
    "id": "P02",
    "name": "Desert Interventional",
    "npi": "1336139401",
    "kind": "physician",
    "state": "TX",
}


def mbb(
    eid: str, when: str, relief: float | None, region: str = "lumbar", laterality: str = "bilateral"
) -> dict[str, Any]:
    proc: dict[str, Any] = {
        "family": "facet_joint",
        "region": region,
        "target": "medial_branch",
        "purpose": "diagnostic",
        "levels": ["L4-L5", "L5-S1"],
        "laterality": laterality,
        "imaging": "fluoroscopy",
        "images_stored": True,
        "medications": ["bupivacaine 0.5%"],
    }
    if relief is not None:
        proc["relief_percent"] = relief
    side = {"bilateral": "50", "right": "RT", "left": "LT"}[laterality]
    return visit(
        eid,
        when,
        line("64493", side, "KX"),
        line("64494", side, "KX"),
        procedures=[proc],
        diagnoses=["M47.816"],
    )


RFA_CLAIM: dict[str, Any] = {
    "diagnoses": ["M47.816"],
    "procedures": [
        {
            "family": "radiofrequency_ablation",
            "region": "lumbar",
            "levels": ["L4-L5", "L5-S1"],
            "laterality": "right",
            "imaging": "fluoroscopy",
            "images_stored": True,
            "medications": ["lidocaine 2%"],
        }
    ],
    "lines": [line("64635", "RT"), line("64636", "RT")],
}

MBB_CLAIM: dict[str, Any] = {
    "diagnoses": ["M47.816"],
    "procedures": [
        {
            "family": "facet_joint",
            "region": "lumbar",
            "target": "medial_branch",
            "purpose": "diagnostic",
            "levels": ["L4-L5", "L5-S1"],
            "laterality": "bilateral",
            "imaging": "fluoroscopy",
            "images_stored": True,
            "medications": ["bupivacaine 0.5%"],
            "relief_percent": 85,
        }
    ],
    "lines": [line("64493", "50", "KX"), line("64494", "50", "KX")],
}
