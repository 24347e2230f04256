"""`painrcm data import`: CMS's published layouts -> painrcm's normalized CSVs -> `load_reference`.

The fixtures in tests/fixtures/cms are small synthetic files in CMS's layouts (not CMS data).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from painrcm.codes import cms_import
from painrcm.codes.loader import load_reference
from painrcm.errors import InputError

FIX = Path(__file__).parent / "fixtures" / "cms"
PTP_ZIP = FIX / "ncci_ptp_practitioner_2026q4.zip"
MUE_ZIP = FIX / "MCR_MUE_PractitionerServices_Eff_10-01-2026.zip"
RVU_ZIP = FIX / "RVU26D.zip"
ICD_CODES = FIX / "icd10cm-codes-2027.txt"
NOV_2026 = date(2026, 11, 2)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    h = tmp_path / "painrcm-home"
    monkeypatch.setenv("PAINRCM_HOME", str(h))
    yield h
    # Imports clear load_reference's cache; make sure nothing loaded under this home stays cached.
    load_reference.cache_clear()


def _files(folder: Path) -> list[str]:
    return (
        sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
        if folder.exists()
        else []
    )


def _manifest(home: Path) -> dict:
    return yaml.safe_load((home / "cms" / "editions.yaml").read_text(encoding="utf-8"))


# --- NCCI PTP ---------------------------------------------------------------------------------


def test_ptp_zip_with_two_parts_is_used_by_the_loader(home: Path) -> None:
    packaged = load_reference(str(home))
    assert packaged.ncci.pair("27279", "20552", NOV_2026) is None
    assert packaged.ncci.pair("20553", "64479", NOV_2026) is not None

    result = cms_import.import_ptp([PTP_ZIP])
    assert result.rows == 6
    assert len(result.sources) == 2  # both .txt parts; the .xlsx and the pdf are ignored
    assert result.edition == "NCCI PTP practitioner 2026Q4 (imported from ncci_ptp_practitioner_2026q4.zip)"

    ref = load_reference(str(home))
    assert ref.ncci.edition == result.edition
    assert ref.editions()["ncci_ptp"] == result.edition
    row = ref.ncci.pair("27279", "20552", NOV_2026)  # only in the imported file (part 1)
    assert row is not None and row.modifier_indicator == "0"
    assert ref.ncci.pair("64633", "99213", NOV_2026) is not None  # part 2, multi-row header
    # Effective and deletion dates came through.
    assert ref.ncci.pair("27279", "20552", date(2025, 12, 31)) is None
    assert ref.ncci.pair("62321", "64493", date(2025, 6, 1)) is not None
    assert ref.ncci.pair("62321", "64493", NOV_2026) is None
    assert ref.ncci.pair("64635", "27279", NOV_2026) is None  # indicator 9 is not an edit
    # The imported edition replaces the packaged one.
    assert ref.ncci.pair("20553", "64479", NOV_2026) is None


def test_ptp_txt_parts_and_edition_option(home: Path) -> None:
    parts = [FIX / "ccipra-v323r0-f1.txt", FIX / "ccipra-v323r0-f2.txt"]
    result = cms_import.import_ptp(parts)
    assert result.edition.startswith("NCCI PTP practitioner v32.3r0 (imported from ccipra-v323r0-f1.txt")
    result = cms_import.import_ptp(parts, edition="NCCI PTP practitioner 2026Q4 (from my download)")
    assert load_reference(str(home)).ncci.edition == "NCCI PTP practitioner 2026Q4 (from my download)"
    # A re-import replaces the earlier file rather than piling files up.
    assert [f for f in _files(home / "cms") if f.startswith("ncci_ptp")] == [result.path.name]


def test_ptp_accepts_painrcm_normalized_csv(home: Path, tmp_path: Path) -> None:
    csv_path = tmp_path / "mine.csv"
    csv_path.write_text(
        "column1,column2,modifier_indicator,deletion_date,rationale\n27279,64451,1,9999-12-31,Test\n",
        encoding="utf-8",
    )
    assert cms_import.import_ptp([csv_path]).rows == 1
    assert load_reference(str(home)).ncci.pair("27279", "64451", NOV_2026) is not None


# --- MUE, MPFS, ICD-10-CM ---------------------------------------------------------------------


def test_mue_zip_with_copyright_preamble(home: Path) -> None:
    cms_import.import_ptp([PTP_ZIP])
    result = cms_import.import_mue(MUE_ZIP)
    assert result.rows == 4
    assert result.edition == (
        "MUE practitioner 2026-10-01 (imported from MCR_MUE_PractitionerServices_Eff_10-01-2026.zip)"
    )
    ref = load_reference(str(home))
    assert ref.mue.edition == result.edition
    facet = ref.mue.get("64493")
    assert facet is not None and (facet.max_units, facet.adjudication) == (2, "3")
    assert ref.mue.get("64999").adjudication == "1"
    # Importing MUE kept the PTP import (the manifest is merged, not rewritten).
    assert set(_manifest(home)) == {"ncci_ptp", "mue"}
    assert ref.ncci.edition.startswith("NCCI PTP practitioner 2026Q4")
    text = result.path.read_text(encoding="utf-8")
    assert text.splitlines()[0] == ",".join(cms_import.MUE_FIELDS)
    assert "64493,2,3,Date of Service Edit: Clinical,Practitioner,Clinical: Data" in text


def test_mpfs_pprrvu_from_rvu_zip(home: Path) -> None:
    assert load_reference(str(home)).mpfs.edition.startswith("MPFS RVU24C")  # the packaged table
    result = cms_import.import_mpfs(RVU_ZIP)
    assert result.rows == 5  # the global rows and the pricing-modifier rows (27279-62, 72275-26)
    assert result.edition == "MPFS RVU indicators 2026D (imported from RVU26D.zip)"
    assert _manifest(home)["mpfs"]["effective"] == "2026-10-01"
    ref = load_reference(str(home))
    assert ref.mpfs.edition == result.edition
    assert ref.known("27279", NOV_2026)
    assert ref.global_days("27279") == "090"
    assert ref.bilateral_indicator("27279") == 1
    assert ref.mpfs.get("72275") is None  # only a 26-modifier row in the file...
    assert ref.known("72275", NOV_2026) and ref.fee("72275", "26") is not None  # ...still a known code
    assert ref.mpfs.get("G0260").bilateral == 9
    # the RVUs come along; without total columns the totals are the sums of work, PE and MP
    fee = ref.fee("64490")
    assert fee is not None and (fee.work_rvu, fee.total_rvu_nonfacility, fee.total_rvu_facility) == (
        Decimal("1.00"),
        Decimal("3.10"),
        Decimal("1.60"),
    )
    assert fee.conversion_factor == Decimal("33.4009")
    assert fee.national_amount(facility=False) == Decimal("103.54")
    text = result.path.read_text(encoding="utf-8")
    assert text.splitlines()[0] == ",".join(cms_import.MPFS_FIELDS)
    assert "description" not in text.lower()  # AMA text is never kept


def test_mpfs_one_row_header_with_other_spellings(home: Path) -> None:
    result = cms_import.import_mpfs(FIX / "PPRRVU27_JAN_onerow.csv")
    assert result.edition.startswith("MPFS RVU indicators 2027 JAN")
    row = load_reference(str(home)).mpfs.get("27280")
    assert row is not None and (row.status, row.global_days, row.mult_proc, row.bilateral) == (
        "A",
        "090",
        "2",
        0,
    )


@pytest.mark.parametrize("name", ["icd10cm-codes-2027.txt", "icd10cm-order-2027.txt"])
def test_icd10cm_fiscal_year_file(home: Path, name: str) -> None:
    result = cms_import.import_icd10cm(FIX / name, 2027)
    written = (home / "icd10cm" / "fy2027.txt").read_text(encoding="utf-8").split()
    assert "M54Z1" in written and "M5450" in written
    assert "M54" not in written and "M545" not in written  # headers (billable 0) are dropped
    assert result.rows == len(written)
    ref = load_reference(str(home))
    assert 2027 in ref.icd10.loaded_years()
    fy2027 = ref.icd10.set_for(NOV_2026)
    assert fy2027 is not None and fy2027.fiscal_year == 2027
    assert "M54Z1" in fy2027.billable
    fy2026 = ref.icd10.set_for(date(2025, 11, 2))
    assert fy2026 is None or "M54Z1" not in fy2026.all_codes
    assert _manifest(home)["icd10cm"]["fy2027"]["edition"] == f"ICD-10-CM FY2027 (imported from {name})"


def test_icd10cm_fiscal_year_must_match_the_file_name(home: Path) -> None:
    with pytest.raises(InputError) as e:
        cms_import.import_icd10cm(ICD_CODES, 2026)
    assert e.value.place == "--fiscal-year"
    assert _files(home) == []


# --- bad files import nothing and name the place ----------------------------------------------


@pytest.mark.parametrize(
    ("importer", "name", "place", "expected"),
    [
        (cms_import.import_ptp, "ptp_wrong_header.txt", None, "'Column 1' and 'Column 2'"),
        (cms_import.import_ptp, "ptp_bad_date.txt", "row 6, column Effective Date", "YYYYMMDD"),
        (cms_import.import_ptp, "ptp_second_part_bad.zip", "row 5, column Modifier", "0, 1 or 9"),
        (
            cms_import.import_mue,
            "mue_bad_value.csv",
            "row 7, column Practitioner Services MUE Values",
            "whole number",
        ),
        (cms_import.import_mpfs, "pprrvu_bad_indicator.csv", "row 9, column BILAT SURG", "one-digit"),
        (cms_import.import_mpfs, "ccipra-v323r0-f1.txt", None, "'HCPCS'"),
        (cms_import.import_icd10cm, "icd10cm_bad.txt", "line 2", "ICD-10-CM code"),
    ],
)
def test_bad_file_imports_nothing(home: Path, importer, name: str, place: str | None, expected: str) -> None:
    # A good import first: a bad one must leave it exactly as it was.
    cms_import.import_ptp([PTP_ZIP])
    cms_import.import_mue(MUE_ZIP)
    before = {f: (home / f).read_bytes() for f in _files(home)}
    path = FIX / name
    with pytest.raises(InputError) as e:
        if importer is cms_import.import_ptp:
            importer([path])
        elif importer is cms_import.import_icd10cm:
            importer(path, 2027)
        else:
            importer(path)
    assert e.value.file is not None and name in e.value.file
    assert e.value.place == place
    assert expected in e.value.expected
    assert {f: (home / f).read_bytes() for f in _files(home)} == before  # no temp files left either


def test_bad_file_on_a_fresh_home_leaves_the_packaged_editions(home: Path) -> None:
    with pytest.raises(InputError):
        cms_import.import_ptp([PTP_ZIP, FIX / "ptp_bad_date.txt"])  # first file good, second bad
    assert _files(home) == []
    ref = load_reference(str(home))
    assert "v30.2" in ref.ncci.edition


def test_missing_file_and_excel_are_input_errors(home: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        cms_import.import_mue(tmp_path / "nope.zip")
    xlsx = tmp_path / "MCR_MUE.xlsx"
    xlsx.write_bytes(b"PK")
    with pytest.raises(InputError, match="Excel"):
        cms_import.import_mue(xlsx)
    with pytest.raises(InputError, match=r"PPRRVU\*\.csv"):
        cms_import.import_mpfs(MUE_ZIP)  # a zip without a PPRRVU file


def test_a_new_process_picks_up_the_import(home: Path) -> None:
    cms_import.import_mpfs(RVU_ZIP)
    code = (
        "import json; from painrcm.codes.loader import load_reference as L; r = L(); "
        "print(json.dumps([r.mpfs.edition, r.known('27279', __import__('datetime').date(2026, 11, 2))]))"
    )
    env = {**os.environ, "PAINRCM_HOME": str(home)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == ["MPFS RVU indicators 2026D (imported from RVU26D.zip)", True]


# --- the command line -------------------------------------------------------------------------


def test_cli_data_import_and_show(home: Path) -> None:
    from painrcm.cli import app

    runner = CliRunner()
    env = {"PAINRCM_HOME": str(home)}
    res = runner.invoke(
        app, ["data", "import", "ptp", str(PTP_ZIP), "--edition", "PTP test edition"], env=env
    )
    assert res.exit_code == 0, res.output
    assert "Imported 6 PTP rows from 2 files" in res.stdout
    assert "PTP test edition" in res.stdout

    res = runner.invoke(app, ["data", "import", "icd10cm", str(ICD_CODES), "--fiscal-year", "2027"], env=env)
    assert res.exit_code == 0, res.output
    assert "Imported 4 billable ICD-10-CM codes for FY2027" in res.stdout

    res = runner.invoke(app, ["data", "show"], env=env)
    assert res.exit_code == 0, res.output
    assert str(home) in res.stdout
    lines = res.stdout.splitlines()
    assert any("ncci_ptp" in ln and "imported" in ln and "PTP test edition" in ln for ln in lines)
    assert any(ln.split()[:2] == ["mue", "packaged"] for ln in lines)
    assert any("icd10cm fy2027" in ln for ln in lines)
    assert load_reference(str(home)).ncci.edition == "PTP test edition"


def test_cli_bad_file_exits_2_with_one_message(home: Path) -> None:
    from painrcm.cli import app

    res = CliRunner().invoke(
        app, ["data", "import", "mue", str(FIX / "mue_bad_value.csv")], env={"PAINRCM_HOME": str(home)}
    )
    assert res.exit_code == 2
    assert res.stderr.startswith("painrcm: ")
    assert "row 7, column Practitioner Services MUE Values" in res.stderr
    assert "Traceback" not in res.output
    assert _files(home) == []


def test_cli_icd10cm_requires_fiscal_year(home: Path) -> None:
    from painrcm.cli import app

    res = CliRunner().invoke(
        app, ["data", "import", "icd10cm", str(ICD_CODES)], env={"PAINRCM_HOME": str(home)}
    )
    assert res.exit_code == 2
    assert "--fiscal-year" in res.output
