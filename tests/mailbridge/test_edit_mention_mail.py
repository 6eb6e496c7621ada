"""A name added by editing an older post reaches its member like any mention: a digest member
whose mail waits for the digest finds it there (the digest reads when the member was named, not
when the post was written), and someone who already had mail about the post (every post) gets one
more mail, the mention, once. A mention in a new post is still one mail. Mail over a real SMTP
sink; the edit through the web form."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from hub import db
from hub.db import utcnow
from hub.models import Channel, Delivery, Mention, User
from hub.services import channels
from mailbridge import delivery, digests
from tests.factories import make_channel, make_thread, make_user, signed_in
from tests.fixtures_mailout import deliver, text_of, to

# A Saturday: outside the boss's working days (Mon-Fri 09:00-18:00 in Tokyo).
SATURDAY = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)


@pytest.fixture
def hub(app: Flask, smtp_sink: Any) -> dict[str, int]:
    """Alice wrote 'Q3 plan' in sales naming nobody. The boss (email only, daily digest,
    office hours in Tokyo) and Eve (every post) are members; Eve has had her mail about it."""
    app.config["RELAY_URL"] = smtp_sink.url
    with db.transaction(app) as s:
        alice = make_user(s, email="alice@corp.example", name="Alice Abe")
        boss = make_user(s, email="boss@corp.example", name="部長", email_only=True,
                         timezone="Asia/Tokyo", working_days="mon-fri",
                         working_hours="09:00-18:00")  # fmt: skip
        eve = make_user(s, email="eve@corp.example", name="Eve Endo")
        eve.delivery = Delivery.EVERY_POST
        sales = make_channel(s, slug="sales", name="Sales", creator=alice)
        for member in (boss, eve):
            channels.add_member(s, user=member, channel=sales, actor=None)
        post = make_thread(s, channel=sales, author=alice, title="Q3 plan", body="numbers inside")
        ids = {"post": post.id, "thread": post.thread_id, "channel": sales.id}
    deliver(app)
    (first,) = to(smtp_sink, "eve@corp.example")
    assert "Alice Abe started a thread" in text_of(first)
    assert to(smtp_sink, "boss@corp.example") == []
    smtp_sink.messages.clear()
    return ids


def edit(app: Flask, post_id: int, body: str) -> None:
    r = signed_in(app, "alice@corp.example").post(f"/p/{post_id}/edit", data={"body": body})
    assert r.status_code == 303


def build_digest(app: Flask, sink: Any, email: str, period: str) -> str | None:
    """Build the member's digest now (as the digest job does), send it, return its text."""
    with db.transaction(app) as s:
        user = s.scalar(select(User).where(User.email == email))
        row = digests.build_and_queue_digest(app, s, user, period, utcnow())
    if row is None:
        return None
    delivery.drain_outbox(app)
    return text_of(to(sink, email)[-1])


def test_a_name_added_outside_working_hours_is_in_the_next_digest(app, smtp_sink, hub):
    # The boss's morning digest showed the new thread; nothing named him yet.
    first = build_digest(app, smtp_sink, "boss@corp.example", "daily:1")
    assert first is not None and "Q3 plan" in first and "mentioned you" not in first

    edit(app, hub["post"], "numbers inside, @boss please approve")
    deliver(app, now=SATURDAY)
    # Outside his working days the mention waits for his digest: no mail of its own.
    assert len(to(smtp_sink, "boss@corp.example")) == 1

    second = build_digest(app, smtp_sink, "boss@corp.example", "daily:2")
    assert second is not None, "the mention added by the edit never reached the digest"
    needs = second.split("== Needs you ==", 1)[1].split("==", 1)[0]
    assert f"[#{hub['thread']}] Q3 plan" in needs
    assert "Alice Abe mentioned you: numbers inside, @部長 please approve" in needs
    # Told once: the next digest has nothing new.
    assert build_digest(app, smtp_sink, "boss@corp.example", "daily:3") is None


def test_someone_who_had_every_post_gets_the_mention_once(app, smtp_sink, hub):
    edit(app, hub["post"], "numbers inside, @eve can you check?")
    deliver(app)
    (mail,) = to(smtp_sink, "eve@corp.example")
    assert "Alice Abe mentioned you:" in text_of(mail)
    assert "numbers inside, @Eve Endo can you check?" in text_of(mail)
    assert str(mail["Subject"]) == "[Sales] Q3 plan"
    # Its own Message-ID (a mail client drops a second mail with one it already has).
    with db.transaction(app) as s:
        eve_id = s.scalar(select(User.id).where(User.email == "eve@corp.example"))
    assert str(mail["Message-ID"]).strip("<>") != f"p{hub['post']}.u{eve_id}@hub.test"

    # Taking the name out and putting it back, or the worker running again, sends nothing more.
    edit(app, hub["post"], "numbers inside")
    edit(app, hub["post"], "numbers inside, @eve can you check? thanks")
    deliver(app)
    assert len(to(smtp_sink, "eve@corp.example")) == 1


def test_a_mention_in_a_new_post_is_still_one_mail(app, smtp_sink, hub):
    with db.transaction(app) as s:
        alice = s.scalar(select(User).where(User.email == "alice@corp.example"))
        sales = s.get(Channel, hub["channel"])
        post = make_thread(s, channel=sales, author=alice, title="Budget", body="@eve the budget")
        post_id = post.id
    deliver(app)
    (mail,) = to(smtp_sink, "eve@corp.example")
    assert "Alice Abe mentioned you:" in text_of(mail)
    # An edit that names her again (she is named already) tells her nothing more.
    edit(app, post_id, "@eve the budget, @eve again")
    deliver(app)
    assert len(to(smtp_sink, "eve@corp.example")) == 1
    with db.transaction(app) as s:
        named = list(s.scalars(select(Mention.user_id).where(Mention.post_id == post_id)))
    assert len(named) == 1
