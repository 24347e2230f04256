"""Synthetic demo data for the workspace (`painrcm demo`).

Everything here is invented: patients come from ``painrcm.synth`` (names from a fixed cast, member IDs
``ZZ`` + digits, made-up dates of birth) and from the bundled demo set (``painrcm/demo/data``), whose
dates are shifted into the current month so its typical errors show up in the work queue.

What a seeded database holds (all dates relative to ``today``):

- three practices (P01 Mesa Spine & Pain, P02 Desert Interventional, ASC1 Mesa Surgery Center), their
  providers and payers;
- about a year of earlier services (``work_status="history"``), so frequency and prerequisite edits
  have a past to count;
- about sixty current claims from the last 30 days, scrubbed with the database as the history source:
  clean ones, warnings and the bundled demo claims' typical errors; one claim fixed, one overridden;
- authorizations in every state the tracker shows: active, expiring within 14 days, used up, pending,
  denied, expired;
- remittances (835 payments) for claims submitted one to two months ago, explained line by line with
  ``painrcm.remit``: CO-97 on a 77003 line, CO-151 frequency, CO-197 no authorization, CO-4 modifier,
  PR-1 deductible, paid lines and a partial payment;
- one user of each role (admin, supervisor, a biller for P01, a biller for P02 and ASC1) with random
  passwords generated for this database and returned (once) in ``DemoCredentials``.

Deterministic: the same ``seed`` and ``today`` give the same rows (passwords and timestamps aside).
Idempotent: seeding an already-seeded database changes nothing and returns the stored users.
"""

from __future__ import annotations

import json
import random
import secrets
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from painrcm import synth
from painrcm.coder import code_encounter
from painrcm.history import History
from painrcm.model import Encounter, Line
from painrcm.remit import explain_remittance
from painrcm.remit.explain import ExplainedLine
from painrcm.remit.underpay import FACILITY_POS, FeeSchedule, demo_fee_schedule
from painrcm.scrub import Engine, scrub_encounter
from painrcm.store import counts, remits_on_claim, services
from painrcm.store import models as m
from painrcm.store.db import Database
from painrcm.store.imports import remit_line_row
from painrcm.x12 import remit_model as x

SEED_ACTION = "seed"
SEED_OBJECT = "demo_database"
SOURCE = "demo seed"

PAYER_NAMES = {
    "MEDICARE": "Medicare",
    "ACME-HEALTH": "Acme Health",
    "SUNCARE-MA": "SunCare Medicare Advantage",
}
PAYER_PLANS = {"MEDICARE": "medicare", "ACME-HEALTH": "commercial", "SUNCARE-MA": "medicare_advantage"}

# email, display name, role, practices (billers only)
USERS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("admin@demo.test", "Ada Admin (demo)", "admin", ()),
    ("supervisor@demo.test", "Sam Supervisor (demo)", "supervisor", ()),
    ("biller.p01@demo.test", "Bea Biller, P01 (demo)", "biller", ("P01",)),
    ("biller.p02@demo.test", "Ben Biller, P02 + ASC1 (demo)", "biller", ("P02", "ASC1")),
)

N_PATIENTS = 60
N_CURRENT_SYNTH = 45  # plus the 15 bundled demo claims: about 60 current claims
HISTORY_LINES = 700
CURRENT_DAYS = 30
FREQUENCY_ERRORS = 4  # synthetic current claims over a frequency limit (the bundled set adds one)


@dataclass(frozen=True)
class DemoUser:
    email: str
    name: str
    role: str
    practices: tuple[str, ...]
    password: str | None  # None when the database was seeded earlier (only its hash is stored)


@dataclass(frozen=True)
class DemoCredentials:
    users: tuple[DemoUser, ...]
    created: bool  # False: the database was already seeded; nothing changed
    seed: int
    today: date
    counts: dict[str, int] = field(default_factory=dict)

    def lines(self) -> list[str]:
        """The credentials as printable lines (no patient data)."""
        out = []
        for u in self.users:
            scope = ", ".join(u.practices) if u.practices else "all practices"
            pw = u.password if u.password is not None else "(set when the database was seeded; not stored)"
            out.append(f"  {u.role:<10} {u.email:<24} {pw:<24} {scope}")
        return out


# --- entry point ---------------------------------------------------------------------------------


