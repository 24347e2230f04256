"""The workspace banner: the loaded CMS tables are older than the claims being worked (issue 10)."""

from __future__ import annotations

from datetime import date

from painrcm.codes.loader import packaged_editions


def test_banner_names_the_old_tables_once_and_the_import_command(seeded, signed_in, app):
    app.state.data_notice = None  # computed on the next page, against the seeded claims (this year)
    c, _ = signed_in("biller")
    html = c.get("/claims").text
    assert html.count('class="data-age"') == 1
    ncci = packaged_editions()["ncci_ptp"]["edition"]
    assert ncci in html and "painrcm data import" in html
    assert "fee schedule" in html  # the 2024 fee schedule, for claims of a later year


def test_no_banner_when_the_tables_are_as_new_as_the_claims(seeded, signed_in, app, monkeypatch):
    ref = app.state.engine.reference
    today = date.today()
    monkeypatch.setattr(
        type(ref), "edition_dates", lambda self: {"ncci_ptp": today, "mue": today, "mpfs": today}
    )
    app.state.data_notice = None
    c, _ = signed_in("biller")
    assert 'class="data-age"' not in c.get("/claims").text
    app.state.data_notice = None


def test_no_banner_before_sign_in(client, seeded, app):
    app.state.data_notice = None
    assert 'class="data-age"' not in client.get("/login").text
