"""An announcement for a private channel's members stays in that channel: its thread (the text
and the questions about it) lives there, so members outside it neither read it on the web, nor
find it in search, nor get it in their digest. A thread lives in one channel, so such an
announcement is for that one channel (a form naming more is refused, keeping what was typed)."""

from __future__ import annotations

from email import message_from_bytes, policy
from typing import Any

from flask import Flask
from sqlalchemy import select

from hub.db import utcnow
from hub.models import Announcement, OutboxMessage, User
from hub.services import channels
from mailbridge import digests
from tests.factories import make_channel, make_user, signed_in

TITLE = "評価面談の日程（人事のみ）"
BODY = "評価面談は12月10日から。対象者リストは別途。"


def _hub(session: Any) -> dict[str, Any]:
    admin = make_user(session, email="admin@corp.example", name="管理者", admin=True, locale="ja")
    hr = make_user(session, email="hr@corp.example", name="伊藤", email_only=True)
    outsider = make_user(session, email="boss@corp.example", name="山本", email_only=True)
    jinji = make_channel(session, slug="jinji", name="人事", private=True, reason="個人情報")
    sales = make_channel(session, slug="sales", name="営業")
    for user in (admin, hr):
        channels.add_member(session, user=user, channel=jinji, actor=None)
    session.commit()
    return {"jinji": jinji.id, "sales": sales.id, "hr": hr.id, "outsider": outsider.id}


def _digest_text(app: Flask, session: Any, user_id: int) -> str:
    user = session.get(User, user_id)
    digests.build_and_queue_digest(app, session, user, f"daily:{user_id}", utcnow())
    session.commit()
    row = session.scalar(
        select(OutboxMessage).where(
            OutboxMessage.kind == "digest", OutboxMessage.user_id == user_id
        )
    )
    raw = row.raw if row is not None else None
    session.rollback()  # on SQLite a transaction holds the write lock: end it
    if raw is None:
        return ""
    return str(message_from_bytes(raw, policy=policy.default).get_body(("plain",)).get_content())


def test_an_announcement_to_a_private_channel_is_read_there_only(app: Flask, session: Any) -> None:
    ids = _hub(session)
    admin = signed_in(app, "admin@corp.example")
    form = {"title": TITLE, "body": BODY, "audience": "channels", "channel_ids": [ids["jinji"]]}
    assert admin.post("/admin/announcements", data=form).status_code == 303
    thread_id = session.scalar(select(Announcement.thread_id))
    session.rollback()

    outsider = signed_in(app, "boss@corp.example")
    assert outsider.get(f"/t/{thread_id}").status_code == 404
    assert TITLE not in outsider.get("/c/announcements").get_data(as_text=True)
    assert 'class="result"' not in outsider.get("/search?q=評価面談").get_data(as_text=True)
    assert "評価面談" not in _digest_text(app, session, ids["outsider"])

    hr = signed_in(app, "hr@corp.example")
    page = hr.get(f"/t/{thread_id}")
    assert page.status_code == 200 and BODY in page.get_data(as_text=True)
    assert "人事" in page.get_data(as_text=True)
    assert TITLE in _digest_text(app, session, ids["hr"])


def test_a_private_channel_with_others_is_refused_keeping_the_text(
    app: Flask, session: Any
) -> None:
    ids = _hub(session)
    admin = signed_in(app, "admin@corp.example")
    form = {"title": TITLE, "body": BODY, "audience": "channels",
            "channel_ids": [ids["jinji"], ids["sales"]]}  # fmt: skip
    answer = admin.post("/admin/announcements", data=form)
    page = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert "そのチャンネルだけを選んでください" in page
    assert BODY in page and TITLE in page
    assert session.scalar(select(Announcement.id)) is None


def test_an_announcement_to_open_channels_stays_in_the_announcement_channel(
    app: Flask, session: Any
) -> None:
    ids = _hub(session)
    admin = signed_in(app, "admin@corp.example")
    form = {"title": "営業会議", "body": "来週です。", "audience": "channels",
            "channel_ids": [ids["sales"]]}  # fmt: skip
    assert admin.post("/admin/announcements", data=form).status_code == 303
    page = signed_in(app, "boss@corp.example").get("/c/announcements").get_data(as_text=True)
    assert "営業会議" in page
