"""The announcement channel is named in the hub's default language (BABEL_DEFAULT_LOCALE)
when the first announcement makes it; an existing one keeps its name."""

from __future__ import annotations

from email import message_from_bytes, policy
from typing import Any

from click.testing import CliRunner
from flask import Flask
from flask.cli import ScriptInfo
from sqlalchemy import select

from hub.db import utcnow
from hub.models import Channel, OutboxMessage, User
from hub.services import announcements
from mailbridge import digests
from mailbridge.cli import main
from tests.factories import make_channel, make_user, signed_in


def _announcement_channel(session: Any) -> tuple[str, str]:
    channel = session.scalar(select(Channel).where(Channel.slug == "announcements"))
    session.rollback()
    return channel.name, channel.purpose


def test_japanese_hub_names_it_oshirase_in_digests_and_pages(app: Flask, session: Any) -> None:
    """A Japanese hub (the default): the digest's section is "== お知らせ ==" with a Japanese
    purpose (and mail subjects "[お知らせ] 健康診断"), not "Announcements"."""
    assert app.config["BABEL_DEFAULT_LOCALE"] == "ja"
    make_user(session, email="admin@corp.example", name="管理者", admin=True)
    boss = make_user(session, email="boss@corp.example", name="部長", email_only=True, locale="ja")
    session.commit()
    boss_id = boss.id
    client = signed_in(app, "admin@corp.example")
    # Not asking for acknowledgement: one that does is listed once, under "あなた宛て".
    form = {"title": "健康診断", "body": "来月実施します。", "audience": "everyone"}
    assert client.post("/admin/announcements", data=form).status_code == 303
    name, purpose = _announcement_channel(session)
    assert name == "お知らせ" and "Purpose" not in purpose and "お知らせ" in purpose
    boss = session.get(User, boss_id)
    assert digests.build_and_queue_digest(app, session, boss, "daily:x", utcnow()) is not None
    session.commit()
    digest = session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "digest"))
    text = message_from_bytes(digest.raw, policy=policy.default).get_body(("plain",)).get_content()
    session.rollback()
    assert "== お知らせ ==\n管理者からの目的やルールのお知らせ" in text
    assert "Announcements" not in text
    page = client.get("/c/announcements").get_data(as_text=True)
    assert "お知らせ" in page


def test_english_hub_names_it_announcements(app: Flask, session: Any, tmp_path: Any) -> None:
    """BABEL_DEFAULT_LOCALE=en: the admin's script makes "Announcements"."""
    app.config["BABEL_DEFAULT_LOCALE"] = "en"
    make_user(session, email="member@corp.example", name="Emily")
    session.commit()
    body = tmp_path / "body.md"
    body.write_text("Next month.", encoding="utf-8")
    result = CliRunner().invoke(
        main,
        ["announcement", "publish", "--title", "Health check", "--body-file", str(body)],
        obj=ScriptInfo(create_app=lambda: app),
    )
    assert result.exit_code == 0, result.output
    assert _announcement_channel(session) == (
        "Announcements",
        "Purpose announcements from the admins, and questions about them.",
    )


def test_an_existing_announcement_channel_keeps_its_name(app: Flask, session: Any) -> None:
    """A hub that has the channel already (made earlier, or renamed by an admin) keeps it."""
    admin = make_user(session, email="admin@corp.example", name="管理者", admin=True)
    make_channel(session, slug="announcements", name="全社連絡", purpose="総務からの連絡")
    announcements.publish(session, author=admin, title="健康診断", body="来月実施します。",
                          ack_required=False, urgent=False, locale="ja")  # fmt: skip
    session.commit()
    assert _announcement_channel(session) == ("全社連絡", "総務からの連絡")
