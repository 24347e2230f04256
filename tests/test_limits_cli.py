"""`painrcm limits` (and `painrcm scrub --history --auths`) through the command line, as a scheduler or a
billing script would run them. History is written as encounter JSON files into tmp_path."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from painrcm.cli import app
from painrcm.edits._examples_history import OTHER_PRACTICE, line, visit
from painrcm.edits.examples import COMMERCIAL, example_dict

runner = CliRunner()

AUTH_HEADER = "auth_number,payer_id,member_id,codes,sessions,start_date,end_date,rendering_npi,status\n"


def esi(eid: str, when: str, *lines: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return example_dict(visit(eid, when, *(lines or [line("64483", "RT")]), payer=COMMERCIAL, **kw))


def write_history(folder: Path, *records: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for r in records:
        (folder / f"{r['encounter_id']}.json").write_text(json.dumps(r), encoding="utf-8")
    return folder


@pytest.fixture
def four_lumbar(tmp_path: Path) -> Path:
    """Jane Doe (commercial, ACME-HEALTH): four lumbar epidural sessions in the year before 2026-03-02, one at
    another practice, two under authorization PA-7001; plus one cervical session."""
    return write_history(
        tmp_path / "history",
        esi("H-1", "2025-04-10"),
        esi(
            "H-2",
            "2025-07-01",
            practice=OTHER_PRACTICE,
            patient={
                "id": "P02-777",
                "member_id": "1eg4 te5mk73",
                "last_name": "Doe",
                "first_name": "Jane",
                "dob": "1956-04-02",
            },
        ),
        esi("H-3", "2026-01-10", authorization_number="PA-7001"),
        esi("H-4", "2026-02-07", line("62323"), authorization_number="PA-7001"),
        esi("C-1", "2025-11-01", line("64479", "RT")),
    )


@pytest.fixture
def auth_log(tmp_path: Path) -> Path:
    p = tmp_path / "auths.csv"
    p.write_text(
        AUTH_HEADER
        + "PA-7001,ACME-HEALTH,1EG4TE5MK73,64483 62323,3,2026-01-01,2026-06-30,,approved\n"
        + "PA-7002,ACME-HEALTH,1EG4TE5MK73,64493,,2026-02-01,2026-12-31,,pending\n"
        + "PA-8000,ACME-HEALTH,ZZ0000000,64483,2,2026-01-01,2026-06-30,,approved\n",
        encoding="utf-8",
    )
    return p


def limits_json(*args: str) -> dict[str, Any]:
    res = runner.invoke(app, ["limits", *args, "--json"])
    assert res.exit_code == 0, (res.stdout, res.stderr, res.exception)
    return json.loads(res.stdout)


def row(doc: dict[str, Any], limit: str, region: str | None) -> dict[str, Any]:
    (r,) = [x for x in doc["limits"] if x["limit"] == limit and x["region"] == region]
    return r


def test_json_at_four_of_four_lumbar_by_member_id_and_dob(four_lumbar, auth_log):
    doc = limits_json(
        "--history",
        str(four_lumbar),
        "--member-id",
        "1EG4TE5MK73",
        "--dob",
        "1956-04-02",
        "--date",
        "2026-03-02",
        "--auths",
        str(auth_log),
    )
    assert doc["schema"] == "painrcm.limits/1"
    assert doc["date"] == "2026-03-02" and doc["payer"] == "ACME-HEALTH" and doc["policy"] == "commercial"
    lumbar = row(doc, "epidural", "lumbar_sacral")
    assert lumbar == {
        "limit": "epidural",
        "edit": "FRQ001",
        "region": "lumbar_sacral",
        "max": 4,
        "window_months": 12,
        "used": 4,
        "left": 0,
        "session_dates": ["2025-04-10", "2025-07-01", "2026-01-10", "2026-02-07"],
        "unknown_purpose_dates": [],
        "next_payable": "2026-04-10",
    }
    cervical = row(doc, "epidural", "cervical_thoracic")
    assert (cervical["used"], cervical["left"], cervical["next_payable"]) == (1, 3, "2026-03-02")
    # every frequency limit of the payer is listed, per region where the limit is per region
    assert {(x["limit"], x["region"]) for x in doc["limits"]} >= {
        ("facet_therapeutic", "lumbar_sacral"),
        ("facet_diagnostic", "cervical_thoracic"),
        ("rfa", "lumbar_sacral"),
    }
    # authorizations: this member's only, with sessions used (history dates using the number) and left
    auths = {a["auth_number"]: a for a in doc["authorizations"]}
    assert set(auths) == {"PA-7001", "PA-7002"}
    assert auths["PA-7001"] == {
        "auth_number": "PA-7001",
        "status": "approved",
        "codes": ["64483", "62323"],
        "start_date": "2026-01-01",
        "end_date": "2026-06-30",
        "sessions": 3,
        "used": 2,
        "left": 1,
    }
    assert auths["PA-7002"]["sessions"] is None and auths["PA-7002"]["left"] is None
    assert auths["PA-7002"]["status"] == "pending"


def test_member_id_is_matched_ignoring_case_and_spaces(four_lumbar):
    doc = limits_json(
        "--history",
        str(four_lumbar),
        "--member-id",
        " 1eg4 TE5MK73",
        "--dob",
        "1956-04-02",
        "--date",
        "2026-03-02",
    )
    assert row(doc, "epidural", "lumbar_sacral")["used"] == 4
    assert doc["authorizations"] == []  # no --auths


def test_by_chart_id(four_lumbar):
    doc = limits_json("--history", str(four_lumbar), "--chart-id", "p01-000123", "--date", "2026-03-02")
    lumbar = row(doc, "epidural", "lumbar_sacral")
    # the other practice's session (different chart ID) still counts: identity is member ID/name + dob
    assert lumbar["used"] == 4 and "2025-07-01" in lumbar["session_dates"]


def test_next_payable_date_is_payable(four_lumbar):
    doc = limits_json("--history", str(four_lumbar), "--chart-id", "P01-000123", "--date", "2026-04-10")
    lumbar = row(doc, "epidural", "lumbar_sacral")
    assert (lumbar["used"], lumbar["left"], lumbar["next_payable"]) == (3, 1, "2026-04-10")
    doc = limits_json("--history", str(four_lumbar), "--chart-id", "P01-000123", "--date", "2026-04-09")
    assert row(doc, "epidural", "lumbar_sacral")["used"] == 4


def test_next_payable_after_a_leap_day_session_is_payable(tmp_path):
    h = write_history(
        tmp_path / "h",
        esi("H-1", "2024-02-29"),
        esi("H-2", "2024-06-01"),
        esi("H-3", "2024-09-01"),
        esi("H-4", "2024-12-01"),
    )
    doc = limits_json("--history", str(h), "--chart-id", "P01-000123", "--date", "2025-01-15")
    payable = row(doc, "epidural", "lumbar_sacral")["next_payable"]
    later = limits_json("--history", str(h), "--chart-id", "P01-000123", "--date", payable)
    assert row(later, "epidural", "lumbar_sacral")["left"] >= 1, payable


def test_human_output(four_lumbar, auth_log):
    res = runner.invoke(
        app,
        [
            "limits",
            "--history",
            str(four_lumbar),
            "--member-id",
            "1EG4TE5MK73",
            "--dob",
            "1956-04-02",
            "--date",
            "2026-03-02",
            "--auths",
            str(auth_log),
        ],
    )
    assert res.exit_code == 0, res.output
    out = res.stdout
    assert "policy commercial" in out and "ACME-HEALTH" in out
    (lumbar,) = [ln for ln in out.splitlines() if "Epidural injections (FRQ001)" in ln and "lumbar" in ln]
    cells = [c.strip() for c in lumbar.replace("│", "|").split("|")]
    assert cells[2:6] == ["4", "4", "0", "2026-04-10"]
    (pa,) = [ln for ln in out.splitlines() if "PA-7001" in ln]
    cells = [c.strip() for c in pa.replace("│", "|").split("|")]
    assert cells[-3:] == ["3", "2", "1"] and "2026-06-30" in pa


def test_unknown_patient_needs_a_payer(four_lumbar):
    res = runner.invoke(
        app,
        [
            "limits",
            "--history",
            str(four_lumbar),
            "--member-id",
            "NOBODY",
            "--dob",
            "1990-01-01",
            "--date",
            "2026-03-02",
        ],
    )
    assert res.exit_code == 2 and "Traceback" not in res.output
    doc = limits_json(
        "--history",
        str(four_lumbar),
        "--member-id",
        "NOBODY",
        "--dob",
        "1990-01-01",
        "--date",
        "2026-03-02",
        "--payer-id",
        "MEDICARE",
        "--plan",
        "medicare",
    )
    assert doc["policy"] == "medicare"
    assert all(x["used"] == 0 and x["next_payable"] == "2026-03-02" for x in doc["limits"])


@pytest.mark.parametrize(
    "args, named",
    [
        (["--member-id", "1EG4TE5MK73", "--dob", "04/02/1956"], "--dob"),
        (["--member-id", "1EG4TE5MK73", "--dob", "1956-02-30"], "--dob"),
        (["--chart-id", "P01-000123", "--date", "2026-13-01"], "--date"),
        (["--chart-id", "NO-SUCH"], "--chart-id"),
        (["--member-id", "1EG4TE5MK73"], "--dob"),
    ],
)
def test_bad_options_exit_2_with_a_message(four_lumbar, args, named):
    res = runner.invoke(app, ["limits", "--history", str(four_lumbar), *args])
    assert res.exit_code == 2, res.output
    assert named in res.stderr
    assert "Traceback" not in res.output
    assert res.stdout == ""
    assert res.exception is None or isinstance(res.exception, SystemExit)


def test_bad_history_file_exit_2_names_it(four_lumbar):
    (four_lumbar / "zz-bad.json").write_text('{"encounter_id": ', encoding="utf-8")
    res = runner.invoke(app, ["limits", "--history", str(four_lumbar), "--chart-id", "P01-000123", "--json"])
    assert res.exit_code == 2 and "zz-bad.json" in res.stderr and res.stdout == ""


# --- scrub with history and an authorization log, end to end ------------------------------------------------
def test_scrub_with_history_and_auths_json(tmp_path, four_lumbar, auth_log):
    claim = tmp_path / "claim.json"
    claim.write_text(
        json.dumps(example_dict({"payer": COMMERCIAL, "authorization_number": "PA-7001"})), encoding="utf-8"
    )
    res = runner.invoke(
        app, ["scrub", str(claim), "--history", str(four_lumbar), "--auths", str(auth_log), "--json"]
    )
    assert res.exit_code == 1, (res.stdout, res.stderr)
    doc = json.loads(res.stdout)
    assert doc["schema"] == "painrcm.scrub/1" and "input_errors" not in doc
    (c,) = doc["claims"]
    assert c["claim_id"] == "EX-1" and c["status"] == "error"
    found = {f["edit"]: f for f in c["findings"]}
    # the fifth lumbar epidural in twelve months (one at another practice)
    assert found["FRQ001"]["severity"] == "error" and found["FRQ001"]["line"] == 1
    assert "2026-04-10" in found["FRQ001"]["fix"]
    # PA-7001 approved 3 sessions: 2026-01-10 and 2026-02-07 plus this one is 3, still within
    assert "AUT006" not in found and "AUT003" not in found and "AUT002" not in found
    skipped = {n["edit"] for n in c["not_checked"]}
    assert not skipped & {"FRQ001", "FRQ090", "NEC001", "AUT006", "AUT002", "AUT003"}


def test_scrub_sessions_used_up_and_without_history(tmp_path, four_lumbar):
    log = tmp_path / "two.csv"
    log.write_text(
        AUTH_HEADER + "PA-7001,ACME-HEALTH,1EG4TE5MK73,64483 62323,2,2026-01-01,2026-06-30,,approved\n",
        encoding="utf-8",
    )
    claim = tmp_path / "claim.json"
    claim.write_text(
        json.dumps(example_dict({"payer": COMMERCIAL, "authorization_number": "PA-7001"})), encoding="utf-8"
    )
    res = runner.invoke(
        app, ["scrub", str(claim), "--history", str(four_lumbar), "--auths", str(log), "--json"]
    )
    c = json.loads(res.stdout)["claims"][0]
    (aut006,) = [f for f in c["findings"] if f["edit"] == "AUT006"]
    assert "session 3" in aut006["message"]
    # the same claim without --history: the history edits are listed as not checked, never passed silently
    res = runner.invoke(app, ["scrub", str(claim), "--auths", str(log), "--json"])
    c = json.loads(res.stdout)["claims"][0]
    reasons = {n["edit"]: n["reason"] for n in c["not_checked"]}
    assert {"FRQ001", "FRQ090", "NEC001", "NEC005", "AUT006"} <= set(reasons)
    assert "--history" in reasons["AUT006"]
    assert not {f["edit"] for f in c["findings"]} & {"FRQ001", "FRQ090", "AUT006"}


def test_scrub_bad_auth_log_stops_with_exit_2(tmp_path, four_lumbar):
    log = tmp_path / "bad.csv"
    log.write_text(
        AUTH_HEADER + "PA-7001,ACME-HEALTH,1EG4TE5MK73,64483,2,2026-01-01,2026-06-31,,approved\n",
        encoding="utf-8",
    )
    claim = tmp_path / "claim.json"
    claim.write_text(
        json.dumps(example_dict({"payer": COMMERCIAL, "authorization_number": "PA-7001"})), encoding="utf-8"
    )
    res = runner.invoke(
        app, ["scrub", str(claim), "--history", str(four_lumbar), "--auths", str(log), "--json"]
    )
    assert res.exit_code == 2
    assert res.stdout == ""  # nothing half-done: no claims scrubbed against a partial log
    assert "bad.csv" in res.stderr and "record 1, field end_date" in res.stderr
