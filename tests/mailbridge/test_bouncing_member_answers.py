"""A member whose mail stopped for bouncing keeps taking part by mail: their digest reply is kept
and they are asked "which thread?", their help@ command is answered, and the mail log says
what was sent to them (or that it could not go), never that they were asked when they were not.
Regular mail (a new post) still stops. Through the real SMTP intake and a real relay."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from hub.db import utcnow
from hub.models import InboundMessage, OutboxMessage, User, Via
from hub.services import threads
from mailbridge import delivery, digests
from tests.factories import make_channel, make_thread, make_user
from tests.fixtures_mailout import deliver, parse, text_of, to
from tests.mailbridge.test_bounces import Refusing, days_pass, dsn, member, relay, report

__all__ = ["relay"]

BOSS = "yamamoto@corp.example"


@pytest.fixture
def office(app: Flask, session: Any) -> dict[str, Any]:
    make_user(session, email="admin@corp.example", name="管理者", admin=True)
    boss = make_user(session, email=BOSS, name="山本 誠", email_only=True)
    peer = make_user(session, email="hanako@corp.example", name="花子")
    ch = make_channel(session, slug="general", name="全社", purpose="全社への連絡と相談")
    t1 = make_thread(session, channel=ch, author=peer, title="来期の予算", body="予算案").thread
    make_thread(session, channel=ch, author=peer, title="懇親会の日程", body="18日")
    session.commit()
    return {"boss_id": boss.id, "peer": peer, "t1": t1}


def digest_of(app: Flask, session: Any) -> tuple[str, str, str]:
    """Build and send the boss's digest; its Reply-To, Subject and Message-ID."""
    boss = session.scalar(select(User).where(User.email == BOSS))
    assert digests.build_and_queue_digest(app, session, boss, "daily:a", utcnow()) is not None
    session.commit()
    delivery.drain_outbox(app)
    row = session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "digest"))
    session.commit()
    return row.raw.decode(), row.mail_from, row.message_id


def stop_his_mail(session: Any, intake: Any, return_path: str) -> None:
    """His address bounces (user unknown) on three days: his mail stops."""
    for n in range(3):
        if n:
            days_pass(session, 1)
        report(intake, return_path, dsn(return_path, n, final=BOSS))
    assert member(session, session.scalar(select(User.id).where(User.email == BOSS))).bouncing


def send(port: int, to_addr: str, subject: str, body: str, in_reply_to: str = "") -> None:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = f"山本 誠 <{BOSS}>", to_addr, subject
    if in_reply_to:
        msg["In-Reply-To"] = msg["References"] = f"<{in_reply_to}>"
    msg.set_content(body)
    with smtplib.SMTP("127.0.0.1", port) as client:
        client.send_message(msg)


def digest_reply(intake: Any, raw: str, message_id: str) -> None:
    """Top-post an answer to the digest that names no thread (it is held, and he is asked)."""
    digest = parse(raw.encode())
    quoted = "\n".join(f"> {ln}" for ln in text_of(digest).splitlines())
    body = f"どちらも確認しました。\n\nOn Fri, Nov 27, 2026 at 8:00 AM Hiroba wrote:\n{quoted}"
    send(intake.port, str(digest["Reply-To"]), f"Re: {digest['Subject']}", body, message_id)


def held(session: Any) -> InboundMessage:
    row = session.scalar(
        select(InboundMessage).where(InboundMessage.status == "held").order_by(InboundMessage.id)
    )
    session.commit()
    return row


def mail_page(client: Any, auth: Any, row_id: int) -> str:
    auth.login("admin@corp.example")
    return client.get(f"/admin/mail/{row_id}").text


def test_a_bouncing_member_is_asked_which_thread_and_answered(
    app: Flask, session: Any, smtp_sink: Any, intake: Any, office: Any, client: Any, auth: Any
) -> None:
    app.config["RELAY_URL"] = smtp_sink.url
    raw, return_path, message_id = digest_of(app, session)
    stop_his_mail(session, intake, return_path)
    before = len(to(smtp_sink, BOSS))

    digest_reply(intake, raw, message_id)
    row = held(session)
    assert row.reason == "ambiguous_digest_reply"
    send(intake.port, "help@hub.test", "help", "help")
    delivery.drain_outbox(app)
    got = to(smtp_sink, BOSS)[before:]
    assert len(got) == 2
    which, helped = got
    assert str(which["Reply-To"]).startswith("which+") and "どちらも確認しました。" in text_of(
        which
    )
    assert "help@hub.test" in text_of(helped)

    page = mail_page(client, auth, row.id)
    assert "Mail to the sender" in page and "sent on" in page
    assert "the sender was asked which" not in page and 'id="no-answer"' not in page

    # Mail he did not ask for still stops: a new post in his channel sends him nothing.
    threads.reply(session, author=office["peer"], thread=office["t1"], body="追記", via=Via.WEB)
    session.commit()
    deliver(app)
    assert len(to(smtp_sink, BOSS)) == before + 2


def test_the_log_says_when_the_question_could_not_go(
    app: Flask, session: Any, relay: Refusing, intake: Any, office: Any, client: Any, auth: Any
) -> None:
    raw, return_path, message_id = digest_of(app, session)
    stop_his_mail(session, intake, return_path)
    # His server refuses everything now.
    relay.answers[BOSS] = f"550 5.1.1 <{BOSS}>: Recipient address rejected: User unknown"
    digest_reply(intake, raw, message_id)
    row = held(session)
    delivery.drain_outbox(app)
    page = mail_page(client, auth, row.id)
    assert "could not be sent" in page and "User unknown" in page
    assert "sent on" not in page
    which = session.scalar(select(OutboxMessage.status).where(OutboxMessage.kind == "which"))
    assert which == "failed"


def test_the_log_says_when_no_question_was_sent(
    app: Flask, session: Any, client: Any, auth: Any, office: Any
) -> None:
    """A held digest reply with no "which thread?" mail at all (here, a row written by hand):
    the page says nothing went, instead of claiming the sender was asked."""
    row = InboundMessage(
        message_key="<held@corp.example>", raw=b"Subject: Re: digest\r\n\r\nok\r\n",
        source="smtp", sender=BOSS, subject="Re: digest", status="held",
        reason="ambiguous_digest_reply",
    )  # fmt: skip
    session.add(row)
    session.commit()
    page = mail_page(client, auth, row.id)
    assert 'id="no-answer"' in page and "No mail went to the sender about it." in page
    assert "the sender was asked which" not in page


def test_a_bouncing_member_still_gets_the_sign_in_link_they_ask_for(
    app: Flask, session: Any, smtp_sink: Any, client: Any, office: Any
) -> None:
    app.config["RELAY_URL"] = smtp_sink.url
    user = session.scalar(select(User).where(User.email == "hanako@corp.example"))
    user.bouncing = True
    session.commit()
    client.post("/login/link", data={"email": "hanako@corp.example"})
    deliver(app)
    (mail,) = to(smtp_sink, "hanako@corp.example")
    assert "/login/link/" in text_of(mail)
