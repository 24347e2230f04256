"""Load benchmark of the workspace (a script, not a test): N readers on claim pages and the work
queues plus one uploader, against a real `painrcm serve` on 127.0.0.1, for a bounded time.

    .venv/bin/python bench/load_bench.py --db sqlite --seconds 60
    .venv/bin/python bench/load_bench.py --db postgresql --seconds 60   # needs PostgreSQL on 127.0.0.1

It makes a fresh database (a SQLite file in a temporary folder, or a uniquely named PostgreSQL
database that it drops at the end), seeds a practice, an admin with an API token and a first file of
claims, starts the server, and then runs the readers and the uploader until the time is up. The
uploader sends a new file of claims, waits for its job to end, and sends the next.

Reports requests/s, p50/p95/p99 latency and errors (any status >= 400 or a failed request) of the
readers, and the uploader's files, claims and job outcomes. Traffic goes to 127.0.0.1 only; every loop
stops at the deadline (at most 300 s).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

HOST = "127.0.0.1"
MAX_SECONDS = 300
BIN = Path(sys.executable).parent
PG_SERVER = os.environ.get("PAINRCM_BENCH_PG", "postgresql://postgres@127.0.0.1")


def claims_json(prefix: str, n: int) -> bytes:
    from painrcm.edits.examples import example_dict

    docs = []
    for i in range(n):
        doc = example_dict({"encounter_id": f"{prefix}-{i}", "date_of_service": f"2026-03-{i % 28 + 1:02d}"})
        doc["patient"] = {**doc["patient"], "member_id": f"M{prefix}{i}", "last_name": f"Bench{prefix}{i}"}
        docs.append(doc)
    return json.dumps(docs).encode()


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q * (len(s) - 1))))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def make_database(kind: str, folder: Path) -> tuple[str, Any]:
    if kind == "sqlite":
        return f"sqlite:///{folder / 'bench.db'}", None
    import psycopg

    admin = psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True, connect_timeout=3)
    name = f"painrcm_bench_{uuid.uuid4().hex[:10]}"
    admin.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()

    return f"postgresql+psycopg://{PG_SERVER.split('://', 1)[1]}/{name}", drop


def seed(url: str, first_claims: int) -> str:
    """A practice, an admin with an API token, and a first file of claims; returns the token."""
    from painrcm.store import models as m
    from painrcm.store.db import Database
    from painrcm.store.jobs import InProcessRunner
    from painrcm.web import security

    db = Database(url)
    with db.session() as s:
        s.add(m.Practice(id="P01", name="Bench Pain", npi="1245319599", kind="physician", state="CA"))
        user = m.User(email="bench@example.test", name="Bench", role="admin", password_hash="x")
        s.add(user)
        s.flush()
        token = security.create_api_token(s, user, "bench")
    runner = InProcessRunner(db)
    st = runner.wait(
        runner.submit("encounters", claims_json("SEED", first_claims), "seed.json", "P01", None), 600
    )
    assert st is not None and st.status == "done", st
    db.engine.dispose()
    return token


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--readers", type=int, default=4)
    ap.add_argument("--upload-claims", type=int, default=50, help="claims per uploaded file")
    ap.add_argument("--seed-claims", type=int, default=200)
    ap.add_argument("--no-upload", action="store_true", help="readers only (a baseline)")
    args = ap.parse_args()
    seconds = min(args.seconds, MAX_SECONDS)

    folder = Path(tempfile.mkdtemp(prefix="painrcm-load-"))
    os.environ["PAINRCM_HOME"] = str(folder / "home")
    os.environ.pop("PAINRCM_REDIS_URL", None)
    url, drop = make_database(args.db, folder)
    server: subprocess.Popen[bytes] | None = None
    try:
        token = seed(url, args.seed_claims)
        port = free_port()
        log = folder / "server.log"
        server = subprocess.Popen(
            [str(BIN / "painrcm"), "serve", "--db", url, "--host", HOST, "--port", str(port)],
            env=dict(os.environ),
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        base = f"http://{HOST}:{port}"
        headers = {"Authorization": f"Bearer {token}"}
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"the server did not start; see {log}")
            time.sleep(0.2)
        with httpx.Client(base_url=base, headers=headers, timeout=30) as c:
            ids = [row["id"] for row in c.get("/api/claims?status=any&per_page=50").json()["items"]]
        pages = [
            "/api/claims?status=any",
            "/api/claims",
            "/api/denials",
            "/api/authorizations",
            "/api/imports",
        ]
        pages += [f"/api/claims/{i}" for i in ids[:20]] + [f"/claims/{i}" for i in ids[:10]]

        lat: list[float] = []
        codes: Counter[str] = Counter()
        lock = threading.Lock()
        stop_at = time.monotonic() + seconds
        uploads: list[tuple[str, float, str]] = []

        def reader(k: int) -> None:
            with httpx.Client(base_url=base, headers=headers, timeout=30) as rc:
                i = k
                while time.monotonic() < stop_at:
                    t0 = time.perf_counter()
                    try:
                        code = str(rc.get(pages[i % len(pages)]).status_code)
                    except httpx.HTTPError as e:
                        code = type(e).__name__
                    dt = time.perf_counter() - t0
                    with lock:
                        lat.append(dt)
                        codes[code] += 1
                    i += 1

        def uploader() -> None:
            with httpx.Client(base_url=base, headers=headers, timeout=60) as uc:
                n = 0
                while time.monotonic() < stop_at:
                    n += 1
                    t0 = time.perf_counter()
                    r = uc.post(
                        "/api/imports",
                        files={
                            "file": (
                                f"u{n}.json",
                                claims_json(f"U{n}", args.upload_claims),
                                "application/json",
                            )
                        },
                        data={"kind": "encounters", "practice_id": "P01"},
                    )
                    if r.status_code != 202:
                        uploads.append((f"http {r.status_code}", time.perf_counter() - t0, r.text[:200]))
                        continue
                    job = r.json()
                    while job["status"] in ("queued", "running") and time.monotonic() < stop_at + 120:
                        time.sleep(0.2)
                        job = uc.get(f"/api/imports/{job['id']}").json()
                    uploads.append((job["status"], time.perf_counter() - t0, job.get("message") or ""))

        threads = [threading.Thread(target=reader, args=(k,)) for k in range(args.readers)]
        if not args.no_upload:
            threads.append(threading.Thread(target=uploader))
        t_start = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.monotonic() - t_start
        errors = sum(v for k, v in codes.items() if not (k.isdigit() and int(k) < 400))
        total = sum(codes.values())
        print(
            f"painrcm load bench: {args.db}, {args.readers} readers"
            + ("" if args.no_upload else f" + 1 uploader ({args.upload_claims} claims per file)")
            + f", {seconds:.0f} s (wall {wall:.1f} s)"
        )
        print(
            f"  reader requests: {total}  ({total / wall:.1f} req/s)  errors: {errors}  statuses: {dict(codes)}"
        )
        print(
            f"  latency p50 {pct(lat, 0.50) * 1000:.0f} ms  p95 {pct(lat, 0.95) * 1000:.0f} ms  "
            f"p99 {pct(lat, 0.99) * 1000:.0f} ms  max {max(lat, default=0) * 1000:.0f} ms  "
            f"mean {statistics.fmean(lat) * 1000 if lat else 0:.0f} ms"
        )
        if not args.no_upload:
            outcome = Counter(u[0] for u in uploads)
            done = [u[1] for u in uploads if u[0] == "done"]
            print(
                f"  uploads: {len(uploads)} files, outcomes {dict(outcome)}, "
                f"{len(done) * args.upload_claims} claims imported; "
                f"upload-to-done p50 {pct(done, 0.5):.1f} s, max {max(done, default=0):.1f} s"
            )
            for status, _, msg in uploads:
                if status != "done":
                    print(f"    {status}: {msg}")
        server_log = log.read_text(errors="replace")
        print(
            f"  server log: {server_log.count('ERROR')} ERROR line(s), {server_log.count('Traceback')} traceback(s)"
        )
    finally:
        if server is not None and server.poll() is None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
        if drop is not None:
            drop()


if __name__ == "__main__":
    main()
