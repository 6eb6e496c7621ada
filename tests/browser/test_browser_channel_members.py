"""A private channel's members page in a real Chromium (Japanese, CSRF on, htmx boost)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from playwright.sync_api import Browser, expect

from hub import create_app, db, demo
from hub.web import babel
from tests.browser.test_browser_hub import PASSWORD, sign_in
from tests.conftest import LiveServer, free_port, test_settings

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def ja_hub(database_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    """The demo hub with the Japanese catalog (and this feature's part, until merged)."""
    with (ROOT / "hub/translations/ja/LC_MESSAGES/messages.po").open("rb") as f:
        catalog = read_po(f)
    part = ROOT / "hub/translations/parts/channel_members.po"
    if part.exists():
        with part.open("rb") as f:
            for m in read_po(f):
                if m.id and not (catalog.get(m.id) and catalog.get(m.id).string):
                    catalog.add(m.id, m.string)
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


def test_owner_adds_and_removes_members_of_a_private_channel(browser: Browser, ja_hub) -> None:
    base = ja_hub.url
    owner = browser.new_context(locale="ja-JP").new_page()
    sign_in(owner, base, "sato")
    owner.goto(f"{base}/c/jinji")
    owner.locator("#membership a.count").click()
    expect(owner).to_have_url(f"{base}/c/jinji/members")
    expect(owner.locator("h1")).to_contain_text("人事のメンバー")

    # A refused address comes back with the reason, and what was typed stays in the field.
    field = owner.locator("#add-member input[name=email]")
    field.fill("nobody@hiroba-shoji.example")
    owner.locator("#add-member button[type=submit]").click()
    expect(owner.locator("[role=alert]")).to_contain_text("というアドレスのメンバーはいません")
    expect(field).to_have_value("nobody@hiroba-shoji.example")

    field.fill(f"tanaka@{demo.DOMAIN}")
    owner.locator("#add-member button[type=submit]").click()
    expect(owner.locator("#flash")).to_contain_text("田中 健太さんを人事に追加しました。")
    expect(owner.locator("#members")).to_contain_text("田中 健太")

    member = browser.new_context(locale="ja-JP").new_page()
    sign_in(member, base, "ito")
    assert member.goto(f"{base}/c/jinji").status == 200

    # Remove asks first (hx-confirm), then the member is gone and so is the channel for her.
    owner.once("dialog", lambda dialog: dialog.accept())
    row = owner.locator("#members tr", has_text="伊藤 さくら")
    row.locator("button", has_text="削除").click()
    expect(owner.locator("#flash")).to_contain_text("伊藤 さくらさんを人事から外しました。")
    expect(owner.locator("#members")).not_to_contain_text("伊藤 さくら")
    assert member.goto(f"{base}/c/jinji").status == 404
    expect(owner).to_have_url(re.compile(r"/c/jinji/members$"))
