"""In Chromium: an admin saves the usage rules, is told so on the edit page and goes on editing
them (they have accepted what they published); a member is still asked to accept."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from hub import db
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.browser


def sign_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.locator("form[action='/login'] input[name=email]").fill(email)
    page.locator("form[action='/login'] input[name=password]").fill(PASSWORD)
    page.locator("form[action='/login'] button[type=submit]").click()
    expect(page.locator("header.site .who")).to_be_visible()


def test_the_admin_edits_again_right_after_saving(browser: Browser, live_server) -> None:
    base = live_server.url
    with db.transaction(live_server.app) as s:
        make_user(s, email="admin@corp.example", name="Admin", admin=True)
        make_user(s, email="taro@corp.example", name="Taro", rules_accepted=False)
    admin = browser.new_context(locale="en-US").new_page()
    sign_in(admin, base, "admin@corp.example")
    admin.goto(f"{base}/admin/rules")
    admin.locator("textarea[name=markdown]").fill("# House rules\n\n- Be kind")
    admin.get_by_role("button", name="Save").click()
    # Back on the edit page, told it was saved, with the text just saved.
    expect(admin.locator("#flash")).to_have_text("Saved.")
    expect(admin).to_have_url(f"{base}/admin/rules")
    expect(admin.locator("textarea[name=markdown]")).to_have_value("# House rules\n\n- Be kind")
    admin.goto(f"{base}/rules")
    expect(admin.locator("p.acknowledged")).to_contain_text("You accepted these rules on")
    admin.get_by_role("link", name="Edit the rules").click()
    expect(admin).to_have_url(f"{base}/admin/rules")

    # A member signing in is sent to accept them first.
    member = browser.new_context(locale="en-US").new_page()
    sign_in(member, base, "taro@corp.example")
    expect(member.locator("#accept-rules")).to_be_visible()
