"""The mentions page in Chromium: the navigation counts new mentions, the page marks them, and
the visit is recorded by the page itself (a POST after it is shown), so the count clears."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, expect

from hub import db
from hub.models import User
from hub.services import accounts, channels
from tests.browser.conftest import sign_in
from tests.factories import make_thread

pytestmark = pytest.mark.browser


def test_new_mentions_are_counted_marked_and_then_seen(browser: Browser, ja_hub) -> None:
    with db.transaction(ja_hub.app) as s:
        tanaka = accounts.find_user_by_email(s, "tanaka@hiroba-shoji.example")
        assert tanaka is not None
        general = channels.get_channel(s, "general")
        body = "@suzuki さん、議事録をお願いできますか？"
        post = make_thread(s, channel=general, author=tanaka, title="来週の全体会議", body=body)
        post_id, thread_id = post.id, post.thread_id

    page = browser.new_context(locale="ja-JP").new_page()
    sign_in(page, ja_hub.url, "suzuki")
    count = page.locator("header.site #mentions-count")
    expect(count).to_have_text("1")
    page.locator("header.site a[href='/mentions']").click()
    expect(page).to_have_url(re.compile(r"/mentions$"))
    item = page.locator("ul.mentions > li.mention").first
    expect(item).to_have_class(re.compile(r"\bnew\b"))
    expect(item.locator(".badge.new")).to_be_visible()
    expect(item).to_contain_text("来週の全体会議")
    expect(item).to_contain_text("田中 健太")
    expect(item).to_contain_text("議事録をお願いできますか")
    # The page recorded the visit by itself: the count in the navigation is gone ...
    expect(count).to_be_hidden()
    with db.transaction(ja_hub.app) as s:
        suzuki = accounts.find_user_by_email(s, "suzuki@hiroba-shoji.example")
        assert isinstance(suzuki, User) and suzuki.mentions_seen_id > 0
    # ... while the marks stay on the page just read; seen again, nothing is new.
    page.reload()
    expect(page.locator("ul.mentions > li.mention").first).to_contain_text("来週の全体会議")
    expect(page.locator("ul.mentions .badge.new")).to_have_count(0)

    # The thread's title leads to the post.
    page.locator("ul.mentions > li.mention").first.locator("a.title").click()
    expect(page).to_have_url(re.compile(rf"/t/{thread_id}#post-{post_id}$"))
    expect(page.locator(f"#post-{post_id}")).to_contain_text("議事録")
