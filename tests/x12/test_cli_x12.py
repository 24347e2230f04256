from __future__ import annotations

import json
from pathlib import Path

import typer
from typer.testing import CliRunner

from painrcm.cli_x12 import register
from painrcm.x12.reader837 import read_837

from .conftest import FIXTURES, fixture_text

runner = CliRunner()


def app() -> typer.Typer:
    a = typer.Typer(pretty_exceptions_enable=False)

    @a.callback()
    def _root() -> None:  # keep sub-command names with a single registered command set
        pass

    register(a)
    return a


def test_era_human() -> None:
    r = runner.invoke(app(), ["era", str(FIXTURES / "denials.835")])
    assert r.exit_code == 0, r.output
    out = r.stdout
    assert "Claim E-2001" in out and "CO-97" in out and "correct and resubmit" in out
    assert "Reversal: claim E-1999" in out and "reconciles" in out


def test_era_json_with_claims_and_fee_schedule(tmp_path: Path) -> None:
    encs = read_837(fixture_text("pain.837"), "pain.837").claims
    claim = encs[0].model_copy(update={"encounter_id": "E-2001"})
    (tmp_path / "e.json").write_text(claim.model_dump_json(by_alias=True), encoding="utf-8")
    fee = tmp_path / "fee.csv"
    fee.write_text("code,modifier,facility_rate,nonfacility_rate\n64484,,150,150\n", encoding="utf-8")
    r = runner.invoke(
        app(),
        [
            "era",
            str(FIXTURES / "denials.835"),
            "--claims",
            str(tmp_path / "e.json"),
            "--fee-schedule",
            str(fee),
            "--json",
        ],
    )
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["schema"] == "painrcm.era/1"
    rem = doc["remittances"][0]
    assert rem["reconciliation"]["balanced"] is True
    lines = rem["claims"][0]["lines"]
    assert (
        lines[0]["match"] == {"encounter_id": "E-2001", "line": 1, "by": "control_number"}
        or lines[0]["match"]
    )
    assert lines[1]["underpayment"]["flagged"] is True
    assert any(u["patient_control_number"] == "X-404" for u in rem["unmatched_lines"])


def test_era_bad_input_exit_2_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.835"
    bad.write_text(fixture_text("denials.835").replace("CAS*CO*97*200", "CAS*ZZ*97*200"), encoding="utf-8")
    r = runner.invoke(app(), ["era", str(bad)])
    assert r.exit_code == 2
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("painrcm: ") and "segment 29 (CAS)" in lines[0]
    assert "Traceback" not in r.output
    r = runner.invoke(app(), ["era", str(tmp_path / "missing.835")])
    assert r.exit_code == 2 and "not found" in r.stderr
    r = runner.invoke(app(), ["era", str(FIXTURES / "pain.837")])
    assert r.exit_code == 2 and "835" in r.stderr


def test_export837(tmp_path: Path) -> None:
    encs = read_837(fixture_text("pain.837"), "pain.837").claims
    files = []
    for i, e in enumerate(encs):
        f = tmp_path / f"e{i}.json"
        f.write_text(e.model_dump_json(by_alias=True), encoding="utf-8")
        files.append(str(f))
    out = tmp_path / "out.837"
    r = runner.invoke(app(), ["export837", *files, "--out", str(out), "--control-number", "77"])
    assert r.exit_code == 0, r.output
    back = read_837(out.read_text(encoding="utf-8"), str(out), strict=True)
    assert [c.encounter_id for c in back.claims] == [e.encounter_id for e in encs]
    assert "000000077" in out.read_text(encoding="utf-8")


def test_export837_bad_input(tmp_path: Path) -> None:
    f = tmp_path / "bad.json"
    f.write_text("{not json", encoding="utf-8")
    r = runner.invoke(app(), ["export837", str(f), "--out", str(tmp_path / "o.837")])
    assert r.exit_code == 2 and r.stderr.startswith("painrcm: ") and "Traceback" not in r.output
    assert not (tmp_path / "o.837").exists()


def test_registered_in_main_cli() -> None:
    import pytest

    cli = pytest.importorskip("painrcm.cli")
    r = runner.invoke(cli.app, ["era", str(FIXTURES / "denials.835"), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["schema"] == "painrcm.era/1"


def test_a_refused_837_is_one_located_line_without_the_readers_notes(tmp_path: Path) -> None:
    """Leftover of issue 11: export837 printed the reader's notes (here a wrong SE01) before the line
    that refuses the file; a refusal is exactly one located line on stderr and exit 2."""
    text = fixture_text("pain.837")  # its claim PCN-2 cannot be read (no SV107): export837 refuses
    se = next(s for s in text.splitlines() if s.startswith("SE*"))
    f = tmp_path / "p.837"
    f.write_text(text.replace(se, "SE*999*" + se.split("*")[2]), encoding="utf-8")
    out = tmp_path / "o.837"
    r = runner.invoke(app(), ["export837", str(f), "--out", str(out)])
    assert r.exit_code == 2 and not out.exists()
    [line] = r.stderr.splitlines()
    assert line.startswith(f"painrcm: {f}: segment ") and "PCN-2" in line and "SE01" not in line
    # a file that is read is written, and the same note is shown
    from painrcm.edits.examples import example_encounter
    from painrcm.x12.writer837 import write_837

    clean = write_837([example_encounter({"encounter_id": "E-1"})])
    se = next(s for s in clean.splitlines() if s.startswith("SE*"))
    f.write_text(clean.replace(se, "SE*999*" + se.split("*")[2]), encoding="utf-8")
    r = runner.invoke(app(), ["export837", str(f), "--out", str(out)])
    assert r.exit_code == 0 and out.exists() and "note: " in r.stderr and "SE01" in r.stderr
