"""Workspace import of 278 responses (kind x12_278): decisions land in the authorization tracker."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from painrcm.errors import InputError
from painrcm.scrub import Engine
from painrcm.store import models as m
from painrcm.store.db import Database
from painrcm.store.imports import import_bytes
from painrcm.x12.x278 import write_278_request
from tests.x12.test_x278 import CERTIFIED, NOW, request, response

pytestmark = pytest.mark.usefixtures("practices")


def _import(db: Database, engine: Engine, text: str, name: str, practice: str | None = None):  # type: ignore[no-untyped-def]
    with db.session() as s:
        return import_bytes(
            s, engine, kind="x12_278", data=text.encode(), file_name=name, practice_id=practice, user_id=None
        )


def _auths(db: Database) -> list[tuple[str, str, list[str], int | None, str]]:
    with db.session() as s:
        return [
            (a.practice_id, a.auth_number, list(a.codes), a.sessions, a.status)
            for a in s.scalars(select(m.Authorization).order_by(m.Authorization.id))
        ]


def test_certified_response_lands_in_the_tracker_of_the_requesting_practice(
    db: Database, engine: Engine
) -> None:
    res = _import(db, engine, response([CERTIFIED]), "resp.278")
    assert (res.practice_id, res.records, res.added) == ("P01", 1, 1)
    assert _auths(db) == [("P01", "CERT-7788", ["64483", "64484"], 2, "approved")]
    assert _import(db, engine, response([CERTIFIED]), "again.278").duplicate
    # the payer's later answer under the same number updates the record
    denied = [s.replace("HCR*A1*CERT-7788", "HCR*A3*CERT-7788*35") for s in CERTIFIED]
    res = _import(db, engine, response([denied]), "later.278")
    assert res.updated == 1 and _auths(db)[0][-1] == "denied"


def test_requests_and_unplaceable_responses_store_nothing(db: Database, engine: Engine) -> None:
    with pytest.raises(InputError, match="only requests"):
        _import(db, engine, write_278_request(request(), now=NOW), "req.278")
    other = response([CERTIFIED]).replace("XX*1245319599", "XX*1999999984")
    with pytest.raises(InputError, match="choose one when importing"):
        _import(db, engine, other, "other.278")
    assert _import(db, engine, other, "other.278", practice="P01").added == 1
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(m.Authorization)) == 1


def test_a_278_response_moves_the_request_it_answers(db: Database, engine: Engine) -> None:
    from datetime import date

    with db.session() as s:
        s.add(
            m.AuthRequest(
                practice_id="P01",
                request_id="AR-2026-0001",  # the TRN02 the payer echoes
                payer_id="SYNPAYER",
                member_id="MEM123",
                planned_date=date(2026, 12, 10),
                codes=["64483", "64484"],
                auth_codes=["64483", "64484"],
                families=["epidural_transforaminal"],
                status="requested",
                ready=True,
                waiting_for=["the payer's answer"],
                evidence=[],
                document={},
                source="x12_278",
                response_due=date(2026, 12, 15),
            )
        )
    _import(db, engine, response([CERTIFIED]), "resp.278")
    with db.session() as s:
        (req,) = s.scalars(select(m.AuthRequest))
        auth = s.get(m.Authorization, req.authorization_id)
        assert (req.status, req.auth_number, req.waiting_for) == ("approved", "CERT-7788", [])
        assert auth is not None and (auth.sessions, auth.status) == (2, "approved")
        assert (auth.start_date, auth.end_date) == (date(2026, 12, 1), date(2027, 2, 28))
