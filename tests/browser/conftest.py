"""The browser tests' world: the real app served by uvicorn on a free localhost port (background
thread) over a temporary SQLite database seeded with users and a few claims, and Playwright driving
Debian's Chromium (``/usr/bin/chromium``; ``scripts/install-browser.sh`` installs it in CI).

Without Chromium the tests skip with the reason, unless the environment variable CI is set: then
they fail. A failing test leaves a screenshot in ``tests/browser/artifacts/<test>.png``.

Playwright's own browser downloads are never used (no ``playwright install``).
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from painrcm.store import models as m
from painrcm.store.db import Database
from painrcm.web.app import create_app
from tests.web.conftest import PASSWORD, USERS, make_practices, make_user, seed_claim

CHROMIUM = Path(os.environ.get("PAINRCM_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
TIMEOUT_MS = 15_000


@dataclass
class Served:
    url: str
    db: Database
    claims: dict[str, int]
    encounter_ids: dict[str, str]
    users: dict[str, int] = field(default_factory=dict)


# --- screenshots on failure ----------------------------------------------------------------------
@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def _artifact_name(item: pytest.Item) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", item.name) + ".png"


# --- the server ----------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _seed(db: Database, engine: Any) -> tuple[dict[str, int], dict[str, str], dict[str, int]]:
    make_practices(db)
    users = {role: make_user(db, u["email"], role, u["practices"], u["name"]) for role, u in USERS.items()}
    claims = {
        # the claim the biller fixes: 64483 + 77003 on one day, BUN001 error with a safe fix
        "fix": seed_claim(db, engine, "brw_fix", "P01", "BUN001", [650.0, 120.0], days_ago=30),
        # a submitted claim the synthetic 835 pays (64483) and denies (77003, CO-97)
        "remit": seed_claim(
            db, engine, "brw_remit", "P01", "BUN001", [650.0, 120.0], days_ago=40, work_status="submitted"
        ),
        "clean": seed_claim(db, engine, "brw_clean", "P01", None, [650.0], days_ago=12),
        # another practice's claim: a P01 biller never sees it
        "other": seed_claim(db, engine, "brw_other", "P02", "BUN001", [700.0, 150.0], days_ago=20),
    }
    with db.session() as s:
        eids = {k: s.get(m.Encounter, pk).encounter_id for k, pk in claims.items()}
    return claims, eids, users


@pytest.fixture(scope="module")  # module: PAINRCM_HOME is restored before the rest of the suite runs
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    home = tmp_path_factory.mktemp("painrcm-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PAINRCM_HOME", str(home))  # uploads are kept under $PAINRCM_HOME/uploads
        mp.delenv("PAINRCM_REDIS_URL", raising=False)  # the in-process job runner
        db = Database(f"sqlite:///{home / 'browser.db'}")
        app = create_app(db=db)
        claims, eids, users = _seed(db, app.state.engine)
        port = _free_port()
        server = uvicorn.Server(
            uvicorn.Config(
                app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="off"
            )
        )
        thread = threading.Thread(target=server.run, name="uvicorn-browser-tests", daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                pytest.fail(f"uvicorn did not start on 127.0.0.1:{port}")
            time.sleep(0.05)
        try:
            # http://localhost is a secure context, so the browser keeps the Secure session cookie
            yield Served(f"http://localhost:{port}", db, claims, eids, users)
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            db.engine.dispose()


# --- the browser ---------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing: install Debian's chromium (scripts/install-browser.sh)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI is set, so the browser tests must run")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@dataclass
class Console:
    errors: list[str] = field(default_factory=list)

    def record(self, msg: Any) -> None:
        where = (msg.location or {}).get("url", "")
        # a page answered 401 (a wrong password) or the browser asked for /favicon.ico, which the app
        # does not serve: resource errors the page itself did not cause
        if msg.type == "error" and not where.endswith("/favicon.ico") and "status of 401" not in msg.text:
            self.errors.append(f"{msg.text} ({where})")

    def assert_clean(self) -> None:
        """No script errors and no CSP violations (Chromium reports those on the console)."""
        assert not self.errors, "browser console errors:\n  " + "\n  ".join(self.errors)


@pytest.fixture
def console() -> Console:
    return Console()


@pytest.fixture
def page(browser: Any, served: Served, console: Console, request: pytest.FixtureRequest) -> Iterator[Any]:
    from playwright.sync_api import Error as PlaywrightError

    context = browser.new_context(base_url=served.url)
    context.set_default_timeout(TIMEOUT_MS)
    pg = context.new_page()
    pg.on("console", console.record)
    pg.on("pageerror", lambda exc: console.errors.append(f"uncaught: {exc}"))
    try:
        yield pg
    finally:
        failed = any(
            getattr(getattr(request.node, f"rep_{when}", None), "failed", False) for when in ("setup", "call")
        )
        if failed:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            try:
                pg.screenshot(path=str(ARTIFACTS / _artifact_name(request.node)), full_page=True)
            except PlaywrightError as e:  # the screenshot must not hide the test's own failure
                print(f"screenshot failed: {e}")
        context.close()


def sign_in(page: Any, role: str = "biller", next_path: str = "/") -> None:
    """Sign in through the form, as a person would."""
    from playwright.sync_api import expect

    page.goto(next_path)
    expect(page).to_have_url(re.compile(r"/login"))
    page.get_by_label("Email").fill(str(USERS[role]["email"]))
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).not_to_have_url(re.compile(r"/login"))
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
