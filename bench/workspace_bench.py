"""Workspace at a billing company's scale (a script, not a test): generate a workspace database with
N open claims and about M history service lines, then time the queues, the frequency watch and the
dashboard (p50/p95 over repeated calls of the same functions the API and pages call: a page of 100
rows of each list, pages 1-5, several sorts and filters; the watch's first read of a date, which
computes its stored standings, timed apart), and an import of a claim file into it.

    .venv/bin/python bench/workspace_bench.py --db sqlite:////tmp/ws.db --claims 100000 --history 1000000
    .venv/bin/python bench/workspace_bench.py --db postgresql+psycopg://postgres@127.0.0.1/ws_bench ...
    .venv/bin/python bench/workspace_bench.py --db ... --skip-generate          # time an existing one

Generating is `bench/workspace_gen.py` (worker processes, COPY on PostgreSQL, executemany on
SQLite; not through the importer, which is what the import timing measures): see its docstring for
what the workspace holds. Synthetic data only.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from workspace_gen import generate  # bench/ beside this script

from painrcm import synth
from painrcm.codes.loader import load_reference
from painrcm.policy.loader import load_policies
from painrcm.scrub import Engine
from painrcm.store import models as m
from painrcm.store.db import Database


def _p95(xs: list[float]) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(0.95 * (len(xs) - 1)))]


def timed(label: str, fn: Callable[[int], Any], runs: int) -> dict[str, float]:
    """Wall and CPU time of this process per call (on PostgreSQL the server's CPU is not in it; on a
    shared machine the CPU figure is the steadier one)."""
    lat, cpu = [], []
    for i in range(runs):
        t, c = time.perf_counter(), time.process_time()
        fn(i)
        lat.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    out = {
        "p50_ms": statistics.median(lat) * 1e3,
        "p95_ms": _p95(lat) * 1e3,
        "cpu_p50_ms": statistics.median(cpu) * 1e3,
        "cpu_p95_ms": _p95(cpu) * 1e3,
    }
    print(
        f"  {label:<24} wall p50 {out['p50_ms']:8.1f} p95 {out['p95_ms']:8.1f} ms | "
        f"cpu p50 {out['cpu_p50_ms']:8.1f} p95 {out['cpu_p95_ms']:8.1f} ms  ({runs} calls)"
    )
    return out


def measure(db: Database, engine: Engine, runs: int) -> dict[str, Any]:
    from painrcm.store import queries_claims as qc
    from painrcm.store import queries_work as qw
    from painrcm.store.queues import core as queues

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
        # the work queues (/queues/KIND): a page, sorted three ways
        for kind in queues.KINDS:
            out[f"work queue {kind}"] = timed(
                f"work queue {kind} (page)",
                lambda i, kind=kind: queues.list_queue(
                    s,
                    user,
                    kind,
                    queues.parse_filters(
                        kind, {"page": str(1 + i % 5), "sort": ("due", "age", "patient")[i % 3]}
                    ),
                    engine.policies,
                    audit=False,
                ),
                runs,
            )
        auth_sorts = ("urgency", "end_date", "payer")
        states = ("", "", "active", "expiring")
        out["authorizations"] = timed(
            "authorization tracker",
            lambda i: qw.authorization_page(
                s,
                user,
                engine.policies,
                qw.AuthFilters(
                    on=on.isoformat(), page=1 + i % 5, sort=auth_sorts[i % 3], state=states[i % 4]
                ),
            ),
            runs,
        )
        out["dashboard"] = timed("dashboard", lambda i: qc.dashboard(s, user), runs)
        # the watch reads the standings stored for its date: the first read of a date computes them
        # (once a day, or `painrcm admin refresh-services`); timed apart from the reads after it
        watch_sorts = ("standing", "next_payable", "patient")
        wstates = ("", "", "at_limit", "near_limit")
        cold = timed(
            "frequency watch, new date",
            lambda i: qw.frequency_page(s, user, engine, qw.WatchFilters(on=on.isoformat()), audit=False),
            1,
        )
        out["frequency watch"] = timed(
            "frequency watch",
            lambda i: qw.frequency_page(
                s,
                user,
                engine,
                qw.WatchFilters(
                    on=on.isoformat(), page=1 + i % 5, sort=watch_sorts[i % 3], state=wstates[i % 4]
                ),
                audit=False,
            ),
            runs,
        )
        out["frequency watch, new date"] = cold
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
    ap.add_argument("--workers", type=int, default=2, help="generator processes")
    args = ap.parse_args()
    engine = Engine(load_reference(), load_policies())
    db = Database(args.db)
    if not args.skip_generate:
        g = generate(db, args.claims, args.history, args.seed, args.workers)
        print("generated: " + json.dumps(g, default=str))
    print(
        f"{db.engine.dialect.name}: timings (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)"
    )
    measure(db, engine, args.runs)
    if args.import_claims:
        import_rate(db, engine, args.import_claims, args.seed)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
