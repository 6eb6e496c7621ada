"""Every mail that asks for an answer carries a Reply-To that does what its text says; the
answers go through the real SMTP intake."""

from __future__ import annotations

import smtplib
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.headerregistry import Address
from email.message import EmailMessage
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from hub.db import transaction
from hub.models import (
    Channel,
    Delivery,
    InboundMessage,
    OutboxMessage,
    Post,
    Role,
    Thanks,
    Thread,
    User,
    Via,
)
from hub.services import (
    accounts,
    channels,
    dashboard,
    events,
    governance,
    members,
    moderation,
    threads,
)
from hub.services import thanks as thanks_service
from mailbridge.fanout import fan_out
from tests import fixtures_culture
from tests.factories import make_channel, make_user
from tests.fixtures_mailout import deliver, to

db = fixtures_culture.db
BOSS = "boss@corp.example"
OUTLOOK_QUOTE = (
    "\r\n\r\n________________________________\r\n"
    "差出人: Hiroba <hiroba@hub.test>\r\n"
    "送信日時: 2026年11月27日 10:00\r\n"
    "宛先: 山田 部長 <boss@corp.example>\r\n"
)


@pytest.fixture
def world(app: Flask, db: Any) -> dict[str, Any]:
    boss = make_user(db, email=BOSS, name="山田 部長", email_only=True)
    web = make_user(db, email="web@corp.example", name="佐藤")
    make_channel(db, slug="general", name="全体")
    thanks_service.save_value(db, actor=None, tag="teamwork", name="チームワーク")
    thanks_service.save_value(db, actor=None, tag="customer", name="お客様第一")
    db.commit()
    fan_out(app)
    return {"boss": boss.id, "web": web.id}


def send(intake: Any, to: str, body: str, subject: str = "Re: Hiroba", **headers: str) -> None:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = f"山田 部長 <{BOSS}>", to, subject
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    with smtplib.SMTP(intake.hostname, intake.port, timeout=10) as smtp:
        smtp.send_message(msg)


def mails(app: Flask, kind: str) -> list[EmailMessage]:
    """The mails of ``kind`` queued for the boss, oldest first."""
    fan_out(app)
    with transaction(app) as s:
        rows = s.scalars(
            select(OutboxMessage.raw)
            .where(OutboxMessage.kind == kind, OutboxMessage.to_addr == BOSS)
            .order_by(OutboxMessage.id)
        ).all()
    return [message_from_bytes(raw, policy=policy.default) for raw in rows]


def last_inbound(app: Flask) -> tuple[str, str | None]:
    with transaction(app) as s:
        row = s.scalars(select(InboundMessage).order_by(InboundMessage.id.desc())).first()
        assert row is not None
        return row.status, row.reason


def text_of(mail: EmailMessage) -> str:
    return mail.get_body(("plain",)).get_content()


