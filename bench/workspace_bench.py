"""Workspace at a billing company's scale (a script, not a test): generate a workspace database with
N open claims and about M history service lines, then time the queues, the frequency watch and the
dashboard (p50/p95 over repeated calls of the same functions the API and pages call), and an import
of a claim file into it.

    .venv/bin/python bench/workspace_bench.py --db sqlite:////tmp/ws.db --claims 100000 --history 1000000
    .venv/bin/python bench/workspace_bench.py --db postgresql+psycopg://postgres@127.0.0.1/ws_bench ...
    .venv/bin/python bench/workspace_bench.py --db ... --skip-generate          # time an existing one

Generating writes rows with bulk INSERTs (not through the importer, which is what the import
timing measures): practices, persons and charts of a synthetic patient pool; history encounters
(`synth.iter_history`: care pathways with coded lines, two years before the claims); open claims with
coded lines (a fifth with a repeated line), each scrubbed (without history, for speed) with its
findings stored; remittances for a third of the claims with a quarter of the lines denied; and
authorizations for the claims that carry a number. Synthetic data only.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, text

from painrcm import synth
from painrcm.codes.loader import load_reference
from painrcm.model import Patient
from painrcm.policy.loader import load_policies
from painrcm.scrub import Engine, scrub_encounter
from painrcm.store import models as m
from painrcm.store.db import Database
from painrcm.store.services import identity

BATCH = 5000


def _flush(s: Any, table: Any, rows: list[dict[str, Any]]) -> None:
    if rows:
        s.execute(insert(table), rows)
        rows.clear()


def generate(db: Database, engine: Engine, n_claims: int, n_lines: int, seed: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    rng = random.Random(seed)
    patients = synth.make_patients(max(1000, n_lines // 12, n_claims // 3), seed)
    start = synth.DEFAULT_START + timedelta(days=1)
    person_of: dict[str, int] = {}
    with db.session() as s:
        for p in synth.PRACTICES:
            s.add(m.Practice(id=p["id"], name=p["name"], npi=p["npi"], kind=p["kind"], state=p["state"]))
        for p in synth.PAYERS:
            s.add(m.Payer(id=p["id"], name=p["id"], plan=p["plan"]))
        s.add(m.User(email="admin@bench.test", name="Bench", password_hash="x", role="admin"))
        s.flush()
        persons, charts = [], []
        for i, p in enumerate(patients, 1):
            mk, nk = identity(
                Patient(
                    member_id=p["member_id"],
                    last_name=p["last_name"],
                    first_name=p["first_name"],
                    dob=p["dob"],
                )
            )
            persons.append(
                {
                    "id": i,
                    "member_key": mk,
                    "name_key": nk,
                    "member_id": p["member_id"],
                    "last_name": p["last_name"],
                    "first_name": p["first_name"],
                    "dob": date.fromisoformat(p["dob"]),
                    "sex": p.get("sex"),
                }
            )
            charts.append({"practice_id": p["id"].split("-")[0], "person_id": i, "chart_id": p["id"]})
            person_of[p["member_id"]] = i
        for part in range(0, len(persons), BATCH):
            s.execute(insert(m.Person), persons[part : part + BATCH])
            s.execute(insert(m.Chart), charts[part : part + BATCH])
    t_people = time.perf_counter()

    # history: earlier claims with their coded lines (as stored from 837 files), two years back
    pk = 0
    lines = 0
    line_pk = 0
    rows: list[dict[str, Any]] = []
    hist_lines: list[dict[str, Any]] = []
    with db.session() as s:
        for enc in synth.iter_history(
            n_lines, seed + 1, patients=patients, end=start, days=730, engine=engine
        ):
            pk += 1
            doc = enc.model_dump(mode="json", by_alias=True, exclude_none=True)
            rows.append(_encounter_row(pk, doc, person_of, "history", "unscrubbed"))
            for i, ln in enumerate(enc.lines or [], 1):
                line_pk += 1
                hist_lines.append(
                    {
                        "id": line_pk,
                        "encounter_pk": pk,
                        "line_no": i,
                        "code": ln.code,
                        "modifiers": list(ln.modifiers),
                        "units": ln.units,
                        "diagnosis_pointers": list(ln.diagnosis_pointers or []),
                        "date_of_service": ln.date_of_service,
                        "authorization_number": ln.authorization_number,
                        "charge": None,
                        "control_number": None,
                    }
                )
            lines += len(enc.lines or [])
            if len(rows) >= BATCH:
                _flush(s, m.Encounter, rows)
                _flush(s, m.ClaimLine, hist_lines)
        _flush(s, m.Encounter, rows)
        _flush(s, m.ClaimLine, hist_lines)
    n_history = pk
    t_history = time.perf_counter()

    claims = synth.generate_encounters(
        n_claims, seed + 2, start=start, days=365, patients=patients, engine=engine
    )
    t_gen = time.perf_counter()
    enc_rows: list[dict[str, Any]] = []
    line_rows: list[dict[str, Any]] = []
    run_rows: list[dict[str, Any]] = []
    finding_rows: list[dict[str, Any]] = []
    remit_rows: list[dict[str, Any]] = []
    rclaim_rows: list[dict[str, Any]] = []
    rline_rows: list[dict[str, Any]] = []
    adj_rows: list[dict[str, Any]] = []
    auth_rows: list[dict[str, Any]] = []
    run_pk = remit_pk = rclaim_pk = rline_pk = 0
    now = datetime.now(UTC)
    with db.session() as s:
        for enc in claims:
            if rng.random() < 0.2 and enc.lines:
                enc.lines.append(enc.lines[0].model_copy(deep=True))
            result = scrub_encounter(enc, engine)
            pk += 1
            doc = enc.model_dump(mode="json", by_alias=True, exclude_none=True)
            row = _encounter_row(pk, doc, person_of, "open", result.status)
            row["total_charge"] = 100.0 * len(enc.lines or [])
            enc_rows.append(row)
            first_line = line_pk + 1
            for i, ln in enumerate(enc.lines or [], 1):
                line_pk += 1
                line_rows.append(
                    {
                        "id": line_pk,
                        "encounter_pk": pk,
                        "line_no": i,
                        "code": ln.code,
                        "modifiers": list(ln.modifiers),
                        "units": ln.units,
                        "diagnosis_pointers": list(ln.diagnosis_pointers or []),
                        "date_of_service": ln.date_of_service,
                        "authorization_number": ln.authorization_number or enc.authorization_number,
                        "charge": 100.0,
                        "control_number": None,
                    }
                )
            run_pk += 1
            run_rows.append(
                {
                    "id": run_pk,
                    "encounter_pk": pk,
                    "run_at": now,
                    "status": result.status,
                    "policy_id": result.payer_policy,
                    "editions": result.editions,
                    "not_checked": [],
                    "fixed_lines": None,
                    "user_id": None,
                }
            )
            for f in result.findings:
                finding_rows.append(
                    {
                        "run_id": run_pk,
                        "edit": f.edit,
                        "severity": f.severity.value,
                        "line": f.line,
                        "code": f.code,
                        "message": f.message,
                        "fix": f.fix,
                    }
                )
            if enc.authorization_number:
                auth_rows.append(
                    {
                        "practice_id": row["practice_id"],
                        "person_id": row["person_id"],
                        "auth_number": enc.authorization_number,
                        "payer_id": enc.payer.id,
                        "member_id": enc.patient.member_id or "",
                        "codes": [ln.code for ln in enc.lines or []][:3],
                        "sessions": rng.choice((1, 2, 3)),
                        "start_date": enc.date_of_service - timedelta(days=20),
                        "end_date": enc.date_of_service + timedelta(days=rng.randint(-10, 120)),
                        "rendering_npi": enc.rendering_provider.npi,
                        "status": "approved",
                    }
                )
            if rng.random() < 0.33:
                remit_pk += 1
                rclaim_pk += 1
                remit_rows.append(
                    {
                        "id": remit_pk,
                        "practice_id": row["practice_id"],
                        "payer_name": enc.payer.id,
                        "trace_number": f"T{remit_pk}",
                        "payment_amount": 100.0,
                        "payment_date": enc.date_of_service + timedelta(days=30),
                        "reconciled": True,
                    }
                )
                rclaim_rows.append(
                    {
                        "id": rclaim_pk,
                        "remittance_id": remit_pk,
                        "practice_id": row["practice_id"],
                        "patient_control_number": enc.encounter_id,
                        "status_code": "1",
                        "billed": row["total_charge"],
                        "paid": 50.0,
                        "patient_responsibility": 0.0,
                        "encounter_pk": pk,
                    }
                )
                for i, ln in enumerate(enc.lines or []):
                    rline_pk += 1
                    denied = rng.random() < 0.25
                    rline_rows.append(
                        {
                            "id": rline_pk,
                            "remit_claim_id": rclaim_pk,
                            "practice_id": row["practice_id"],
                            "code": ln.code,
                            "modifiers": list(ln.modifiers),
                            "units": ln.units,
                            "billed": 100.0,
                            "allowed": 0.0 if denied else 80.0,
                            "paid": 0.0 if denied else 80.0,
                            "date_of_service": enc.date_of_service,
                            "remarks": [],
                            "preventing_edits": [],
                            "claim_line_id": first_line + i,
                            "denied": denied,
                            "work_status": "open",
                        }
                    )
                    adj_rows.append(
                        {
                            "remit_line_id": rline_pk,
                            "group_code": "CO",
                            "reason_code": rng.choice(("97", "151", "119", "50")) if denied else "45",
                            "amount": 100.0 if denied else 20.0,
                        }
                    )
            if len(enc_rows) >= BATCH:
                _write(
                    s,
                    enc_rows,
                    line_rows,
                    run_rows,
                    finding_rows,
                    remit_rows,
                    rclaim_rows,
                    rline_rows,
                    adj_rows,
                    auth_rows,
                )
        _write(
            s,
            enc_rows,
            line_rows,
            run_rows,
            finding_rows,
            remit_rows,
            rclaim_rows,
            rline_rows,
            adj_rows,
            auth_rows,
        )
    with db.session() as s:
        if db.engine.dialect.name == "postgresql":
            for table in (
                "persons",
                "charts",
                "encounters",
                "claim_lines",
                "scrub_runs",
                "remittances",
                "remit_claims",
                "remit_lines",
            ):
                s.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
                    )
                )
            s.execute(text("ANALYZE"))
        else:
            s.execute(text("ANALYZE"))
    t_end = time.perf_counter()
    return {
        "patients": len(patients),
        "history_encounters": n_history,
        "history_lines": lines,
        "claims": n_claims,
        "people_s": t_people - t0,
        "history_s": t_history - t_people,
        "claims_generate_s": t_gen - t_history,
        "claims_store_s": t_end - t_gen,
        "total_s": t_end - t0,
    }


def _write(
    s: Any,
    enc: list,
    lines: list,
    runs: list,
    findings: list,
    remits: list,
    rclaims: list,
    rlines: list,
    adjs: list,
    auths: list,
) -> None:
    _flush(s, m.Encounter, enc)
    _flush(s, m.ClaimLine, lines)
    _flush(s, m.ScrubRun, runs)
    _flush(s, m.Finding, findings)
    _flush(s, m.Remittance, remits)
    _flush(s, m.RemitClaim, rclaims)
    _flush(s, m.RemitLine, rlines)
    _flush(s, m.RemitAdjustment, adjs)
    _flush(s, m.Authorization, auths)


def _encounter_row(
    pk: int, d: dict[str, Any], person_of: dict[str, int], work: str, status: str
) -> dict[str, Any]:
    return {
        "id": pk,
        "practice_id": d["practice"]["id"],
        "person_id": person_of[d["patient"]["member_id"]],
        "encounter_id": d["encounter_id"],
        "payer_id": d["payer"]["id"],
        "date_of_service": date.fromisoformat(str(d["date_of_service"])),
        "place_of_service": d["place_of_service"],
        "rendering_npi": d["rendering_provider"].get("npi"),
        "document": json.loads(json.dumps(d, default=str)),
        "total_charge": None,
        "status": status,
        "work_status": work,
        "source": "bench",
    }


def timed(label: str, fn: Callable[[int], Any], runs: int) -> dict[str, float]:
    lat = []
    for i in range(runs):
        t = time.perf_counter()
        fn(i)
        lat.append(time.perf_counter() - t)
    lat.sort()
    p95 = lat[min(len(lat) - 1, round(0.95 * (len(lat) - 1)))]
    print(
        f"  {label:<28} p50 {statistics.median(lat) * 1e3:8.1f} ms   p95 {p95 * 1e3:8.1f} ms   ({runs} calls)"
    )
    return {"p50_ms": statistics.median(lat) * 1e3, "p95_ms": p95 * 1e3}


def measure(db: Database, engine: Engine, runs: int) -> dict[str, Any]:
    from painrcm.store import queries_claims as qc
    from painrcm.store import queries_work as qw

    on = synth.DEFAULT_START + timedelta(days=300)
    out = {}
    with db.session() as s:
        user = s.scalars(select(m.User).where(m.User.role == "admin")).first()
        assert user is not None
        sorts = ("age", "charge", "status")
        out["claim queue"] = timed(
            "claim queue (page)",
            lambda i: qc.claim_queue(
                s,
                user,
                qc.parse_filters(
                    page=1 + i % 5, sort=sorts[i % 3], status=("problems", "error", "any")[i % 3]
                ),
            ),
            runs,
        )
        out["denial queue"] = timed("denial queue", lambda i: qw.list_denials(s, user), runs)
        out["authorizations"] = timed(
            "authorization tracker", lambda i: qw.authorization_tracker(s, user, engine.policies, on=on), runs
        )
        out["dashboard"] = timed("dashboard", lambda i: qc.dashboard(s, user), runs)
        out["frequency watch"] = timed(
            "frequency watch",
            lambda i: qw.frequency_watch(s, user, engine, on=on, audit=False),
            max(3, runs // 4),
        )
        s.rollback()
    return out


def import_rate(db: Database, engine: Engine, n: int, seed: int) -> float:
    from painrcm.store.imports import import_bytes

    patients = synth.make_patients(max(1000, n // 3), seed + 5)
    docs = synth.generate_encounter_dicts(
        n,
        seed + 9,
        start=synth.DEFAULT_START + timedelta(days=1),
        patients=patients,
        policies=engine.policies,
    )
    for d in docs:
        d["encounter_id"] = "IMP-" + d["encounter_id"]
    data = json.dumps(docs).encode()
    t = time.perf_counter()
    with db.session() as s:
        res = import_bytes(
            s,
            engine,
            kind="encounters",
            data=data,
            file_name="bench-import.json",
            practice_id=None,
            user_id=None,
        )
    secs = time.perf_counter() - t
    print(f"  import of {n:,} claims (coded and scrubbed): {secs:.1f} s = {res.added / secs:,.0f} claims/s")
    return res.added / secs


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", required=True, help="database URL (an empty database, unless --skip-generate)")
    ap.add_argument("--claims", type=int, default=10_000)
    ap.add_argument("--history", type=int, default=100_000, help="history service lines")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--import-claims", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--skip-generate", action="store_true")
    args = ap.parse_args()
    engine = Engine(load_reference(), load_policies())
    db = Database(args.db)
    if not args.skip_generate:
        g = generate(db, engine, args.claims, args.history, args.seed)
        print(
            "generated: "
            + ", ".join(f"{k} {v:,.1f}" if isinstance(v, float) else f"{k} {v:,}" for k, v in g.items())
        )
    print(f"{db.engine.dialect.name}: timings")
    measure(db, engine, args.runs)
    if args.import_claims:
        import_rate(db, engine, args.import_claims, args.seed)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
