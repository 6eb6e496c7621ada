"""Editing a post: in place with htmx (form fragment, then the post fragment) or on its own page."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select

from hub import create_app, db
from hub.models import Post, PostRevision
from hub.services import channels, threads
from hub.services.threads import MAX_BODY
from tests.conftest import test_settings
from tests.factories import PASSWORD, make_channel, make_thread, make_user

HX = {"HX-Request": "true"}


def arrange(session: Any) -> dict[str, int]:
    """Alice and Bob each wrote a post in an open thread; Bob also wrote in a private channel."""
    alice = make_user(session, email="alice@corp.example", name="Alice")
    bob = make_user(session, email="bob@corp.example", name="Bob")
    sales = make_channel(session, slug="sales", name="営業")
    first = make_thread(session, channel=sales, author=bob, title="A社の件", body="見積もりです")
    mine = threads.reply(session, author=alice, thread=first.thread, body="初版です", via="web")
    secret = make_channel(session, slug="jinji", name="人事", private=True, reason="個人情報")
    channels.add_member(session, user=bob, channel=secret, actor=None)
    hidden = make_thread(session, channel=secret, author=bob, title="評価", body="秘密の予算")
    session.commit()
    return {"thread": first.thread_id, "mine": mine.id, "theirs": first.id, "secret": hidden.id}


@pytest.fixture
def posts(session, auth) -> dict[str, int]:
    """The ids of the thread and posts; Alice is signed in."""
    ids = arrange(session)
    auth.login("alice@corp.example")
    return ids


def body_of(app: Any, post_id: int) -> str:
    with db.transaction(app) as s:
        return s.get(Post, post_id).body


def revisions(app: Any, post_id: int) -> list[str]:
    with db.transaction(app) as s:
        rows = s.scalars(select(PostRevision).where(PostRevision.post_id == post_id))
        return [r.body for r in rows]


def test_edit_in_place_swaps_form_then_post(app, client, posts):
    mine = posts["mine"]
    r = client.get(f"/p/{mine}/edit", headers=HX)
    form = r.text
    assert r.status_code == 200 and "HX-Request" in r.headers["Vary"]
    assert form.lstrip().startswith(f'<article class="post editing" id="post-{mine}"')
    assert "<html" not in form and 'name="csrf_token"' in form
    assert f'hx-post="/p/{mine}/edit"' in form and f'hx-target="#post-{mine}"' in form
    assert re.search(r"<textarea[^>]*>初版です</textarea>", form)
    assert f'hx-get="/p/{mine}"' in form  # Cancel asks for the post back

    r = client.post(f"/p/{mine}/edit", data={"body": "改訂版です"}, headers=HX)
    post = r.text
    assert r.status_code == 200 and "<html" not in post
    assert post.lstrip().startswith('<article class="post"') and f'id="post-{mine}"' in post
    assert "改訂版です" in post and "(edited)" in post and "<textarea" not in post
    assert f'hx-get="/p/{mine}/edit"' in post  # and it can be edited again
    assert body_of(app, mine) == "改訂版です"
    assert revisions(app, mine) == ["初版です"]  # the history keeps the earlier text


def test_cancel_brings_the_post_back_unchanged(app, client, posts):
    mine = posts["mine"]
    client.get(f"/p/{mine}/edit", headers=HX)
    r = client.get(f"/p/{mine}", headers=HX)
    assert r.status_code == 200 and "HX-Request" in r.headers["Vary"]
    assert r.text.lstrip().startswith('<article class="post"') and "初版です" in r.text
    assert "<textarea" not in r.text and "(edited)" not in r.text
    # The same address without htmx is the permalink: the thread, scrolled to the post.
    r = client.get(f"/p/{mine}")
    assert r.status_code == 302 and r.location == f"/t/{posts['thread']}#post-{mine}"
    assert body_of(app, mine) == "初版です" and revisions(app, mine) == []


@pytest.mark.parametrize(
    ("typed", "message"),
    [(" \n  ", "Please write something first."), ("長" * (MAX_BODY + 1), "That is too large.")],
)
def test_refused_edit_keeps_the_text_and_shows_why_in_place(app, client, posts, typed, message):
    mine = posts["mine"]
    r = client.post(f"/p/{mine}/edit", data={"body": typed}, headers=HX)
    assert r.status_code == 200 and "<html" not in r.text
    assert r.text.lstrip().startswith(f'<article class="post editing" id="post-{mine}"')
    alert = re.search(r'<p class="notice error" role="alert">([^<]*)</p>', r.text)
    assert alert and alert.group(1) == message
    textarea = re.search(r"<textarea[^>]*>(.*?)</textarea>", r.text, re.S)
    assert textarea and textarea.group(1) == typed
    assert body_of(app, mine) == "初版です" and revisions(app, mine) == []
    # Without htmx the full page comes back, 422, with the same text and reason.
    r = client.post(f"/p/{mine}/edit", data={"body": typed})
    assert r.status_code == 422 and "<html" in r.text and message in r.text
    assert typed in r.text


def test_without_javascript_the_edit_page_still_works(app, client, posts):
    mine, thread = posts["mine"], posts["thread"]
    page = client.get(f"/t/{thread}").text
    assert f'href="/p/{mine}/edit"' in page  # the Edit control is a real link
    r = client.get(f"/p/{mine}/edit")
    assert r.status_code == 200 and "<html" in r.text and "hx-post" not in r.text
    assert re.search(rf'<form class="edit-form card" method="post" action="/p/{mine}/edit"', r.text)
    r = client.post(f"/p/{mine}/edit", data={"body": "JSなしで直しました"})
    assert r.status_code == 303 and r.location == f"/t/{thread}#post-{mine}"
    page = client.get(f"/t/{thread}").text
    assert "JSなしで直しました" in page and "(edited)" in page
    assert revisions(app, mine) == ["初版です"]


def test_only_the_author_sees_edit_and_the_server_checks_again(app, client, posts):
    mine, theirs = posts["mine"], posts["theirs"]
    page = client.get(f"/t/{posts['thread']}").text
    assert f'href="/p/{mine}/edit"' in page and f'href="/p/{theirs}/edit"' not in page
    assert client.get(f"/p/{theirs}/edit").status_code == 403
    assert client.post(f"/p/{theirs}/edit", data={"body": "乗っ取り"}).status_code == 403
    # With htmx the refusal lands in the page's message area, never the other's text or a form.
    for r in (
        client.get(f"/p/{theirs}/edit", headers=HX),
        client.post(f"/p/{theirs}/edit", data={"body": "乗っ取り"}, headers=HX),
    ):
        assert r.headers["HX-Retarget"] == "#flash" and "<textarea" not in r.text
        assert "Only the author may change this post." in r.text
    assert body_of(app, theirs) == "見積もりです" and revisions(app, theirs) == []
    # A post in a channel Alice may not read does not exist for her.
    secret = posts["secret"]
    assert client.get(f"/p/{secret}/edit").status_code == 404
    assert client.post(f"/p/{secret}/edit", data={"body": "x"}).status_code == 404
    r = client.get(f"/p/{secret}/edit", headers=HX)
    assert r.headers["HX-Retarget"] == "#flash" and "秘密" not in r.text
    assert body_of(app, secret) == "秘密の予算"


def test_a_deleted_post_cannot_be_edited(app, client, posts):
    mine = posts["mine"]
    client.post(f"/p/{mine}/delete")
    assert client.get(f"/p/{mine}/edit").status_code == 403
    assert client.post(f"/p/{mine}/edit", data={"body": "蘇生"}).status_code == 403
    r = client.get(f"/p/{mine}", headers=HX)  # Cancel after a delete elsewhere: the tombstone
    assert "This post was deleted." in r.text and "初版です" not in r.text


def test_the_edit_form_needs_its_csrf_token(database_url, tmp_path):
    app = create_app(test_settings(database_url, tmp_path, WTF_CSRF_ENABLED=True))
    try:
        with db.transaction(app) as s:
            mine = arrange(s)["mine"]
        client = app.test_client()
        login = client.get("/login").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', login).group(1)
        data = {"email": "alice@corp.example", "password": PASSWORD, "csrf_token": token}
        assert client.post("/login", data=data).status_code == 303

        r = client.post(f"/p/{mine}/edit", data={"body": "トークンなし"}, headers=HX)
        assert r.status_code == 400 and body_of(app, mine) == "初版です"
        form = client.get(f"/p/{mine}/edit", headers=HX).text
        token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
        r = client.post(f"/p/{mine}/edit", data={"body": "トークンあり", "csrf_token": token},
                        headers=HX)  # fmt: skip
        assert r.status_code == 200 and "トークンあり" in r.text
        assert body_of(app, mine) == "トークンあり"
    finally:
        db.engine_of(app).dispose()
