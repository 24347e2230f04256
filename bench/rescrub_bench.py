"""Re-scrub throughput (a script, not a test): claims per second of `painrcm rescrub` with 1, 2 and 4
worker processes, on a local process pool and on real `rq worker` processes, over the same workspace
(one made by bench/workspace_bench.py), in one run.

    .venv/bin/python bench/rescrub_bench.py --db postgresql+psycopg://postgres@127.0.0.1/ws \\
        --template ws_tpl --workers 1 2 4 --rq-url redis://127.0.0.1:6379/9
    .venv/bin/python bench/rescrub_bench.py --db ... --profile 1000    # cProfile of one partition

Each run re-scrubs every open claim (a new scrub run per claim, as after a new NCCI quarter). With
--template the database is made again from that template database before each run (PostgreSQL), so
every run starts from the same book. With --rq-url the script starts N `rq worker -w
painrcm.store.worker.Worker` processes on a fresh queue, waits until they are up, re-scrubs over
them and stops them. Reported per run: wall time and claims/s; CPU time of the worker processes
(the pool's spawned processes, or the rq workers and their work horses, from /proc), of this
process (the coordinator), of the PostgreSQL backends serving the database (sampled) and of the
whole PostgreSQL server (which other work on the machine shares); and each figure's ratio to the
1-worker run of the same runner. On a 2-core machine, wall-time speed-up stops at 2 (less, since
PostgreSQL shares the cores); the CPU per claim shows whether more workers add overhead.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import resource
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Self

from sqlalchemy import create_engine, make_url, text

from painrcm.store.rescrub import (
    Selection,
    current_engine,
    partition,
    rescrub,
    rescrub_partition,
    select_claims,
)

TICK = os.sysconf("SC_CLK_TCK")


def _proc_cpu(pid: int, children: bool = True) -> float:
    """utime + stime (+ waited-for children) of a process, seconds."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = int(fields[11]) + int(fields[12]) + ((int(fields[13]) + int(fields[14])) if children else 0)
    return ticks / TICK


def _postgres_cpu() -> float:
    """The PostgreSQL server's CPU: its live processes, and (in the postmaster's waited-for children)
    the backends that have exited."""
    total = 0.0
    pids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if (d / "comm").read_text().strip() in ("postgres", "postmaster"):
                    pids.append(int(d.name))
            except OSError:
                continue
    for pid in pids:
        try:
            parent = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except OSError:
            continue
        total += _proc_cpu(pid, children=parent not in pids)  # the postmaster: with its exited children
    return total


class _BackendCpu:
    """CPU time of the PostgreSQL backends serving one database (the server is shared with other
    work): sampled from /proc while the run lasts, so backends that exit during it are counted up
    to their last sample (at most one interval short)."""

    def __init__(self, dbname: str, interval: float = 0.2) -> None:
        self.dbname, self.interval = dbname, interval
        self.seen: dict[int, float] = {}
        self.start: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> dict[int, float]:
        out = {}
        for d in Path("/proc").iterdir():
            if d.name.isdigit():
                try:
                    cmd = (d / "cmdline").read_bytes()
                except OSError:
                    continue
                if cmd.startswith(b"postgres:") and f" {self.dbname} ".encode() in cmd:
                    out[int(d.name)] = _proc_cpu(int(d.name), children=False)
        return out

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            for pid, cpu in self._sample().items():
                self.seen[pid] = max(cpu, self.seen.get(pid, 0.0))

    def __enter__(self) -> Self:
        self.start = self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        for pid, cpu in self._sample().items():
            self.seen[pid] = max(cpu, self.seen.get(pid, 0.0))

    @property
    def seconds(self) -> float:
        return sum(cpu - self.start.get(pid, 0.0) for pid, cpu in self.seen.items())


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _reset(db_url: str, template: str | None) -> None:
    if not template:
        return
    url = make_url(db_url)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
        c.execute(text(f'CREATE DATABASE "{url.database}" TEMPLATE "{template}"'))
    admin.dispose()


