"""全員に返信: a reply-all that copies a channel address follows the conversation it answers.

A mail to a channel address whose In-Reply-To/References name a message of a thread in that
channel (the thread's first mail, a post's mail, our mail about a post) is a reply there, with
only its new text; a channel copy of a mail already placed as a reply in a thread of another
channel opens nothing. All over the real SMTP intake, as Outlook and Gmail send them.
"""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from hub.models import Delivery, InboundMessage, OutboxMessage, Post, Thread, Via
from hub.services import accounts, channels, threads
from mailbridge.fanout import fan_out
from tests.factories import make_channel, make_user

YAMAMOTO = "yamamoto@corp.example"
KOBAYASHI = "kobayashi@corp.example"
GOAL = "来期の目標は前年比110%です。各自の数字は来週の会議で決めます。"


@pytest.fixture
def team(app: Flask, session: Any) -> dict[str, Any]:
    """山本 (email only), 小林 (every post by mail), 佐藤 (web); channels sales and dev."""
    yamamoto = make_user(session, email=YAMAMOTO, name="山本 誠", email_only=True)
    kobayashi = make_user(session, email=KOBAYASHI, name="小林 健")
    sato = make_user(session, email="sato@corp.example", name="佐藤")
    sales = make_channel(session, slug="sales", name="営業")
    dev = make_channel(session, slug="dev", name="開発")
    for user in (yamamoto, kobayashi, sato):
        for channel in (sales, dev):
            channels.join(session, user=user, channel=channel)
    accounts.update_preferences(session, kobayashi, delivery=Delivery.EVERY_POST)
    session.commit()
    return {"yamamoto": yamamoto, "kobayashi": kobayashi, "sato": sato}


def mail(
    *,
    frm: str,
    to: str,
    subject: str,
    body: str,
    msgid: str,
    cc: str = "",
    answers: tuple[str, ...] = (),
) -> bytes:
    """A mail as a client sends it; ``answers``: the Message-IDs of References, oldest first
    (In-Reply-To is the last)."""
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = frm, to, subject
    if cc:
        msg["Cc"] = cc
    msg["Message-ID"] = f"<{msgid}>"
    if answers:
        msg["In-Reply-To"] = f"<{answers[-1]}>"
        msg["References"] = " ".join(f"<{a}>" for a in answers)
    msg.set_content(body)
    return msg.as_bytes()


def outlook_reply(new: str, sender: str, to: str, subject: str, quoted: str) -> str:
    """Outlook (ja) writes its header block under the answer, the original unquoted."""
    return (
        f"{new}\n\n-----Original Message-----\n差出人: {sender}\n"
        f"送信日時: 2026年11月27日 10:00\n宛先: {to}\n件名: {subject}\n\n{quoted}\n"
    )


def send(intake: Any, sender: str, rcpts: list[str], raw: bytes) -> None:
    """Send over TCP: only our addresses are in the envelope, as the company's server relays
    them to the hub (the colleagues in To/Cc get theirs from it directly)."""
    with smtplib.SMTP(intake.hostname, intake.port, timeout=30) as s:
        assert s.sendmail(sender, rcpts, raw) == {}


def threads_in(session: Any, slug: str) -> list[Thread]:
    session.expire_all()
    found = session.scalars(select(Thread).order_by(Thread.id))
    return [t for t in found if t.channel.slug == slug]


def posts_of(thread: Thread) -> list[tuple[str, str]]:
    return [(p.author.email, p.body) for p in thread.posts]


def last_row(session: Any) -> InboundMessage:
    session.expire_all()
    row = session.scalars(select(InboundMessage).order_by(InboundMessage.id.desc())).first()
    assert row is not None
    return row


def start_goal_thread(session: Any, intake: Any) -> Thread:
    """山本 mails sales@ with 小林 in Cc: thread 「来期の営業目標」, his Message-ID on it."""
    raw = mail(
        frm=f"山本 誠 <{YAMAMOTO}>", to="sales@hub.test", cc=f"小林 健 <{KOBAYASHI}>",
        subject="来期の営業目標", body=GOAL, msgid="goal-1@corp.example",
    )  # fmt: skip
    send(intake, YAMAMOTO, ["sales@hub.test"], raw)
    [thread] = threads_in(session, "sales")
    assert thread.message_id == "goal-1@corp.example"
    session.rollback()  # SQLite: our read must not hold the intake's writes
    return thread


