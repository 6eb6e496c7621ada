"""In Chromium, in Japanese: an admin who saves the rules is told 「保存しました。」 and stays on
the edit page, with its counts of who has accepted this version (they landed on /rules with no
word that anything was saved)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser

TEXT = "# 広場のルール\n\n- 人を傷つけない\n- お客様の個人情報を書かない"


def test_saving_the_rules_says_saved_and_shows_who_has_accepted(
    browser: Browser, ja_hub: Any
) -> None:
    page = browser.new_context(locale="ja-JP").new_page()
    sign_in(page, ja_hub.url, "sato")
    page.goto(f"{ja_hub.url}/admin/rules")
    counts = page.locator("#rules-accepted")
    expect(counts).to_contain_text("この版に同意したメンバー")
    before = counts.inner_text()

    # A typo fix: nobody is asked again, the counts stay as they were.
    page.locator("textarea[name=markdown]").fill(TEXT)
    page.get_by_role("button", name="保存").click()
    expect(page).to_have_url(f"{ja_hub.url}/admin/rules")
    expect(page.locator("#flash")).to_have_text("保存しました。")
    expect(page.locator("textarea[name=markdown]")).to_have_value(TEXT)
    expect(counts).to_have_text(before)

    # Asking everyone again: only the admin who saved has accepted the new version.
    page.locator("textarea[name=markdown]").fill(TEXT + "\n- 困ったら管理者へ")
    page.locator("#ask-again").check()
    page.get_by_role("button", name="保存").click()
    expect(page).to_have_url(f"{ja_hub.url}/admin/rules")
    expect(page.locator("#flash")).to_have_text("保存しました。")
    expect(counts).to_have_text(re.compile(r"この版に同意したメンバー: \d+人中1人"))
    expect(page.locator("#rules-status summary")).to_contain_text("まだ同意していないメンバー")
