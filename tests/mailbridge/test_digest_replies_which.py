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
from tests.fixtures_mailout import text_of, to
from tests.mailbridge import test_digest_replies_ja as ja
from tests.mailbridge.test_digest_replies_ja import (
    BOSS,
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
    assert told["In-Reply-To"] == "<answer.1@corp.example>"
    assert told["Auto-Submitted"] == "auto-generated"
    joined = re.compile(r"営業.{0,20}(?:メンバー|member)|(?:member|メンバー).{0,20}営業")
    assert bool(joined.search(text_of(told))) is not member_before
    assert bool(joined.search(_html_of(told))) is not member_before
    # Answered again, nothing is posted twice and nothing more is sent.
    _send(intake.port, which, f"#{marker}")
    assert _posts(session, marker).count(KEPT) == 1
    assert len(_confirmations(app, smtp_sink)) == 1
