"""A mail sent to several of our addresses at once: each destination handled once.

Cross-posts over the real SMTP intake (two channels; one channel closed to the sender), a reply
that also copies a channel, To/Cc routing when there is no envelope (IMAP), and the admin views.
"""

from __future__ import annotations

import json
import smtplib
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from hub.errors import Reason
from hub.models import InboundMessage, OutboxMessage, Post, Thanks, Thread
from mailbridge import actions, ingest
from mailbridge.cli import mail_group
from mailbridge.context import Outcome
from tests.factories import make_channel, make_thread, make_user
from tests.mailbridge.test_ingest import reply_address


@pytest.fixture
def world(app: Flask, session: Any) -> dict[str, Any]:
    """部長 (email only), 花子; open channels general and sales; a private board channel."""
    boss = make_user(session, email="buchou@corp.example", name="部長", email_only=True)
    peer = make_user(session, email="hanako@corp.example", name="花子")
    general = make_channel(session, slug="general", name="全社")
    make_channel(session, slug="sales", name="営業")
    make_channel(session, slug="board", name="役員会", private=True, reason="人事の話")
    first = make_thread(session, channel=general, author=peer, title="来期の予算", body="案です")
    session.commit()
    return {"boss": boss, "peer": peer, "thread_id": first.thread_id}


def mail(
    *,
    to: str,
    cc: str = "",
    subject: str = "来週の展示会",
    body: str = "皆さん、準備をお願いします。",
    msgid: str = "cross-1@client.example",
    frm: str = "buchou@corp.example",
) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"部長 <{frm}>"
    msg["To"] = to
    if cc:
        msg["Cc"] = cc
    msg["Subject"] = subject
    msg["Message-ID"] = f"<{msgid}>"
    msg.set_content(body)
    return msg.as_bytes()


def send(intake: Any, rcpts: list[str], raw: bytes) -> None:
    """Send over TCP; the intake must answer 250 to every recipient and to DATA."""
    with smtplib.SMTP(intake.hostname, intake.port, timeout=30) as s:
        assert s.sendmail("buchou@corp.example", rcpts, raw) == {}


def threads_in(session: Any, slug: str) -> list[Thread]:
    session.expire_all()
    return [
        t for t in session.scalars(select(Thread).order_by(Thread.id)) if t.channel.slug == slug
    ]


def only_row(session: Any) -> InboundMessage:
    rows = list(session.scalars(select(InboundMessage)))
    assert len(rows) == 1
    return rows[0]


def outcomes(row: InboundMessage) -> dict[str, tuple[str, str | None]]:
    return {r["rcpt"]: (r["status"], r["reason"]) for r in row.results}


def test_cross_post_to_two_channels_makes_two_threads(
    app: Flask, session: Any, world: Any, intake: Any
) -> None:
    raw = mail(to="general@hub.test, sales@hub.test")
    send(intake, ["general@hub.test", "sales@hub.test"], raw)

    [general] = [t for t in threads_in(session, "general") if t.title == "来週の展示会"]
    [sales] = threads_in(session, "sales")
    assert sales.title == "来週の展示会"
    for thread in (general, sales):
        assert [(p.author.email, p.body) for p in thread.posts] == [
            ("buchou@corp.example", "皆さん、準備をお願いします。")
        ]
    row = only_row(session)
    assert (row.status, row.thread_id) == ("posted", general.id)
    assert outcomes(row) == {
        "general@hub.test": ("posted", None),
        "sales@hub.test": ("posted", None),
    }
    assert {r["thread_id"] for r in row.results} == {general.id, sales.id}
    assert all(r["text"] == "皆さん、準備をお願いします。" for r in row.results)

    # The sender's server retries, and the company mailbox (IMAP) has the same mail: no new post.
    session.rollback()  # SQLite: our read must not hold the intake's writes
    send(intake, ["general@hub.test", "sales@hub.test"], raw)
    again = ingest.receive(app, raw, [], "imap")
    assert again.status == "duplicate" and len(again.results) == 2
    assert session.scalar(select(func.count()).select_from(Post).where(Post.via == "email")) == 2
    assert len(threads_in(session, "sales")) == 1


