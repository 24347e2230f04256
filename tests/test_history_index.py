"""The compact history index answers window questions exactly as a plain scan of every earlier
service would: same services, same fields, oldest first, across identity keys (member ID + birth
date, or name + birth date, RULES.md section 6), with the claim's own encounter excluded."""

from __future__ import annotations

import random
from datetime import date, timedelta

from painrcm import synth
from painrcm.history import History, Service, identity_keys, services_of
from painrcm.model import Encounter, Patient
from tests.support import ENGINE

ENG = ENGINE.engine


def _history() -> tuple[History, list[Encounter]]:
    patients = synth.make_patients(120, 7)
    encs = list(synth.iter_history(3000, 8, patients=patients, engine=ENG))
    rng = random.Random(3)
    # the same people recorded differently: a new member ID (name + DOB still match), or a new name
    for enc in rng.sample(encs, 300):
        if rng.random() < 0.5:
            enc.patient = enc.patient.model_copy(update={"member_id": "NEW" + str(rng.randrange(50))})
        else:
            enc.patient = enc.patient.model_copy(update={"last_name": "Other", "first_name": "Name"})
    return History.from_encounters(encs, ENG.reference), encs


def _scan(
    encs: list[Encounter], p: Patient, start: date | None, end: date | None, exclude: str | None
) -> list[Service]:
    keys = set(identity_keys(p))
    out = []
    for enc in encs:
        if enc.encounter_id == exclude or not keys & set(identity_keys(enc.patient)):
            continue
        out += [
            s
            for s in services_of(enc, ENG.reference)
            if (start is None or s.date > start) and (end is None or s.date <= end)
        ]
    return out


def test_window_questions_match_a_full_scan() -> None:
    h, encs = _history()
    assert len(h) == sum(len(services_of(e, ENG.reference)) for e in encs)
    rng = random.Random(5)
    asked = 0
    for enc in rng.sample(encs, 250):
        p = enc.patient
        end = enc.date_of_service + timedelta(days=rng.randint(-30, 30))
        start = rng.choice((None, end - timedelta(days=rng.choice((30, 182, 365, 730)))))
        exclude = rng.choice((None, enc.encounter_id))
        want = _scan(encs, p, start, end if start is not None else None, exclude)
        got = list(
            h.services(p, start=start, end=end if start is not None else None, exclude_encounter=exclude)
        )
        assert [s.date for s in got] == sorted(s.date for s in got)
        key = lambda s: (s.date, s.encounter_id, s.family, s.region or "")
        assert sorted(got, key=key) == sorted(want, key=key)
        asked += len(got)
    assert asked > 250  # the questions found services


def test_chart_and_latest_payer() -> None:
    h, encs = _history()
    for enc in encs[::97]:
        keys = set(identity_keys(enc.patient))
        mine = [e for e in encs if keys & set(identity_keys(e.patient))]
        latest = h.latest_payer(enc.patient)
        assert latest is not None
        assert latest.id in {
            e.payer.id for e in mine if e.date_of_service == max(m.date_of_service for m in mine)
        }
    assert h.latest_payer(Patient(member_id="NOBODY", dob=date(1950, 1, 1))) is None
    chart = next(e.patient for e in encs if e.patient.id)
    assert chart.id is not None
    found = h.patient_by_chart(" " + chart.id.lower() + " ")
    assert found is not None and found.dob == chart.dob and found.member_id is not None
