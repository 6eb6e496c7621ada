"""Every mail that asks for an answer carries a Reply-To that does what its text says; the
answers go through the real SMTP intake."""

from __future__ import annotations

import smtplib
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from hub.db import transaction
from hub.models import Delivery, InboundMessage, OutboxMessage, Thanks, User
from hub.services import dashboard, events
from hub.services import thanks as thanks_service
from mailbridge.fanout import fan_out
from tests import fixtures_culture
from tests.factories import make_channel, make_user

db = fixtures_culture.db
BOSS = "boss@corp.example"
OUTLOOK_QUOTE = (
    "\r\n\r\n________________________________\r\n"
    "差出人: Hiroba <hiroba@hub.test>\r\n"
    "送信日時: 2026年11月27日 10:00\r\n"
    "宛先: 山田 部長 <boss@corp.example>\r\n"
)


@pytest.fixture
def world(app: Flask, db: Any) -> dict[str, Any]:
    boss = make_user(db, email=BOSS, name="山田 部長", email_only=True)
    web = make_user(db, email="web@corp.example", name="佐藤")
    make_channel(db, slug="general", name="全体")
    thanks_service.save_value(db, actor=None, tag="teamwork", name="チームワーク")
    thanks_service.save_value(db, actor=None, tag="customer", name="お客様第一")
    db.commit()
    fan_out(app)
    return {"boss": boss.id, "web": web.id}


def send(intake: Any, to: str, body: str, subject: str = "Re: Hiroba", **headers: str) -> None:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = f"山田 部長 <{BOSS}>", to, subject
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    with smtplib.SMTP(intake.hostname, intake.port, timeout=10) as smtp:
        smtp.send_message(msg)


def mails(app: Flask, kind: str) -> list[EmailMessage]:
    """The mails of ``kind`` queued for the boss, oldest first."""
    fan_out(app)
    with transaction(app) as s:
        rows = s.scalars(
            select(OutboxMessage.raw)
            .where(OutboxMessage.kind == kind, OutboxMessage.to_addr == BOSS)
            .order_by(OutboxMessage.id)
        ).all()
    return [message_from_bytes(raw, policy=policy.default) for raw in rows]


def last_inbound(app: Flask) -> tuple[str, str | None]:
    with transaction(app) as s:
        row = s.scalars(select(InboundMessage).order_by(InboundMessage.id.desc())).first()
        assert row is not None
        return row.status, row.reason


def text_of(mail: EmailMessage) -> str:
    return mail.get_body(("plain",)).get_content()


def test_answering_which_value_with_its_name_or_tag_sets_it(app, db, intake, world) -> None:
    """A thanks card sent by mail without a #value asks which value it shows: answering with
    the value's name (in a sentence) or its #tag sets it; an answer naming none is explained
    with the member's text, and answering that explanation still works."""
    for n in range(3):
        send(intake, "thanks@hub.test", f"資料ありがとう {n}", subject="ありがとう",
             Cc="web@corp.example")  # fmt: skip
        assert last_inbound(app) == ("thanked", None)
    asks = mails(app, "thanks_value")
    assert len(asks) == 3
    assert all(str(m["Reply-To"]).startswith("thanks+") for m in asks)
    assert "reply to this mail with the value's #tag or its name" in text_of(asks[0])
    send(intake, asks[0]["Reply-To"], "チームワークでお願いします。" + OUTLOOK_QUOTE,
         In_Reply_To=asks[0]["Message-ID"])  # fmt: skip
    assert last_inbound(app)[0] == "thanked"
    send(intake, asks[1]["Reply-To"], "#customer\n\n> " + text_of(asks[1])[:60])
    assert last_inbound(app)[0] == "thanked"
    send(intake, asks[2]["Reply-To"], "よろしく" + OUTLOOK_QUOTE)
    assert last_inbound(app) == ("rejected", "unknown_value")
    db.expire_all()
    cards = db.scalars(select(Thanks).order_by(Thanks.id)).all()
    assert [c.value.tag if c.value else None for c in cards] == ["teamwork", "customer", None]
    db.commit()
    (told,) = mails(app, "refusal")
    assert "> よろしく" in text_of(told) and "which of our values" in text_of(told)
    assert told["Reply-To"] == asks[2]["Reply-To"]
    send(intake, told["Reply-To"], "teamwork")
    db.expire_all()
    assert db.get(Thanks, cards[2].id).value.tag == "teamwork"
    db.commit()
    # A colleague cannot choose for the sender (the token is the boss's).
    with smtplib.SMTP(intake.hostname, intake.port, timeout=10) as smtp:
        with pytest.raises(smtplib.SMTPDataError) as refused:
            smtp.sendmail("web@corp.example", [asks[0]["Reply-To"]],
                          b"From: web@corp.example\r\nSubject: x\r\n\r\n#customer\r\n")  # fmt: skip
    assert refused.value.smtp_code == 550


