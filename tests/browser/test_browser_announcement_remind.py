"""'Remind those who have not acknowledged' in a real Chromium (CSRF on, htmx boost): the browser
asks first (hx-confirm); cancelled, nobody is reminded; confirmed, the reminder goes at once,
without the page that asks when JavaScript is off."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser, Dialog, expect
from sqlalchemy import func, select

from hub import db
from hub.models import Event, Via
from hub.services import announcements, rules
from tests.browser.test_browser_culture import sign_in
from tests.factories import make_user

pytestmark = pytest.mark.browser


def reminders(app: Any) -> int:
    with db.transaction(app) as session:
        return int(session.scalar(
            select(func.count()).where(Event.kind == "announcement_reminder")) or 0)  # fmt: skip


def test_remind_asks_in_the_browser_first(browser: Browser, live_server: Any) -> None:
    app = live_server.app
    with db.transaction(app) as session:
        admin = make_user(session, email="admin@corp.example", name="Admin", admin=True)
        rules.accept_rules(session, admin, Via.WEB)  # past the first-visit rules page
        make_user(session, email="boss@corp.example", name="Boss", email_only=True)
        item = announcements.publish(session, author=admin, title="Purpose", body="**Read** it",
                                     ack_required=True, urgent=False)  # fmt: skip
        item_id = item.id
    page = browser.new_context().new_page()
    sign_in(page, live_server.url, "admin@corp.example")
    page.goto(f"{live_server.url}/admin/announcements/{item_id}")
    expect(page.locator("#ack-summary")).to_contain_text("0 of 1")  # the admin is not asked
    asked: list[str] = []

    def answer(accept: bool) -> Any:
        def handle(dialog: Dialog) -> None:
            asked.append(dialog.message)
            dialog.accept() if accept else dialog.dismiss()

        return handle

    button = page.locator("#remind-form button[type=submit]")
    page.once("dialog", answer(False))
    button.click()
    expect(page.locator("#remind-form")).to_be_visible()
    assert asked == ["Send a reminder to 1 member who has not acknowledged?"]
    assert reminders(app) == 0

    page.once("dialog", answer(True))
    button.click()
    expect(page.locator("[role=status]")).to_contain_text("Reminder sent to 1 members.")
    assert len(asked) == 2
    expect(page).to_have_url(f"{live_server.url}/admin/announcements/{item_id}?reminded=1")
    assert reminders(app) == 1
