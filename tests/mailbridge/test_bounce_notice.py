"""When a member's mail stops for bouncing, each admin gets one mail in their language: who, why,
what still works and how to start it again. Delivery reports through the real SMTP intake, the
admins' mail at a real SMTP sink; SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from hub.models import User
from mailbridge import outbound, smtp
from tests.conftest import free_port, japanese_app
from tests.factories import make_user
from tests.fixtures_mailout import deliver, text_of, to
from tests.mailbridge.test_bounces import MAILBOX_FULL, days_pass, dsn, member, report


@pytest.fixture
def ja_app(database_url: str, tmp_path: Path, smtp_sink: Any) -> Iterator[Flask]:
    with japanese_app(database_url, tmp_path, RELAY_URL=smtp_sink.url) as app:
        yield app


@pytest.fixture
def ja_intake(ja_app: Flask) -> Iterator[Any]:
    controller = smtp.make_controller(ja_app, "127.0.0.1", free_port())
    controller.start()
    try:
        yield controller
    finally:
        controller.stop()


@pytest.fixture
def ja_session(ja_app: Flask) -> Iterator[Any]:
    with ja_app.app_context():
        s = ja_app.extensions["hiroba.sessionmaker"]()
        try:
            yield s
        finally:
            s.close()


def return_path(app: Flask, session: Any, user: User, n: int) -> str:
    row = outbound.queue_mail(
        app, session, kind="test", dedupe_key=f"t:{n}", to=user, template="help",
        context={"help_address": "help@hub.test", "channels": []},
    )  # fmt: skip
    session.commit()
    return str(row.mail_from)


def test_each_admin_gets_one_mail_in_their_language(
    ja_app: Flask, ja_session: Any, ja_intake: Any, smtp_sink: Any
) -> None:
    app, session = ja_app, ja_session
    make_user(session, email="sato@corp.example", name="佐藤 花子", admin=True, locale="ja")
    make_user(session, email="emily@corp.example", name="Emily Clark", admin=True, locale="en")
    # A deactivated admin gets nothing, nor one whose own mail stopped for bouncing.
    make_user(session, email="gone@corp.example", name="退職", admin=True).active = False
    make_user(session, email="full@corp.example", name="満杯", admin=True).bouncing = True
    boss = make_user(session, email="yamamoto@corp.example", name="山本 誠", email_only=True)
    paths = [return_path(app, session, boss, n) for n in range(3)]
    deliver(app)  # the three mails that will bounce leave first
    for n, path in enumerate(paths):
        if n:
            days_pass(session, 1)
        report(ja_intake, path, dsn(path, n, final=boss.email))
    assert member(session, boss.id).bouncing
    deliver(app)
    deliver(app)

    (ja,) = to(smtp_sink, "sato@corp.example")
    (en,) = to(smtp_sink, "emily@corp.example")
    for nobody in ("gone@corp.example", "full@corp.example"):
        assert to(smtp_sink, nobody) == [], nobody
    # The member had only what was sent before his mail stopped (the three that bounced).
    subjects = [str(m["Subject"]) for m in to(smtp_sink, boss.email)]
    assert subjects.count("How to use Hiroba by mail") == 3
    assert not any("停止" in s or "stopped" in s for s in subjects)
    assert str(en["Subject"]) == "Mail to 山本 誠 has stopped: it bounced"
    body = text_of(en)
    assert "the address does not exist or is disabled" in body
    assert "on 3 days in the last 21 days" in body
    assert "Their own mail to the hub still works" in body
    assert "deactivate them" in body
    assert str(ja["Subject"]) == "山本 誠さんへのメールを停止しました（配信エラー）"
    body = text_of(ja)
    assert "理由: アドレスが存在しないか、使えなくなっています" in body
    assert "過去21日のうち3日" in body and "退職" in body


def test_a_full_mailbox_for_many_days_is_named(
    ja_app: Flask, ja_session: Any, ja_intake: Any, smtp_sink: Any
) -> None:
    app, session = ja_app, ja_session
    app.config["BOUNCE_SOFT_DAYS"] = 3
    make_user(session, email="emily@corp.example", name="Emily Clark", admin=True, locale="en")
    boss = make_user(session, email="yamamoto@corp.example", name="山本 誠", email_only=True)
    paths = [return_path(app, session, boss, n) for n in range(3)]
    for n, path in enumerate(paths):
        if n:
            days_pass(session, 1)
        raw = dsn(path, n, final=boss.email, status="5.2.2", diagnostic=MAILBOX_FULL)
        report(ja_intake, path, raw)
    deliver(app)
    (mail,) = to(smtp_sink, "emily@corp.example")
    body = text_of(mail)
    assert "Why: the mailbox is full" in body and "Mailbox full" in body
    assert "Mail to it bounced on 3 days in the last 21 days." in body
    assert session.scalar(select(User.bouncing).where(User.id == boss.id))
