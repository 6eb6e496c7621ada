"""Answering "which thread?" over the real SMTP intake: the list shows markers only, a number is
read as the marker it names (half- or full-width, with or without '#'), the member is told where
the text went, and a marker the list does not hold is answered once, never in a loop."""

from __future__ import annotations

import re
import smtplib
from email.message import EmailMessage
from typing import Any

import pytest
from sqlalchemy import select

from hub.models import InboundMessage, Thread, User
from hub.services import channels
from tests.factories import make_channel, make_thread, make_user
from tests.fixtures_mailout import text_of, to
from tests.mailbridge import test_digest_replies_ja as ja
from tests.mailbridge.test_digest_replies_ja import (
    BOSS,
    _digest,
    _gmail_inline,
    _kept_and_asked,
    _pending,
    _posts,
    _send,
    _which_mails,
)

# 山本 (email only, Japanese) and three threads of 営業: the Japanese digest-reply tests' own.
sales = ja.sales

KEPT = "携帯番号の件、確認しました。"
WIDE = str.maketrans("0123456789", "０１２３４５６７８９")


def _listed(which: EmailMessage) -> list[int]:
    """The markers the which-thread mail lists, in order."""
    return [int(m) for m in re.findall(r"^\s*\[#(\d+)\]", text_of(which), re.M)]


def _confirmations(app: Any, sink: Any) -> list[EmailMessage]:
    """Mails to the boss that say where a which-thread answer was posted (their Reply-To is
    the thread's reply address, as a post mail's is)."""
    _which_mails(app, sink)  # drains the outbox
    return [m for m in to(sink, BOSS) if str(m["Reply-To"]).startswith("reply+")]


def _html_of(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("html",))
    return part.get_content() if part is not None else ""


def _last_row(session: Any) -> InboundMessage:
    session.expire_all()
    row = session.scalar(select(InboundMessage).order_by(InboundMessage.id.desc()))
    session.commit()
    return row


def _answer(port: int, which: EmailMessage, body: str, message_id: str) -> None:
    """Answer ``which`` as 山本 with a Message-ID of his client's."""
    msg = EmailMessage()
    msg["From"], msg["To"] = f"山本 太郎 <{BOSS}>", which["Reply-To"]
    msg["Subject"] = f"RE: {which['Subject']}"
    msg["Message-ID"] = message_id
    msg["In-Reply-To"] = msg["References"] = which["Message-ID"]
    msg.set_content(body)
    with smtplib.SMTP("127.0.0.1", port) as client:
        client.send_message(msg)


# --- 1. the list names each thread once, by its marker -----------------------------------


def _misread(listed: list[int]) -> int:
    """A listed marker that, read as a position in the list, is another listed thread."""
    found = [m for m in listed if 1 <= m <= len(listed) and listed[m - 1] != m]
    assert found, listed
    return found[0]


def test_which_mail_lists_markers_only_and_says_what_to_write(
    app, session, smtp_sink, sales, intake
):
    which = _kept_and_asked(app, session, smtp_sink, intake.port, KEPT)
    body = text_of(which)
    listed = _listed(which)
    assert sorted(listed) == sorted(sales.values())
    # No second numbering beside the markers ("2. [#3] …"), in either part.
    assert not re.search(r"^\s*\d+[.)]\s", body, re.M), body
    assert "<ol" not in _html_of(which) and "<li>" not in _html_of(which)
    # The mail says what to write, with a marker of its own list as the example.
    example = f"#{listed[0]}"
    assert example in body.split(f"[#{listed[0]}]")[0], body
    assert example in _html_of(which).split(f"[#{listed[0]}]")[0]


@pytest.mark.parametrize("typed", ["{m}", "#{m}", "＃{w}", "{w}", "[#{m}]", "{m}番です。"])
def test_a_number_is_read_as_the_marker_it_names(app, session, smtp_sink, sales, intake, typed):
    """The list once read '1. [#1] / 2. [#3] / 3. [#2]': the manager answered 3 meaning [#3]
    and his text went to [#2]. Now 3, #3, ＃３ and ３ all mean [#3]."""
    which = _kept_and_asked(app, session, smtp_sink, intake.port, KEPT)
    listed = _listed(which)
    marker = _misread(listed)
    other = listed[marker - 1]
    before = {tid: _posts(session, tid) for tid in listed}
    _send(intake.port, which, typed.format(m=marker, w=str(marker).translate(WIDE)))
    assert _posts(session, marker) == [*before[marker], KEPT]
    assert _posts(session, other) == before[other]
    assert _pending(session).resolved_at is not None


