"""The shipped CMS tables (issue 10): the full fee schedule and MUE tables and the pain-code NCCI pairs
as the defaults, every code they hold valid (never COD001), fee-schedule status, global days and RVUs
through the code-table API, read lazily, and the notice when the tables are older than the claims."""

from __future__ import annotations

import csv
import importlib.resources
import json
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from painrcm.codes.freshness import age_notices, editions_entry, notice_text
from painrcm.codes.loader import edition_start, load_reference, packaged_editions
from painrcm.codes.tables import FEE_STATUS
from painrcm.edits.examples import example_encounter
from tests.support import ENGINE

REF = load_reference()
DOS = date(2026, 3, 2)
DEMO = Path(str(importlib.resources.files("painrcm.demo.data"))) / "claims" / "01-clean-tfesi-coded.json"


def _packaged_rows(name: str) -> list[dict[str, str]]:
    text = importlib.resources.files("painrcm.codes.data.cms").joinpath(name).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


# --- the shipped tables and their editions -----------------------------------------------------


def test_editions_yaml_records_the_full_tables_and_their_dates() -> None:
    doc = packaged_editions()
    assert doc["mpfs"]["file"] == "mpfs_indicators_2024c.csv"
    assert doc["mue"]["file"] == "mue_practitioner_2024q3.csv"
    assert doc["ncci_ptp"]["file"] == "ncci_ptp_practitioner_v302r0_pain.csv"
    assert REF.edition_dates() == {
        "ncci_ptp": date(2024, 7, 1),
        "mue": date(2024, 7, 1),
        "mpfs": date(2024, 7, 1),
    }
    ed = REF.editions()
    assert "v30.2" in ed["ncci_ptp"] and "2024-07-01" in ed["mue"] and "RVU24C" in ed["mpfs"]


def test_every_fee_schedule_row_reads_back_through_the_code_table_api() -> None:
    rows = _packaged_rows("mpfs_indicators_2024c.csv")
    assert len(rows) == 18_664
    for r in rows:
        fee = REF.fee(r["hcpcs"], r["modifier"])
        assert fee is not None, r
        assert (fee.status, fee.global_days, fee.mult_proc) == (r["status"], r["global_days"], r["mult_proc"])
        assert fee.bilateral == int(r["bilat_surg"])
        assert fee.total_rvu_facility == Decimal(r["total_rvu_fac"])
        assert REF.known(r["hcpcs"], DOS)


def test_every_mue_reads_back() -> None:
    rows = _packaged_rows("mue_practitioner_2024q3.csv")
    assert len(rows) == 14_677
    for r in rows[::7]:
        entry = REF.mue.get(r["hcpcs"])
        assert entry is not None and entry.max_units == int(r["mue_uos"]), r
        assert entry.adjudication == r["mue_mai"]


def test_ncci_pairs_of_the_v30_2_table() -> None:
    assert REF.ncci.pair("64635", "64493", DOS).modifier_indicator == "1"
    assert REF.ncci.pair("62322", "64484", DOS).modifier_indicator == "0"
    assert REF.ncci.pair("20553", "20552", DOS).modifier_indicator == "0"
    # a deleted row of a pair with a current one: the current one answers
    assert len(REF.ncci.rows) > 20_000


def test_rvus_and_conversion_factor_for_a_fee_calculator() -> None:
    fee = REF.fee("64493")
    assert fee is not None
    assert (fee.work_rvu, fee.pe_rvu_nonfacility, fee.pe_rvu_facility, fee.mp_rvu) == (
        Decimal("1.52"),
        Decimal("3.66"),
        Decimal("1.03"),
        Decimal("0.15"),
    )
    assert (fee.total_rvu_nonfacility, fee.total_rvu_facility) == (Decimal("5.33"), Decimal("2.70"))
    assert fee.conversion_factor == Decimal("33.2875")
    assert (fee.mult_proc, fee.bilateral, fee.global_days) == ("2", 1, "000")
    assert fee.national_amount(facility=False) == Decimal("177.42")  # 5.33 x 33.2875, to the cent
    assert fee.national_amount(facility=True) == Decimal("89.88")
    # pricing-modifier rows: the professional component of fluoroscopy
    pc = REF.fee("77003", "26")
    assert pc is not None and pc.modifier == "26" and pc.work_rvu is not None
    assert REF.fee("77003", "TC") is not None


def test_fee_schedule_status_and_global_days_are_data() -> None:
    j1040 = REF.fee("J1040")  # methylprednisolone 80 mg: status I from 2024-07-01 (J1010 is the new code)
    assert j1040 is not None and j1040.status == "I" and not j1040.payable
    assert "not valid for Medicare" in j1040.status_meaning
    assert REF.fee("J1010") is not None and REF.known("J1010", DOS)
    assert REF.fee("64493").payable
    statuses = {r["status"] for r in _packaged_rows("mpfs_indicators_2024c.csv")}
    assert statuses <= set(FEE_STATUS)  # every status in the file has a meaning in words
    # global days come from the fee schedule, for codes painrcm's pain table does not describe too
    assert REF.global_days("27279") == "090"
    assert REF.global_days("20610") == "000"


# --- a code the fee schedule knows is valid ------------------------------------------------------

ISSUE_10_CODES = [
    "20610", "20611", "64624", "64510", "64520", "64530", "62273", "62367", "62368", "62369", "62370",
    "95990", "96372", "0213T", "0214T", "0215T", "0216T", "0217T", "0218T", "0228T", "0229T", "0230T",
    "0231T", "27279", "J1010",
]  # fmt: skip


