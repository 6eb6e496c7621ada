"""An urgent announcement's subject carries our urgent label once: not when the admin's title
already says 緊急, 至急 or urgent in brackets (【緊急】, [URGENT], （至急）,
【重要・緊急】...). Through the fan-out and the outbox drain to a real SMTP sink, in Japanese
and English; SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from hub import db
from hub.services import announcements
from tests.conftest import japanese_app
from tests.factories import make_user
from tests.fixtures_mailout import deliver, to

JA, EN = "nakamura@corp.example", "emily@corp.example"


@pytest.fixture
def ja_app(database_url: str, tmp_path: Path, smtp_sink: Any) -> Iterator[Flask]:
    with japanese_app(database_url, tmp_path, RELAY_URL=smtp_sink.url) as app:
        with db.transaction(app) as s:
            make_user(s, email="soumu@corp.example", name="総務", admin=True)
            make_user(s, email=JA, name="中村 浩二", email_only=True, locale="ja")
            make_user(s, email=EN, name="Emily Clark", locale="en")
        yield app


def subjects(app: Flask, sink: Any, title: str, *, urgent: bool = True) -> dict[str, str]:
    """Publish ``title`` (urgent), deliver; the subject each member got, by address."""
    with db.transaction(app) as s:
        announcements.publish(
            s, author=None, title=title, body="詳細は本文のとおりです。", ack_required=False,
            urgent=urgent,
        )  # fmt: skip
    deliver(app)
    return {a: str(to(sink, a)[-1]["Subject"]) for a in (JA, EN)}


def test_the_tester_s_title_gets_no_second_label(ja_app: Flask, smtp_sink: Any) -> None:
    assert subjects(ja_app, smtp_sink, "【緊急】本日の出社について") == {
        JA: "[お知らせ] 【緊急】本日の出社について",
        EN: "[Announcement] 【緊急】本日の出社について",
    }


@pytest.mark.parametrize(
    "title",
    [
        "[緊急] サーバー停止",
        "［至急］ 回答のお願い",
        "（至急）回答のお願い",
        "(URGENT) Server down",
        "[Urgent!] Server down",
        "本日の出社について【大至急】",
        "【重要・緊急】本日の出社について",
        "〔緊急〕停電のお知らせ",
        "＜緊急＞停電のお知らせ",
        "「至急」ご確認ください",
    ],
)
def test_a_title_that_says_it_in_brackets_is_not_labelled_again(
    ja_app: Flask, smtp_sink: Any, title: str
) -> None:
    got = subjects(ja_app, smtp_sink, title)
    assert got == {JA: f"[お知らせ] {title}", EN: f"[Announcement] {title}"}


@pytest.mark.parametrize(
    "title",
    ["本日の出社について", "緊急時の連絡先について", "【緊急連絡網】の更新", "Urgent care hours"],
)
def test_other_urgent_titles_are_labelled(ja_app: Flask, smtp_sink: Any, title: str) -> None:
    got = subjects(ja_app, smtp_sink, title)
    assert got == {JA: f"[緊急] [お知らせ] {title}", EN: f"[Urgent] [Announcement] {title}"}


def test_a_title_that_is_not_urgent_gets_no_label(ja_app: Flask, smtp_sink: Any) -> None:
    got = subjects(ja_app, smtp_sink, "【緊急】訓練のお知らせ", urgent=False)
    assert got[JA] == "[お知らせ] 【緊急】訓練のお知らせ"


def test_doctests() -> None:
    import doctest

    assert doctest.testmod(announcements).failed == 0
