"""Issue 13 in the browser: the authorization tracker and the frequency watch are paged like the queues
(here 2 rows a page): the state cards filter, Next and Previous walk the pages with the filters kept in
the URL, a column heading sorts, and Export CSV holds every row of the filtered list."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest
from playwright.sync_api import expect

from painrcm.store import queries_work as qw
from tests.browser.conftest import Console, Served, sign_in
from tests.web.test_work import seed_auths, seed_frequency


@pytest.fixture(scope="module")
def lists(served: Served) -> Served:
    seed_auths(served.db)
    seed_frequency(served.db)
    return served


@pytest.fixture
def two_a_page(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(qw, "PER_PAGE", 2)  # the server runs in this process


def _rows(page: Any, table: str) -> list[str]:
    return [t.strip() for t in page.locator(f"#{table} tbody tr").all_inner_texts()]


def _csv(page: Any, link: str) -> list[dict[str, str]]:
    with page.expect_download() as info:
        page.locator(link).click()
    text = open(info.value.path(), encoding="utf-8").read()  # noqa: SIM115 - read at once
    return list(csv.DictReader(io.StringIO(text)))


def test_tracker_pages_sorts_and_exports(
    page: Any, lists: Served, console: Console, two_a_page: None
) -> None:
    sign_in(page, "biller", "/authorizations")
    expect(page.locator("#list-total")).to_contain_text("page 1 of")
    total = int(re.match(r"(\d+)", page.locator("#list-total").inner_text()).group(1))  # type: ignore[union-attr]
    assert total >= 5
    first = _rows(page, "auth-table")
    assert len(first) == 2
    page.get_by_role("link", name="Next →").click()
    expect(page).to_have_url(re.compile(r"page=2"))
    expect(page.locator("#list-total")).to_contain_text("page 2 of")
    second = _rows(page, "auth-table")
    assert len(second) == 2 and second != first
    page.get_by_role("link", name="← Previous").click()
    expect(page.locator("#list-total")).to_contain_text("page 1 of")
    # a column heading sorts (the filters stay; back to page 1)
    page.locator("#auth-table thead").get_by_role("link", name="Payer").click()
    expect(page).to_have_url(re.compile(r"sort=payer"))
    # a state card filters
    page.locator(".card").get_by_role("link", name="expired").click()
    expect(page).to_have_url(re.compile(r"state=expired"))
    assert all("expired" in r for r in _rows(page, "auth-table"))
    page.goto("/authorizations")
    rows = _csv(page, "#export-csv")
    assert len(rows) == total and {r["state"] for r in rows} >= {"expired", "sessions used up"}
    console.assert_clean()


def test_watch_pages_and_exports(page: Any, lists: Served, console: Console, two_a_page: None) -> None:
    sign_in(page, "biller", "/frequency")
    expect(page.locator("#list-total")).to_be_visible()
    total = int(re.match(r"(\d+)", page.locator("#list-total").inner_text()).group(1))  # type: ignore[union-attr]
    assert total >= 2
    first = _rows(page, "watch-table")
    assert 1 <= len(first) <= 2
    if total > 2:
        page.get_by_role("link", name="Next →").click()
        expect(page).to_have_url(re.compile(r"page=2"))
        assert _rows(page, "watch-table") != first
    page.locator("#watch-table thead").get_by_role("link", name="Patient").click()
    expect(page).to_have_url(re.compile(r"sort=patient"))
    page.locator(".card").get_by_role("link", name="at limit").click()
    expect(page).to_have_url(re.compile(r"state=at_limit"))
    assert all("at limit" in r for r in _rows(page, "watch-table"))
    page.goto("/frequency")
    rows = _csv(page, "#export-csv")
    assert len(rows) == total and {r["state"] for r in rows} >= {"at_limit", "near_limit"}
    console.assert_clean()
