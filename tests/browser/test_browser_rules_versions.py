"""In Chromium: an admin changes the rules and ticks "ask everyone again"; a member who had
accepted them is sent to the new rules on their next page, accepts, and goes on where they were
going; the admin's page counts who has accepted this version."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from hub import db
from hub.models import Via
from hub.services import rules
from tests.browser.test_browser_rules_publisher import sign_in
from tests.factories import make_user

pytestmark = pytest.mark.browser


def test_a_member_accepts_the_changed_rules_and_goes_on(browser: Browser, live_server) -> None:
    base = live_server.url
    with db.transaction(live_server.app) as s:
        admin = make_user(s, email="admin@corp.example", name="Admin", admin=True)
        taro = make_user(s, email="taro@corp.example", name="Taro")
        rules.set_rules(s, actor=admin, markdown="# House rules\n\n- Be kind")
        rules.accept_rules(s, taro, Via.WEB)
    member = browser.new_context(locale="en-US").new_page()
    sign_in(member, base, "taro@corp.example")
    member.goto(f"{base}/thanks")
    expect(member).to_have_url(f"{base}/thanks")

    page = browser.new_context(locale="en-US").new_page()
    sign_in(page, base, "admin@corp.example")
    page.goto(f"{base}/admin/rules")
    expect(page.locator("#rules-accepted")).to_have_text("Accepted this version: 2 of 2 members")
    expect(page.locator("#ask-again")).not_to_be_checked()
    page.locator("textarea[name=markdown]").fill("# House rules\n\n- Be kind\n- No customer data")
    page.locator("#ask-again").check()
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#flash")).to_have_text("Saved.")
    expect(page).to_have_url(f"{base}/admin/rules")
    expect(page.locator("#rules-accepted")).to_have_text("Accepted this version: 1 of 2 members")
    page.locator("#rules-status summary").click()
    expect(page.locator("#rules-pending")).to_contain_text("taro@corp.example")

    member.goto(f"{base}/thanks")
    expect(member.locator("#rules-changed")).to_be_visible()
    expect(member.locator("article.markdown")).to_contain_text("No customer data")
    member.locator("#accept-rules").click()
    expect(member).to_have_url(f"{base}/thanks")
    page.reload()
    expect(page.locator("#rules-accepted")).to_have_text("Accepted this version: 2 of 2 members")
