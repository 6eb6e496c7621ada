"""An announcement mail that asks for acknowledgement, waiting in the outbox for the member's
working hours, does not leave once they have acknowledged that version meanwhile (by mail, as
the digest's "Acknowledge" link writes it, or on the web), nor once the admins asked again (the
newer mail asks); a reminder waiting likewise. Through the fan-out, the real SMTP intake and the
outbox drain to a real SMTP sink, with a frozen Tokyo clock; SQLite and PostgreSQL."""

from __future__ import annotations

import smtplib
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from hub import db, tokens
from hub.models import Announcement, OutboxMessage, User
from hub.services import acknowledgements, announcements
from mailbridge import addresses, delivery, fanout
from tests.factories import PASSWORD, make_user, signed_in
from tests.fixtures_mailout import text_of, to

ADMIN, NAKAMURA, YAMAMOTO = "soumu@corp.example", "nakamura@corp.example", "yamamoto@corp.example"
# Thursday 26 November 2026, 10:00 in Tokyo (at work); Friday 27th, 19:30 there (after work);
# Saturday 28th, 11:00; Monday 30th, 09:00 (his next working morning).
THURSDAY_10 = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)
FRIDAY_1930 = datetime(2026, 11, 27, 10, 30, tzinfo=UTC)
SATURDAY_11 = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)
MONDAY_09 = datetime(2026, 11, 30, 0, 0, tzinfo=UTC)
TITLE = "年末の大掃除について"
ASKS = "Please acknowledge this announcement"


@pytest.fixture
def office(app: Flask, smtp_sink: Any, intake: Any) -> Any:
    """The admin, and two email-only managers in Tokyo who work Monday to Friday, 9 to 18
    (中村 can also sign in on the web)."""
    app.config["RELAY_URL"] = smtp_sink.url
    with db.transaction(app) as s:
        make_user(s, email=ADMIN, name="総務 佐藤", admin=True)
        for email, name in ((NAKAMURA, "中村 浩二"), (YAMAMOTO, "山本 誠")):
            make_user(
                s, email=email, name=name, email_only=True, password=PASSWORD,
                timezone="Asia/Tokyo", working_days="mon-fri", working_hours="09:00-18:00",
                rules_accepted=True,
            )  # fmt: skip
    return smtp_sink


def publish(app: Flask, at: datetime) -> int:
    """The admin publishes an announcement asking for acknowledgement; the fan-out runs."""
    with db.transaction(app) as s:
        admin = s.scalar(select(User).where(User.email == ADMIN))
        item = announcements.publish(
            s, author=admin, title=TITLE, body="金曜の午後に行います。", ack_required=True,
            urgent=False, now=at,
        )  # fmt: skip
        item_id = item.id
    fanout.fan_out(app, now=at)
    return item_id


def drain(app: Flask, at: datetime) -> None:
    while fanout.fan_out(app, now=at):
        pass
    delivery.drain_outbox(app, now=at)


def ack_by_mail(app: Flask, intake: Any, item_id: int) -> None:
    """中村 answers "了解しました" to the ack address (the digest's Acknowledge link)."""
    with db.transaction(app) as s:
        member = s.scalar(select(User).where(User.email == NAKAMURA))
        assert member is not None
        keys = tokens.keys_from_config(app.config)
        address = addresses.encode("ack", member.id, item_id, "hub.test", keys)
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = f"中村 浩二 <{NAKAMURA}>", address, f"Re: {TITLE}"
    msg.set_content("了解しました。")
    with smtplib.SMTP(intake.hostname, intake.port, timeout=10) as smtp:
        smtp.send_message(msg)


def about(sink: Any, address: str) -> list[EmailMessage]:
    return [m for m in to(sink, address) if TITLE in str(m["Subject"])]


def rows(app: Flask, address: str) -> list[tuple[str, str, str | None]]:
    with db.transaction(app) as s:
        found = s.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.to_addr == address, OutboxMessage.kind.like("announcement%"))
            .order_by(OutboxMessage.id)
        )
        return [(r.kind, r.status, r.last_error) for r in found]


