"""The admin's mail log in a real Chromium, in Japanese: a mail posted whole (nothing new above
its quotes) is marked in the list and explained on its page; a trimmed one is not."""

from __future__ import annotations

from email.message import EmailMessage

import pytest
from playwright.sync_api import Browser, expect

from hub.demo import DOMAIN
from mailbridge import ingest
from tests.browser.conftest import ROOT, sign_in
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser


def mail(subject: str, body: str) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = f"yamamoto@{DOMAIN}", "sales@hub.test", subject
    msg.set_content(body)
    return msg.as_bytes()


def test_a_mail_posted_whole_is_marked(browser: Browser, ja_hub: LiveServer) -> None:
    app = ja_hub.app
    forwarded = "2026年11月27日(金) 9:12 お客様 <buyer@client.example>:\n> 40台の見積をください。\n"
    whole = ingest.receive(app, mail("FW: 見積依頼", forwarded), ["sales@hub.test"], "smtp")
    cut = ingest.receive(
        app, mail("昼食", "12時でどうですか\n\n佐藤 wrote:\n> お昼どうする？\n"),
        ["sales@hub.test"], "smtp",
    )  # fmt: skip
    assert (whole.status, whole.kept_whole, cut.status, cut.kept_whole) == (
        "posted", True, "posted", False,
    )  # fmt: skip
    page = browser.new_context(locale="ja-JP").new_page()
    sign_in(page, ja_hub.url, "sato")  # the demo's admin
    page.goto(f"{ja_hub.url}/admin/mail")
    rows = page.locator("table.mail-log tbody tr")
    expect(rows.filter(has_text="FW: 見積依頼").locator(".badge.kept-whole")).to_be_visible()
    expect(rows.filter(has_text="昼食").locator(".badge.kept-whole")).to_have_count(0)
    rows.filter(has_text="FW: 見積依頼").locator("td a").first.click()
    note = page.locator("#kept-whole")
    expect(note).to_be_visible()
    expect(note).to_contain_text("引用も含めてメール全体を投稿しました")
    page.screenshot(path=str(ROOT / "screenshots" / "mail_log_kept_whole.png"), full_page=True)
