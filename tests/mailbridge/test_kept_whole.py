"""Issue #3: "Never strip everything: if nothing would remain, keep the whole text and say so."
A mail with nothing new above its quotes (a customer's mail forwarded to a channel as it came)
is posted whole, and the post on the web says why it shows the quotes; `hiroba mail ingest
--json` and `hiroba mail log --json` flag it. A mail whose quotes were cut says nothing. Mail
over the real SMTP intake and through the command; the page over HTTP in ja and en."""

from __future__ import annotations

import json
import smtplib
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from hub import db
from hub.models import Post, Thread
from mailbridge.cli import mail_group
from tests.factories import make_channel, make_user, signed_in

# A customer's mail passed on to the channel quoted, with nothing written above it.
FORWARDED = (
    "On Fri, Nov 27, 2026 at 9:12 AM Customer <buyer@client.example> wrote:\n"
    "> Could you send us a quote for 40 units by Monday?\n"
)
NOTE_EN = "The whole mail was kept: nothing new was found above the quoted text."


@pytest.fixture
def hub(app: Flask, intake: Any) -> None:
    with db.transaction(app) as s:
        make_user(s, email="boss@corp.example", name="Boss Baba", email_only=True)
        make_user(s, email="sato@corp.example", name="Sato")
        make_channel(s, slug="sales", name="Sales")


def send(intake: Any, subject: str, body: str) -> None:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "Boss <boss@corp.example>", "sales@hub.test", subject
    msg.set_content(body)
    with smtplib.SMTP(intake.hostname, intake.port, timeout=10) as smtp:
        smtp.send_message(msg)


def thread_page(app: Flask, title: str) -> str:
    with db.transaction(app) as s:
        thread_id = s.scalar(select(Thread.id).where(Thread.title == title))
    page = signed_in(app, "sato@corp.example").get(f"/t/{thread_id}")
    assert page.status_code == 200
    return page.text


def run(app: Flask, *args: str) -> str:
    result = app.test_cli_runner().invoke(mail_group, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_a_mail_posted_whole_says_so_on_its_post(app, intake, hub):
    send(intake, "FW: Quote request", FORWARDED)
    with db.transaction(app) as s:
        post = s.scalars(select(Post).order_by(Post.id.desc())).first()
        assert "Customer <buyer@client.example> wrote" in post.body
        assert "> Could you send us a quote" in post.body
    assert NOTE_EN in thread_page(app, "Quote request")

    # A reply whose quote was cut shows no such note.
    send(intake, "Lunch", "Lunch at noon?\n\nOn Fri, Sato wrote:\n> shall we eat?\n")
    assert NOTE_EN not in thread_page(app, "Lunch")

    # The mail log flags the first, not the second.
    log = json.loads(run(app, "log", "--json"))
    assert [e["kept_whole"] for e in log] == [True, False]


def test_the_note_in_japanese(app, intake, hub):
    send(intake, "FW: Quote request", FORWARDED)
    with db.transaction(app) as s:
        thread_id = s.scalar(select(Thread.id))
    sato = signed_in(app, "sato@corp.example")
    page = sato.get(f"/t/{thread_id}").text
    assert "Could you send us a quote" in page and 'class="kept-whole"' in page
    assert NOTE_EN in page  # in the reader's language (his, English here)


def test_mail_ingest_json_flags_it(app, hub, tmp_path: Path):
    eml = tmp_path / "forward.eml"
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "Boss <boss@corp.example>", "sales@hub.test", "FW: Q"
    msg["Message-ID"] = "<fw-1@corp.example>"
    msg.set_content(FORWARDED)
    eml.write_bytes(msg.as_bytes())
    (line,) = run(app, "ingest", "--json", str(eml)).splitlines()
    data = json.loads(line)
    assert data["status"] == "posted" and data["reason"] is None
    assert data["kept_whole"] is True
    assert "Could you send us a quote" in data["text"]
