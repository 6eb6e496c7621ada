"""Culture mail to one member waits for their working hours too (frozen clock, real SMTP sink).

The welcome mail, the private channel decision, "your post was hidden" and "you were added to a
channel" go out like a notification: at once in working time, else at the next working start.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from hub.models import OutboxMessage, User, Via
from hub.services import governance, members, moderation
from mailbridge import delivery, fanout
from tests.factories import make_channel, make_thread, make_user
from tests.fixtures_mailout import to

# Tuesday 24 November 2026, 14:00 UTC = 23:00 in Tokyo (after work), 15:00 in Berlin (working).
TUESDAY_23_TOKYO = datetime(2026, 11, 24, 14, 0, tzinfo=UTC)
# Wednesday 09:00 in Tokyo: the next working morning.
WEDNESDAY_09_TOKYO = datetime(2026, 11, 25, 0, 0, tzinfo=UTC)


def office_hours(session: Any, email: str, tz: str, **kw: Any) -> User:
    """A member who works Monday to Friday, 09:00-18:00 in ``tz``."""
    return make_user(
        session, email=email, timezone=tz, working_days="mon-fri",
        working_hours="09:00-18:00", **kw,
    )  # fmt: skip


def welcome(session: Any, admin: User, email: str, tz: str) -> None:
    office_hours(session, email, tz, email_only=True, actor=admin)


def channel_decision(session: Any, admin: User, email: str, tz: str) -> None:
    member = office_hours(session, email, tz)
    governance.set_policy(session, actor=admin, policy="approval")
    ask = make_channel(session, private=True, reason="評価面談の日程", creator=member)
    governance.approve(session, actor=admin, channel=ask, note="年度末に見直します")


def post_hidden(session: Any, admin: User, email: str, tz: str) -> None:
    author = office_hours(session, email, tz)
    post = make_thread(session, channel=make_channel(session), author=author, body="言い過ぎ")
    moderation.hide(session, actor=admin, post=post, note="表現を和らげてください")


def channel_added(session: Any, admin: User, email: str, tz: str) -> None:
    office_hours(session, email, tz)
    jinji = make_channel(session, private=True, reason="個人情報", creator=admin)
    members.add_member_by_email(session, channel=jinji, email=email, actor=admin, via=Via.WEB)


CASES: dict[str, Callable[[Any, User, str, str], None]] = {
    "welcome": welcome,
    "channel_decision": channel_decision,
    "post_hidden": post_hidden,
    "channel_added": channel_added,
}


@pytest.mark.parametrize("kind", list(CASES))
def test_mail_to_one_member_waits_for_their_morning(app, session, smtp_sink, kind):
    app.config["RELAY_URL"] = smtp_sink.url
    admin = make_user(session, email="admin@corp.example", admin=True)
    CASES[kind](session, admin, "tokyo@corp.example", "Asia/Tokyo")
    CASES[kind](session, admin, "berlin@corp.example", "Europe/Berlin")
    session.commit()

    fanout.fan_out(app, now=TUESDAY_23_TOKYO)
    rows = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind)).all()
    not_before = {r.to_addr: r.not_before for r in rows}
    assert not_before == {
        "tokyo@corp.example": WEDNESDAY_09_TOKYO,  # 23:00 in Tokyo: the next working morning
        "berlin@corp.example": TUESDAY_23_TOKYO,  # 15:00 in Berlin: at once
    }
    session.commit()

    delivery.drain_outbox(app, now=TUESDAY_23_TOKYO)
    assert len(to(smtp_sink, "berlin@corp.example")) == 1
    assert to(smtp_sink, "tokyo@corp.example") == []
    # A minute before nine it still waits; at nine it goes.
    delivery.drain_outbox(app, now=WEDNESDAY_09_TOKYO - timedelta(minutes=1))
    assert to(smtp_sink, "tokyo@corp.example") == []
    delivery.drain_outbox(app, now=WEDNESDAY_09_TOKYO)
    assert len(to(smtp_sink, "tokyo@corp.example")) == 1
