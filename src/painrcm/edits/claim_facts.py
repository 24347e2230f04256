"""Claim-level facts the CLM edits share: the NPI check digit, the plausible date range, and the values
an 837P wrote that are not X12 numbers."""

from __future__ import annotations

import functools
from datetime import date

from painrcm.model import Encounter, UnreadableNumber

# Service dates before this are not plausible for a claim painrcm scrubs (5010 claims, ICD-10 era
# payers): a typo such as 0001 or 1026 for 2026.
EARLIEST_SERVICE = date(2000, 1, 1)


@functools.lru_cache(maxsize=4096)  # a practice's few NPIs recur on every claim
def npi_problem(npi: str) -> str | None:
    """Why ``npi`` is not a valid NPI (10 digits, Luhn check digit over the prefix 80840), or None."""
    if len(npi) != 10 or not (npi.isascii() and npi.isdigit()):
        return "an NPI is exactly 10 digits"
    # Luhn over "80840" + the first 9 digits: the NPI standard's check digit.
    total = 0
    for k, ch in enumerate(reversed("80840" + npi[:9])):
        d = int(ch)
        if k % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    check = (10 - total % 10) % 10
    if check != int(npi[9]):
        return f"its check digit (the last digit) should be {check} for the first nine digits"
    return None


def unreadable(enc: Encounter, element: str) -> list[UnreadableNumber]:
    """The claim's values of ``element`` (CLM02, SV102, SV104) that its 837P wrote but that are not X12
    numbers (CLM006): they are unknown, so the edits that need them list them in not_checked."""
    return [n for n in still_unreadable(enc) if n.element == element]


def still_unreadable(enc: Encounter) -> list[UnreadableNumber]:
    """The claim's unreadable numbers whose value is still unknown: once a biller writes the value (a
    claim edit or a corrected claim), the note the reader left about its text no longer applies."""
    found = enc.unreadable_numbers
    if not found:
        return []
    lines = enc.lines or []
    out = []
    for n in found:
        if n.element == "CLM02":
            known = enc.total_charge is not None
        elif n.line is not None and 1 <= n.line <= len(lines):
            line = lines[n.line - 1]
            known = (line.charge if n.element == "SV102" else line.units) is not None
        else:
            known = False
        if not known:
            out.append(n)
    return out
