"""In Chromium (hx-boost as shipped): a form answered in place (a sign-in link mailed, an
invitation or a password change refused) leaves a loadable address in the address bar, so a
reload shows a useful page and never "405 Something went wrong"; a POST-only address opened
by hand says what happened and links to the page with the form."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from hub import db
from tests.browser.test_browser_rules_publisher import sign_in
from tests.factories import make_user

pytestmark = pytest.mark.browser


@pytest.fixture
def hub(live_server):
    """An admin and a member, both with a password."""
    with db.transaction(live_server.app) as s:
        make_user(s, email="admin@corp.example", name="Admin", admin=True)
        make_user(s, email="taro@corp.example", name="Taro")
    return live_server


def _reload_shows(page: Page, url: str, heading: str) -> None:
    expect(page).to_have_url(url)
    response = page.reload()
    assert response is not None and response.status == 200
    expect(page.locator("h1").first).to_have_text(heading)
    expect(page.locator("body")).not_to_contain_text("405")


def test_reloading_after_a_sign_in_link_was_mailed(browser: Browser, hub) -> None:
    page = browser.new_context(locale="en-US").new_page()
    page.goto(f"{hub.url}/login")
    page.locator("form[action='/login/link'] input[name=email]").fill("taro@corp.example")
    page.get_by_role("button", name="Mail me a sign-in link").click()
    expect(page.locator("h1")).to_have_text("Check your mail")
    _reload_shows(page, f"{hub.url}/login", "Sign in to Hiroba")


def test_reloading_after_a_refused_invitation(browser: Browser, hub) -> None:
    page = browser.new_context(locale="en-US").new_page()
    sign_in(page, hub.url, "admin@corp.example")
    page.goto(f"{hub.url}/admin/members")
    form = page.locator("#invite")
    form.locator("input[name=email]").fill("taro@corp.example")
    form.locator("input[name=name]").fill("Taro again")
    form.get_by_role("button", name="Invite").click()
    expect(page.locator("[role=alert]")).to_be_visible()
    expect(form.locator("input[name=name]")).to_have_value("Taro again")
    _reload_shows(page, f"{hub.url}/admin/members", "Members")


def test_reloading_after_a_refused_password_change(browser: Browser, hub) -> None:
    page = browser.new_context(locale="en-US").new_page()
    sign_in(page, hub.url, "taro@corp.example")
    page.goto(f"{hub.url}/settings")
    form = page.locator("#password")
    form.locator("input[name=current]").fill("not my password")
    form.locator("input[name=new]").fill("a new password")
    form.locator("input[name=confirm]").fill("a new password")
    form.get_by_role("button", name="Change password").click()
    expect(form.locator("[role=alert]")).to_have_text("The current password is not right.")
    _reload_shows(page, f"{hub.url}/settings", "Settings")


def test_a_post_only_address_opened_says_what_to_do(browser: Browser, hub) -> None:
    page = browser.new_context(locale="en-US").new_page()
    sign_in(page, hub.url, "taro@corp.example")
    response = page.goto(f"{hub.url}/settings/password")
    assert response is not None and response.status == 405
    expect(page.locator("h1")).to_have_text(
        "This address only receives forms: it cannot be opened by itself."
    )
    expect(page.locator("main")).to_contain_text("Nothing was sent again.")
    page.locator("#form-page").click()
    expect(page).to_have_url(f"{hub.url}/settings")
    expect(page.locator("h1").first).to_have_text("Settings")