def seed_demo(
    db: Database,
    engine: Engine,
    *,
    today: date,
    seed: int = 7,
    step: Callable[[str], None] | None = None,
) -> DemoCredentials:
    """Fill an empty workspace database with the demo data; a seeded one is left as it is."""
    with db.session() as s:
        marker = _marker(s)
        if marker is not None:
            return _stored(s, marker)
        if s.scalars(select(m.Practice.id).limit(1)).first() or s.scalars(select(m.User.id).limit(1)).first():
            raise ValueError(
                "the demo data goes into an empty database; this one already holds practices or users"
            )
    with db.session() as s:
        seeder = _Seeder(s, engine, today, seed)
        if step is not None:
            seeder.step = step
        creds = seeder.run()
        seeder.step("saving")
    return creds


def is_seeded(db: Database) -> bool:
    with db.session() as s:
        return _marker(s) is not None


def _marker(s: Session) -> m.AuditEntry | None:
    return s.scalars(
        select(m.AuditEntry)
        .where(m.AuditEntry.action == SEED_ACTION, m.AuditEntry.object_type == SEED_OBJECT)
        .order_by(m.AuditEntry.id)
        .limit(1)
    ).first()


def _stored(s: Session, marker: m.AuditEntry) -> DemoCredentials:
    emails = [u[0] for u in USERS]
    users = []
    for user in s.scalars(select(m.User).where(m.User.email.in_(emails)).order_by(m.User.id)):
        practices = tuple(
            sorted(s.scalars(select(m.UserPractice.practice_id).where(m.UserPractice.user_id == user.id)))
        )
        users.append(DemoUser(user.email, user.name, user.role, practices, None))
    detail = marker.detail or {}
    return DemoCredentials(
        users=tuple(users),
        created=False,
        seed=int(detail.get("seed", 0)),
        today=date.fromisoformat(detail.get("today", "1970-01-01")),
        counts=dict(detail.get("counts", {})),
    )


# --- the seeder ----------------------------------------------------------------------------------