ACKED = "the member acknowledged the announcement meanwhile"


def test_acknowledged_by_mail_meanwhile_the_waiting_mail_does_not_leave(
    app: Flask, office: Any, intake: Any
) -> None:
    item = publish(app, FRIDAY_1930)
    assert rows(app, NAKAMURA) == [("announcement", "pending", None)]
    ack_by_mail(app, intake, item)
    drain(app, MONDAY_09)
    assert about(office, NAKAMURA) == []
    assert rows(app, NAKAMURA) == [("announcement", "cancelled", ACKED)]
    # 山本 has not acknowledged: his goes at 9:00 and asks him.
    (mail,) = about(office, YAMAMOTO)
    assert ASKS in text_of(mail)


def test_acknowledged_on_the_web_meanwhile_the_waiting_mail_does_not_leave(
    app: Flask, office: Any
) -> None:
    item = publish(app, FRIDAY_1930)
    browser = signed_in(app, NAKAMURA)
    assert browser.post(f"/announcements/{item}/ack").status_code == 303
    drain(app, MONDAY_09)
    assert about(office, NAKAMURA) == []
    assert rows(app, NAKAMURA) == [("announcement", "cancelled", ACKED)]
    assert len(about(office, YAMAMOTO)) == 1


def test_a_waiting_reminder_does_not_leave_once_acknowledged(
    app: Flask, office: Any, intake: Any
) -> None:
    item = publish(app, THURSDAY_10)
    drain(app, THURSDAY_10)
    assert len(about(office, NAKAMURA)) == 1
    # Friday evening the admin reminds those who have not acknowledged: theirs wait for Monday.
    with db.transaction(app) as s:
        found = s.get(Announcement, item)
        assert found is not None
        reminded = acknowledgements.remind(s, announcement=found, actor=None, now=FRIDAY_1930)
        assert {u.email for u in reminded} == {NAKAMURA, YAMAMOTO}
    drain(app, FRIDAY_1930)
    ack_by_mail(app, intake, item)
    drain(app, MONDAY_09)
    assert len(about(office, NAKAMURA)) == 1
    assert rows(app, NAKAMURA) == [
        ("announcement", "sent", None),
        ("announcement_reminder", "cancelled", ACKED),
    ]
    assert len(about(office, YAMAMOTO)) == 2


def test_asked_again_meanwhile_only_the_newest_version_leaves(app: Flask, office: Any) -> None:
    item = publish(app, FRIDAY_1930)
    with db.transaction(app) as s:
        found = s.get(Announcement, item)
        assert found is not None
        announcements.edit(
            s, announcement=found, actor=None, body="土曜の午前に変更します。", require_again=True
        )
    drain(app, SATURDAY_11)
    assert about(office, NAKAMURA) == []
    drain(app, MONDAY_09)
    (mail,) = about(office, NAKAMURA)
    assert "土曜の午前" in text_of(mail) and ASKS in text_of(mail)
    assert rows(app, NAKAMURA) == [
        ("announcement", "cancelled", "the announcement was asked again since"),
        ("announcement", "sent", None),
    ]


def test_acknowledging_the_older_version_leaves_the_newer_mail(
    app: Flask, office: Any, intake: Any
) -> None:
    item = publish(app, THURSDAY_10)
    drain(app, THURSDAY_10)
    ack_by_mail(app, intake, item)
    # Friday evening the admins change it and ask everyone again: the new version waits.
    with db.transaction(app) as s:
        found = s.get(Announcement, item)
        assert found is not None
        announcements.edit(
            s, announcement=found, actor=None, body="土曜の午前に変更します。", require_again=True
        )
    fanout.fan_out(app, now=FRIDAY_1930)
    drain(app, MONDAY_09)
    first, second = about(office, NAKAMURA)
    assert "土曜の午前" in text_of(second) and ASKS in text_of(second)
    assert [r[1] for r in rows(app, NAKAMURA)] == ["sent", "sent"]


def test_doctests() -> None:
    import doctest

    from mailbridge import culture_out

    assert doctest.testmod(culture_out).failed == 0