def test_a_bouncing_member_is_told_where_his_answer_went(app, session, smtp_sink, sales, intake):
    """His mail bounces (post mails stop), but he just answered: where it went is the one mail
    he waits for, as the question was."""
    which = _kept_and_asked(app, session, smtp_sink, intake.port, KEPT)
    session.scalar(select(User).where(User.email == BOSS)).bouncing = True
    session.commit()
    _send(intake.port, which, f"#{sales['list']}")
    assert _posts(session, sales["list"])[-1] == KEPT
    (told,) = _confirmations(app, smtp_sink)
    assert f"[#{sales['list']}]" in text_of(told)


@pytest.mark.parametrize("member_before", [False, True])
def test_the_member_is_told_where_the_answer_went(
    app, session, smtp_sink, sales, intake, member_before
):
    """One short mail says where the text was posted, with a link, threaded under his answer;
    its Reply-To is that thread's, so answering it writes there. Posting in an open channel
    makes him a member of it (as on the web): the mail says so, when he was not one before."""
    if member_before:
        boss = session.scalar(select(User).where(User.email == BOSS))
        channels.join(session, user=boss, channel=session.get(Thread, sales["list"]).channel)
        session.commit()
    which = _kept_and_asked(app, session, smtp_sink, intake.port, KEPT)
    marker = sales["list"]
    _answer(intake.port, which, f"#{marker}", "<answer.1@corp.example>")
    assert _posts(session, marker)[-1] == KEPT
    (told,) = _confirmations(app, smtp_sink)
    line = f"[#{marker}] 緊急連絡網の更新"
    assert line in str(told["Subject"]) and line in text_of(told) and line in _html_of(told)
    assert re.search(r"投稿しました|Posted", text_of(told))
    assert f"/t/{marker}" in text_of(told) and f"/t/{marker}" in _html_of(told)
    # The link's anchor is the post's element on the thread page (id="post-N"), not "#pN".
    posted = max(p.id for p in session.get(Thread, marker).posts)
    session.commit()  # end the read: SQLite's writer (the intake) must not wait for us
    assert f"/t/{marker}#post-{posted}" in text_of(told)
    assert told["In-Reply-To"] == "<answer.1@corp.example>"
    assert told["Auto-Submitted"] == "auto-generated"
    joined = re.compile(r"営業.{0,20}(?:メンバー|member)|(?:member|メンバー).{0,20}営業")
    assert bool(joined.search(text_of(told))) is not member_before
    assert bool(joined.search(_html_of(told))) is not member_before
    # Answered again, nothing is posted twice and nothing more is sent.
    _send(intake.port, which, f"#{marker}")
    assert _posts(session, marker).count(KEPT) == 1
    assert len(_confirmations(app, smtp_sink)) == 1


# --- 2. a marker the list does not hold ------------------------------------------------------


def _thread_outside(session: Any, *, private: bool) -> tuple[int, str]:
    """A thread started after the digest, in a channel 山本 is not in (private: not his to see)."""
    tanaka = session.scalar(select(User).where(User.email == "tanaka@corp.example"))
    extra = {"reason": "人事情報", "creator": tanaka, "policy": "anyone"} if private else {}
    ch = make_channel(
        session, slug="soumu", name="総務", purpose="総務の連絡", private=private, **extra
    )
    title = "経費精算の締め日" if not private else "人事評価の内示（非公開）"
    tid = make_thread(
        session, channel=ch, author=tanaka, title=title, body="今月は25日です"
    ).thread.id
    session.commit()
    return tid, title


def _top_posted(app: Any, session: Any, sink: Any, port: int, text: str) -> EmailMessage:
    """A digest answered with ``text`` above it: kept, and asked about once."""
    digest = _digest(app, session, sink)
    _send(port, digest, _gmail_inline(digest, text, {}))
    assert _pending(session).text == text
    (which,) = _which_mails(app, sink)
    return which


@pytest.mark.parametrize("typed", ["#{n}", "＃{w}", "{n}"])
def test_a_thread_outside_the_digest_that_he_may_post_in(
    app, session, smtp_sink, sales, intake, typed
):
    """'#7 経費精算の件、賛成です。' above a digest without #7: kept and asked about, #7 listed
    first (his text names it); answering #7 posts it there, without the '#7', and says so."""
    digest = _digest(app, session, smtp_sink)
    tid, title = _thread_outside(session, private=False)
    _send(intake.port, digest, _gmail_inline(digest, f"#{tid} 経費精算の件、賛成です。", {}))
    (which,) = _which_mails(app, smtp_sink)
    assert _listed(which)[0] == tid and f"[#{tid}] {title}" in text_of(which)
    _send(intake.port, which, typed.format(n=tid, w=str(tid).translate(WIDE)))
    assert _posts(session, tid)[-1] == "経費精算の件、賛成です。"
    assert _pending(session).resolved_at is not None
    (told,) = _confirmations(app, smtp_sink)
    assert f"[#{tid}] {title}" in text_of(told) and "総務" in text_of(told)
    assert len(_which_mails(app, smtp_sink)) == 1


