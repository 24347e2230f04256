"""Corrected and voided claims in the 837P (issue 9): CLM05-3 = 7 or 8 with REF*F8 (the payer's claim
control number from the 835), and a production file refuses placeholder data, naming what is missing."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from painrcm.errors import InputError
from painrcm.x12.reader837 import read_837
from painrcm.x12.writer837 import write_837

from .conftest import fixture_text
from .test_cli_x12 import app

runner = CliRunner()


def _segments(text: str) -> list[str]:
    return [s.strip() for s in text.split("~") if s.strip()]


def test_frequency_code_and_payer_claim_number() -> None:
    enc = read_837(fixture_text("pain.837"), "pain.837").claims[0]
    for code in ("7", "8"):
        segs = _segments(write_837([enc], frequencies={enc.encounter_id: (code, "PAYER-CCN-1")}))
        clm = next(s for s in segs if s.startswith("CLM*"))
        assert clm.split("*")[5].split(":") == [enc.place_of_service, "B", code]
        i = segs.index("REF*F8*PAYER-CCN-1")
        assert segs.index(clm) < i < next(n for n, s in enumerate(segs) if s.startswith("HI*"))
    original = _segments(write_837([enc]))
    assert next(s for s in original if s.startswith("CLM*")).split("*")[5].endswith(":B:1")
    assert not any(s.startswith("REF*F8") for s in original)


def test_bad_frequency_and_a_production_correction_without_the_payer_number_are_refused() -> None:
    enc = read_837(fixture_text("pain.837"), "pain.837").claims[0]
    with pytest.raises(InputError, match="frequency code"):
        write_837([enc], frequencies={enc.encounter_id: ("5", None)})
    with pytest.raises(InputError, match="CLP07"):
        write_837([enc], usage="P", frequencies={enc.encounter_id: ("7", None)})


def test_production_refuses_placeholder_data_naming_what_is_missing() -> None:
    enc = read_837(fixture_text("pain.837"), "pain.837").claims[0]
    lines = [ln.model_copy(update={"charge": None}) for ln in enc.lines or []]
    bare = enc.model_copy(
        update={"lines": lines, "patient": enc.patient.model_copy(update={"first_name": None})}
    )
    with pytest.raises(InputError) as info:
        write_837([bare], usage="P")
    text = info.value.render()
    assert "production" in text and "charges of line(s) 1" in text
    assert "patient first name" in text and "address" in text
    write_837([bare], usage="T")  # a test file still writes, with its documented placeholders


def test_cli_production_export_refuses_with_exit_2(tmp_path: Path) -> None:
    enc = read_837(fixture_text("pain.837"), "pain.837").claims[0]
    f = tmp_path / "e.json"
    f.write_text(enc.model_dump_json(by_alias=True), encoding="utf-8")
    out = tmp_path / "o.837"
    r = runner.invoke(app(), ["export837", str(f), "--out", str(out), "--production"])
    assert r.exit_code == 2 and "missing:" in r.stderr and "Traceback" not in r.output
    assert not out.exists()
