"""Editing one's post in place in a real Chromium (Japanese UI, CSRF on): no page load."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from playwright.sync_api import Browser, expect
from sqlalchemy import select

from hub import create_app, db, demo
from hub.models import Post
from hub.web import babel
from tests.browser.test_browser_hub import PASSWORD, sign_in
from tests.conftest import LiveServer, free_port, test_settings

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
BEFORE = "@yamamoto 承知しました。月曜の午前中に見積書の案を共有します。"
AFTER = "@yamamoto 承知しました。見積書の案は**火曜の朝**に共有します。"
AFTER_SHOWN = "@yamamoto 承知しました。見積書の案は火曜の朝に共有します。"  # Markdown rendered


@pytest.fixture
def ja_hub(database_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    """The demo hub served with the Japanese catalog compiled here."""
    with (ROOT / "hub/translations/ja/LC_MESSAGES/messages.po").open("rb") as f:
        catalog = read_po(f)
    folder = tmp_path / "translations" / "ja" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    with (folder / "messages.mo").open("wb") as out:
        write_mo(out, catalog)
    port = free_port()
    app = create_app(
        test_settings(database_url, tmp_path, BASE_URL=f"http://127.0.0.1:{port}",
                      WTF_CSRF_ENABLED=True,
                      BABEL_TRANSLATION_DIRECTORIES=str(tmp_path / "translations"))
    )  # fmt: skip
    with app.app_context():
        babel.domain_instance.cache.clear()
    with db.transaction(app) as session:
        demo.load(session, password=PASSWORD)
    server = LiveServer(app, port)
    yield server
    server.stop()
    db.engine_of(app).dispose()
    with app.app_context():
        babel.domain_instance.cache.clear()


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
