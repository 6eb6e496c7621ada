"""Digest end-to-end through the real SMTP intake: replies as Gmail, Outlook and Apple Mail write
them, and the "which thread?" flow."""

from __future__ import annotations

import re
import smtplib
from email.message import EmailMessage
from typing import Any

import pytest
from sqlalchemy import select

from hub.db import utcnow
from hub.models import InboundMessage, PendingReply, Post, Via
from hub.services import threads
from mailbridge import delivery, digests
from tests.factories import make_channel, make_thread, make_user
from tests.fixtures_mailout import text_of, to

BOSS = "boss@corp.example"


@pytest.fixture
def two_threads(app: Any, session: Any, smtp_sink: Any) -> dict[str, Any]:
    app.config["RELAY_URL"] = smtp_sink.url
    make_user(session, email=BOSS, name="部長", email_only=True)
    peer = make_user(session, email="peer@corp.example", name="花子")
    ch = make_channel(session, slug="general", name="全社", purpose="全社への連絡と相談")
    t1 = make_thread(session, channel=ch, author=peer, title="来期の予算", body="予算案").thread
    t2 = make_thread(session, channel=ch, author=peer, title="懇親会の日程", body="18日").thread
    session.commit()
    return {"t1": t1, "t2": t2, "peer": peer}


def _digest(app: Any, session: Any, sink: Any, period: str) -> EmailMessage:
    boss = session.scalar(select(digests.User).where(digests.User.email == BOSS))
    assert digests.build_and_queue_digest(app, session, boss, period, utcnow()) is not None
    session.commit()
    delivery.drain_outbox(app)
    return [m for m in to(sink, BOSS) if str(m["Reply-To"]).startswith("digest+")][-1]


def _send(port: int, reply_to: str, subject: str, body: str, in_reply_to: str) -> None:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = f"部長 <{BOSS}>", reply_to, f"Re: {subject}"
    msg["In-Reply-To"] = msg["References"] = in_reply_to
    msg.set_content(body)
    with smtplib.SMTP("127.0.0.1", port) as client:
        client.send_message(msg)


def _posts(session: Any, thread: Any) -> list[str]:
    session.expire_all()
    bodies = [p.body for p in session.scalars(select(Post).where(Post.thread_id == thread.id))]
    session.commit()  # end the read: SQLite's writer (the intake) must not wait for us
    return bodies


def _marker_line(lines: list[str], thread_id: int) -> int:
    return next(k for k, ln in enumerate(lines) if f"[#{thread_id}]" in ln)


def test_gmail_inline_under_two_items(app, session, smtp_sink, two_threads, intake):
    t1, t2 = two_threads["t1"], two_threads["t2"]
    digest = _digest(app, session, smtp_sink, "daily:a")
    lines = text_of(digest).splitlines()
    answers = {_marker_line(lines, t1.id): "予算は承認します。",
               _marker_line(lines, t2.id): "懇親会は参加します。"}  # fmt: skip
    body = ["2026年11月27日(金) 8:00 Hiroba <hiroba@hub.test>:", ""]
    for k, ln in enumerate(lines):
        body.append(f"> {ln}" if ln else ">")
        if k in answers:
            body += ["", answers[k], ""]
    _send(intake.port, digest["Reply-To"], digest["Subject"], "\n".join(body), digest["Message-ID"])
    assert _posts(session, t1)[-1] == "予算は承認します。"
    assert _posts(session, t2)[-1] == "懇親会は参加します。"
    row = session.scalar(select(InboundMessage).order_by(InboundMessage.id.desc()))
    assert row.status == "replied" and len(row.results) == 2


def test_outlook_top_post_to_a_one_thread_digest(app, session, smtp_sink, two_threads, intake):
    t1, peer = two_threads["t1"], two_threads["peer"]
    _digest(app, session, smtp_sink, "daily:a")
    threads.reply(session, author=peer, thread=t1, body="修正版です", via=Via.WEB)
    session.commit()
    digest = _digest(app, session, smtp_sink, "daily:b")
    quoted = "\r\n".join(text_of(digest).splitlines())
    body = (
        "了解しました。進めてください。\r\n\r\n"
        "________________________________\r\n"
        "差出人: Hiroba <hiroba@hub.test>\r\n"
        "送信日時: 2026年11月27日 8:00\r\n"
        "宛先: 部長 <boss@corp.example>\r\n"
        f"件名: {digest['Subject']}\r\n\r\n{quoted}"
    )
    _send(intake.port, digest["Reply-To"], digest["Subject"], body, digest["Message-ID"])
    assert _posts(session, t1)[-1] == "了解しました。進めてください。"


def test_apple_mail_top_post_naming_a_marker(app, session, smtp_sink, two_threads, intake):
    t2 = two_threads["t2"]
    digest = _digest(app, session, smtp_sink, "daily:a")
    quoted = "\n".join(f"> {ln}" if ln else ">" for ln in text_of(digest).splitlines())
    attribution = "2026/11/27 8:00、Hiroba <hiroba@hub.test>のメール:"
    body = f"#{t2.id} 了解です\n\niPhoneから送信\n\n{attribution}\n\n{quoted}"
    _send(intake.port, digest["Reply-To"], digest["Subject"], body, digest["Message-ID"])
    assert _posts(session, t2)[-1] == "了解です"


