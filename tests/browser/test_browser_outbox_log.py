"""The outgoing side of the admin mail log in a real Chromium (the demo hub in Japanese, CSRF
on, htmx boost): the demo's mail is listed with its recipients, the recipient search and the
status filter narrow it, and a mail's page opens from its row."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, expect

from hub import db, demo
from hub.demo import DOMAIN
from hub.services import accounts, events, login_links
from mailbridge import delivery, fanout
from tests.browser.conftest import ROOT, sign_in
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser


def in_three_days() -> str:
    return ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[
        (datetime.now(ZoneInfo("Asia/Tokyo")) + timedelta(days=3)).weekday()
    ]


def test_admin_filters_the_outgoing_mail(browser: Browser, ja_hub: LiveServer) -> None:
    app = ja_hub.app
    with db.transaction(app) as session:
        admin = accounts.find_user_by_email(session, demo.ADMIN_EMAIL)
        # Sign-in links three members asked for, and a new manager by mail whose welcome
        # waits for his one working day.
        for local in ("tanaka", "suzuki", "emily"):
            user = accounts.find_user_by_email(session, f"{local}@{DOMAIN}")
            assert user is not None
            token = login_links.create_login_link(session, user, minutes=15)
            events.emit(session, "login_link_requested", subject_id=user.id, token=token)
        accounts.create_user(
            session, email=f"kobayashi@{DOMAIN}", name="小林 部長", email_only=True,
            actor=admin, working_days=in_three_days(), working_hours="09:00-18:00",
        )  # fmt: skip
    # With the demo's own mail (welcome mails, a mention): written, and sent where due (to the
    # catcher).
    while fanout.fan_out(app):
        pass
    delivery.drain_outbox(app, limit=1000)
    page = browser.new_context(locale="ja-JP").new_page()
    sign_in(page, ja_hub.url, "sato")  # the demo's admin
    page.goto(f"{ja_hub.url}/admin/mail")
    page.locator("nav.mail-tabs a[href='/admin/mail/outgoing']").click()
    expect(page).to_have_url(f"{ja_hub.url}/admin/mail/outgoing")
    rows = page.locator("table.outbox-log tbody tr[data-state]")
    expect(rows.first).to_be_visible()
    everyone = rows.count()
    assert everyone >= 7
    expect(rows.filter(has_text=f"tanaka@{DOMAIN}").first).to_be_visible()

    # The recipient search: only 山本's mail is left.
    search = page.locator("#outbox-filter input[name=who]")
    search.fill("山本")
    search.press("Enter")
    expect(page).to_have_url(f"{ja_hub.url}/admin/mail/outgoing?state=&who=%E5%B1%B1%E6%9C%AC")
    expect(rows.first).to_be_visible()
    for text in rows.locator("td.recipient").all_inner_texts():
        assert f"yamamoto@{DOMAIN}" in text and "山本" in text, text
    assert rows.count() < everyone

    # The status filter keeps the search: none of his mail waits.
    page.locator("#outbox-filter select[name=state]").select_option("waiting")
    expect(page).to_have_url(
        f"{ja_hub.url}/admin/mail/outgoing?state=waiting&who=%E5%B1%B1%E6%9C%AC"
    )
    expect(rows).to_have_count(0)
    # Everyone's mail that waits: 小林's welcome is among it, and nothing sent.
    search.fill("")
    search.press("Enter")
    expect(page).to_have_url(f"{ja_hub.url}/admin/mail/outgoing?state=waiting&who=")
    expect(rows.filter(has_text=f"kobayashi@{DOMAIN}")).to_have_count(1)
    states = rows.evaluate_all("rows => rows.map(r => r.dataset.state)")
    assert set(states) == {"waiting"}, states
    page.screenshot(path=str(ROOT / "screenshots" / "outbox_log.png"), full_page=True)

    # A mail's page, from its row.
    rows.filter(has_text=f"kobayashi@{DOMAIN}").locator("td a").first.click()
    expect(page.locator("#state")).to_have_attribute("data-state", "waiting")
    expect(page.locator("#recipient")).to_contain_text(f"kobayashi@{DOMAIN}")
    expect(page.locator("#mail-text")).to_contain_text("小林")
    expect(page.locator("#send-now button")).to_be_visible()
    page.screenshot(path=str(ROOT / "screenshots" / "outbox_message.png"), full_page=True)
    # Send now (the page's form, with its CSRF token): due at once.
    page.locator("#send-now button").click()
    expect(page.locator("#state")).to_have_attribute("data-state", "due")
    expect(page.locator("#send-now")).to_have_count(0)