def test_answering_which_value_with_its_name_or_tag_sets_it(app, db, intake, world) -> None:
    """A thanks card sent by mail without a #value asks which value it shows: answering with
    the value's name (in a sentence) or its #tag sets it; an answer naming none is explained
    with the member's text, and answering that explanation still works."""
    for n in range(3):
        send(intake, "thanks@hub.test", f"資料ありがとう {n}", subject="ありがとう",
             Cc="web@corp.example")  # fmt: skip
        assert last_inbound(app) == ("thanked", None)
    asks = mails(app, "thanks_value")
    assert len(asks) == 3
    assert all(str(m["Reply-To"]).startswith("thanks+") for m in asks)
    assert "reply to this mail with the value's #tag or its name" in text_of(asks[0])
    send(intake, asks[0]["Reply-To"], "チームワークでお願いします。" + OUTLOOK_QUOTE,
         In_Reply_To=asks[0]["Message-ID"])  # fmt: skip
    assert last_inbound(app)[0] == "thanked"
    send(intake, asks[1]["Reply-To"], "#customer\n\n> " + text_of(asks[1])[:60])
    assert last_inbound(app)[0] == "thanked"
    send(intake, asks[2]["Reply-To"], "よろしく" + OUTLOOK_QUOTE)
    assert last_inbound(app) == ("rejected", "unknown_value")
    db.expire_all()
    cards = db.scalars(select(Thanks).order_by(Thanks.id)).all()
    assert [c.value.tag if c.value else None for c in cards] == ["teamwork", "customer", None]
    db.commit()
    (told,) = mails(app, "refusal")
    assert "> よろしく" in text_of(told) and "which of our values" in text_of(told)
    assert told["Reply-To"] == asks[2]["Reply-To"]
    send(intake, told["Reply-To"], "teamwork")
    db.expire_all()
    assert db.get(Thanks, cards[2].id).value.tag == "teamwork"
    db.commit()
    # A colleague cannot choose for the sender (the token is the boss's).
    with smtplib.SMTP(intake.hostname, intake.port, timeout=10) as smtp:
        with pytest.raises(smtplib.SMTPDataError) as refused:
            smtp.sendmail("web@corp.example", [asks[0]["Reply-To"]],
                          b"From: web@corp.example\r\nSubject: x\r\n\r\n#customer\r\n")  # fmt: skip
    assert refused.value.smtp_code == 550


def test_answering_a_command_result_runs_the_command(app, db, intake, world) -> None:
    """The answer to a mail to help@ says 'write "help" to help@': answering it runs commands."""
    send(intake, "help@hub.test", "digest weekly", subject="設定")
    (result,) = mails(app, "command")
    assert result["Reply-To"] == "help@hub.test"
    send(intake, result["Reply-To"], "digest daily" + OUTLOOK_QUOTE + text_of(result),
         In_Reply_To=result["Message-ID"])  # fmt: skip
    assert last_inbound(app)[0] == "command"
    db.expire_all()
    assert db.get(User, world["boss"]).delivery == Delivery.DAILY
    db.commit()
    # The how-to (a mail with no command) is answered at help@ too.
    send(intake, "help@hub.test", "使い方を教えてください", subject="質問")
    how_to = mails(app, "command")[-1]
    assert how_to["Reply-To"] == "help@hub.test"


def test_invitation_and_nudge_answered_get_the_how_to(app, db, intake, world) -> None:
    """'Reply to the mails you get' (invitation) and 'a reply is all it takes' (nudge): an
    answer to either reaches help@ and gets the how-to, not a refusal."""
    boss = db.get(User, world["boss"])
    events.emit(db, "member_invited", actor_id=world["web"], subject_id=boss.id)
    dashboard.nudge(db, actor=None, user=boss, now=datetime.now(UTC))
    db.commit()
    for kind in ("invite", "nudge"):
        (mail,) = mails(app, kind)
        assert mail["Reply-To"] == "help@hub.test"
        send(intake, mail["Reply-To"], "はい、使ってみます" + OUTLOOK_QUOTE,
             In_Reply_To=mail["Message-ID"])  # fmt: skip
        assert last_inbound(app)[0] == "command"
    assert len(mails(app, "command")) == 2


def test_thanks_naming_no_colleague_is_explained_and_answering_sends_it(
    app, db, intake, world
) -> None:
    """A thanks card to thanks@ with nobody in To/Cc was dropped without a word: the member
    gets their text back with what to do, and answering with a colleague in Cc sends it."""
    send(intake, "thanks@hub.test", "いつも助かっています", subject="ありがとう")
    assert last_inbound(app) == ("rejected", "no_recipients")
    (told,) = mails(app, "refusal")
    assert "> いつも助かっています" in text_of(told) and "named no colleague" in text_of(told)
    assert told["Reply-To"] == "thanks@hub.test"
    send(intake, told["Reply-To"], "いつも助かっています" + OUTLOOK_QUOTE,
         Cc="web@corp.example", In_Reply_To=told["Message-ID"])  # fmt: skip
    assert last_inbound(app)[0] == "thanked"
    card = db.scalar(select(Thanks))
    assert card.message == "いつも助かっています"
    assert [r.user.email for r in card.recipients] == ["web@corp.example"]


