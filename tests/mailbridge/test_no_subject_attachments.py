"""A new thread sent without a subject, answered with only the title typed in: the thread opens
with the first mail's text AND its attachments (read again from the stored source), not the
text alone; an answer that attaches the file again posts it once; once mail retention dropped
the first mail's source, the text alone is posted. Mail in over the real SMTP intake, the
explanation out through an SMTP sink, the file downloaded from the web."""

from __future__ import annotations

import smtplib
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from hub import db
from hub.db import utcnow
from hub.models import InboundMessage, Post, Thread
from mailbridge import retention
from tests.factories import make_channel, make_user, signed_in
from tests.fixtures_mailout import deliver, text_of, to

BOSS = "boss@corp.example"
PDF = b"%PDF-1.4\n% the menu\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"


@pytest.fixture
def hub(app: Flask, smtp_sink: Any, intake: Any) -> None:
    app.config["RELAY_URL"] = smtp_sink.url
    with db.transaction(app) as s:
        make_user(s, email=BOSS, name="Boss Baba", email_only=True)
        make_user(s, email="sato@corp.example", name="Sato")
        make_channel(s, slug="general", name="General")
    deliver(app)
    smtp_sink.messages.clear()


def send(intake: Any, body: str, subject: str, pdf: bool = False, **headers: str) -> None:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = f"Boss Baba <{BOSS}>", "general@hub.test", subject
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    if pdf:
        msg.add_attachment(PDF, maintype="application", subtype="pdf", filename="menu.pdf")
    with smtplib.SMTP(intake.hostname, intake.port, timeout=10) as smtp:
        smtp.send_message(msg)


def refused_with_the_menu(app: Flask, smtp_sink: Any, intake: Any) -> EmailMessage:
    send(intake, "Lunch on Friday? The menu is attached.", "", pdf=True)
    deliver(app)
    (told,) = to(smtp_sink, BOSS)
    assert told["Subject"] == "Not posted: (no subject)"
    return told


def answer(intake: Any, told: EmailMessage, pdf: bool = False) -> None:
    quoted = "\n".join(f"> {line}" for line in text_of(told).splitlines())
    body = f"\n\nOn Fri, Nov 27, 2026 at 10:00 AM Hiroba <hiroba@hub.test> wrote:\n{quoted}\n"
    send(intake, body, "Re: Friday lunch", pdf=pdf, In_Reply_To=str(told["Message-ID"]))


def the_thread(app: Flask) -> tuple[str, list[tuple[int, str]]]:
    """The text of the thread "Friday lunch" and its files (id, name)."""
    with db.transaction(app) as s:
        thread = s.scalar(select(Thread).where(Thread.title == "Friday lunch"))
        assert thread is not None, "the answer opened no thread"
        (post,) = thread.posts
        return post.body, [(a.id, a.filename) for a in post.attachments]


def test_the_first_mails_attachment_is_posted_with_its_text(app, smtp_sink, intake, hub):
    answer(intake, refused_with_the_menu(app, smtp_sink, intake))
    body, files = the_thread(app)
    assert body == "Lunch on Friday? The menu is attached."
    assert [name for _, name in files] == ["menu.pdf"]
    # A colleague on the web sees the file on the post and downloads it whole.
    sato = signed_in(app, "sato@corp.example")
    with db.transaction(app) as s:
        thread_id = s.scalar(select(Thread.id).where(Thread.title == "Friday lunch"))
    assert f"/attachments/{files[0][0]}/menu.pdf" in sato.get(f"/t/{thread_id}").text
    with sato.get(f"/attachments/{files[0][0]}/menu.pdf") as got:  # closes the file
        assert (got.status_code, got.data) == (200, PDF)


def test_an_answer_that_attaches_it_again_posts_it_once(app, smtp_sink, intake, hub):
    answer(intake, refused_with_the_menu(app, smtp_sink, intake), pdf=True)
    body, files = the_thread(app)
    assert body == "Lunch on Friday? The menu is attached."
    assert [name for _, name in files] == ["menu.pdf"]


def test_after_retention_dropped_the_first_mail_its_text_alone_is_posted(
    app, smtp_sink, intake, hub
):
    told = refused_with_the_menu(app, smtp_sink, intake)
    assert retention.prune(app, days=90, now=utcnow() + timedelta(days=100)).inbound.rows == 1
    with db.transaction(app) as s:
        first = s.scalar(select(InboundMessage).order_by(InboundMessage.id))
        assert first.raw_dropped_at is not None and first.text
    answer(intake, told)
    body, files = the_thread(app)
    assert (body, files) == ("Lunch on Friday? The menu is attached.", [])
    with db.transaction(app) as s:
        assert s.scalar(select(Post.id).where(Post.body == body)) is not None
