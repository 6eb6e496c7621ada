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


def test_a_mention_in_a_post_is_a_highlighted_link_to_the_member(browser: Browser, ja_hub) -> None:
    with db.transaction(ja_hub.app) as s:
        tanaka = accounts.find_user_by_email(s, "tanaka@hiroba-shoji.example")
        suzuki = accounts.find_user_by_email(s, "suzuki@hiroba-shoji.example")
        assert tanaka is not None and suzuki is not None
        general = channels.get_channel(s, "general")
        body = "この件は@鈴木さんに確認します。@nobody は誰でもありません。"
        post = make_thread(s, channel=general, author=tanaka, title="確認", body=body)
        post_id, thread_id, suzuki_id = post.id, post.thread_id, suzuki.id

    page = browser.new_context(locale="ja-JP").new_page()
    sign_in(page, ja_hub.url, "ito")
    page.goto(f"{ja_hub.url}/t/{thread_id}")
    body_el = page.locator(f"#post-{post_id} .body")
    link = body_el.locator("a.mention")
    expect(link).to_have_count(1)
    expect(link).to_have_text("@鈴木")
    expect(link).to_have_attribute("title", "鈴木 愛")
    # Highlighted: it does not look like the text around it.
    paragraph_bg = body_el.locator("p").evaluate("el => getComputedStyle(el).backgroundColor")
    link_bg = link.evaluate("el => getComputedStyle(el).backgroundColor")
    assert link_bg != paragraph_bg
    expect(body_el).to_contain_text("@nobody は誰でもありません")
    link.click()
    expect(page).to_have_url(re.compile(rf"/thanks/member/{suzuki_id}$"))
    expect(page.locator("h1")).to_contain_text("鈴木 愛")
