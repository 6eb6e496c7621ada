"""In Chromium, in Japanese: the admin of the demo company invites a new member; the member
opens the invitation's link, signs in with no password, accepts the rules (the default ones),
reads the guide and starts on the channels, already in 全社連絡 and お知らせ. Opened again,
the spent link offers a fresh one by mail, which signs them straight in. Mail goes over real
SMTP to a sink."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from hub import db, demo
from tests.browser.conftest import PASSWORD, sign_in
from tests.conftest import LiveServer, free_port, japanese_app
from tests.fixtures_mailout import text_of, to
from tests.hub.test_onboarding import send_all

pytestmark = pytest.mark.browser

NEW = f"shinjin@{demo.DOMAIN}"


@pytest.fixture
def hub(database_url: str, tmp_path: Path, smtp_sink: Any) -> Iterator[LiveServer]:
    """The demo hub in Japanese, CSRF on, its mail relayed to the sink."""
    port = free_port()
    with japanese_app(database_url, tmp_path, BASE_URL=f"http://127.0.0.1:{port}",
                      WTF_CSRF_ENABLED=True, RELAY_URL=smtp_sink.url) as app:  # fmt: skip
        with db.transaction(app) as session:
            demo.load(session, password=PASSWORD)
        server = LiveServer(app, port)
        yield server
        server.stop()


def link_in(base: str, text: str) -> str:
    found = re.search(re.escape(base) + r"/login/link/[A-Za-z0-9_-]+", text)
    assert found is not None, text
    return found.group(0)


def test_an_invited_member_signs_in_from_the_mail_and_starts(
    browser: Browser, hub: LiveServer, smtp_sink: Any
) -> None:
    base = hub.url
    admin = browser.new_context(locale="ja-JP").new_page()
    sign_in(admin, base, "sato")
    admin.goto(f"{base}/admin/members")
    form = admin.locator("form#invite")
    form.locator("input[name=email]").fill(NEW)
    form.locator("input[name=name]").fill("新人 花子")
    form.locator("button[type=submit]").click()
    expect(admin.locator("#flash")).to_contain_text("新人 花子さんを招待しました。")

    send_all(hub.app)
    (mail,) = to(smtp_sink, NEW)
    assert mail["Subject"] == "[Hiroba] Hiroba へのご招待"
    link = link_in(base, text_of(mail))

    member = browser.new_context(locale="ja-JP").new_page()
    member.goto(link)
    member.locator(f"form[action='{link[len(base) :]}'] button[type=submit]").click()
    # First the rules (nobody wrote any: the default ones), then the guide, then the start.
    expect(member).to_have_url(re.compile(r"/rules\?next="))
    expect(member.locator("article.markdown")).to_contain_text("広場のルール")
    member.locator("#accept-rules").click()
    expect(member).to_have_url(re.compile(r"/guide\?next="))
    member.locator("#guide-start").click()
    expect(member).to_have_url(re.compile(re.escape(base) + r"/\??$"))
    for slug, name in (("general", "全社連絡"), ("announcements", "お知らせ")):
        card = member.locator("article.channel-card", has=member.locator(f"a[href='/c/{slug}']"))
        expect(card.locator("h3")).to_contain_text(name)
        expect(card.locator(".joined")).to_be_visible()

    # The link worked once; in another browser it offers a fresh one, mailed to the member.
    other = browser.new_context(locale="ja-JP").new_page()
    other.goto(link)
    other.locator("#renew-link button[type=submit]").click()
    expect(other.locator("#link-renewed")).to_be_visible()
    send_all(hub.app)
    invitation, fresh = to(smtp_sink, NEW)
    other.goto(link_in(base, text_of(fresh)))
    other.locator("form[action^='/login/link/'] button[type=submit]").click()
    # The rules were accepted: straight to the channels.
    expect(other).to_have_url(re.compile(re.escape(base) + r"/$"))
    expect(other.locator("header.site .who")).to_be_visible()
