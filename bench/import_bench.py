"""Workspace imports at a billing company's scale (a script, not a test): claims per second of an 837P
file and an encounter JSON file imported as a background job does it (`store.imports.import_file`: read,
one short write transaction for the file, scrubbed outside it, runs kept per chunk), into a workspace
that already holds the file's patients' history, on SQLite and PostgreSQL.

    .venv/bin/python bench/import_bench.py --claims 2000 10000
    # before/after in one run: unpack another revision and run both, interleaved, on copies of one seed
    git archive main | tar -x -C /tmp/painrcm-main
    .venv/bin/python bench/import_bench.py --compare /tmp/painrcm-main/src --claims 2000

Each import runs in a fresh child process (PYTHONPATH set to the tree measured) on a fresh copy of a
seeded database (SQLite: a file copy; PostgreSQL: CREATE DATABASE ... TEMPLATE, databases named
`importbench_*` or `$PAINRCM_BENCH_DB_PREFIX*`, dropped at the end). Reported per database, file kind, size and tree: wall time and
the child's CPU time with that of the processes it scrubs on (`PAINRCM_IMPORT_WORKERS`, `--workers`;
PostgreSQL's own work runs in the server: its CPU is shown apart, read from /proc for the server
processes of the database when the server runs on this machine), as claims/s; `store only` is the
same import without scrubbing (`scrub=False`): the write path alone.
The seed: `workspace_bench.generate` (persons, charts, `--history` service lines of care pathways,
`--seed-claims` open claims); the files' claims are new claims of the same patients.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
PG = os.environ.get("PAINRCM_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1")
PREFIX = os.environ.get("PAINRCM_BENCH_DB_PREFIX", "importbench").lower()  # PostgreSQL databases made here


def child(url: str, kind: str, file: str, scrub: bool) -> dict[str, Any]:
    """Run one import as the job runner does and time it (in this process)."""
    from painrcm.codes.loader import load_reference
    from painrcm.policy.loader import load_policies
    from painrcm.scrub import Engine
    from painrcm.store import models as m
    from painrcm.store.db import Database
    from painrcm.store.imports import file_hash, import_file

    engine = Engine(load_reference(), load_policies())
    db = Database(url)
    data = Path(file).read_bytes()
    with db.session() as s:
        job = m.ImportJob(
            kind=kind,
            file_name=Path(file).name,
            file_hash=file_hash(data),
            practice_id=None,
            status="running",
        )
        s.add(job)
        s.flush()
        job_id = job.id
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    server_before = _server_cpu(db)
    wall, cpu = time.perf_counter(), time.process_time()
    res = import_file(db, engine, job_id=job_id, data=data, scrub=scrub)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    # the import's scrubbing processes (a large file is scrubbed on a pool, PAINRCM_IMPORT_WORKERS)
    pool = (after.ru_utime - kids.ru_utime) + (after.ru_stime - kids.ru_stime)
    server = _server_cpu(db) - server_before
    db.engine.dispose()
    assert res.added == res.records, res.summary()
    return {
        "claims": res.records,
        "wall": wall,
        "cpu": cpu + pool,
        "pool_cpu": pool,
        "scrubbed": res.scrubbed,
        "server_cpu": server,
    }


def _server_cpu(db: Any) -> float:
    """CPU seconds the PostgreSQL server processes of this database have used so far (read from /proc:
    the server runs on this machine; the pool keeps the import's connections open until disposed).
    0 on SQLite or when the processes cannot be read."""
    if db.engine.dialect.name != "postgresql":
        return 0.0
    from sqlalchemy import text

    with db.engine.connect() as c:
        pids = list(
            c.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")).scalars()
        )
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return total


def _pg_admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(PG.replace("postgresql+psycopg", "postgresql") + "/postgres", autocommit=True) as c:
        c.execute(sql)


class Seeds:
    """A seeded database per backend and fresh copies of it."""

    def __init__(self, tmp: Path, backends: list[str], args: argparse.Namespace) -> None:
        sys.path.insert(0, str(HERE))
        import workspace_bench as wb

        from painrcm.store.db import Database

        self.tmp, self.n, self.made = tmp, 0, []
        for backend in backends:
            url = self._url(backend, f"{PREFIX}_seed")
            if backend == "postgresql":
                _pg_admin(f"DROP DATABASE IF EXISTS {PREFIX}_seed")
                _pg_admin(f"CREATE DATABASE {PREFIX}_seed")
                self.made.append(f"{PREFIX}_seed")
            db = Database(url)
            t = time.perf_counter()
            wb.generate(db, args.seed_claims, args.history, args.seed)
            db.engine.dispose()
            print(f"seeded {backend} in {time.perf_counter() - t:.0f} s", flush=True)

    def _url(self, backend: str, name: str) -> str:
        return f"sqlite:///{self.tmp / name}.db" if backend == "sqlite" else f"{PG}/{name}"

    def fresh(self, backend: str) -> str:
        self.n += 1
        name = f"{PREFIX}_{os.getpid()}_{self.n}"
        if backend == "sqlite":
            shutil.copy(self.tmp / f"{PREFIX}_seed.db", self.tmp / f"{name}.db")
        else:
            _pg_admin(f"CREATE DATABASE {name} TEMPLATE {PREFIX}_seed")
            self.made.append(name)
        return self._url(backend, name)

    def drop(self, url: str) -> None:
        if url.startswith("sqlite"):
            for f in self.tmp.glob(Path(url.split("///", 1)[1]).name + "*"):
                f.unlink()
        else:
            name = url.rsplit("/", 1)[1]
            _pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            self.made.remove(name)

    def close(self) -> None:
        for name in list(self.made):
            _pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def make_files(tmp: Path, sizes: list[int], args: argparse.Namespace) -> dict[tuple[str, int], Path]:
    from painrcm import synth
    from painrcm.codes.loader import load_reference
    from painrcm.policy.loader import load_policies
    from painrcm.scrub import Engine
    from painrcm.x12.writer837 import write_837

    engine = Engine(load_reference(), load_policies())
    # the seed's patient pool (workspace_bench.generate), so the files' patients have a history
    patients = synth.make_patients(max(1000, args.history // 12, args.seed_claims // 3), args.seed)
    start = synth.DEFAULT_START + timedelta(days=1)
    out = {}
    for n in sizes:
        docs = synth.generate_encounter_dicts(
            n, args.seed + 9, start=start, patients=patients, policies=engine.policies
        )
        for d in docs:
            d["encounter_id"] = "IMP-" + d["encounter_id"]
        out[("encounters", n)] = tmp / f"claims-{n}.json"
        out[("encounters", n)].write_text(json.dumps(docs))
        encs = synth.generate_encounters(n, args.seed + 11, start=start, patients=patients, engine=engine)
        for e in encs:
            e.encounter_id = "X" + e.encounter_id
        out[("x12_837", n)] = tmp / f"claims-{n}.837"
        out[("x12_837", n)].write_text(write_837(encs))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--claims", type=int, nargs="+", default=[2000, 10000])
    ap.add_argument(
        "--kinds", nargs="+", default=["x12_837", "encounters"], choices=["x12_837", "encounters"]
    )
    ap.add_argument("--backends", nargs="+", default=["postgresql", "sqlite"])
    ap.add_argument("--history", type=int, default=20000, help="history service lines in the seed")
    ap.add_argument("--seed-claims", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--compare", help="another tree's src/ (e.g. main unpacked), run interleaved")
    ap.add_argument("--compare-max", type=int, default=10**9, help="largest file the other tree imports")
    ap.add_argument(
        "--workers",
        type=int,
        help="PAINRCM_IMPORT_WORKERS for the imports (processes scrubbing a large file; 1: in-process)",
    )
    ap.add_argument("--no-store-only", action="store_true", help="skip the runs without scrubbing")
    ap.add_argument("--child", nargs=4, metavar=("URL", "KIND", "FILE", "SCRUB"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        url, kind, file, scrub = args.child
        print(json.dumps(child(url, kind, file, scrub == "1")))
        return 0
    trees = [("this tree", str(SRC))] + ([("compared", args.compare)] if args.compare else [])
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="importbench-") as d:
        tmp = Path(d)
        files = make_files(tmp, args.claims, args)
        seeds = Seeds(tmp, args.backends, args)
        try:
            for backend in args.backends:
                for n in args.claims:
                    for kind in args.kinds:
                        for scrub in [True] + ([] if args.no_store_only else [False]):
                            for label, src in trees:
                                if label == "compared" and n > args.compare_max:
                                    continue
                                url = seeds.fresh(backend)
                                env = {**os.environ, "PYTHONPATH": src}
                                if args.workers is not None:
                                    env["PAINRCM_IMPORT_WORKERS"] = str(args.workers)
                                cmd = [sys.executable, __file__, "--child", url, kind, str(files[(kind, n)])]
                                out = subprocess.run(
                                    [*cmd, "1" if scrub else "0"],
                                    check=False,
                                    env=env,
                                    capture_output=True,
                                    text=True,
                                )
                                seeds.drop(url)
                                if out.returncode != 0:
                                    print(out.stderr[-2000:], file=sys.stderr)
                                    return 1
                                r = json.loads(out.stdout.strip().splitlines()[-1])
                                r.update(backend=backend, kind=kind, tree=label, scrub=scrub)
                                results.append(r)
                                what = "scrubbed  " if scrub else "store only"
                                print(
                                    f"{backend:<10} {kind:<10} {n:>6,} {what} {label:<9}: "
                                    f"{r['wall']:7.1f} s wall = {n / r['wall']:7,.0f} claims/s;  "
                                    f"{r['cpu']:7.1f} s CPU = {n / r['cpu']:7,.0f} claims/CPU-s"
                                    + (
                                        f";  server {r['server_cpu']:5.1f} CPU-s"
                                        if r.get("server_cpu")
                                        else ""
                                    ),
                                    flush=True,
                                )
        finally:
            seeds.close()
    if args.compare:
        # a size given several times (--claims 10000 10000 10000) is measured in as many interleaved
        # rounds: medians per tree, then their ratio
        print("\nmedians over the rounds, and ratios (this tree / compared, claims/s; same run):")
        groups: dict[tuple[Any, ...], dict[str, list[dict[str, Any]]]] = {}
        for r in results:
            key = (r["backend"], r["kind"], r["claims"], r["scrub"])
            groups.setdefault(key, {}).setdefault(r["tree"], []).append(r)
        for (backend, kind, n, scrub), trees_of in groups.items():
            if "compared" not in trees_of or "this tree" not in trees_of:
                continue
            med = {
                t: {k: statistics.median(x[k] for x in rs) for k in ("wall", "cpu", "server_cpu")}
                for t, rs in trees_of.items()
            }
            here, other = med["this tree"], med["compared"]
            what = "scrubbed  " if scrub else "store only"
            rounds = min(len(v) for v in trees_of.values())
            print(
                f"  {backend:<10} {kind:<10} {n:>6,} {what} ({rounds} rounds): "
                f"wall {n / other['wall']:,.0f} -> {n / here['wall']:,.0f} claims/s "
                f"(x{other['wall'] / here['wall']:.2f}), "
                f"CPU {other['cpu']:.2f} -> {here['cpu']:.2f} s (x{other['cpu'] / here['cpu']:.2f})"
                + (
                    f", server {other['server_cpu']:.2f} -> {here['server_cpu']:.2f} CPU-s"
                    if here["server_cpu"] or other["server_cpu"]
                    else ""
                )
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
