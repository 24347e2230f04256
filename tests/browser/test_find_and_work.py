"""Issue 12 in the browser: the search box (`/`), the patient page, a queue with filters, assignment and
export, the first-run path on an empty database, and every main page at 1440x900 and 390x844 without
being wider than the viewport (screenshots kept in tests/browser/artifacts/screens/)."""

from __future__ import annotations

import csv
import io
import re
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.sync_api import expect
from typer.testing import CliRunner

from painrcm.cli import app as cli_app
from painrcm.store import models as m
from painrcm.store.db import Database
from painrcm.web.app import create_app
from tests.browser.conftest import ARTIFACTS, Console, Served, _free_port, sign_in
from tests.web.conftest import seed_claim

SCREENS = ARTIFACTS / "screens"
VIEWPORTS = {"desktop": (1440, 900), "tablet": (1024, 768), "phone": (390, 844)}


@pytest.fixture(scope="module")
def busy(served: Served) -> Served:
    """Enough open claims at P01 for a full screen of queue rows (stored unscrubbed: fast)."""
    for i in range(30):
        seed_claim(
            served.db, None, f"brw_busy_{i:02d}", "P01", None, [400.0 + i], days_ago=5 + 7 * i, scrub=False
        )  # type: ignore[arg-type]
    return served


def _person(served: Served, key: str) -> int:
    with served.db.session() as s:
        row = s.get(m.Encounter, served.claims[key])
        assert row is not None
        return row.person_id


def test_slash_focuses_search_and_finds_the_patient(page: Any, served: Served, console: Console) -> None:
    sign_in(page)
    page.locator("main").click()
    page.keyboard.press("/")
    search = page.get_by_role("searchbox", name="Search patients, claims, authorizations")
    expect(search).to_be_focused()
    search.fill("Testbrw_fix")
    search.press("Enter")
    expect(page).to_have_url(re.compile(r"/search\?q=Testbrw_fix"))
    expect(page.get_by_role("heading", name=re.compile(r"Patients \(1\)"))).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile(r"Claims \(0\)"))).to_be_visible()
    page.get_by_role("link", name="Testbrw_fix, Pat").click()
    expect(page).to_have_url(re.compile(rf"/patients/{_person(served, 'fix')}$"))
    expect(page.get_by_role("heading", name="Testbrw_fix, Pat")).to_be_visible()
    expect(page.locator("#patient-limits")).to_contain_text("Epidural injections")
    expect(page.locator("#patient-services")).to_contain_text(served.encounter_ids["fix"])
    # a claim ID finds the claim; another practice's claim is not found
    page.goto(f"/search?q={served.encounter_ids['other']}")
    expect(page.locator("#search-summary")).to_contain_text("0 results")
    console.assert_clean()


def test_queue_filters_assign_and_export(page: Any, busy: Served, console: Console) -> None:
    page.set_viewport_size({"width": 1440, "height": 900})
    sign_in(page, "biller", "/queues/claims")
    table = page.locator("#queue-table")
    expect(table).to_be_visible()
    # a dense table: at least 20 rows fully visible on a 1440x900 screen
    visible = page.evaluate(
        """() => [...document.querySelectorAll('#queue-table tbody tr')]
              .filter(tr => tr.getBoundingClientRect().bottom <= window.innerHeight).length"""
    )
    assert visible >= 20, f"only {visible} queue rows fit on 1440x900"
    expect(table).not_to_contain_text(busy.encounter_ids["other"])
    # filter by age: the choice lands in the URL (a bookmark keeps it)
    page.get_by_label("Age (days)").select_option("181+")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"age=181%2B"))
    rows = table.locator("tbody tr")
    n = rows.count()
    assert 0 < n < 30
    # sort by age, oldest first, from the column header
    page.get_by_role("link", name="Age").click()
    page.get_by_role("link", name=re.compile(r"^Age")).click()
    expect(page).to_have_url(re.compile(r"sort=age&order=desc|order=desc.*sort=age"))
    first_ref = rows.first.locator("td").nth(3).inner_text()
    # assign the first row to me
    rows.first.get_by_role("checkbox").check()
    page.get_by_role("combobox", name="Assign to").select_option("me")
    page.get_by_role("button", name="Assign", exact=True).click()
    expect(page.locator(".flash")).to_contain_text("1 row assigned")
    expect(page).to_have_url(re.compile(r"age=181%2B"))
    mine = page.locator("#queue-table tbody tr", has_text=first_ref)
    expect(mine).to_contain_text("Bea Biller")
    # export what is on screen
    with page.expect_download() as dl:
        page.get_by_role("link", name="Export CSV").click()
    text = Path(dl.value.path()).read_text(encoding="utf-8")
    exported = list(csv.DictReader(io.StringIO(text)))
    assert len(exported) == n and {r["queue"] for r in exported} == {"claims"}
    assert first_ref in {r["reference"] for r in exported}
    # keyboard: j moves through the rows, o opens one
    page.locator("main h1").click()
    page.keyboard.press("j")
    expect(rows.first).to_have_class(re.compile("current"))
    console.assert_clean()


