"""Where a scrub's time goes (a script, not a test): a per-edit timing table and a cProfile summary
over the same generated claims `scrub_bench.py` uses.

    .venv/bin/python bench/scrub_profile.py --claims 10000
    .venv/bin/python bench/scrub_profile.py --claims 10000 --history 200000 --top 25

The per-edit table wraps every edit's check in a timer (CPU time, `time.process_time_ns`) and counts
its calls, so it shows which edits cost most over the whole run and per call; "engine" is the rest of
`scrub_encounter` (planning, the context, building the result). The timers add their own overhead to
each call, so read the table for proportions; the cProfile pass (no timers) gives the functions.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any

from painrcm import synth
from painrcm.codes.loader import load_reference
from painrcm.edits import CATALOGUE
from painrcm.history import History
from painrcm.policy.loader import load_policies
from painrcm.scrub import Engine, scrub_encounter


def _timed(eid: str, fn: Callable[[Any], Iterable[Any]], table: dict[str, list[int]]) -> Callable[..., Any]:
    row = table.setdefault(eid, [0, 0])
    clock = time.process_time_ns

    def check(ctx: Any) -> Any:
        t = clock()
        out = list(fn(ctx))  # a generator's work happens when it is drained
        row[0] += clock() - t
        row[1] += 1
        return out

    return check


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--claims", type=int, default=10_000)
    ap.add_argument("--history", type=int, default=0, metavar="N")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--top", type=int, default=30, help="rows of the cProfile table")
    ap.add_argument("--sort", default="tottime", help="cProfile sort key (tottime, cumulative)")
    args = ap.parse_args(argv)

    engine = Engine(load_reference(), load_policies())
    start = synth.DEFAULT_START + timedelta(days=1)
    patients = synth.make_patients(max(1000, args.history // 12 or args.claims // 3), args.seed)
    claims = synth.generate_encounters(
        args.claims, args.seed + args.claims, start=start, days=365, patients=patients, engine=engine
    )
    history = None
    if args.history:
        history = History()
        for enc in synth.iter_history(
            args.history, args.seed + 1, patients=patients, end=start, engine=engine
        ):
            history.add(enc, engine.reference)
    for enc in claims[:200]:  # warm the per-policy plans and per-code caches
        scrub_encounter(enc, engine, history=history)

    # cProfile first, on the engine as it is
    prof = cProfile.Profile()
    c0 = time.process_time()
    prof.enable()
    for enc in claims:
        scrub_encounter(enc, engine, history=history)
    prof.disable()
    print(f"cProfile pass: {time.process_time() - c0:.2f} CPU-s for {len(claims):,} claims (profiled)")
    pstats.Stats(prof).sort_stats(args.sort).print_stats(args.top)

    # then each edit's check behind a timer (fresh plans pick up the wrapped checks)
    from painrcm import scrub

    table: dict[str, list[int]] = {}
    originals = {eid: e.fn for eid, e in CATALOGUE.items()}
    for eid, edit in CATALOGUE.items():
        assert edit.fn is not None
        edit.fn = _timed(eid, edit.fn, table)
    scrub._PLANS.clear()
    c0 = time.process_time_ns()
    for enc in claims:
        scrub_encounter(enc, engine, history=history)
    total = time.process_time_ns() - c0
    for eid, fn in originals.items():
        CATALOGUE[eid].fn = fn
    scrub._PLANS.clear()
    in_edits = sum(t for t, _ in table.values())
    n = len(claims)
    print(
        f"\nper-edit CPU time over {n:,} claims ({total / 1e9:.2f} s with timers, {total / n / 1e3:.1f} us/claim)"
    )
    print(f"{'edit':8} {'calls':>7} {'us/claim':>9} {'us/call':>8} {'share':>6}")
    rows = sorted(table.items(), key=lambda kv: -kv[1][0])
    for eid, (t, calls) in rows:
        if calls:
            print(f"{eid:8} {calls:7,} {t / n / 1e3:9.2f} {t / calls / 1e3:8.2f} {t / total:6.1%}")
    print(f"{'engine':8} {'':7} {(total - in_edits) / n / 1e3:9.2f} {'':8} {(total - in_edits) / total:6.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
