"""A week with a frozen clock: announcement → reminders → 100 % acknowledged, exact dashboard."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Flask
from sqlalchemy import select

from hub.models import Event, OutboxMessage, Via
from hub.services import acknowledgements, announcements, channels, dashboard, threads
from hub.services import thanks as thanks_service
from mailbridge import fanout
from tests import fixtures_culture
from tests.factories import make_channel, make_user

db = fixtures_culture.db


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment in the week of Monday 2027-01-04 (UTC)."""
    return datetime(2027, 1, day, hour, minute, tzinfo=UTC)


def test_week_announcement_reminders_full_acknowledgement(app: Flask, db: Any) -> None:
    admin = make_user(db, email="admin@corp.example", name="Admin", admin=True)
    boss = make_user(db, email="boss@corp.example", name="山田 部長", email_only=True)
    web1 = make_user(db, email="web1@corp.example", name="佐藤")
    web2 = make_user(db, email="web2@corp.example", name="鈴木")
    idle = make_user(db, email="idle@corp.example", name="高橋")
    sales = make_channel(db, slug="sales", name="営業")
    secret = make_channel(db, slug="board", name="役員", private=True, reason="人事", creator=admin)
    for member in (boss, web1, web2):
        channels.join(db, user=member, channel=sales)
    channels.join(db, user=admin, channel=sales)
    value = thanks_service.save_value(db, actor=admin, tag="teamwork", name="チームワーク")
    db.commit()

    item = announcements.publish(
        db, author=admin, title="営業部の運用ルール", body="毎週の報告はこのチャンネルで。",
        ack_required=True, urgent=False, channel_ids=[sales.id], remind_every_days=2,
        now=at(4, 9),
    )  # fmt: skip
    assert [u.email for u in announcements.audience(db, item)] == [
        "admin@corp.example",
        "boss@corp.example",
        "web1@corp.example",
        "web2@corp.example",
    ]
    acknowledgements.acknowledge(db, user=admin, announcement=item, via=Via.WEB, now=at(4, 9, 5))
    acknowledgements.acknowledge(db, user=web1, announcement=item, via=Via.WEB, now=at(4, 10))
    db.commit()
    fanout.fan_out(app, now=at(4, 9))
    assert acknowledgements.send_due_reminders(db, at(5, 9)) == 0  # one day: not yet

    assert acknowledgements.send_due_reminders(db, at(6, 9)) == 1  # Wednesday: boss, web2
    db.commit()
    fanout.fan_out(app, now=at(6, 9))
    acknowledgements.acknowledge(
        db, user=boss, announcement=item, via=Via.EMAIL, words="了解しました", now=at(6, 11)
    )
    assert acknowledgements.send_due_reminders(db, at(7, 9)) == 0  # reminded yesterday
    assert acknowledgements.send_due_reminders(db, at(8, 9)) == 1  # Friday: web2 only
    db.commit()
    fanout.fan_out(app, now=at(8, 9))
    acknowledgements.acknowledge(db, user=web2, announcement=item, via=Via.LINK, now=at(8, 14))
    assert acknowledgements.send_due_reminders(db, at(10, 9)) == 0  # everyone has acknowledged

    # The rest of the week's participation.
    post = threads.start_thread(
        db, author=boss, channel=sales, title="週報", body="今週の報告です。", via=Via.EMAIL
    )
    post.created_at = post.thread.created_at = at(7, 8)
    hidden = threads.start_thread(db, author=admin, channel=secret, title="人事", body="非公開",
                                  via=Via.WEB)  # fmt: skip
    hidden.created_at = hidden.thread.created_at = at(7, 12)
    thanks_service.send(db, sender=web1, recipients=[boss, web2], message="ありがとう！",
                        value=value, via=Via.WEB, now=at(9, 10))  # fmt: skip
    db.commit()

    reminders = db.scalars(select(Event).where(Event.kind == "announcement_reminder")).all()
    assert [sorted(e.data["user_ids"]) for e in reminders] == [sorted([boss.id, web2.id]),
                                                              [web2.id]]  # fmt: skip
    mailed = db.scalars(
        select(OutboxMessage.to_addr).where(OutboxMessage.kind == "announcement_reminder")
        .order_by(OutboxMessage.id)
    ).all()  # fmt: skip
    assert mailed == ["boss@corp.example", "web2@corp.example", "web2@corp.example"]
    first = db.scalars(select(OutboxMessage.to_addr).where(OutboxMessage.kind == "announcement"))
    assert sorted(first) == ["admin@corp.example", "boss@corp.example", "web1@corp.example",
                             "web2@corp.example"]  # fmt: skip

    status = acknowledgements.status(db, item)
    assert status["rate"] == 1.0 and status["not_acknowledged"] == []
    # The admin who published it is not among those asked (their own acknowledgement is not
    # counted either): 3 of 3.
    assert [(r["email"], r["via"]) for r in status["acknowledged"]] == [
        ("web1@corp.example", "web"), ("boss@corp.example", "mail"),
        ("web2@corp.example", "link")]  # fmt: skip

    now = at(10, 18)
    data = dashboard.summary(db, now=now)
    assert data["weekly_active"][-2:] == [
        {"week": "2026-12-28", "web": 0, "mail": 0, "total": 0},
        # Web: admin and web1 (acks, a post, thanks). Mail: boss (ack, post) and web2 (link).
        {"week": "2027-01-04", "web": 2, "mail": 2, "total": 4},
    ]
    assert data["ack_rates"] == [{"id": item.id, "title": "営業部の運用ルール",
                                  "acknowledged": 3, "audience": 3, "rate": 1.0}]  # fmt: skip
    # Open: the announcement's post and the weekly report; private: one post in 役員.
    assert data["openness"] == {"open_posts": 2, "private_posts": 1, "open_threads": 2,
                                "private_threads": 1, "ratio": 0.6667}  # fmt: skip
    assert data["posts_per_channel"] == [
        {"slug": "announcements", "name": "お知らせ", "posts": 1},
        {"slug": "board", "name": "役員", "posts": 1},
        {"slug": "sales", "name": "営業", "posts": 1},
    ]
    assert data["thanks_per_value"] == [{"value": "チームワーク", "thanks": 1}]
    assert [u["email"] for u in data["left_behind"]] == ["idle@corp.example"]

    dashboard.nudge(db, actor=admin, user=idle, now=now)
    db.commit()
    fanout.fan_out(app, now=now)
    nudges = db.scalars(select(OutboxMessage.to_addr).where(OutboxMessage.kind == "nudge")).all()
    assert nudges == ["idle@corp.example"]