def test_answering_a_command_result_runs_the_command(app, db, intake, world) -> None:
    """The answer to a mail to help@ says 'write "help" to help@': answering it runs commands."""
    send(intake, "help@hub.test", "digest weekly", subject="設定")
    (result,) = mails(app, "command")
    assert result["Reply-To"] == "help@hub.test"
    send(intake, result["Reply-To"], "digest daily" + OUTLOOK_QUOTE + text_of(result),
         In_Reply_To=result["Message-ID"])  # fmt: skip
    assert last_inbound(app)[0] == "command"
    db.expire_all()
    assert db.get(User, world["boss"]).delivery == Delivery.DAILY
    db.commit()
    # The how-to (a mail with no command) is answered at help@ too.
    send(intake, "help@hub.test", "使い方を教えてください", subject="質問")
    how_to = mails(app, "command")[-1]
    assert how_to["Reply-To"] == "help@hub.test"


def test_invitation_and_nudge_answered_get_the_how_to(app, db, intake, world) -> None:
    """'Reply to the mails you get' (invitation) and 'a reply is all it takes' (nudge): an
    answer to either reaches help@ and gets the how-to, not a refusal."""
    boss = db.get(User, world["boss"])
    events.emit(db, "member_invited", actor_id=world["web"], subject_id=boss.id)
    dashboard.nudge(db, actor=None, user=boss, now=datetime.now(UTC))
    db.commit()
    for kind in ("invite", "nudge"):
        (mail,) = mails(app, kind)
        assert mail["Reply-To"] == "help@hub.test"
        send(intake, mail["Reply-To"], "はい、使ってみます" + OUTLOOK_QUOTE,
             In_Reply_To=mail["Message-ID"])  # fmt: skip
        assert last_inbound(app)[0] == "command"
    assert len(mails(app, "command")) == 2


def test_thanks_naming_no_colleague_is_explained_and_answering_sends_it(
    app, db, intake, world
) -> None:
    """A thanks card to thanks@ with nobody in To/Cc was dropped without a word: the member
    gets their text back with what to do, and answering with a colleague in Cc sends it."""
    send(intake, "thanks@hub.test", "いつも助かっています", subject="ありがとう")
    assert last_inbound(app) == ("rejected", "no_recipients")
    (told,) = mails(app, "refusal")
    assert "> いつも助かっています" in text_of(told) and "named no colleague" in text_of(told)
    assert told["Reply-To"] == "thanks@hub.test"
    send(intake, told["Reply-To"], "いつも助かっています" + OUTLOOK_QUOTE,
         Cc="web@corp.example", In_Reply_To=told["Message-ID"])  # fmt: skip
    assert last_inbound(app)[0] == "thanked"
    card = db.scalar(select(Thanks))
    assert card.message == "いつも助かっています"
    assert [r.user.email for r in card.recipients] == ["web@corp.example"]
