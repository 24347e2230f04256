"""What the workspace's schema can hold, checked where a claim comes in (an import, the API), so a
value too long or with a NUL character is a located message (the same on SQLite and PostgreSQL),
never a database error. ``store.db`` refuses anything that slips past, without a place.

Also the 837P implementation guide's limit of 50 service lines (LX loops) per claim.
"""

from __future__ import annotations

from typing import Any

from painrcm.errors import InputError
from painrcm.model import Encounter

MAX_LINES = 50  # 005010X222A1: loop 2400 repeats at most 50 times per claim

# JSON path below the encounter -> the column it is stored in (store/models.py) and its length
LIMITS: dict[tuple[str, ...], int] = {
    ("encounter_id",): 80,
    ("place_of_service",): 2,
    ("practice", "id"): 40,
    ("practice", "name"): 200,
    ("practice", "npi"): 10,
    ("practice", "tax_id"): 20,
    ("practice", "kind"): 20,
    ("patient", "id"): 80,
    ("patient", "member_id"): 80,
    ("patient", "last_name"): 115,  # last|first|date of birth make a 250-character key
    ("patient", "first_name"): 115,
    ("payer", "id"): 80,
    ("payer", "name"): 200,
    ("payer", "plan"): 30,
    ("rendering_provider", "npi"): 10,
}
LINE_LIMITS: dict[str, int] = {"code": 10, "authorization_number": 80, "control_number": 50}


def _nul_place(value: Any, path: str) -> str | None:
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for k, v in value.items():
            found = _nul_place(v, f"{path}.{k}")
            if found:
                return found
    if isinstance(value, list):
        for i, v in enumerate(value):
            found = _nul_place(v, f"{path}[{i}]")
            if found:
                return found
    return None


def _get(doc: dict[str, Any], keys: tuple[str, ...]) -> Any:
    cur: Any = doc
    for k in keys:
        if not isinstance(cur, dict):
            return None
        cur = cur.get(k)
    return cur


def check_encounter(
    enc: Encounter, file: str, place: str = "$", *, json_places: bool = True, nul_free: bool = False
) -> dict[str, Any]:
    """Raise a located InputError when the claim cannot be stored as it is. `place` is the claim's
    JSON path (a JSON file) or its name in the file (an 837P: then fields are named after it).
    Returns the claim's document as it is stored (`document`: the one dump, which `bulk.save_claims`
    takes). `nul_free`: the caller knows that no text of the claim can hold a NUL (the file's text
    holds none, written or escaped as JSON's \\u0000), so the document is not walked for one."""

    def where(sub: str) -> str:
        return place + sub[1:] if json_places else f"{place}, {sub.removeprefix('$.')}"

    lines = enc.lines or []
    if len(lines) > MAX_LINES:
        raise InputError(
            file,
            where("$.lines"),
            f"at most {MAX_LINES} service lines per claim, the 837P guide's limit (got {len(lines)}); "
            "split the claim",
        )
    doc = document(enc)
    nul = None if nul_free else _nul_place(doc, "$")
    if nul:
        raise InputError(file, where(nul), "text without NUL characters")
    for keys, limit in LIMITS.items():
        value = _get(doc, keys)
        if isinstance(value, str) and len(value) > limit:
            raise InputError(
                file, where("$." + ".".join(keys)), f"at most {limit} characters (got {len(value)})"
            )
    for i, ln in enumerate(doc.get("lines") or []):
        for key, limit in LINE_LIMITS.items():
            value = ln.get(key)
            if isinstance(value, str) and len(value) > limit:
                raise InputError(
                    file, where(f"$.lines[{i}].{key}"), f"at most {limit} characters (got {len(value)})"
                )
    return doc


def document(enc: Encounter) -> dict[str, Any]:
    """A claim's stored document (the `encounters.document` column): the contract's JSON form."""
    return enc.model_dump(mode="json", by_alias=True, exclude_none=True)


AUTH_LIMITS: dict[str, int] = {"auth_number": 80, "payer_id": 80, "member_id": 80, "rendering_npi": 10}


def check_authorizations(records: Any, file: str) -> None:
    """The authorization log's values against the columns they are stored in (record n, field x)."""
    for n, a in enumerate(records, 1):
        for key, limit in AUTH_LIMITS.items():
            value = getattr(a, key, None)
            if not isinstance(value, str):
                continue
            if "\x00" in value:
                raise InputError(file, f"record {n}, field {key}", "text without NUL characters")
            if len(value) > limit:
                raise InputError(
                    file, f"record {n}, field {key}", f"at most {limit} characters (got {len(value)})"
                )