class _Seeder:
    def __init__(self, s: Session, engine: Engine, today: date, seed: int) -> None:
        self.s, self.engine, self.today, self.seed = s, engine, today, seed
        self.rng = random.Random(f"painrcm-demo:{seed}")
        self.fees = demo_fee_schedule()
        self.patients = synth.make_patients(N_PATIENTS, seed)
        self.rows: dict[str, m.Encounter] = {}  # encounter_id -> row (current and submitted claims)
        self.people: dict[str, int] = {}  # member ID -> person id
        self.users: dict[str, m.User] = {}
        self.step: Callable[[str], None] = lambda name: None  # progress (the CLI draws a bar)

    def run(self) -> DemoCredentials:
        self.step("practices and users")
        self._practices()
        creds = self._users()
        self.step("a year of earlier services")
        history = self._history()
        bundled_auths = self._bundled()
        self.step("current claims")
        current = self._current(history)
        submitted = self._submitted()
        self.step("authorizations")
        self._authorizations(current, submitted, bundled_auths)
        self.step("scrubbing every claim")
        self._scrub([*current, *(sub.row for sub in submitted)])
        self.step("remittances")
        self._remittances(submitted)
        self._fee_schedules()
        self._work()
        counts = self._counts()
        services.audit(
            self.s,
            None,
            SEED_ACTION,
            SEED_OBJECT,
            None,
            None,
            seed=self.seed,
            today=self.today.isoformat(),
            counts=counts,
        )
        return DemoCredentials(users=creds, created=True, seed=self.seed, today=self.today, counts=counts)

    # --- cast ----------------------------------------------------------------------------------

    def _practices(self) -> None:
        for p in synth.PRACTICES:
            self.s.add(
                m.Practice(
                    id=p["id"],
                    name=p["name"],
                    npi=p["npi"],
                    tax_id=p["tax_id"],
                    kind=p["kind"],
                    state=p["state"],
                )
            )
        seen: set[str] = set()
        for providers in synth.PROVIDERS.values():
            for prov in providers:
                if prov["npi"] not in seen:
                    seen.add(prov["npi"])
                    self.s.add(m.Provider(npi=prov["npi"], name=prov["name"]))
        for pid, name in PAYER_NAMES.items():
            self.s.add(m.Payer(id=pid, name=name, plan=PAYER_PLANS[pid]))
        self.s.flush()

    def _users(self) -> tuple[DemoUser, ...]:
        from painrcm.web.security import hash_password

        passwords = [secrets.token_urlsafe(12) for _ in USERS]
        with ThreadPoolExecutor(max_workers=len(USERS)) as pool:  # argon2 is slow on purpose
            hashes = list(pool.map(hash_password, passwords))
        out = []
        for (email, name, role, practices), password, hashed in zip(USERS, passwords, hashes, strict=True):
            user = m.User(email=email, name=name, password_hash=hashed, role=role, active=True)
            self.s.add(user)
            self.s.flush()
            for pid in practices:
                self.s.add(m.UserPractice(user_id=user.id, practice_id=pid))
            self.users[role if role != "biller" else email] = user
            out.append(DemoUser(email, name, role, practices, password))
        return tuple(out)

    # --- claims --------------------------------------------------------------------------------

    def _save(self, enc: Encounter, work_status: str) -> m.Encounter:
        row, _ = services.save_encounter(
            self.s, enc, source=SOURCE, practice_id=enc.practice.id, work_status=work_status
        )
        if enc.patient.member_id:
            self.people.setdefault(enc.patient.member_id, row.person_id)
        return row

    def _history(self) -> list[Encounter]:
        end = self.today - timedelta(days=CURRENT_DAYS)
        encs = synth.generate_history(
            HISTORY_LINES,
            self.seed,
            patients=self.patients,
            end=end,
            days=365 - CURRENT_DAYS,
            engine=self.engine,
        )
        for enc in encs:
            self._save(self._priced(enc), "history")
        return encs

    def _bundled(self) -> list[dict[str, Any]]:
        """The bundled demo claims, each moved into the last 30 days with its patient's history and
        authorizations (moved by the same number of days, so each claim keeps its finding)."""
        claims, history, auths = _bundled_data()
        claims.sort(key=lambda d: (d["date_of_service"], d["encounter_id"]))
        shifts: dict[str, int] = {}
        n = len(claims)
        for i, doc in enumerate(claims):
            target = self.today - timedelta(days=2 + round((n - 1 - i) * (CURRENT_DAYS - 3) / max(n - 1, 1)))
            delta = (target - date.fromisoformat(doc["date_of_service"])).days
            shifts[doc["patient"]["member_id"]] = delta
        for doc in history:
            delta = shifts.get(doc["patient"]["member_id"], 0)
            self._save(Encounter.model_validate(_shift_doc(doc, delta)), "history")
        for doc in claims:
            enc = Encounter.model_validate(_shift_doc(doc, shifts[doc["patient"]["member_id"]]))
            self.rows[enc.encounter_id] = self._save(self._priced(enc), "open")
        out = []
        for row in auths:
            delta = shifts.get(row["member_id"], 0)
            out.append(
                {
                    **row,
                    "start_date": _shift(row["start_date"], delta),
                    "end_date": _shift(row["end_date"], delta),
                }
            )
        return out

    def _current(self, history: list[Encounter]) -> list[m.Encounter]:
        encs = self._current_encounters(history)
        rows = []
        for n, enc in enumerate(encs, 1):
            enc = enc.model_copy(update={"encounter_id": f"CLM-{n:05d}"})
            enc = self._inject_error(enc, n)
            row = self._save(self._priced(enc), "open")
            self.rows[enc.encounter_id] = row
            rows.append(row)
        bundled = [r for r in self.rows.values() if r.encounter_id.startswith("DEMO-")]
        return [*bundled, *rows]

    def _current_encounters(self, history: list[Encounter]) -> list[Encounter]:
        """Synthetic claims of the last 30 days. Independent draws would often exceed the frequency
        limits the patients' histories already reach; a practice that works its frequency watch
        books fewer of those, so only a few such claims are kept."""
        start = self.today - timedelta(days=CURRENT_DAYS - 2)
        candidates = synth.generate_encounters(
            3 * N_CURRENT_SYNTH,
            self.seed,
            start=start,
            days=CURRENT_DAYS - 3,
            patients=self.patients,
            engine=self.engine,
        )
        past = History.from_encounters(history, self.engine.reference)
        kept: list[Encounter] = []
        over_limit = 0
        for enc in candidates:
            result = scrub_encounter(enc, self.engine, history=past)
            frequency = any(f.edit.startswith("FRQ") and f.severity.value == "error" for f in result.findings)
            if frequency and over_limit >= FREQUENCY_ERRORS:
                continue
            over_limit += frequency
            kept.append(enc)
            past.add(enc, self.engine.reference)
            if len(kept) == N_CURRENT_SYNTH:
                break
        return sorted(kept, key=lambda e: (e.date_of_service, e.encounter_id))

    def _inject_error(self, enc: Encounter, n: int) -> Encounter:
        """A few of the synthetic claims carry the mistakes billers make, at P02 and ASC1 too."""
        lines = list(enc.lines or [])
        fam = enc.procedures[0].family if enc.procedures else None
        if n % 11 == 3 and fam == "epidural_transforaminal" and enc.practice.kind == "physician":
            return enc.model_copy(
                update={"lines": [*lines, Line(code="77003", units=1, diagnosis_pointers=[1])]}
            )
        if n % 11 == 5 and enc.authorization_number and enc.payer.plan != "medicare":
            return enc.model_copy(update={"authorization_number": None})
        if n % 11 == 8 and lines and lines[0].has("LT", "RT", "50"):
            first = lines[0].model_copy(
                update={"modifiers": [x for x in lines[0].modifiers if x not in ("LT", "RT", "50")]}
            )
            return enc.model_copy(update={"lines": [first, *lines[1:]]})
        return enc

    def _priced(self, enc: Encounter, control: bool = False) -> Encounter:
        if enc.lines is None:
            return enc
        lines = []
        for i, ln in enumerate(enc.lines, 1):
            update: dict[str, Any] = {"charge": _charge(self.fees, ln, enc.place_of_service)}
            if control:
                update["control_number"] = f"{enc.encounter_id}-{i}"
            lines.append(ln.model_copy(update=update))
        return enc.model_copy(update={"lines": lines})

    # --- submitted claims and their remittances ------------------------------------------------

    def _submitted(self) -> list[_Submitted]:
        out = []
        for n, (practice_id, plan, family, outcome) in enumerate(REMIT_SCENARIOS, 1):
            dos = self.today - timedelta(days=70 - 3 * n)
            if dos.weekday() >= 5:
                dos -= timedelta(days=dos.weekday() - 4)
            enc = self._scenario_encounter(n, practice_id, plan, family, dos, outcome)
            row = self._save(self._priced(enc, control=True), "submitted")
            self.rows[enc.encounter_id] = row
            out.append(_Submitted(row, enc, outcome))
        return out

    def _scenario_encounter(
        self, n: int, practice_id: str, plan: str, family: str, dos: date, outcome: str
    ) -> Encounter:
        pool = [p for p in self.patients if p["_payer"]["plan"] == plan]
        patient = pool[(n * 7) % len(pool)]
        (doc,) = synth.generate_encounter_dicts(
            1,
            self.seed * 1000 + n,
            start=dos,
            days=1,
            patients=[patient],
            family=family,
            policies=self.engine.policies,
        )
        practice = next(p for p in synth.PRACTICES if p["id"] == practice_id)
        doc.update(
            encounter_id=f"SUB-{n:05d}",
            practice=dict(practice),
            date_of_service=dos.isoformat(),
            rendering_provider=dict(synth.PROVIDERS[practice_id][n % 2]),
        )
        doc["payer"]["state"] = practice["state"]
        if practice["kind"] == "asc":
            doc.update(place_of_service="24", drugs=[])
            doc.pop("evaluation", None)
        enc = Encounter.model_validate(doc)
        enc.lines = code_encounter(enc, self.engine.reference, self.engine.policy_for(enc))
        if outcome == "co97_77003":
            enc.lines.append(Line(code="77003", units=1, diagnosis_pointers=[1]))
        elif outcome == "co197":
            enc.authorization_number = None
        elif outcome == "co4" and enc.lines:
            enc.lines[0].modifiers = [x for x in enc.lines[0].modifiers if x not in ("LT", "RT", "50")]
        return enc

    def _remittances(self, submitted: list[_Submitted]) -> None:
        groups: dict[tuple[str, str], list[_Submitted]] = {}
        for sub in submitted:
            groups.setdefault((sub.enc.practice.id or "", sub.enc.payer.id), []).append(sub)
        for k, ((practice_id, payer_id), subs) in enumerate(sorted(groups.items()), 1):
            self._remittance(k, practice_id, payer_id, subs)

    def _remittance(self, k: int, practice_id: str, payer_id: str, subs: list[_Submitted]) -> None:
        paid_on = max(sub.enc.date_of_service for sub in subs) + timedelta(days=18)
        claims = [self._remit_claim(sub, seg) for seg, sub in enumerate(subs, 1)]
        payment = round(sum(c.paid for c in claims), 2)
        trace = f"DEMO{self.seed:03d}{k:05d}"
        rem = x.Remittance(
            segment=1,
            control_number=f"{k:04d}",
            handling="I",
            payment=payment,
            payment_date=paid_on,
            trace_number=trace,
            payer_name=PAYER_NAMES[payer_id],
            payer_id=payer_id,
            payee_name=next(p["name"] for p in synth.PRACTICES if p["id"] == practice_id),
            claims=claims,
        )
        report = explain_remittance(rem, [sub.enc for sub in subs])
        row = m.Remittance(
            practice_id=practice_id,
            payer_name=rem.payer_name,
            trace_number=trace,
            payment_amount=float(payment),
            payment_date=paid_on,
            reconciled=report.reconciliation.balanced,
        )
        for sub, rc, ec in zip(subs, claims, report.claims, strict=True):
            claim = m.RemitClaim(
                practice_id=practice_id,
                patient_control_number=rc.patient_control_number,
                status_code=rc.status,
                billed=float(rc.billed),
                paid=float(rc.paid),
                patient_responsibility=float(rc.patient_responsibility or 0),
                payer_claim_number=rc.payer_claim_number,
                encounter_pk=sub.row.id,
            )
            claim.lines = [self._remit_line(practice_id, sub.row, el) for el in ec.lines]
            row.claims.append(claim)
        self.s.add(row)
        self.s.flush()
        services.audit(
            self.s, None, "import", "remittance", row.id, practice_id, source=SOURCE, claims=len(claims)
        )

    def _remit_claim(self, sub: _Submitted, seg: int) -> x.RemitClaim:
        lines = [
            _remit_service_line(self.fees, sub.enc, i, ln, sub.outcome, self.rng)
            for i, ln in enumerate(sub.enc.lines or [], 1)
        ]
        billed = round(sum(ln.billed for ln in lines), 2)
        paid = round(sum(ln.paid for ln in lines), 2)
        pr = round(sum(a.amount for ln in lines for a in ln.adjustments if a.group == "PR"), 2)
        status = "4" if paid == 0 and pr == 0 else "1"
        return x.RemitClaim(
            segment=seg * 10,
            patient_control_number=sub.enc.encounter_id,
            status=status,
            billed=billed,
            paid=paid,
            patient_responsibility=pr,
            payer_claim_number=f"{sub.enc.payer.id[:3]}{self.seed:02d}{seg:03d}{sub.row.id:05d}",
            member_id=sub.enc.patient.member_id,
            statement_start=sub.enc.date_of_service,
            lines=lines,
        )

    def _remit_line(self, practice_id: str, enc_row: m.Encounter, el: ExplainedLine) -> m.RemitLine:
        claim_line = None
        if el.match is not None and 0 < el.match.line <= len(enc_row.lines):
            claim_line = enc_row.lines[el.match.line - 1]
        return remit_line_row(practice_id, el, claim_line)

    # --- authorizations ------------------------------------------------------------------------

    def _authorizations(
        self, current: list[m.Encounter], submitted: list[_Submitted], bundled: list[dict[str, Any]]
    ) -> None:
        for row in bundled:
            self._auth_from_log(row)
        synth_current = [r for r in current if r.encounter_id.startswith("CLM-")]
        states = iter(("expiring", "expiring", "used_up", "pending", "expiring"))
        for row in synth_current:
            number = row.document.get("authorization_number")
            if number:
                self._claim_auth(row, number, next(states, "active"))
        for sub in submitted:
            if sub.enc.authorization_number:
                self._claim_auth(sub.row, sub.enc.authorization_number, "used_up")
        self._history_auths()
        self._standalone_auths()
        self.s.flush()

    def _claim_auth(self, row: m.Encounter, number: str, state: str) -> None:
        dos = row.date_of_service
        codes = sorted({ln.code for ln in row.lines if not ln.code.startswith(("J", "99", "77", "8", "G"))})
        start, end, sessions, status = dos - timedelta(days=21), dos + timedelta(days=150), 3, "approved"
        if state == "expiring":
            end = self.today + timedelta(days=4 + self.rng.randrange(9))
        elif state == "used_up":
            sessions, end = 1, max(dos + timedelta(days=45), self.today + timedelta(days=20))
        elif state == "pending":
            status = "pending"
        doc = row.document
        self._add_auth(
            row.practice_id,
            number,
            row.payer_id,
            doc["patient"]["member_id"],
            codes,
            sessions,
            start,
            end,
            row.rendering_npi,
            status,
        )

    def _history_auths(self) -> None:
        """Authorizations of recent earlier services: approved for one session, used."""
        since = self.today - timedelta(days=CURRENT_DAYS + 45)
        rows = self.s.scalars(
            select(m.Encounter)
            .where(m.Encounter.work_status == "history", m.Encounter.date_of_service >= since)
            .order_by(m.Encounter.date_of_service, m.Encounter.encounter_id)
        ).all()
        for row in rows:
            number = row.document.get("authorization_number")
            if number:
                codes = sorted({ln.code for ln in row.lines if not ln.code.startswith(("J", "99", "8", "G"))})
                self._add_auth(
                    row.practice_id,
                    number,
                    row.payer_id,
                    row.document["patient"]["member_id"],
                    codes,
                    1,
                    row.date_of_service - timedelta(days=14),
                    row.date_of_service + timedelta(days=60),
                    row.rendering_npi,
                    "approved",
                )

    def _standalone_auths(self) -> None:
        """Requests for services not yet done: pending, denied, and an approval that ran out unused."""
        commercial = [p for p in self.patients if p["_payer"]["plan"] != "medicare"]
        plan = (
            ("pending", 5, ("64483",)),
            ("pending", 9, ("64493", "64494")),
            ("denied", 2, ("64635",)),
            ("expired", -12, ("62323",)),
            ("active", 30, ("64490",)),
        )
        for k, (state, offset, codes) in enumerate(plan, 1):
            p = commercial[(k * 5) % len(commercial)]
            practice_id = p["_home"]
            start = (
                self.today + timedelta(days=offset)
                if state != "expired"
                else self.today - timedelta(days=100)
            )
            end = start + timedelta(days=90) if state != "expired" else self.today + timedelta(days=offset)
            status = "approved" if state in ("expired", "active") else state
            npi = synth.PROVIDERS[practice_id][k % 2]["npi"]
            self._add_auth(
                practice_id,
                f"PA-{self.seed:02d}{9000 + k:05d}",
                p["_payer"]["id"],
                p["member_id"],
                list(codes),
                2,
                start,
                end,
                npi,
                status,
            )

    def _auth_from_log(self, row: dict[str, Any]) -> None:
        practice_id = _practice_for_member(self.s, row["member_id"]) or "P01"
        self._add_auth(
            practice_id,
            row["auth_number"],
            row["payer_id"],
            row["member_id"],
            row["codes"].replace(";", " ").split(),
            int(row["sessions"]) if row["sessions"] else None,
            date.fromisoformat(row["start_date"]),
            date.fromisoformat(row["end_date"]),
            row["rendering_npi"] or None,
            row["status"],
        )

    def _add_auth(
        self,
        practice_id: str,
        number: str,
        payer_id: str,
        member_id: str,
        codes: Sequence[str],
        sessions: int | None,
        start: date,
        end: date,
        npi: str | None,
        status: str,
    ) -> None:
        self.s.add(
            m.Authorization(
                practice_id=practice_id,
                person_id=self.people.get(member_id),
                auth_number=number,
                payer_id=payer_id,
                member_id=member_id,
                codes=list(codes),
                sessions=sessions,
                start_date=start,
                end_date=end,
                rendering_npi=npi,
                status=status,
            )
        )

    # --- scrubbing and the work billers did ----------------------------------------------------

    def _scrub(self, rows: Iterable[m.Encounter]) -> None:
        for row in rows:
            services.scrub_row(self.s, row, self.engine)
            services.audit(
                self.s, None, "import", "encounter", row.id, row.practice_id, source=SOURCE, status=row.status
            )

    def _fee_schedules(self) -> None:
        """The demo fee schedule as uploaded for every practice and non-Medicare payer (Medicare claims
        are compared with the national amount)."""
        payers = sorted(self.s.scalars(select(m.Payer.id).where(m.Payer.plan != "medicare")))
        for practice in sorted(self.s.scalars(select(m.Practice.id))):
            for payer in payers:
                remits_on_claim.store_schedule(
                    self.s, practice, payer, self.fees, "demo fee schedule (demo_fee_schedule.csv)", None
                )

    def _work(self) -> None:
        """One safe fix applied by the P01 biller and one warning overridden by the supervisor, so the
        claim pages show an audit trail."""
        biller = self.users["biller.p01@demo.test"]
        fixable = self.rows.get("DEMO-1005")
        run = services.latest_run(fixable) if fixable is not None else None
        if fixable is not None and run is not None and run.fixed_lines:
            before = [ln.code for ln in fixable.lines]
            services.apply_fixed_lines(self.s, fixable, run.fixed_lines)
            services.audit(
                self.s,
                biller.id,
                "fix",
                "encounter",
                fixable.id,
                fixable.practice_id,
                run_id=run.id,
                before=before,
                after=[ln.code for ln in fixable.lines],
            )
            services.scrub_row(self.s, fixable, self.engine, biller.id)
            fixable.work_status = "fixed"
        supervisor = self.users["supervisor"]
        for row in sorted(self.rows.values(), key=lambda r: r.encounter_id):
            run = services.latest_run(row)
            if row.status == "warning" and row.work_status == "open" and run is not None:
                finding = next(f for f in run.findings if f.severity == "warning")
                finding.override_reason = "Reviewed the note: documented and billable as is (demo)."
                finding.overridden_by = supervisor.id
                finding.overridden_at = datetime.now(UTC)
                row.work_status = "overridden"
                counts.settle(row, run)
                services.audit(
                    self.s,
                    supervisor.id,
                    "override",
                    "finding",
                    finding.id,
                    row.practice_id,
                    encounter=row.id,
                    edit=finding.edit,
                    reason=finding.override_reason,
                )
                break
        self._one_denial_in_work(biller)
        self.s.flush()

    def _one_denial_in_work(self, biller: m.User) -> None:
        line = self.s.scalars(
            select(m.RemitLine)
            .where(m.RemitLine.denied.is_(True), m.RemitLine.practice_id == "P01")
            .order_by(m.RemitLine.id)
            .limit(1)
        ).first()
        if line is not None:
            line.work_status = "working"
            line.work_note = "Corrected claim being prepared (demo)."
            services.audit(
                self.s, biller.id, "update", "remit_line", line.id, line.practice_id, work_status="working"
            )

    def _counts(self) -> dict[str, int]:
        def count(model: Any, *where: Any) -> int:
            return len(self.s.scalars(select(model.id).where(*where)).all())

        return {
            "practices": len(self.s.scalars(select(m.Practice.id)).all()),
            "history": count(m.Encounter, m.Encounter.work_status == "history"),
            "claims": count(m.Encounter, m.Encounter.work_status != "history"),
            "authorizations": count(m.Authorization),
            "remittances": count(m.Remittance),
            "denied_lines": count(m.RemitLine, m.RemitLine.denied.is_(True)),
        }


