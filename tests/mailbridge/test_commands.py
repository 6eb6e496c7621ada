"""Commands to help@ (English and Japanese), each answered by mail."""

from __future__ import annotations

import email
import email.policy
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from hub.models import ChannelMute, Delivery, Membership, OutboxMessage, User
from hub.services import channels
from mailbridge import commands, ingest
from tests.factories import make_channel, make_user
from tests.mailbridge.test_ingest import mail


@pytest.mark.parametrize(
    ("line", "verb", "arg"),
    [
        ("digest daily", "digest", "daily"),
        ("Digest Weekly", "digest", "weekly"),
        ("digest off", "digest", "off"),
        ("ダイジェスト 毎日", "digest", "毎日"),
        ("ダイジェスト　毎週", "digest", "毎週"),
        ("mute general", "mute", "general"),
        ("ミュート general", "mute", "general"),
        ("unsubscribe", "unsubscribe", ""),
        ("配信停止", "unsubscribe", ""),
        ("HELP", "help", ""),
        ("ヘルプ", "help", ""),
    ],
)
def test_parse_line(line: str, verb: str, arg: str) -> None:
    cmd = commands.parse_line(line)
    assert cmd is not None and (cmd.verb, cmd.arg) == (verb, arg)


@pytest.mark.parametrize("line", ["digest monthly", "mute", "thanks for the help", "", "help me"])
def test_not_commands(line: str) -> None:
    assert commands.parse_line(line) is None


@pytest.fixture
def boss(app: Flask, session: Any) -> User:
    user = make_user(session, email="buchou@corp.example", name="部長", email_only=True)
    make_channel(session, slug="general", name="全社", purpose="全社への連絡")
    session.commit()
    return user


def last_mail(session: Any) -> tuple[str, str]:
    row = session.scalar(select(OutboxMessage).order_by(OutboxMessage.id.desc()))
    msg = email.message_from_bytes(row.raw, policy=email.policy.default)
    session.rollback()  # SQLite: a reading session holds the write lock
    return row.subject, msg.get_body(("plain",)).get_content()


def send(app: Flask, body: str, subject: str = "") -> Any:
    raw = mail(frm="buchou@corp.example", to="help@hub.test", subject=subject, body=body)
    return ingest.receive(app, raw, ["help@hub.test"], "smtp")


def test_digest_weekly_in_japanese(app: Flask, session: Any, boss: User) -> None:
    out = send(app, "ダイジェスト 毎週\n\n--\n部長")
    assert out.status == "command"
    session.expire_all()
    assert session.get(User, boss.id).delivery == Delivery.WEEKLY
    subject, text = last_mail(session)
    assert "毎週" in text or "週" in text or "weekly" in text.lower()


def test_mute_and_unsubscribe(app: Flask, session: Any, boss: User) -> None:
    assert send(app, "mute general\nunsubscribe").status == "command"
    session.expire_all()
    assert session.get(User, boss.id).delivery == Delivery.OFF
    # Not a member of general: muted from outside, not made a member.
    assert session.scalar(select(Membership.delivery)) is None
    assert session.scalar(select(ChannelMute.user_id)) == boss.id


def test_mute_by_a_member_turns_the_channel_off(app: Flask, session: Any, boss: User) -> None:
    channels.join(session, user=boss, channel=channels.get_channel(session, "general"))
    session.commit()
    assert send(app, "ミュート general").status == "command"
    session.expire_all()
    assert session.scalar(select(Membership.delivery)) == Delivery.OFF
    assert session.scalar(select(ChannelMute.id)) is None


def test_unknown_channel_is_reported(app: Flask, session: Any, boss: User) -> None:
    out = send(app, "mute nosuch")
    assert out.status == "command" and out.results[0]["ok"] is False
    assert out.results[0]["reason"] == "not_found"


def test_help_and_unknown_text_get_the_how_to(app: Flask, session: Any, boss: User) -> None:
    out = send(app, "", subject="help")
    assert (out.status, out.reason) == ("command", None)
    subject, text = last_mail(session)
    assert "general@hub.test" in text and "digest daily" in text
    session.rollback()
    out = send(app, "使い方を教えてください")
    assert (out.status, out.reason) == ("command", "unknown_command")
    assert session.scalar(select(OutboxMessage.kind).order_by(OutboxMessage.id.desc())) == "command"


def test_mute_by_the_channel_name_or_address_over_smtp(
    app: Flask, session: Any, boss: User, intake: Any
) -> None:
    """A manager names the channel as the welcome mail lists it: "ミュート 全社" or its address."""
    import smtplib
    from email.message import EmailMessage

    make_channel(session, slug="zatsudan", name="雑談", purpose="仕事以外の話題")
    session.commit()
    for body in ("ミュート 全社\n\n部長\niPhoneから送信", "mute zatsudan@hub.test"):
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = "部長 <buchou@corp.example>", "help@hub.test", ""
        msg.set_content(body)
        with smtplib.SMTP("127.0.0.1", intake.port) as client:
            client.send_message(msg)
    session.expire_all()
    muted = session.scalars(select(ChannelMute.channel_id)).all()
    assert sorted(muted) == sorted(
        [channels.get_channel(session, "general").id, channels.get_channel(session, "zatsudan").id]
    )
    session.rollback()
    # A name nobody has: the answer says so in words and lists the channels to choose from.
    assert send(app, "ミュート 営業").results[0]["ok"] is False
    _, text = last_mail(session)
    assert "not_found" not in text
    assert "general@hub.test" in text and "zatsudan@hub.test  雑談" in text


@pytest.mark.parametrize("locale", ["en", "ja"])
@pytest.mark.parametrize(
    "reason",
    ["forbidden", "not_a_member", "private_channel", "admin_only", "inactive_member",
     "channel_archived", "invalid_value", "not_permitted_by_policy", "post_deleted"],
)  # fmt: skip
def test_a_refused_command_is_answered_in_words(
    app: Flask, session: Any, boss: User, intake: Any, monkeypatch: Any, reason: str, locale: str
) -> None:
    """Whatever a service refuses a command with, the answer says in the member's language
    what happened and what to do; the refusal's code ("(forbidden)") is never shown."""
    import smtplib
    from email.message import EmailMessage

    from flask_babel import force_locale, gettext

    from hub.errors import Forbidden, Reason

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise Forbidden(Reason(reason))

    monkeypatch.setattr(channels, "mute", refuse)
    boss.locale = locale
    session.commit()
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "部長 <buchou@corp.example>", "help@hub.test", "設定"
    msg.set_content("mute general")
    with smtplib.SMTP("127.0.0.1", intake.port) as client:
        client.send_message(msg)
    _, text = last_mail(session)
    (line,) = [ln for ln in text.splitlines() if ln.startswith("* mute general:")]
    assert reason not in line and "(" not in line
    why, fix = commands.REFUSALS.get(reason, commands.REFUSED)
    with app.test_request_context(), force_locale(locale):
        assert f"{gettext(why)} {gettext(fix)}" in line
        # What happened is in Japanese for a Japanese member.
        assert (gettext(why) != why) == (locale == "ja")
