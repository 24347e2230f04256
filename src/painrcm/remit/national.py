"""The Medicare national amount of a code (issue 9): total RVU x conversion factor from the CMS
National Physician Fee Schedule Relative Value File, facility or non-facility by place of service.
The bilateral and multiple-procedure rules are applied by ``underpay.check_underpayment`` with the
indicators returned here.

National means *not* locality-adjusted (no GPCI): the expected amount is labelled as national
wherever it is shown. Source: RVU24C (PPRRVU24_JUL, conversion factor 33.2875): the full RVU table
the code tables ship (``painrcm/codes/data/cms/mpfs_indicators_2024c.csv``).
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from importlib import resources

from painrcm.remit.explain import cents
from painrcm.remit.underpay import FeeSchedule, Indicators, Rate

EDITION = "RVU24C"
LABEL = f"Medicare national amount ({EDITION}, not locality-adjusted)"
_SOURCES = (("painrcm.codes", "data/cms/mpfs_indicators_2024c.csv"),)


def _text() -> str:
    for package, path in _SOURCES:
        try:
            ref = resources.files(package).joinpath(path)
            if ref.is_file():
                text = ref.read_text(encoding="utf-8")
                if "total_rvu_nonfac" in text.split("\n", 1)[0]:
                    return text
        except (ModuleNotFoundError, FileNotFoundError):
            continue
    raise FileNotFoundError("no packaged MPFS RVU table")


def _float(value: str | None) -> Decimal | None:
    """An exact number from the table (RVUs and the conversion factor are decimal text)."""
    try:
        d = Decimal((value or "").strip())
    except InvalidOperation:
        return None
    return d if d.is_finite() else None


@lru_cache(maxsize=1)
def national_schedule() -> tuple[FeeSchedule, Indicators]:
    """The national fee schedule (rate per unit, facility and non-facility) and the indicators
    (multiple procedure, bilateral, global days) of every priced code."""
    rates: dict[tuple[str, str], Rate] = {}
    indicators: dict[str, tuple[str, str, str]] = {}
    for row in csv.DictReader(io.StringIO(_text().lstrip("\ufeff"))):
        code = (row.get("hcpcs") or "").strip().upper()
        modifier = (row.get("modifier") or "").strip().upper()
        nonfac, fac, cf = (
            _float(row.get("total_rvu_nonfac")),
            _float(row.get("total_rvu_fac")),
            _float(row.get("conv_factor")),
        )
        if not code or nonfac is None or fac is None or not cf:
            continue
        if nonfac == 0 and fac == 0:
            continue  # not priced nationally (carrier priced, bundled, not valid for Medicare)
        rates[(code, modifier)] = Rate(facility=cents(fac * cf), nonfacility=cents(nonfac * cf))
        if not modifier:
            indicators[code] = (
                (row.get("mult_proc") or "").strip().rstrip("*"),
                (row.get("bilat_surg") or "").strip().rstrip("*"),
                (row.get("global_days") or "").strip(),
            )
    return FeeSchedule(rates), indicators
