"""A workspace database at a billing company's scale, generated in minutes (a script, not a test).

    .venv/bin/python bench/workspace_gen.py --db sqlite:////tmp/ws.db --claims 100000 --history 1000000
    .venv/bin/python bench/workspace_gen.py --db postgresql+psycopg://postgres@127.0.0.1/ws_bench ...

The database must be empty (it is migrated first). What it holds, all synthetic (`painrcm.synth`):
- the practices and payers of `synth`, an admin user, a patient pool (history lines / 12) with their
  persons and charts; one patient in a hundred also has a second person row with another member ID
  and the same name and date of birth (a new insurance card), so identities span person rows;
- history: earlier encounters with their coded lines over the two years before the claims, each
  patient following a care pathway (`synth.iter_history`), until about N service lines;
- open claims with coded lines over the year after (a fifth with a repeated line), each scrubbed
  without history with its run and findings kept;
- for a third of the claims a remittance with a quarter of its lines denied (CARC 97/151/119/50);
  an approved authorization for each claim that carries a number; a 277CA acknowledgement for a
  fifth of the claims (one in ten of those rejected);
- the stored services of every encounter (`store/service_rows.rows_of`, the function every write
  path uses), and the authorization uses of the claims carrying a number (`refresh_numbered`).

Speed: worker processes generate, code and scrub chunks of patients while the main process writes:
PostgreSQL through COPY (psycopg 3), SQLite through executemany of prepared rows, with the
documents serialized once by pydantic. Ids are assigned by the main process.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import random
import time
from collections.abc import Iterator, Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import text

from painrcm import synth
from painrcm.store.db import Database
from painrcm.store.rows import copy_rows

PATIENTS_PER_CHUNK = 2000
CLAIMS_PER_CHUNK = 4000
CARCS = ("97", "151", "119", "50")

COLS: dict[str, tuple[str, ...]] = {
    "persons": ("id", "member_key", "name_key", "member_id", "last_name", "first_name", "dob", "sex"),
    "charts": ("practice_id", "person_id", "chart_id"),
    "encounters": (
        "id", "practice_id", "person_id", "encounter_id", "payer_id", "date_of_service", "place_of_service",
        "rendering_npi", "document", "total_charge", "status", "work_status", "source", "ack_status",
        "ack_reason", "authorization_number",
    ),
    "claim_lines": (
        "id", "encounter_pk", "line_no", "code", "modifiers", "units", "diagnosis_pointers",
        "date_of_service", "authorization_number", "charge", "control_number",
    ),
    "stored_services": (
        "encounter_pk", "person_id", "member_key", "name_key", "date_of_service", "family", "region",
        "purpose", "codes",
    ),
    "scrub_runs": ("id", "encounter_pk", "status", "policy_id", "editions", "not_checked", "fixed_lines"),
    "findings": ("run_id", "edit", "severity", "line", "code", "message", "fix"),
    "remittances": (
        "id", "practice_id", "payer_name", "trace_number", "payment_amount", "payment_date", "reconciled",
    ),
    "remit_claims": (
        "id", "remittance_id", "practice_id", "patient_control_number", "status_code", "billed", "paid",
        "patient_responsibility", "encounter_pk",
    ),
    "remit_lines": (
        "id", "remit_claim_id", "practice_id", "code", "modifiers", "units", "billed", "allowed", "paid",
        "date_of_service", "remarks", "preventing_edits", "claim_line_id", "denied", "work_status",
    ),
    "remit_adjustments": ("remit_line_id", "group_code", "reason_code", "amount"),
    "authorizations": (
        "practice_id", "person_id", "auth_number", "payer_id", "member_id", "codes", "sessions",
        "start_date", "end_date", "rendering_npi", "status",
    ),
    "claim_acks": (
        "practice_id", "encounter_pk", "kind", "patient_control_number", "outcome", "codes", "explanation",
        "preventing_edits", "ack_date",
    ),
}  # fmt: skip
ORDER = tuple(COLS)  # parents before children


# ------------------------------------------------------------------------------------------------
# worker side: generate, code and scrub; rows without ids (the main process numbers them)

_ENGINE: Any = None


def _init() -> None:
    global _ENGINE
    from painrcm.codes.loader import load_reference
    from painrcm.policy.loader import load_policies
    from painrcm.scrub import Engine

    _ENGINE = Engine(load_reference(), load_policies())


def _lines(enc: Any, charged: bool) -> list[tuple[Any, ...]]:
    """claim_lines rows as `services.save_encounter` stores them (a line's own authorization number)."""
    return [
        (
            i,
            ln.code,
            json.dumps(list(ln.modifiers)),
            ln.units,
            json.dumps(list(ln.diagnosis_pointers or [])),
            ln.date_of_service,
            ln.authorization_number,
            100.0 if charged else None,
        )
        for i, ln in enumerate(enc.lines or [], 1)
    ]


def _services(enc: Any) -> list[tuple[Any, ...]]:
    from painrcm.store.service_rows import rows_of

    # rows_of's tuples without the encounter and person ids
    return [r[2:] for r in rows_of(0, 0, enc, _ENGINE.reference)]


def _enc(enc: Any) -> tuple[Any, ...]:
    return (
        enc.practice.id,
        enc.patient.member_id,
        enc.encounter_id,
        enc.payer.id,
        enc.date_of_service,
        enc.place_of_service,
        enc.rendering_provider.npi,
        enc.model_dump_json(by_alias=True, exclude_none=True),
        enc.authorization_number,
    )


def history_chunk(args: tuple[list[dict[str, Any]], int, int, date]) -> list[dict[str, Any]]:
    patients, n_lines, seed, end = args
    out = []
    for enc in synth.iter_history(n_lines, seed, patients=patients, end=end, days=730, engine=_ENGINE):
        out.append({"enc": _enc(enc), "lines": _lines(enc, False), "services": _services(enc)})
    return out


def claims_chunk(args: tuple[list[dict[str, Any]], int, int, date]) -> list[dict[str, Any]]:
    from painrcm.scrub import scrub_encounter

    patients, n, seed, start = args
    rng = random.Random(seed)
    out = []
    for enc in synth.generate_encounters(n, seed, start=start, days=365, patients=patients, engine=_ENGINE):
        if rng.random() < 0.2 and enc.lines:
            enc.lines.append(enc.lines[0].model_copy(deep=True))
        result = scrub_encounter(enc, _ENGINE)
        n_lines = len(enc.lines or [])
        b: dict[str, Any] = {
            "enc": _enc(enc),
            "status": result.status,
            "charge": 100.0 * n_lines,
            "lines": _lines(enc, True),
            "services": _services(enc),
            "run": (result.status, result.payer_policy, json.dumps(result.editions), "[]", None),
            "findings": [
                (f.edit, f.severity.value, f.line, f.code, f.message, f.fix) for f in result.findings
            ],
        }
        if enc.authorization_number:
            b["auth"] = (
                enc.authorization_number,
                json.dumps([ln.code for ln in enc.lines or []][:3]),
                rng.choice((1, 2, 3)),
                enc.date_of_service - timedelta(days=20),
                enc.date_of_service + timedelta(days=rng.randint(-10, 120)),
            )
        if rng.random() < 0.33:
            b["remit"] = [
                (
                    ln.code,
                    json.dumps(list(ln.modifiers)),
                    ln.units,
                    rng.random() < 0.25,
                    rng.choice(CARCS),
                )
                for ln in enc.lines or []
            ]
        elif rng.random() < 0.3:
            b["ack"] = "rejected" if rng.random() < 0.1 else "accepted"
        out.append(b)
    return out


# ------------------------------------------------------------------------------------------------
# main side: number the rows and write them


class Writer:
    """Buffered bulk writes: COPY on PostgreSQL, executemany on SQLite."""

    def __init__(self, db: Database, batch: int = 20000) -> None:
        self.db = db
        self.pg = db.engine.dialect.name == "postgresql"
        self.batch = batch
        self.buf: dict[str, list[tuple[Any, ...]]] = {t: [] for t in ORDER}
        self.conn = db.engine.connect()
        if not self.pg:  # a bulk load: no fsync per commit, index pages kept in memory
            self.conn.exec_driver_sql("PRAGMA synchronous=OFF")
            self.conn.exec_driver_sql("PRAGMA cache_size=-1000000")
        self.written = dict.fromkeys(ORDER, 0)

    def add(self, table: str, row: tuple[Any, ...]) -> None:
        rows = self.buf[table]
        rows.append(row)
        if len(rows) >= self.batch:
            self.flush()

    def flush(self) -> None:
        for table in ORDER:  # parents first: foreign keys
            rows = self.buf[table]
            if not rows:
                continue
            cols = COLS[table]
            if self.pg:
                copy_rows(self.conn, table, cols, rows)  # the importer's COPY (store/rows.py)
                raw = self.conn.connection.dbapi_connection
                assert raw is not None
                raw.commit()  # COPY went around SQLAlchemy's transaction: commit it on the connection
            else:
                marks = ", ".join("?" * len(cols))
                self.conn.exec_driver_sql(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks})", rows)
            self.written[table] += len(rows)
            rows.clear()
        self.conn.commit()  # short transactions: SQLite's WAL stays small

    def close(self) -> None:
        self.flush()
        self.conn.commit()
        self.conn.close()


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def generate(db: Database, n_claims: int, n_lines: int, seed: int = 2026, workers: int = 2) -> dict[str, Any]:
    from painrcm.model import Patient
    from painrcm.store.services import identity

    t0 = time.perf_counter()
    rng = random.Random(seed)
    patients = synth.make_patients(max(1000, n_lines // 12, n_claims // 3), seed)
    twins = []
    for p in rng.sample(patients, len(patients) // 100):  # a new insurance card: a second person row
        twin = dict(p, id=p["id"] + "T", member_id=f"ZY{rng.randrange(10**9):09d}")
        twin["_home"] = "P02" if p["_home"] == "P01" else "P01"
        twins.append(twin)
    patients += twins
    start = synth.DEFAULT_START + timedelta(days=1)
    w = Writer(db)
    with db.session() as s:
        for p in synth.PRACTICES:
            s.execute(
                text(
                    "INSERT INTO practices (id, name, npi, kind, state) VALUES (:id, :name, :npi, :kind, :st)"
                ),
                {"id": p["id"], "name": p["name"], "npi": p["npi"], "kind": p["kind"], "st": p["state"]},
            )
        for p in synth.PAYERS:
            s.execute(
                text("INSERT INTO payers (id, name, plan) VALUES (:id, :id, :plan)"),
                {"id": p["id"], "plan": p["plan"]},
            )
        s.execute(
            text(
                "INSERT INTO users (email, name, password_hash, role, active) "
                "VALUES ('admin@bench.test', 'Bench', 'x', 'admin', :t)"
            ),
            {"t": True},
        )
    person_of: dict[str, int] = {}
    key_of: dict[int, tuple[str | None, str | None]] = {}
    for i, p in enumerate(patients, 1):
        mk, nk = identity(
            Patient(
                member_id=p["member_id"], last_name=p["last_name"], first_name=p["first_name"], dob=p["dob"]
            )
        )
        dob = date.fromisoformat(p["dob"])
        w.add("persons", (i, mk, nk, p["member_id"], p["last_name"], p["first_name"], dob, p.get("sex")))
        w.add("charts", (p["id"][:3], i, p["id"]))
        person_of[p["member_id"]] = i
        key_of[i] = (mk, nk)
    w.flush()
    t_people = time.perf_counter()

    ids = dict.fromkeys(("enc", "line", "run", "remit", "rclaim", "rline"), 0)

    def encounter(b: dict[str, Any], work: str, status: str, charge: float | None, ack: Any = None) -> int:
        ids["enc"] += 1
        pk = ids["enc"]
        practice, member, eid, payer, dos, pos, npi, doc, number = b["enc"]
        person = person_of[member]
        w.add(
            "encounters",
            (pk, practice, person, eid, payer, dos, pos, npi, doc, charge, status, work, "bench", ack, None,
             number),
        )  # fmt: skip
        for ln in b["lines"]:
            ids["line"] += 1
            w.add("claim_lines", (ids["line"], pk, *ln, None))
        for sv in b["services"]:
            w.add("stored_services", (pk, person, *sv))
        return pk

    pool = mp.get_context("fork").Pool(workers, initializer=_init)
    share = n_lines / len(patients)
    hist_args = [
        (list(part), max(1, round(share * len(part))), seed + 1 + k, start)
        for k, part in enumerate(_chunks(patients, PATIENTS_PER_CHUNK))
    ]
    hist_lines = 0
    for chunk in pool.imap(history_chunk, hist_args):
        for b in chunk:
            encounter(b, "history", "unscrubbed", None)
            hist_lines += len(b["lines"])
    w.flush()
    n_history = ids["enc"]
    t_history = time.perf_counter()

    now_day = start + timedelta(days=365)
    claim_args = []
    left = n_claims
    k = 0
    while left > 0:
        n = min(CLAIMS_PER_CHUNK, left)
        part = rng.sample(patients, min(len(patients), max(n // 2, 50)))
        claim_args.append((part, n, seed + 1000 + k, start))
        left -= n
        k += 1
    for chunk in pool.imap(claims_chunk, claim_args):
        for b in chunk:
            ack = b.get("ack")
            first_line = ids["line"] + 1
            pk = encounter(b, "open", b["status"], b["charge"], ack)
            practice, member, eid, payer, dos, _pos, npi, _doc, _number = b["enc"]
            ids["run"] += 1
            w.add("scrub_runs", (ids["run"], pk, *b["run"]))
            for f in b["findings"]:
                w.add("findings", (ids["run"], *f))
            if "auth" in b:
                number, codes, sessions, s_date, e_date = b["auth"]
                w.add(
                    "authorizations",
                    (practice, person_of[member], number, payer, member, codes, sessions, s_date, e_date, npi,
                     "approved"),
                )  # fmt: skip
            if ack is not None:
                codes = json.dumps(["A7:562:85"] if ack == "rejected" else ["A1:20"])
                why = "the payer's front end rejected the claim" if ack == "rejected" else "accepted"
                w.add(
                    "claim_acks",
                    (practice, pk, "277CA", eid, ack, codes, why, "[]", dos + timedelta(days=2)),
                )
            if "remit" in b:
                ids["remit"] += 1
                ids["rclaim"] += 1
                w.add(
                    "remittances",
                    (
                        ids["remit"],
                        practice,
                        payer,
                        f"T{ids['remit']}",
                        100.0,
                        dos + timedelta(days=30),
                        True,
                    ),
                )
                w.add(
                    "remit_claims",
                    (ids["rclaim"], ids["remit"], practice, eid, "1", b["charge"], 50.0, 0.0, pk),
                )
                for i, (code, mods, units, denied, carc) in enumerate(b["remit"]):
                    ids["rline"] += 1
                    w.add(
                        "remit_lines",
                        (ids["rline"], ids["rclaim"], practice, code, mods, units, 100.0,
                         0.0 if denied else 80.0, 0.0 if denied else 80.0, dos, "[]", "[]",
                         first_line + i, denied, "open"),
                    )  # fmt: skip
                    w.add(
                        "remit_adjustments",
                        (ids["rline"], "CO", carc if denied else "45", 100.0 if denied else 20.0),
                    )
    pool.close()
    pool.join()
    w.close()
    t_claims = time.perf_counter()
    with db.engine.connect() as conn:
        if w.pg:
            for table in ("persons", "charts", "encounters", "claim_lines", "stored_services", "scrub_runs"):
                conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
                )
            for table in ("findings", "remittances", "remit_claims", "remit_lines", "remit_adjustments"):
                conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT coalesce(max(id), 1) FROM {table}))"
                )
            for table in ("authorizations", "claim_acks", "users"):
                conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT coalesce(max(id), 1) FROM {table}))"
                )
        conn.commit()
    # the claims' authorization uses and the authorizations' keys (written by the function every write
    # path calls, over the claims that carry a number; the stored services above came from the workers),
    # and every claim's patient name (the function those writes call, here for every person)
    from painrcm.store.service_rows import refresh_numbered, refresh_patient_names

    with db.session() as s:
        refresh_numbered(s)
        refresh_patient_names(s)
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        # statistics, and on PostgreSQL the visibility map index-only scans need
        conn.exec_driver_sql("VACUUM ANALYZE" if w.pg else "ANALYZE")
    t_end = time.perf_counter()
    _ = now_day, key_of
    return {
        "patients": len(patients),
        "person_rows_sharing_a_name_key": 2 * len(twins),
        "history_encounters": n_history,
        "history_lines": hist_lines,
        "claims": n_claims,
        "rows": dict(w.written),
        "people_s": round(t_people - t0, 1),
        "history_s": round(t_history - t_people, 1),
        "claims_s": round(t_claims - t_history, 1),
        "analyze_s": round(t_end - t_claims, 1),
        "total_s": round(t_end - t0, 1),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", required=True, help="database URL of an empty database")
    ap.add_argument("--claims", type=int, default=100_000)
    ap.add_argument("--history", type=int, default=1_000_000, help="history service lines")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    t = time.process_time()
    g = generate(Database(args.db), args.claims, args.history, args.seed, args.workers)
    g["main_process_cpu_s"] = round(time.process_time() - t, 1)
    print(json.dumps(g, default=str, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
