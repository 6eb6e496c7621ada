"""The admin mail log names a mail's text for what it is (mail in over the real SMTP intake):
"Text as posted" when it was posted, "The mail's text" when it was refused (nothing was posted)."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from typing import Any

from flask import Flask
from sqlalchemy import select

from hub import db
from hub.models import InboundMessage, Via
from hub.services import channel_settings, rules
from tests.factories import make_channel, make_user, signed_in

BOSS = "boss@corp.example"


def send(intake: Any, to_addr: str, subject: str, body: str) -> None:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = BOSS, to_addr, subject
    msg.set_content(body)
    with smtplib.SMTP(intake.hostname, intake.port, timeout=10) as smtp:
        smtp.send_message(msg)


def heading(page: str) -> str:
    return page.split('<h2 id="text-heading">', 1)[1].split("</h2>", 1)[0].replace("&#39;", "'")


def test_a_refused_mail_is_not_called_posted(app: Flask, intake: Any) -> None:
    with db.transaction(app) as s:
        make_user(s, email=BOSS, name="Boss", email_only=True)
        admin = make_user(s, email="admin@corp.example", name="Admin", admin=True)
        rules.accept_rules(s, admin, Via.WEB)  # past the first-visit rules page
        make_channel(s, slug="general", name="General", creator=admin)
        sales = make_channel(s, slug="sales", name="Sales", creator=admin)
        channel_settings.archive_channel(s, channel=sales, actor=admin, via=Via.WEB)
    send(intake, "sales@hub.test", "Q3 numbers", "Here they are.")
    send(intake, "general@hub.test", "Lunch", "Anyone for lunch?")
    with db.transaction(app) as s:
        rows = {r.status: r.id for r in s.scalars(select(InboundMessage))}
    assert set(rows) == {"rejected", "posted"}
    client = signed_in(app, "admin@corp.example")
    refused = client.get(f"/admin/mail/{rows['rejected']}").text
    assert heading(refused) == "The mail's text" and "Here they are." in refused
    assert "Text as posted" not in refused
    posted = client.get(f"/admin/mail/{rows['posted']}").text
    assert heading(posted) == "Text as posted" and "Anyone for lunch?" in posted