def test_unplaced_text_is_kept_and_which_thread_posts_it(
    app, session, smtp_sink, two_threads, intake
):
    t1, t2 = two_threads["t1"], two_threads["t2"]
    t1_id, t2_id = t1.id, t2.id
    digest = _digest(app, session, smtp_sink, "daily:a")
    quoted = "\n".join(f"> {ln}" if ln else ">" for ln in text_of(digest).splitlines())
    body = f"どちらも確認しました。\n\nOn Fri, Nov 27, 2026 at 8:00 AM Hiroba wrote:\n{quoted}"
    _send(intake.port, digest["Reply-To"], digest["Subject"], body, digest["Message-ID"])
    pending = session.scalar(select(PendingReply))
    assert pending.text == "どちらも確認しました。" and pending.resolved_at is None
    session.commit()
    assert _posts(session, t1) == ["予算案"] and _posts(session, t2) == ["18日"]
    delivery.drain_outbox(app)
    (which,) = [m for m in to(smtp_sink, BOSS) if str(m["Reply-To"]).startswith("which+")]
    listing = text_of(which)
    assert "どちらも確認しました。" in listing
    assert re.search(rf"^\[#{t2_id}\] ", listing, re.M)
    _send(intake.port, which["Reply-To"], which["Subject"], f"{t2_id}\n\n> {listing[:40]}",
          which["Message-ID"])  # fmt: skip
    assert _posts(session, t2)[-1] == "どちらも確認しました。"
    session.refresh(pending)
    assert pending.resolved_at is not None and pending.post_id is not None
    session.commit()
    # Answering again changes nothing: the text was posted once.
    _send(intake.port, which["Reply-To"], which["Subject"], f"#{t1_id}", which["Message-ID"])
    assert _posts(session, t1) == ["予算案"]


def test_full_width_marker_typed_by_a_japanese_ime(app, session, smtp_sink, two_threads, intake):
    """Outlook with a Japanese IME types the marker full-width: "＃１２ 了解です" goes there too."""
    t2 = two_threads["t2"]
    digest = _digest(app, session, smtp_sink, "daily:a")
    wide = str(t2.id).translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    quoted = "\r\n".join(text_of(digest).splitlines())
    body = (
        f"＃{wide}　了解です。参加します。\r\n\r\n"
        "________________________________\r\n"
        "差出人: Hiroba <hiroba@hub.test>\r\n"
        "送信日時: 2026年11月27日 8:00\r\n"
        f"件名: {digest['Subject']}\r\n\r\n{quoted}"
    )
    _send(intake.port, digest["Reply-To"], digest["Subject"], body, digest["Message-ID"])
    assert _posts(session, t2)[-1] == "了解です。参加します。"
    assert session.scalar(select(PendingReply)) is None


def test_ryokai_under_an_announcement_item_acknowledges_it(
    app, session, smtp_sink, two_threads, intake
):
    """The digest asks the manager to acknowledge an announcement; "了解しました。" written under
    that item acknowledges it (no comment posted), a question under another one is posted."""
    from hub.models import Acknowledgement
    from hub.services import announcements

    admin = make_user(session, email="admin@corp.example", name="管理者", admin=True)
    item = announcements.publish(session, author=admin, title="年末年始の休業", body="29日から休業",
                                 ack_required=True, urgent=False)  # fmt: skip
    session.commit()
    item_id, item_thread = item.id, item.thread_id
    t1 = two_threads["t1"]
    digest = _digest(app, session, smtp_sink, "daily:a")
    lines = text_of(digest).splitlines()
    answers = {_marker_line(lines, item_thread): "了解しました。",
               _marker_line(lines, t1.id): "予算は来週確認します。"}  # fmt: skip
    body = ["2026年11月27日(金) 8:00 Hiroba <hiroba@hub.test>:", ""]
    for k, ln in enumerate(lines):
        body.append(f"> {ln}" if ln else ">")
        if k in answers:
            body += ["", answers[k], ""]
    _send(intake.port, digest["Reply-To"], digest["Subject"], "\n".join(body), digest["Message-ID"])
    ack = session.scalar(select(Acknowledgement).where(Acknowledgement.announcement_id == item_id))
    assert ack is not None and ack.user.email == BOSS and ack.words == "了解しました。"
    assert "了解しました。" not in _posts(session, session.get(threads.Thread, item_thread))
    assert _posts(session, t1)[-1] == "予算は来週確認します。"


