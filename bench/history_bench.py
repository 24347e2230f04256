"""History index benchmark (a script, not a test): bytes per service line, load time and window
question latency of `painrcm.history.History` on a synthetic multi-patient history.

    .venv/bin/python bench/history_bench.py --lines 1000000             # load time, queries
    .venv/bin/python bench/history_bench.py --lines 200000 --memory     # + traced bytes per line

Loading is timed around `History.add` (and the first window question, which sorts) only: making
the synthetic encounters is test data, not product time. With --memory a second pass loads the
same history under tracemalloc and reports the index's Python-heap size (current traced memory
after loading, minus before; the encounters themselves are freed as the load goes) per service
line and per indexed service.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import time
import tracemalloc
from datetime import timedelta

from painrcm import synth
from painrcm.codes.loader import load_reference
from painrcm.history import History
from painrcm.model import Patient
from painrcm.policy.loader import load_policies
from painrcm.scrub import Engine


def load(
    engine: Engine, n: int, patients: list[dict], seed: int, trace: bool
) -> tuple[History, int, float, int]:
    h = History()
    lines = 0
    add = 0.0
    start = synth.DEFAULT_START + timedelta(days=1)
    gc.collect()
    if trace:
        tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0] if trace else 0
    for enc in synth.iter_history(n, seed, patients=patients, end=start, days=730, engine=engine):
        t = time.perf_counter()
        h.add(enc, engine.reference)
        add += time.perf_counter() - t
        lines += len(enc.lines or [])
    t = time.perf_counter()
    next(iter(h.services(Patient(member_id="NOBODY", dob=start))), None)  # the first question sorts
    add += time.perf_counter() - t
    gc.collect()
    used = tracemalloc.get_traced_memory()[0] - base if trace else 0
    if trace:
        tracemalloc.stop()
    return h, lines, add, used


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--memory", action="store_true", help="also a tracemalloc pass (slow)")
    ap.add_argument("--queries", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=2026)
    args = ap.parse_args()
    engine = Engine(load_reference(), load_policies())
    patients = synth.make_patients(max(1000, args.lines // 12), args.seed)
    h, lines, secs, _ = load(engine, args.lines, patients, args.seed + 1, trace=False)
    print(
        f"{lines:,} service lines, {len(h):,} indexed services, {len(patients):,} patients: "
        f"load {secs:.2f} s = {lines / secs:,.0f} lines/s (History.add + sort)"
    )
    rng = random.Random(1)
    people = [
        Patient(member_id=p["member_id"], last_name=p["last_name"], first_name=p["first_name"], dob=p["dob"])
        for p in rng.sample(patients, min(len(patients), args.queries))
    ]
    end = synth.DEFAULT_START
    lat = []
    found = 0
    for i in range(args.queries):
        p = people[i % len(people)]
        t = time.perf_counter()
        found += sum(1 for _ in h.services(p, start=end - timedelta(days=365), end=end))
        lat.append(time.perf_counter() - t)
    lat.sort()
    print(
        f"{args.queries:,} 12-month window questions: p50 {lat[len(lat) // 2] * 1e6:.1f} us, "
        f"p99 {lat[int(len(lat) * 0.99)] * 1e6:.1f} us, mean {statistics.fmean(lat) * 1e6:.1f} us "
        f"({found / args.queries:.1f} services per answer)"
    )
    if args.memory:
        del h
        _, lines, _, used = load(engine, args.lines, patients, args.seed + 1, trace=True)
        print(
            f"index size (tracemalloc): {used / 2**20:,.1f} MB = {used / lines:,.0f} bytes per service line"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
