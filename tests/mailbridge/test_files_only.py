"""A mail that is only a file: a manager answers "send me the estimate" with the PDF attached and
no text, or mails a channel a document with a subject and nothing else. The file is the post
(it was refused as "no text"); a mail whose only image is its signature's logo still says
nothing and is refused. On the web, a reply may be a file alone too. Mail in over the real SMTP
intake, mail out through an SMTP sink; SQLite and PostgreSQL."""

from __future__ import annotations

import re
import smtplib
from email.message import EmailMessage
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from hub import db, tokens
from hub.models import InboundMessage, OutboxMessage, Thread, User
from mailbridge import addresses, jobs
from tests.factories import make_channel, make_thread, make_user, signed_in
from tests.fixtures_mailout import deliver, parse, text_of, to

BOSS = "boss@corp.example"
SATO = "sato@corp.example"
PDF = b"%PDF-1.4\n% estimate\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
PHOTO = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100_000


@pytest.fixture
def hub(app: Flask, smtp_sink: Any, intake: Any) -> dict[str, Any]:
    app.config["RELAY_URL"] = smtp_sink.url
    with db.transaction(app) as s:
        boss = make_user(s, email=BOSS, name="Boss Baba", email_only=True)
        sato = make_user(s, email=SATO, name="Sato")
        general = make_channel(s, slug="general", name="General")
        thread = make_thread(
            s, channel=general, author=sato, title="見積書", body="@boss 送ってください"
        )
        keys = tokens.keys_from_config(app.config)
        ids = {"boss": boss.id, "sato": sato.id, "thread": thread.thread.id}
        ids["reply"] = addresses.encode("reply", boss.id, thread.thread.id, "hub.test", keys)
        # Sato hears of every post in the thread (the notification is checked below).
        s.get(User, sato.id).delivery = "every_post"
    deliver(app)
    smtp_sink.messages.clear()
    return ids


def send(intake: Any, to_addr: str, subject: str, *parts: tuple[bytes, str, str, str]) -> None:
    """Mail from the boss with no text: only ``parts`` (data, type, filename, disposition)."""
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = f"Boss Baba <{BOSS}>", to_addr, subject
    msg.make_mixed()
    for data, ctype, filename, disposition in parts:
        maintype, subtype = ctype.split("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename,
                           disposition=disposition)  # fmt: skip
    with smtplib.SMTP(intake.hostname, intake.port, timeout=10) as smtp:
        smtp.send_message(msg)


def last_outcome(app: Flask) -> tuple[str, str | None]:
    with db.transaction(app) as s:
        row = s.scalar(select(InboundMessage).order_by(InboundMessage.id.desc()))
        return row.status, row.reason


def posts_of(app: Flask, thread_id: int) -> list[tuple[str, list[str]]]:
    with db.transaction(app) as s:
        thread = s.get(Thread, thread_id)
        return [(p.body, [a.filename for a in p.attachments]) for p in thread.posts]


def test_a_reply_that_is_only_a_file_is_posted(app, smtp_sink, intake, hub):
    send(intake, hub["reply"], "Re: 見積書", (PDF, "application/pdf", "見積.pdf", "attachment"))
    assert last_outcome(app) == ("replied", None)
    assert posts_of(app, hub["thread"])[-1] == ("", ["見積.pdf"])
    deliver(app)
    assert to(smtp_sink, BOSS) == []  # no "could not be posted"
    (told,) = to(smtp_sink, SATO)
    assert "見積.pdf" in text_of(told)  # the notification links the file

    # The web shows the file on the post; Sato downloads it whole.
    sato = signed_in(app, SATO)
    page = sato.get(f"/t/{hub['thread']}").text
    href = re.search(r'href="(/attachments/\d+/[^"]+)"', page).group(1)
    with sato.get(href) as got:
        assert (got.status_code, got.data) == (200, PDF)


def test_a_digest_names_the_file_of_a_post_without_text(app, session, smtp_sink, intake, hub):
    send(intake, hub["reply"], "Re: 見積書", (PDF, "application/pdf", "見積.pdf", "attachment"))
    sato = session.get(User, hub["sato"])
    sato.delivery, sato.timezone, sato.digest_hour = "daily", "UTC", 0
    sato.working_days = "mon,tue,wed,thu,fri,sat,sun"
    session.commit()
    # Others' digests may be due too (their hour is 09:00 Tokyo): Sato gets exactly one.
    assert jobs.send_digests(app) >= 1
    deliver(app)
    (digest,) = [m for m in to(smtp_sink, SATO) if "digest" in m["Subject"]]
    assert "Boss Baba: 📎 見積.pdf" in text_of(digest)


def test_a_new_thread_that_is_only_a_file_opens(app, smtp_sink, intake, hub):
    send(intake, "general@hub.test", "Q3 予算", (PDF, "application/pdf", "予算.pdf", "attachment"))
    assert last_outcome(app) == ("posted", None)
    with db.transaction(app) as s:
        thread_id = s.scalar(select(Thread.id).where(Thread.title == "Q3 予算"))
    assert posts_of(app, thread_id) == [("", ["予算.pdf"])]


