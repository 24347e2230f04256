"""The bundled demo set: it loads, it scrubs without input errors, and each demo claim shows the
denial it was written to show (the README's first command runs exactly this set)."""

from __future__ import annotations

import json
from functools import cache

import pytest

from painrcm.demo import demo_paths
from painrcm.history.auths import load_auth_log
from painrcm.history.files import load_history
from painrcm.inputs import read_encounters
from painrcm.model import ClaimResult, Encounter
from tests.support import ENGINE


@cache
def _claims() -> dict[str, Encounter]:
    out: dict[str, Encounter] = {}
    for path in demo_paths().claims:
        encs, problems = read_encounters(path)
        assert not problems, f"{path.name}: {problems}"
        assert len(encs) == 1, f"{path.name}: one encounter per file"
        out[path.stem] = encs[0]
    return out


@cache
def _results() -> dict[str, ClaimResult]:
    paths = demo_paths()
    history = load_history([paths.history], ENGINE.engine.reference)
    auths = load_auth_log(paths.auths)
    return {
        name: ENGINE.scrub(enc, history=history, auths=auths, fix=True) for name, enc in _claims().items()
    }


def _edits(result: ClaimResult, severity: str = "error") -> set[str]:
    return {f.edit for f in result.findings if f.severity.value == severity}


def _codes(lines) -> list[str]:
    return [ln.code for ln in lines]


def test_demo_set_is_there_and_synthetic():
    paths = demo_paths()
    assert len(paths.claims) >= 12
    assert paths.history.is_dir() and any(paths.history.glob("*.json"))
    assert paths.auths.is_file()
    encounters = list(_claims().values())
    history, _ = zip(*(read_encounters(p) for p in sorted(paths.history.glob("*.json"))), strict=True)
    for enc in encounters + [e for batch in history for e in batch]:
        assert enc.patient.member_id and enc.patient.member_id.startswith("ZZ"), enc.encounter_id
        assert enc.practice.id in ("P01", "P02", "ASC1")
        assert enc.payer.id in ("MEDICARE", "ACME-HEALTH", "SUNCARE-MA")
    for enc in encounters:
        assert "2026-03-01" <= enc.date_of_service.isoformat() <= "2026-06-30"
    # three practices and three payers are represented among the claims
    assert {e.practice.id for e in encounters} == {"P01", "P02", "ASC1"}
    assert {e.payer.plan for e in encounters} == {"medicare", "commercial", "medicare_advantage"}
    # claim IDs are unique, and no history record repeats a claim
    ids = [e.encounter_id for e in encounters]
    assert len(ids) == len(set(ids))
    assert not set(ids) & {e.encounter_id for batch in history for e in batch}


def test_every_demo_claim_scrubs_and_statuses_are_a_mix():
    results = _results()
    assert len(results) == len(demo_paths().claims)
    statuses = [r.status for r in results.values()]
    assert "clean" in statuses and "error" in statuses
    for name, r in results.items():
        # history and the auth log were given: nothing is skipped for want of them
        reasons = " ".join(n.reason for n in r.not_checked)
        assert "no history supplied" not in reasons, name
        assert "no authorization log supplied" not in reasons, name