def test_reply_all_with_the_channel_in_cc_is_a_reply_in_its_thread(
    app: Flask, session: Any, team: Any, intake: Any
) -> None:
    thread = start_goal_thread(session, intake)

    # 小林 answers everyone: To 山本, Cc sales@, In-Reply-To 山本's mail.
    body = outlook_reply(
        "山本さん\n\n承知しました。営業二課の数字は金曜までに出します。\n\n小林",
        f"山本 誠 <{YAMAMOTO}>", "sales@hub.test", "来期の営業目標", GOAL,
    )  # fmt: skip
    raw = mail(
        frm=f"小林 健 <{KOBAYASHI}>", to=f"山本 誠 <{YAMAMOTO}>", cc="sales@hub.test",
        subject="RE: 来期の営業目標", body=body, msgid="goal-2@corp.example",
        answers=("goal-1@corp.example",),
    )  # fmt: skip
    send(intake, KOBAYASHI, ["sales@hub.test"], raw)

    [same] = threads_in(session, "sales")
    assert same.id == thread.id
    new = "山本さん\n\n承知しました。営業二課の数字は金曜までに出します。\n\n小林"
    assert posts_of(same) == [(YAMAMOTO, GOAL), (KOBAYASHI, new)]
    reply = same.posts[1]
    assert reply.via == Via.EMAIL and reply.message_id == "goal-2@corp.example"
    assert reply.trimmed is not None and "-----Original Message-----" in reply.trimmed
    assert GOAL in reply.trimmed
    row = last_row(session)
    assert (row.status, row.thread_id, row.post_id) == ("replied", thread.id, reply.id)
    session.rollback()

    # 山本 answers 小林's mail to all in turn (Gmail: References carry the whole chain): his
    # answer names 小林's mail, a post of the thread.
    raw = mail(
        frm=f"山本 誠 <{YAMAMOTO}>", to=f"小林 健 <{KOBAYASHI}>", cc="sales@hub.test",
        subject="Re: 来期の営業目標", msgid="goal-3@corp.example",
        body="よろしく。\n\n2026年11月27日(金) 11:00 小林 健 <kobayashi@corp.example>:\n"
        "> 承知しました。\n",
        answers=("goal-1@corp.example", "goal-2@corp.example"),
    )  # fmt: skip
    send(intake, YAMAMOTO, ["sales@hub.test"], raw)
    [same] = threads_in(session, "sales")
    assert posts_of(same)[-1] == (YAMAMOTO, "よろしく。")
    assert len(same.posts) == 3


def test_reply_to_our_mail_with_its_token_lost_and_the_channel_in_cc(
    app: Flask, session: Any, team: Any, intake: Any
) -> None:
    """Our mail about a post names the thread too: a reply to it whose +token a mail server
    dropped (reply@) and that copies the channel is a reply in that thread."""
    first = threads.start_thread(
        session, author=team["sato"], channel=channels.find_channel(session, "sales"),
        title="展示会の準備", body="来月の展示会の担当を決めましょう。", via=Via.WEB,
    )  # fmt: skip
    thread_id = first.thread_id
    session.commit()
    fan_out(app)
    ours = session.scalar(
        select(OutboxMessage).where(
            OutboxMessage.to_addr == KOBAYASHI, OutboxMessage.dedupe_key == f"post:{first.id}"
        )
    )
    assert ours is not None
    ours_id = ours.message_id
    session.rollback()  # SQLite: our read must not hold the intake's writes

    raw = mail(
        frm=f"小林 健 <{KOBAYASHI}>", to="reply@hub.test", cc="sales@hub.test",
        subject="Re: [営業] 展示会の準備", body="受付は私が担当します。",
        msgid="expo-2@corp.example", answers=(ours_id,),
    )  # fmt: skip
    send(intake, KOBAYASHI, ["reply@hub.test", "sales@hub.test"], raw)

    [thread] = threads_in(session, "sales")
    assert thread.id == thread_id
    assert posts_of(thread)[-1] == (KOBAYASHI, "受付は私が担当します。")
    assert last_row(session).status == "replied"


