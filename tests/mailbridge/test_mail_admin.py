"""Admin mail pages: the inbound log, raw source and replay; the catcher's reply-as-recipient."""

from __future__ import annotations

import email
from email.message import EmailMessage
from email.policy import default
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from hub.models import CaughtMail, InboundMessage, Post
from mailbridge import ingest
from tests.factories import make_channel, make_thread, make_user
from tests.mailbridge.test_ingest import mail, reply_address


@pytest.fixture
def world(app: Flask, session: Any) -> dict[str, Any]:
    admin = make_user(session, email="admin@corp.example", name="管理者", admin=True)
    boss = make_user(session, email="buchou@corp.example", name="部長 山田", email_only=True)
    general = make_channel(session, slug="general", name="全社")
    first = make_thread(session, channel=general, author=admin, title="来期の予算", body="案です")
    session.commit()
    return {"admin": admin, "boss": boss, "thread_id": first.thread_id}


def test_log_shows_outcome_raw_source_and_replays(
    app: Flask, session: Any, client: FlaskClient, auth: Any, world: Any
) -> None:
    to = reply_address(app, world["boss"], world["thread_id"])
    raw = mail(frm="buchou@corp.example", to=to, subject="Re: 予算の件", body="了解です。")
    out = ingest.receive(app, raw, [to], "smtp")
    auth.login("admin@corp.example")
    page = client.get("/admin/mail").get_data(as_text=True)
    assert "Re: 予算の件" in page and "replied" in page and "buchou@corp.example" in page
    assert f"/t/{world['thread_id']}#post-{out.post_id}" in page
    row_id = session.scalar(select(InboundMessage.id))
    session.rollback()
    detail = client.get(f"/admin/mail/{row_id}").get_data(as_text=True)
    assert "了解です。" in detail and "Message-ID" in detail and "Content-Type" in detail
    # Posted: nothing to replay (it would only be found again and lose what it became).
    assert "/replay" not in detail
    resp = client.post(f"/admin/mail/{row_id}/replay")
    assert resp.status_code == 303
    assert "taken already: there is nothing to replay" in client.get(resp.location).text
    assert session.get(InboundMessage, row_id).status == "replied"
    session.rollback()
    # A refused mail (a stranger's) goes back in the queue.
    stranger = mail(frm="x@evil.example", to=to, subject="Re: 予算の件", body="?")
    ingest.receive(app, stranger, [to], "smtp")
    refused = session.scalar(select(InboundMessage.id).where(InboundMessage.status == "rejected"))
    session.rollback()
    assert f"/admin/mail/{refused}/replay" in client.get(f"/admin/mail/{refused}").text
    assert client.post(f"/admin/mail/{refused}/replay").status_code == 303
    assert session.get(InboundMessage, refused).status == "received"
    session.rollback()
    assert client.get("/admin/mail?status=received").get_data(as_text=True).count("inbound-") == 1


def test_mail_pages_are_for_admins_only(client: FlaskClient, auth: Any, world: Any) -> None:
    auth.login("buchou@corp.example")
    assert client.get("/admin/mail").status_code in (302, 403)
    assert client.get("/admin/mail/caught").status_code in (302, 403)


def test_catcher_off_hides_the_page(app: Flask, client: FlaskClient, auth: Any, world: Any) -> None:
    app.config["MAIL_CATCHER"] = False
    auth.login("admin@corp.example")
    assert client.get("/admin/mail/caught").status_code == 404


def test_no_catcher_once_a_relay_is_set(
    app: Flask, client: FlaskClient, auth: Any, world: Any
) -> None:
    """With real mail flowing, no admin may "reply as" a member."""
    app.config["RELAY_URL"] = "smtp://127.0.0.1:25"
    auth.login("admin@corp.example")
    assert client.get("/admin/mail/caught").status_code == 404
    assert client.post("/admin/mail/caught/1/reply", data={"body": "x"}).status_code == 404


