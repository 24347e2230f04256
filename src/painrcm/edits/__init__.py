"""The edit catalogue (EDITS.md): one module per edit, run in the order listed here.

The order is part of "one problem, one finding": a specific edit runs before the general edit it
takes a problem away from (see `painrcm.edits.base`).
"""

from __future__ import annotations

import importlib

from painrcm.edits.base import Edit

RUN_ORDER = [
    "COD001", "COD002", "COD003", "COD004", "COD005", "COD006",
    "ADD001", "MOD009", "ADD002", "ADD005", "ADD003", "ADD004",
    "BUN001", "BUN002", "BUN003", "BUN004", "BUN010", "BUN005", "BUN006", "BUN007", "BUN008", "BUN009",
    "MOD001", "MOD002", "MOD003", "MOD004", "MOD005", "MOD006", "MOD007", "MOD008", "MOD010", "MOD011",
    "NEC002", "NEC003", "NEC004", "NEC006", "NEC007", "NEC008", "NEC009", "NEC010", "NEC011",
    "POS001",
    "AUT001", "AUT091",
    "FRQ001", "FRQ002", "FRQ003", "FRQ004", "FRQ005", "FRQ006", "FRQ007", "FRQ008", "FRQ009", "FRQ090",
    "NEC001", "NEC005",
    "AUT002", "AUT003", "AUT004", "AUT005", "AUT006", "AUT090",
    "CLM001", "CLM002", "CLM003", "CLM004", "CLM005",
]  # fmt: skip
RUN_ORDER += ["NEC012", "POS002", "BUN011"]  # issue 10 (appended: the order above is unchanged)
RUN_ORDER += ["CLM006", "CLM007"]  # issue 11: what reading the file learned about the claim

# The catalogue's sections (EDITS.md), in the order the docs page lists them.
FAMILIES = {
    "COD": "codes and claim form",
    "ADD": "add-on codes, levels and units",
    "BUN": "bundling (NCCI and code-definition bundles)",
    "MOD": "modifiers and laterality",
    "FRQ": "frequency limits (rolling windows, across every practice that saw the patient)",
    "AUT": "prior authorization",
    "NEC": "medical necessity and documentation",
    "POS": "place of service",
    "CLM": "the claim as a whole and the file it came in (totals, NPIs, dates, X12 numbers, claim IDs)",
}


def _load() -> dict[str, Edit]:
    out: dict[str, Edit] = {}
    for eid in RUN_ORDER:
        try:
            module = importlib.import_module(f"painrcm.edits.{eid.lower()}")
        except ModuleNotFoundError as e:
            if e.name != f"painrcm.edits.{eid.lower()}":
                raise
            continue
        edit: Edit = module.EDIT
        if edit.id != eid:
            raise RuntimeError(f"painrcm.edits.{eid.lower()} defines {edit.id}")
        out[eid] = edit
    return out


# Loaded on first use (PEP 562): `painrcm explain BUN001` imports one edit module, not seventy.
CATALOGUE: dict[str, Edit]


def __getattr__(name: str) -> dict[str, Edit]:
    if name == "CATALOGUE":
        catalogue = globals()["CATALOGUE"] = _load()
        return catalogue
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def get_edit(eid: str) -> Edit | None:
    """One edit by ID, importing only its module when the catalogue is not loaded yet."""
    eid = eid.strip().upper()
    if "CATALOGUE" in globals():
        return globals()["CATALOGUE"].get(eid)  # type: ignore[no-any-return]
    if eid not in RUN_ORDER:
        return None
    try:
        edit: Edit = importlib.import_module(f"{__name__}.{eid.lower()}").EDIT
    except ModuleNotFoundError as e:
        if e.name != f"{__name__}.{eid.lower()}":
            raise
        return None
    return edit
