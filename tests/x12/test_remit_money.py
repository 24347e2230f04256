"""835 money is exact (issue 11): amounts are Decimals as the file writes them, sums and balance checks
are exact, JSON prints them exactly, and an underpayment is exact to the cent (half up)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import typer
from typer.testing import CliRunner

from painrcm.cli_x12 import register
from painrcm.remit.explain import explain_remittance
from painrcm.remit.underpay import FeeSchedule, Rate, check_underpayment, parse_fee_schedule
from painrcm.x12.reader835 import read_835

from .conftest import fixture_text

runner = CliRunner()


def _app() -> typer.Typer:
    app = typer.Typer()
    register(app)

    @app.callback()
    def _root() -> None:  # several commands, not one
        pass

    return app


def _remit(claims: list[tuple[str, str, list[str]]], payment: str, plb: str | None = None) -> str:
    """An 835 built on the denials fixture's header: ``claims`` = (billed, paid, segments after CLP)."""
    head = fixture_text("denials.835").split("LX*1", 1)[0]
    head = head.replace("BPR*I*335.00", f"BPR*I*{payment}", 1)
    segs = ["LX*1"]
    for n, (billed, paid, body) in enumerate(claims, 1):
        segs.append(f"CLP*M-{n}*1*{billed}*{paid}**12*PCN{n:04d}")
        segs.extend(body)
    if plb is not None:
        segs.append(f"PLB*1245319599*20261231*WO:PCN0555*{plb}")
    st = head.index("ST*835")
    count = head[st:].count("~") + len(segs) + 1
    return head + "".join(f"{s}~\n" for s in segs) + f"SE*{count}*0001~\nGE*1*123~\nIEA*1*000000123~\n"


def _cents_file(n_claims: int = 3, n_lines: int = 40) -> str:
    """Every line: billed 0.30, CO-45 0.10, PR-2 0.10, paid 0.10 (0.3 - 0.1 - 0.1 is not 0.1 in binary)."""
    line = ["SVC*HC:99213*0.3*0.1**1", "DTM*472*20260302", "CAS*CO*45*0.1", "CAS*PR*2*0.1"]
    billed = Decimal("0.3") * n_lines
    paid = Decimal("0.1") * n_lines
    claims = [(str(billed), str(paid), line * n_lines) for _ in range(n_claims)]
    return _remit(claims, str(paid * n_claims - Decimal("0.2")), plb="0.2")


def test_amounts_are_decimals_read_exactly() -> None:
    rem = read_835(_cents_file(1, 2), "m.835").remittances[0]
    c = rem.claims[0]
    assert c.billed == Decimal("0.6") and c.paid == Decimal("0.2")
    ln = c.lines[0]
    assert (ln.billed, ln.paid) == (Decimal("0.3"), Decimal("0.1"))
    assert [a.amount for a in ln.adjustments] == [Decimal("0.1"), Decimal("0.1")]
    assert rem.provider_adjustments[0].amount == Decimal("0.2")
    assert rem.payment == 0 and str(rem.payment) == "0.0"  # BPR02 = 0.2 paid - 0.2 PLB, as written


def test_cents_that_balance_only_in_decimal_balance_without_warning() -> None:
    rem = read_835(_cents_file(), "m.835").remittances[0]
    rep = explain_remittance(rem)
    assert rep.flags == []
    assert rep.reconciliation.balanced
    assert all(c.balanced and all(ln.balanced for ln in c.lines) for c in rep.claims)
    assert rep.reconciliation.claims_paid == Decimal("12.0")  # 120 x 0.1, exactly
    assert rep.reconciliation.expected_payment == rep.reconciliation.payment == Decimal("11.8")
    ln = rep.claims[0].lines[0]
    assert ln.patient_responsibility == Decimal("0.1") and ln.allowed == Decimal("0.2")


def test_a_cent_off_is_still_flagged() -> None:
    text = _cents_file(1, 3).replace("CLP*M-1*1*0.9*0.3", "CLP*M-1*1*0.91*0.3", 1)
    rep = explain_remittance(read_835(text, "m.835").remittances[0])
    assert not rep.claims[0].balanced
    assert any("M-1" in f and "does not balance" in f for f in rep.flags)


def test_era_json_prints_exact_amounts(tmp_path: Path) -> None:
    f = tmp_path / "m.835"
    f.write_text(_cents_file(), encoding="utf-8")
    r = runner.invoke(_app(), ["era", str(f), "--json"])
    assert r.exit_code == 0, r.output
    assert "0000000" not in r.stdout and "9999999" not in r.stdout  # no binary-float residue
    doc = json.loads(r.stdout, parse_float=Decimal)
    rep = doc["remittances"][0]
    assert rep["reconciliation"]["claims_paid"] == Decimal("12.0")
    assert rep["reconciliation"]["expected_payment"] == Decimal("11.8")
    assert rep["reconciliation"]["balanced"] is True and rep["flags"] == []
    ln = rep["claims"][0]["lines"][0]
    assert (ln["billed"], ln["paid"], ln["allowed"]) == (Decimal("0.3"), Decimal("0.1"), Decimal("0.2"))
    assert [a["amount"] for a in ln["adjustments"]] == [Decimal("0.1"), Decimal("0.1")]
    # amounts stay JSON numbers, as before
    assert isinstance(json.loads(r.stdout)["remittances"][0]["payment"], float)


def _one_line(code: str, mods: str, billed: str, allowed: str, units: str = "1") -> str:
    adj = Decimal(billed) - Decimal(allowed)
    return _remit(
        [
            (
                billed,
                allowed,
                [
                    f"SVC*HC:{code}{mods}*{billed}*{allowed}**{units}",
                    "DTM*472*20260302",
                    f"CAS*CO*45*{adj}",
                    f"AMT*B6*{allowed}",
                ],
            )
        ],
        allowed,
    )


def test_underpayment_is_exact_to_the_cent_half_up() -> None:
    # 1000.005 in binary is 1000.00499..., which float rounding makes 1000.00; the cent is 1000.01
    sched = parse_fee_schedule("code,facility_rate,nonfacility_rate\n64483,1000.005,1000.005\n", "f.csv")
    rep = explain_remittance(read_835(_one_line("64483", "", "2000", "900"), "u.835").remittances[0])
    flags = check_underpayment(rep, sched, {"64483": ("2", "1", "000")}, default_pos="11")
    up = rep.claims[0].lines[0].underpayment
    assert up is not None and up.flagged
    assert up.expected_allowed == Decimal("1000.01") and up.shortfall == Decimal("100.01")
    assert flags and flags[0].endswith("underpaid by 100.01")


def test_rate_times_units_rounds_half_up() -> None:
    # 33.335 x 3 = 100.005 exactly: 100.01 (binary floats give 100.00499... -> 100.00)
    sched = FeeSchedule({("20553", ""): Rate(Decimal("33.335"), Decimal("33.335"))})
    rep = explain_remittance(read_835(_one_line("20553", "", "300", "95.5", "3"), "u.835").remittances[0])
    check_underpayment(rep, sched, {}, default_pos="11")
    up = rep.claims[0].lines[0].underpayment
    assert up is not None and up.expected_allowed == Decimal("100.01")
    assert up.shortfall == Decimal("4.51") and up.flagged  # 4.51 > max(1.00, 2% of 100.01)


def test_float_rates_from_storage_are_read_by_their_decimal_text() -> None:
    r = Rate(0.1, 265.35)  # Float columns give floats: 0.1 is 0.1, not 0.1000000000000000055...
    assert r.facility == Decimal("0.1") and r.nonfacility == Decimal("265.35")