def test_cross_post_refused_for_the_closed_channel_only(
    app: Flask, session: Any, world: Any, intake: Any
) -> None:
    raw = mail(to="general@hub.test", cc="board@hub.test", subject="人事の件")
    send(intake, ["general@hub.test", "board@hub.test"], raw)

    assert [t.title for t in threads_in(session, "general")] == ["来期の予算", "人事の件"]
    assert threads_in(session, "board") == []
    row = only_row(session)
    assert row.status == "posted" and row.post_id is not None
    assert outcomes(row) == {
        "general@hub.test": ("posted", None),
        "board@hub.test": ("rejected", "not_a_member"),
    }
    [refusal] = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "refusal"))
    assert refusal.to_addr == "buchou@corp.example"
    told = message_from_bytes(refusal.raw, policy=policy.default)
    assert "board@hub.test" in str(told["Subject"]) and "人事の件" in str(told["Subject"])
    body = told.get_body(preferencelist=("plain",)).get_content()
    assert "> 皆さん、準備をお願いします。" in body
    assert "board@hub.test" in body  # the body names the refused address too


def test_every_destination_refused_is_refused_as_before(
    app: Flask, session: Any, world: Any, intake: Any
) -> None:
    # Only the closed channel: 250 and one explanation, as for a single address.
    send(intake, ["board@hub.test"], mail(to="board@hub.test", msgid="closed-1@client.example"))
    session.expire_all()
    row = only_row(session)
    assert (row.status, row.reason, row.results) == ("rejected", "not_a_member", [])
    assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 1
    session.rollback()  # SQLite: our read must not hold the intake's writes
    # A stranger writing to two channels is refused in protocol, once.
    with smtplib.SMTP(intake.hostname, intake.port, timeout=30) as s:
        with pytest.raises(smtplib.SMTPDataError) as err:
            stranger = mail(to="general@hub.test, sales@hub.test", frm="x@evil.example")
            s.sendmail("x@evil.example", ["general@hub.test", "sales@hub.test"], stranger)
    assert err.value.smtp_code == 550


def test_reply_copying_its_own_channel_opens_no_thread(
    app: Flask, session: Any, world: Any, intake: Any
) -> None:
    """A reply that also Cc's the channel its thread lives in is one reply, nothing more —
    whatever the order of the addresses."""
    to = reply_address(app, world["boss"], world["thread_id"])
    raw = mail(to="general@hub.test", cc=to, subject="Re: 来期の予算", body="承知しました。")
    send(intake, ["general@hub.test", to], raw)

    [thread] = threads_in(session, "general")
    assert [p.body for p in thread.posts] == ["案です", "承知しました。"]
    row = only_row(session)
    assert (row.status, row.thread_id, row.post_id) == ("replied", thread.id, thread.posts[1].id)
    assert outcomes(row) == {to: ("replied", None), "general@hub.test": ("ignored", "duplicate")}
    assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_reply_copying_another_channel_starts_a_thread_there(
    app: Flask, session: Any, world: Any, intake: Any
) -> None:
    to = reply_address(app, world["boss"], world["thread_id"])
    raw = mail(to=to, cc="sales@hub.test", subject="Re: 来期の予算", body="営業にも共有します。")
    send(intake, [to, "sales@hub.test"], raw)

    [thread] = threads_in(session, "general")
    assert [p.body for p in thread.posts] == ["案です", "営業にも共有します。"]
    [shared] = threads_in(session, "sales")
    assert shared.title == "来期の予算" and shared.posts[0].body == "営業にも共有します。"
    # The mail's Message-ID (unique on posts) goes to the first post only: the reply.
    assert thread.posts[1].message_id == "cross-1@client.example"
    assert shared.posts[0].message_id is None
    row = only_row(session)
    assert (row.status, row.post_id) == ("replied", thread.posts[1].id)
    assert outcomes(row) == {to: ("replied", None), "sales@hub.test": ("posted", None)}


def test_recipients_split_over_two_sessions_are_each_handled_once(
    app: Flask, session: Any, world: Any, intake: Any
) -> None:
    """The sending server delivers one mail in two SMTP sessions, one of our addresses each
    (as servers that send one recipient per transaction do): both channels get their thread,
    and a retry of either session adds nothing."""
    raw = mail(to="general@hub.test, sales@hub.test")
    send(intake, ["general@hub.test"], raw)
    send(intake, ["sales@hub.test"], raw)

    [general] = [t for t in threads_in(session, "general") if t.title == "来週の展示会"]
    [sales] = threads_in(session, "sales")
    assert [p.body for p in sales.posts] == ["皆さん、準備をお願いします。"]
    assert general.posts[0].message_id == "cross-1@client.example"
    assert sales.posts[0].message_id is None  # unique on posts: the first delivery's
    rows = list(session.scalars(select(InboundMessage).order_by(InboundMessage.id)))
    assert [(r.rcpt, r.status, r.thread_id) for r in rows] == [
        ("general@hub.test", "posted", general.id),
        ("sales@hub.test", "posted", sales.id),
    ]

    session.rollback()  # SQLite: our read must not hold the intake's writes
    send(intake, ["sales@hub.test"], raw)
    send(intake, ["general@hub.test", "sales@hub.test"], raw)
    assert ingest.receive(app, raw, [], "imap").status == "duplicate"
    assert len(threads_in(session, "sales")) == 1
    assert session.scalar(select(func.count()).select_from(Post).where(Post.via == "email")) == 2


