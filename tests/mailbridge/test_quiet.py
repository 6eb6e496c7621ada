"""Quiet hours with a frozen clock, across time zones (Asia/Tokyo and Europe/Berlin)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from hub.models import Delivery, OutboxMessage, Via
from hub.services import accounts, channels, threads
from mailbridge import delivery, fanout, quiet
from tests.factories import make_channel, make_thread, make_user
from tests.fixtures_mailout import to

# Friday 27 November 2026, 12:00 UTC = 21:00 in Tokyo (after work), 13:00 in Berlin (working).
FRIDAY_NOON_UTC = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def _member(session: Any, email: str, tz: str, **kw: Any) -> Any:
    return make_user(
        session, email=email, timezone=tz, working_days="mon-fri",
        working_hours="09:00-18:00", **kw,
    )  # fmt: skip


def test_pure_rules_across_zones():
    tokyo = accounts_like("Asia/Tokyo")
    berlin = accounts_like("Europe/Berlin")
    assert not quiet.is_working_time(tokyo, FRIDAY_NOON_UTC)
    assert quiet.is_working_time(berlin, FRIDAY_NOON_UTC)
    # Tokyo's next working start is Monday 09:00 JST = Monday 00:00 UTC.
    assert quiet.next_allowed(tokyo, FRIDAY_NOON_UTC) == datetime(2026, 11, 30, 0, 0, tzinfo=UTC)
    assert quiet.next_allowed(berlin, FRIDAY_NOON_UTC) == FRIDAY_NOON_UTC
    # Berlin on Friday 19:00 local (18:00 UTC): Monday 09:00 CET = 08:00 UTC.
    late = datetime(2026, 11, 27, 18, 0, tzinfo=UTC)
    assert quiet.next_allowed(berlin, late) == datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    # Urgent mail always goes now.
    assert quiet.release_at(tokyo, FRIDAY_NOON_UTC, urgent=True) == FRIDAY_NOON_UTC


def accounts_like(tz: str) -> Any:
    from types import SimpleNamespace

    return SimpleNamespace(
        timezone=tz, working_days="mon,tue,wed,thu,fri", work_start=540, work_end=1080
    )


def test_notification_waits_for_the_next_working_period(app, session, smtp_sink):
    app.config["RELAY_URL"] = smtp_sink.url
    tokyo = _member(session, "tokyo@corp.example", "Asia/Tokyo")
    berlin = _member(session, "berlin@corp.example", "Europe/Berlin")
    digest_taker = _member(session, "boss@corp.example", "Asia/Tokyo", email_only=True)
    author = make_user(session, email="author@corp.example")
    channel = make_channel(session, slug="ops")
    for u in (tokyo, berlin, digest_taker):
        accounts.update_preferences(session, u, delivery=Delivery.EVERY_POST)
        channels.join(session, user=u, channel=channel)
    accounts.update_preferences(session, digest_taker, delivery=Delivery.DAILY)
    post = make_thread(session, channel=channel, author=digest_taker, title="Night", body="x")
    session.commit()
    fanout.fan_out(app, now=FRIDAY_NOON_UTC)
    delivery.drain_outbox(app, now=FRIDAY_NOON_UTC)
    smtp_sink.messages.clear()
    threads.reply(session, author=author, thread=post.thread, body="late reply", via=Via.WEB)
    session.commit()
    fanout.fan_out(app, now=FRIDAY_NOON_UTC)
    rows = {
        r.to_addr: r
        for r in session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "post"))
    }
    assert rows["tokyo@corp.example"].not_before == datetime(2026, 11, 30, 0, 0, tzinfo=UTC)
    assert rows["berlin@corp.example"].not_before == FRIDAY_NOON_UTC
    # Outside his hours the digest-taking manager gets it in his next digest instead.
    assert "boss@corp.example" not in rows
    session.commit()
    delivery.drain_outbox(app, now=FRIDAY_NOON_UTC)
    assert night(smtp_sink, "berlin@corp.example") == 1
    assert night(smtp_sink, "tokyo@corp.example") == 0
    # Monday 09:00 in Tokyo: the held mails (the new thread and the reply) go out.
    delivery.drain_outbox(app, now=datetime(2026, 11, 30, 0, 0, 1, tzinfo=UTC))
    assert night(smtp_sink, "tokyo@corp.example") == 2
    assert delivery.drain_outbox(app, now=FRIDAY_NOON_UTC + timedelta(days=7)) == 0


def night(sink: Any, address: str) -> int:
    return sum("Night" in str(m["Subject"]) for m in to(sink, address))
