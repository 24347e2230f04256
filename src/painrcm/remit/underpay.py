"""Underpayment check: the allowed amount a line should have had under a fee schedule, compared with
what the payer allowed. Pure: the caller passes the fee schedule text and the CMS indicators.

Expected allowed amount of a line (file format: docs/fee-schedule.md):
- rate = the schedule's facility rate when the place of service is a facility (19, 21, 22, 23, 24, 26,
  31, 34, 41, 42, 51, 52, 53, 56, 61), else the non-facility rate; a row for the code with the line's
  modifier (e.g. 26) wins over the row without modifier; the rate is per unit;
- bilateral (modifier 50): indicator 1 -> 150 % of the rate, indicator 3 -> 200 %, otherwise 100 %;
- multiple procedures: among the lines of one claim and date whose multiple-procedure indicator is 2,
  the highest-priced is paid at 100 % and the others at 50 %; add-on codes (global period ZZZ) are
  always 100 % and never count as the highest;
- flagged when the allowed amount is below the expected one by more than the tolerance
  (``max(abs_tolerance, rel_tolerance * expected)``); a flagged line whose next action was "write off",
  "no action" or "bill the patient" becomes "appeal" (the underpayment), unless the claim has no appeal rights (MA130). Denied lines (nothing allowed) are not called
  underpaid: the denial explains them.

Money is exact: rates are Decimals, a rate times units (or a percentage) is rounded to the cent half
up, and the shortfall is expected minus allowed, exact to the cent.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from importlib import resources

from painrcm.errors import InputError
from painrcm.model import Encounter
from painrcm.remit.explain import ZERO, EraReport, ExplainedLine, Underpayment, appeal_barred, cents

FACILITY_POS = frozenset(
    {"19", "21", "22", "23", "24", "26", "31", "34", "41", "42", "51", "52", "53", "56", "61"}
)
# An underpaid line with one of these next actions is appealed instead (the underpayment is the
# biller's to chase; the patient's share is still billed).
UNDERPAID_APPEAL = ("write_off", "no_action", "bill_patient")
# code -> (multiple procedure indicator, bilateral indicator, global days)
Indicators = Mapping[str, tuple[str, str, str]]


def to_money(value: Decimal | float | str) -> Decimal:
    """An exact amount: a float (from a Float column) by its shortest repr, so 0.1 is Decimal('0.1')."""
    if isinstance(value, Decimal):
        return value
    return Decimal(repr(value) if isinstance(value, float) else value)


@dataclass(frozen=True, slots=True)
class Rate:
    """Rate per unit in dollars (exact; floats given are read by their shortest repr)."""

    facility: Decimal
    nonfacility: Decimal

    def __post_init__(self) -> None:
        object.__setattr__(self, "facility", to_money(self.facility))
        object.__setattr__(self, "nonfacility", to_money(self.nonfacility))


@dataclass(slots=True)
class FeeSchedule:
    rates: dict[tuple[str, str], Rate]

    def rate(self, code: str, modifiers: Sequence[str]) -> Rate | None:
        for m in modifiers:
            r = self.rates.get((code, m.upper()))
            if r is not None:
                return r
        return self.rates.get((code, ""))


def parse_fee_schedule(text: str, file: str) -> FeeSchedule:
    """Read a fee schedule CSV (header: code, modifier (optional), facility_rate, nonfacility_rate)."""
    try:
        return _parse_fee_schedule(text, file)
    except csv.Error as e:  # a field over the csv module's size limit, a NUL byte...
        raise InputError(file, None, f"a CSV file of rows of short fields ({e})") from None


def _parse_fee_schedule(text: str, file: str) -> FeeSchedule:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    cols = {c.strip().lower() for c in (reader.fieldnames or [])}
    for need in ("code", "facility_rate", "nonfacility_rate"):
        if need not in cols:
            raise InputError(
                file,
                "row 1",
                f"the header must name the column {need!r} "
                "(columns: code, modifier, facility_rate, nonfacility_rate)",
            )
    rates: dict[tuple[str, str], Rate] = {}
    for n, raw in enumerate(reader, start=2):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items()}
        code = row.get("code", "").upper()
        if not code:
            raise InputError(file, f"row {n}, column code", "a CPT/HCPCS code is required")
        mod = row.get("modifier", "").upper()
        vals: list[Decimal] = []
        for col in ("facility_rate", "nonfacility_rate"):
            try:
                v = Decimal(row.get(col, "").replace("_", "!"))  # Decimal reads "1_0"; a rate does not
            except InvalidOperation:
                raise InputError(
                    file, f"row {n}, column {col}", f"a rate in dollars, found {row.get(col)!r}"
                ) from None
            if not v.is_finite() or v < 0:
                raise InputError(file, f"row {n}, column {col}", "a rate of zero or more")
            vals.append(v)
        if (code, mod) in rates:
            raise InputError(
                file, f"row {n}, column code", f"{code}{' ' + mod if mod else ''} is listed twice"
            )
        rates[(code, mod)] = Rate(facility=vals[0], nonfacility=vals[1])
    return FeeSchedule(rates)


def demo_fee_schedule() -> FeeSchedule:
    text = resources.files("painrcm.remit").joinpath("data/demo_fee_schedule.csv").read_text(encoding="utf-8")
    return parse_fee_schedule(text, "demo_fee_schedule.csv")


def parse_indicators(text: str, file: str) -> dict[str, tuple[str, str, str]]:
    """Read the CMS MPFS indicator CSV (hcpcs, global_days, mult_proc, bilat_surg, ...)."""
    try:
        return _parse_indicators(text, file)
    except csv.Error as e:
        raise InputError(file, None, f"a CSV file of rows of short fields ({e})") from None


def _parse_indicators(text: str, file: str) -> dict[str, tuple[str, str, str]]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    out: dict[str, tuple[str, str, str]] = {}
    for n, row in enumerate(reader, start=2):
        code = (row.get("hcpcs") or "").strip().upper()
        if not code:
            raise InputError(file, f"row {n}, column hcpcs", "a code is required")
        out[code] = (
            (row.get("mult_proc") or "").strip().rstrip("*"),
            (row.get("bilat_surg") or "").strip().rstrip("*"),
            (row.get("global_days") or "").strip(),
        )
    return out


def _pos_for(line: ExplainedLine, encounters_by_id: Mapping[str, Encounter]) -> str | None:
    if line.match is None:
        return None
    enc = encounters_by_id.get(line.match.encounter_id)
    if enc is None:
        return None
    lines = enc.lines or []
    sub = lines[line.match.line - 1] if 0 < line.match.line <= len(lines) else None
    return (
        sub.place_of_service if sub is not None and sub.place_of_service else None
    ) or enc.place_of_service


def check_underpayment(
    report: EraReport,
    schedule: FeeSchedule,
    indicators: Indicators,
    *,
    encounters: Sequence[Encounter] = (),
    default_pos: str | None = None,
    abs_tolerance: Decimal | float = Decimal("1.00"),
    rel_tolerance: Decimal | float = Decimal("0.02"),
) -> list[str]:
    """Fill ``line.underpayment`` for every priced line of ``report``; return flag messages.

    The place of service comes from the matched submitted line (or its encounter), else ``default_pos``;
    a line with no known place of service is priced at the non-facility rate (and says so).
    """
    by_id = {e.encounter_id: e for e in encounters}
    abs_tol, rel_tol = to_money(abs_tolerance), to_money(rel_tolerance)
    flags: list[str] = []
    for claim in report.claims:
        if claim.reversal:
            continue
        # group lines by date for the multiple-procedure rule
        priced: dict[date | None, list[tuple[ExplainedLine, Decimal, str, str]]] = {}
        for ln in claim.lines:
            if not ln.code:
                continue
            rate = schedule.rate(ln.code, ln.modifiers)
            if rate is None:
                continue
            pos = _pos_for(ln, by_id) or default_pos
            facility = pos in FACILITY_POS if pos else False
            base = rate.facility if facility else rate.nonfacility
            mult, bilat, glob = indicators.get(ln.code, ("", "", ""))
            units = to_money(ln.units) if ln.units and ln.units > 0 else Decimal(1)
            amount = base * units
            notes = [
                f"{'facility' if facility else 'non-facility'} rate {base:.2f}"
                + ("" if pos else " (place of service unknown)")
            ]
            if units != 1:
                notes.append(f"x {units:g} units")
            if "50" in ln.modifiers:
                if bilat == "1":
                    amount = base * Decimal("1.5")
                    notes.append("bilateral 150%")
                elif bilat == "3":
                    amount = base * 2
                    notes.append("bilateral 200%")
            priced.setdefault(ln.date_of_service, []).append((ln, amount, glob, mult))
            ln.underpayment = Underpayment(
                expected_allowed=cents(amount), basis="; ".join(notes), shortfall=ZERO, flagged=False
            )
        for group in priced.values():
            primaries = [g for g in group if g[3] == "2" and g[2] != "ZZZ"]
            if len(primaries) > 1:
                primaries.sort(key=lambda g: -g[1])
                for g in primaries[1:]:
                    up = g[0].underpayment
                    assert up is not None
                    up.expected_allowed = cents(g[1] / 2)
                    up.basis += "; multiple procedure 50%"
                up0 = primaries[0][0].underpayment
                assert up0 is not None
                up0.basis += "; multiple procedure 100% (highest)"
            for ln, _, glob, _ in group:
                up = ln.underpayment
                assert up is not None
                if glob == "ZZZ":
                    up.basis += "; add-on code 100%"
                if ln.allowed <= Decimal("0.005") and ln.paid <= Decimal("0.005"):
                    up.basis += "; denied, not compared"
                    continue
                short = cents(up.expected_allowed - ln.allowed)
                up.shortfall = max(short, ZERO)
                tol = max(abs_tol, rel_tol * up.expected_allowed)
                if short > tol:
                    up.flagged = True
                    if ln.next_action in UNDERPAID_APPEAL and appeal_barred(claim) is None:
                        share = (
                            " Bill the patient their share as usual."
                            if ln.next_action == "bill_patient"
                            else ""
                        )
                        ln.next_action = "appeal"
                        ln.next_action_detail = (
                            f"Appeal the underpayment: allowed {ln.allowed:.2f}, expected "
                            f"{up.expected_allowed:.2f} ({up.basis}).{share}"
                        )
                    flags.append(
                        f"claim {claim.patient_control_number} line {ln.code} (segment {ln.segment}): allowed "
                        f"{ln.allowed:.2f}, expected {up.expected_allowed:.2f} ({up.basis}); "
                        f"underpaid by {short:.2f}"
                    )
    report.flags.extend(flags)
    return flags