def test_reply_then_its_channel_in_a_second_session_opens_no_thread(
    app: Flask, session: Any, world: Any, intake: Any
) -> None:
    to = reply_address(app, world["boss"], world["thread_id"])
    raw = mail(to=to, cc="general@hub.test", subject="Re: 来期の予算", body="承知しました。")
    send(intake, [to], raw)
    send(intake, ["general@hub.test"], raw)

    [thread] = threads_in(session, "general")
    assert [p.body for p in thread.posts] == ["案です", "承知しました。"]
    statuses = [
        (r.status, r.reason) for r in session.scalars(select(InboundMessage).order_by("id"))
    ]
    assert statuses == [("replied", None), ("ignored", "duplicate")]


def test_without_envelope_to_and_cc_route(app: Flask, session: Any, world: Any) -> None:
    """IMAP gives no envelope: To general@ with Cc thanks@ and a colleague posts and thanks."""
    raw = mail(
        to="general@hub.test", cc="thanks@hub.test, 花子 <hanako@corp.example>",
        subject="展示会の準備", body="花子さん、準備ありがとうございました！",
    )  # fmt: skip
    out = ingest.receive(app, raw, [], "imap")
    assert out.status == "posted"
    assert [r["status"] for r in out.results] == ["posted", "thanked"]
    assert [t.title for t in threads_in(session, "general")][-1] == "展示会の準備"
    card = session.scalar(select(Thanks))
    assert card is not None and [r.user.email for r in card.recipients] == ["hanako@corp.example"]


def test_admin_views_list_every_destination(
    app: Flask, session: Any, world: Any, tmp_path: Path
) -> None:
    eml = tmp_path / "cross.eml"
    eml.write_bytes(mail(to="general@hub.test", cc="board@hub.test"))
    session.close()
    runner = app.test_cli_runner()
    args = ["ingest", "--json", "--to", "general@hub.test", "--to", "board@hub.test", str(eml)]
    result = runner.invoke(mail_group, args, catch_exceptions=False)
    data = json.loads(result.output)
    assert (data["status"], data["text"]) == ("posted", "皆さん、準備をお願いします。")
    assert [(r["rcpt"], r["status"], r["reason"]) for r in data["results"]] == [
        ("general@hub.test", "posted", None),
        ("board@hub.test", "rejected", "not_a_member"),
    ]
    log = json.loads(runner.invoke(mail_group, ["log", "--json"]).output)
    assert [r["status"] for r in log[-1]["results"]] == ["posted", "rejected"]


def test_digest_posts_keep_their_entries_among_destinations() -> None:
    """A digest reply's per-post entries stay, each tagged with its destination and status."""
    digest = Outcome(
        "replied", thread_id=3, post_id=30, text="了解",
        results=[{"thread_id": 3, "post_id": 30, "text": "了解"},
                 {"thread_id": 4, "post_id": 40, "text": "確認します"}],
    )  # fmt: skip
    refused = Outcome("rejected", Reason.NOT_A_MEMBER)
    posted = Outcome("posted", thread_id=5, post_id=50, text="共有")
    out = actions.combine([("board@hub.test", refused), ("digest+t@hub.test", digest),
                           ("general@hub.test", posted)])  # fmt: skip
    assert (out.status, out.post_id) == ("replied", 30)
    assert [(r["rcpt"], r["status"], r["reason"], r["post_id"]) for r in out.results] == [
        ("board@hub.test", "rejected", "not_a_member", None),
        ("digest+t@hub.test", "replied", None, 30),
        ("digest+t@hub.test", "replied", None, 40),
        ("general@hub.test", "posted", None, 50),
    ]
    assert actions.combine([("digest+t@hub.test", digest)]) is digest  # one destination: as is


def test_admin_mail_page_shows_each_address_outcome(
    app: Flask, session: Any, world: Any, intake: Any, client: Any, auth: Any
) -> None:
    make_user(session, email="admin@corp.example", admin=True)
    session.commit()
    send(
        intake, ["general@hub.test", "board@hub.test"], mail(to="general@hub.test, board@hub.test")
    )
    row_id = only_row(session).id
    session.commit()
    auth.login("admin@corp.example")
    page = client.get(f"/admin/mail/{row_id}").text
    assert "Outcome per address" in page
    assert "general@hub.test" in page and "board@hub.test" in page and "not_a_member" in page
