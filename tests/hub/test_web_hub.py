"""Channels and threads over HTTP, with and without htmx; private channels stay private."""

from __future__ import annotations

import io
import re

import pytest

from hub.services import channels, thread_pages, threads
from tests.factories import make_channel, make_thread, make_user

HX = {"HX-Request": "true"}
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture
def hub(session, auth):
    """Two members (alice signed in), an open channel with a thread, a private one without her."""
    alice = make_user(session, email="alice@corp.example", name="Alice")
    bob = make_user(session, email="bob@corp.example", name="Bob")
    sales = make_channel(session, slug="sales", name="営業", purpose="案件の共有と相談")
    secret = make_channel(session, slug="jinji", name="人事", private=True, reason="個人情報")
    channels.add_member(session, user=bob, channel=secret, actor=None)
    first = make_thread(session, channel=sales, author=bob, title="A社の件", body="見積もりです")
    hidden = make_thread(session, channel=secret, author=bob, title="評価", body="秘密の予算")
    session.commit()
    # Load now: a lazy read later would open a transaction that holds the SQLite write lock.
    assert first.thread.posts and hidden.thread.posts
    session.commit()
    auth.login("alice@corp.example")
    return {"alice": alice, "bob": bob, "thread": first.thread, "secret_thread": hidden.thread}


def test_channel_list_and_page(client, hub):
    page = client.get("/").get_data(as_text=True)
    assert "営業" in page and "人事" not in page
    r = client.get("/c/sales")
    body = r.get_data(as_text=True)
    assert "案件の共有と相談" in body and "sales@hub.test" in body and "A社の件" in body


def test_create_channel_keeps_what_was_typed_when_refused(client, hub):
    r = client.post("/channels/new", data={"name": "開発", "slug": "dev", "purpose": ""})
    assert r.status_code == 422
    body = r.get_data(as_text=True)
    assert 'value="開発"' in body and 'value="dev"' in body and 'role="alert"' in body
    r = client.post("/channels/new", data={"name": "開発", "slug": "dev", "purpose": "開発の相談"})
    assert r.status_code == 303 and r.headers["Location"] == "/c/dev"


def test_join_and_leave_partial_with_htmx_and_redirect_without(client, hub):
    r = client.post("/c/sales/leave", headers=HX)
    assert r.status_code == 200 and "HX-Request" in r.headers["Vary"]
    body = r.get_data(as_text=True)
    assert body.lstrip().startswith('<div id="membership"') and "<html" not in body
    r = client.post("/c/sales/join")
    assert r.status_code == 303 and r.headers["Location"] == "/c/sales"


def test_reply_with_htmx_returns_the_new_post_and_fresh_form(client, session, hub):
    thread = hub["thread"]
    last = thread_pages.latest_post_id(session, thread)
    session.commit()  # ends the read without expiring objects
    r = client.post(f"/t/{thread.id}/reply", data={"body": "了解です", "after": last}, headers=HX)
    body = r.get_data(as_text=True)
    assert r.status_code == 200 and "<html" not in body and "了解です" in body
    assert 'id="reply-form"' in body and 'hx-swap-oob="true"' in body
    assert "HX-Request" in r.headers["Vary"]


def test_reply_without_htmx_is_post_redirect_get(client, hub):
    thread = hub["thread"]
    r = client.post(f"/t/{thread.id}/reply", data={"body": "JSなしの返信"})
    assert r.status_code == 303 and r.headers["Location"].startswith(f"/t/{thread.id}#post-")
    assert "JSなしの返信" in client.get(f"/t/{thread.id}").get_data(as_text=True)


def test_refused_reply_shows_the_error_in_the_form(client, hub):
    thread = hub["thread"]
    r = client.post(f"/t/{thread.id}/reply", data={"body": "  "}, headers=HX)
    assert r.status_code == 200 and r.headers["HX-Retarget"] == "#reply-form"
    assert 'role="alert"' in r.get_data(as_text=True)
    assert client.post(f"/t/{thread.id}/reply", data={"body": ""}).status_code == 422


def test_polling_answers_204_when_nothing_is_new(client, session, hub):
    thread = hub["thread"]
    last = thread_pages.latest_post_id(session, thread)
    session.commit()  # ends the read without expiring objects
    r = client.get(f"/t/{thread.id}/posts?after={last}", headers=HX)
    assert r.status_code == 204 and r.data == b""
    new = threads.reply(session, author=hub["bob"], thread=thread, body="新しい投稿", via="web")
    session.commit()
    r = client.get(f"/t/{thread.id}/posts?after={last}", headers=HX)
    assert r.status_code == 200 and "新しい投稿" in r.get_data(as_text=True)
    assert f"after={new.id}" in r.get_data(as_text=True)  # the poller moves on


def test_older_posts_page_back_by_keyset(client, session, hub):
    thread = hub["thread"]
    for n in range(35):
        threads.reply(session, author=hub["bob"], thread=thread, body=f"投稿{n:02d}", via="web")
    session.commit()
    page = client.get(f"/t/{thread.id}").get_data(as_text=True)
    assert "投稿34" in page and "見積もりです" not in page
    before = re.search(r"/t/\d+/posts\?before=(\d+)", page).group(1)
    older = client.get(f"/t/{thread.id}/posts?before={before}", headers=HX).get_data(as_text=True)
    assert "見積もりです" in older and "<html" not in older
    plain = client.get(f"/t/{thread.id}?before={before}").get_data(as_text=True)
    assert "見積もりです" in plain and "<html" in plain


