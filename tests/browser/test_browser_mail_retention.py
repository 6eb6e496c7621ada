"""The admin's mail log in a real Chromium, in Japanese: a message whose source retention deleted
says so, with what became of it, and offers no replay; a whole one still shows its source."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import update

from hub import db
from hub.db import utcnow
from hub.models import InboundMessage
from mailbridge import retention
from tests.browser.conftest import ROOT, sign_in
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser


def test_a_message_whose_source_was_deleted(browser: Browser, ja_hub: LiveServer) -> None:
    with db.transaction(ja_hub.app) as s:
        raw = "From: buchou@example\r\nSubject: 予算\r\n\r\n承認します\r\n".encode()
        rows = [
            InboundMessage(message_key=f"<{n}@x>", raw=raw, source="smtp", sender="buchou@x",
                           subject=f"Re: 予算 {n}", status=status, text="承認します")
            # The new one was refused (its sender not yet a member): it can be replayed.
            for n, status in (("old", "replied"), ("new", "rejected"))
        ]  # fmt: skip
        s.add_all(rows)
        s.flush()
        old_id, new_id = rows[0].id, rows[1].id
        s.execute(
            update(InboundMessage)
            .where(InboundMessage.id == old_id)
            .values(received_at=utcnow() - timedelta(days=100))
        )
    assert retention.prune(ja_hub.app, days=90).inbound.rows == 1
    page = browser.new_context(locale="ja-JP").new_page()
    sign_in(page, ja_hub.url, "sato")  # the demo's admin
    page.goto(f"{ja_hub.url}/admin/mail/{old_id}")
    notice = page.locator("#raw-dropped")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("削除されました")
    expect(page.locator("pre.mail-text")).to_have_text("承認します")
    expect(page.locator("pre.raw-source")).to_have_count(0)
    expect(page.locator("form[action$='/replay']")).to_have_count(0)
    page.screenshot(path=str(ROOT / "screenshots" / "mail_retention_dropped.png"), full_page=True)
    page.goto(f"{ja_hub.url}/admin/mail/{new_id}")
    expect(page.locator("pre.raw-source")).to_contain_text("承認します")
    expect(page.locator("form[action$='/replay'] button")).to_be_visible()
    expect(page.locator("#raw-dropped")).to_have_count(0)
