"""The inbound pipeline end to end: ingest.receive on built messages, checked on domain rows."""

from __future__ import annotations

from email.message import EmailMessage
from email.policy import SMTP
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from hub import tokens
from hub.models import (
    Attachment,
    InboundMessage,
    Membership,
    OutboxMessage,
    Post,
    Reaction,
    RefusalNotice,
    Thread,
    User,
)
from mailbridge import addresses, ingest
from tests.factories import make_channel, make_thread, make_user


def mail(
    *,
    frm: str,
    to: str,
    subject: str = "Re: 予算",
    body: str = "承知しました。",
    msgid: str | None = None,
    headers: dict[str, str] | None = None,
) -> bytes:
    """A plain UTF-8 message as a mail client would send it (CRLF line ends, as on the wire:
    smtplib sends bytes as they are, and an SMTP server sees bare LFs as one long line)."""
    msg = EmailMessage()
    msg["From"] = frm
    msg["To"] = to
    msg["Subject"] = subject
    if msgid is not False:
        msg["Message-ID"] = f"<{msgid or abs(hash((frm, to, subject, body)))}@client.example>"
    for k, v in (headers or {}).items():
        msg[k] = v
    msg.set_content(body)
    return msg.as_bytes(policy=SMTP)


def reply_address(app: Flask, user: User, thread_id: int) -> str:
    keys = tokens.keys_from_config(app.config)
    return addresses.encode("reply", user.id, thread_id, "hub.test", keys)


@pytest.fixture
def world(app: Flask, session: Any) -> dict[str, Any]:
    """A manager, a colleague, an open channel with one thread."""
    boss = make_user(session, email="buchou@corp.example", name="部長", email_only=True)
    peer = make_user(session, email="hanako@corp.example", name="花子")
    general = make_channel(session, slug="general", name="全社")
    first = make_thread(session, channel=general, author=peer, title="来期の予算", body="案です")
    session.commit()
    return {"boss": boss, "peer": peer, "channel": general, "thread": first.thread}


def test_reply_lands_as_member_with_only_new_text(app: Flask, session: Any, world: Any) -> None:
    to = reply_address(app, world["boss"], world["thread"].id)
    body = (
        "承知しました。来週までに確認します。\n\n"
        "2026年11月26日(木) 10:00 田中 花子 <hanako@corp.example>:\n> 案です\n"
    )
    out = ingest.receive(app, mail(frm="buchou@corp.example", to=to, body=body), [to], "smtp")
    assert out.status == "replied", out
    post = session.get(Post, out.post_id)
    assert post.author.email == "buchou@corp.example"
    assert post.body == "承知しました。来週までに確認します。"
    assert post.trimmed == "2026年11月26日(木) 10:00 田中 花子 <hanako@corp.example>:\n> 案です"
    assert post.thread_id == world["thread"].id and post.via == "email"
    row = session.scalar(select(InboundMessage))
    assert (row.status, row.text, row.post_id) == ("replied", post.body, post.id)


def test_new_thread_by_channel_address(app: Flask, session: Any, world: Any) -> None:
    raw = mail(frm="Hanako <HANAKO@corp.example>", to="General@hub.test", subject="新しい話題")
    out = ingest.receive(app, raw, [], "cli")
    assert out.status == "posted"
    thread = session.get(Thread, out.thread_id)
    assert thread.title == "新しい話題" and thread.channel.slug == "general"


def test_duplicate_message_id_returns_earlier_outcome(app: Flask, session: Any, world: Any) -> None:
    to = reply_address(app, world["boss"], world["thread"].id)
    raw = mail(frm="buchou@corp.example", to=to, msgid="same")
    first = ingest.receive(app, raw, [to], "smtp")
    again = ingest.receive(app, raw, [to], "imap")
    assert first.status == "replied"
    assert again.status == "duplicate" and again.post_id == first.post_id
    assert session.scalar(select(func.count()).select_from(Post)) == 2
    assert session.scalar(select(func.count()).select_from(InboundMessage)) == 1


def test_missing_message_id_dedupes_by_hash(app: Flask, world: Any) -> None:
    raw = mail(frm="hanako@corp.example", to="general@hub.test", subject="x", msgid=False)
    assert ingest.receive(app, raw, [], "cli").status == "posted"
    assert ingest.receive(app, raw, [], "cli").status == "duplicate"
    assert ingest.message_key(raw).startswith("sha256:")


def test_token_is_multi_use(app: Flask, world: Any) -> None:
    to = reply_address(app, world["boss"], world["thread"].id)
    for n in range(2):
        raw = mail(frm="buchou@corp.example", to=to, body=f"返信{n}", msgid=f"multi{n}")
        assert ingest.receive(app, raw, [to], "smtp").status == "replied"


