"""How the edits name families and regions in their messages (one wording for every edit)."""

from __future__ import annotations

REGION_WORDS: dict[str, str] = {
    "cervical_thoracic": "cervical/thoracic (neck or upper back)",
    "lumbar_sacral": "lumbar/sacral (low back)",
}
FAMILY_WORDS: dict[str, str] = {
    "epidural_interlaminar": "interlaminar/caudal epidural injection",
    "epidural_transforaminal": "transforaminal epidural injection",
    "facet_joint": "facet joint injection/medial branch block",
    "radiofrequency_ablation": "radiofrequency ablation of facet nerves",
    "sacroiliac_joint": "sacroiliac joint procedure",
    "trigger_point": "trigger-point injection",
    "peripheral_nerve_block": "peripheral nerve block",
    "spinal_cord_stimulator": "spinal cord stimulator procedure",
    "vertebral_augmentation": "vertebral augmentation",
    "drug_test": "drug test",
    "sacroiliac_ablation": "radiofrequency ablation of sacroiliac joint nerves",
    "genicular": "genicular nerve block or ablation",
    "joint_injection": "joint or bursa injection",
    "sympathetic_block": "sympathetic or plexus block",
    "intrathecal_pump": "intrathecal pump service",
    "blood_patch": "epidural blood patch",
}
# short form, for counts and tables
REGION_SHORT: dict[str | None, str] = {
    "cervical_thoracic": "cervical/thoracic",
    "lumbar_sacral": "lumbar/sacral",
    None: "any region",
}


def family_words(family: str) -> str:
    return FAMILY_WORDS.get(family, family.replace("_", " "))


def a_family(family: str) -> str:
    words = family_words(family)
    return ("an " if words[0] in "aeiou" else "a ") + words