# --- remittance scenarios ------------------------------------------------------------------------

# practice, plan, procedure family, what the payer did with the claim
REMIT_SCENARIOS: tuple[tuple[str, str, str, str], ...] = (
    ("P01", "medicare", "epidural_transforaminal", "co97_77003"),
    ("P01", "medicare", "epidural_interlaminar", "co151"),
    ("P01", "medicare", "facet_joint", "partial"),
    ("P01", "commercial", "sacroiliac_joint", "paid"),
    ("P01", "medicare_advantage", "epidural_transforaminal", "paid"),
    ("P02", "commercial", "facet_joint", "co197"),
    ("P02", "medicare_advantage", "facet_joint", "co4"),
    ("P02", "commercial", "epidural_transforaminal", "pr1"),
    ("P02", "medicare", "trigger_point", "paid"),
    ("ASC1", "medicare", "facet_joint", "paid"),
    ("ASC1", "medicare", "epidural_transforaminal", "partial"),
)


@dataclass
class _Submitted:
    row: m.Encounter
    enc: Encounter
    outcome: str


def _allowed(fees: FeeSchedule, ln: Line, pos: str) -> float:
    rate = fees.rate(ln.code, ln.modifiers)
    units = ln.units or 1
    if rate is None:
        return round(40.0 * units, 2)
    return round(float(rate.facility if pos in FACILITY_POS else rate.nonfacility) * units, 2)


