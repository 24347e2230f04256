"""X12 278 (005010X217): requests written and read back unchanged, payer responses read into the
authorization log, broken and foreign files refused with a located line, and the CLI."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path

import pytest
import typer
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from painrcm.auth_request_model import AuthParty, AuthPerson, AuthRequest, AuthService
from painrcm.cli_auth278 import register
from painrcm.errors import InputError
from painrcm.history.auths import load_auth_log
from painrcm.x12.x278 import read_278, write_278_request

from .ackgen import envelope

runner = CliRunner()
NOW = datetime(2026, 11, 30, 8, 0)


def app() -> typer.Typer:
    a = typer.Typer(pretty_exceptions_enable=False)

    @a.callback()
    def _root() -> None:
        pass

    register(a)
    return a


def request(**over: object) -> AuthRequest:
    base: dict[str, object] = {
        "request_id": "AR-2026-0001",
        "payer": AuthParty(id="SYNPAYER", name="Synthetic Health"),
        "requester": AuthParty(
            npi="1245319599", name="Mesa Spine and Pain", contact_name="Front Desk", phone="8005550100"
        ),
        "servicing_provider": AuthParty(npi="1679576722", last_name="Alvarez", first_name="R"),
        "subscriber": AuthPerson(
            member_id="MEM123", last_name="Doe", first_name="Jane", dob=date(1956, 4, 2), sex="F"
        ),
        "diagnoses": ["M54.16", "M51.16"],
        "event_from": date(2026, 12, 1),
        "event_to": date(2026, 12, 31),
        "services": [
            AuthService(code="64483", modifiers=["RT"], units=1, sessions=1),
            AuthService(
                code="64484",
                modifiers=["RT"],
                units=1,
                from_date=date(2026, 12, 3),
                to_date=date(2026, 12, 3),
            ),
        ],
        "notes": ["Conservative care 8 weeks, PT and NSAIDs", "MRI L4-5 protrusion"],
    }
    base.update(over)
    return AuthRequest.model_validate(base)


# --- requests: round trip -----------------------------------------------------------------------


def test_request_round_trip_is_identity() -> None:
    r = request()
    text = write_278_request(r, now=NOW)
    assert "ST*278*0001*005010X217~" in text and "GS*HI*" in text and "BHT*0007*13*AR-2026-0001" in text
    back = read_278(text, "r.278")
    assert back.requests == [r] and back.responses == [] and back.warnings == []


def test_dependent_urgent_renewal_round_trip() -> None:
    r = request(
        patient=AuthPerson(
            last_name="Doe", first_name="Jim", dob=date(2010, 1, 5), sex="M", relationship="19"
        ),
        urgent=True,
        certification_type="renewal",
        place_of_service="24",
        servicing_provider=None,
        event_from=date(2026, 12, 4),
        event_to=date(2026, 12, 4),
        notes=[],
    )
    text = write_278_request([r, request(request_id="AR-2")], now=NOW, control_number=77)
    assert "HL*4*3*23*1~" in text and "UM*HS*R*2*24:B**U~" in text
    back = read_278(text, "r.278")
    assert back.requests == [r, request(request_id="AR-2")]


_code = st.sampled_from(["64483", "64484", "64493", "64494", "64635", "62323", "27096", "20552", "J3301"])


@settings(max_examples=40, deadline=None)
@given(
    rid=st.text(alphabet="ABCDEFGHJK0123456789-. /", min_size=1, max_size=30).filter(
        lambda s: s.strip() == s and s.strip()
    ),
    codes=st.lists(
        st.tuples(_code, st.integers(1, 4), st.none() | st.integers(1, 6)), min_size=1, max_size=5
    ),
    start=st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 12, 1)),
    days=st.integers(0, 180),
    urgent=st.booleans(),
)
def test_request_round_trip_property(
    rid: str, codes: Sequence[tuple[str, int, int | None]], start: date, days: int, urgent: bool
) -> None:
    from datetime import timedelta

    r = request(
        request_id=rid,
        urgent=urgent,
        event_from=start,
        event_to=start + timedelta(days=days),
        services=[AuthService(code=c, units=u, sessions=s) for c, u, s in codes],
    )
    assert read_278(write_278_request(r, now=NOW), "p.278").requests == [r]


# --- responses ----------------------------------------------------------------------------------


def response(events: Sequence[Sequence[str]], *, bht_date: str = "20261130") -> str:
    body = [
        f"BHT*0007*11*RESP0001*{bht_date}*0800",
        "HL*1**20*1",
        "NM1*X3*2*SYNTHETIC HEALTH*****PI*SYNPAYER",
        "HL*2*1*21*1",
        "NM1*1P*2*MESA SPINE AND PAIN*****XX*1245319599",
        "HL*3*2*22*1",
        "NM1*IL*1*DOE*JANE****MI*MEM123",
        "DMG*D8*19560402*F",
    ]
    hl = 3
    for ev in events:
        hl += 1
        ev_hl = hl
        for seg in ev:
            if seg == "SS":
                hl += 1
                body.append(f"HL*{hl}*{ev_hl}*SS*0")
            elif seg == "EV":
                body.append(f"HL*{hl}*3*EV*1")
            else:
                body.append(seg)
    return envelope("HI", "005010X217", "278", body, sender="SYNPAYER", receiver="PAINRCM", control=278)


CERTIFIED = [
    "EV",
    "TRN*2*AR-2026-0001*9PAINRCM00",
    "TRN*1*PAYER-TRACE-1*1999999999",
    "UM*HS*I*2*11:B",
    "HCR*A1*CERT-7788",
    "DTP*007*RD8*20261201-20270228",
    "HI*ABK:M5416",
    "NM1*SJ*1*ALVAREZ*R****XX*1679576722",
    "SS",
    "UM*HS*I*2",
    "SV1*HC:64483:RT*0*UN*1",
    "HSD*VS*2",
    "SS",
    "UM*HS*I*2",
    "SV1*HC:64484:RT*0*UN*1",
]


def test_certified_event_reads_into_one_log_row() -> None:
    (resp,) = read_278(response([CERTIFIED]), "c.278").responses
    assert resp.request_id == "AR-2026-0001" and resp.payer_trace == "PAYER-TRACE-1"
    (d,) = resp.decisions
    assert (d.decision, d.certification_number, d.codes, d.sessions) == (
        "certified",
        "CERT-7788",
        ["64483", "64484"],
        2,
    )
    assert (d.start_date, d.end_date, d.servicing_npi) == (date(2026, 12, 1), date(2027, 2, 28), "1679576722")
    assert resp.authorizations() == [
        {
            "auth_number": "CERT-7788",
            "payer_id": "SYNPAYER",
            "member_id": "MEM123",
            "codes": "64483 64484",
            "sessions": "2",
            "start_date": "2026-12-01",
            "end_date": "2027-02-28",
            "rendering_npi": "1679576722",
            "status": "approved",
        }
    ]


def test_service_level_decisions_modified_denied_pended() -> None:
    ev = [
        "EV",
        "TRN*2*AR-9*9PAINRCM00",
        "UM*HS*I*2*11:B",
        "DTP*AAH*RD8*20261201-20261231",
        "SS",
        "UM*HS*I*2",
        "HCR*A6*CERT-1",
        "DTP*472*D8*20261210",
        "SV1*HC:64635:LT*0*UN*1",
        "HSD*VS*1",
        "SS",
        "UM*HS*I*2",
        "HCR*A3*CERT-2*35",
        "SV1*HC:64636:LT*0*UN*1",
        "SS",
        "UM*HS*I*2",
        "HCR*A4",
        "SV1*HC:27096*0*UN*1",
    ]
    (resp,) = read_278(response([ev]), "s.278").responses
    modified, denied, pended = resp.decisions
    assert (modified.decision, modified.start_date, modified.end_date) == (
        "modified",
        date(2026, 12, 10),
        date(2026, 12, 10),
    )
    assert (denied.decision, denied.reason_code, denied.start_date) == ("denied", "35", date(2026, 12, 1))
    assert pended.certification_number is None
    rows = resp.authorizations()
    assert [(r["auth_number"], r["codes"], r["status"]) for r in rows] == [
        ("CERT-1", "64635", "approved"),
        ("CERT-2", "64636", "denied"),
        ("AR-9", "27096", "pending"),  # no number yet: our request ID until the payer gives one
    ]


def test_aaa_rejection_without_decision() -> None:
    ev = ["EV", "TRN*2*AR-5*9PAINRCM00", "AAA*N**72*C", "UM*HS*I*2"]
    (resp,) = read_278(response([ev]), "a.278").responses
    assert resp.decisions == [] and resp.rejections == ["72"] and resp.authorizations() == []


@pytest.mark.parametrize(
    ("old", "new", "place", "expected"),
    [
        ("HCR*A1*CERT-7788", "HCR*ZZ*CERT-7788", "(HCR)", "HCR01 action code"),
        ("DTP*007*RD8*20261201-20270228", "DTP*007*RD8*20261301-20270228", "(DTP)", "date CCYYMMDD"),
        ("DTP*007*RD8*20261201-20270228", "DTP*007*RD8*20270228-20261201", "(DTP)", "end is not before"),
        ("HSD*VS*2", "HSD*VS*1_0", "(HSD)", "HSD02"),
        ("SV1*HC:64483:RT*0*UN*1", "SV1*HC*0*UN*1", "(SV1)", "SV101"),
        ("HCR*A1*CERT-7788", "UM*HS*I*2", "(HL)", "an HCR decision"),
        ("BHT*0007*11", "BHT*0007*99", "(BHT)", "BHT02"),
    ],
)
def test_broken_responses_refused_with_place(old: str, new: str, place: str, expected: str) -> None:
    text = response([CERTIFIED]).replace(old, new, 1)
    with pytest.raises(InputError) as e:
        read_278(text, "bad.278")
    msg = e.value.render()
    assert msg.startswith("bad.278: segment ") and place in msg and expected in msg and "\n" not in msg


def test_other_transactions_refused_naming_them() -> None:
    from .ackgen import SetResult, make_999

    with pytest.raises(InputError, match=r"segment 3 \(ST\): a 278 .*this is a 999"):
        read_278(make_999("1", [SetResult("0001")]), "x.999")
    text = response([CERTIFIED]).replace("005010X217", "004010X094A1")
    with pytest.raises(InputError, match="4010-era 278"):
        read_278(text, "old.278")
    with pytest.raises(InputError, match="must start with ISA"):
        read_278("hello", "x.278")


# --- CLI ----------------------------------------------------------------------------------------


def test_cli_import_278_csv_loads_as_auth_log(tmp_path: Path) -> None:
    f = tmp_path / "resp.278"
    f.write_text(response([CERTIFIED]), encoding="utf-8")
    r = runner.invoke(app(), ["auth", "import-278", str(f)])
    assert r.exit_code == 0, r.output
    assert (
        r.stdout.splitlines()[0]
        == "auth_number,payer_id,member_id,codes,sessions,start_date,end_date,rendering_npi,status"
    )
    assert "CERT-7788" in r.stdout and "certified CERT-7788" in r.stderr
    out = tmp_path / "auths.csv"
    r = runner.invoke(app(), ["auth", "import-278", str(f), "--out", str(out)])
    assert r.exit_code == 0
    (a,) = load_auth_log(out).all()
    assert (a.auth_number, a.codes, a.sessions, a.status) == ("CERT-7788", ("64483", "64484"), 2, "approved")
    r = runner.invoke(app(), ["auth", "import-278", str(f), "--json"])
    assert json.loads(r.stdout)[0]["auth_number"] == "CERT-7788"


def test_cli_refuses_requests_and_broken_files(tmp_path: Path) -> None:
    req = tmp_path / "req.278"
    req.write_text(write_278_request(request(), now=NOW), encoding="utf-8")
    r = runner.invoke(app(), ["auth", "import-278", str(req)])
    assert r.exit_code == 2 and "only requests" in r.stderr and r.stdout == ""
    bad = tmp_path / "bad.278"
    bad.write_text(response([CERTIFIED]).replace("HCR*A1", "HCR*Q"), encoding="utf-8")
    r = runner.invoke(app(), ["auth", "import-278", str(bad)])
    assert r.exit_code == 2 and "(HCR)" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_cli_write_278(tmp_path: Path) -> None:
    src = tmp_path / "req.json"
    src.write_text(request().model_dump_json(), encoding="utf-8")
    out = tmp_path / "req.278"
    r = runner.invoke(app(), ["auth", "write-278", str(src), "--out", str(out), "--control-number", "12"])
    assert r.exit_code == 0, r.output
    assert read_278(out.read_text(), str(out)).requests == [request()]
    broken = json.loads(request().model_dump_json())
    broken["services"][0]["code"] = "6448"
    src.write_text(json.dumps(broken), encoding="utf-8")
    r = runner.invoke(app(), ["auth", "write-278", str(src), "--out", str(out)])
    assert r.exit_code == 2 and "$.services[0].code" in r.stderr


def test_authorization_number_from_ref_bb_when_hcr02_is_empty() -> None:
    ev = [s if s != "HCR*A1*CERT-7788" else "HCR*A1" for s in CERTIFIED]
    ev.insert(ev.index("HCR*A1") + 1, "REF*BB*AUTH-55")
    (resp,) = read_278(response([ev]), "bb.278").responses
    assert resp.decisions[0].certification_number == "AUTH-55"


def test_service_decisions_under_one_number_make_one_log_row() -> None:
    ev = [
        "EV",
        "TRN*2*AR-7*9PAINRCM00",
        "UM*HS*I*2*11:B",
        "SS",
        "UM*HS*I*2",
        "HCR*A1*CERT-9",
        "DTP*007*RD8*20261201-20261231",
        "SV1*HC:64493:LT*0*UN*1",
        "HSD*VS*1",
        "SS",
        "UM*HS*I*2",
        "HCR*A1*CERT-9",
        "DTP*007*RD8*20261201-20270115",
        "SV1*HC:64494:LT*0*UN*1",
        "HSD*VS*1",
    ]
    (resp,) = read_278(response([ev]), "m.278").responses
    assert len(resp.decisions) == 2
    (row,) = resp.authorizations()
    assert (row["codes"], row["sessions"], row["start_date"], row["end_date"]) == (
        "64493 64494",
        "1",
        "2026-12-01",
        "2027-01-15",
    )


def test_request_id_keeps_inner_spaces_and_refuses_separators() -> None:
    r = request(request_id="AR  7/B")
    assert read_278(write_278_request(r, now=NOW), "s.278").requests == [r]
    with pytest.raises(ValueError, match="request_id"):
        request(request_id="AR*7")