def _start_rq(url: str, queue: str, n: int) -> list[subprocess.Popen[bytes]]:
    from redis import Redis
    from rq import Queue, Worker

    rq = Path(sys.executable).with_name("rq")
    procs = [
        subprocess.Popen(
            [
                str(rq),
                "worker",
                "-w",
                "painrcm.store.worker.Worker",
                "--url",
                url,
                "--name",
                f"{queue}-{i}",
                queue,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for i in range(n)
    ]
    conn = Redis.from_url(url)
    deadline = time.monotonic() + 60
    while len(Worker.all(queue=Queue(queue, connection=conn))) < n:
        if time.monotonic() > deadline:
            raise RuntimeError("rq workers did not start")
        time.sleep(0.2)
    time.sleep(1)
    return procs


def run(args: argparse.Namespace, runner: str, n: int) -> dict[str, Any]:
    _reset(args.db, args.template)
    sel = Selection(practice=args.practice)
    procs: list[subprocess.Popen[bytes]] = []
    if runner == "rq":
        queue = f"painrcm-rescrub-bench-{uuid.uuid4().hex[:6]}"
        os.environ["PAINRCM_RQ_QUEUE"] = queue
        procs = _start_rq(args.rq_url, queue, n)
    try:
        pg0, me0, kids0 = _postgres_cpu(), time.process_time(), _children_cpu()
        rq0 = sum(_proc_cpu(p.pid) for p in procs)
        with _BackendCpu(str(make_url(args.db).database)) as backends:
            r = rescrub(args.db, sel, workers=n, redis_url=args.rq_url if runner == "rq" else "")
        rq1 = sum(_proc_cpu(p.pid) for p in procs)
        me, pg = time.process_time() - me0, _postgres_cpu() - pg0
        workers_cpu = (rq1 - rq0) if runner == "rq" else _children_cpu() - kids0
        if runner == "local" and n == 1:
            workers_cpu, me = me, 0.0  # one worker runs in this process
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=30)
    return {
        "runner": runner, "workers": n, "claims": r.claims, "partitions": r.partitions, "wall": r.seconds,
        "rate": r.claims_per_second, "workers_cpu": workers_cpu, "partition_cpu": r.cpu_seconds,
        "coordinator_cpu": me, "postgres_cpu": pg, "backends_cpu": backends.seconds, "changed": len(r.changes),
        "processes": len(r.worker_processes),
    }  # fmt: skip


def profile(args: argparse.Namespace) -> None:
    from painrcm.store.db import Database

    db = Database(args.db, migrate=False)
    with db.session() as s:
        claims = select_claims(s, Selection(practice=args.practice))
    parts = partition(claims, max(1, len(claims) // args.profile))
    engine = current_engine(warm=True)
    rescrub_partition(args.db, parts[-1][:50], None, engine, db=db)  # connections, lazy tables
    c0, w0 = time.process_time(), time.perf_counter()
    prof = cProfile.Profile()
    prof.enable()
    rescrub_partition(args.db, parts[0], None, engine, db=db)
    prof.disable()
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    print(f"one partition of {len(parts[0])} claims: {cpu:.2f} CPU-s ({len(parts[0]) / cpu:,.0f} claims/CPU-s), "
          f"{wall:.2f} s wall")  # fmt: skip
    pstats.Stats(prof).sort_stats("cumulative").print_stats(40)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", required=True)
    ap.add_argument("--template", default=None, help="PostgreSQL database to copy --db from before each run")
    ap.add_argument("--workers", type=int, nargs="*", default=[1, 2, 4])
    ap.add_argument(
        "--rq-url", default=None, help="also run over rq workers on this Redis (its own db number)"
    )
    ap.add_argument("--no-local", action="store_true", help="only the rq runs")
    ap.add_argument("--practice", default=None, help="only this practice's claims (a smaller run)")
    ap.add_argument("--profile", type=int, default=0, help="cProfile one partition of this many claims")
    args = ap.parse_args()
    if args.profile:
        profile(args)
        return 0
    runners = ([] if args.no_local else ["local"]) + (["rq"] if args.rq_url else [])
    print(f"{os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f}")
    for runner in runners:
        base: dict[str, Any] | None = None
        for n in args.workers:
            r = run(args, runner, n)
            base = base or r
            per_claim = 1000 * r["workers_cpu"] / max(1, r["claims"])
            base_per_claim = 1000 * base["workers_cpu"] / max(1, base["claims"])
            print(
                f"{runner:5} {n} worker(s): {r['claims']:,} claims, {r['partitions']} partitions on "
                f"{r['processes']} process(es): wall {r['wall']:.1f} s = {r['rate']:,.0f} claims/s "
                f"(x{r['rate'] / base['rate']:.2f}); worker CPU {r['workers_cpu']:.1f} s = {per_claim:.2f} ms/claim "
                f"(x{per_claim / base_per_claim:.2f}); in partitions {r['partition_cpu']:.1f} s; "
                f"coordinator {r['coordinator_cpu']:.1f} s; PostgreSQL backends of this database "
                f"{r['backends_cpu']:.1f} s (whole server {r['postgres_cpu']:.1f} s); "
                f"{r['changed']} changed"
            )
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
