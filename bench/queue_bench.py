"""Work-queue and search latency benchmark (a script, not a test): a SQLite workspace with N synthetic
open claims at one practice, then the claims queue (one page, and every row as the export reads them),
a name search and a claim-ID search, as an admin.

    .venv/bin/python bench/queue_bench.py [N]   # default 3000
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import select

from painrcm.codes.loader import load_reference
from painrcm.policy.loader import load_policies
from painrcm.scrub import Engine
from painrcm.store import models as m
from painrcm.store import queues, services
from painrcm.store.db import Database
from painrcm.store.search import search
from tests.web.conftest import make_practices, make_user, seed_encounter


def main(n: int) -> None:
    folder = Path(tempfile.mkdtemp())
    db = Database(f"sqlite:///{folder / 'bench.db'}")
    engine = Engine(load_reference(), load_policies())
    make_practices(db)
    admin = make_user(db, "bench@example.test", "admin")
    t = time.perf_counter()
    with db.session() as s:
        for i in range(n):
            enc = seed_encounter(
                f"bench{i:05d}", "P01", None, [650.0], i % 400, encounter_id=f"BENCH-{i:05d}"
            )
            services.save_encounter(s, enc, source="bench", practice_id="P01")
    print(f"seeded {n} claims in {time.perf_counter() - t:.1f} s")
    with db.session() as s:
        user = s.scalars(select(m.User).where(m.User.id == admin)).one()
        for label, fn in (
            (
                "claims queue, first page",
                lambda: queues.list_queue(
                    s, user, "claims", queues.parse_filters("claims", {}), engine.policies
                ),
            ),
            (
                "claims queue, overdue filter",
                lambda: queues.list_queue(
                    s, user, "claims", queues.parse_filters("claims", {"due": "overdue"}), engine.policies
                ),
            ),
            (
                "claims queue, every row (export)",
                lambda: queues.list_queue(
                    s,
                    user,
                    "claims",
                    queues.parse_filters("claims", {}),
                    engine.policies,
                    all_rows=True,
                    audit=False,
                ),
            ),
            ("search by last name prefix", lambda: search(s, user, "Testbench01")),
            ("search by claim ID", lambda: search(s, user, "BENCH-0299")),
        ):
            fn()  # warm
            t = time.perf_counter()
            for _ in range(3):
                fn()
            print(f"{label:<36} {(time.perf_counter() - t) / 3 * 1000:8.0f} ms")
        s.rollback()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3000)