def send_files(
    intake: Any, to: str, subject: str, body: str, *files: tuple[str, str, str, bytes],
    **headers: str,
) -> None:  # fmt: skip
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = f"山田 部長 <{BOSS}>", to, subject
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    for filename, maintype, subtype, data in files:
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    with smtplib.SMTP(intake.hostname, intake.port, timeout=10) as smtp:
        smtp.send_message(msg)


def threads_in(db: Any, slug: str) -> list[tuple[str, str]]:
    """(title, first post) of each thread of a channel, oldest first."""
    db.expire_all()
    rows = db.execute(
        select(Thread.title, Post.body)
        .join(Channel, Channel.id == Thread.channel_id)
        .join(Post, Post.thread_id == Thread.id)
        .where(Channel.slug == slug)
        .order_by(Thread.id, Post.id)
    ).all()
    db.commit()
    return [(title, body) for title, body in rows]


def test_answering_a_channel_refusal_opens_the_thread_under_the_original_subject(
    app, db, intake, world
) -> None:
    """A new thread refused (a file the hub does not take) is explained with Reply-To the
    channel; the answer opens the thread titled with the member's own subject, not
    「RE: 投稿されませんでした: 予算」. An answer refused in turn for another reason (a file too
    large) is explained, even though that reason was explained earlier the same day."""
    db.get(User, world["boss"]).locale = "ja"
    db.commit()
    app.config["MAX_ATTACHMENT_BYTES"] = 1000
    big = ("資料.pdf", "application", "pdf", b"%PDF-1.4\n" + b"0" * 2000)
    send_files(intake, "general@hub.test", "動画", "研修の資料です。", big)
    assert last_inbound(app) == ("rejected", "too_large")
    exe = ("setup.exe", "application", "x-msdownload", b"MZ\x90\x00")
    send_files(intake, "general@hub.test", "予算", "来期の予算案です。", exe)
    assert last_inbound(app) == ("rejected", "unsupported_type")
    told = mails(app, "refusal")[-1]
    assert told["Subject"] == "投稿されませんでした: 予算"
    assert told["Reply-To"] == "general@hub.test"
    assert "> 来期の予算案です。" in text_of(told)
    # Answered with the file as PDF, still too large: told again, about the original subject.
    quoted = OUTLOOK_QUOTE + f"件名: {told['Subject']}\r\n\r\n" + text_of(told)
    send_files(intake, told["Reply-To"], f"RE: {told['Subject']}", "PDFにしました。" + quoted,
               big, In_Reply_To=told["Message-ID"])  # fmt: skip
    assert last_inbound(app) == ("rejected", "too_large")
    again = mails(app, "refusal")[-1]
    assert again["Message-ID"] != told["Message-ID"]
    assert again["Subject"] == "投稿されませんでした: 予算"
    assert again["Reply-To"] == "general@hub.test"
    assert "> PDFにしました。" in text_of(again)
    # Answered with the text alone: the thread is 予算, with only the new text.
    send(intake, again["Reply-To"], "来期の予算案です。資料は共有フォルダにあります。" + quoted,
         subject=f"RE: {again['Subject']}", In_Reply_To=again["Message-ID"])  # fmt: skip
    assert last_inbound(app)[0] == "posted"
    assert threads_in(db, "general") == [
        ("予算", "来期の予算案です。資料は共有フォルダにあります。")
    ]


