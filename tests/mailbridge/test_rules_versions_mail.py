"""Rules changed and everyone asked again: an email-only member gets "the rules were updated"
(the new text, the link, reply to accept) through a real SMTP sink, and accepts by replying
through the real SMTP intake; in their working hours, and in their language."""

from __future__ import annotations

import smtplib
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from hub import db
from hub.models import Event, InboundMessage, OutboxMessage, User, Via
from hub.services import rules
from mailbridge import delivery, fanout
from tests.factories import make_user, signed_in
from tests.fixtures_mailout import deliver, text_of, to

BOSS = "boss@corp.example"
UPDATED = "The rules of the square were updated"
OLD, NEW = "# 社内ルール\n\n- 丁寧に", "# 社内ルール\n\n- 丁寧に\n- 個人情報を書かない"
OUTLOOK_QUOTE = (
    "\r\n\r\n________________________________\r\n"
    "差出人: Hiroba <hiroba@hub.test>\r\n"
    "件名: The rules of the square were updated\r\n\r\n"
    "> Reply to this mail to accept them.\r\n"
)


@pytest.fixture
def team(app: Flask, smtp_sink: Any) -> Any:
    """An admin, an email-only boss and a web member, all having accepted the first rules; the
    welcome mails already sent (to the sink, the app's relay)."""
    app.config["RELAY_URL"] = smtp_sink.url
    with db.transaction(app) as s:
        admin = make_user(s, email="admin@corp.example", name="Admin", admin=True)
        make_user(s, email=BOSS, name="山田 部長", email_only=True, actor=admin)
        make_user(s, email="sato@corp.example", name="佐藤")
    deliver(app)
    (smtp_sink.welcome,) = to(smtp_sink, BOSS)
    smtp_sink.messages.clear()
    with db.transaction(app) as s:
        rules.set_rules(s, actor=s.get(User, 1), markdown=OLD)
        for member in s.scalars(select(User).where(User.id > 1)):
            rules.accept_rules(s, member, Via.EMAIL if member.email_only else Via.WEB)
    return smtp_sink


def reply(intake: Any, to_addr: str, body: str, subject: str) -> None:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = f"山田 部長 <{BOSS}>", to_addr, subject
    msg.set_content(body)
    with smtplib.SMTP(intake.hostname, intake.port, timeout=10) as smtp:
        smtp.send_message(msg)


def boss(app: Flask) -> User:
    with db.transaction(app) as s:
        found = s.scalar(select(User).where(User.email == BOSS))
        assert found is not None
        s.expunge(found)
        return found


def last_inbound(app: Flask) -> str:
    with db.transaction(app) as s:
        row = s.scalars(select(InboundMessage).order_by(InboundMessage.id.desc())).first()
        assert row is not None
        return row.status


def test_the_email_only_member_is_mailed_the_new_rules_and_accepts_by_replying(
    app: Flask, intake: Any, team: Any
) -> None:
    admin = signed_in(app, "admin@corp.example")
    # A typo fix mails nobody.
    assert admin.post("/admin/rules", data={"markdown": OLD + "。"}).status_code == 303
    deliver(app)
    assert team.messages == []

    r = admin.post("/admin/rules", data={"markdown": NEW, "ask_again": "1"})
    assert r.status_code == 303
    deliver(app)
    # Only the email-only member is mailed: 佐藤 is asked on the web, the admin has accepted.
    assert [m["rcpt_tos"] for m in team.messages] == [[BOSS]]
    (mail,) = to(team, BOSS)
    assert mail["Subject"] == UPDATED
    reply_to = str(mail["Reply-To"])
    assert reply_to.startswith("rules+") and reply_to.endswith("@hub.test")
    text = text_of(mail)
    assert "個人情報を書かない" in text and "http://hub.test/rules" in text
    assert "Reply to this mail" in text
    assert "<li>個人情報を書かない</li>" in mail.get_body(("html",)).get_content()
    assert not rules.has_accepted(boss(app), 2)

    reply(intake, reply_to, "了解しました。" + OUTLOOK_QUOTE,
          f"RE: {mail['Subject']}")  # fmt: skip
    assert last_inbound(app) == "acknowledged"
    found = boss(app)
    assert rules.has_accepted(found, 2) and found.rules_version == 2
    with db.transaction(app) as s:
        event = s.scalars(select(Event).where(Event.kind == "rules_accepted")
                          .order_by(Event.id.desc())).first()  # fmt: skip
        assert event is not None and event.actor_id == found.id
        assert event.data == {"via": "email", "version": 2}
    page = admin.get("/admin/rules").text
    assert "Accepted this version: 2 of 3 members" in page and "佐藤" in page
    # Answered again, nothing more is recorded and nothing is mailed back.
    reply(intake, reply_to, "了解しました。", f"RE: {mail['Subject']}")
    assert last_inbound(app) == "acknowledged"
    deliver(app)
    assert len(team.messages) == 1


