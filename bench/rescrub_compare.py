"""Before/after of one re-scrub partition (a script, not a test): CPU time per claim of
`rescrub_partition` from two source trees on the same partition of the same database, alternating,
each in a fresh process (after a warm-up partition), so the ratio is measured in one run.

    .venv/bin/python bench/rescrub_compare.py --db postgresql+psycopg://postgres@127.0.0.1/ws \\
        --before /work/main/src --after src --claims 1000 --rounds 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

CHILD = r"""
import json, sys, time
from sqlalchemy import select
from painrcm.store import models as m
from painrcm.store.rescrub import load_engine, rescrub_partition
from painrcm.store.db import Database
url, n = sys.argv[1], int(sys.argv[2])
db = Database(url, migrate=False)
with db.session() as s:  # the same claims for both trees: the open claims of the first patients by ID
    rows = s.execute(select(m.Encounter.id, m.Encounter.person_id).where(m.Encounter.work_status == "open")
                     .order_by(m.Encounter.person_id, m.Encounter.id)).all()
persons = sorted({p for _, p in rows})
cut = persons[min(len(persons) - 1, int(n * len(persons) / len(rows)))]  # about n claims
pks = [pk for pk, p in rows if p < cut]
warm = [pk for pk, p in rows if p >= cut][-50:]
engine = load_engine()
rescrub_partition(url, warm, None, engine)  # warm: connections, lazily loaded tables
c0, w0 = time.process_time(), time.perf_counter()
rescrub_partition(url, pks, None, engine)
print(json.dumps({"claims": len(pks), "cpu": time.process_time() - c0, "wall": time.perf_counter() - w0}))
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", required=True)
    ap.add_argument("--before", required=True, help="the src folder of the code before")
    ap.add_argument("--after", required=True, help="the src folder of the code after")
    ap.add_argument("--claims", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    got: dict[str, list[float]] = {"before": [], "after": []}
    for _ in range(args.rounds):
        for label in ("before", "after"):
            env = dict(os.environ, PYTHONPATH=os.path.abspath(getattr(args, label)))
            out = subprocess.run(
                [sys.executable, "-c", CHILD, args.db, str(args.claims)],
                env=env, capture_output=True, text=True, check=True,
            )  # fmt: skip
            r = json.loads(out.stdout.strip().splitlines()[-1])
            got[label].append(1000 * r["cpu"] / r["claims"])
            print(f"{label:6} {r['claims']} claims: {r['cpu']:.2f} CPU-s, {r['wall']:.2f} s wall", flush=True)
    b, a = statistics.median(got["before"]), statistics.median(got["after"])
    print(f"median CPU per claim: before {b:.2f} ms, after {a:.2f} ms; after/before = {a / b:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
