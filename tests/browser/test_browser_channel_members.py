"""A private channel's members page in a real Chromium (Japanese, CSRF on, htmx boost)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, expect

from hub import demo
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser


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

    # Remove asks first (hx-confirm): dismissed, nothing happens; accepted, the member is gone
    # and so is the channel for her.
    asked: list[str] = []

    def answer(accept: bool):  # noqa: ANN202
        def on_dialog(dialog) -> None:  # noqa: ANN001
            asked.append(dialog.message)
            dialog.accept() if accept else dialog.dismiss()

        return on_dialog

    row = owner.locator("#members tr", has_text="伊藤 さくら")
    owner.once("dialog", answer(False))
    row.locator("button", has_text="削除").click()
    expect(owner.locator("#members")).to_contain_text("伊藤 さくら")
    owner.once("dialog", answer(True))
    row.locator("button", has_text="削除").click()
    expect(owner.locator("#flash")).to_contain_text("伊藤 さくらさんを人事から外しました。")
    assert len(asked) == 2 and "伊藤 さくら" in asked[0], asked
    expect(owner.locator("#members")).not_to_contain_text("伊藤 さくら")
    assert member.goto(f"{base}/c/jinji").status == 404
    expect(owner).to_have_url(re.compile(r"/c/jinji/members$"))
