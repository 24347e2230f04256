"""The paged authorization tracker and frequency watch (issue 13) on both databases: sessions used
counted in SQL equal what the per-claim rule in Python finds (the oracle below reads the claim
columns, as `auth_usage.usage` did before the uses were stored); the state rule in SQL equals its
statement in Python; the pages put together are the whole list in order and the counts are those
of the whole list (the authorization and claims queues likewise, against their rules in Python);
the watch's stored standings equal the per-person computation for every scope, follow writes and
new dates, and are dropped when a payer's plan changes."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from painrcm.scrub import Engine
from painrcm.store import auth_usage, service_rows
from painrcm.store import models as m
from painrcm.store import queries_work as qw
from painrcm.store.db import Database
from painrcm.store.demo_seed import seed_demo
from painrcm.store.queues import core

TODAY = date(2026, 7, 15)


@pytest.fixture
def demo(db: Database, engine: Engine) -> Iterator[Database]:
    seed_demo(db, engine, today=TODAY, seed=7)
    with db.session() as s:
        _number_lines(s)
    yield db


def _number_lines(s: Any) -> None:
    """Line-level numbers written differently (spaces, case) from their authorizations, on a few claims
    of patients with authorizations; and a claim-level number on a claim whose lines all carry their
    own (it counts on the claim's date)."""
    auths = list(s.scalars(select(m.Authorization).where(m.Authorization.person_id.is_not(None))))
    assert auths
    changed = []
    for k, a in enumerate(auths[:6]):
        enc = s.scalars(
            select(m.Encounter)
            .where(m.Encounter.person_id == a.person_id, m.Encounter.work_status != "history")
            .order_by(m.Encounter.id)
        ).first()
        if enc is None or not enc.document.get("lines"):
            continue
        doc = dict(enc.document)
        lines = [dict(x) for x in doc["lines"]]
        spaced = " ".join(a.auth_number.lower())
        lines[0]["authorization_number"] = spaced
        if k % 2:
            doc["authorization_number"] = "other-" + a.auth_number
            for x in lines:
                x["authorization_number"] = x.get("authorization_number") or spaced
        doc["lines"] = lines
        enc.document = doc
        for ln in enc.lines:
            ln.authorization_number = lines[ln.line_no - 1].get("authorization_number")
        changed.append(enc.id)
    assert changed
    s.flush()
    service_rows.refresh_services(s, changed)


# --- the oracle: the rule as the tracker applied it per request before the uses were stored ----------
def _oracle_usage(s: Any, auths: list[Any], on: date) -> dict[int, set[date]]:
    norm = auth_usage.norm
    persons = {pid: norm(mid) for pid, mid in s.execute(select(m.Person.id, m.Person.member_id))}
    claims: dict[int, dict[str, Any]] = {}
    for pk, pid, day, number in s.execute(
        select(m.Encounter.id, m.Encounter.person_id, m.Encounter.date_of_service, m.Encounter.document)
    ):
        claims[pk] = {"person": pid, "date": day, "number": norm((number or {}).get("authorization_number"))}
        claims[pk]["lines"] = []
    for ln in s.scalars(select(m.ClaimLine).order_by(m.ClaimLine.encounter_pk, m.ClaimLine.line_no)):
        claims[ln.encounter_pk]["lines"].append(ln)
    out: dict[int, set[date]] = {a.id: set() for a in auths}
    for c in claims.values():
        found: dict[str, list[Any]] = {c["number"]: []} if c["number"] else {}
        for ln in c["lines"]:
            n = norm(ln.authorization_number) or c["number"]
            if n:
                found.setdefault(n, []).append(ln)
        for a in auths:
            lines = found.get(norm(a.auth_number))
            if lines is None:
                continue
            member = norm(a.member_id)
            if not (c["person"] == a.person_id or (member and persons.get(c["person"]) == member)):
                continue
            day = min([ln.date_of_service or c["date"] for ln in lines] or [c["date"]])
            if day <= on:
                out[a.id].add(day)
    return out


def _oracle_state(status: str, end: date, sessions: int | None, used: int, on: date, warn: int) -> str:
    status = status.strip().lower()
    if status in ("denied", "pending"):
        return status
    if end < on:
        return "expired"
    if sessions is not None and used >= sessions:
        return "used_up"
    return "expiring" if (end - on).days <= warn else "active"


def _admin(s: Any) -> m.User:
    user = s.scalars(select(m.User).where(m.User.role == "admin")).first()
    assert user is not None
    return user


def test_tracker_counts_sessions_and_states_like_the_rule(demo: Database, engine: Engine) -> None:
    with demo.session() as s:
        user = _admin(s)
        auths = list(s.scalars(select(m.Authorization)))
        for on in (TODAY, TODAY - timedelta(days=40), TODAY + timedelta(days=30)):
            want = _oracle_usage(s, auths, on)
            got = {k: {u.date_of_service for u in v} for k, v in auth_usage.usage(s, auths, on).items()}
            assert got == want
            rows = qw.list_authorizations(s, user, engine.policies, on=on)
            assert {r.id: r.used for r in rows} == {k: len(v) for k, v in want.items()}
            cache: dict[str, int] = {}
            for r in rows:
                warn = qw.warning_days(s, engine.policies, r.payer_id, cache)
                assert r.state == _oracle_state(r.status, r.end_date, r.sessions, r.used, on, warn), r
        assert any(r.used for r in rows) and any(c["level"] == "line" for r in rows for c in r.claims)


def test_tracker_pages_are_the_whole_list(demo: Database, engine: Engine, monkeypatch: Any) -> None:
    monkeypatch.setattr(qw, "PER_PAGE", 7)
    with demo.session() as s:
        user = _admin(s)
        for sort, order, state in (
            ("urgency", "asc", ""),
            ("payer", "desc", ""),
            ("end_date", "asc", "expired"),
        ):
            f = qw.AuthFilters(on=TODAY.isoformat(), sort=sort, order=order, state=state)
            whole = list(qw.authorization_rows(s, user, engine.policies, f))
            first = qw.authorization_page(s, user, engine.policies, f, audit=False)
            assert first.total == len(whole) and first.pages == -(-len(whole) // 7)
            paged: list[Any] = []
            for p in range(1, first.pages + 1):
                paged += qw.authorization_page(
                    s, user, engine.policies, qw.AuthFilters(**{**f.__dict__, "page": p}), audit=False
                ).rows
            assert [r.to_dict() for r in paged] == [r.to_dict() for r in whole]
            assert all(state in ("", r.state) for r in whole)
        counted = Counter(r.state for r in qw.list_authorizations(s, user, engine.policies, on=TODAY))
        page = qw.authorization_page(
            s, user, engine.policies, qw.AuthFilters(on=TODAY.isoformat()), audit=False
        )
        assert page.counts == {st: counted.get(st, 0) for st in qw.AUTH_STATES}
        last = qw.authorization_page(
            s, user, engine.policies, qw.AuthFilters(on=TODAY.isoformat(), page=999), audit=False
        )
        assert last.page == page.pages and last.rows


def _full_watch(s: Any, engine: Engine, on: date, allowed: set[str] | None) -> list[dict[str, Any]]:
    want = []
    for pid, enc in qw._latest_encounters(s, allowed, on).items():
        person = s.get(m.Person, pid)
        want += qw.person_standing(s, engine, person, qw._payer_model(s, enc.payer_id), on, enc.practice_id)
    want.sort(
        key=lambda r: (
            r.left,
            r.next_payable,
            r.practice_id,
            r.patient or "",
            r.limit_id,
            r.region or "",
            r.person_id,
        )
    )
    return [r.to_dict() for r in want]


def test_watch_pages_scopes_and_staleness(demo: Database, engine: Engine, monkeypatch: Any) -> None:
    monkeypatch.setattr(qw, "PER_PAGE", 5)
    with demo.session() as s:
        user = _admin(s)
        practices = sorted(s.scalars(select(m.Practice.id)))
        for on in (TODAY, TODAY + timedelta(days=120)):
            for practice in ("", *practices):
                allowed = {practice} if practice else None
                want = _full_watch(s, engine, on, allowed)
                f = qw.WatchFilters(on=on.isoformat(), practice=practice)
                first = qw.frequency_page(s, user, engine, f, audit=False)
                assert first.total == len(want) and first.patients == len({r["person_id"] for r in want})
                assert first.states == {st: sum(r["state"] == st for r in want) for st in qw.WATCH_STATES}
                paged: list[dict[str, Any]] = []
                for p in range(1, first.pages + 1):
                    page = qw.frequency_page(
                        s,
                        user,
                        engine,
                        qw.WatchFilters(on=on.isoformat(), practice=practice, page=p),
                        audit=False,
                    )
                    paged += [r.to_dict() for r in page.rows]
                assert paged == want, (on, practice)
        assert want, "someone is near a limit"
        by_patient = qw.frequency_page(
            s,
            user,
            engine,
            qw.WatchFilters(on=TODAY.isoformat(), sort="patient", state="at_limit"),
            audit=False,
        )
        names = [r.patient or "" for r in by_patient.rows]
        assert names == sorted(names) and all(r.state == "at_limit" for r in by_patient.rows)
        # a payer's plan changes: the snapshot computed under the old plans is dropped and recomputed
        snap = s.get(m.StandingSnapshot, TODAY)
        assert snap is not None
        rules = snap.rules
        payer = s.scalars(select(m.Payer)).first()
        assert payer is not None
        payer.plan = "medicare" if payer.plan != "medicare" else "commercial"
        s.flush()
        assert [
            r.to_dict() for r in qw.frequency_watch(s, user, engine, on=TODAY, audit=False)
        ] == _full_watch(s, engine, TODAY, None)
        assert s.get(m.StandingSnapshot, TODAY).rules != rules
        # at most KEEP snapshots are kept
        for k in range(4):
            qw.frequency_page(
                s, user, engine, qw.WatchFilters(on=(TODAY + timedelta(days=k + 1)).isoformat()), audit=False
            )
        assert len(list(s.scalars(select(m.StandingSnapshot.on)))) <= 3


def test_a_snapshot_made_meanwhile_is_used_not_made_twice(demo: Database, engine: Engine) -> None:
    """Two requests for a new date: the one that finds the snapshot made (its row inserted by the
    other) reads it instead of computing it again (no duplicate rows, no error)."""
    from painrcm.store import standings

    on = TODAY + timedelta(days=3)
    with demo.session() as s:
        standings.ensure(s, engine, on)
        n = len(list(s.scalars(select(m.StandingRow.id).where(m.StandingRow.on == on))))
    with demo.session() as s:
        assert not standings._create(s, on, standings.rules_of(s, engine))
        standings.ensure(s, engine, on)
        assert len(list(s.scalars(select(m.StandingRow.id).where(m.StandingRow.on == on)))) == n


# --- the work queues' rule as it was stated in Python (the oracles' filter and sort) ---------------
def _matches(r: Any, f: Any, user: m.User) -> bool:
    if f.edit and f.edit not in r.edits:
        return False
    if f.reason and not core._reason_matches(r.reasons, f.reason):
        return False
    if f.status == "all":
        pass
    elif f.status:
        if r.status != f.status:
            return False
    elif r.status in core.DONE:  # by default, only what is left to do
        return False
    if f.assignee == "me" and r.assignee_id != user.id:
        return False
    if f.assignee == "none" and r.assignee_id is not None:
        return False
    if f.assignee.isdigit() and r.assignee_id != int(f.assignee):
        return False
    if f.age:
        lo, hi = core.AGES[f.age]
        if r.age_days is None or not lo <= r.age_days <= hi:
            return False
    return not (f.due and r.due_state != f.due)


def _sort_key(sort: str) -> Any:
    def key(r: Any) -> tuple[Any, ...]:
        value: Any = {
            "due": r.due_date,
            "age": r.age_days,
            "dos": r.date_of_service,
            "amount": r.amount,
            "practice": r.practice_id,
            "patient": r.patient,
            "payer": r.payer,
            "status": r.status,
            "assignee": r.assignee,
        }[sort]
        return (value is None, value if value is not None else 0, r.id)

    return key


# --- the authorization queue (issue 13): filtered, counted, sorted and paged in SQL ------------------
def _oracle_queue(s: Any, user: m.User, policies: Any, f: Any) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """The queue as it was worked out in Python before it moved into SQL: every authorization's
    row, the work items, the filters, the sort (rows without a value last) and the due counts."""
    from painrcm.store.queues import core

    rows = [
        core._auth_queue_row(a, TODAY)
        for a in qw.list_authorizations(
            s, user, policies, practice=f.practice or None, on=TODAY, claims=False
        )
    ]
    rows = [r for r in rows if (not f.payer or f.payer.upper() in (r.payer or "").upper())]
    rows = [r for r in rows if not f.code or f.code in r.codes]
    core._with_work_items(s, "authorizations", rows)
    rows = [r for r in rows if _matches(r, f, user)]
    rows.sort(key=_sort_key(f.sort), reverse=f.order == "desc")
    if f.order == "desc":
        rows.sort(key=lambda r: _sort_key(f.sort)(r)[0])
    counts = {k: sum(1 for r in rows if r.due_state == k) for k in ("overdue", "soon")}
    return [r.to_dict() for r in rows], counts


def test_authorization_queue_in_sql_equals_the_rule_in_python(
    demo: Database, engine: Engine, monkeypatch: Any
) -> None:
    from painrcm.store import services
    from painrcm.store.queues import core

    monkeypatch.setattr(services, "today", lambda: TODAY)
    monkeypatch.setattr(core, "PER_PAGE", 5)
    with demo.session() as s:
        user = _admin(s)
        auths = list(s.scalars(select(m.Authorization).order_by(m.Authorization.id)))
        assert len(auths) >= 8
        others = [u for u in s.scalars(select(m.User).order_by(m.User.id)) if u.id != user.id]
        # work on some of them: assigned to each user, statuses open and done, one status left empty
        for k, a in enumerate(auths[:8]):
            s.add(
                m.WorkItem(
                    object_type="authorization",
                    object_id=a.id,
                    practice_id=a.practice_id,
                    assignee_id=[user.id, None, *(u.id for u in others[:1])][k % 3],
                    status=["requested", "closed", None, "", "renewed", None, "open", "closed"][k],
                )
            )
        s.flush()
        code = next(c for a in auths for c in (a.codes or []))
        payer = auths[0].payer_id[:3].lower()
        practice = auths[-1].practice_id
        cases: list[dict[str, Any]] = [{}]
        cases += [{"sort": k, "order": o} for k in core.SORTS for o in ("asc", "desc")]
        cases += [
            {"status": "all"}, {"status": "closed"}, {"status": "requested", "sort": "patient"},
            {"assignee": "me"}, {"assignee": "none", "sort": "assignee", "order": "desc"},
            {"assignee": str(others[0].id) if others else "9999"}, {"code": code}, {"code": "NOPE%"},
            {"payer": payer, "status": "all"}, {"practice": practice, "sort": "age"},
            {"due": "overdue", "status": "all"}, {"due": "soon"}, {"due": "later", "sort": "payer"},
            {"age": "0-30"}, {"age": "181+", "status": "all"}, {"age": "31-60", "order": "desc"},
            {"reason": "EXPIRED"}, {"edit": "AUT001"},
        ]  # fmt: skip
        for params in cases:
            f = core.parse_filters("authorizations", params)
            want, counts = _oracle_queue(s, user, engine.policies, f)
            whole = core.list_queue(s, user, "authorizations", f, engine.policies, all_rows=True, audit=False)
            assert [r.to_dict() for r in whole.rows] == want, params
            assert (whole.total, whole.counts) == (len(want), counts), params
            first = core.list_queue(s, user, "authorizations", f, engine.policies, audit=False)
            paged: list[dict[str, Any]] = []
            for p in range(1, first.pages + 1):
                page = core.list_queue(
                    s, user, "authorizations", replace(f, page=p), engine.policies, audit=False
                )
                assert (page.page, page.total, page.counts) == (p, len(want), counts), params
                paged += [r.to_dict() for r in page.rows]
            assert paged == want, params
            # asked past the last page: the last page, with the same total and counts
            past = core.list_queue(
                s, user, "authorizations", replace(f, page=first.pages + 2), engine.policies, audit=False
            )
            assert (past.page, past.total, past.counts) == (first.pages, len(want), counts), params
            assert [r.to_dict() for r in past.rows] == want[(first.pages - 1) * core.PER_PAGE :], params
        assert any(
            _oracle_queue(s, user, engine.policies, core.parse_filters("authorizations", c))[0]
            for c in cases[1:]
        )


# --- the claims queue (issue 13): filtered, counted, sorted and paged in SQL ---------------------------
def _oracle_claims(
    s: Any, user: m.User, policies: Any, f: Any
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """The claims queue as it was worked out in Python before it moved into SQL (without its fetch
    limit): every claim's row from its columns, lines and latest run's findings, the work items,
    the filters, the sort (rows without a value last) and the due counts."""
    from sqlalchemy import func

    from painrcm.store.queues import core

    pol = core._Policies(s, policies)
    where = [
        m.Encounter.work_status != "history",
        core._within(m.Encounter.practice_id, qw.scope_for(s, user, f.practice or None)),
    ]
    if f.status and f.status != "all":
        where.append(m.Encounter.work_status == f.status)
    elif not f.status:
        where.append(m.Encounter.work_status.not_in(core.DONE))
    if f.payer:
        where.append(func.upper(m.Encounter.payer_id).like(f"%{f.payer.upper()}%"))
    if f.code:
        where.append(m.Encounter.lines.any(m.ClaimLine.code == f.code))
    encs = s.execute(
        select(m.Encounter, m.Person).join(m.Person, m.Person.id == m.Encounter.person_id).where(*where)
    ).all()
    rows = []
    for e, p in encs:
        runs = sorted(e.scrub_runs, key=lambda r: r.id)
        found = sorted(
            {
                x.edit
                for x in (runs[-1].findings if runs else [])
                if x.override_reason is None and x.severity in ("error", "warning")
            }
        )
        policy = pol.for_payer(e.payer_id)
        open_ = e.work_status not in core.DONE
        due = e.date_of_service + timedelta(days=policy.deadlines.timely_filing_days) if open_ else None
        name = ", ".join(x for x in (p.last_name, p.first_name) if x) or f"patient {e.person_id}"
        rows.append(
            core.QueueRow(
                kind="claims",
                id=e.id,
                practice_id=e.practice_id,
                reference=e.encounter_id,
                href=f"/claims/{e.id}",
                person_id=e.person_id,
                patient=name,
                payer=e.payer_id,
                codes=[ln.code for ln in sorted(e.lines, key=lambda ln: ln.line_no)],
                date_of_service=e.date_of_service,
                age_days=(TODAY - e.date_of_service).days,
                amount=e.total_charge,
                detail=(f"{e.status}: " + ", ".join(found)) if found else e.status,
                status=e.work_status,
                edits=found,
                due_date=due,
                due_what="timely filing" if due else None,
                due_state=core._due_state(due, policy.deadlines.due_soon_days, TODAY),
            )
        )
    core._with_work_items(s, "claims", rows)
    rows = [r for r in rows if _matches(r, f, user)]
    rows.sort(key=_sort_key(f.sort), reverse=f.order == "desc")
    if f.order == "desc":
        rows.sort(key=lambda r: _sort_key(f.sort)(r)[0])
    counts = {k: sum(1 for r in rows if r.due_state == k) for k in ("overdue", "soon")}
    return [r.to_dict() for r in rows], counts


def test_claims_queue_in_sql_equals_the_rule_in_python(
    demo: Database, engine: Engine, monkeypatch: Any
) -> None:
    from painrcm.store import services
    from painrcm.store.queues import core

    monkeypatch.setattr(services, "today", lambda: TODAY)
    monkeypatch.setattr(core, "PER_PAGE", 7)
    with demo.session() as s:
        user = _admin(s)
        encs = list(
            s.scalars(
                select(m.Encounter).where(m.Encounter.work_status != "history").order_by(m.Encounter.id)
            )
        )
        others = [u for u in s.scalars(select(m.User).order_by(m.User.id)) if u.id != user.id]
        pol = core._Policies(s, engine.policies)
        # payers with different filing deadlines, so the deadline is the payer's
        assert len({pol.for_payer(e.payer_id).deadlines.timely_filing_days for e in encs}) > 1
        # work on some claims: assigned to each user or to nobody, in every status
        for k, e in enumerate(encs[:12]):
            s.add(
                m.WorkItem(
                    object_type="encounter",
                    object_id=e.id,
                    practice_id=e.practice_id,
                    assignee_id=[user.id, None, *(u.id for u in others[:1])][k % 3],
                )
            )
            e.work_status = core.STATUSES["claims"][k % 4]
        # dates of service around each payer's deadline (overdue, due today, soon, just not soon)
        # and in every age band
        for k, e in enumerate(encs[15:39]):
            tf = pol.for_payer(e.payer_id).deadlines.timely_filing_days
            back = [tf + 3, tf + 1, tf, tf - 5, tf - 14, tf - 15, 45, 100, 200, 31, 60, 61][k % 12]
            e.date_of_service = TODAY - timedelta(days=back)
        encs[13].total_charge = None  # no amount: last either way
        # names as the patient sort meets them: the last name alone, no name at all ("patient ID"),
        # lower case and accents (code point order), two persons of the same name (then by claim ID);
        # a person's name is stored on each of their claims, and refreshing one claim (what every
        # write does) brings all of that person's claims up to date
        by_person = Counter(e.person_id for e in encs)
        people = sorted({e.person_id for e in encs}, key=lambda pid: (-by_person[pid], pid))
        persons = {p.id: p for p in s.scalars(select(m.Person).where(m.Person.id.in_(people[:5])))}
        assert by_person[people[0]] > 1
        names = [("Zeta", ""), (None, None), ("émile", "zoë"), ("Same", "Name"), ("Same", "Name")]
        for pid, (last, first) in zip(people, names, strict=False):
            persons[pid].last_name, persons[pid].first_name = last, first
        s.flush()
        service_rows.refresh_services(s, [next(e.id for e in encs if e.person_id == pid) for pid in persons])
        # findings: an overridden error and an info finding count for nothing, nor does a finding
        # in an earlier run than the latest; a warning in the latest run counts
        enc = next(e for e in encs if e.scrub_runs and e.work_status == "open")
        run = max(enc.scrub_runs, key=lambda r: r.id)
        s.add(m.Finding(run_id=run.id, edit="ZZZ003", severity="warning", message="x"))
        s.flush()
        run = m.ScrubRun(encounter_pk=enc.id, status=run.status)
        s.add(run)
        s.flush()
        s.add(m.Finding(run_id=run.id, edit="ZZZ001", severity="error", message="x", override_reason="ok"))
        s.add(m.Finding(run_id=run.id, edit="ZZZ002", severity="info", message="x"))
        s.add(m.Finding(run_id=run.id, edit="ZZZ004", severity="warning", message="x"))
        s.flush()
        s.expire_all()
        edit = next(
            x.edit
            for x in s.scalars(
                select(m.Finding)
                .join(m.ScrubRun)
                .where(m.Finding.override_reason.is_(None), m.ScrubRun.encounter_pk != enc.id)
            )
        )
        code = next(ln.code for e in encs for ln in e.lines)
        payer = encs[0].payer_id[:3].lower()
        practice = encs[-1].practice_id
        cases: list[dict[str, Any]] = [{}]
        cases += [{"sort": k, "order": o} for k in core.SORTS for o in ("asc", "desc")]
        cases += [
            {"sort": k, "order": o, "status": "all"}
            for k in ("due", "amount", "assignee")
            for o in ("asc", "desc")
        ]
        cases += [
            {"status": "all"}, {"status": "submitted"}, {"status": "fixed", "sort": "patient"},
            {"assignee": "me"}, {"assignee": "none", "sort": "assignee", "order": "desc"},
            {"assignee": str(others[0].id) if others else "9999"}, {"code": code}, {"code": "NOPE%"},
            {"payer": payer, "status": "all"}, {"practice": practice, "sort": "age"},
            {"due": "overdue", "status": "all"}, {"due": "soon"}, {"due": "later", "sort": "payer"},
            {"age": "0-30"}, {"age": "181+", "status": "all"}, {"age": "31-60", "order": "desc"},
            {"reason": "CO-45"}, {"reason": "45"}, {"edit": edit}, {"edit": edit, "status": "all", "sort": "due"},
            {"edit": "ZZZ001"}, {"edit": "ZZZ002"}, {"edit": "ZZZ003"}, {"edit": "ZZZ004"}, {"edit": "NOPE"},
        ]  # fmt: skip
        for params in cases:
            f = core.parse_filters("claims", params)
            want, counts = _oracle_claims(s, user, engine.policies, f)
            whole = core.list_queue(s, user, "claims", f, engine.policies, all_rows=True, audit=False)
            assert [r.to_dict() for r in whole.rows] == want, params
            assert (whole.total, whole.counts) == (len(want), counts), params
            first = core.list_queue(s, user, "claims", f, engine.policies, audit=False)
            paged: list[dict[str, Any]] = []
            for p in range(1, first.pages + 1):
                page = core.list_queue(s, user, "claims", replace(f, page=p), engine.policies, audit=False)
                paged += [r.to_dict() for r in page.rows]
            assert paged == want, params
        results = {
            str(c): _oracle_claims(s, user, engine.policies, core.parse_filters("claims", c)) for c in cases
        }
        # the cases select something: every filter but those that select nothing on purpose
        empty = {
            str(c)
            for c in cases
            if c.get("reason")
            or c.get("code") == "NOPE%"
            or c.get("edit") in ("ZZZ001", "ZZZ002", "ZZZ003", "NOPE")
        }
        assert {k for k, (rows, _) in results.items() if not rows} == empty
        assert any(c["overdue"] for _, c in results.values()) and any(c["soon"] for _, c in results.values())


# --- the denial and underpayment queues (issue 13): filtered, counted, sorted and paged in SQL -------
def _oracle_remit_queue(
    s: Any, user: m.User, kind: str, policies: Any, f: Any
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """The remit queue as it was worked out in Python before it moved into SQL: every line's row,
    the work items, the filters, the sort (rows without a value last) and the due counts."""
    from painrcm.store.queues import core

    allowed = qw.scope_for(s, user, f.practice or None)
    ids = sorted(s.scalars(core._remit_base(kind, allowed, f)))
    rows = core._remit_rows(s, kind, ids, core._Policies(s, policies), TODAY)
    core._with_work_items(s, kind, rows)
    rows = [r for r in rows if _matches(r, f, user)]
    rows.sort(key=_sort_key(f.sort), reverse=f.order == "desc")
    if f.order == "desc":
        rows.sort(key=lambda r: _sort_key(f.sort)(r)[0])
    counts = {k: sum(1 for r in rows if r.due_state == k) for k in ("overdue", "soon")}
    return [r.to_dict() for r in rows], counts


def test_remit_queues_in_sql_equal_the_rule_in_python(
    demo: Database, engine: Engine, monkeypatch: Any
) -> None:
    from painrcm.store import services
    from painrcm.store.queues import core

    monkeypatch.setattr(services, "today", lambda: TODAY)
    monkeypatch.setattr(core, "PER_PAGE", 5)
    with demo.session() as s:
        user = _admin(s)
        others = [u for u in s.scalars(select(m.User).order_by(m.User.id)) if u.id != user.id]
        for kind in ("denials", "underpayments"):
            allowed = qw.scope_for(s, user, None)
            ids = sorted(s.scalars(core._remit_base(kind, allowed, core.QueueFilters())))
            assert len(ids) >= 3, kind
            lines = [s.get(m.RemitLine, i) for i in ids]
            # work on some of them: assigned to each user, statuses open and done; a patient's name
            # left out and a payer name empty, so rows without a value sort last
            for k, line in enumerate(lines[:8]):
                s.add(
                    m.WorkItem(
                        object_type="remit_line",
                        object_id=line.id,
                        practice_id=line.practice_id,
                        assignee_id=[user.id, None, *(u.id for u in others[:1])][k % 3],
                    )
                )
                line.work_status = ["open", "resolved", "appealed", "open", "written_off"][k % 5]
            lines[-1].claim.remittance.payer_name = ""
            # deadlines on the edges: due today (soon), yesterday (overdue), today + the warning days
            # (soon) and one day later (later)
            pol = core._Policies(s, engine.policies)
            x = lines[0]
            enc = s.get(m.Encounter, x.claim.encounter_pk) if x.claim.encounter_pk else None
            d = pol.for_payer(enc.payer_id if enc else None).deadlines
            for days in (0, -1, d.due_soon_days, d.due_soon_days + 1):
                s.add(  # a copy of the line, open, alone on a payment of its own
                    m.RemitLine(
                        claim=m.RemitClaim(
                            remittance=m.Remittance(
                                practice_id=x.practice_id,
                                payer_name=x.claim.remittance.payer_name,
                                payment_date=TODAY - timedelta(days=d.appeal_days - days),
                            ),
                            practice_id=x.practice_id,
                            patient_control_number=x.claim.patient_control_number,
                            status_code=x.claim.status_code,
                            encounter_pk=x.claim.encounter_pk,
                        ),
                        **{
                            k: getattr(x, k)
                            for k in ("practice_id", "code", "modifiers", "billed", "allowed", "paid")
                            + ("date_of_service", "next_action", "denied")
                        },
                        adjustments=[
                            m.RemitAdjustment(
                                group_code=a.group_code, reason_code=a.reason_code, amount=a.amount
                            )
                            for a in x.adjustments
                        ],
                    )
                )
            s.flush()
            adj = s.scalars(
                select(m.RemitAdjustment).join(m.RemitLine).where(m.RemitLine.id.in_(ids))
            ).first()
            assert adj is not None
            line0 = lines[0]
            cases: list[dict[str, Any]] = [{}]
            cases += [{"sort": k, "order": o} for k in core.SORTS for o in ("asc", "desc")]
            cases += [
                {"status": "all"}, {"status": "resolved"}, {"status": "open", "sort": "patient"},
                {"assignee": "me"}, {"assignee": "none", "sort": "assignee", "order": "desc"},
                {"assignee": str(others[0].id) if others else "9999"}, {"code": line0.code},
                {"code": "NOPE%"}, {"payer": (line0.claim.remittance.payer_name or "x")[:3].lower()},
                {"practice": line0.practice_id, "sort": "age"},
                {"due": "overdue", "status": "all"}, {"due": "soon"}, {"due": "later", "sort": "payer"},
                {"age": "0-30"}, {"age": "181+", "status": "all"}, {"age": "31-60", "order": "desc"},
                {"reason": f"{adj.group_code}-{adj.reason_code}", "status": "all"},
                {"reason": adj.reason_code}, {"reason": "ZZ-1"}, {"edit": "AUT001"},
                {"sort": "amount", "status": "all", "order": "desc"}, {"sort": "dos", "status": "all"},
            ]  # fmt: skip
            for params in cases:
                f = core.parse_filters(kind, params)
                want, counts = _oracle_remit_queue(s, user, kind, engine.policies, f)
                whole = core.list_queue(s, user, kind, f, engine.policies, all_rows=True, audit=False)
                assert [r.to_dict() for r in whole.rows] == want, (kind, params)
                assert (whole.total, whole.counts) == (len(want), counts), (kind, params)
                first = core.list_queue(s, user, kind, f, engine.policies, audit=False)
                paged: list[dict[str, Any]] = []
                for p in range(1, first.pages + 1):
                    page = core.list_queue(s, user, kind, replace(f, page=p), engine.policies, audit=False)
                    assert (page.page, page.total, page.counts) == (p, len(want), counts), (kind, params)
                    paged += [r.to_dict() for r in page.rows]
                assert paged == want, (kind, params)
                # asked past the last page: the last page, with the same total and counts
                past = core.list_queue(
                    s, user, kind, replace(f, page=first.pages + 2), engine.policies, audit=False
                )
                assert (past.page, past.total, past.counts) == (first.pages, len(want), counts), (
                    kind,
                    params,
                )
                assert [r.to_dict() for r in past.rows] == want[(first.pages - 1) * core.PER_PAGE :], (
                    kind,
                    params,
                )
            assert any(
                _oracle_remit_queue(s, user, kind, engine.policies, core.parse_filters(kind, c))[0]
                for c in cases[1:]
            )