def caught_notification(app: Flask, session: Any, world: Any) -> CaughtMail:
    """What the hub sends the manager about a post: token Reply-To, our Message-ID."""
    msg = EmailMessage()
    msg["From"] = "Hiroba <hiroba@hub.test>"
    msg["To"] = "部長 山田 <buchou@corp.example>"
    msg["Reply-To"] = reply_address(app, world["boss"], world["thread_id"])
    msg["Subject"] = "[全社] 来期の予算"
    msg["Date"] = "Fri, 27 Nov 2026 01:00:00 +0000"
    msg["Message-ID"] = "<post.1@hub.test>"
    msg.set_content("管理者:\n案です\n")
    row = CaughtMail(
        mail_from="bounce@hub.test", to_addr="buchou@corp.example", subject=msg["Subject"],
        raw=msg.as_bytes(),
    )  # fmt: skip
    session.add(row)
    session.commit()
    return row


def test_a_caught_mail_says_who_it_is_from(
    app: Flask, session: Any, client: FlaskClient, auth: Any, world: Any
) -> None:
    # As the member's mail client lists it: who sent it (the author's name via Hiroba), to whom.
    caught = caught_notification(app, session, world)
    msg = email.message_from_bytes(caught.raw, policy=default)
    msg.replace_header("From", "佐藤 美咲 via Hiroba <hiroba@hub.test>")
    caught.raw = msg.as_bytes()
    session.commit()
    auth.login("admin@corp.example")
    page = client.get("/admin/mail/caught").get_data(as_text=True)
    assert "<small>From 佐藤 美咲 via Hiroba &lt;hiroba@hub.test&gt; · To" in page


def test_reply_as_recipient_lands_in_the_thread(
    app: Flask, session: Any, client: FlaskClient, auth: Any, world: Any, intake: Any
) -> None:
    caught = caught_notification(app, session, world)
    session.rollback()
    auth.login("admin@corp.example")
    page = client.get("/admin/mail/caught").get_data(as_text=True)
    assert "[全社] 来期の予算" in page and "Reply-To" in page and "案です" in page
    resp = client.post(f"/admin/mail/caught/{caught.id}/reply", data={"body": "承知しました。"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "replied" in html and "250" in html
    post = session.scalar(select(Post).order_by(Post.id.desc()))
    assert post.body == "承知しました。" and post.author.email == "buchou@corp.example"
    assert post.thread_id == world["thread_id"]
    # A real reply: the original quoted under a Gmail-style Japanese attribution, all of which
    # (attribution and every quoted line) is kept in ``trimmed``.
    msg = email.message_from_bytes(session.scalar(select(InboundMessage.raw)), policy=default)
    body = msg.get_content().replace("\r\n", "\n")
    assert "2026年11月27日(金) 10:00 Hiroba <hiroba@hub.test>:\n> 管理者:" in body
    assert post.trimmed == body.split("承知しました。", 1)[1].strip()
    raw = msg.as_string()
    assert "In-Reply-To: <post.1@hub.test>" in raw and "From: buchou@corp.example" in raw


def test_a_digest_reply_waiting_for_its_sender_is_not_said_to_wait_for_an_admin(
    session: Any, client: FlaskClient, auth: Any, world: Any
) -> None:
    """Held, because the manager was asked which thread his answer is for: the log says it
    waits for him (an admin reading "held for an admin" would look for something to do)."""
    row = InboundMessage(
        message_key="<which@corp.example>", raw=b"Subject: Re: digest\r\n\r\nok\r\n",
        source="smtp", sender="buchou@corp.example", subject="Re: digest", status="held",
        reason="ambiguous_digest_reply",
    )  # fmt: skip
    session.add(row)
    session.commit()
    auth.login("admin@corp.example")
    for page in (client.get("/admin/mail").text, client.get(f"/admin/mail/{row.id}").text):
        assert "Waiting for the sender to name the thread" in page
        assert "Held for an admin" not in page.split("<select", 1)[-1].split("</select>", 1)[-1]
