"""A name added by editing a post is a mention like one in a new post: the member finds it on
/mentions and gets one mail, and only that member; someone already mentioned is never told
twice (taking a name out and putting it back tells nobody again); a private channel's post
mentions only those who may read it. Through the web (htmx and the plain form), mail over SMTP."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from hub import db
from hub.models import Event, Mention, User
from hub.services import channels
from tests.factories import make_channel, make_thread, make_user, signed_in
from tests.fixtures_mailout import deliver, text_of, to

HX = {"HX-Request": "true"}


@pytest.fixture
def hub(app: Flask, smtp_sink: Any) -> dict[str, int]:
    """Alice wrote a post naming Bob in the open channel sales, and one naming nobody in the
    private channel jinji (Alice and Bob are in it, Carol is not). The first mails are sent."""
    app.config["RELAY_URL"] = smtp_sink.url
    with db.transaction(app) as s:
        alice = make_user(s, email="alice@corp.example", name="Alice Abe")
        bob = make_user(s, email="bob@corp.example", name="Bob Brown")
        make_user(s, email="carol@corp.example", name="Carol Chen")
        sales = make_channel(s, slug="sales", name="Sales", creator=alice)
        jinji = make_channel(s, slug="jinji", name="人事", private=True, reason="個人情報",
                             creator=alice, policy="anyone")  # fmt: skip
        channels.add_member(s, user=bob, channel=jinji, actor=None)
        open_post = make_thread(s, channel=sales, author=alice, title="Q3 plan",
                                body="@bob please check the numbers")  # fmt: skip
        secret = make_thread(s, channel=jinji, author=alice, title="評価面談", body="日程の件")
        ids = {"open": open_post.id, "secret": secret.id}
    deliver(app)
    assert len(to(smtp_sink, "bob@corp.example")) == 1  # the mention in the new post
    assert to(smtp_sink, "carol@corp.example") == []
    smtp_sink.messages.clear()
    return ids


def mentioned(app: Flask, post_id: int) -> list[str]:
    with db.transaction(app) as s:
        rows = s.scalars(
            select(User.email)
            .join(Mention, Mention.user_id == User.id)
            .where(Mention.post_id == post_id)
            .order_by(User.email)
        )
        return list(rows)


def mention_events(app: Flask, post_id: int) -> list[int | None]:
    with db.transaction(app) as s:
        rows = s.scalars(
            select(Event.subject_id)
            .where(Event.kind == "member_mentioned", Event.post_id == post_id)
            .order_by(Event.id)
        )
        return list(rows)


def mentions_page(app: Flask, email: str) -> list[str]:
    page = signed_in(app, email).get("/mentions").text
    return re.findall(r'<li class="mention[^"]*" id="mention-\d+">(.*?)</li>', page, re.S)


def test_a_name_added_in_place_with_htmx_reaches_that_member_once(app, smtp_sink, hub):
    post = hub["open"]
    alice = signed_in(app, "alice@corp.example")
    r = alice.post(
        f"/p/{post}/edit", data={"body": "@bob please check the numbers, @carol too"}, headers=HX
    )
    assert r.status_code == 200 and r.text.lstrip().startswith('<article class="post"')
    assert 'class="mention"' in r.text and "Carol Chen" in r.text

    assert mentioned(app, post) == ["bob@corp.example", "carol@corp.example"]
    shown = mentions_page(app, "carol@corp.example")
    assert len(shown) == 1 and "Q3 plan" in shown[0] and "@carol too" in shown[0]
    assert 'class="badge new"' in shown[0]

    deliver(app)
    carol = to(smtp_sink, "carol@corp.example")
    assert len(carol) == 1 and "Q3 plan" in carol[0]["Subject"]
    assert "@Bob Brown please check the numbers, @Carol Chen too" in text_of(carol[0])
    # Bob was mentioned before the edit: no second mail, no second event; Alice gets nothing.
    assert to(smtp_sink, "bob@corp.example") == []
    assert to(smtp_sink, "alice@corp.example") == []
    assert len(mentions_page(app, "bob@corp.example")) == 1

    # Editing again, taking Carol out and putting her back, tells nobody a second time.
    alice.post(f"/p/{post}/edit", data={"body": "@bob please check the numbers"}, headers=HX)
    alice.post(f"/p/{post}/edit", data={"body": "@bob and @carol, the numbers"}, headers=HX)
    deliver(app)
    assert len(to(smtp_sink, "carol@corp.example")) == 1
    assert to(smtp_sink, "bob@corp.example") == []
    assert mentioned(app, post) == ["bob@corp.example", "carol@corp.example"]
    assert len(mentions_page(app, "carol@corp.example")) == 1


def test_a_name_added_with_the_plain_form_is_a_mention_too(app, smtp_sink, hub):
    post = hub["open"]
    alice = signed_in(app, "alice@corp.example")
    r = alice.post(f"/p/{post}/edit", data={"body": "@bob please check, and @Carol Chen"})
    assert r.status_code == 303
    assert mentioned(app, post) == ["bob@corp.example", "carol@corp.example"]
    assert len(mention_events(app, post)) == 2  # Bob's from the post, Carol's from the edit
    deliver(app)
    assert len(to(smtp_sink, "carol@corp.example")) == 1
    assert to(smtp_sink, "bob@corp.example") == []
    # The same text saved again changes nothing and tells nobody.
    alice.post(f"/p/{post}/edit", data={"body": "@bob please check, and @Carol Chen"})
    deliver(app)
    assert len(to(smtp_sink, "carol@corp.example")) == 1
    assert len(mention_events(app, post)) == 2


def test_in_a_private_channel_only_its_members_are_mentioned_by_an_edit(app, smtp_sink, hub):
    post = hub["secret"]
    alice = signed_in(app, "alice@corp.example")
    r = alice.post(f"/p/{post}/edit", data={"body": "日程の件 @bob @carol"}, headers=HX)
    assert r.status_code == 200
    assert mentioned(app, post) == ["bob@corp.example"]
    deliver(app)
    assert len(to(smtp_sink, "bob@corp.example")) == 1
    assert to(smtp_sink, "carol@corp.example") == []
    assert mentions_page(app, "carol@corp.example") == []
    newest, older = mentions_page(app, "bob@corp.example")
    assert "評価面談" in newest and "Q3 plan" in older
