"""The text part of a post's mail reads as text: the post's Markdown written out as the HTML part
renders it (emphasis marks gone, links as "text (address)", lists and code kept, mentions as
names), for members whose client shows the plain part (a real SMTP sink; both databases)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from hub.db import utcnow
from hub.models import Delivery, Via
from hub.services import accounts, channels, threads
from mailbridge import delivery, digests
from tests.factories import make_channel, make_thread, make_user
from tests.fixtures_mailout import deliver, text_of, to

BODY = """**至急**：[見積書](https://files.example/q.pdf)をご確認ください。

- 価格は\\*税抜\\*です
- `ABC-123` の件
  1. 発注
  2. 納品

@yamamoto さん、*よろしく*お願いします。

```
total = price * 2
```"""


@pytest.fixture
def team(app: Any, session: Any, smtp_sink: Any) -> dict[str, Any]:
    app.config["RELAY_URL"] = smtp_sink.url
    author = make_user(session, email="author@corp.example", name="花子")
    reader = make_user(session, email="reader@corp.example", name="佐藤", email_only=True)
    boss = make_user(session, email="yamamoto@corp.example", name="山本 部長", email_only=True)
    channel = make_channel(session, slug="sales", name="営業")
    for user in (author, reader, boss):
        channels.join(session, user=user, channel=channel)
    accounts.update_preferences(session, reader, delivery=Delivery.EVERY_POST)
    session.commit()
    deliver(app)
    smtp_sink.messages.clear()
    return {"author": author, "reader": reader, "boss": boss, "channel": channel}


def _parts(smtp_sink: Any, address: str) -> tuple[str, str]:
    """The text and HTML parts of the one mail ``address`` got."""
    (mail,) = to(smtp_sink, address)
    return text_of(mail), mail.get_body(("html",)).get_content()


def test_the_text_part_of_a_post_mail_is_plain_text(app, session, smtp_sink, team):
    make_thread(session, channel=team["channel"], author=team["author"], title="見積", body=BODY)
    session.commit()
    deliver(app)
    for address in ("reader@corp.example", "yamamoto@corp.example"):  # every post; mentioned
        text, html = _parts(smtp_sink, address)
        assert "至急：見積書 (https://files.example/q.pdf)をご確認ください。" in text
        assert "\n- 価格は*税抜*です\n- ABC-123 の件\n  1. 発注\n  2. 納品\n" in text
        assert "@山本 部長 さん、よろしくお願いします。" in text
        assert "    total = price * 2" in text
        for markup in ("**", "](", "\\*", "`", "@yamamoto", "```"):
            assert markup not in text, markup
        # The HTML part renders the same Markdown (unchanged).
        assert "<strong>至急</strong>" in html and "@山本 部長" in html


def test_a_reply_in_the_readers_thread_too(app, session, smtp_sink, team):
    # A reply reaches the starter (email-only, daily digest) because he took part.
    first = make_thread(session, channel=team["channel"], author=team["boss"], title="件", body="?")
    session.commit()
    deliver(app)
    smtp_sink.messages.clear()
    threads.reply(
        session, author=team["author"], thread=first.thread, via=Via.WEB,
        body="**了解**です。[議事録](https://hub.test/doc) を見てください",
    )  # fmt: skip
    session.commit()
    deliver(app)
    text, _html = _parts(smtp_sink, "yamamoto@corp.example")
    assert "了解です。議事録 (https://hub.test/doc) を見てください" in text
    assert "**" not in text


def test_the_digest_excerpt_is_plain_text(app, session, smtp_sink, team):
    since = utcnow() - timedelta(minutes=1)
    make_thread(
        session, channel=team["channel"], author=team["author"], title="週報",
        body="**今週**の[資料](https://files.example/w.pdf)です\n\n- `A` 済み",
    )  # fmt: skip
    # A mention in a post shows under "Needs you" with its excerpt.
    make_thread(
        session, channel=team["channel"], author=team["author"], title="確認",
        body="@yamamoto **至急**ご確認を",
    )  # fmt: skip
    session.commit()
    digests.build_and_queue_digest(app, session, team["boss"], "daily:test", utcnow(), since=since)
    session.commit()
    delivery.drain_outbox(app)
    (mail,) = to(smtp_sink, "yamamoto@corp.example")
    text, html = text_of(mail), mail.get_body(("html",)).get_content()
    for part in (text, html):
        assert "今週の資料 (https://files.example/w.pdf)です - A 済み" in part
        assert "@山本 部長 至急ご確認を" in part
        for markup in ("**", "](", "`"):
            assert markup not in part, markup