def test_a_marker_named_in_the_answer_that_he_may_post_in(app, session, smtp_sink, sales, intake):
    """The list does not hold it, but the answer names it with its '#': posted there."""
    which = _kept_and_asked(app, session, smtp_sink, intake.port, KEPT)
    tid, title = _thread_outside(session, private=False)
    assert tid not in _listed(which)
    _send(intake.port, which, f"#{tid}")
    assert _posts(session, tid)[-1] == KEPT
    (told,) = _confirmations(app, smtp_sink)
    assert f"[#{tid}] {title}" in text_of(told)


def _not_listed(app: Any, marker: int) -> re.Pattern[str]:
    return re.compile(rf"#{marker}\s*(?:は一覧にありません|is not in the list)")


@pytest.mark.parametrize("where", ["private", "missing"])
def test_a_marker_he_may_not_post_in_is_answered_once(
    app, session, smtp_sink, sales, intake, where
):
    """'#N …' where N is a thread he may not see (or none at all): kept and asked about; the
    answer '#N' is told once that #N is not in the list, with the list; the same answer again
    sends nothing more (it looped: four identical mails); a listed marker then posts it all."""
    tid, secret = _thread_outside(session, private=True)
    if where == "missing":
        tid, secret = 9999, "nothing"
    kept = f"#{tid} 経費精算の件、賛成です。"
    which = _top_posted(app, session, smtp_sink, intake.port, kept)
    assert tid not in _listed(which)
    _send(intake.port, which, f"#{tid}")
    assert _last_row(session).status == "held"
    first, told = _which_mails(app, smtp_sink)
    for part in (text_of(told), _html_of(told)):
        assert _not_listed(app, tid).search(part), part
        assert f"[#{sales['list']}]" in part
    assert not _not_listed(app, tid).search(text_of(first))
    assert _pending(session).text == kept and _pending(session).resolved_at is None
    # The same answer again (the same day): nothing new to say, so nothing is sent.
    _send(intake.port, told, f"#{tid}")
    _send(intake.port, which, f"＃{str(tid).translate(WIDE)}")
    assert len(_which_mails(app, smtp_sink)) == 2
    assert _pending(session).text == kept
    # A listed marker then posts the kept text, '#N' and all (it was his).
    _send(intake.port, told, f"#{sales['list']}")
    assert _posts(session, sales["list"])[-1] == kept
    everything = " ".join(text_of(m) + _html_of(m) for m in to(smtp_sink, BOSS))
    assert secret not in everything


def test_our_question_sent_back_twice_is_answered_once(app, session, smtp_sink, sales, intake):
    """Sent back with nothing written: asked again once, saying no marker was found; sent back
    again the same day, nothing more (no identical mail loop)."""
    which = _kept_and_asked(app, session, smtp_sink, intake.port, KEPT)
    quoted = "\n".join(f"> {ln}" if ln else ">" for ln in text_of(which).splitlines())
    for _ in range(3):
        _send(intake.port, which, f"On Tue, Dec 1, 2026 at 8:05 AM Hiroba wrote:\n{quoted}")
    first, again = _which_mails(app, smtp_sink)
    assert text_of(first) != text_of(again)
    assert re.search(r"marker|番号", text_of(again).split("[#")[0])
    assert _pending(session).text == KEPT and _pending(session).resolved_at is None


def test_an_acknowledgement_chosen_by_marker_is_confirmed_as_one(
    app, session, smtp_sink, sales, intake
):
    """「了解しました。」 kept, then placed under an announcement that awaits his acknowledgement:
    it acknowledges it (nothing posted), and the mail says so, not that it was posted."""
    from hub.models import Acknowledgement
    from hub.services import announcements

    admin = make_user(session, email="admin@corp.example", name="管理者", admin=True)
    item = announcements.publish(session, author=admin, title="年末年始の休業", body="29日から休業",
                                 ack_required=True, urgent=False)  # fmt: skip
    session.commit()
    item_id, item_thread = item.id, item.thread_id
    which = _kept_and_asked(app, session, smtp_sink, intake.port, "了解しました。")
    assert item_thread in _listed(which)
    _send(intake.port, which, f"#{item_thread}")
    session.expire_all()
    ack = session.scalar(select(Acknowledgement).where(Acknowledgement.announcement_id == item_id))
    session.commit()
    assert ack is not None and ack.user.email == BOSS
    assert "了解しました。" not in _posts(session, item_thread)
    (told,) = _confirmations(app, smtp_sink)
    assert f"[#{item_thread}] 年末年始の休業" in text_of(told)
    assert re.search(r"確認済み|Acknowledged", text_of(told)) and "Posted" not in text_of(told)