@pytest.mark.parametrize("code", ISSUE_10_CODES)
def test_valid_codes_the_pain_table_may_lack_are_never_cod001(code: str) -> None:
    enc = example_encounter(
        {"lines": [{"code": code, "units": 1, "diagnosis_pointers": [1]}], "procedures": []}
    )
    result = ENGINE.scrub(enc)
    assert "COD001" not in {f.edit for f in result.findings}, result.findings


def test_cod001_names_the_tables_and_the_import_command_and_not_a_code_change() -> None:
    enc = example_encounter(
        {"lines": [{"code": "64438", "units": 1, "diagnosis_pointers": [1]}], "procedures": []}
    )
    (hit,) = [f for f in ENGINE.scrub(enc).findings if f.edit == "COD001"]
    for name in ("v30.2", "MUE practitioner 2024-07-01", "RVU24C"):
        assert name in hit.message
    assert "painrcm data import" in (hit.fix or "")
    assert "Correct the code" not in (hit.fix or "")


# --- lazy loading ------------------------------------------------------------------------------


def _run(code: str) -> Any:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_tables_are_read_only_when_asked() -> None:
    code = (
        "import json, datetime; from painrcm.codes.loader import load_reference as L; r = L(); "
        "loaded = lambda: [t.index.__dict__.get('_index') is not None for t in (r.ncci, r.mue, r.mpfs)]; "
        "icd = lambda: 'all_codes' in r.icd10.sets[max(r.icd10.sets)].__dict__; "
        "a = loaded() + [icd()]; r.editions(); r.edition_dates(); r.info('64493'); "
        "r.known('64493', datetime.date(2026, 3, 2)); b = loaded() + [icd()]; r.fee('64493'); "
        "print(json.dumps([a, b, loaded()]))"
    )
    before, after_pain_code, after_fee = _run(code)
    assert before == [False, False, False, False]
    assert after_pain_code == [False, False, False, False]  # a pain-table code needs no CMS file
    assert after_fee == [False, False, True]


# --- reference data age --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dos", "stale"),
    [
        (date(2024, 8, 1), []),
        (date(2024, 12, 31), []),
        (date(2025, 1, 2), ["mpfs"]),  # a later year than the 2024 fee schedule
        (date(2025, 3, 31), ["mpfs"]),  # 2025Q1 is two quarters after 2024Q3: not more
        (date(2025, 4, 1), ["ncci_ptp", "mue", "mpfs"]),
        (date(2026, 3, 2), ["ncci_ptp", "mue", "mpfs"]),
    ],
)
def test_age_notice_thresholds(dos: date, stale: list[str]) -> None:
    assert [n.dataset for n in age_notices(REF, [date(2024, 7, 15), dos, None])] == stale


def test_age_notice_text_points_to_data_import() -> None:
    text = notice_text(age_notices(REF, [date(2026, 3, 2)]))
    assert "6 quarters older" in text and "2024 fee schedule" in text
    assert "painrcm data import ptp|mue|mpfs FILE" in text
    entry = editions_entry(REF, [date(2024, 9, 1)])
    assert entry["notices"] == [] and entry["message"] is None and entry["in_use"] == REF.editions()


@pytest.mark.parametrize(
    ("dataset", "edition", "start"),
    [
        ("ncci_ptp", "NCCI PTP practitioner v32.3r0 (imported from ccipra-v323r0-f1.txt)", date(2026, 10, 1)),
        ("ncci_ptp", "NCCI PTP practitioner 2026Q4 (from my download)", date(2026, 10, 1)),
        ("mue", "MUE practitioner 2026-10-01 (imported from MCR_MUE.zip)", date(2026, 10, 1)),
        ("mpfs", "MPFS RVU indicators 2026D (imported from RVU26D.zip)", date(2026, 10, 1)),
        ("mpfs", "MPFS RVU indicators 2027 JAN (imported from PPRRVU27_JAN.csv)", date(2027, 1, 1)),
        ("mue", "my own name", None),
    ],
)
def test_edition_start_from_the_edition_name(dataset: str, edition: str, start: date | None) -> None:
    assert edition_start(dataset, {"edition": edition}) == start


def _scrub(args: list[str]) -> Any:
    from painrcm.cli import app

    return CliRunner().invoke(app, ["scrub", *args])


def _claim(tmp_path: Path, name: str, dos: str) -> Path:
    doc = json.loads(DEMO.read_text(encoding="utf-8"))
    doc["encounter_id"], doc["date_of_service"] = name, dos
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def test_scrub_says_it_once_per_run_in_text_and_json(tmp_path: Path) -> None:
    files = [str(_claim(tmp_path, f"C{i}", "2026-03-02")) for i in range(3)]
    res = _scrub(files)
    assert res.stdout.count("notice: the loaded CMS tables are older than the claims") == 1
    assert "painrcm data import" in res.stdout
    doc = json.loads(_scrub(["--json", *files]).stdout)
    assert [n["dataset"] for n in doc["editions"]["notices"]] == ["ncci_ptp", "mue", "mpfs"]
    assert doc["editions"]["message"].count("painrcm data import") == 1
    for claim in doc["claims"]:  # a notice, not a finding on every claim
        assert all("data import" not in f["message"] for f in claim["findings"])


def test_no_notice_for_claims_within_the_editions(tmp_path: Path) -> None:
    path = str(_claim(tmp_path, "C1", "2024-09-03"))
    assert "notice:" not in _scrub([path]).stdout
    doc = json.loads(_scrub(["--json", path]).stdout)
    assert doc["editions"]["notices"] == [] and doc["editions"]["effective"]["mpfs"] == "2024-07-01"