def test_answering_the_refusal_of_a_mail_without_subject(app, db, intake, world) -> None:
    """English: "Not posted: (no subject)" answered as is opens no thread titled
    "(no subject)": it is explained again; answered with a subject, the thread opens."""
    send(intake, "general@hub.test", "Lunch on Friday?", subject="")
    assert last_inbound(app) == ("rejected", "empty_title")
    (told,) = mails(app, "refusal")
    assert told["Subject"] == "Not posted: (no subject)"
    assert told["Reply-To"] == "general@hub.test"
    send(intake, told["Reply-To"], "Lunch on Friday?\n\n> " + text_of(told)[:40],
         subject=f"Re: {told['Subject']}", In_Reply_To=told["Message-ID"])  # fmt: skip
    assert last_inbound(app) == ("rejected", "empty_title")
    assert len(mails(app, "refusal")) == 2
    send(intake, told["Reply-To"], "Lunch on Friday?", subject="Re: Friday lunch",
         In_Reply_To=told["Message-ID"])  # fmt: skip
    assert threads_in(db, "general") == [("Friday lunch", "Lunch on Friday?")]


def test_a_channel_refusal_that_resending_cannot_mend_is_answered_at_help(
    app, db, intake, world
) -> None:
    """A private channel refuses a non-member: sending the answer there would be refused again
    (and not explained twice that day), so the explanation is answered at help@ (the how-to,
    which lists where the member may write)."""
    make_channel(db, slug="jinji", name="人事", private=True, reason="評価の相談")
    db.commit()
    send(intake, "jinji@hub.test", "評価面談の日程です。", subject="面談")
    assert last_inbound(app)[0] == "rejected"
    (told,) = mails(app, "refusal")
    assert told["Reply-To"] == "help@hub.test"
    send(intake, told["Reply-To"], "メンバーに追加してください。" + OUTLOOK_QUOTE,
         subject=f"Re: {told['Subject']}", In_Reply_To=told["Message-ID"])  # fmt: skip
    assert last_inbound(app)[0] == "command"
    (how_to,) = mails(app, "command")
    assert "general@hub.test" in text_of(how_to)


def test_answering_a_thanks_card_reaches_the_colleague_who_sent_it(
    app, db, intake, world, smtp_sink
) -> None:
    """ "佐藤 thanks you" answered goes to 佐藤 (a personal answer, internal mail), not to
    hiroba@ (which explained "where should this go?"); a card from someone who left since is
    answered at help@ and gets the how-to."""
    boss, web = db.get(User, world["boss"]), db.get(User, world["web"])
    thanks_service.send(db, sender=web, recipients=[boss], message="資料をありがとうございました")
    db.commit()
    app.config["RELAY_URL"] = smtp_sink.url
    mails(app, "thanks")
    deliver(app)
    (card,) = [m for m in to(smtp_sink, BOSS) if m["Subject"] == "佐藤 thanks you"]
    assert card["Reply-To"].addresses[0].addr_spec == "web@corp.example"
    assert card["Reply-To"].addresses[0].display_name == "佐藤"
    # The sender leaves before the card's mail is written: its answer gets the how-to.
    leaver = make_user(db, email="leaver@corp.example", name="鈴木")
    db.commit()
    thanks_service.send(db, sender=leaver, recipients=[boss], message="お世話になりました")
    accounts.deactivate(db, leaver)
    db.commit()
    farewell = mails(app, "thanks")[-1]
    assert farewell["Reply-To"] == "help@hub.test"
    send(intake, farewell["Reply-To"], "こちらこそありがとうございました。" + OUTLOOK_QUOTE,
         subject=f"Re: {farewell['Subject']}", In_Reply_To=farewell["Message-ID"])  # fmt: skip
    assert last_inbound(app)[0] == "command"
    assert len(mails(app, "command")) == 1


