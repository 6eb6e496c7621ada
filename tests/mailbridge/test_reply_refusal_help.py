"""A refused reply whose thread is gone, or whose channel is closed to the member, cannot be
mended by writing to the same reply address again (it would be refused again, then not
explained: silence). Its explanation is answered at help@, whose how-to lists where the member
may write; a refusal that resending does mend (an empty text) is still answered in the thread.
Mail in over the real SMTP intake, mail out through a real SMTP sink."""

from __future__ import annotations

import smtplib
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from hub import db
from hub.models import (
    Channel,
    ChannelStatus,
    InboundMessage,
    OutboxMessage,
    Post,
    Thread,
    User,
    Via,
)
from hub.services import channels, threads
from mailbridge import outbound
from tests.factories import make_channel, make_thread, make_user
from tests.fixtures_mailout import deliver, text_of, to

BOSS = "boss@corp.example"


@pytest.fixture
def hub(app: Flask, smtp_sink: Any) -> dict[str, Any]:
    """Sato started 'Budget' in jinji (private; the boss is a member) and the boss may also
    write to sales; the boss holds his reply address for 'Budget'."""
    app.config["RELAY_URL"] = smtp_sink.url
    with db.transaction(app) as s:
        boss = make_user(s, email=BOSS, name="Boss Baba", email_only=True)
        make_user(s, email="admin@corp.example", name="Admin Abe", admin=True)
        sato = make_user(s, email="sato@corp.example", name="Sato")
        make_channel(s, slug="sales", name="Sales", creator=sato)
        jinji = make_channel(s, slug="jinji", name="Jinji", private=True, reason="HR",
                             creator=sato, policy="anyone")  # fmt: skip
        channels.add_member(s, user=boss, channel=jinji, actor=None)
        post = make_thread(s, channel=jinji, author=sato, title="Budget", body="Numbers?")
        ids = {"boss": boss.id, "thread": post.thread_id, "channel": jinji.id}
    deliver(app)
    smtp_sink.messages.clear()
    ids["address"] = outbound.reply_address(app, ids["boss"], ids["thread"])
    return ids


def send(intake: Any, to_addr: str, body: str, subject: str, **headers: str) -> None:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = f"Boss Baba <{BOSS}>", to_addr, subject
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    with smtplib.SMTP(intake.hostname, intake.port, timeout=10) as smtp:
        smtp.send_message(msg)


def last_inbound(app: Flask) -> tuple[str, str | None]:
    with db.transaction(app) as s:
        row = s.scalars(select(InboundMessage).order_by(InboundMessage.id.desc())).first()
        assert row is not None
        return row.status, row.reason


def close(app: Flask, hub: dict[str, Any], how: str) -> None:
    with db.transaction(app) as s:
        jinji = s.get(Channel, hub["channel"])
        if how == "left the private channel":
            channels.leave(s, user=s.get(User, hub["boss"]), channel=jinji)
        elif how == "channel archived":
            jinji.status = ChannelStatus.ARCHIVED
        else:
            s.delete(s.get(Thread, hub["thread"]))


@pytest.mark.parametrize("how", ["left the private channel", "channel archived", "thread deleted"])
def test_a_reply_that_cannot_go_anywhere_is_answered_at_help(app, smtp_sink, hub, intake, how):
    close(app, hub, how)
    send(intake, hub["address"], "Here are the numbers.", "Re: [Jinji] Budget")
    status, reason = last_inbound(app)
    assert status == "rejected"
    if how == "channel archived":
        assert reason == "channel_archived"  # told why, not "you may not post here"
    deliver(app)
    (told,) = to(smtp_sink, BOSS)
    assert "> Here are the numbers." in text_of(told)
    assert told["Reply-To"] == "help@hub.test", f"refused for {reason}: answered at the same place"
    # The thread is named only while he may read it; else the address he wrote to. Where the
    # fix is to ask an admin, the admins are named.
    text = text_of(told)
    if how == "channel archived":
        assert "Sent to: the thread “Budget” in Jinji" in text
        assert "Admins: Admin Abe <admin@corp.example>" in text
    else:
        assert "Budget" not in text.split("Why:")[0] and f"Sent to: {hub['address']}" in text
        assert "a mail to help@ lists them" in text

    # Answering it ("where do I write then?") gets the how-to, which names where he may write.
    send(intake, str(told["Reply-To"]), "Where should I send this?\n\n> Here are the numbers.",
         f"Re: {told['Subject']}", In_Reply_To=str(told["Message-ID"]))  # fmt: skip
    assert last_inbound(app)[0] == "command"
    deliver(app)
    how_to = to(smtp_sink, BOSS)[-1]
    assert "sales@hub.test" in text_of(how_to)


def test_an_empty_reply_is_still_answered_in_the_thread(app, smtp_sink, hub, intake):
    """Resending mends it: the explanation's Reply-To stays the reply address, and answering
    it with the text posts in the thread."""
    # An empty answer to the mail that named him, quoting it all (its signed links too).
    with db.transaction(app) as s:
        thread = s.get(Thread, hub["thread"])
        sato = s.scalar(select(User).where(User.email == "sato@corp.example"))
        threads.reply(s, author=sato, thread=thread, body="@boss Numbers, please?", via=Via.WEB)
    deliver(app)
    smtp_sink.messages.clear()
    with db.transaction(app) as s:
        mail = s.scalars(
            select(OutboxMessage).where(OutboxMessage.to_addr == BOSS, OutboxMessage.kind == "post")
        ).one()
        text = text_of(message_from_bytes(mail.raw, policy=default))
        mid = mail.message_id
    quoted = "\n".join(f"> {ln}" for ln in text.splitlines())
    send(intake, hub["address"], f"On Fri, Nov 27, 2026 Sato via Hiroba wrote:\n{quoted}",
         "Re: [Jinji] Budget", In_Reply_To=f"<{mid}>")  # fmt: skip
    assert last_inbound(app) == ("rejected", "empty_body")
    deliver(app)
    (told,) = to(smtp_sink, BOSS)
    assert told["Reply-To"] == hub["address"]
    # Named as he knows it, and our own quoted mail is not sent back to him.
    assert "Sent to: the thread “Budget” in Jinji" in text_of(told)
    assert "Numbers, please?" not in text_of(told) and "wrote:" not in text_of(told)
    assert "Admins:" not in text_of(told)
    send(intake, str(told["Reply-To"]), "Here are the numbers.", f"Re: {told['Subject']}",
         In_Reply_To=str(told["Message-ID"]))  # fmt: skip
    with db.transaction(app) as s:
        bodies = s.scalars(select(Post.body).where(Post.thread_id == hub["thread"])).all()
    assert bodies[-1] == "Here are the numbers."