def test_token_of_another_member_is_refused(app: Flask, session: Any, world: Any) -> None:
    to = reply_address(app, world["boss"], world["thread"].id)
    out = ingest.receive(app, mail(frm="hanako@corp.example", to=to), [to], "smtp")
    assert (out.status, out.reason) == ("rejected", "token_sender_mismatch")
    assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_verified_alias_counts_as_member(app: Flask, session: Any, world: Any) -> None:
    from hub.models import EmailAlias

    session.add(EmailAlias(user_id=world["boss"].id, email="yamada@home.example", verified=True))
    session.commit()
    to = reply_address(app, world["boss"], world["thread"].id)
    out = ingest.receive(app, mail(frm="yamada@home.example", to=to), [to], "smtp")
    assert out.status == "replied" and out.author == "buchou@corp.example"


def test_stranger_is_rejected_without_mail(app: Flask, session: Any, world: Any) -> None:
    out = ingest.receive(app, mail(frm="x@evil.example", to="general@hub.test"), [], "imap")
    assert (out.status, out.reason) == ("rejected", "unknown_sender")
    assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_access_is_checked_at_use(app: Flask, session: Any, world: Any) -> None:
    """A token made while the member could read the channel stops working when they cannot."""
    secret = make_channel(
        session,
        slug="hr",
        name="人事",
        private=True,
        reason="個人情報",
        creator=world["peer"],
        policy="anyone",
    )
    post = make_thread(session, channel=secret, author=world["peer"], title="t", body="b")
    session.commit()
    to = reply_address(app, world["boss"], post.thread_id)
    out = ingest.receive(app, mail(frm="buchou@corp.example", to=to), [to], "smtp")
    assert (out.status, out.reason) == ("rejected", "not_found")


def test_refusal_explained_once_per_day_in_members_language(
    app: Flask, session: Any, world: Any
) -> None:
    to = reply_address(app, world["boss"], world["thread"].id)
    outs = [
        ingest.receive(
            app, mail(frm="buchou@corp.example", to=to, body="", msgid=f"e{n}"), [to], "smtp"
        )
        for n in range(2)
    ]
    assert [o.reason for o in outs] == ["empty_body", "empty_body"]
    sent = list(session.scalars(select(OutboxMessage)))
    assert len(sent) == 1 and sent[0].to_addr == "buchou@corp.example"
    assert session.scalar(select(func.count()).select_from(RefusalNotice)) == 1


def test_refusal_quotes_the_members_text(app: Flask, session: Any, world: Any) -> None:
    world["channel"].status = "archived"
    session.commit()
    raw = mail(frm="buchou@corp.example", to="general@hub.test", subject="件名", body="大事な文章")
    out = ingest.receive(app, raw, [], "imap")
    assert out.status == "rejected"
    sent = session.scalar(select(OutboxMessage))
    assert "> 大事な文章" in sent.raw.decode("utf-8", "replace") or "大事な文章" in _text(sent)


def _text(row: OutboxMessage) -> str:
    import email
    import email.policy

    msg = email.message_from_bytes(row.raw, policy=email.policy.default)
    return msg.get_body(("plain",)).get_content()


def test_auto_reply_and_own_mail_are_ignored(app: Flask, session: Any, world: Any) -> None:
    to = reply_address(app, world["boss"], world["thread"].id)
    ooo = mail(frm="buchou@corp.example", to=to, subject="自動返信: 不在です", body="不在です")
    assert ingest.receive(app, ooo, [to], "smtp").reason == "auto_reply"
    own = mail(frm="buchou@corp.example", to=to, msgid=None, headers={"X-Hiroba-Loop": "hub.test"})
    assert ingest.receive(app, own, [to], "smtp").reason == "loop"
    assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_plus_one_is_a_reaction(app: Flask, session: Any, world: Any) -> None:
    to = reply_address(app, world["boss"], world["thread"].id)
    out = ingest.receive(app, mail(frm="buchou@corp.example", to=to, body="+1"), [to], "smtp")
    assert out.status == "reacted"
    assert session.scalar(select(Reaction.emoji)) == "👍"
    assert session.scalar(select(func.count()).select_from(Post)) == 1


def test_reply_without_token_threads_by_references(app: Flask, session: Any, world: Any) -> None:
    """A client that dropped the +token: In-Reply-To names the thread's first mail."""
    world["thread"].message_id = "seed@corp.example"
    session.commit()
    raw = mail(
        frm="buchou@corp.example",
        to="someone@corp.example",
        headers={"In-Reply-To": "<seed@corp.example>", "References": "<seed@corp.example>"},
    )
    out = ingest.receive(app, raw, [], "imap")
    assert out.status == "replied" and out.thread_id == world["thread"].id