def test_answering_channel_added_gets_the_how_to(app, db, intake, world) -> None:
    """ "佐藤 added you to 営業" answered ("ありがとうございます、何を書けば?") reached hiroba@
    and got "where should this go?": it reaches help@ and gets the how-to with the channel's
    address, and opens no thread "Re: 佐藤 added you to 営業" in the channel."""
    web = db.get(User, world["web"])
    web.role = Role.ADMIN
    sales = make_channel(db, slug="eigyo", name="営業")
    db.commit()
    members.add_member_by_email(db, channel=sales, email=BOSS, actor=web, via=Via.WEB)
    db.commit()
    (added,) = mails(app, "channel_added")
    assert added["Subject"] == "佐藤 added you to 営業"
    assert added["Reply-To"] == "help@hub.test"
    send(intake, added["Reply-To"], "ありがとうございます。ここには何を書けばよいですか?"
         + OUTLOOK_QUOTE + text_of(added), subject=f"RE: {added['Subject']}",
         In_Reply_To=added["Message-ID"])  # fmt: skip
    assert last_inbound(app)[0] == "command"
    (how_to,) = mails(app, "command")
    assert "eigyo@hub.test" in text_of(how_to)
    assert threads_in(db, "eigyo") == []


def test_answering_the_welcome_mail_accepts_the_rules_and_answers_the_rest(
    app, db, intake, world
) -> None:
    """The welcome mail's answer accepts the rules; "了解しました" alone gets nothing more, but
    a command it teaches ("digest weekly") runs, and a question gets the how-to, instead of
    both being dropped."""
    (welcome,) = mails(app, "welcome")
    assert str(welcome["Reply-To"]).startswith("welcome+")
    send(intake, welcome["Reply-To"], "了解しました。" + OUTLOOK_QUOTE,
         subject=f"RE: {welcome['Subject']}", In_Reply_To=welcome["Message-ID"])  # fmt: skip
    assert last_inbound(app)[0] == "acknowledged"
    assert mails(app, "command") == []
    send(intake, welcome["Reply-To"], "了解しました。\ndigest weekly" + OUTLOOK_QUOTE,
         subject=f"RE: {welcome['Subject']}")  # fmt: skip
    assert last_inbound(app)[0] == "acknowledged"
    (result,) = mails(app, "command")
    assert "weekly digest" in text_of(result)
    db.expire_all()
    boss = db.get(User, world["boss"])
    assert boss.rules_accepted_at is not None and boss.delivery == Delivery.WEEKLY
    db.commit()
    send(intake, welcome["Reply-To"], "スレッドはどうやって始めればいいですか?" + OUTLOOK_QUOTE,
         subject=f"RE: {welcome['Subject']}")  # fmt: skip
    how_to = mails(app, "command")[-1]
    assert "general@hub.test" in text_of(how_to) and how_to["Reply-To"] == "help@hub.test"


def test_mail_about_a_colleagues_act_is_answered_to_them_and_the_rest_at_help(
    app, db, intake, world
) -> None:
    """The other mails a member may answer: the private-channel request (to the admins:
    answered to the requester), its decision and a hidden post ("Note from the admin":
    answered to that admin), the sign-in link and "we could not tell where your mail should
    go" (answered at help@, whose how-to lists the channel addresses)."""
    boss, admin = db.get(User, world["boss"]), db.get(User, world["web"])
    admin.role = Role.ADMIN
    db.commit()
    room = make_channel(db, slug="kaigi", name="役員会", private=True, reason="人事の相談",
                        creator=boss)  # fmt: skip
    db.commit()
    fan_out(app)
    request = db.scalar(select(OutboxMessage.raw).where(OutboxMessage.kind == "channel_request"))
    db.commit()
    assert message_from_bytes(request, policy=policy.default)["Reply-To"].addresses[0] == (
        Address("山田 部長", addr_spec=BOSS)
    )
    governance.decline(db, actor=admin, channel=room, note="オープンなチャンネルでお願いします")
    post = threads.start_thread(db, author=boss, channel=channels.find_channel(db, "general"),
                                title="雑談", body="週末の話", via=Via.EMAIL)  # fmt: skip
    moderation.hide(db, actor=admin, post=post, note="業務外です")
    events.emit(db, "login_link_requested", subject_id=boss.id, token="t0ken")
    db.commit()
    for kind in ("channel_decision", "post_hidden"):
        (mail,) = mails(app, kind)
        assert mail["Reply-To"].addresses[0] == Address("佐藤", addr_spec="web@corp.example")
    (login,) = mails(app, "login")
    assert login["Reply-To"] == "help@hub.test"
    send(intake, "hiroba@hub.test", "今月の予定を教えてください", subject="予定")
    assert last_inbound(app) == ("rejected", "unknown_address")
    (told,) = mails(app, "refusal")
    assert told["Reply-To"] == "help@hub.test"
    send(intake, told["Reply-To"], "どこに送ればいいですか?" + OUTLOOK_QUOTE,
         subject=f"Re: {told['Subject']}", In_Reply_To=told["Message-ID"])  # fmt: skip
    assert last_inbound(app)[0] == "command"
    (how_to,) = mails(app, "command")
    assert "general@hub.test" in text_of(how_to)


