"""Re-scrub throughput (a script, not a test): claims per second of `painrcm rescrub` with 1, 2
and 4 worker processes over the same workspace (one made by bench/workspace_bench.py).

    .venv/bin/python bench/rescrub_bench.py --db sqlite:////tmp/ws.db --workers 1 2 4
    PAINRCM_REDIS_URL=redis://127.0.0.1:6379/8 .venv/bin/python bench/rescrub_bench.py --db ... --rq-workers 2

Each run re-scrubs every open claim (a new scrub run per claim, as after a new NCCI quarter). With
--rq-workers N the script starts N `rq worker` processes on a fresh queue, runs the re-scrub over
them and stops them. The time includes loading the reference data in each worker and writing the runs.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

from painrcm.store.rescrub import Selection, rescrub


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", required=True)
    ap.add_argument("--workers", type=int, nargs="*", default=[1, 2, 4])
    ap.add_argument("--rq-workers", type=int, default=0, help="also run over this many RQ workers")
    ap.add_argument("--practice", default=None, help="only this practice's claims (a smaller run)")
    args = ap.parse_args()
    sel = Selection(practice=args.practice)
    for n in args.workers:
        r = rescrub(args.db, sel, workers=n, redis_url="")
        print(
            f"local, {n} worker process(es): {r.claims:,} claims in {r.seconds:.1f} s = "
            f"{r.claims_per_second:,.0f} claims/s ({r.partitions} partitions, {len(r.changes)} changed)"
        )
    if args.rq_workers:
        url = os.environ["PAINRCM_REDIS_URL"]
        queue = f"painrcm-rescrub-bench-{uuid.uuid4().hex[:6]}"
        os.environ["PAINRCM_RQ_QUEUE"] = queue
        rq = Path(sys.executable).with_name("rq")
        procs = [
            subprocess.Popen(
                [str(rq), "worker", "--url", url, queue], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            for _ in range(args.rq_workers)
        ]
        try:
            time.sleep(3)
            r = rescrub(args.db, sel, workers=args.rq_workers, redis_url=url)
            print(
                f"RQ, {args.rq_workers} workers: {r.claims:,} claims in {r.seconds:.1f} s = "
                f"{r.claims_per_second:,.0f} claims/s ({r.partitions} partitions)"
            )
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                p.wait(timeout=30)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
