"""The hub in a real Chromium: sign in, start a thread, reply through htmx, live refresh, no-JS.

Also takes screenshots of the channel list, a thread and a search (Japanese demo content) to
screenshots/ for people to look at.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from hub import db, demo
from tests.browser.conftest import PASSWORD, sign_in

pytestmark = pytest.mark.browser

SHOTS = Path(__file__).resolve().parents[2] / "screenshots"


@pytest.fixture
def hub(live_server):
    """The live hub with the demo company loaded."""
    with db.transaction(live_server.app) as session:
        demo.load(session, password=PASSWORD)
    return live_server


def test_reply_through_htmx_appears_in_a_second_browser(browser: Browser, hub) -> None:
    base = hub.url
    writer = browser.new_context(locale="ja-JP").new_page()
    sign_in(writer, base, "tanaka")
    writer.goto(f"{base}/c/sales/new")
    writer.locator("input[name=title]").fill("B社 提案書のレビュー")
    writer.locator("textarea[name=body]").fill("提案書の初版です。**金曜まで**にご意見ください。")
    writer.locator("form[action='/c/sales/new'] button[type=submit]").click()
    expect(writer).to_have_url(re.compile(r"/t/\d+$"))
    thread_url = writer.url
    expect(writer.locator("#posts")).to_contain_text("提案書の初版です")

    reader = browser.new_context(locale="en-US").new_page()
    sign_in(reader, base, "emily")
    reader.goto(thread_url)
    expect(reader.locator("#posts")).to_contain_text("提案書の初版です")

    # A variable set now survives only if the reply does not reload the page.
    writer.evaluate("window.__notReloaded = 'yes'")
    writer.locator("#reply-body").fill("価格表の最新版を添付します。")
    writer.locator("#reply-form button[type=submit]").click()
    expect(writer.locator("#posts")).to_contain_text("価格表の最新版を添付します。")
    assert writer.evaluate("window.__notReloaded") == "yes"
    expect(writer.locator("#reply-body")).to_have_value("")
    # The reply shows once, though the poll and the reply's answer both carry it.
    expect(writer.locator("#posts article", has_text="価格表の最新版")).to_have_count(1)

    # The second browser sees it within 5 s, without a reload.
    reader.evaluate("window.__notReloaded = 'yes'")
    expect(reader.locator("#posts")).to_contain_text("価格表の最新版を添付します。", timeout=5000)
    assert reader.evaluate("window.__notReloaded") == "yes"

    # Reactions toggle in place.
    first = writer.locator("#posts article").first
    first.locator("button.reaction[value='🙏']").click()
    expect(first.locator("button.reaction.mine[value='🙏']")).to_be_visible()
    assert writer.evaluate("window.__notReloaded") == "yes"


def test_without_javascript_a_reply_still_posts(browser: Browser, hub) -> None:
    base = hub.url
    page = browser.new_context(java_script_enabled=False).new_page()
    sign_in(page, base, "suzuki")
    page.goto(f"{base}/c/dev")
    page.locator("a[href^='/t/']").first.click()
    expect(page).to_have_url(re.compile(r"/t/\d+$"))
    page.locator("#reply-body").fill("JavaScript なしでも返信できます。")
    page.locator("#reply-form button[type=submit]").click()
    # POST-redirect-GET: the browser lands on the thread again, the reply in it.
    expect(page).to_have_url(re.compile(r"/t/\d+(#post-\d+)?$"))
    expect(page.locator("#posts")).to_contain_text("JavaScript なしでも返信できます。")


def test_screenshots_of_the_demo(browser: Browser, ja_hub) -> None:
    hub = ja_hub
    SHOTS.mkdir(exist_ok=True)
    page = browser.new_context(locale="ja-JP", viewport={"width": 1280, "height": 900}).new_page()
    sign_in(page, hub.url, "sato")
    page.goto(f"{hub.url}/")
    # The demo's six channels and the announcement channel (お知らせ) every member is in.
    expect(page.locator(".channel-card")).to_have_count(7)
    expect(page.locator("h1")).to_have_text("チャンネル")  # the Japanese UI
    page.screenshot(path=str(SHOTS / "channels.png"), full_page=True)

    page.goto(f"{hub.url}/c/sales")
    expect(page.locator(".purpose-panel")).to_be_visible()
    page.screenshot(path=str(SHOTS / "channel.png"), full_page=True)
    page.locator("a", has_text="A社 来期予算の見積もり相談").click()
    expect(page.locator("#posts article")).to_have_count(5)  # with the fresh mention of 部長
    page.screenshot(path=str(SHOTS / "thread.png"), full_page=True)

    page.goto(f"{hub.url}/search?q=予算")
    expect(page.locator(".result mark").first).to_have_text("予算")
    page.screenshot(path=str(SHOTS / "search.png"), full_page=True)
    for name in ("channels", "channel", "thread", "search"):
        assert (SHOTS / f"{name}.png").stat().st_size > 10_000
