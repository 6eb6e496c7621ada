"""A channel's settings page in a real Chromium (Japanese, CSRF on, htmx boost): its owner says
better what the channel is for, then archives it; its threads stay readable, with no reply form."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import ROOT, sign_in
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser

PURPOSE = "営業部の案件共有と見積の相談。終わった案件の振り返りは「業務改善」へどうぞ。"


def test_owner_edits_the_purpose_and_archives_the_channel(
    browser: Browser, ja_hub: LiveServer
) -> None:
    base = ja_hub.url
    page = browser.new_context(locale="ja-JP").new_page()
    sign_in(page, base, "tanaka")  # the owner of 営業 (sales), not an admin
    page.goto(f"{base}/c/sales")
    page.locator("#channel-settings-link").click()
    expect(page).to_have_url(f"{base}/c/sales/settings")
    expect(page.locator("#channel-address code")).to_have_text("sales@hub.test")

    form = page.locator("#channel-settings")
    form.locator("textarea[name=purpose]").fill(PURPOSE)
    form.locator("button[type=submit]").click()
    expect(page.locator("#flash")).to_contain_text("保存しました。")
    expect(form.locator("textarea[name=purpose]")).to_have_value(PURPOSE)

    page.locator("#archiving button[type=submit]").click()
    expect(page.locator("#flash")).to_contain_text("営業をアーカイブしました")
    expect(page.locator(".page-head .badge.archived")).to_be_visible()

    page.goto(f"{base}/c/sales")
    expect(page.locator(".purpose-panel .purpose")).to_have_text(PURPOSE)
    expect(page.locator(".title-line .badge.archived")).to_be_visible()
    expect(page.locator("a[href='/c/sales/new']")).to_have_count(0)
    page.locator("#threads a.title").first.click()
    expect(page).to_have_url(re.compile(r"/t/\d+$"))
    expect(page.locator("#posts article").first).to_be_visible()
    expect(page.locator("#reply-form")).to_have_count(0)
    expect(page.locator("#archived-note")).to_be_visible()
    page.screenshot(path=str(ROOT / "screenshots" / "channel_archived.png"), full_page=True)
