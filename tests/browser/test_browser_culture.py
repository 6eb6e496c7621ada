"""Culture in a real Chromium: an admin publishes an announcement, a member acknowledges it from
the banner (htmx, in place), the admin view shows who and how; a private channel is approved."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from hub import db
from hub.models import Channel, ChannelStatus, User
from hub.services import channels as channel_service
from tests.factories import PASSWORD, make_channel, make_user

pytestmark = pytest.mark.browser


@pytest.fixture
def hub(live_server):
    """The live hub with an admin, a member and one open channel."""
    with db.transaction(live_server.app) as session:
        admin = make_user(session, email="admin@corp.example", name="管理者", admin=True)
        make_user(session, email="sato@corp.example", name="佐藤 花子")
        make_channel(session, slug="general", name="全体", creator=admin)
    return live_server


def sign_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.locator("form[action='/login'] input[name=email]").fill(email)
    page.locator("form[action='/login'] input[name=password]").fill(PASSWORD)
    page.locator("form[action='/login'] button[type=submit]").click()
    expect(page.locator("header.site .who")).to_be_visible()


def test_publish_acknowledge_from_banner_admin_view_updates(browser: Browser, hub) -> None:
    base = hub.url
    admin = browser.new_context(locale="ja-JP").new_page()
    sign_in(admin, base, "admin@corp.example")
    admin.goto(f"{base}/admin/announcements")
    admin.locator("#publish-form input[name=title]").fill("社内SNSの目的と運用ルール")
    admin.locator("#publish-form textarea[name=body]").fill("情報は**オープン**に共有します。")
    admin.locator("#publish-form button[type=submit]").click()
    expect(admin.locator("#ack-summary")).to_contain_text("0")
    expect(admin.locator("#not-acknowledged")).to_contain_text("sato@corp.example")
    status_url = admin.url

    member = browser.new_context(locale="ja-JP").new_page()
    sign_in(member, base, "sato@corp.example")
    banner = member.locator(".announcement-banner")
    expect(banner).to_contain_text("社内SNSの目的と運用ルール")
    member.goto(f"{base}/thanks")
    expect(banner).to_be_visible()  # on every page until acknowledged
    member.evaluate("window.__notReloaded = 'yes'")
    banner.locator("button.ack-button").click()
    expect(member.locator("p.acknowledged")).to_be_visible()
    assert member.evaluate("window.__notReloaded") == "yes"  # swapped in place by htmx
    member.goto(f"{base}/")
    expect(member.locator(".announcement-banner")).to_have_count(0)

    admin.goto(status_url)
    row = admin.locator("#acknowledged tbody tr", has_text="sato@corp.example")
    expect(row).to_contain_text("web")
    expect(admin.locator("#not-acknowledged")).not_to_contain_text("sato@corp.example")


def test_private_channel_request_is_approved(browser: Browser, hub) -> None:
    with db.transaction(hub.app) as session:
        sato = session.scalar(select(User).where(User.email == "sato@corp.example"))
        make_channel(session, slug="hr-review", name="人事評価", private=True,
                     reason="評価面談の調整", creator=sato)  # fmt: skip
    admin = browser.new_context(locale="ja-JP").new_page()
    sign_in(admin, hub.url, "admin@corp.example")
    admin.goto(f"{hub.url}/admin/channel-requests")
    card = admin.locator("#request-hr-review")
    expect(card).to_contain_text("評価面談の調整")
    card.locator("input[name=note]").fill("年度末に見直してください")
    card.locator("button[value=approve]").click()
    expect(admin.locator("#no-requests")).to_be_visible()
    with db.transaction(hub.app) as session:
        channel = channel_service.find_channel(session, "hr-review")
        assert isinstance(channel, Channel) and channel.status == ChannelStatus.ACTIVE
        assert channel.review_note == "年度末に見直してください"
