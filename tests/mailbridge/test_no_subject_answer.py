"""A new thread sent without a subject is explained with what to do: answer the explanation
with the title typed into the subject line. Answering it that way opens the thread under that
title (never "Re: …" or "(no subject) …"), with the text of the first mail when the answer adds
none, or the text written again. Mail in over the real SMTP intake, out through an SMTP sink."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from hub import db
from hub.models import Channel, InboundMessage, Post, Thread, User
from tests.factories import make_channel, make_user
from tests.fixtures_mailout import deliver, text_of, to

BOSS = "boss@corp.example"


@pytest.fixture
def hub(app: Flask, smtp_sink: Any, intake: Any) -> None:
    app.config["RELAY_URL"] = smtp_sink.url
    with db.transaction(app) as s:
        make_user(s, email=BOSS, name="Boss Baba", email_only=True)
        make_channel(s, slug="general", name="General")
    deliver(app)
    smtp_sink.messages.clear()


def send(intake: Any, to_addr: str, body: str, subject: str, **headers: str) -> None:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = f"Boss Baba <{BOSS}>", to_addr, subject
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    with smtplib.SMTP(intake.hostname, intake.port, timeout=10) as smtp:
        smtp.send_message(msg)


def threads(app: Flask) -> list[tuple[str, str]]:
    with db.transaction(app) as s:
        rows = s.execute(
            select(Thread.title, Post.body)
            .join(Channel, Channel.id == Thread.channel_id)
            .join(Post, Post.thread_id == Thread.id)
            .where(Channel.slug == "general")
            .order_by(Thread.id, Post.id)
        )
        return [(title, body) for title, body in rows]


def refused_for_no_subject(app: Flask, smtp_sink: Any, intake: Any, text: str) -> EmailMessage:
    send(intake, "general@hub.test", text, subject="")
    deliver(app)
    (told,) = to(smtp_sink, BOSS)
    assert told["Reply-To"] == "general@hub.test"
    return told


def gmail_quote(told: EmailMessage) -> str:
    quoted = "\n".join(f"> {line}" for line in text_of(told).splitlines())
    return f"\n\nOn Fri, Nov 27, 2026 at 10:00 AM Hiroba <hiroba@hub.test> wrote:\n{quoted}\n"


def test_the_explanation_says_to_type_the_title_into_the_subject_line(app, smtp_sink, intake, hub):
    told = refused_for_no_subject(app, smtp_sink, intake, "Lunch on Friday?")
    assert told["Subject"] == "Not posted: (no subject)"
    body = " ".join(text_of(told).split())
    assert "type the thread's title into the subject line" in body
    assert "> Lunch on Friday?" in text_of(told)


@pytest.mark.parametrize(
    "subject",
    [
        "Re: Not posted: (no subject) Friday lunch",  # typed after what was there
        "Friday lunch Re: Not posted: (no subject)",  # typed before it
        "Re: Not posted: Friday lunch",  # typed over "(no subject)"
        "Re: Friday lunch",  # over the explanation's words, the client's Re: kept
        "Friday lunch",  # the whole line replaced
    ],
)
def test_answering_with_the_title_in_the_subject_opens_the_thread(
    app, smtp_sink, intake, hub, subject
):
    told = refused_for_no_subject(app, smtp_sink, intake, "Lunch on Friday?")
    # Only the title typed in: the text of the first mail, quoted below, is the post.
    send(intake, "general@hub.test", gmail_quote(told), subject,
         In_Reply_To=str(told["Message-ID"]))  # fmt: skip
    assert threads(app) == [("Friday lunch", "Lunch on Friday?")]
    with db.transaction(app) as s:
        last = s.scalars(select(InboundMessage).order_by(InboundMessage.id.desc())).first()
        assert (last.status, last.text) == ("posted", "Lunch on Friday?")
        assert "> Your mail could not be posted" in (last.trimmed or "")


def test_a_japanese_answer_with_the_text_written_again(app, smtp_sink, intake, hub):
    with db.transaction(app) as s:
        s.scalar(select(User).where(User.email == BOSS)).locale = "ja"
    told = refused_for_no_subject(app, smtp_sink, intake, "金曜にランチ行きませんか？")
    assert told["Subject"] == "投稿されませんでした: (件名なし)"
    outlook = (
        "\n\n________________________________\n差出人: Hiroba <hiroba@hub.test>\n"
        f"送信日時: 2026年11月27日 10:00\n件名: {told['Subject']}\n\n{text_of(told)}"
    )
    send(intake, "general@hub.test", "金曜にランチ行きませんか？12時です。" + outlook,
         "RE: 投稿されませんでした: （件名なし） 金曜のランチ",
         In_Reply_To=str(told["Message-ID"]))  # fmt: skip
    assert threads(app) == [("金曜のランチ", "金曜にランチ行きませんか？12時です。")]


def test_an_answer_still_without_a_title_is_explained_again(app, smtp_sink, intake, hub):
    told = refused_for_no_subject(app, smtp_sink, intake, "Lunch on Friday?")
    send(intake, "general@hub.test", gmail_quote(told), f"Re: {told['Subject']}",
         In_Reply_To=str(told["Message-ID"]))  # fmt: skip
    deliver(app)
    assert threads(app) == []
    again = to(smtp_sink, BOSS)[-1]
    assert again["Subject"] == "Not posted: (no subject)"
    assert "A new thread needs a subject." in text_of(again)