def _charge(fees: FeeSchedule, ln: Line, pos: str) -> float:
    rate = fees.rate(ln.code, ln.modifiers)
    units = ln.units or 1
    base = float(rate.nonfacility) if rate is not None else (8.0 if ln.code.startswith("J") else 120.0)
    return round(base * 2.4 * units, 2)


def _remit_service_line(
    fees: FeeSchedule, enc: Encounter, i: int, ln: Line, outcome: str, rng: random.Random
) -> x.ServiceLine:
    billed = ln.charge or _charge(fees, ln, enc.place_of_service)
    allowed = min(_allowed(fees, ln, enc.place_of_service), billed)
    medicare_like = enc.payer.plan != "commercial"
    adjs: list[x.Adjustment] = []
    remarks: list[str] = []
    denial = {
        "co97_77003": ("97", ln.code == "77003"),
        "co151": ("151", i == 1),
        "co197": ("197", True),
        "co4": ("4", i == 1),
    }.get(outcome)
    if denial is not None and denial[1]:
        adjs.append(x.Adjustment(group="CO", reason=denial[0], amount=round(billed, 2)))
    else:
        if outcome == "partial" and i > 1 and not ln.code.startswith("J"):
            reduction = round(allowed * 0.5, 2)
            adjs.append(x.Adjustment(group="CO", reason="59", amount=reduction))
            allowed = round(allowed - reduction, 2)
        contractual = round(billed - allowed - sum(float(a.amount) for a in adjs), 2)
        if contractual > 0:
            adjs.append(x.Adjustment(group="CO", reason="45", amount=contractual))
        if outcome == "pr1":
            adjs.append(x.Adjustment(group="PR", reason="1", amount=round(allowed * 0.6, 2)))
        elif medicare_like:
            adjs.append(x.Adjustment(group="PR", reason="2", amount=round(allowed * 0.2, 2)))
    paid = round(billed - sum(float(a.amount) for a in adjs), 2)
    return x.ServiceLine(
        segment=100 + i,
        code=ln.code,
        modifiers=list(ln.modifiers),
        billed=round(billed, 2),
        paid=paid,
        units=ln.units,
        date_start=ln.date_of_service or enc.date_of_service,
        adjustments=adjs,
        control_number=ln.control_number,
        allowed=None if paid == 0 else round(allowed, 2),
        remarks=remarks,
    )


