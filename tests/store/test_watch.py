"""The frequency watch lists exactly the patients a full computation over every patient would list,
though it computes standings only for the candidates its SQL prefilter finds (store/watch.py)."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select

from painrcm import synth
from painrcm.scrub import Engine
from painrcm.store import models as m
from painrcm.store import queries_work as qw
from painrcm.store.db import Database
from painrcm.store.imports import import_bytes
from painrcm.store.watch import candidates


def test_frequency_watch_equals_the_full_computation(db: Database, engine: Engine) -> None:
    patients = synth.make_patients(60, 21)
    start = synth.DEFAULT_START + timedelta(days=1)
    past = synth.generate_history(900, 22, patients=patients, end=start, engine=engine)  # billed lines
    docs_only = synth.generate_history_dicts(
        10, 23, patients=patients[:5], end=start, policies=engine.policies
    )
    claims = synth.generate_encounters(60, 24, patients=patients, start=start, days=60, engine=engine)
    with db.session() as s:
        for p in synth.PRACTICES:
            s.add(m.Practice(id=p["id"], name=p["name"], npi=p["npi"], kind=p["kind"], state=p["state"]))
        s.add(m.User(email="a@x.test", name="A", password_hash="x", role="admin"))
    dump = [e.model_dump(mode="json", by_alias=True, exclude_none=True) for e in past]
    for name, data, status in (
        ("past.json", dump, "history"),
        ("past-notes.json", docs_only, "history"),
        (
            "claims.json",
            [e.model_dump(mode="json", by_alias=True, exclude_none=True) for e in claims],
            "open",
        ),
    ):
        with db.session() as s:
            import_bytes(
                s, engine, kind="encounters", data=json.dumps(data).encode(), file_name=name,
                practice_id=None, user_id=None, work_status=status, scrub=False,
            )  # fmt: skip
    on = start + timedelta(days=60)
    with db.session() as s:
        user = s.scalars(select(m.User)).one()
        got = [r.to_dict() for r in qw.frequency_watch(s, user, engine, on=on, audit=False)]
        latest = qw._latest_encounters(s, None, on)
        want = []
        for pid, enc in latest.items():
            person = s.get(m.Person, pid)
            assert person is not None
            want += qw.person_standing(
                s, engine, person, qw._payer_model(s, enc.payer_id), on, enc.practice_id
            )
        want.sort(
            key=lambda r: (r.left, r.next_payable, r.practice_id, r.patient or "", r.limit_id, r.region or "")
        )
        assert got == [r.to_dict() for r in want]
        assert got, "some patients are at or near a limit"
        hot = candidates(s, engine, latest, on)
        assert len(hot) < len(latest)  # the prefilter left most patients out
