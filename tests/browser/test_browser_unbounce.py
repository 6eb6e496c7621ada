"""An admin starts a bouncing member's mail again from the members page, in a real Chromium
(Japanese, CSRF on, htmx boost): the page says why it stopped, and asks before resuming."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Dialog, expect
from sqlalchemy import select

from hub import db, demo
from hub.models import User
from tests.browser.conftest import sign_in
from tests.hub.test_unbounce import bounce_on_days

pytestmark = pytest.mark.browser

FULL = "552 5.2.2 <yamamoto@hiroba-shoji.example>: Mailbox full"


def test_admin_sees_why_and_resumes_mail(browser: Browser, ja_hub) -> None:
    address = f"yamamoto@{demo.DOMAIN}"
    with db.transaction(ja_hub.app) as session:
        # Mailbox full on ten days: the soft rule stopped his mail.
        bounce_on_days(
            session, address, list(range(10)), hard=False, status="5.2.2", diagnostic=FULL
        )
        user = session.scalar(select(User).where(User.email == address))
        assert user is not None and user.bouncing
        user_id = user.id
    page = browser.new_context(locale="ja-JP").new_page()
    sign_in(page, ja_hub.url, "sato")
    page.goto(f"{ja_hub.url}/admin/members")
    row = page.locator(f"#member-{user_id}")
    expect(row.locator(".badge.warn")).to_be_visible()
    note = row.locator(f"#bounce-{user_id}")
    expect(note).to_contain_text("Mailbox full")
    expect(note).to_contain_text("メールボックスが満杯")

    asked: list[str] = []

    def answer(accept: bool):  # noqa: ANN202
        def on_dialog(dialog: Dialog) -> None:
            asked.append(dialog.message)
            dialog.accept() if accept else dialog.dismiss()

        return on_dialog

    # Dismissed: nothing happens. Accepted: his mail goes again, and the page says so.
    page.once("dialog", answer(False))
    note.locator("button").click()
    expect(note).to_be_visible()
    page.once("dialog", answer(True))
    note.locator("button").click()
    expect(page.locator("#flash")).to_contain_text("山本 誠")
    expect(page.locator(f"#bounce-{user_id}")).to_have_count(0)
    assert len(asked) == 2 and "山本 誠" in asked[0], asked
    with db.transaction(ja_hub.app) as session:
        user = session.get(User, user_id)
        assert user is not None and not user.bouncing and user.bounces_cleared_at is not None
