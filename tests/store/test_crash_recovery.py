"""Fault injection with real processes, on SQLite and PostgreSQL (issue 8):

- the in-process runner: `painrcm serve` is killed with SIGKILL mid-import and started again; the
  job is failed with a reason, and the same file uploaded again imports completely;
- the RQ runner on a real Redis: the `rq worker` process group is killed mid-import; the job is
  failed with a reason, and the file submitted again imports with a new worker;
- concurrency: uploads of overlapping files while readers page through claims and queues: no 5xx,
  no duplicate claim.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from painrcm.store import models as m
from painrcm.store.db import Database
from tests.store.synth import as_bytes, epidural
from tests.web.conftest import api_token, make_user

pytestmark = pytest.mark.usefixtures("practices")
REDIS_URL = os.environ.get("PAINRCM_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
BIN = Path(sys.executable).parent


def claims_file(n: int, prefix: str = "K") -> bytes:
    docs = [epidural(f"{prefix}-{i}", f"2026-03-{i % 28 + 1:02d}") for i in range(n)]
    for d in docs:  # one patient each
        d["patient"] = {**d["patient"], "member_id": f"M{d['encounter_id']}", "last_name": d["encounter_id"]}
    return as_bytes(docs)


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _url(db: Database) -> str:
    return db.engine.url.render_as_string(hide_password=False)


class Server:
    def __init__(self, db: Database, home: Path) -> None:
        self.url, self.home, self.port = _url(db), home, _port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = home / f"server-{self.port}.log"

    def start(self) -> None:
        env = {**os.environ, "PAINRCM_HOME": str(self.home)}
        env.pop("PAINRCM_REDIS_URL", None)
        self.home.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [str(BIN / "painrcm"), "serve", "--db", self.url, "--port", str(self.port)],
            env=env,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        end = time.monotonic() + 90
        while time.monotonic() < end:
            try:
                if httpx.get(f"{self.base}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise AssertionError(f"the server did not start: {self.log.read_text()[-2000:]}")

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@pytest.fixture
def server(db: Database, _home: Path) -> Iterator[Server]:
    srv = Server(db, _home)
    yield srv
    srv.stop()


def _client(db: Database, srv: Server) -> httpx.Client:
    uid = make_user(db, f"u-{uuid.uuid4().hex[:6]}@example.test", "admin")
    token = api_token(db, uid)
    return httpx.Client(base_url=srv.base, headers={"Authorization": f"Bearer {token}"}, timeout=60)


def _upload(c: httpx.Client, data: bytes, name: str) -> int:
    r = c.post(
        "/api/imports",
        files={"file": (name, data, "application/json")},
        data={"kind": "encounters", "practice_id": "P01"},
    )
    assert r.status_code == 202, r.text
    return int(r.json()["id"])


def _wait(c: httpx.Client, job_id: int, want: set[str], timeout: float = 300) -> dict[str, object]:
    end = time.monotonic() + timeout
    while True:
        job = c.get(f"/api/imports/{job_id}").json()
        if job["status"] in want or time.monotonic() > end:
            return dict(job)
        time.sleep(0.1)


def _stored(db: Database) -> tuple[int, int, int]:
    """(claims, distinct encounter IDs, claims left unscrubbed)."""
    with db.session() as s:
        n = s.scalar(select(func.count()).select_from(m.Encounter)) or 0
        distinct = s.scalar(select(func.count(func.distinct(m.Encounter.encounter_id)))) or 0
        left = s.scalar(select(func.count()).where(m.Encounter.status == "unscrubbed")) or 0
        return n, distinct, left


def test_server_killed_mid_import_fails_the_job_and_the_file_imports_on_retry(
    db: Database, server: Server
) -> None:
    data = claims_file(300)
    server.start()
    c = _client(db, server)
    job_id = _upload(c, data, "big.json")
    job = _wait(c, job_id, {"running", "done", "failed"})
    assert job["status"] == "running", job  # killed while it runs
    server.kill()
    server.start()  # start-up finds the dead process's job
    job = _wait(c, job_id, {"failed", "done"}, timeout=30)
    assert job["status"] == "failed", job
    assert "worker process is gone" in str(job["message"]) and "upload the file again" in str(job["message"])
    assert _upload(c, data, "big.json") == job_id  # the same file again: run again
    job = _wait(c, job_id, {"done", "failed"})
    assert job["status"] == "done", job
    assert _stored(db) == (300, 300, 0)


def _redis_or_skip() -> None:
    from redis import Redis

    try:
        Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except Exception as e:  # noqa: BLE001
        if os.environ.get("CI"):
            pytest.fail(f"Redis at {REDIS_URL} is unreachable ({e}); CI is set, so this is a failure")
        pytest.skip(f"Redis at {REDIS_URL} is unreachable ({e}); set CI to make this a failure")


def _rq_worker(queue: str, home: Path, *, burst: bool = False) -> subprocess.Popen[bytes]:
    args = [str(BIN / "rq"), "worker", "--url", REDIS_URL, "--worker-class", "rq.SimpleWorker", queue]
    return subprocess.Popen(
        [*args, "--burst"] if burst else args,
        env={**os.environ, "PAINRCM_HOME": str(home)},
        stdout=(home / f"rq-{queue}.log").open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: killed whole, as a crashed host would be
    )


def test_rq_worker_killed_mid_import_fails_the_job_and_the_file_imports_on_retry(
    db: Database, _home: Path
) -> None:
    _redis_or_skip()
    from painrcm.store.jobs import RqRunner

    queue = f"painrcm-test-{uuid.uuid4().hex[:8]}"
    runner = RqRunner(db, REDIS_URL, queue_name=queue)
    data = claims_file(300, "Q")
    job_id = runner.submit("encounters", data, "rq-big.json", "P01", None)
    worker = _rq_worker(queue, _home)
    try:
        end = time.monotonic() + 120
        st = runner.status(job_id)
        while st is not None and st.status == "queued" and time.monotonic() < end:
            time.sleep(0.05)
            st = runner.status(job_id)
        assert st is not None and st.status == "running", st
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)
        st = runner.wait(job_id, timeout=30)  # the status poll is a watchdog too
        assert st is not None and st.status == "failed", st
        assert "worker process is gone" in (st.message or "")
        assert runner.submit("encounters", data, "rq-big.json", "P01", None) == job_id
        worker = _rq_worker(queue, _home, burst=True)
        worker.wait(timeout=300)
        st = runner.status(job_id)
        assert st is not None and st.status == "done", st
        assert _stored(db) == (300, 300, 0)
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
        runner.queue.delete(delete_jobs=True)


def test_uploads_and_readers_at_once_give_no_server_error_and_no_duplicate(
    db: Database, server: Server
) -> None:
    server.start()
    c = _client(db, server)
    first = _upload(c, claims_file(20, "R"), "seed.json")
    assert _wait(c, first, {"done", "failed"})["status"] == "done"
    pages = [
        "/api/claims?status=any",
        "/api/denials",
        "/api/authorizations",
        "/api/imports",
        "/api/dashboard",
    ]
    with db.session() as s:
        pages += [f"/api/claims/{pk}" for pk in s.scalars(select(m.Encounter.id).limit(5))]
    statuses: list[int] = []
    stop = threading.Event()

    def read() -> None:
        with httpx.Client(base_url=server.base, headers=c.headers, timeout=60) as rc:
            i = 0
            while not stop.is_set():
                statuses.append(rc.get(pages[i % len(pages)]).status_code)
                i += 1

    readers = [threading.Thread(target=read) for _ in range(4)]
    for t in readers:
        t.start()
    try:
        # three files that share claims with each other and with the seed file
        files = [claims_file(40, "R"), claims_file(30, "R") + b" ", as_bytes([epidural("R-0", "2026-03-01")])]
        jobs = [_upload(c, data, f"f{i}.json") for i, data in enumerate(files)]
        done = [_wait(c, j, {"done", "failed"}) for j in jobs]
    finally:
        stop.set()
        for t in readers:
            t.join(timeout=60)
    assert [d["status"] for d in done] == ["done"] * 3, done
    assert statuses and not [s for s in statuses if s >= 500], sorted(set(statuses))
    assert set(statuses) == {200}
    n, distinct, left = _stored(db)
    assert n == distinct == 40 and left == 0


def test_a_client_cannot_rotate_its_login_limit_key_with_x_forwarded_for(
    db: Database, server: Server, backend: str
) -> None:
    """uvicorn believes X-Forwarded-For from local peers by default; painrcm serve believes it from
    configured proxies only, so failed sign-ins are counted against the real peer address."""
    if backend != "sqlite":
        pytest.skip("the database plays no part: run once")
    server.start()
    with httpx.Client(base_url=server.base, timeout=60) as c:
        codes = [
            c.post(
                "/api/auth/login",
                json={"email": f"nobody{i}@example.test", "password": "wrong-password-123"},
                headers={"X-Forwarded-For": f"203.0.113.{i}"},
            ).status_code
            for i in range(7)
        ]
    assert codes[:5] == [401] * 5 and codes[5:] == [429, 429], codes
