"""Every mail: threading across replies, List-* headers, encoded names, relay failures."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from hub.models import OutboxMessage, User, Via
from hub.services import threads
from mailbridge import delivery, mime, outbound
from tests.conftest import free_port
from tests.factories import make_channel, make_thread, make_user
from tests.fixtures_mailout import deliver, ids, parse, text_of, to


@pytest.fixture
def office(app: Any, session: Any, smtp_sink: Any) -> dict[str, Any]:
    """An email-only manager, a web colleague, a channel with a purpose, and a thread."""
    app.config["RELAY_URL"] = smtp_sink.url
    boss = make_user(session, email="boss@corp.example", name="部長 山田", email_only=True)
    peer = make_user(session, email="hanako@corp.example", name="田中 花子")
    channel = make_channel(session, slug="general", name="全社", purpose="全社への連絡と相談")
    first = make_thread(session, channel=channel, author=peer, title="来期の予算", body="案です")
    threads.reply(session, author=boss, thread=first.thread, body="見ました", via=Via.EMAIL)
    session.commit()
    deliver(app)
    smtp_sink.messages.clear()
    return {"boss": boss, "peer": peer, "channel": channel, "thread": first.thread}


def test_three_replies_thread_into_one_conversation(app, session, smtp_sink, office):
    peer, thread = office["peer"], office["thread"]
    for n in range(3):
        threads.reply(session, author=peer, thread=thread, body=f"返信 {n}", via=Via.WEB)
        session.commit()
        deliver(app)
    mails = to(smtp_sink, "boss@corp.example")
    assert [text_of(m).count(f"返信 {n}") for n, m in enumerate(mails)] == [1, 1, 1]
    first, second, third = mails
    assert len({m["Subject"] for m in mails}) == 1 == len({m["Message-ID"] for m in [first]})
    assert ids(second["In-Reply-To"]) == ids(first["Message-ID"])
    assert ids(third["In-Reply-To"]) == ids(second["Message-ID"])
    chain = ids(third["References"])
    assert ids(first["Message-ID"])[0] in chain and ids(second["Message-ID"])[0] in chain
    # Every mail names the same root: the thread's anchor.
    assert ids(first["References"])[0] == ids(second["References"])[0] == chain[0]
    assert len({m["Message-ID"] for m in mails}) == 3


def test_thread_begun_by_mail_anchors_on_its_own_message_id(app, session, smtp_sink, office):
    peer, boss, channel = office["peer"], office["boss"], office["channel"]
    post = make_thread(
        session, channel=channel, author=peer, title="By mail", body="x", via=Via.EMAIL,
        message_id="seed@corp.example",
    )  # fmt: skip
    threads.reply(session, author=boss, thread=post.thread, body="ok", via=Via.EMAIL)
    threads.reply(session, author=peer, thread=post.thread, body="thanks", via=Via.WEB)
    session.commit()
    deliver(app)
    (mail,) = to(smtp_sink, "boss@corp.example")
    assert ids(mail["References"])[0] == "seed@corp.example"


def test_an_answer_to_a_mail_reply_threads_under_the_mail_in_the_senders_sent_folder(
    app, session, smtp_sink, office
):
    # The manager replied by mail: his client keeps that mail (his own Message-ID) in Sent.
    # The answer to it names that mail as its parent, so it threads right under his reply.
    boss, peer, thread = office["boss"], office["peer"], office["thread"]
    threads.reply(
        session, author=boss, thread=thread, body="来週確認します", via=Via.EMAIL,
        message_id="CAF=boss.reply@mail.corp.example",
    )  # fmt: skip
    threads.reply(session, author=peer, thread=thread, body="お願いします", via=Via.WEB)
    session.commit()
    deliver(app)
    (mail,) = to(smtp_sink, "boss@corp.example")
    assert ids(mail["In-Reply-To"]) == ["CAF=boss.reply@mail.corp.example"]
    assert "CAF=boss.reply@mail.corp.example" in ids(mail["References"])


def test_every_header_a_mail_client_needs(app, session, smtp_sink, office):
    threads.reply(session, author=office["peer"], thread=office["thread"], body="b", via=Via.WEB)
    session.commit()
    deliver(app)
    (mail,) = to(smtp_sink, "boss@corp.example")
    assert mail["From"].addresses[0].domain == "hub.test"
    assert mail["From"].addresses[0].display_name == "田中 花子 via Hiroba"
    assert "hanako@corp.example" not in str(mail["From"])
    assert str(mail["Reply-To"]).startswith("reply+") and str(mail["Reply-To"]).endswith(
        "@hub.test"
    )
    assert mail["Subject"] == "[全社] 来期の予算"
    assert mail["List-Id"] == "全社 <general.hub.test>"
    assert mail["List-Archive"] == "<http://hub.test/c/general>"
    unsub = str(mail["List-Unsubscribe"])
    assert "<http://hub.test/mail/unsubscribe/" in unsub and "<mailto:help@hub.test?" in unsub
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mail["Auto-Submitted"] == "auto-generated"
    assert mail["X-Auto-Response-Suppress"] == "All"
    assert mail["Precedence"] == "list"
    body = text_of(mail)
    assert body.startswith("##- この行より上に返信してください")
    assert "全社への連絡と相談" in body and "/mail/prefs/" in body
    assert mail.get_body(preferencelist=("html",)) is not None
    # VERP: the envelope sender names the outbox row.
    envelope = smtp_sink.messages[-1]["mail_from"]
    assert envelope.startswith("bounce+") and envelope.endswith("@hub.test")


def test_names_are_encoded_and_headers_cannot_be_injected(app, session, smtp_sink, office):
    evil = make_user(session, email="evil@corp.example", name="悪 Evil\r\nBcc: spy@evil.example")
    threads.reply(session, author=evil, thread=office["thread"], body="@boss hi", via=Via.WEB)
    session.commit()
    deliver(app)
    (mail,) = to(smtp_sink, "boss@corp.example")
    raw = smtp_sink.messages[-1]["raw"]
    assert raw.isascii()
    assert b"\nBcc:" not in raw and mail["Bcc"] is None
    assert ["boss@corp.example"] == smtp_sink.messages[-1]["rcpt_tos"]
    assert "悪 Evil" in mail["From"].addresses[0].display_name
    # Mentions are shown as names.
    assert "@部長 山田" in text_of(mail)


class _Refusing:
    """A relay that refuses one address for good and counts its connections."""

    def __init__(self, refused: str) -> None:
        self.refused, self.ehlo, self.got = refused, 0, []

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: ANN001
        self.ehlo += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(self, server, session, envelope, address, options):  # noqa: ANN001
        if address == self.refused:
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001
        self.got.append(envelope.rcpt_tos[0])
        await asyncio.sleep(0)
        return "250 OK"


def test_connections_are_reused_and_a_permanent_refusal_marks_bouncing(app, session):
    handler = _Refusing("gone@corp.example")
    relay = Controller(handler, hostname="127.0.0.1", port=free_port())
    relay.start()
    try:
        app.config["RELAY_URL"] = f"smtp://127.0.0.1:{relay.port}"
        app.config["RELAY_CONNECTIONS"] = 2
        # One day of hard bounces is enough here (the rule itself: tests/mailbridge/test_bounces).
        app.config["BOUNCE_THRESHOLD"] = 1
        users = [make_user(session, email=f"m{i}@corp.example") for i in range(4)]
        users.append(make_user(session, email="gone@corp.example"))
        for n, u in enumerate(users):
            outbound.queue_mail(
                app, session, kind="test", dedupe_key=f"t:{n}", to=u, template="login_link",
                context={"link": "http://hub.test/x", "minutes": 15},
            )  # fmt: skip
        session.commit()
        assert delivery.drain_outbox(app) == 4
    finally:
        relay.stop()
    # Five mails over at most the two connections the run keeps (not one per mail).
    assert handler.ehlo <= 2 and len(handler.got) == 4
    session.expire_all()
    gone = session.scalar(select(User).where(User.email == "gone@corp.example"))
    assert gone.bouncing
    row = session.scalar(select(OutboxMessage).where(OutboxMessage.to_addr == gone.email))
    assert row.status == "failed" and "550" in row.last_error


def test_relay_down_backs_off_and_keeps_the_mail(app, session):
    app.config["RELAY_URL"] = f"smtp://127.0.0.1:{free_port()}"
    user = make_user(session)
    outbound.queue_mail(
        app, session, kind="test", dedupe_key="t", to=user, template="login_link",
        context={"link": "http://hub.test/x", "minutes": 15},
    )  # fmt: skip
    session.commit()
    assert delivery.drain_outbox(app) == 0
    row = session.scalar(select(OutboxMessage))
    session.refresh(row)
    assert row.status == "pending" and row.attempts == 1 and row.last_error
    assert row.not_before > row.created_at
    # The same key to the same member is never queued twice.
    again = outbound.queue_mail(
        app, session, kind="test", dedupe_key="t", to=user, template="login_link",
        context={"link": "http://hub.test/x", "minutes": 15},
    )  # fmt: skip
    assert again is None


def test_assembled_message_parses_back(app):
    raw = mime.build_message(
        from_name='山田 "太郎" via Hiroba', from_addr="hiroba@hub.test", to_name="Ann",
        to_addr="ann@corp.example", subject="件名" * 40, text="本文\n" * 3, html="<p>本文</p>",
        message_id="x@hub.test", headers={"X-Test": "a\nb"},
    )  # fmt: skip
    msg = parse(raw)
    assert msg["Subject"] == "件名" * 40
    assert msg["From"].addresses[0].display_name == '山田 "太郎" via Hiroba'
    assert msg["X-Test"] == "a b"
    assert text_of(msg) == "本文\n" * 3
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))


def test_mime_doctests() -> None:
    import doctest

    assert doctest.testmod(mime).failed == 0