def test_first_run_on_an_empty_database(browser: Any, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    db = Database(url)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(db=db), host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        assert thread.is_alive()
        time.sleep(0.05)
    context = browser.new_context(base_url=f"http://localhost:{port}")
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.goto("/")
        expect(page.locator("#first-run")).to_contain_text("painrcm admin create-user --role admin")
        runner = CliRunner()
        assert (
            runner.invoke(
                cli_app, ["admin", "create-practice", "--id", "P01", "--name", "Mesa", "--db", url]
            ).exit_code
            == 0
        )
        res = runner.invoke(
            cli_app,
            [
                "admin",
                "create-user",
                "--role",
                "admin",
                "--email",
                "first@example.test",
                "--name",
                "First Admin",
                "--db",
                url,
            ],
        )
        assert res.exit_code == 0
        password = res.stdout.split("password: ", 1)[1].split()[0]
        page.reload()
        expect(page.locator("#first-run")).to_have_count(0)
        page.get_by_label("Email").fill("first@example.test")
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_text("First Admin")).to_be_visible()
        page.goto("/admin")
        expect(page.get_by_role("heading").first).to_be_visible()
        # the API docs render from the app's own files
        page.goto("/api/docs")
        expect(page.locator(".swagger-ui .title").first).to_contain_text("painrcm")
        page.locator(".opblock-summary").first.click()
        expect(page.get_by_role("button", name="Try it out")).to_be_visible()
        assert not errors, errors  # no CSP violation, no script error
    finally:
        context.close()
        server.should_exit = True
        thread.join(timeout=10)
        db.engine.dispose()


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_pages_fit_the_viewport(browser: Any, busy: Served, viewport: str) -> None:
    width, height = VIEWPORTS[viewport]
    context = browser.new_context(base_url=busy.url, viewport={"width": width, "height": height})
    errors: list[str] = []
    try:
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        sign_in(page, "admin") if viewport != "phone" else _phone_sign_in(page)
        pages = {
            "dashboard": "/",
            "claims": "/claims",
            "queue-claims": "/queues/claims",
            "queue-denials": "/queues/denials",
            "authorizations": "/authorizations",
            "frequency": "/frequency",
            "denials": "/denials",
            "search": "/search?q=Test",
            "patient": f"/patients/{_person(busy, 'fix')}",
            "claim": f"/claims/{busy.claims['fix']}",
            "admin": "/admin",
        }
        SCREENS.mkdir(parents=True, exist_ok=True)
        too_wide = []
        for name, path in pages.items():
            page.goto(path)
            page.wait_for_load_state("networkidle")
            page.screenshot(path=str(SCREENS / f"{name}-{width}x{height}.png"))
            scroll = page.evaluate("() => document.documentElement.scrollWidth")
            if scroll > width:
                too_wide.append(f"{path}: {scroll}px wide on a {width}px screen")
        assert not too_wide, "pages wider than the viewport:\n  " + "\n  ".join(too_wide)
        if viewport == "phone":  # the menu collapses and opens
            nav = page.locator("#mainnav")
            expect(nav).to_be_hidden()
            page.get_by_role("button", name="Menu").click()
            expect(nav.get_by_role("link", name="Work queues")).to_be_visible()
        assert not errors
    finally:
        context.close()


def _phone_sign_in(page: Any) -> None:
    from tests.web.conftest import PASSWORD, USERS

    page.goto("/login")
    page.get_by_label("Email").fill(str(USERS["admin"]["email"]))
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Menu")).to_be_visible()


def test_keyboard_moves_through_the_queue_and_its_claims(page: Any, busy: Served, console: Console) -> None:
    sign_in(page, "biller", "/queues/claims?sort=dos&order=asc")
    rows = page.locator("#queue-table tbody tr")
    first, second = rows.nth(0).get_attribute("data-href"), rows.nth(1).get_attribute("data-href")
    page.locator("main h1").click()
    page.keyboard.press("j")
    page.keyboard.press("o")
    expect(page).to_have_url(re.compile(re.escape(str(first)) + "$"))
    page.locator("main h1").click()
    page.keyboard.press("n")  # the next claim of the queue this page came from
    expect(page).to_have_url(re.compile(re.escape(str(second)) + "$"))
    page.keyboard.press("p")
    expect(page).to_have_url(re.compile(re.escape(str(first)) + "$"))
    # the first Tab reaches "Skip to content"
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    console.assert_clean()


def test_shift_f_applies_the_safe_fixes_on_a_claim_page(page: Any, busy: Served, console: Console) -> None:
    sign_in(page, "biller", f"/claims/{busy.claims['fix']}")
    expect(page.get_by_role("button", name="Apply safe fixes")).to_be_visible()
    page.locator("main h1").click()
    page.keyboard.press("Shift+F")
    expect(page.get_by_text("Safe fixes applied")).to_be_visible()
    console.assert_clean()
