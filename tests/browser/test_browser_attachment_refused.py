"""In Chromium, in Japanese: files refused on the new-thread and reply forms are named, with why
and what may be attached; the acceptable file picked with them is named too, to be picked again
(a browser cannot keep picked files); what was typed stays. Then it posts as picked again."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import func, select

from hub import db
from hub.models import Attachment, Post, Thread
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser


PDF = {"name": "給与表.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4\n%%EOF\n"}
SVG = {"name": "evil.svg", "mimeType": "image/svg+xml", "buffer": b"<svg onload=alert(1)>"}
HTML = {"name": "evil.html", "mimeType": "text/html", "buffer": b"<script>alert(1)</script>"}
PNG = {"name": "現場.png", "mimeType": "image/png", "buffer": b"\x89PNG\r\n\x1a\n" + b"\0" * 64}


def count(hub: Any, model: Any) -> int:
    with db.transaction(hub.app) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _page(browser: Browser, hub: Any) -> Page:
    page = browser.new_context(locale="ja-JP").new_page()
    sign_in(page, hub.url, "tanaka")
    return page


def test_a_new_thread_names_the_refused_files_and_the_one_to_pick_again(
    browser: Browser, ja_hub: Any
) -> None:
    threads_before = count(ja_hub, Thread)
    page = _page(browser, ja_hub)
    page.goto(f"{ja_hub.url}/c/sales/new")
    form = page.locator("form[action='/c/sales/new']")
    form.locator("input[name=title]").fill("給与表の確認")
    form.locator("textarea[name=body]").fill("今月分です。")
    form.locator("input[type=file]").set_input_files([PDF, SVG, HTML])  # type: ignore[list-item]
    form.locator("button[type=submit]").click()

    notice = page.locator("#files-refused")
    expect(notice).to_contain_text("evil.svg、evil.html：この種類のファイルは添付できません。")
    expect(notice).to_contain_text(re.compile(r"添付できるファイル：PNG、JPEG、.*PDF、.*Excel"))
    expect(notice).to_contain_text("1つ 10 MB まで")
    expect(notice).to_contain_text("一緒に選んだ 給与表.pdf も添付されていません")
    expect(notice).to_contain_text("もう一度選んでください")
    # What was typed stays; nothing was posted.
    expect(page.locator("input[name=title]")).to_have_value("給与表の確認")
    expect(page.locator("textarea[name=body]")).to_have_value("今月分です。")
    assert count(ja_hub, Thread) == threads_before

    # Picked again, the PDF alone: the thread starts with it.
    page.locator("input[type=file]").set_input_files([PDF])  # type: ignore[list-item]
    page.locator("form[action='/c/sales/new'] button[type=submit]").click()
    expect(page.locator("h1.thread-title")).to_have_text("給与表の確認")
    expect(page.locator(".attachments")).to_contain_text("給与表.pdf")


def test_a_refused_reply_keeps_its_text_and_names_the_files(browser: Browser, ja_hub: Any) -> None:
    with db.transaction(ja_hub.app) as session:
        thread_id = session.scalar(select(Thread.id).order_by(Thread.id))
    posts_before, files_before = count(ja_hub, Post), count(ja_hub, Attachment)
    page = _page(browser, ja_hub)
    page.goto(f"{ja_hub.url}/t/{thread_id}")
    form = page.locator("#reply-form")
    form.locator("textarea[name=body]").fill("写真を添付します。")
    form.locator("input[type=file]").set_input_files([SVG, PNG])  # type: ignore[list-item]
    form.locator("button[type=submit]").click()

    notice = page.locator("#reply-form #files-refused")
    expect(notice).to_contain_text("evil.svg：この種類のファイルは添付できません。")
    expect(notice).to_contain_text("一緒に選んだ 現場.png も添付されていません")
    expect(page.locator("#reply-form textarea[name=body]")).to_have_value("写真を添付します。")
    assert (count(ja_hub, Post), count(ja_hub, Attachment)) == (posts_before, files_before)