def test_reactions_toggle_in_place(client, session, hub):
    post_id = hub["thread"].posts[0].id
    r = client.post(f"/p/{post_id}/react", data={"emoji": "👍"}, headers=HX)
    body = r.get_data(as_text=True)
    assert r.status_code == 200 and body.lstrip().startswith("<form") and "mine" in body
    r = client.post(f"/p/{post_id}/react", data={"emoji": "👍"})
    assert r.status_code == 303
    assert "mine" not in client.post(f"/p/{post_id}/react", data={"emoji": "🎉"}).location


def test_edit_and_delete_own_posts_only(client, session, hub):
    thread = hub["thread"]
    mine = threads.reply(session, author=hub["alice"], thread=thread, body="初版", via="web")
    theirs_id = thread.posts[0].id
    session.commit()
    assert client.post(f"/p/{mine.id}/edit", data={"body": "改訂版"}).status_code == 303
    page = client.get(f"/t/{thread.id}").get_data(as_text=True)
    assert "改訂版" in page and "(edited)" in page
    assert client.post(f"/p/{theirs_id}/edit", data={"body": "x"}).status_code == 403
    r = client.post(f"/p/{mine.id}/delete", headers=HX)
    assert "This post was deleted." in r.get_data(as_text=True)
    assert "改訂版" not in client.get(f"/t/{thread.id}").get_data(as_text=True)


def test_private_channel_is_not_found_everywhere(client, session, hub):
    secret = hub["secret_thread"]
    assert client.get("/c/jinji").status_code == 404
    assert client.get(f"/t/{secret.id}").status_code == 404
    # The thread's poll is told once (in the message area) and stops: htmx's 286.
    assert client.get(f"/t/{secret.id}/posts?after=0", headers=HX).status_code == 286
    assert client.get(f"/p/{secret.posts[0].id}").status_code == 404
    assert client.post(f"/t/{secret.id}/reply", data={"body": "x"}).status_code == 404
    assert 'class="result"' not in client.get("/search?q=秘密").get_data(as_text=True)
    assert "評価" not in client.get("/search?q=予算").get_data(as_text=True)


def test_htmx_refusal_lands_in_the_message_area(client, hub):
    r = client.get(f"/t/{hub['secret_thread'].id}/posts?after=0", headers=HX)
    assert r.headers["HX-Retarget"] == "#flash" and "秘密" not in r.get_data(as_text=True)


def test_attachments_upload_and_serve_only_to_readers(client, session, auth, hub):
    thread = hub["thread"]
    data = {"body": "図面です", "files": [(io.BytesIO(PNG), "図面.png", "image/png")]}
    r = client.post(f"/t/{thread.id}/reply", data=data, content_type="multipart/form-data")
    assert r.status_code == 303
    page = client.get(f"/t/{thread.id}").get_data(as_text=True)
    url = re.search(r'src="(/attachments/\d+/[^"]+)"', page).group(1)
    with client.get(url) as got:
        assert got.status_code == 200 and got.data == PNG
        assert got.headers["X-Content-Type-Options"] == "nosniff"
        assert got.headers["Content-Disposition"].startswith("inline; filename*=UTF-8''")
    # The same file on a private channel's post is a 404 for non-members.
    bad = {"body": "x", "files": [(io.BytesIO(b"<html>"), "x.html", "text/html")]}
    r = client.post(f"/t/{thread.id}/reply", data=bad, content_type="multipart/form-data")
    assert r.status_code == 422
    auth.logout()
    auth.login("bob@corp.example")
    secret = hub["secret_thread"]
    data = {"body": "評価表", "files": [(io.BytesIO(b"a,b\n"), "評価.csv", "text/csv")]}
    client.post(f"/t/{secret.id}/reply", data=data, content_type="multipart/form-data")
    page = client.get(f"/t/{secret.id}").get_data(as_text=True)
    csv_url = re.search(r'href="(/attachments/\d+/[^"]+)"', page).group(1)
    with client.get(csv_url) as got:
        assert got.status_code == 200
        assert got.headers["Content-Disposition"].startswith("attachment")
    auth.logout()
    auth.login("alice@corp.example")
    assert client.get(csv_url).status_code == 404


def test_pages_render_for_a_signed_in_member(client, hub):
    for path in ("/settings", "/search", "/search?q=見積", "/channels/new", "/c/sales/new"):
        assert client.get(path).status_code == 200, path
    assert client.get("/admin/members").status_code == 403


def test_search_page_lists_each_thread_once(client, session, hub):
    """The title and two replies match: one result, linking to the first matching post."""
    thread = hub["thread"]
    first = threads.reply(session, author=hub["bob"], thread=thread, body="A社の見積", via="web")
    threads.reply(session, author=hub["alice"], thread=thread, body="見積を直しました", via="web")
    threads.reply(session, author=hub["bob"], thread=hub["secret_thread"], body="見積", via="web")
    session.commit()
    for headers in ({}, HX):
        page = client.get("/search?q=A社", headers=headers).get_data(as_text=True)
        assert page.count('class="result"') == 1
        # The post's permalink: it opens the thread's page holding it, however old it is.
        assert f'href="/p/{first.id}"' in page
        # The private channel's matching reply stays out for alice.
        page = client.get("/search?q=見積", headers=headers).get_data(as_text=True)
        assert page.count('class="result"') == 1 and "評価" not in page