def test_outlook_answers_written_into_the_unquoted_digest(
    app, session, smtp_sink, two_threads, intake
):
    """Outlook quotes without '>' and re-wraps long lines: answers typed under two items of
    the copied digest go to those threads; the copy, its wrapped pieces and its footer do not."""
    t1, t2 = two_threads["t1"], two_threads["t2"]
    digest = _digest(app, session, smtp_sink, "daily:a")
    lines = text_of(digest).splitlines()
    answers = {_marker_line(lines, t1.id) + 1: "→ 予算は承認します。",
               _marker_line(lines, t2.id): "→ 懇親会は欠席します。"}  # fmt: skip
    copy = []
    for k, ln in enumerate(lines):
        # Outlook's plain text wraps at 76 columns.
        copy += [ln[i : i + 38] for i in range(0, len(ln), 38)] or [""]
        if k in answers:
            copy.append(answers[k])
    body = (
        "\r\n\r\n________________________________\r\n"
        "差出人: Hiroba <hiroba@hub.test>\r\n"
        "送信日時: 2026年11月27日 8:00\r\n"
        f"件名: {digest['Subject']}\r\n\r\n" + "\r\n".join(copy)
    )
    _send(intake.port, digest["Reply-To"], digest["Subject"], body, digest["Message-ID"])
    assert _posts(session, t1) == ["予算案", "→ 予算は承認します。"]
    assert _posts(session, t2) == ["18日", "→ 懇親会は欠席します。"]
    assert session.scalar(select(PendingReply)) is None


def test_a_digest_reply_with_nothing_to_place_is_explained(
    app, session, smtp_sink, two_threads, intake
):
    """Sent back with no text of the member's: they hear so (never silence)."""
    digest = _digest(app, session, smtp_sink, "daily:a")
    quoted = "\n".join(f"> {ln}" if ln else ">" for ln in text_of(digest).splitlines())
    body = f"On Fri, Nov 27, 2026 at 8:00 AM Hiroba wrote:\n{quoted}"
    _send(intake.port, digest["Reply-To"], digest["Subject"], body, digest["Message-ID"])
    row = session.scalar(select(InboundMessage).order_by(InboundMessage.id.desc()))
    assert (row.status, row.reason) == ("rejected", "empty_body")
    session.commit()
    delivery.drain_outbox(app)
    (told,) = [m for m in to(smtp_sink, BOSS) if "could not be posted" in text_of(m)]
    # Named as the member knows it; the digest he only quoted is not sent back to him.
    assert "Sent to: your digest" in text_of(told)
    assert "On Fri, Nov 27, 2026" not in text_of(told) and "[#" not in text_of(told)


def test_digest_reply_whose_token_was_lost_is_placed_by_what_it_answers(
    app, session, smtp_sink, two_threads, intake
):
    """A gateway strips the +token (digest+TOKEN@ -> digest@): the reply is threaded by the
    digest it answers and its answers land under their items, as with the token. Another
    member answering that digest, or a mail that answers no digest, is told why with the
    text; a stranger is refused in protocol."""
    t1, t2 = two_threads["t1"], two_threads["t2"]
    t1_id = t1.id
    digest = _digest(app, session, smtp_sink, "daily:a")
    lines = text_of(digest).splitlines()
    answers = {_marker_line(lines, t1.id): "予算は承認します。",
               _marker_line(lines, t2.id): "懇親会は参加します。"}  # fmt: skip
    body = ["2026年11月27日(金) 8:00 Hiroba <hiroba@hub.test>:", ""]
    for k, ln in enumerate(lines):
        body.append(f"> {ln}" if ln else ">")
        if k in answers:
            body += ["", answers[k], ""]
    _send(intake.port, "digest@hub.test", digest["Subject"], "\n".join(body), digest["Message-ID"])
    assert _posts(session, t1)[-1] == "予算は承認します。"
    assert _posts(session, t2)[-1] == "懇親会は参加します。"
    # The digest is the boss's: a colleague answering it (a forward) places nothing.
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "花子 <peer@corp.example>", "digest@hub.test", "Re: x"
    msg["In-Reply-To"] = msg["References"] = digest["Message-ID"]
    msg.set_content(f"#{t1_id} 横から失礼します")
    with smtplib.SMTP("127.0.0.1", intake.port) as client:
        assert client.send_message(msg) == {}
    assert "横から失礼します" not in " ".join(_posts(session, t1))
    # Answering no digest of ours: the member hears why, with their own text.
    _send(intake.port, "digest@hub.test", "予算", "来週の件、了解です", "<elsewhere@corp.example>")
    assert _posts(session, t1)[-1] == "予算は承認します。"
    delivery.drain_outbox(app)
    told = [m for m in to(smtp_sink, BOSS) if "> 来週の件、了解です" in text_of(m)]
    assert len(told) == 1
    assert [m for m in to(smtp_sink, "peer@corp.example") if "> #" in text_of(m)]
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "x@evil.example", "digest@hub.test", "Re: x"
    msg["In-Reply-To"] = digest["Message-ID"]
    msg.set_content("spam")
    with smtplib.SMTP("127.0.0.1", intake.port) as client:
        with pytest.raises(smtplib.SMTPDataError) as refused:
            client.send_message(msg)
    assert refused.value.smtp_code == 550
