"""The frequency watch on a generated workspace (a script, not a test; `bench/workspace_gen.py` makes
the workspace): CPU and wall time of
- the first read of a date no snapshot holds (the standings of every candidate computed and stored),
- the first read of the next day (a snapshot of the day before is stored: derived from it),
- later reads of that day (pages, sorts and filters over the stored rows; p50/p95).

Each round runs in a fresh process per tree, inside one transaction rolled back at the end (the
database is left as it was; the stored snapshots are set aside first, so the first read computes).
With --compare, the other tree (e.g. main unpacked: `git archive main | tar -x -C /tmp/main`) runs
the same rounds interleaved with this one, and the ratios are printed.

    .venv/bin/python bench/watch_bench.py --db sqlite:////tmp/ws.db --compare /tmp/main/src --rounds 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

SRC = Path(__file__).resolve().parent.parent / "src"


def _child(url: str, runs: int) -> dict[str, Any]:
    from datetime import timedelta

    from sqlalchemy import delete, select

    from painrcm import synth
    from painrcm.codes.loader import load_reference
    from painrcm.policy.loader import load_policies
    from painrcm.scrub import Engine
    from painrcm.store import models as m
    from painrcm.store import queries_work as qw
    from painrcm.store.db import Database

    engine = Engine(load_reference(), load_policies())
    db = Database(url)
    on = synth.DEFAULT_START + timedelta(days=300)  # as bench/workspace_bench.py
    out: dict[str, Any] = {}
    with db.session() as s:
        user = s.scalars(select(m.User).where(m.User.role == "admin")).first()
        assert user is not None
        s.execute(delete(m.StandingSnapshot))

        def read(day: Any, **f: Any) -> tuple[float, float]:
            t, c = time.perf_counter(), time.process_time()
            qw.frequency_page(s, user, engine, qw.WatchFilters(on=day.isoformat(), **f), audit=False)
            return time.perf_counter() - t, time.process_time() - c

        out["new date"] = read(on)
        out["next day"] = read(on + timedelta(days=1))
        sorts, states = ("standing", "next_payable", "patient"), ("", "", "at_limit", "near_limit")
        later = [
            read(on + timedelta(days=1), page=1 + i % 5, sort=sorts[i % 3], state=states[i % 4])
            for i in range(runs)
        ]
        out["later reads"] = later
        s.rollback()
    return out


def _p95(xs: list[float]) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(0.95 * (len(xs) - 1)))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", required=True, help="database URL of a generated workspace")
    ap.add_argument("--compare", help="another tree's src/ (e.g. main unpacked), run interleaved")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--runs", type=int, default=20, help="later reads per round")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(_child(args.db, args.runs)))
        return 0
    trees = [("this tree", str(SRC))] + ([("compared", args.compare)] if args.compare else [])
    got: dict[str, dict[str, list[tuple[float, float]]]] = {t: {} for t, _ in trees}
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; {args.db}")
    for r in range(args.rounds):
        for label, src in trees:
            env = {**os.environ, "PYTHONPATH": src}
            cmd = [sys.executable, __file__, "--db", args.db, "--runs", str(args.runs), "--child"]
            res = json.loads(subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout)
            for k, v in res.items():
                got[label].setdefault(k, []).extend(v if k == "later reads" else [v])
            print(
                f"  round {r + 1} {label}: new date {res['new date'][1]:.2f} s cpu, next day {res['next day'][1]:.2f} s cpu"
            )
    summary: dict[str, dict[str, tuple[float, float]]] = {}
    for label, _ in trees:
        summary[label] = {}
        print(
            f"{label}: (median of {args.rounds} rounds; later reads p50 / p95 of {args.rounds * args.runs})"
        )
        for k, xs in got[label].items():
            wall, cpu = [x[0] for x in xs], [x[1] for x in xs]
            if k == "later reads":
                summary[label][k] = (_p95(wall), _p95(cpu))
                print(
                    f"  {k:<12} wall p50 {statistics.median(wall) * 1e3:8.1f} p95 {_p95(wall) * 1e3:8.1f} ms | "
                    f"cpu p50 {statistics.median(cpu) * 1e3:8.1f} p95 {_p95(cpu) * 1e3:8.1f} ms"
                )
            else:
                summary[label][k] = (statistics.median(wall), statistics.median(cpu))
                print(
                    f"  {k:<12} wall {summary[label][k][0] * 1e3:8.1f} ms | cpu {summary[label][k][1] * 1e3:8.1f} ms"
                )
    if args.compare:
        print("ratios (compared / this tree; same run):")
        for k, (wall, cpu) in summary["this tree"].items():
            ow, oc = summary["compared"][k]
            print(f"  {k:<12} wall {ow / wall:6.1f}x  cpu {oc / cpu:6.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