def test_cli_demo_json_runs():
    from typer.testing import CliRunner

    from painrcm.cli import app

    res = CliRunner().invoke(app, ["demo", "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["schema"] == "painrcm.scrub/1"
    assert len(doc["claims"]) == len(demo_paths().claims)


@pytest.mark.parametrize(
    "name",
    ["01-clean-tfesi-coded", "02-clean-bilateral-facet-commercial", "03-clean-rfa-after-two-blocks"],
)
def test_clean_demo_claims_are_clean(name):
    r = _results()[name]
    assert r.status == "clean", [f.contract_dict() for f in r.findings]


def test_uncoded_claim_is_coded_from_its_procedures():
    enc = _claims()["01-clean-tfesi-coded"]
    assert enc.lines is None
    r = _results()["01-clean-tfesi-coded"]
    assert _codes(r.lines) == ["64483", "64484", "J3301"]
    assert all("RT" in ln.modifiers for ln in r.lines[:2])


def test_rfa_after_two_qualifying_blocks_at_same_practice_passes_nec001():
    r = _results()["03-clean-rfa-after-two-blocks"]
    assert "NEC001" not in {f.edit for f in r.findings}
    assert "NEC001" not in {n.edit for n in r.not_checked}


def test_77003_with_tfesi_is_bun001_and_fix_drops_it():
    r = _results()["04-77003-with-tfesi"]
    bun = [f for f in r.findings if f.edit == "BUN001"]
    assert bun and bun[0].line == 2 and bun[0].code == "77003"
    assert r.fixed_lines is not None
    assert "77003" not in _codes(r.fixed_lines)
    assert _codes(r.fixed_lines) == ["64483"]


def test_modifier_50_on_interlaminar_is_mod002_and_fix_removes_it():
    r = _results()["05-modifier-50-on-interlaminar"]
    assert "MOD002" in _edits(r)
    assert r.fixed_lines is not None
    assert [ln.modifiers for ln in r.fixed_lines if ln.code == "62323"] == [[]]


def test_em_without_25_is_bun004_and_fix_adds_25():
    r = _results()["06-em-without-25"]
    assert "BUN004" in _edits(r)
    assert r.fixed_lines is not None
    em = next(ln for ln in r.fixed_lines if ln.code == "99214")
    assert "25" in em.modifiers


def test_addon_without_primary_is_add001():
    r = _results()["07-addon-without-primary"]
    assert _edits(r) >= {"ADD001"}
    assert r.fixed_lines is None  # no safe automatic fix: the biller must add the primary


def test_both_trigger_point_codes_is_bun003_and_fix_keeps_the_muscle_count_code():
    r = _results()["08-tpi-both-codes"]
    assert "BUN003" in _edits(r)
    assert r.fixed_lines is not None
    assert _codes(r.fixed_lines) == ["20553"]  # three muscles documented


def test_retired_m545_is_cod002():
    r = _results()["09-retired-dx-m545"]
    cod = [f for f in r.findings if f.edit == "COD002"]
    assert cod and cod[0].severity.value == "error"
    assert "M54.5" in cod[0].message


def test_asc_facility_claim_with_50_must_be_rt_lt_lines():
    r = _results()["10-asc-facility-bilateral-50"]
    assert "MOD003" in _edits(r)
    assert r.fixed_lines is not None
    assert all("50" not in ln.modifiers for ln in r.fixed_lines)
    sides = sorted((ln.code, m) for ln in r.fixed_lines for m in ln.modifiers if m in ("RT", "LT"))
    assert sides == [("64493", "LT"), ("64493", "RT"), ("64494", "LT"), ("64494", "RT")]


def test_fifth_epidural_counts_sessions_at_the_other_practice():
    r = _results()["11-fifth-epidural-in-12-months"]
    assert "FRQ001" in _edits(r)


def test_rfa_without_two_qualifying_blocks_is_nec001():
    r = _results()["12-rfa-without-qualifying-blocks"]
    assert "NEC001" in _edits(r)


def test_commercial_claim_without_authorization_is_aut001():
    r = _results()["13-commercial-no-authorization"]
    assert "AUT001" in _edits(r)


def test_expired_authorization_is_aut003():
    r = _results()["14-authorization-expired"]
    assert "AUT003" in _edits(r)


def test_medicare_diagnostic_mbb_without_kx_is_mod011_and_fix_adds_kx():
    r = _results()["15-medicare-diagnostic-mbb-without-kx"]
    assert "MOD011" in _edits(r)
    assert r.fixed_lines is not None
    assert all("KX" in ln.modifiers for ln in r.fixed_lines)
