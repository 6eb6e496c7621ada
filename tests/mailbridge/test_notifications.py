"""Who gets what: delivery modes, channel overrides, mutes, echo, private channels."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from hub.models import Delivery, Event, OutboxMessage, ThreadMute, Via
from hub.services import accounts, channels, events, moderation, threads
from mailbridge import delivery, fanout
from tests.factories import make_channel, make_thread, make_user
from tests.fixtures_mailout import deliver, parse, to


@pytest.fixture
def team(app: Any, session: Any, smtp_sink: Any) -> dict[str, Any]:
    app.config["RELAY_URL"] = smtp_sink.url
    boss = make_user(session, email="boss@corp.example", name="部長", email_only=True)
    web = make_user(session, email="web@corp.example", name="Web")
    peer = make_user(session, email="peer@corp.example", name="Peer")
    channel = make_channel(session, slug="team", name="Team")
    for u in (boss, web, peer):
        channels.join(session, user=u, channel=channel)
    session.commit()
    deliver(app)
    smtp_sink.messages.clear()
    return {"boss": boss, "web": web, "peer": peer, "channel": channel}


def _got(sink: Any, who: str, needle: str) -> bool:
    return any(needle in m["raw"].decode() or needle in str(m["msg"]["Subject"])
               for m in sink.messages if who in m["rcpt_tos"])  # fmt: skip


def test_defaults_email_only_and_web(app, session, smtp_sink, team):
    boss, web, peer, ch = team["boss"], team["web"], team["peer"], team["channel"]
    post = make_thread(session, channel=ch, author=peer, title="Plan", body="first")
    session.commit()
    deliver(app)
    # A new thread: email-only waits for the digest, web members hear nothing.
    assert smtp_sink.messages == []
    threads.reply(session, author=boss, thread=post.thread, body="boss here", via=Via.EMAIL)
    threads.reply(session, author=web, thread=post.thread, body="web here", via=Via.WEB)
    session.commit()
    deliver(app)
    # The boss took part: the web member's reply reaches him; never his own post.
    assert [m["msg"]["Subject"] for m in smtp_sink.messages] == ["[Team] Plan"]
    assert to(smtp_sink, "boss@corp.example") and not to(smtp_sink, "web@corp.example")
    smtp_sink.messages.clear()
    threads.reply(session, author=peer, thread=post.thread, body="@web look", via=Via.WEB)
    session.commit()
    deliver(app)
    # A mention reaches the web member (once); the boss gets the reply in his thread.
    assert len(to(smtp_sink, "web@corp.example")) == 1
    assert len(to(smtp_sink, "boss@corp.example")) == 1
    assert not to(smtp_sink, "peer@corp.example")


def test_every_post_override_mute_and_echo(app, session, smtp_sink, team):
    boss, web, peer, ch = team["boss"], team["web"], team["peer"], team["channel"]
    channels.set_delivery(session, user=web, channel=ch, delivery=Delivery.EVERY_POST)
    accounts.update_preferences(session, peer, echo_own_posts=True, delivery=Delivery.MENTIONS)
    post = make_thread(session, channel=ch, author=peer, title="Loud", body="x")
    session.commit()
    deliver(app)
    assert len(to(smtp_sink, "web@corp.example")) == 1
    assert len(to(smtp_sink, "peer@corp.example")) == 1  # echo of one's own post
    session.add(ThreadMute(user_id=web.id, thread_id=post.thread.id))
    threads.reply(session, author=boss, thread=post.thread, body="quiet please", via=Via.EMAIL)
    session.commit()
    deliver(app)
    assert len(to(smtp_sink, "web@corp.example")) == 1  # muted thread
    channels.set_delivery(session, user=web, channel=ch, delivery=Delivery.OFF)
    threads.reply(session, author=boss, thread=post.thread, body="@web hello", via=Via.EMAIL)
    session.commit()
    deliver(app)
    assert len(to(smtp_sink, "web@corp.example")) == 1  # off means off, mentions too


def test_private_channel_only_to_members_now(app, session, smtp_sink, team):
    boss, web, peer = team["boss"], team["web"], team["peer"]
    secret = make_channel(session, slug="hr", name="HR", private=True, reason="personnel")
    for u in (boss, peer):
        channels.add_member(session, user=u, channel=secret, actor=None)
    channels.set_delivery(session, user=web, channel=team["channel"], delivery=None)
    accounts.update_preferences(session, web, delivery=Delivery.EVERY_POST)
    accounts.update_preferences(session, boss, delivery=Delivery.EVERY_POST)
    make_thread(session, channel=secret, author=peer, title="Salaries", body="secret numbers")
    session.commit()
    deliver(app)
    assert _got(smtp_sink, "boss@corp.example", "Salaries")
    assert not to(smtp_sink, "web@corp.example")
    # After the boss left, nothing more from that channel reaches him.
    smtp_sink.messages.clear()
    channels.leave(session, user=boss, channel=secret)
    make_thread(session, channel=secret, author=peer, title="Bonus", body="more secrets")
    session.commit()
    deliver(app)
    assert smtp_sink.messages == []


def test_leaving_after_queueing_cancels_the_mail(app, session, smtp_sink, team):
    boss, peer = team["boss"], team["peer"]
    secret = make_channel(session, slug="board", name="Board", private=True, reason="board")
    for u in (boss, peer):
        channels.add_member(session, user=u, channel=secret, actor=None)
    accounts.update_preferences(session, boss, delivery=Delivery.EVERY_POST)
    make_thread(session, channel=secret, author=peer, title="Merger", body="hush")
    session.commit()
    from mailbridge import delivery, fanout

    fanout.fan_out(app)
    channels.leave(session, user=boss, channel=secret)
    session.commit()
    delivery.drain_outbox(app)
    assert not to(smtp_sink, "boss@corp.example")
    row = session.scalar(
        select(OutboxMessage).where(
            OutboxMessage.to_addr == boss.email, OutboxMessage.dedupe_key.like("post:%")
        )
    )
    session.refresh(row)
    assert row.status == "cancelled"


def test_login_link_and_invitation(app, session, smtp_sink, team):
    boss = team["boss"]
    events.emit(session, "login_link_requested", subject_id=boss.id, token="tok123")
    events.emit(session, "member_invited", actor_id=team["peer"].id, subject_id=boss.id)
    session.commit()
    deliver(app)
    mails = to(smtp_sink, "boss@corp.example")
    assert any("http://hub.test/login/link/tok123" in m.get_body(("plain",)).get_content()
               for m in mails)  # fmt: skip
    assert any("Peer" in m.get_body(("plain",)).get_content() for m in mails)
    assert session.scalar(select(Event).where(Event.processed_at.is_(None))) is None
    assert all(parse(m["raw"])["Auto-Submitted"] == "auto-generated" for m in smtp_sink.messages)


def _waiting_mail(app: Any, session: Any, team: dict[str, Any], body: str) -> Any:
    """The boss (every post) has a mail about a peer's reply waiting in the outbox."""
    boss, peer = team["boss"], team["peer"]
    accounts.update_preferences(session, boss, delivery=Delivery.EVERY_POST)
    post = make_thread(session, channel=team["channel"], author=boss, title="Budget", body="x")
    reply = threads.reply(session, author=peer, thread=post.thread, body=body, via=Via.WEB)
    session.commit()
    fanout.fan_out(app)
    return reply


