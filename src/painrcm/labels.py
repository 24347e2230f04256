"""Human names for the engine's internal identifiers (frequency limits, regions, statuses), so no page
shows ``facet_diagnostic`` or ``lumbar_sacral``. Pure: the web app registers these as template filters."""

from __future__ import annotations

from painrcm.edits.words import FAMILY_WORDS, REGION_SHORT
from painrcm.policy.schema import FrequencyLimit

_FAMILY_SHORT = {
    "epidural_interlaminar": "Interlaminar epidural",
    "epidural_transforaminal": "Transforaminal epidural",
    "facet_joint": "Facet joint / medial branch",
    "radiofrequency_ablation": "Radiofrequency ablation",
}
# the limit IDs of the bundled policies; a payer file's own IDs fall back to their words
LIMIT_WORDS = {
    "epidural": "Epidural injections",
    "facet_therapeutic": "Facet injections, therapeutic",
    "facet_diagnostic": "Facet / medial branch blocks, diagnostic",
    "rfa": "Radiofrequency ablation",
    "si_joint_diagnostic": "Sacroiliac joint injections, diagnostic",
    "si_joint_therapeutic": "Sacroiliac joint injections, therapeutic",
    "trigger_point": "Trigger-point injections",
}
STANDING_WORDS = {
    "over_limit": "over limit",
    "at_limit": "at limit",
    "near_limit": "one left",
    "ok": "within limit",
}


def words(identifier: str | None) -> str:
    """`written_off` -> `written off`; None -> an en dash."""
    if identifier is None or identifier == "":
        return "–"
    return str(identifier).replace("_", " ")


def limit_label(limit_id: str, limit: FrequencyLimit | None = None) -> str:
    if limit_id in LIMIT_WORDS:
        return LIMIT_WORDS[limit_id]
    if limit is not None and limit.families:
        fams = " / ".join(_FAMILY_SHORT.get(f, FAMILY_WORDS.get(f, words(f))) for f in limit.families)
        text = fams + (f", {limit.purpose}" if limit.purpose else "")
        return text[:1].upper() + text[1:]
    return words(limit_id).capitalize()


def region_label(region: str | None) -> str:
    return REGION_SHORT.get(region, words(region))


def standing_state(used: int, max_: int) -> str:
    """over_limit when more sessions were paid than the limit allows (6 of 4), at_limit when used up,
    near_limit when one is left, ok otherwise."""
    if used > max_:
        return "over_limit"
    if used == max_:
        return "at_limit"
    if max_ - used == 1:
        return "near_limit"
    return "ok"
