"""A post an admin shows again is news in the digest of the window it was restored in, once,
through the real fan-out, digest job and outbox drain to an SMTP sink (both databases).

The clock is explicit: the digest job and the drain run at given times, and the rows the
services date by the real clock (posts, mentions, moderation actions) are dated by the test.
Digest members here are email-only managers in Tokyo (daily digest at 08:00).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select, update

from hub.models import Mention, ModerationAction, Post, Via
from hub.services import channels, moderation, threads
from mailbridge import jobs
from tests.factories import make_channel, make_thread, make_user
from tests.fixtures_mailout import deliver, text_of

# Tokyo times, as UTC: Monday 30 November 2026 from 10:00, then each morning's digest at 08:00.
MON_10 = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
MON_11 = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
MON_12 = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)
TUE_8 = datetime(2026, 11, 30, 23, 0, tzinfo=UTC)
TUE_10 = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
WED_8 = datetime(2026, 12, 1, 23, 0, tzinfo=UTC)
WED_10 = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
THU_8 = datetime(2026, 12, 2, 23, 0, tzinfo=UTC)
BOSS, KACHO = "yamamoto@corp.example", "nakamura@corp.example"
NEWS = "展示会のブースは東ホールです"


@pytest.fixture
def world(app: Any, session: Any, smtp_sink: Any) -> dict[str, Any]:
    """Two email-only managers on the daily digest (only the first in the private channel),
    the author (a web member) and an admin."""
    app.config["RELAY_URL"] = smtp_sink.url
    office = {"timezone": "Asia/Tokyo", "working_days": "mon-fri", "working_hours": "09:00-18:00"}
    boss = make_user(session, email=BOSS, name="山本 誠", email_only=True, **office)
    kacho = make_user(session, email=KACHO, name="中村 浩二", email_only=True, **office)
    boss.digest_hour = kacho.digest_hour = 8  # before work: the times below
    author = make_user(session, email="sato@corp.example", name="佐藤")
    admin = make_user(session, email="admin@corp.example", name="管理者", admin=True)
    sales = make_channel(session, slug="sales", name="営業")
    hr = make_channel(session, slug="hr", name="人事", private=True, reason="人事情報")
    for user in (boss, kacho, author):
        channels.join(session, user=user, channel=sales)
    for user in (boss, author):
        channels.add_member(session, user=user, channel=hr, actor=None)
    session.commit()
    deliver(app, MON_10)
    smtp_sink.messages.clear()
    return {"sales": sales, "hr": hr, "author": author, "admin": admin, "sink": smtp_sink}


def _write(session: Any, world: dict[str, Any], at: datetime, body: str, **kw: Any) -> Post:
    """A new thread by the author, dated ``at`` (with its mentions)."""
    kw.setdefault("channel", world["sales"])
    post = make_thread(session, author=world["author"], title=kw.pop("title", "展示会"),
                       body=body, **kw)  # fmt: skip
    session.flush()
    post.created_at = post.thread.created_at = post.thread.last_post_at = at
    session.execute(update(Mention).where(Mention.post_id == post.id).values(created_at=at))
    session.commit()
    return post


def _moderate(session: Any, world: dict[str, Any], act: Callable[..., Any], post: Post,
              at: datetime) -> None:  # fmt: skip
    """The admin hides or restores ``post`` at ``at``."""
    act(session, actor=world["admin"], post=post)
    session.flush()
    last = select(func.max(ModerationAction.id)).where(ModerationAction.post_id == post.id)
    session.execute(
        update(ModerationAction)
        .where(ModerationAction.id == last.scalar_subquery())
        .values(created_at=at)
    )
    session.commit()


def _digests(app: Any, world: dict[str, Any], now: datetime) -> dict[str, str]:
    """Run the digest job at ``now`` and send what is due: the text of each digest sent, by
    address (one each at most)."""
    sink = world["sink"]
    before = len(sink.messages)
    jobs.send_digests(app, now)
    deliver(app, now)
    found: dict[str, str] = {}
    for item in sink.messages[before:]:
        if "digest" in str(item["msg"]["Subject"]).lower():
            (address,) = item["rcpt_tos"]
            assert address not in found
            found[address] = text_of(item["msg"])
    return found


def test_hidden_when_the_digest_was_built_it_is_in_the_next_once_restored(app, session, world):
    post = _write(session, world, MON_10, NEWS)
    _write(session, world, MON_10, "議事録を共有します", title="議事録")
    deliver(app, MON_10)
    _moderate(session, world, moderation.hide, post, MON_11)
    first = _digests(app, world, TUE_8).get(BOSS)
    assert first is not None and "議事録を共有します" in first and NEWS not in first
    _moderate(session, world, moderation.restore, post, TUE_10)
    deliver(app, TUE_10)
    second = _digests(app, world, WED_8).get(BOSS)
    assert second is not None and second.count(NEWS) == 1
    assert f"[#{post.thread_id}]" in second
    # Once: the next morning has nothing new.
    assert _digests(app, world, THU_8).get(BOSS) is None


def test_hidden_and_restored_before_the_digest_it_is_in_it_once(app, session, world):
    post = _write(session, world, MON_10, NEWS)
    _moderate(session, world, moderation.hide, post, MON_11)
    _moderate(session, world, moderation.restore, post, MON_12)
    first = _digests(app, world, TUE_8).get(BOSS)
    assert first is not None and first.count(NEWS) == 1
    assert _digests(app, world, WED_8).get(BOSS) is None


@pytest.mark.parametrize("body", [NEWS, f"@yamamoto {NEWS}"], ids=["post", "mention"])
@pytest.mark.parametrize("restored_at", [TUE_10, WED_10], ids=["same-day", "next-day"])
def test_a_post_a_digest_had_is_not_news_again_when_restored(
    app, session, world, restored_at, body
):
    # In Tuesday's digest, hidden on Tuesday at 10:00, shown again the same day or after
    # Wednesday's digest (built while it was hidden): the member read it on Tuesday.
    post = _write(session, world, MON_10, body)
    first = _digests(app, world, TUE_8).get(BOSS)
    assert first is not None and NEWS in first
    _moderate(session, world, moderation.hide, post, TUE_10)
    if restored_at == TUE_10:
        _moderate(session, world, moderation.restore, post, TUE_10)
    assert _digests(app, world, WED_8).get(BOSS) is None
    if restored_at == WED_10:
        _moderate(session, world, moderation.restore, post, WED_10)
    assert _digests(app, world, THU_8).get(BOSS) is None


def test_flags_dismissed_on_a_shown_post_are_no_news(app, session, world):
    post = _write(session, world, MON_10, NEWS)
    assert NEWS in (_digests(app, world, TUE_8).get(BOSS) or "")
    moderation.flag(session, user=world["author"], post=post, reason="?", threshold=3)
    session.commit()
    _moderate(session, world, moderation.restore, post, TUE_10)  # "dismiss": never hidden
    assert _digests(app, world, WED_8).get(BOSS) is None


def test_a_restored_post_in_a_private_channel_reaches_its_members_only(app, session, world):
    post = _write(session, world, MON_10, NEWS, channel=world["hr"], title="人事")
    _moderate(session, world, moderation.hide, post, MON_11)
    assert _digests(app, world, TUE_8) == {}
    _moderate(session, world, moderation.restore, post, TUE_10)
    # Something open to all that day, so the other manager's digest is built and sent.
    _write(session, world, TUE_10, "議事録を共有します", title="議事録")
    sent = _digests(app, world, WED_8)
    boss, kacho = sent.get(BOSS), sent.get(KACHO)
    assert boss is not None and boss.count(NEWS) == 1
    assert kacho is not None and "議事録を共有します" in kacho and NEWS not in kacho


def test_a_mention_in_a_restored_post_needs_the_member_once(app, session, world):
    post = _write(session, world, MON_10, f"@yamamoto {NEWS}？")
    _moderate(session, world, moderation.hide, post, MON_11)
    deliver(app, MON_11)
    assert _digests(app, world, TUE_8).get(BOSS) is None
    _moderate(session, world, moderation.restore, post, TUE_10)
    deliver(app, TUE_10)
    second = _digests(app, world, WED_8).get(BOSS)
    assert second is not None and second.count(NEWS) == 1
    needs = second.split("== Needs you ==")[1]
    assert NEWS in needs and "佐藤" in needs
    assert _digests(app, world, THU_8).get(BOSS) is None


def test_a_reply_restored_counts_in_its_thread(app, session, world):
    # A reply hidden before Tuesday's digest, restored after it: Wednesday's lists the thread
    # with that one post (its other posts were in Tuesday's).
    post = _write(session, world, MON_10, "展示会の件です", title="展示会")
    reply = threads.reply(session, author=world["author"], thread=post.thread, body=NEWS,
                          via=Via.WEB)  # fmt: skip
    session.flush()
    reply.created_at = MON_11
    session.commit()
    _moderate(session, world, moderation.hide, reply, MON_12)
    first = _digests(app, world, TUE_8).get(BOSS)
    assert first is not None and "展示会の件です" in first and NEWS not in first
    _moderate(session, world, moderation.restore, reply, TUE_10)
    second = _digests(app, world, WED_8).get(BOSS)
    assert second is not None and second.count(NEWS) == 1 and "展示会の件です" not in second
    assert "1 new post" in second


def test_shown_spans_doctests() -> None:
    import doctest

    from mailbridge import digest_restored

    result = doctest.testmod(digest_restored)
    assert result.attempted and not result.failed