def test_attachments_and_inline_images(app: Flask, session: Any, world: Any) -> None:
    msg = EmailMessage()
    msg["From"] = "buchou@corp.example"
    msg["To"] = reply_address(app, world["boss"], world["thread"].id)
    msg["Subject"] = "Re: 資料"
    msg["Message-ID"] = "<att@corp.example>"
    msg.set_content("資料です")
    msg.add_alternative('<p>資料です<img src="cid:logo1"></p>', subtype="html")
    msg.get_payload()[1].add_related(
        b"\x89PNG\r\n\x1a\nxx", maintype="image", subtype="png", cid="<logo1>"
    )
    msg.add_attachment(b"%PDF-1.4 x", maintype="application", subtype="pdf", filename="見積.pdf")
    out = ingest.receive(app, msg.as_bytes(), [msg["To"]], "smtp")
    assert out.status == "replied", out
    names = sorted(a.filename for a in session.scalars(select(Attachment)))
    assert "見積.pdf" in names
    assert all(a.post_id == out.post_id for a in session.scalars(select(Attachment)))


def test_unsupported_attachment_is_refused(app: Flask, session: Any, world: Any) -> None:
    msg = EmailMessage()
    msg["From"] = "buchou@corp.example"
    msg["To"] = reply_address(app, world["boss"], world["thread"].id)
    msg["Subject"] = "Re: x"
    msg["Message-ID"] = "<exe@corp.example>"
    msg.set_content("実行ファイルです")
    msg.add_attachment(b"MZ", maintype="application", subtype="x-msdownload", filename="a.exe")
    out = ingest.receive(app, msg.as_bytes(), [msg["To"]], "smtp")
    assert (out.status, out.reason) == ("rejected", "unsupported_type")
    assert session.scalar(select(func.count()).select_from(Post)) == 1
    assert session.scalar(select(func.count()).select_from(Attachment)) == 0
    assert session.scalar(select(OutboxMessage.kind)) == "refusal"


def test_posting_joins_open_channel_once(app: Flask, session: Any, world: Any) -> None:
    to = reply_address(app, world["boss"], world["thread"].id)
    ingest.receive(app, mail(frm="buchou@corp.example", to=to), [to], "smtp")
    assert session.scalar(select(func.count()).where(Membership.user_id == world["boss"].id)) == 1


def test_bug_is_recorded_as_failed_and_replay_works(
    app: Flask, session: Any, world: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mailbridge import actions

    to = reply_address(app, world["boss"], world["thread"].id)
    raw = mail(frm="buchou@corp.example", to=to, msgid="bug")

    def broken(ctx: Any) -> Any:
        actions.reply(ctx)  # the reply is written, then something breaks
        raise RuntimeError("boom")

    posts_before = session.scalar(select(func.count(Post.id)))
    session.rollback()
    monkeypatch.setitem(actions.HANDLERS, "reply", broken)
    out = ingest.receive(app, raw, [to], "smtp")
    assert out.status == "failed"
    monkeypatch.undo()
    # The half-done reply is gone, the mail itself is kept for the replay.
    assert session.scalar(select(func.count(Post.id))) == posts_before
    stored = session.scalars(select(InboundMessage)).one()
    assert (stored.status, stored.reason) == ("failed", "internal_error: RuntimeError")
    assert stored.raw == raw
    row_id = stored.id
    session.rollback()  # SQLite: a reading session holds the write lock (BEGIN IMMEDIATE)
    assert ingest.replay(app, row_id).status == "replied"
    # Done now: replayed again, it would only be found again, losing what it became.
    with pytest.raises(ingest.AlreadyDone):
        ingest.replay(app, row_id)
    assert session.get(InboundMessage, row_id).status == "replied"


def test_process_received_picks_up_replayed_rows(app: Flask, session: Any, world: Any) -> None:
    from datetime import timedelta

    to = reply_address(app, world["boss"], world["thread"].id)
    row_id = ingest.store(app, mail(frm="buchou@corp.example", to=to), [to], "smtp")
    row = session.get(InboundMessage, row_id)
    row.received_at = row.received_at - timedelta(minutes=5)
    session.commit()
    assert ingest.process_received(app) == 1
    session.expire_all()
    assert session.get(InboundMessage, row_id).status == "replied"
    session.rollback()
    assert ingest.process_received(app) == 0


def test_a_nul_in_the_body_is_dropped_not_fatal(app: Flask, session: Any, world: Any) -> None:
    """Found by the fuzz test on PostgreSQL, which refuses NUL in text: the reply is posted."""
    to = reply_address(app, world["boss"], world["thread"].id)
    raw = mail(frm="buchou@corp.example", to=to, body="了解\x00です。")
    out = ingest.receive(app, raw, [to], "smtp")
    assert (out.status, out.text) == ("replied", "了解です。")
