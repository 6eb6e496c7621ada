"""Mail and the channel settings: a mail to an archived channel's address is taken at RCPT and
its member is told why it was not posted (the address still exists; a stranger is still refused
in protocol), and the admins' "open or archive it?" suggestion links the settings page. Mail in
over the real SMTP intake, mail out through a real SMTP sink."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from hub import db, tokens
from hub.models import InboundMessage, Reaction, Thread, Via
from hub.services import accounts, channel_settings, channels, governance
from mailbridge import addresses
from tests.factories import make_channel, make_thread, make_user
from tests.fixtures_mailout import deliver, text_of, to

BOSS = "boss@corp.example"


@pytest.fixture
def hub(app: Flask, smtp_sink: Any) -> None:
    """The boss (email-only) may write to sales, which Sato owns and has archived; Sato also
    owns the private channel jinji; plan is a private channel waiting for approval."""
    app.config["RELAY_URL"] = smtp_sink.url
    with db.transaction(app) as s:
        make_user(s, email=BOSS, name="Boss Baba", email_only=True)
        sato = make_user(s, email="sato@corp.example", name="Sato")
        make_user(s, email="ada@corp.example", name="Ada", admin=True)
        sales = make_channel(s, slug="sales", name="Sales", creator=sato)
        channel_settings.archive_channel(s, channel=sales, actor=sato, via=Via.WEB)
        make_channel(s, slug="jinji", name="Jinji", private=True, reason="HR", creator=sato,
                     policy="anyone")  # fmt: skip
        make_channel(s, slug="plan", name="Plan", private=True, reason="unannounced",
                     creator=sato, policy="approval")  # fmt: skip
    deliver(app)
    smtp_sink.messages.clear()


def mail(frm: str, to_addr: str, subject: str, body: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = frm, to_addr, subject
    msg.set_content(body)
    return msg


def test_mail_to_an_archived_channel_is_answered_with_why(app, smtp_sink, hub, intake):
    with smtplib.SMTP(intake.hostname, intake.port, timeout=10) as s:
        s.ehlo("client.corp.example")
        s.mail(BOSS)
        # Taken at RCPT (it used to be "550 No such recipient"); a pending request's is not.
        assert s.rcpt("sales@hub.test")[0] == 250
        assert s.rcpt("plan@hub.test")[0] == 550
        code, _ = s.data(mail(BOSS, "sales@hub.test", "Q3 numbers", "Here they are.").as_bytes())
        assert code == 250
    with db.transaction(app) as s:
        row = s.scalars(select(InboundMessage)).one()
        assert (row.status, row.reason) == ("rejected", "channel_archived")
        assert s.scalar(select(func.count()).select_from(Thread)) == 0
    deliver(app)
    (told,) = to(smtp_sink, BOSS)
    body = text_of(told)
    assert "archived" in body and "> Here they are." in body
    # Writing to the same address again would be refused again: the answer goes to help@.
    assert told["Reply-To"] == "help@hub.test"


def test_a_stranger_writing_to_an_archived_channel_is_refused_in_protocol(
    app, smtp_sink, hub, intake
):
    with smtplib.SMTP(intake.hostname, intake.port, timeout=10) as s:
        with pytest.raises(smtplib.SMTPDataError) as refused:
            s.send_message(mail("someone@elsewhere.example", "sales@hub.test", "Hi", "Hello"))
        assert refused.value.smtp_code == 550
    deliver(app)
    assert smtp_sink.messages == []


def test_the_review_suggestion_links_the_settings_page(app, smtp_sink, hub):
    with db.transaction(app) as s:
        jinji = channels.get_channel(s, "jinji")
        ada = accounts.find_user_by_email(s, "ada@corp.example")
        governance.suggest_review(s, actor=ada, channel=jinji, idle_days=45)
    deliver(app)
    (suggestion,) = to(smtp_sink, "sato@corp.example")
    body = text_of(suggestion).replace("\r\n", "\n")
    assert "quiet for 45 days" in body
    assert "Open it or archive it on its settings page:\nhttp://hub.test/c/jinji/settings" in body


def test_a_plus_one_by_mail_in_an_archived_channel_is_refused_with_why(app, smtp_sink, hub, intake):
    """A reaction by mail ("+1" to a notification) changes an archived channel no more than
    the web's buttons do: the member is told why."""
    with db.transaction(app) as s:
        sales = channels.get_channel(s, "sales")
        boss = accounts.find_user_by_email(s, BOSS)
        channel_settings.unarchive_channel(s, channel=sales, actor=None, via=Via.CLI)
        thread = make_thread(s, channel=sales, author=boss, title="Q3", body="数字です").thread
        to_addr = addresses.encode(
            "reply", boss.id, thread.id, "hub.test", tokens.keys_from_config(app.config)
        )
        channel_settings.archive_channel(s, channel=sales, actor=None, via=Via.CLI)
    deliver(app)
    smtp_sink.messages.clear()
    with smtplib.SMTP(intake.hostname, intake.port, timeout=10) as s:
        s.send_message(mail(BOSS, to_addr, "Re: Q3", "+1"))
    with db.transaction(app) as s:
        row = s.scalar(select(InboundMessage).order_by(InboundMessage.id.desc()))
        assert (row.status, row.reason) == ("rejected", "channel_archived")
        assert s.scalar(select(func.count()).select_from(Reaction)) == 0
    deliver(app)
    (told,) = to(smtp_sink, BOSS)
    assert "archived" in text_of(told)