def test_reply_all_to_a_mail_sent_to_two_channels_replies_in_both(
    app: Flask, session: Any, team: Any, intake: Any
) -> None:
    """A mail cross-posted to dev@ and sales@ made a thread in each (only the first carries
    its Message-ID): the reply to all lands in both threads, and opens none."""
    raw = mail(
        frm=f"山本 誠 <{YAMAMOTO}>", to="dev@hub.test, sales@hub.test", cc=KOBAYASHI,
        subject="新製品の発表日", body="発表日は3月1日です。", msgid="launch-1@corp.example",
    )  # fmt: skip
    send(intake, YAMAMOTO, ["dev@hub.test", "sales@hub.test"], raw)
    session.rollback()
    raw = mail(
        frm=f"小林 健 <{KOBAYASHI}>", to=YAMAMOTO, cc="dev@hub.test, sales@hub.test",
        subject="Re: 新製品の発表日", body="資料は私が準備します。",
        msgid="launch-2@corp.example", answers=("launch-1@corp.example",),
    )  # fmt: skip
    send(intake, KOBAYASHI, ["dev@hub.test", "sales@hub.test"], raw)

    for slug in ("dev", "sales"):
        [thread] = threads_in(session, slug)
        assert posts_of(thread) == [
            (YAMAMOTO, "発表日は3月1日です。"),
            (KOBAYASHI, "資料は私が準備します。"),
        ]
    row = last_row(session)
    assert [(r["rcpt"], r["status"]) for r in row.results] == [
        ("dev@hub.test", "replied"),
        ("sales@hub.test", "replied"),
    ]


def test_reply_all_to_a_notification_with_another_channel_added_opens_nothing_there(
    app: Flask, session: Any, team: Any, intake: Any
) -> None:
    """小林 answers our mail about a post in dev thread 「社内ポータルのリリース手順」 to all,
    adding sales@ in Cc: the reply is in the dev thread (its +token), and the sales copy of
    that reply opens no thread 「[開発] 社内ポータルのリリース手順」 in sales."""
    first = threads.start_thread(
        session, author=team["sato"], channel=channels.find_channel(session, "dev"),
        title="社内ポータルのリリース手順", body="手順書を更新しました。", via=Via.WEB,
    )  # fmt: skip
    thread_id, first_id = first.thread_id, first.id
    session.commit()
    fan_out(app)
    ours = session.scalar(
        select(OutboxMessage).where(
            OutboxMessage.to_addr == KOBAYASHI, OutboxMessage.dedupe_key == f"post:{first_id}"
        )
    )
    assert ours is not None
    reply_to = ours.raw.decode().split("Reply-To: ")[1].split()[0]
    ours_id = ours.message_id
    session.rollback()

    raw = mail(
        frm=f"小林 健 <{KOBAYASHI}>", to=reply_to, cc="sales@hub.test",
        subject="RE: [開発] 社内ポータルのリリース手順", msgid="portal-2@corp.example",
        body=outlook_reply(
            "確認しました。営業にも共有します。", "佐藤 via Hiroba <hiroba@hub.test>",
            f"小林 健 <{KOBAYASHI}>", "[開発] 社内ポータルのリリース手順", "手順書を更新しました。",
        ),
        answers=(f"post.{first_id}@hub.test", ours_id),
    )  # fmt: skip
    send(intake, KOBAYASHI, [reply_to, "sales@hub.test"], raw)

    [thread] = threads_in(session, "dev")
    assert thread.id == thread_id
    assert posts_of(thread)[-1] == (KOBAYASHI, "確認しました。営業にも共有します。")
    assert threads_in(session, "sales") == []
    row = last_row(session)
    assert (row.status, row.thread_id) == ("replied", thread_id)
    assert {r["rcpt"]: (r["status"], r["reason"]) for r in row.results} == {
        reply_to: ("replied", None),
        "sales@hub.test": ("ignored", "duplicate"),
    }
    session.rollback()

    # The same, delivered in two sessions (a server sending one recipient at a time): the
    # sales copy coming second finds the reply placed by the first.
    raw = raw.replace(b"portal-2@", b"portal-3@")
    send(intake, KOBAYASHI, [reply_to], raw)
    send(intake, KOBAYASHI, ["sales@hub.test"], raw)
    assert len(threads_in(session, "dev")[0].posts) == 3
    assert threads_in(session, "sales") == []
    assert (last_row(session).status, last_row(session).reason) == ("ignored", "duplicate")


