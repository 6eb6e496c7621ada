"""Mail about a post that moderation hides, an admin restores or its author deletes, through the
real fan-out and outbox drain to an SMTP sink, with a frozen clock (both databases).

A mail waiting in the outbox (the member's quiet hours) about a post hidden or deleted meanwhile
never leaves: it is cancelled when due. A post shown again reaches the members who would have
been told and were not (their mail was cancelled while it was hidden, or it was hidden before
the fan-out ran), once: nobody who had it, or still has it waiting, gets a second one.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from hub.models import Delivery, OutboxMessage, Post, User, Via
from hub.services import accounts, channels, moderation, threads
from mailbridge import fanout
from tests.factories import make_channel, make_thread, make_user
from tests.fixtures_mailout import deliver, text_of, to

# Friday 27 November 2026, 12:00 UTC = 21:00 in Tokyo (after work), 13:00 in Berlin (working).
FRIDAY = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
# Friday 11:00 in Tokyo; Monday 09:00 in Tokyo, and 11:00 there.
FRIDAY_11_TOKYO = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
MONDAY_9 = datetime(2026, 11, 30, 0, 0, 1, tzinfo=UTC)
MONDAY_11 = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
TOKYO, BERLIN, MIKA = "tokyo@corp.example", "berlin@corp.example", "mika@corp.example"
HIDDEN = "the post was deleted or hidden"


@pytest.fixture
def world(app: Any, session: Any, smtp_sink: Any) -> dict[str, Any]:
    """Two every-post readers (Tokyo after work, Berlin at work), a web member left at the
    defaults (mentions only), the author, three flaggers and an admin."""
    app.config["RELAY_URL"] = smtp_sink.url
    office = {"working_days": "mon-fri", "working_hours": "09:00-18:00"}
    tokyo = make_user(session, email=TOKYO, name="東京", timezone="Asia/Tokyo", **office)
    berlin = make_user(session, email=BERLIN, name="Berlin", timezone="Europe/Berlin", **office)
    mika = make_user(session, email=MIKA, name="美香")
    author = make_user(session, email="author@corp.example", name="作者")
    flaggers = [make_user(session, email=f"f{n}@corp.example") for n in range(3)]
    admin = make_user(session, email="admin@corp.example", name="管理者", admin=True)
    channel = make_channel(session, slug="sales", name="営業")
    for user in (tokyo, berlin, mika, author):
        channels.join(session, user=user, channel=channel)
    for user in (tokyo, berlin):
        accounts.update_preferences(session, user, delivery=Delivery.EVERY_POST)
    session.commit()
    deliver(app, FRIDAY)
    smtp_sink.messages.clear()
    return {"channel": channel, "author": author, "flaggers": flaggers, "admin": admin}


def _post(session: Any, world: dict[str, Any]) -> Post:
    post = make_thread(
        session, channel=world["channel"], author=world["author"], title="週末の件",
        body="@mika 週末の件、よろしく",
    )  # fmt: skip
    session.commit()
    return post


def _flag_until_hidden(session: Any, world: dict[str, Any], post: Post) -> None:
    for user in world["flaggers"]:
        moderation.flag(session, user=user, post=post, reason="不適切", threshold=3)
    assert post.hidden
    session.commit()


def _restore(session: Any, world: dict[str, Any], post: Post) -> None:
    moderation.restore(session, actor=world["admin"], post=post, note="問題なし")
    session.commit()


def _count(sink: Any, address: str, title: str = "週末の件") -> int:
    return sum(title in str(m["Subject"]) for m in to(sink, address))


def _tokyo_row(session: Any, post: Post) -> tuple[str, str | None]:
    session.expire_all()
    row = session.scalar(
        select(OutboxMessage).where(
            OutboxMessage.to_addr == TOKYO, OutboxMessage.dedupe_key == f"post:{post.id}"
        )
    )
    found = row.status, row.last_error
    session.commit()  # no read left open: the drain writes next (SQLite has one writer)
    return found


def _waiting(app: Any, session: Any, smtp_sink: Any, world: dict[str, Any]) -> Post:
    """A post Friday evening in Tokyo: Berlin and the mentioned member have their mail, Tokyo's
    waits for Monday 09:00."""
    post = _post(session, world)
    deliver(app, FRIDAY)
    assert (_count(smtp_sink, BERLIN), _count(smtp_sink, MIKA), _count(smtp_sink, TOKYO)) == (
        1, 1, 0,
    )  # fmt: skip
    assert _tokyo_row(session, post) == ("pending", None)
    return post


def _hide_by_flags(session: Any, world: dict[str, Any], post: Post) -> None:
    _flag_until_hidden(session, world, post)


def _admin_keeps_it_hidden(session: Any, world: dict[str, Any], post: Post) -> None:
    _flag_until_hidden(session, world, post)
    moderation.hide(session, actor=world["admin"], post=post, note="規約違反です")
    session.commit()


def _admin_hides(session: Any, world: dict[str, Any], post: Post) -> None:
    moderation.hide(session, actor=world["admin"], post=post)
    session.commit()


def _author_deletes(session: Any, world: dict[str, Any], post: Post) -> None:
    threads.delete_post(session, actor=world["author"], post=post)
    session.commit()


@pytest.mark.parametrize(
    "change", [_hide_by_flags, _admin_keeps_it_hidden, _admin_hides, _author_deletes]
)
def test_a_waiting_mail_about_a_hidden_or_deleted_post_never_leaves(
    app, session, smtp_sink, world, change
):
    post = _waiting(app, session, smtp_sink, world)
    change(session, world, post)
    deliver(app, MONDAY_9)
    assert _count(smtp_sink, TOKYO) == 0
    assert _tokyo_row(session, post) == ("cancelled", HIDDEN)
    # Nothing more later either.
    deliver(app, MONDAY_11)
    assert _count(smtp_sink, TOKYO) == 0


def test_restored_before_the_mail_was_due_it_leaves_once_as_edited(app, session, smtp_sink, world):
    post = _waiting(app, session, smtp_sink, world)
    _flag_until_hidden(session, world, post)
    # The author softens the post while it is hidden; the admin then shows it again.
    threads.edit_post(
        session, editor=world["author"], post=post, body="@mika 週末の件、失礼しました"
    )
    session.commit()
    _restore(session, world, post)
    deliver(app, FRIDAY)
    deliver(app, MONDAY_9)
    deliver(app, MONDAY_11)
    assert (_count(smtp_sink, TOKYO), _count(smtp_sink, BERLIN), _count(smtp_sink, MIKA)) == (
        1, 1, 1,
    )  # fmt: skip
    # The waiting mail says what the post says now, not what was hidden.
    (mail,) = to(smtp_sink, TOKYO)
    assert "失礼しました" in text_of(mail) and "よろしく" not in text_of(mail)


def test_restored_after_its_waiting_mail_was_cancelled_the_member_is_told_once(
    app, session, smtp_sink, world
):
    post = _waiting(app, session, smtp_sink, world)
    _flag_until_hidden(session, world, post)
    deliver(app, MONDAY_9)
    assert _tokyo_row(session, post) == ("cancelled", HIDDEN)
    # The admin reviews it at 11:00 on Monday and shows it again.
    _restore(session, world, post)
    deliver(app, MONDAY_11)
    (mail,) = [m for m in to(smtp_sink, TOKYO) if "週末の件" in str(m["Subject"])]
    assert "週末の件、よろしく" in text_of(mail)
    assert str(mail["Message-ID"]).strip("<>") == f"p{post.id}.u{_id(session, TOKYO)}@hub.test"
    assert _tokyo_row(session, post)[0] == "sent"
    # Those who had it before it was hidden do not get it again; nor does anyone later.
    deliver(app, MONDAY_11)
    assert (_count(smtp_sink, TOKYO), _count(smtp_sink, BERLIN), _count(smtp_sink, MIKA)) == (
        1, 1, 1,
    )  # fmt: skip


def test_a_name_added_while_hidden_is_told_once_shown_again(app, session, smtp_sink, world):
    # Berlin had the post; the author names him in an edit while it is hidden: that mention
    # (its own mail, under its own key) leaves only once the post is shown again.
    post = _waiting(app, session, smtp_sink, world)
    _flag_until_hidden(session, world, post)
    threads.edit_post(session, editor=world["author"], post=post, body="@mika @berlin 週末の件")
    session.commit()
    deliver(app, FRIDAY)
    assert _count(smtp_sink, BERLIN) == 1
    _restore(session, world, post)
    deliver(app, FRIDAY)
    deliver(app, FRIDAY)
    assert _count(smtp_sink, BERLIN) == 2
    assert "Berlin" in text_of(to(smtp_sink, BERLIN)[-1])  # the name, shown as the mention


def test_hidden_before_the_fan_out_ran_then_restored(app, session, smtp_sink, world):
    post = _post(session, world)
    # Flagged and hidden before the worker fanned the post out (a worker down for a while).
    _flag_until_hidden(session, world, post)
    deliver(app, FRIDAY)
    assert sum(_count(smtp_sink, a) for a in (TOKYO, BERLIN, MIKA)) == 0
    _restore(session, world, post)
    deliver(app, FRIDAY)
    # Berlin (working) and the mentioned member at once; Tokyo on Monday morning.
    assert (_count(smtp_sink, TOKYO), _count(smtp_sink, BERLIN), _count(smtp_sink, MIKA)) == (
        0, 1, 1,
    )  # fmt: skip
    deliver(app, MONDAY_9)
    deliver(app, MONDAY_11)
    assert (_count(smtp_sink, TOKYO), _count(smtp_sink, BERLIN), _count(smtp_sink, MIKA)) == (
        1, 1, 1,
    )  # fmt: skip


def test_dismissing_flags_on_a_visible_post_sends_nothing_again(app, session, smtp_sink, world):
    post = _waiting(app, session, smtp_sink, world)
    moderation.flag(session, user=world["flaggers"][0], post=post, reason="?", threshold=3)
    session.commit()
    _restore(session, world, post)  # "Dismiss the flags": the post was never hidden
    _restore(session, world, post)
    deliver(app, FRIDAY)
    deliver(app, MONDAY_9)
    assert (_count(smtp_sink, TOKYO), _count(smtp_sink, BERLIN), _count(smtp_sink, MIKA)) == (
        1, 1, 1,
    )  # fmt: skip


def test_a_digest_members_mail_held_back_waits_for_the_morning_not_the_digest(
    app, session, smtp_sink, world
):
    # The boss takes the daily digest; a reply in his thread reaches him by mail in working
    # time. Hidden before it left, then shown again after his working day: the digest may have
    # passed meanwhile, so the mail is not left to it but waits for his morning.
    boss = make_user(
        session, email="boss@corp.example", name="部長", email_only=True, timezone="Asia/Tokyo",
        working_days="mon-fri", working_hours="09:00-18:00",
    )  # fmt: skip
    channels.join(session, user=boss, channel=world["channel"])
    first = make_thread(session, channel=world["channel"], author=boss, title="予算", body="?")
    session.commit()
    deliver(app, FRIDAY_11_TOKYO)
    reply = threads.reply(
        session, author=world["author"], thread=first.thread, body="案です", via=Via.WEB
    )
    session.commit()
    fanout.fan_out(app, now=FRIDAY_11_TOKYO)
    _flag_until_hidden(session, world, reply)
    deliver(app, FRIDAY_11_TOKYO)
    _restore(session, world, reply)
    deliver(app, FRIDAY)  # 21:00 in Tokyo
    assert _count(smtp_sink, "boss@corp.example", "予算") == 0
    deliver(app, MONDAY_9)
    assert _count(smtp_sink, "boss@corp.example", "予算") == 1


def _id(session: Any, email: str) -> int:
    found = int(session.scalar(select(User.id).where(User.email == email)))
    session.commit()
    return found
