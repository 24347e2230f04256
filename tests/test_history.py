"""The patient's past: rolling windows, identity across practices, history edits and bad history input.

Every claim here is the examples' base claim (Medicare, lumbar TF 64483-RT, DOS 2026-03-02, patient
Jane Doe 1EG4TE5MK73 born 1956-04-02) with a few keys replaced; history records are partial
encounters over the same base (so the same patient unless the test changes it).
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from painrcm.edits._examples_history import MBB_CLAIM, OTHER_PRACTICE, RFA_CLAIM, line, mbb, visit
from painrcm.edits.authorization import COMMERCIAL_CLAIM, EXAMPLE_AUTH
from painrcm.edits.examples import COMMERCIAL, example_encounter
from painrcm.errors import InputError
from painrcm.history import History
from painrcm.history.auths import AuthLog, load_auth_log
from painrcm.history.files import load_history
from painrcm.model import ClaimResult
from painrcm.scrub import HISTORY_EDITS
from tests.support import ENGINE

REF = ENGINE.engine.reference


# --- helpers ----------------------------------------------------------------------------------------
def hist(*visits: dict[str, Any]) -> History:
    return History.from_encounters([example_encounter(v) for v in visits], REF)


def scrub(
    claim: dict[str, Any],
    *visits: dict[str, Any],
    auths: list[dict[str, Any]] | None = None,
    history: History | None | bool = True,
) -> ClaimResult:
    kw: dict[str, Any] = {}
    if history is True:
        kw["history"] = hist(*visits)
    elif history is not False and history is not None:
        kw["history"] = history
    if auths is not None:
        kw["auths"] = AuthLog.from_rows(auths, source="test")
    return ENGINE.scrub(example_encounter(claim), **kw)


def edits(r: ClaimResult) -> set[str]:
    return {f.edit for f in r.findings}


def msgs(r: ClaimResult, edit: str) -> list[str]:
    return [f.message + " " + (f.fix or "") for f in r.findings if f.edit == edit]


def skipped(r: ClaimResult) -> dict[str, str]:
    return {n.edit: n.reason for n in r.not_checked}


def esi(eid: str, when: str, code: str = "64483", mod: str = "RT", **kw: Any) -> dict[str, Any]:
    """An earlier epidural session as a bare claim (no note)."""
    return visit(eid, when, line(code, mod) if mod else line(code), **kw)


def at(dos: str, **extra: Any) -> dict[str, Any]:
    return {"date_of_service": dos, **extra}


# --- rolling window edges (RULES.md 6) ----------------------------------------------------------------
THREE_LUMBAR = [esi("H-2", "2025-06-01"), esi("H-3", "2025-09-01"), esi("H-4", "2025-12-01")]


def test_session_on_same_calendar_date_one_year_earlier_is_outside_the_window():
    r = scrub({}, esi("H-1", "2025-03-02"), *THREE_LUMBAR)
    assert "FRQ001" not in edits(r)
    # the 2025-03-02 session is not counted: this claim is the 4th, the last one allowed
    (m,) = msgs(r, "FRQ090")
    assert "2025-03-02" not in m.split("payable")[0]


def test_session_on_the_day_after_is_inside_the_window():
    r = scrub({}, esi("H-1", "2025-03-03"), *THREE_LUMBAR)
    (m,) = msgs(r, "FRQ001")
    assert "session 5" in m
    # the next session is payable one year after the oldest counted one
    assert "payable again from 2026-03-03" in m


@pytest.mark.parametrize(
    "dos, earlier, counted",
    [
        # 2024-02-29 has no twin a year earlier: the cut is 2023-02-28 (dates.add_months)
        ("2024-02-29", "2023-02-28", False),
        ("2024-02-29", "2023-03-01", True),
        # a leap day in the window of a non-leap year
        ("2025-02-28", "2024-02-28", False),
        ("2025-02-28", "2024-02-29", True),
        ("2025-03-01", "2024-02-29", False),
        ("2025-03-01", "2024-03-01", False),
        ("2025-03-01", "2024-03-02", True),
    ],
)
def test_leap_year_window_edges(dos, earlier, counted):
    year = date.fromisoformat(dos).year - 1
    others = [esi(f"H-{i}", f"{year}-{m}-15") for i, m in ((2, "06"), (3, "09"), (4, "12"))]
    r = scrub(at(dos), esi("H-1", earlier), *others)
    assert ("FRQ001" in edits(r)) is counted
    assert ("FRQ090" in edits(r)) is not counted


def test_frq090_next_payable_is_oldest_counted_plus_one_year():
    r = scrub({}, esi("H-1", "2025-07-01"), esi("H-2", "2025-09-15"), esi("H-3", "2025-12-01"))
    assert "FRQ001" not in edits(r)
    (f,) = [f for f in r.findings if f.edit == "FRQ090"]
    assert f.severity.value == "warning" and f.line == 1
    assert "payable from 2026-07-01" in f.message
    assert "2026-07-01" in (f.fix or "")


def test_frq090_three_sessions_is_not_the_last_one():
    r = scrub({}, esi("H-2", "2025-09-15"), esi("H-3", "2025-12-01"))
    assert not {"FRQ001", "FRQ090"} & edits(r)


def test_frq090_next_payable_date_is_actually_payable_after_a_leap_day():
    visits = [esi("H-1", "2024-02-29"), esi("H-2", "2024-06-01"), esi("H-3", "2024-09-01")]
    r = scrub(at("2024-12-01"), *visits)
    (m,) = msgs(r, "FRQ090")
    payable = m.split("payable from ")[1][:10]
    # booking on the date FRQ090 gives must not be over the limit
    after = scrub(at(payable), *visits, esi("H-4", "2024-12-01"))
    assert "FRQ001" not in edits(after), (payable, msgs(after, "FRQ001"))


# --- per region vs cross region -------------------------------------------------------------------------
def test_four_lumbar_sessions_then_a_lumbar_one_is_over_the_limit():
    r = scrub(
        {},
        esi("H-1", "2025-04-10"),
        esi("H-2", "2025-07-01"),
        esi("H-3", "2025-09-15"),
        esi("H-4", "2025-12-01", "62323", ""),
    )
    (f,) = [f for f in r.findings if f.edit == "FRQ001"]
    assert f.severity.value == "error" and f.line == 1 and "session 5" in f.message


def test_cervical_sessions_do_not_count_against_lumbar():
    r = scrub(
        {},
        esi("H-1", "2025-04-10", "64479"),
        esi("H-2", "2025-07-01", "64479"),
        esi("H-3", "2025-09-15", "62321", ""),
        esi("H-4", "2025-12-01", "64479"),
    )
    assert not {"FRQ001", "FRQ090"} & edits(r)


def test_regions_count_separately_when_mixed():
    # 3 lumbar + 2 cervical: this lumbar is the 4th lumbar (last), not the 6th epidural
    r = scrub(
        {},
        esi("H-1", "2025-04-10"),
        esi("H-2", "2025-07-01"),
        esi("H-3", "2025-09-15"),
        esi("C-1", "2025-05-01", "64479"),
        esi("C-2", "2025-10-01", "64479"),
    )
    assert "FRQ001" not in edits(r)
    (m,) = msgs(r, "FRQ090")
    assert "lumbar" in m and "2025-05-01" not in m


# --- identity across practices (RULES.md 6) --------------------------------------------------------------
JANE = {
    "id": "P01-000123",
    "member_id": "1EG4TE5MK73",
    "last_name": "Doe",
    "first_name": "Jane",
    "dob": "1956-04-02",
    "sex": "F",
}


@pytest.mark.parametrize(
    "patient, same",
    [
        (
            {
                "id": "P02-9",
                "member_id": " 1eg4 te5mk73 ",
                "last_name": "Smith",
                "first_name": "Janet",
                "dob": "1956-04-02",
            },
            True,
        ),  # member ID ignoring case and spaces + dob
        (
            {
                "id": "P02-9",
                "member_id": "ZZ999",
                "last_name": "DOE",
                "first_name": "jane",
                "dob": "1956-04-02",
            },
            True,
        ),  # name + dob, member IDs differ
        (
            {
                "id": "P02-9",
                "member_id": "ZZ999",
                "last_name": "Doe",
                "first_name": "Jane",
                "dob": "1956-04-03",
            },
            False,
        ),  # same name, different dob
        (
            {
                "id": "P02-9",
                "member_id": "1EG4TE5MK73",
                "last_name": "Smith",
                "first_name": "Janet",
                "dob": "1956-04-03",
            },
            False,
        ),  # same member ID, different dob
        (
            {
                "id": "P01-000123",
                "member_id": "ZZ999",
                "last_name": "Smith",
                "first_name": "Janet",
                "dob": "1956-04-02",
            },
            False,
        ),  # same chart ID at another practice is not identity
    ],
)
def test_identity_across_practices(patient, same):
    other = esi("X-1", "2025-12-01", practice=OTHER_PRACTICE, patient=patient)
    r = scrub({}, esi("H-1", "2025-04-10"), esi("H-2", "2025-07-01"), esi("H-3", "2025-09-15"), other)
    assert ("FRQ001" in edits(r)) is same
    assert ("FRQ090" in edits(r)) is not same


def test_history_services_query_by_identity():
    h = hist(esi("H-1", "2025-04-10", patient={**JANE, "member_id": "1eg4te5mk73", "last_name": "X"}))
    from painrcm.model import Patient

    by_member = Patient(member_id="1EG4 TE5MK73", dob=date(1956, 4, 2))
    by_name = Patient(last_name="doe", first_name="JANE", dob=date(1956, 4, 2))
    wrong_dob = Patient(member_id="1EG4TE5MK73", last_name="X", first_name="Jane", dob=date(1956, 4, 3))
    assert [s.date for s in h.services(by_member)] == [date(2025, 4, 10)]
    assert list(h.services(by_name)) == []  # the record's last name is X
    assert list(h.services(wrong_dob)) == []


# --- duplicates ---------------------------------------------------------------------------------------
def test_history_record_of_this_claim_is_not_counted_twice():
    # the claim being checked is also in the history folder (same encounter_id)
    r = scrub({}, esi("H-2", "2025-09-15"), esi("H-3", "2025-12-01"), esi("EX-1", "2026-03-02"))
    assert not {"FRQ001", "FRQ090"} & edits(r)


def test_history_record_with_the_claims_encounter_id_is_the_same_claim_even_on_another_date():
    # an earlier version of this claim (EX-1, date since corrected) is the same claim
    r = scrub(
        {},
        esi("H-2", "2025-09-15"),
        esi("H-3", "2025-12-01"),
        esi("H-4", "2026-01-10"),
        esi("EX-1", "2026-02-20"),
    )
    assert "FRQ001" not in edits(r)
    assert "FRQ090" in edits(r)


def test_two_records_on_the_same_date_are_one_session():
    r = scrub(
        {},
        esi("H-2", "2025-09-15"),
        esi("H-3", "2025-12-01"),
        esi("H-3b", "2025-12-01", "62323", ""),
        esi("H-3c", "2025-12-01", practice=OTHER_PRACTICE),
    )
    assert not {"FRQ001", "FRQ090"} & edits(r)


# --- purpose of facet sessions without a note (RULES.md 10) --------------------------------------------
THERAPEUTIC = {
    "family": "facet_joint",
    "region": "lumbar",
    "target": "intraarticular",
    "purpose": "therapeutic",
    "levels": ["L4-L5"],
    "laterality": "bilateral",
    "imaging": "fluoroscopy",
    "images_stored": True,
    "medications": ["triamcinolone 40 mg"],
}
FACET_CLAIM = {"diagnoses": ["M47.816"], "procedures": [THERAPEUTIC], "lines": [line("64493", "50")]}


def ther(eid: str, when: str) -> dict[str, Any]:
    return visit(eid, when, line("64493", "50"), procedures=[THERAPEUTIC], diagnoses=["M47.816"])


def bare_facet(eid: str, when: str, *mods: str) -> dict[str, Any]:
    """An 837-like facet session: no procedure note."""
    return visit(eid, when, line("64493", "50", *mods), line("64494", "50", *mods), diagnoses=["M47.816"])


def test_unknown_purpose_session_that_could_tip_frq002_is_not_checked():
    r = scrub(
        FACET_CLAIM,
        ther("H-1", "2025-05-01"),
        ther("H-2", "2025-08-01"),
        ther("H-3", "2025-11-01"),
        bare_facet("U-1", "2026-01-15"),
    )
    assert "FRQ002" not in edits(r)
    reason = skipped(r)["FRQ002"]
    assert "2026-01-15" in reason and "unknown purpose" in reason
    # nor may FRQ090 claim this is the last session: it could be the fifth
    assert "FRQ090" not in edits(r)


def test_unknown_purpose_session_that_cannot_change_frq002_is_ignored():
    r = scrub(FACET_CLAIM, ther("H-1", "2025-05-01"), bare_facet("U-1", "2026-01-15"))
    assert "FRQ002" not in edits(r) and "FRQ002" not in skipped(r)


def test_over_the_limit_without_unknown_sessions_is_still_an_error():
    r = scrub(
        FACET_CLAIM,
        ther("H-1", "2025-05-01"),
        ther("H-2", "2025-08-01"),
        ther("H-3", "2025-11-01"),
        ther("H-4", "2026-01-15"),
        bare_facet("U-1", "2025-12-10"),
    )
    assert "FRQ002" in edits(r) and "FRQ002" not in skipped(r)


def test_unknown_purpose_session_that_could_tip_frq008_is_not_checked():
    r = scrub(
        MBB_CLAIM,
        mbb("H-1", "2025-04-01", 40),
        mbb("H-2", "2025-06-01", 45),
        mbb("H-3", "2025-09-01", 50),
        bare_facet("U-1", "2025-12-01"),
    )
    assert "FRQ008" not in edits(r)
    assert "2025-12-01" in skipped(r)["FRQ008"]
    # an unknown-purpose session is not counted as therapeutic either
    assert "FRQ002" not in edits(r) and "FRQ002" not in skipped(r)


def test_kx_lines_without_a_note_count_as_diagnostic():
    visits = [
        bare_facet(f"K-{i}", d, "KX")
        for i, d in enumerate(["2025-04-01", "2025-06-01", "2025-09-01", "2025-12-01"])
    ]
    r = scrub(MBB_CLAIM, *visits)
    assert "FRQ008" in edits(r) and "FRQ008" not in skipped(r)
    assert "session 5" in msgs(r, "FRQ008")[0]
    # without KX the same records are of unknown purpose: not counted, not an error
    r = scrub(
        MBB_CLAIM,
        *[
            bare_facet(f"K-{i}", d)
            for i, d in enumerate(["2025-04-01", "2025-06-01", "2025-09-01", "2025-12-01"])
        ],
    )
    assert "FRQ008" not in edits(r) and "FRQ008" in skipped(r)


# --- NEC001 relief thresholds per payer (RULES.md 8, 10) ------------------------------------------------
def test_75_percent_blocks_qualify_for_commercial_rfa_but_not_medicare():
    blocks = [mbb("B-1", "2026-01-05", 75), mbb("B-2", "2026-01-26", 75)]
    medicare = scrub(RFA_CLAIM, *blocks)
    (m,) = msgs(medicare, "NEC001")
    assert "80%" in m and "75%" in m
    commercial = scrub({**RFA_CLAIM, "payer": COMMERCIAL, "authorization_number": "PA-1"}, *blocks)
    assert "NEC001" not in edits(commercial) and "NEC001" not in skipped(commercial)


@pytest.mark.parametrize(
    "payer, relief, ok",
    [
        ("medicare", 80, True),
        ("medicare", 79.5, False),
        ("commercial", 50, True),
        ("commercial", 49, False),
    ],
)
def test_relief_threshold_is_at_least(payer, relief, ok):
    claim = dict(RFA_CLAIM)
    if payer == "commercial":
        claim.update(payer=COMMERCIAL, authorization_number="PA-1")
    r = scrub(claim, mbb("B-1", "2026-01-05", 90), mbb("B-2", "2026-01-26", relief))
    assert ("NEC001" in edits(r)) is not ok


def test_rfa_with_no_blocks_on_record_is_an_error():
    r = scrub(RFA_CLAIM)  # empty history: no blocks at all
    assert "NEC001" in edits(r) and "NEC001" not in skipped(r)


@pytest.mark.parametrize("reliefs", [(None, None), (85, None)])
def test_undocumented_relief_makes_nec001_not_checked(reliefs):
    r = scrub(RFA_CLAIM, mbb("B-1", "2026-01-05", reliefs[0]), mbb("B-2", "2026-01-26", reliefs[1]))
    assert "NEC001" not in edits(r)
    assert "relief" in skipped(r)["NEC001"] and "2026-01-26" in skipped(r)["NEC001"]


def test_undocumented_relief_that_cannot_help_does_not_hide_the_error():
    # one block below threshold, one undocumented: even 100% relief would give only one qualifying block
    r = scrub(RFA_CLAIM, mbb("B-1", "2026-01-05", 60), mbb("B-2", "2026-01-26", None))
    assert "NEC001" in edits(r) and "NEC001" not in skipped(r)


def test_two_records_of_one_block_on_the_same_date_are_one_block():
    # the same block reached history twice (e.g. the practice's JSON and the clearinghouse's 837)
    r = scrub(RFA_CLAIM, mbb("B-1", "2026-01-05", 85), mbb("B-1-837", "2026-01-05", 85))
    assert "NEC001" in edits(r)


def test_unknown_purpose_blocks_make_nec001_not_checked():
    r = scrub(RFA_CLAIM, bare_facet("B-1", "2026-01-05"), bare_facet("B-2", "2026-01-26"))
    assert "NEC001" not in edits(r) and "NEC001" in skipped(r)


# --- NEC005 stimulator trial --------------------------------------------------------------------------
IMPLANT = {
    "diagnoses": ["G89.4", "M96.1"],
    "procedures": [{"family": "spinal_cord_stimulator", "stage": "implant", "leads": 2}],
    "lines": [line("63685"), {"code": "63650", "modifiers": [], "units": 2, "diagnosis_pointers": [1, 2]}],
}


def trial(relief: float | None, when: str = "2026-01-20") -> dict[str, Any]:
    proc: dict[str, Any] = {"family": "spinal_cord_stimulator", "stage": "trial", "leads": 2}
    if relief is not None:
        proc["relief_percent"] = relief
    return visit(
        "T-1",
        when,
        {"code": "63650", "modifiers": [], "units": 2, "diagnosis_pointers": [1]},
        procedures=[proc],
        diagnoses=["G89.4", "M96.1"],
    )


@pytest.mark.parametrize(
    "relief, outcome", [(70, "pass"), (50, "pass"), (30, "error"), (None, "not_checked")]
)
def test_nec005_trial_relief(relief, outcome):
    r = scrub(IMPLANT, trial(relief))
    assert ("NEC005" in edits(r)) is (outcome == "error")
    assert ("NEC005" in skipped(r)) is (outcome == "not_checked")
    if outcome == "error":
        assert "30%" in msgs(r, "NEC005")[0]


def test_nec005_no_trial_in_history_is_an_error():
    r = scrub(IMPLANT)
    assert "no trial" in msgs(r, "NEC005")[0]


def test_nec005_trial_after_the_implant_does_not_count():
    r = scrub(IMPLANT, trial(80, when="2026-03-10"))
    assert "NEC005" in edits(r)


# --- FRQ006 / FRQ007 intervals --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "first, too_soon", [("2026-02-16", False), ("2026-02-17", True), ("2026-02-28", True)]
)
def test_frq006_second_block_needs_14_days(first, too_soon):
    r = scrub(MBB_CLAIM, mbb("H-1", first, 85))
    assert ("FRQ006" in edits(r)) is too_soon
    if too_soon:
        (m,) = msgs(r, "FRQ006")
        assert first in m
        assert (date.fromisoformat(first).toordinal() + 14) == date.fromisoformat(
            m.split("on or after ")[1][:10]
        ).toordinal()


def test_frq006_ignores_other_regions():
    cervical = visit("C-1", "2026-02-23", line("64490", "50", "KX"), diagnoses=["M47.812"])
    r = scrub(MBB_CLAIM, cervical)
    assert "FRQ006" not in edits(r)


def rfa(eid: str, when: str) -> dict[str, Any]:
    return visit(eid, when, line("64635", "RT"), line("64636", "RT"), diagnoses=["M47.816"])


BLOCKS = [mbb("B-1", "2025-07-01", 85), mbb("B-2", "2025-07-20", 90)]


@pytest.mark.parametrize(
    "last, too_soon",
    [("2025-09-02", False), ("2025-09-03", True), ("2025-12-01", True), ("2025-03-01", False)],
)
def test_frq007_repeat_rfa_six_months_same_day_allowed(last, too_soon):
    r = scrub(RFA_CLAIM, *BLOCKS, rfa("R-1", last))
    assert ("FRQ007" in edits(r)) is too_soon
    if last == "2025-09-03":
        (m,) = msgs(r, "FRQ007")
        assert "2025-09-03" in m and "from 2026-03-03" in m


# --- authorization log (RULES.md 7, CONTRACTS.md 3) -------------------------------------------------------
PAYER = COMMERCIAL_CLAIM["payer"]


def auth(**kw: Any) -> dict[str, Any]:
    return {**EXAMPLE_AUTH, **kw}


def used(eid: str, when: str, number: str = "PA-7001") -> dict[str, Any]:
    return esi(eid, when, payer=PAYER, authorization_number=number)


@pytest.mark.parametrize(
    "start, end, inside",
    [
        ("2026-03-02", "2026-06-30", True),
        ("2026-01-01", "2026-03-02", True),
        ("2026-03-03", "2026-06-30", False),
        ("2026-01-01", "2026-03-01", False),
    ],
)
def test_aut003_window_is_inclusive(start, end, inside):
    r = scrub(COMMERCIAL_CLAIM, auths=[auth(start_date=start, end_date=end)])
    assert ("AUT003" in edits(r)) is not inside
    if not inside:
        (m,) = msgs(r, "AUT003")
        assert start in m and end in m


@pytest.mark.parametrize("status", ["pending", "denied"])
def test_aut003_pending_or_denied(status):
    r = scrub(COMMERCIAL_CLAIM, auths=[auth(status=status)])
    (m,) = msgs(r, "AUT003")
    assert status in m


def test_aut006_counts_history_claims_using_the_auth_plus_this_claim():
    ok = scrub(COMMERCIAL_CLAIM, used("H-1", "2026-01-10"), auths=[auth()])
    assert "AUT006" not in edits(ok) and "AUT006" not in skipped(ok)
    over = scrub(COMMERCIAL_CLAIM, used("H-1", "2026-01-10"), used("H-2", "2026-02-07"), auths=[auth()])
    (m,) = msgs(over, "AUT006")
    assert "session 3" in m and "2026-01-10" in m and "2026-02-07" in m


def test_aut006_ignores_other_auths_duplicates_and_this_claims_own_record():
    r = scrub(
        COMMERCIAL_CLAIM,
        used("H-1", "2026-01-10"),
        used("H-1b", "2026-01-10"),  # same date: one session
        used("H-2", "2026-02-07", "PA-9999"),  # another authorization
        used("EX-1", "2026-03-02"),  # this claim, already in history
        auths=[auth()],
    )
    assert "AUT006" not in edits(r)


def test_aut006_later_sessions_do_not_make_an_earlier_claim_over_the_limit():
    # a late claim for the first session, scrubbed after the 2nd and 3rd were recorded
    r = scrub(
        {**COMMERCIAL_CLAIM, "date_of_service": "2026-01-10"},
        used("H-2", "2026-02-07"),
        used("H-3", "2026-03-02"),
        auths=[auth()],
    )
    assert "AUT006" not in edits(r), msgs(r, "AUT006")


def test_aut006_matches_auth_number_ignoring_case_and_spaces():
    r = scrub(
        COMMERCIAL_CLAIM,
        used("H-1", "2026-01-10", "pa-7001 "),
        used("H-2", "2026-02-07", "PA-7001"),
        auths=[auth()],
    )
    assert "AUT006" in edits(r)


def test_aut006_no_cap_never_used_up():
    r = scrub(
        COMMERCIAL_CLAIM, used("H-1", "2026-01-10"), used("H-2", "2026-02-07"), auths=[auth(sessions="")]
    )
    assert "AUT006" not in edits(r)


@pytest.mark.parametrize("end, warns", [("2026-03-16", True), ("2026-03-02", True), ("2026-03-17", False)])
def test_aut090_warns_within_14_days_with_sessions_left(end, warns):
    r = scrub(COMMERCIAL_CLAIM, auths=[auth(end_date=end)])
    assert ("AUT090" in edits(r)) is warns
    if warns:
        (f,) = [f for f in r.findings if f.edit == "AUT090"]
        assert f.severity.value == "warning" and end in f.message and "1 session(s) left" in f.message


def test_aut090_silent_when_no_sessions_left():
    r = scrub(COMMERCIAL_CLAIM, used("H-1", "2026-01-10"), auths=[auth(end_date="2026-03-10")])
    assert "AUT090" not in edits(r)


def test_aut004_addon_covered_by_its_primary():
    two = {
        **COMMERCIAL_CLAIM,
        "procedures": [
            {
                "family": "epidural_transforaminal",
                "region": "lumbar",
                "levels": ["L4", "L5"],
                "laterality": "right",
                "imaging": "fluoroscopy",
                "images_stored": True,
                "medications": ["dexamethasone 10 mg"],
            }
        ],
        "lines": [line("64483", "RT"), line("64484", "RT")],
    }
    assert "AUT004" not in edits(scrub(two, auths=[auth()]))
    # an authorization for the add-on alone does not cover the primary
    r = scrub(two, auths=[auth(codes="64484")])
    assert [(f.line, f.code) for f in r.findings if f.edit == "AUT004"] == [(1, "64483")]


# --- with and without history ---------------------------------------------------------------------------
@pytest.mark.parametrize("claim", [{}, RFA_CLAIM, IMPLANT, {**COMMERCIAL_CLAIM}])
def test_no_history_lists_every_history_edit_as_not_checked(claim):
    r = scrub(claim, history=None, auths=[auth()])
    s = skipped(r)
    for eid in HISTORY_EDITS:
        assert eid in s, eid
        assert "--history" in s[eid]
    assert not set(HISTORY_EDITS) & edits(r)


def test_empty_history_means_no_earlier_services_and_edits_run(tmp_path):
    empty = load_history([tmp_path])
    assert len(empty) == 0
    r = scrub(RFA_CLAIM, history=empty)
    assert not set(HISTORY_EDITS) & set(skipped(r))
    assert "NEC001" in edits(r)  # no blocks on record
    r = scrub(IMPLANT, history=empty)
    assert "NEC005" in edits(r)


# --- history files ---------------------------------------------------------------------------------------
def write(path: Path, obj: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj), encoding="utf-8")
    return path


def from_example(v: dict[str, Any]) -> dict[str, Any]:
    from painrcm.edits.examples import example_dict

    return example_dict(v)


def test_load_history_reads_files_folders_and_lists(tmp_path):
    write(tmp_path / "a" / "one.json", from_example(esi("H-1", "2025-04-10")))
    write(
        tmp_path / "a" / "sub" / "two.json",
        [from_example(esi("H-2", "2025-07-01")), from_example(esi("H-3", "2025-09-15"))],
    )
    (tmp_path / "a" / "notes.md").write_text("not history")
    single = write(tmp_path / "four.json", from_example(esi("H-4", "2025-12-01")))
    h = load_history([tmp_path / "a", single], REF)
    assert len(h) == 4
    r = scrub({}, history=h)
    assert "FRQ001" in edits(r)


def test_malformed_json_in_a_history_folder_names_the_file_and_place(tmp_path):
    write(tmp_path / "h" / "a.json", from_example(esi("H-1", "2025-04-10")))
    bad = tmp_path / "h" / "b.json"
    bad.write_text('{"encounter_id": "H-2", ', encoding="utf-8")
    with pytest.raises(InputError) as e:
        load_history([tmp_path / "h"], REF)
    assert e.value.file == str(bad)
    assert e.value.place and e.value.place.startswith("line 1")


def test_bad_record_in_a_history_list_names_the_json_path(tmp_path):
    bad = write(
        tmp_path / "h.json", [from_example(esi("H-1", "2025-04-10")), from_example(esi("H-2", "2025-13-01"))]
    )
    with pytest.raises(InputError) as e:
        load_history([bad], REF)
    assert e.value.file == str(bad)
    assert e.value.place == "$[1].date_of_service"
    assert "date" in e.value.expected


def test_unreadable_history_file_and_missing_path(tmp_path):
    bad = tmp_path / "h" / "binary.json"
    bad.parent.mkdir()
    bad.write_bytes(b'{"encounter_id": "\xff\xfe"}')
    with pytest.raises(InputError) as e:
        load_history([tmp_path / "h"], REF)
    assert e.value.file == str(bad) and e.value.place and "byte" in e.value.place
    with pytest.raises(InputError) as e:
        load_history([tmp_path / "nowhere"], REF)
    assert e.value.file == str(tmp_path / "nowhere")


# --- authorization log files -----------------------------------------------------------------------------
HEADER = "auth_number,payer_id,member_id,codes,sessions,start_date,end_date,rendering_npi,status\n"
GOOD_ROW = "PA-7001,ACME-HEALTH,1EG4TE5MK73,64483 64484,2,2026-01-01,2026-06-30,,approved\n"


def test_auth_log_csv_and_json_load(tmp_path):
    csv_path = tmp_path / "auths.csv"
    csv_path.write_text(
        HEADER + GOOD_ROW + "PA-7002,ACME-HEALTH,1EG4TE5MK73,64493;64494,,2026-01-01,"
        "2026-06-30,1679576722,Pending\n",
        encoding="utf-8",
    )
    log = load_auth_log(csv_path)
    (a,) = log.find(" pa-7001")
    assert a.codes == ("64483", "64484") and a.sessions == 2 and a.start_date == date(2026, 1, 1)
    (b,) = log.find("PA-7002")
    assert b.codes == ("64493", "64494") and b.sessions is None and b.status == "pending"
    assert b.rendering_npi == "1679576722"
    json_path = write(tmp_path / "auths.json", [EXAMPLE_AUTH])
    assert [x.auth_number for x in load_auth_log(json_path).all()] == ["PA-7001"]


@pytest.mark.parametrize(
    "row, field",
    [
        ("PA-7002,ACME-HEALTH,1EG4TE5MK73,64483,2,2026-02-30,2026-06-30,,approved\n", "start_date"),
        ("PA-7002,ACME-HEALTH,1EG4TE5MK73,64483,2,2026-01-01,06/30/2026,,approved\n", "end_date"),
        ("PA-7002,ACME-HEALTH,1EG4TE5MK73,64483,2,2026-01-01,2026-06-30,,approve\n", "status"),
        ("PA-7002,ACME-HEALTH,1EG4TE5MK73,64483,two,2026-01-01,2026-06-30,,approved\n", "sessions"),
        ("PA-7002,ACME-HEALTH,,64483,2,2026-01-01,2026-06-30,,approved\n", "member_id"),
        ("PA-7002,ACME-HEALTH,1EG4TE5MK73,64483,2,2026-06-30,2026-01-01,,approved\n", "end_date"),
    ],
)
def test_bad_auth_log_row_names_record_and_field(tmp_path, row, field):
    p = tmp_path / "auths.csv"
    p.write_text(HEADER + GOOD_ROW + row, encoding="utf-8")
    with pytest.raises(InputError) as e:
        load_auth_log(p)
    assert e.value.file == str(p)
    assert e.value.place == f"record 2, field {field}"


def test_auth_log_missing_column_is_named(tmp_path):
    p = tmp_path / "auths.csv"
    p.write_text(HEADER.replace(",status", "") + GOOD_ROW.replace(",approved", ""), encoding="utf-8")
    with pytest.raises(InputError) as e:
        load_auth_log(p)
    assert e.value.file == str(p) and e.value.place == "header row" and "status" in e.value.expected


def test_auth_log_json_bad_record_and_bad_json(tmp_path):
    p = write(tmp_path / "a.json", [EXAMPLE_AUTH, {**EXAMPLE_AUTH, "status": "maybe"}])
    with pytest.raises(InputError) as e:
        load_auth_log(p)
    assert e.value.place == "record 2, field status"
    p.write_text('[{"auth_number": ', encoding="utf-8")
    with pytest.raises(InputError) as e:
        load_auth_log(p)
    assert e.value.file == str(p) and e.value.place and e.value.place.startswith("line 1")
    with pytest.raises(InputError) as e:
        load_auth_log(tmp_path / "missing.csv")
    assert e.value.file == str(tmp_path / "missing.csv")