def test_answering_an_explanation_with_nothing_new_posts_nothing(app, db, intake, world) -> None:
    """Sent by mistake with nothing written, the answer to "Not posted: 予算" (quoted with ">"
    or under Outlook's 差出人 block) would post our own explanation in the channel: it is
    refused as empty, and told; the same mail to the channel without answering us still posts."""
    send(intake, "general@hub.test", "", subject="予算")
    told = mails(app, "refusal")[-1]
    marked = "\n\n" + "\n".join(f"> {line}" for line in text_of(told).splitlines())
    outlook = OUTLOOK_QUOTE + f"件名: {told['Subject']}\r\n\r\n" + text_of(told)
    for quoted in (marked, outlook):
        send(intake, told["Reply-To"], quoted, subject=f"Re: {told['Subject']}",
             In_Reply_To=told["Message-ID"])  # fmt: skip
        assert last_inbound(app) == ("rejected", "empty_body")
    assert threads_in(db, "general") == []
    assert len(mails(app, "refusal")) == 2
    send(intake, "general@hub.test", "> 引用だけの転送", subject="転送")
    assert threads_in(db, "general") == [("転送", "> 引用だけの転送")]


def test_answering_a_notification_with_nothing_written_posts_nothing(app, db, intake, world):
    """Reply, then Send, with nothing typed: Gmail quotes the notification under its attribution,
    Outlook puts its 差出人 block on top and our text below as if new. Either would post the
    notification (the colleague's words) again in the thread: it is refused as empty and
    explained, with the member's text; a short answer that repeats a line of ours posts."""
    boss = db.get(User, world["boss"])
    accounts.update_preferences(db, boss, delivery=Delivery.EVERY_POST)
    web = db.get(User, world["web"])
    channel = db.scalar(select(Channel).where(Channel.slug == "general"))
    channels.join(db, user=boss, channel=channel)
    first = threads.start_thread(
        db, author=web, channel=channel, title="予算", body="了解です。", via=Via.WEB
    )
    db.commit()
    deliver(app)
    note = mails(app, "post")[-1]
    gmail = "\n\n2026年11月27日(金) 10:00 佐藤 via Hiroba <hiroba@hub.test>:\n\n" + "\n".join(
        f"> {line}" for line in text_of(note).splitlines()
    )
    outlook = OUTLOOK_QUOTE + f"件名: {note['Subject']}\r\n\r\n" + text_of(note)
    for empty in (gmail, outlook):
        send(intake, note["Reply-To"], empty, subject=f"Re: {note['Subject']}",
             In_Reply_To=note["Message-ID"])  # fmt: skip
        assert last_inbound(app) == ("rejected", "empty_body")
    db.expire_all()
    assert [p.body for p in first.thread.posts] == ["了解です。"]
    db.commit()  # SQLite: our read must not hold the write lock the intake needs
    assert len(mails(app, "refusal")) == 1  # told once today for this reason
    # Agreeing in the same words is an answer.
    send(intake, note["Reply-To"], "了解です。" + gmail, subject=f"Re: {note['Subject']}",
         In_Reply_To=note["Message-ID"])  # fmt: skip
    assert last_inbound(app) == ("replied", None)
