"""Editing one's post in place in a real Chromium (Japanese UI, CSRF on): no page load."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import select

from hub import db
from hub.models import Post
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser

BEFORE = "@yamamoto 承知しました。月曜の午前中に見積書の案を共有します。"
AFTER = "@yamamoto 承知しました。見積書の案は**火曜の朝**に共有します。"
AFTER_SHOWN = "@yamamoto 承知しました。見積書の案は火曜の朝に共有します。"  # Markdown rendered


def test_author_edits_a_post_in_place(browser: Browser, ja_hub) -> None:
    with db.transaction(ja_hub.app) as s:
        post = s.scalar(select(Post).where(Post.body == BEFORE))
        assert post is not None
        post_id, thread_id = post.id, post.thread_id
        others = [p.id for p in post.thread.posts if p.author_id != post.author_id]
    page = browser.new_context(locale="ja-JP").new_page()
    sign_in(page, ja_hub.url, "tanaka")
    page.goto(f"{ja_hub.url}/t/{thread_id}")
    url = page.url
    # A variable set now survives only if nothing below loads a new page.
    page.evaluate("window.__notReloaded = 'yes'")
    article = page.locator(f"#post-{post_id}")
    field = article.locator("textarea[name=body]")
    for other in others:  # only one's own posts have 編集
        expect(page.locator(f"#post-{other} a.edit")).to_have_count(0)

    # Edit swaps the post for a form holding its text; Cancel brings the post back.
    article.get_by_role("link", name="編集", exact=True).click()
    expect(field).to_have_value(BEFORE)
    expect(field).to_be_focused()
    article.get_by_role("link", name="キャンセル").click()
    expect(field).to_have_count(0)
    expect(article.locator(".body")).to_have_text(BEFORE)

    # A refused edit keeps the typed text and says why, in place.
    article.get_by_role("link", name="編集", exact=True).click()
    field.fill("   ")
    article.get_by_role("button", name="保存").click()
    expect(article.get_by_role("alert")).to_have_text("本文を入力してください。")
    expect(field).to_have_value("   ")

    field.fill(AFTER)
    article.get_by_role("button", name="保存").click()
    expect(field).to_have_count(0)
    expect(article.locator(".body")).to_have_text(AFTER_SHOWN)
    expect(article.locator(".body strong")).to_have_text("火曜の朝")
    expect(article.locator(".edited")).to_have_text("（編集済み）")
    assert page.evaluate("window.__notReloaded") == "yes" and page.url == url

    # It was saved: a fresh load shows the new text, and the history has the old one.
    page.reload()
    expect(page.locator(f"#post-{post_id} .body")).to_contain_text("火曜の朝")
    with db.transaction(ja_hub.app) as s:
        saved = s.get(Post, post_id)
        assert saved.body == AFTER and [r.body for r in saved.revisions] == [BEFORE]
