"""The small real-looking claim every edit example starts from (synthetic: no real patient).

An edit's ``example`` and ``fixed`` are partial encounters: their top-level keys replace this
base's keys (a given ``lines`` or ``procedures`` list replaces the whole list).
"""

from __future__ import annotations

import copy
from typing import Any

from painrcm.model import Encounter

BASE: dict[str, Any] = {
    "schema": "painrcm.encounter/1",
    "encounter_id": "EX-1",
    "practice": {
        "id": "P01",
        "name": "Mesa Spine & Pain",
        "npi": "1245319599",
        "tax_id": "741234567",
        "kind": "physician",
        "state": "CA",
    },
    "rendering_provider": {"npi": "1679576722", "name": "R. Alvarez MD"},
    "patient": {
        "id": "P01-000123",
        "member_id": "1EG4TE5MK73",
        "last_name": "Doe",
        "first_name": "Jane",
        "dob": "1956-04-02",
        "sex": "F",
    },
    "payer": {"id": "MEDICARE", "plan": "medicare", "state": "CA"},
    "date_of_service": "2026-03-02",
    "place_of_service": "11",
    "diagnoses": ["M54.16", "M51.16"],
    "procedures": [
        {
            "family": "epidural_transforaminal",
            "region": "lumbar",
            "levels": ["L5"],
            "laterality": "right",
            "imaging": "fluoroscopy",
            "images_stored": True,
            "medications": ["dexamethasone 10 mg"],
        }
    ],
    "documentation": {
        "conservative_care_weeks": 12,
        "indication": "right L5 radiculopathy",
        "psych_evaluation": True,
    },
    "lines": [{"code": "64483", "modifiers": ["RT"], "units": 1, "diagnosis_pointers": [1, 2]}],
}

COMMERCIAL = {"id": "ACME-HEALTH", "plan": "commercial", "state": "CA"}


def example_dict(overrides: dict[str, Any]) -> dict[str, Any]:
    doc = copy.deepcopy(BASE)
    doc.update(copy.deepcopy(overrides))
    return doc


def example_encounter(overrides: dict[str, Any]) -> Encounter:
    return Encounter.model_validate(example_dict(overrides))
