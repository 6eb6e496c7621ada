"""In Chromium: a thread tab left open while its 3-second poll can no longer be answered with
posts. When an admin asks everyone to accept changed rules, or the member's session ends, the
whole tab moves once to the rules or the sign-in page (it used to stack a copy of that page
inside the thread at every poll) and comes back to the thread after it; a member removed from
the private channel is told once, and the poll stops."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from hub import db
from hub.models import User, Via
from hub.services import channels, rules
from tests.browser.test_browser_rules_publisher import sign_in
from tests.factories import make_channel, make_thread, make_user

pytestmark = pytest.mark.browser

POLL_SECONDS = 3


@pytest.fixture
def hub(live_server):
    """An admin, Taro (who accepted the rules), and a thread in an open and a private channel."""
    with db.transaction(live_server.app) as s:
        admin = make_user(s, email="admin@corp.example", name="Admin", admin=True)
        taro = make_user(s, email="taro@corp.example", name="Taro")
        rules.set_rules(s, actor=admin, markdown="# House rules\n\n- Be kind")
        rules.accept_rules(s, taro, Via.WEB)
        general = make_channel(s, slug="general", name="General", creator=admin)
        post = make_thread(s, channel=general, author=admin, title="Lunch", body="Noon?")
        hr = make_channel(s, slug="hr", name="HR", private=True, reason="personal data",
                          creator=admin, policy="anyone")  # fmt: skip
        channels.add_member(s, user=taro, channel=hr, actor=None)
        secret = make_thread(s, channel=hr, author=admin, title="Reviews", body="Dates")
        live_server.thread_id, live_server.secret_id = post.thread_id, secret.thread_id
    return live_server


def _open_thread(browser: Browser, base: str, thread_id: int) -> Page:
    page = browser.new_context(locale="en-US").new_page()
    sign_in(page, base, "taro@corp.example")
    page.goto(f"{base}/t/{thread_id}")
    expect(page.locator("#poller")).to_be_attached()
    return page


def test_changed_rules_move_the_open_thread_tab_to_the_rules_once(browser: Browser, hub) -> None:
    page = _open_thread(browser, hub.url, hub.thread_id)
    with db.transaction(hub.app) as s:
        admin = s.query(User).filter_by(email="admin@corp.example").one()
        rules.set_rules(s, actor=admin, markdown="# House rules\n\n- No customer data",
                        ask_again=True)  # fmt: skip

    expect(page).to_have_url(f"{hub.url}/rules?next=/t/{hub.thread_id}", timeout=10_000)
    expect(page.locator("#rules-changed")).to_be_visible()
    # Two more polls' worth of time: the tab stays one rules page, nothing is stacked.
    page.wait_for_timeout(2 * POLL_SECONDS * 1000)
    expect(page).to_have_url(f"{hub.url}/rules?next=/t/{hub.thread_id}")
    expect(page.locator("header.site")).to_have_count(1)
    expect(page.locator("#accept-rules")).to_have_count(1)
    expect(page.locator("#posts")).to_have_count(0)

    page.locator("#accept-rules").click()
    expect(page).to_have_url(f"{hub.url}/t/{hub.thread_id}")
    expect(page.locator("#posts article.post")).to_have_count(1)


def test_an_ended_session_moves_the_open_thread_tab_to_sign_in_once(browser: Browser, hub) -> None:
    page = _open_thread(browser, hub.url, hub.thread_id)
    page.context.clear_cookies()

    expect(page).to_have_url(re.compile(r"/login\?next="), timeout=10_000)
    assert page.url == f"{hub.url}/login?next=/t/{hub.thread_id}"
    page.wait_for_timeout(2 * POLL_SECONDS * 1000)
    expect(page.locator("header.site")).to_have_count(1)
    expect(page.locator("form[action='/login']")).to_have_count(1)
    expect(page.locator("#posts")).to_have_count(0)

    page.locator("form[action='/login'] input[name=email]").fill("taro@corp.example")
    page.locator("form[action='/login'] input[name=password]").fill("correct horse battery")
    page.locator("form[action='/login'] button[type=submit]").click()
    expect(page).to_have_url(f"{hub.url}/t/{hub.thread_id}")
    expect(page.locator("#posts article.post")).to_have_count(1)


def test_a_member_removed_from_the_channel_is_told_once_and_the_poll_stops(
    browser: Browser, hub
) -> None:
    page = _open_thread(browser, hub.url, hub.secret_id)
    polls: list[str] = []
    page.on("request", lambda r: polls.append(r.url) if "/posts?after=" in r.url else None)
    with db.transaction(hub.app) as s:
        taro = s.query(User).filter_by(email="taro@corp.example").one()
        hr = channels.get_channel(s, "hr")
        channels.leave(s, user=taro, channel=hr)

    notice = page.locator("#flash [role=alert]")
    expect(notice).to_contain_text("This page does not exist", timeout=10_000)
    asked = len(polls)
    page.wait_for_timeout((2 * POLL_SECONDS + 1) * 1000)
    assert len(polls) == asked, polls
    expect(notice).to_have_count(1)
    # The thread stays as it was on the page: nothing else was swapped in.
    expect(page).to_have_url(f"{hub.url}/t/{hub.secret_id}")
    expect(page.locator("header.site")).to_have_count(1)
    expect(page.locator("#posts article.post")).to_have_count(1)
