"""Announcements as an admin publishes and follows them (test client, a real SMTP sink; both
databases):

- the admin who published is not among those asked to acknowledge: not in "N of M", no banner,
  never reminded; their copy of the mail does not ask them to acknowledge;
- the mail's text part reads as text (the body's Markdown written out, no ``**``);
- "Remind" asks first (hx-confirm in the browser, a page without JavaScript);
- a member whose announcement mail still waits in the outbox for their working hours is not
  reminded (they would get both at 9:00); once it has gone, they are.
"""

from __future__ import annotations

import re
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from hub.db import utcnow
from hub.models import Announcement, Event, OutboxMessage, Via
from hub.services import rules
from tests import fixtures_culture
from tests.factories import make_user, signed_in
from tests.fixtures_mailout import deliver, text_of, to

db = fixtures_culture.db
ADMIN, BOSS, LATE = "admin@corp.example", "boss@corp.example", "late@corp.example"
BODY = """**全員**に確認をお願いします。

- 業務の相談は*公開*チャンネルで
- 詳しくは [使い方](http://hub.test/guide) を

> 質問は返信で"""


def later_hours() -> str:
    """Working hours (UTC) that start some hours from now: mail to this member waits."""
    start = min((utcnow().hour + 6) % 24, 22)
    return f"{start:02d}:00-{start + 1:02d}:00"


def setup(app: Flask, db: Any, smtp_sink: Any) -> FlaskClient:
    """An admin, an email-only manager at work now, one whose working hours start later; the
    admin publishes on the web an announcement that asks for acknowledgement."""
    app.config["RELAY_URL"] = smtp_sink.url
    admin = make_user(db, email=ADMIN, name="管理者", admin=True)
    rules.accept_rules(db, admin, Via.WEB)  # past the first-visit rules page
    make_user(db, email=BOSS, name="山田 部長", email_only=True)
    make_user(db, email=LATE, name="遅番", email_only=True, timezone="UTC",
              working_days="mon-sun", working_hours=later_hours())  # fmt: skip
    db.commit()
    client = signed_in(app, ADMIN)
    res = client.post("/admin/announcements", data={
        "title": "運用ルール", "body": BODY, "audience": "everyone", "ack_required": "1",
        "remind_every_days": "0"})  # fmt: skip
    assert res.status_code == 303
    deliver(app)
    return client


def mail(sink: Any, address: str) -> list[EmailMessage]:
    """The mails about the announcement that reached ``address`` (not its welcome mail)."""
    return [m for m in to(sink, address) if "運用ルール" in str(m["Subject"])]


def item_id(db: Any) -> int:
    found = db.scalar(select(Announcement.id))
    db.commit()
    assert found is not None
    return int(found)


def reminders(db: Any) -> int:
    n = db.scalar(select(func.count()).where(Event.kind == "announcement_reminder"))
    db.commit()
    return int(n or 0)


def html_of(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("html",))
    return part.get_content() if part is not None else ""


def test_the_publisher_is_not_asked_and_the_text_part_reads_as_text(
    app: Flask, db: Any, smtp_sink: Any
) -> None:
    admin = setup(app, db, smtp_sink)
    page = admin.get(f"/admin/announcements/{item_id(db)}").text
    assert "Acknowledged: 0 of 2" in page
    not_yet = page.split('id="not-acknowledged"', 1)[1].split("</ul>", 1)[0]
    assert BOSS in not_yet and LATE in not_yet and ADMIN not in not_yet
    assert 'id="banner-' not in admin.get("/").text
    shown = admin.get(f"/announcements/{item_id(db)}").text
    assert "you are not asked to acknowledge it" in shown and "I have read it" not in shown

    (mine,) = mail(smtp_sink, ADMIN)
    assert "You published this announcement: you are not asked to acknowledge it." in (
        text_of(mine)
    )
    assert "Please acknowledge" not in text_of(mine)
    (boss,) = mail(smtp_sink, BOSS)
    text = text_of(boss)
    assert "Please acknowledge this announcement" in text
    assert "**" not in text and "*公開*" not in text and "[使い方]" not in text
    assert "全員に確認をお願いします。" in text
    assert "- 業務の相談は公開チャンネルで" in text
    assert "- 詳しくは 使い方 (http://hub.test/guide) を" in text
    assert "> 質問は返信で" in text
    # The HTML part still renders the Markdown.
    assert "<strong>全員</strong>" in html_of(boss)


def test_remind_asks_first_and_spares_whose_mail_still_waits(
    app: Flask, db: Any, smtp_sink: Any
) -> None:
    admin = setup(app, db, smtp_sink)
    item = item_id(db)
    assert mail(smtp_sink, BOSS) and not mail(smtp_sink, LATE)  # LATE's waits for their hours

    page = admin.get(f"/admin/announcements/{item}").text
    form = re.search(r'<form[^>]*id="remind-form"[^>]*>', page, re.S)
    assert form is not None
    assert 'hx-confirm="Send a reminder to 1 member who has not acknowledged?"' in form.group(0)
    assert 'hx-vals=\'{"confirmed": "1"}\'' in form.group(0)
    waiting = page.split('id="not-acknowledged"', 1)[1].split("</ul>", 1)[0]
    late_row = next(li for li in waiting.split("<li>") if LATE in li)
    assert "(the mail is waiting for their working hours)" in late_row

    # Without JavaScript (no "confirmed"), the button leads to a page that asks; nothing sent.
    asked = admin.post(f"/admin/announcements/{item}/remind")
    assert asked.status_code == 200 and "Send a reminder?" in asked.text
    listed = asked.text.split('id="to-remind"', 1)[1].split("</ul>", 1)[0]
    assert BOSS in listed and LATE not in listed
    assert LATE in asked.text.split('id="waiting"', 1)[1]
    assert 'name="confirmed" value="1"' in asked.text
    assert reminders(db) == 0

    done = admin.post(f"/admin/announcements/{item}/remind", data={"confirmed": "1"})
    assert done.status_code == 303 and "reminded=1" in done.headers["Location"]
    deliver(app)
    assert len(mail(smtp_sink, BOSS)) == 2 and not mail(smtp_sink, LATE)

    # LATE's working hours come: the announcement alone reaches them, no reminder with it.
    due = db.scalar(
        select(OutboxMessage.not_before).where(
            OutboxMessage.to_addr == LATE, OutboxMessage.kind == "announcement"
        )
    )
    db.commit()
    assert due is not None
    deliver(app, now=due.replace(tzinfo=due.tzinfo or utcnow().tzinfo) + timedelta(minutes=1))
    (first,) = mail(smtp_sink, LATE)
    assert "You have not acknowledged" not in text_of(first)

    # Sent now: a reminder reaches LATE too (in their hours, so it waits in turn).
    again = admin.post(f"/admin/announcements/{item}/remind", data={"confirmed": "1"})
    assert "reminded=2" in again.headers["Location"]
    deliver(app)
    kinds = db.scalars(
        select(OutboxMessage.kind)
        .where(OutboxMessage.to_addr == LATE, OutboxMessage.kind.like("announcement%"))
        .order_by(OutboxMessage.id)
    ).all()
    db.commit()
    assert kinds == ["announcement", "announcement_reminder"]
    # And while that reminder waits, LATE is not reminded a third time.
    third = admin.post(f"/admin/announcements/{item}/remind", data={"confirmed": "1"})
    assert "reminded=1" in third.headers["Location"]