def test_reply_all_answering_another_channel_sent_only_to_this_one_starts_a_thread(
    app: Flask, session: Any, team: Any, intake: Any
) -> None:
    """A mail answering a dev thread that goes to sales@ alone (dev@ not copied, no +token)
    was placed nowhere else: sales gets it as a new thread, so it is not lost."""
    raw = mail(
        frm=f"山本 誠 <{YAMAMOTO}>", to="dev@hub.test", cc=KOBAYASHI,
        subject="検証環境の停止", body="明日10時から検証環境を止めます。",
        msgid="stop-1@corp.example",
    )  # fmt: skip
    send(intake, YAMAMOTO, ["dev@hub.test"], raw)
    session.rollback()
    raw = mail(
        frm=f"小林 健 <{KOBAYASHI}>", to=YAMAMOTO, cc="sales@hub.test",
        subject="Re: 検証環境の停止", body="営業のデモは午後に移します。",
        msgid="stop-2@corp.example", answers=("stop-1@corp.example",),
    )  # fmt: skip
    send(intake, KOBAYASHI, ["sales@hub.test"], raw)

    [dev] = threads_in(session, "dev")
    assert len(dev.posts) == 1
    [sales] = threads_in(session, "sales")
    assert sales.title == "検証環境の停止"
    assert posts_of(sales) == [(KOBAYASHI, "営業のデモは午後に移します。")]


def test_reply_all_is_authorised_as_a_reply(
    app: Flask, session: Any, team: Any, intake: Any
) -> None:
    """Answering a thread through its channel address asks what a reply asks: a member who
    may not read the private channel is refused (and told), a stranger is refused at SMTP."""
    make_channel(
        session, slug="board", name="役員会", private=True, reason="人事の話",
        creator=team["yamamoto"], policy="anyone",
    )  # fmt: skip
    session.commit()
    raw = mail(
        frm=f"山本 誠 <{YAMAMOTO}>", to="board@hub.test", cc=KOBAYASHI,
        subject="人事異動の件", body="4月の異動案です。", msgid="hr-1@corp.example",
    )  # fmt: skip
    send(intake, YAMAMOTO, ["board@hub.test"], raw)
    [thread] = threads_in(session, "board")
    session.rollback()

    raw = mail(
        frm=f"小林 健 <{KOBAYASHI}>", to=YAMAMOTO, cc="board@hub.test",
        subject="Re: 人事異動の件", body="拝見しました。", msgid="hr-2@corp.example",
        answers=("hr-1@corp.example",),
    )  # fmt: skip
    send(intake, KOBAYASHI, ["board@hub.test"], raw)
    assert posts_of(threads_in(session, "board")[0]) == [(YAMAMOTO, "4月の異動案です。")]
    row = last_row(session)
    assert row.status == "rejected" and row.reason in ("not_found", "not_a_member")
    refusals = session.scalar(
        select(func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.kind == "refusal", OutboxMessage.to_addr == KOBAYASHI)
    )
    assert refusals == 1
    session.rollback()

    stranger = mail(
        frm="customer@client.example", to=YAMAMOTO, cc="board@hub.test",
        subject="Re: 人事異動の件", body="よろしく", msgid="hr-3@client.example",
        answers=("hr-1@corp.example",),
    )  # fmt: skip
    with smtplib.SMTP(intake.hostname, intake.port, timeout=30) as s:
        with pytest.raises(smtplib.SMTPDataError) as err:
            s.sendmail("customer@client.example", ["board@hub.test"], stranger)
    assert err.value.smtp_code == 550
    assert (
        session.scalar(select(func.count()).select_from(Post).where(Post.thread_id == thread.id))
        == 1
    )


def test_an_old_mail_answered_with_a_new_subject_opens_a_thread(app, session, team, intake):
    """The last mail at hand answered to start a new topic (a subject of its own, no "Re:"):
    its references name 「来期の営業目標」, but it is a new thread, as without them."""
    goal = start_goal_thread(session, intake)
    raw = mail(
        frm=f"小林 健 <{KOBAYASHI}>", to="sales@hub.test", subject="展示会の出展について",
        body="来月の展示会に出展するか決めたいです。", msgid="expo-1@corp.example",
        answers=("goal-1@corp.example",),
    )  # fmt: skip
    send(intake, KOBAYASHI, ["sales@hub.test"], raw)
    sales = threads_in(session, "sales")
    assert [t.title for t in sales] == ["来期の営業目標", "展示会の出展について"]
    assert posts_of(sales[0]) == [(YAMAMOTO, GOAL)]
    assert goal.id == sales[0].id
