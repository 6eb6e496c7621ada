"""An announcement's @handles read as the members' names, as in post mails: in both parts of
the announcement mail and of a reminder, and in the digest's "please acknowledge" item. Through
the fan-out, the digest job and the outbox drain to a real SMTP sink; SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from hub import db
from hub.models import Announcement, User
from hub.services import acknowledgements, announcements
from mailbridge import jobs
from tests.factories import make_user
from tests.fixtures_mailout import deliver, text_of, to

ADMIN, BOSS = "soumu@corp.example", "buchou@corp.example"
BODY = "**当日の受付**は @sato 、会場の案内は @tanaka@corp.example が担当します。"
# Monday 30 November 2026, 10:00 in Tokyo; the next morning's digest at 08:00.
MON_10 = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
TUE_8 = datetime(2026, 11, 30, 23, 0, tzinfo=UTC)


def html_of(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("html",))
    return part.get_content() if part is not None else ""


@pytest.fixture
def published(app: Flask, smtp_sink: Any) -> int:
    """The admin publishes an announcement naming 佐藤 and 田中 by their handles; 部長 is an
    email-only manager on the daily digest (08:00 in Tokyo)."""
    app.config["RELAY_URL"] = smtp_sink.url
    with db.transaction(app) as s:
        admin = make_user(s, email=ADMIN, name="総務", admin=True)
        make_user(s, email="sato@corp.example", name="佐藤 花子")
        make_user(s, email="tanaka@corp.example", name="田中 健太")
        boss = make_user(s, email=BOSS, name="部長", email_only=True, timezone="Asia/Tokyo",
                         working_days="mon-fri", working_hours="09:00-18:00")  # fmt: skip
        boss.digest_hour = 8
        item = announcements.publish(s, author=admin, title="健康診断", body=BODY,
                                     ack_required=True, urgent=False, now=MON_10)  # fmt: skip
        return item.id


def mails(sink: Any) -> list[EmailMessage]:
    return [m for m in to(sink, BOSS) if "健康診断" in str(m["Subject"])]


def assert_names(text: str) -> None:
    assert "@sato" not in text and "@tanaka" not in text, text
    assert "@佐藤 花子" in text and "@田中 健太" in text, text


def test_the_announcement_and_its_reminder_show_names(
    app: Flask, smtp_sink: Any, published: int
) -> None:
    deliver(app, MON_10)
    with db.transaction(app) as s:
        item = s.get(Announcement, published)
        assert item is not None
        acknowledgements.remind(s, announcement=item, actor=None, now=MON_10)
    deliver(app, MON_10)
    mail, reminder = mails(smtp_sink)
    for msg in (mail, reminder):
        assert_names(text_of(msg))
        assert_names(html_of(msg))
    # The text part still reads as text, the HTML part renders the Markdown.
    assert "当日の受付は @佐藤 花子 、" in text_of(mail)
    assert "<strong>当日の受付</strong>" in html_of(mail)


def test_the_digest_item_asking_to_acknowledge_shows_names(
    app: Flask, smtp_sink: Any, published: int
) -> None:
    with db.transaction(app) as s:
        boss = s.scalar(select(User).where(User.email == BOSS))
        assert boss is not None
    jobs.send_digests(app, TUE_8)
    deliver(app, TUE_8)
    (digest,) = [m for m in to(smtp_sink, BOSS) if "digest" in str(m["List-Id"])]
    needs = text_of(digest).split("== Needs you ==", 1)[1].split("\n== ", 1)[0]
    assert "健康診断" in needs
    assert_names(needs)


def test_handles_are_read_as_a_post_reads_them(app: Flask) -> None:
    """An address or its local part names one active member; a local part two members share,
    a deactivated member or an unknown handle names nobody (as in a post)."""
    with db.transaction(app) as s:
        make_user(s, email="sato@corp.example", name="佐藤 花子")
        make_user(s, email="kato@corp.example", name="加藤")
        make_user(s, email="kato@branch.example", name="加藤 (支店)")
        make_user(s, email="old@corp.example", name="退職者").active = False
        found = announcements.named(
            s, ["@sato と @KATO@branch.example、@kato", "@old @nobody @t_naka"]
        )
    assert sorted(found) == [
        ("kato@branch.example", "加藤 (支店)"),
        ("sato@corp.example", "佐藤 花子"),
    ]
