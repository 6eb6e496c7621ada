"""The channel address field in a real Chromium: its pattern (compiled by the browser with the
'v' flag) refuses what the hub refuses and lets through what the hub allows."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from hub import db
from hub.services import channel_creation
from tests.factories import PASSWORD, make_user
from tests.hub.test_wording import SLUGS_ALLOWED, SLUGS_REFUSED

pytestmark = pytest.mark.browser


def test_the_browser_checks_the_address_as_the_hub_does(browser: Browser, live_server) -> None:
    with db.transaction(live_server.app) as s:
        make_user(s, email="me@corp.example", name="Me")
    page = browser.new_context(locale="en-US").new_page()
    page.goto(f"{live_server.url}/login")
    page.locator("form[action='/login'] input[name=email]").fill("me@corp.example")
    page.locator("form[action='/login'] input[name=password]").fill(PASSWORD)
    page.locator("form[action='/login'] button[type=submit]").click()
    expect(page.locator("header.site .who")).to_be_visible()
    page.goto(f"{live_server.url}/channels/new")
    field = page.locator("input[name=slug]")
    # maxlength stops typing past 63 characters (a value set by script is checked by pattern
    # only), and a one-line field drops a line break.
    for slug in (s for s in (*SLUGS_ALLOWED, *SLUGS_REFUSED) if len(s) <= 63 and "\n" not in s):
        field.fill(slug)
        mismatch = field.evaluate("el => el.validity.patternMismatch")
        assert mismatch == (channel_creation.SLUG.match(slug) is None), slug
    # Typing a dot at the end is refused before the form is sent.
    page.locator("input[name=name]").fill("Sales")
    page.locator("textarea[name=purpose]").fill("Sales talk.")
    field.fill("sales.")
    page.locator("form[action='/channels/new'] button[type=submit]").click()
    expect(page).to_have_url(f"{live_server.url}/channels/new")
    assert field.evaluate("el => el.matches(':invalid')")
