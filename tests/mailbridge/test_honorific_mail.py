"""Mail to and from members whose display name carries their title ("部長 山田", "山本 部長")
reads without a second honorific in Japanese ("部長 山田があなたをメンションしました", not
"部長 山田 さんが…"); an untitled name takes さん right after it ("山田 太郎さん"); English mail
has no さん; what members typed in their posts is left as they wrote it. The welcome mail, a
mention's mail and the digest, over a real SMTP sink (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from hub import db
from hub.db import utcnow
from hub.models import User
from hub.services import channels
from mailbridge import delivery, digests
from tests.conftest import japanese_app
from tests.factories import make_channel, make_thread, make_user
from tests.fixtures_mailout import deliver, text_of, to

# (address, name, locale): everyone takes part by mail only, so each gets the welcome mail.
MEMBERS = (
    ("buchou@corp.example", "部長 山田", "ja"),
    ("yamamoto@corp.example", "山本 部長", "ja"),
    ("taro@corp.example", "山田 太郎", "ja"),
    ("emily@corp.example", "Emily Carter", "en"),
)
DOUBLED = ("部長 さん", "部長さん", "部長 山田 さん", "部長 山田さん", "太郎 さん")


@pytest.fixture
def ja_app(database_url: str, tmp_path: Path, smtp_sink: Any) -> Iterator[Flask]:
    with japanese_app(database_url, tmp_path, RELAY_URL=smtp_sink.url) as app:
        yield app


@pytest.fixture
def team(ja_app: Flask) -> dict[str, int]:
    """The four members in 営業, their welcome mails delivered."""
    with db.transaction(ja_app) as s:
        sales = make_channel(s, slug="sales", name="営業", purpose="営業部の連絡と相談")
        ids = {}
        for email, name, locale in MEMBERS:
            user = make_user(s, email=email, name=name, locale=locale, email_only=True)
            channels.join(s, user=user, channel=sales)
            ids[email.split("@")[0]] = user.id
    deliver(ja_app)
    return ids


def _parts(mail: EmailMessage) -> tuple[str, str]:
    html = mail.get_body(("html",))
    return text_of(mail), html.get_content() if html is not None else ""


def _one(sink: Any, address: str, words: str) -> tuple[str, str, str]:
    """Subject, text and HTML of the one mail to ``address`` whose text has ``words``."""
    (mail,) = [m for m in to(sink, address) if words in text_of(m)]
    return (str(mail["Subject"]), *_parts(mail))


def _no_double_honorific(*texts: str) -> None:
    for text in texts:
        for doubled in DOUBLED:
            assert doubled not in text, doubled


def test_the_welcome_mail(ja_app, smtp_sink, team):
    for address, greeting in (
        ("buchou@corp.example", "部長 山田、Hiroba（広場）へようこそ"),
        ("yamamoto@corp.example", "山本 部長、Hiroba（広場）へようこそ"),
        ("taro@corp.example", "山田 太郎さん、Hiroba（広場）へようこそ"),
    ):
        subject, text, html = _one(smtp_sink, address, "ようこそ")
        assert subject == greeting
        assert text.startswith(greeting + "\n") and f"<h2>{greeting}</h2>" in html
        _no_double_honorific(subject, text, html)
    subject, text, html = _one(smtp_sink, "emily@corp.example", "Welcome to Hiroba")
    assert subject == "Welcome to Hiroba, Emily Carter"
    assert "さん" not in subject + text + html


def _post(ja_app: Flask, author: str, title: str, body: str) -> None:
    with db.transaction(ja_app) as s:
        sales = channels.get_channel(s, "sales")
        user = s.get(User, author)
        make_thread(s, channel=sales, author=user, title=title, body=body)


def test_a_mention_mail_names_the_author_once_honoured(ja_app, smtp_sink, team):
    smtp_sink.messages.clear()
    # What members type stays theirs, さん and all ("@yamamoto さん" reads "@山本 部長 さん").
    _post(ja_app, team["buchou"], "見積", "@yamamoto さん、@taro さん、見積をご確認ください。")
    _post(ja_app, team["yamamoto"], "承認", "@buchou 承認しました。")
    _post(ja_app, team["taro"], "資料", "@yamamoto 資料を送りました。")
    _post(ja_app, team["buchou"], "Quote", "@emily please check the quote.")
    deliver(ja_app)

    for address, author in (
        ("yamamoto@corp.example", "部長 山田"),
        ("taro@corp.example", "部長 山田"),
        ("buchou@corp.example", "山本 部長"),
        ("yamamoto@corp.example", "山田 太郎さん"),
    ):
        headline = f"{author}があなたをメンションしました:"
        _subject, text, html = _one(smtp_sink, address, headline)
        assert f"<strong>{headline}</strong>" in html
        if author == "部長 山田":
            assert "@山本 部長 さん、@山田 太郎 さん、見積をご確認ください。" in text
        else:
            _no_double_honorific(text, html)
    _subject, text, html = _one(smtp_sink, "emily@corp.example", "mentioned you")
    assert "部長 山田 mentioned you:" in text
    assert "<strong>部長 山田 mentioned you:</strong>" in html
    assert "さん" not in text + html


def _digest(ja_app: Flask, user_id: int, since: Any) -> None:
    with db.transaction(ja_app) as s:
        user = s.get(User, user_id)
        queued = digests.build_and_queue_digest(
            ja_app, s, user, "daily:test", utcnow(), since=since
        )
        assert queued is not None
    delivery.drain_outbox(ja_app)


def test_the_digest_greets_and_names_without_a_second_honorific(ja_app, smtp_sink, team):
    since = utcnow() - timedelta(minutes=1)
    _post(ja_app, team["buchou"], "見積", "@yamamoto @taro @emily 見積をご確認ください。")
    _post(ja_app, team["yamamoto"], "承認", "@buchou 承認しました。")
    _post(ja_app, team["taro"], "資料", "@yamamoto 資料を送りました。")
    smtp_sink.messages.clear()
    for user_id in team.values():
        _digest(ja_app, user_id, since)

    for address, greeting, mentions in (
        ("buchou@corp.example", "部長 山田、", ["山本 部長があなたをメンションしました"]),
        (
            "yamamoto@corp.example", "山本 部長、",
            ["部長 山田があなたをメンションしました", "山田 太郎さんがあなたをメンションしました"],
        ),
        ("taro@corp.example", "山田 太郎さん、", ["部長 山田があなたをメンションしました"]),
    ):  # fmt: skip
        subject, text, html = _one(smtp_sink, address, "以降の新着です。")
        for part in (text, html):
            assert f"{greeting}{since_local(part)} 以降の新着です。" in part
            for mention in mentions:
                assert mention in part, (address, mention)
        _no_double_honorific(subject, text, html)
    _subject, text, html = _one(smtp_sink, "emily@corp.example", "Here is what is new")
    assert "Hello Emily Carter. Here is what is new since" in text
    assert "部長 山田 mentioned you" in text and "部長 山田 mentioned you" in html
    assert "さん" not in text + html


def since_local(part: str) -> str:
    """The digest's 'since' time as the part writes it (the member's clock)."""
    start = part.index("以降の新着です。") - len("2026-12-01 08:00 ")
    return part[start : start + len("2026-12-01 08:00")]