# --- the bundled demo set ------------------------------------------------------------------------


def _bundled_data() -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, str]]]:
    import csv
    import io

    root = resources.files("painrcm.demo").joinpath("data")
    claims = [
        json.loads(p.read_text(encoding="utf-8"))
        for p in sorted(root.joinpath("claims").iterdir(), key=lambda p: p.name)
        if p.name.endswith(".json")
    ]
    history = [
        json.loads(p.read_text(encoding="utf-8"))
        for p in sorted(root.joinpath("history").iterdir(), key=lambda p: p.name)
        if p.name.endswith(".json")
    ]
    auths = list(csv.DictReader(io.StringIO(root.joinpath("auths.csv").read_text(encoding="utf-8"))))
    return claims, history, auths


def _shift(iso: str, days: int) -> str:
    return (date.fromisoformat(iso) + timedelta(days=days)).isoformat()


def _shift_doc(doc: dict[str, Any], days: int) -> dict[str, Any]:
    out = json.loads(json.dumps(doc))
    out["date_of_service"] = _shift(out["date_of_service"], days)
    for ln in out.get("lines") or []:
        if ln.get("date_of_service"):
            ln["date_of_service"] = _shift(ln["date_of_service"], days)
    return out


def _practice_for_member(s: Session, member_id: str) -> str | None:
    row = s.scalars(
        select(m.Encounter)
        .join(m.Person, m.Person.id == m.Encounter.person_id)
        .where(m.Person.member_id == member_id, m.Encounter.work_status != "history")
        .order_by(m.Encounter.date_of_service.desc())
        .limit(1)
    ).first()
    return row.practice_id if row is not None else None