def test_a_photo_attached_inline_is_a_file(app, smtp_sink, intake, hub):
    # iPhone's Mail attaches photos inline, with a name and no place in any HTML.
    send(intake, hub["reply"], "Re: 見積書", (PHOTO, "image/png", "IMG_0001.png", "inline"))
    assert last_outcome(app) == ("replied", None)
    assert posts_of(app, hub["thread"])[-1] == ("", ["IMG_0001.png"])


def test_a_screenshot_pasted_with_no_words_is_posted(app, smtp_sink, intake, hub):
    # Outlook: an empty text part, the picture in the HTML only.
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = f"Boss Baba <{BOSS}>", hub["reply"], "RE: 見積書"
    msg.set_content("")
    msg.add_alternative('<p><img src="cid:image001.png@01DB"></p>', subtype="html")
    msg.get_payload()[1].add_related(
        PHOTO, maintype="image", subtype="png", cid="<image001.png@01DB>", filename="image001.png"
    )
    with smtplib.SMTP(intake.hostname, intake.port, timeout=10) as smtp:
        smtp.send_message(msg)
    assert last_outcome(app) == ("replied", None)
    (body, files) = posts_of(app, hub["thread"])[-1]
    assert files == ["image001.png"]


def test_a_mail_with_neither_text_nor_file_is_still_refused(app, smtp_sink, intake, hub):
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = f"Boss Baba <{BOSS}>", hub["reply"], "Re: 見積書"
    msg.set_content("\n")
    with smtplib.SMTP(intake.hostname, intake.port, timeout=10) as smtp:
        smtp.send_message(msg)
    assert last_outcome(app) == ("rejected", "empty_body")
    assert len(posts_of(app, hub["thread"])) == 1
    deliver(app)
    (told,) = to(smtp_sink, BOSS)
    assert "no text we could post" in text_of(told)


def test_a_file_without_subject_opens_its_thread_once_the_title_is_given(
    app, smtp_sink, intake, hub
):
    send(intake, "general@hub.test", "", (PDF, "application/pdf", "予算.pdf", "attachment"))
    assert last_outcome(app) == ("rejected", "empty_title")
    deliver(app)
    (told,) = to(smtp_sink, BOSS)
    # The explanation names the kept file, and no empty "your text is below".
    explained = text_of(told)
    assert "Your files are kept with it and posted under the title:\n- 予算.pdf" in explained
    assert "Your text is below" not in explained
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = f"Boss Baba <{BOSS}>", "general@hub.test", "Q3 予算"
    msg["In-Reply-To"] = str(told["Message-ID"])
    msg.set_content("\n".join(f"> {line}" for line in text_of(told).splitlines()))
    with smtplib.SMTP(intake.hostname, intake.port, timeout=10) as smtp:
        smtp.send_message(msg)
    assert last_outcome(app) == ("posted", None)
    with db.transaction(app) as s:
        thread_id = s.scalar(select(Thread.id).where(Thread.title == "Q3 予算"))
    assert posts_of(app, thread_id) == [("", ["予算.pdf"])]


def test_on_the_web_a_reply_may_be_a_file_alone_but_not_nothing(app, hub):
    sato = signed_in(app, SATO)
    url = f"/t/{hub['thread']}/reply"
    nothing = sato.post(url, data={"body": "  "})
    assert nothing.status_code == 422 and "Please write something first." in nothing.text
    assert len(posts_of(app, hub["thread"])) == 1
    from io import BytesIO

    done = sato.post(url, data={"body": "", "files": (BytesIO(PDF), "見積.pdf")},
                     content_type="multipart/form-data")  # fmt: skip
    assert done.status_code == 303
    assert posts_of(app, hub["thread"])[-1] == ("", ["見積.pdf"])
    # The form no longer insists on text before a file can be sent.
    assert 'name="body" rows="4" required' not in sato.get(f"/t/{hub['thread']}").text


def test_a_file_sent_back_under_the_notification_is_posted_without_its_words(
    app, smtp_sink, intake, hub
):
    # Outlook's Reply with a file attached and nothing typed: its 差出人 block on top, the
    # notification's text below as if new. The file is the answer; the notification's words
    # (Sato's own post) are not posted again.
    with db.transaction(app) as s:
        raw = s.scalar(
            select(OutboxMessage.raw).where(
                OutboxMessage.to_addr == BOSS, OutboxMessage.dedupe_key.like("post:%")
            )
        )
    note = parse(raw)
    msg = EmailMessage()
    msg["From"], msg["To"] = f"Boss Baba <{BOSS}>", note["Reply-To"]
    msg["Subject"], msg["In-Reply-To"] = f"RE: {note['Subject']}", note["Message-ID"]
    msg.set_content(
        "\r\n\r\n________________________________\r\n差出人: Hiroba <hiroba@hub.test>\r\n"
        f"送信日時: 2026年11月27日 10:00\r\n件名: {note['Subject']}\r\n\r\n{text_of(note)}"
    )
    msg.add_attachment(PDF, maintype="application", subtype="pdf", filename="見積.pdf")
    with smtplib.SMTP(intake.hostname, intake.port, timeout=10) as smtp:
        smtp.send_message(msg)
    assert last_outcome(app) == ("replied", None)
    assert posts_of(app, hub["thread"])[-1] == ("", ["見積.pdf"])
