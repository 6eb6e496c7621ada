"""In Chromium, in Japanese: 伊藤 names 田中 (who cannot read the private channel 人事) and 佐藤
(who can) in a reply there. She is told that 田中 was not notified; on the page only @佐藤 is a
highlighted mention; only 佐藤 was told. In an open channel @田中 is highlighted, no notice."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from hub import db
from hub.models import Channel, Mention, Post, Thread, User
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser


NOT_TOLD = "@田中 はこのチャンネルを読めないため、通知されていません。"


def thread_in(hub: Any, slug: str) -> int:
    with db.transaction(hub.app) as session:
        found = session.scalar(
            select(Thread.id).join(Channel).where(Channel.slug == slug).order_by(Thread.id)
        )
        assert found is not None
        return int(found)


def told(hub: Any, body: str) -> list[str]:
    """Who the post with ``body`` told (its Mention rows), by address local part."""
    with db.transaction(hub.app) as session:
        post = session.scalar(select(Post).where(Post.body == body))
        assert post is not None
        stmt = select(User.email).join(Mention, Mention.user_id == User.id)
        emails = session.scalars(stmt.where(Mention.post_id == post.id))
        return sorted(e.split("@")[0] for e in emails)


def reply(page: Page, hub: Any, slug: str, body: str) -> None:
    page.goto(f"{hub.url}/t/{thread_in(hub, slug)}")
    page.locator("#reply-form textarea[name=body]").fill(body)
    page.locator("#reply-form button[type=submit]").click()
    expect(page.locator("#posts .post .body").last).to_contain_text(body.split("\n")[0][-6:])


def test_a_private_channel_reply_says_who_was_not_notified(browser: Browser, ja_hub: Any) -> None:
    page = browser.new_context(locale="ja-JP").new_page()
    sign_in(page, ja_hub.url, "ito")
    body = "@田中 さん、@佐藤 さん、面接日程の確認をお願いします。"
    reply(page, ja_hub, "jinji", body)

    expect(page.locator("#reply-form .notice.warn")).to_have_text(NOT_TOLD)
    post = page.locator("#posts .post .body").last
    expect(post.locator(".mention")).to_have_count(1)
    expect(post.locator(".mention")).to_have_text("@佐藤")
    expect(post).to_contain_text("@田中 さん")
    assert told(ja_hub, body) == ["sato"]

    # The notice is for that post only: the next reply naming only 佐藤 says nothing.
    reply(page, ja_hub, "jinji", "@佐藤 さん、追加の候補者です。")
    expect(page.locator("#reply-form .notice.warn")).to_have_count(0)


def test_in_an_open_channel_the_same_mention_is_highlighted(browser: Browser, ja_hub: Any) -> None:
    page = browser.new_context(locale="ja-JP").new_page()
    sign_in(page, ja_hub.url, "ito")
    body = "@田中 さん、改善案の件お願いします。"
    reply(page, ja_hub, "kaizen", body)
    post = page.locator("#posts .post .body").last
    expect(post.locator(".mention")).to_have_text("@田中")
    expect(page.locator("#reply-form .notice.warn")).to_have_count(0)
    assert told(ja_hub, body) == ["tanaka"]