def _boss_row(session: Any, post_id: int) -> OutboxMessage:
    session.expire_all()
    return session.scalar(
        select(OutboxMessage).where(
            OutboxMessage.to_addr == "boss@corp.example",
            OutboxMessage.dedupe_key == f"post:{post_id}",
        )
    )


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ("mute_channel", "mail from this channel was turned off"),
        ("mute_thread", "the thread was muted"),
        ("hide_post", "the post was deleted or hidden"),
        ("deactivate", "the member no longer takes mail"),
    ],
)
def test_a_waiting_mail_does_not_leave_after_what_changed_meanwhile(
    app, session, smtp_sink, team, change, reason
):
    # Mail waits in the outbox (quiet hours, a relay retry): what happens meanwhile counts when
    # it leaves, as it would have at fan-out.
    reply = _waiting_mail(app, session, team, "ご確認ください")
    boss = team["boss"]
    admin = make_user(session, email="admin@corp.example", name="Admin", admin=True)
    if change == "mute_channel":
        channels.mute(session, user=boss, channel=team["channel"])  # the mail footer's link
    elif change == "mute_thread":
        session.add(ThreadMute(user_id=boss.id, thread_id=reply.thread_id))
    elif change == "hide_post":
        moderation.hide(session, actor=admin, post=reply, note="言葉が強すぎます")
    else:
        accounts.deactivate(session, boss, actor=admin)
    session.commit()
    delivery.drain_outbox(app)
    assert not to(smtp_sink, "boss@corp.example")
    row = _boss_row(session, reply.id)
    assert (row.status, row.last_error) == ("cancelled", reason)


def test_a_waiting_mention_still_goes_to_a_muted_thread_but_not_a_muted_channel(
    app, session, smtp_sink, team
):
    boss = team["boss"]
    reply = _waiting_mail(app, session, team, "@boss 至急ご判断ください")
    session.add(ThreadMute(user_id=boss.id, thread_id=reply.thread_id))
    session.commit()
    delivery.drain_outbox(app)
    # A muted thread still lets mentions through (as at fan-out).
    assert len(to(smtp_sink, "boss@corp.example")) == 1
    smtp_sink.messages.clear()
    second = threads.reply(
        session, author=team["peer"], thread=reply.thread, body="@boss もう一度", via=Via.WEB
    )
    session.commit()
    fanout.fan_out(app)
    channels.mute(session, user=boss, channel=team["channel"])
    session.commit()
    delivery.drain_outbox(app)
    # Off means off, mentions too: the mention queued before the mute stays home.
    assert not to(smtp_sink, "boss@corp.example")
    assert _boss_row(session, second.id).status == "cancelled"