def test_answering_the_welcome_mail_again_does_not_accept_changed_rules(
    app: Flask, intake: Any, team: Any
) -> None:
    """The welcome mail asks for the first acceptance only; answered after the rules changed
    (a command it teaches, say) it runs the command but accepts nothing unread."""
    welcome_to = str(team.welcome["Reply-To"])
    assert welcome_to.startswith("welcome+")
    with db.transaction(app) as s:
        rules.set_rules(s, actor=None, markdown=NEW, ask_again=True)
    reply(intake, welcome_to, "digest weekly", "RE: Welcome")
    assert last_inbound(app) == "acknowledged"
    found = boss(app)
    assert found.rules_version == 1 and not rules.has_accepted(found, 2)
    assert found.delivery == "weekly"


def test_a_reply_to_an_older_rules_mail_accepts_only_that_version(
    app: Flask, intake: Any, team: Any
) -> None:
    with db.transaction(app) as s:
        rules.set_rules(s, actor=None, markdown=NEW, ask_again=True)
    deliver(app)
    (second,) = to(team, BOSS)
    with db.transaction(app) as s:
        rules.set_rules(s, actor=None, markdown=NEW + "\n- 短く", ask_again=True)
    deliver(app)
    assert len(to(team, BOSS)) == 2 and "短く" in text_of(to(team, BOSS)[1])
    reply(intake, str(second["Reply-To"]), "了解しました。", "RE: rules")
    found = boss(app)
    assert found.rules_version == 2 and not rules.has_accepted(found, 3)
    reply(intake, str(to(team, BOSS)[1]["Reply-To"]), "了解しました。", "RE: rules")
    assert rules.has_accepted(boss(app), 3)


def test_two_saves_before_the_fan_out_mail_the_newest_rules_once(app: Flask, team: Any) -> None:
    with db.transaction(app) as s:
        rules.set_rules(s, actor=None, markdown=NEW, ask_again=True)
        rules.set_rules(s, actor=None, markdown=NEW + "\n- 短く", ask_again=True)
    deliver(app)
    (mail,) = to(team, BOSS)
    assert "短く" in text_of(mail)


# Tuesday 24 November 2026, 14:00 UTC = 23:00 in Tokyo (after work), 15:00 in Berlin (working).
TUESDAY_23_TOKYO = datetime(2026, 11, 24, 14, 0, tzinfo=UTC)
WEDNESDAY_09_TOKYO = datetime(2026, 11, 25, 0, 0, tzinfo=UTC)


def test_the_mail_waits_for_the_members_working_hours(app: Flask, smtp_sink: Any) -> None:
    app.config["RELAY_URL"] = smtp_sink.url
    with db.transaction(app) as s:
        for email, tz in (("tokyo@corp.example", "Asia/Tokyo"),
                          ("berlin@corp.example", "Europe/Berlin")):  # fmt: skip
            make_user(s, email=email, timezone=tz, working_days="mon-fri",
                      working_hours="09:00-18:00", email_only=True)  # fmt: skip
        rules.set_rules(s, actor=None, markdown=NEW, ask_again=True)
    fanout.fan_out(app, now=TUESDAY_23_TOKYO)
    with db.transaction(app) as s:
        rows = s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "rules_updated"))
        assert {r.to_addr: r.not_before for r in rows} == {
            "tokyo@corp.example": WEDNESDAY_09_TOKYO,
            "berlin@corp.example": TUESDAY_23_TOKYO,
        }
    delivery.drain_outbox(app, now=TUESDAY_23_TOKYO)
    assert updated(smtp_sink, "berlin@corp.example") == 1
    assert updated(smtp_sink, "tokyo@corp.example") == 0
    delivery.drain_outbox(app, now=WEDNESDAY_09_TOKYO)
    assert updated(smtp_sink, "tokyo@corp.example") == 1


def updated(sink: Any, address: str) -> int:
    """How many "rules updated" mails ``address`` got (their welcome mail goes out too)."""
    return sum(m["Subject"] == UPDATED for m in to(sink, address))


def test_the_mail_is_in_the_members_language(app: Flask, team: Any) -> None:
    with db.transaction(app) as s:
        s.scalar(select(User).where(User.email == BOSS)).locale = "ja"  # type: ignore[union-attr]
        rules.set_rules(s, actor=None, markdown=NEW, ask_again=True)
    deliver(app)
    (mail,) = to(team, BOSS)
    # Japanese words around the rules; the rules are the company's text, as it was written.
    assert mail["Subject"] == "広場のルールが更新されました"
    assert "とルールに同意したことになります。" in text_of(mail)
    assert "個人情報を書かない" in text_of(mail)


def test_the_rules_read_as_text_in_the_text_part(app: Flask, team: Any) -> None:
    with db.transaction(app) as s:
        rules.set_rules(
            s, actor=None, ask_again=True,
            markdown="# 社内ルール\n\n- **丁寧に**\n- [個人情報](http://hub.test/privacy)を書かない",
        )  # fmt: skip
    deliver(app)
    (mail,) = to(team, BOSS)
    text = text_of(mail)
    assert "\n社内ルール\n\n- 丁寧に\n- 個人情報 (http://hub.test/privacy)を書かない\n" in text
    assert "# " not in text and "**" not in text and "](" not in text
    assert "<strong>丁寧に</strong>" in mail.get_body(("html",)).get_content()
