"""An announcement edited while its mail waits for the member's working hours: the member gets
it as it reads now, not the text it had when it was published. The admin fixes the date on the
admin page on Saturday; the mail waiting since Friday evening leaves on Monday at 9:00 with the
new title and text, once. Also when it falls due before the fan-out has run the edit (it waits
for the new text), and for a waiting reminder. Saving the page unchanged writes nothing anew.
Through the fan-out and the outbox drain to a real SMTP sink, with a frozen Tokyo clock; SQLite
and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from hub import db
from hub.models import Announcement, OutboxMessage
from hub.services import acknowledgements, announcements
from mailbridge import delivery
from tests.factories import signed_in
from tests.fixtures_mailout import text_of, to
from tests.mailbridge.test_announcement_waiting import (  # noqa: F401
    ADMIN,
    ASKS,
    FRIDAY_1930,
    MONDAY_09,
    NAKAMURA,
    SATURDAY_11,
    THURSDAY_10,
    TITLE,
    YAMAMOTO,
    drain,
    office,
    publish,
    rows,
)

OLD = "金曜の午後に行います。"
NEW_TITLE = "年末の大掃除について（日程訂正）"
NEW = "12月25日（金）の午後に行います。"
EDITED = "the announcement was edited: its mail is written anew"
pytestmark = pytest.mark.usefixtures("office")


def edit_on_the_admin_page(app: Flask, item: int, title: str, body: str) -> None:
    """The admin saves the edit form, without asking everyone again."""
    page = signed_in(app, ADMIN).post(
        f"/admin/announcements/{item}/edit",
        data={"title": title, "body": body, "remind_every_days": "0"},
    )
    assert page.status_code == 303


def about(sink: Any, address: str) -> list[Any]:
    return [m for m in to(sink, address) if "大掃除" in str(m["Subject"])]


def test_edited_while_waiting_it_leaves_as_it_reads_now(app: Flask, smtp_sink: Any) -> None:
    item = publish(app, FRIDAY_1930)
    edit_on_the_admin_page(app, item, NEW_TITLE, NEW)
    drain(app, SATURDAY_11)
    assert about(smtp_sink, NAKAMURA) == []
    drain(app, MONDAY_09)
    for member in (NAKAMURA, YAMAMOTO):
        (mail,) = about(smtp_sink, member)
        assert str(mail["Subject"]).endswith(NEW_TITLE)
        assert NEW in text_of(mail) and OLD not in text_of(mail)
        assert ASKS in text_of(mail)
        html = mail.get_body(preferencelist=("html",)).get_content()
        assert NEW in html and OLD not in html
    assert rows(app, NAKAMURA) == [("announcement", "sent", None)]


def test_due_before_the_edit_is_fanned_out_it_waits_for_the_new_text(
    app: Flask, smtp_sink: Any
) -> None:
    item = publish(app, FRIDAY_1930)
    edit_on_the_admin_page(app, item, TITLE, NEW)
    # Monday 9:00: the drain runs before the fan-out has written the new text.
    delivery.drain_outbox(app, now=MONDAY_09)
    assert about(smtp_sink, NAKAMURA) == []
    assert rows(app, NAKAMURA) == [("announcement", "cancelled", EDITED)]
    drain(app, MONDAY_09)
    (mail,) = about(smtp_sink, NAKAMURA)
    assert NEW in text_of(mail) and OLD not in text_of(mail)
    assert rows(app, NAKAMURA) == [("announcement", "sent", None)]
    assert len(about(smtp_sink, YAMAMOTO)) == 1


def test_a_waiting_reminder_leaves_as_it_reads_now(app: Flask, smtp_sink: Any) -> None:
    item = publish(app, THURSDAY_10)
    drain(app, THURSDAY_10)
    (first,) = about(smtp_sink, NAKAMURA)
    assert OLD in text_of(first)
    # Friday evening the admin reminds those who have not acknowledged: theirs wait for Monday.
    with db.transaction(app) as s:
        found = s.get(Announcement, item)
        assert found is not None
        acknowledgements.remind(s, announcement=found, actor=None, now=FRIDAY_1930)
    drain(app, FRIDAY_1930)
    edit_on_the_admin_page(app, item, TITLE, NEW)
    drain(app, MONDAY_09)
    first, reminder = about(smtp_sink, NAKAMURA)
    assert NEW in text_of(reminder) and OLD not in text_of(reminder)
    assert rows(app, NAKAMURA) == [
        ("announcement", "sent", None),
        ("announcement_reminder", "sent", None),
    ]


def test_saved_unchanged_the_waiting_mail_stays_as_written(app: Flask, smtp_sink: Any) -> None:
    item = publish(app, FRIDAY_1930)
    with db.transaction(app) as s:
        before = s.scalars(select(OutboxMessage.message_id).order_by(OutboxMessage.id)).all()
    edit_on_the_admin_page(app, item, TITLE, OLD)
    drain(app, SATURDAY_11)
    with db.transaction(app) as s:
        after = s.scalars(select(OutboxMessage.message_id).order_by(OutboxMessage.id)).all()
    assert after == before
    with db.transaction(app) as s:
        found = s.get(Announcement, item)
        assert found is not None
        announcements.edit(s, announcement=found, actor=None, body=NEW)
    drain(app, MONDAY_09)
    (mail,) = about(smtp_sink, NAKAMURA)
    assert NEW in text_of(mail)
