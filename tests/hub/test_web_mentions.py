"""The mentions page over HTTP: posts that name me in channels I may still read, newest first,
new ones marked, a count in the navigation; reading changes nothing, a POST records the visit."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from hub import db
from hub.models import User
from hub.services import accounts, channels, threads
from tests.factories import make_channel, make_thread, make_user, signed_in

HX = {"HX-Request": "true"}


@pytest.fixture
def hub(app: Flask) -> dict[str, Any]:
    """Aoki mentions Bob in an open channel, in the private channel jinji (Bob is in it), in a
    post that was then deleted, and Bob mentions himself; Carol is mentioned nowhere."""
    with db.transaction(app) as s:
        aoki = make_user(s, email="aoki@corp.example", name="Aoki Ken")
        bob = make_user(s, email="bob@corp.example", name="Bob Brown")
        make_user(s, email="carol@corp.example", name="Carol")
        sales = make_channel(s, slug="sales", name="Sales", creator=aoki)
        jinji = make_channel(s, slug="jinji", name="人事", private=True, reason="個人情報",
                             creator=aoki, policy="anyone")  # fmt: skip
        channels.add_member(s, user=bob, channel=jinji, actor=None)
        first = make_thread(s, channel=sales, author=aoki, title="Q3 plan",
                            body="@bob could you check the **numbers**?")  # fmt: skip
        secret = make_thread(s, channel=jinji, author=aoki, title="評価面談",
                             body="@bob 面談の日程を決めてください")  # fmt: skip
        gone = threads.reply(s, author=aoki, thread=first.thread, body="@bob ignore me", via="web")
        threads.delete_post(s, actor=aoki, post=gone)
        threads.reply(s, author=bob, thread=first.thread, body="note to self @bob", via="web")
        return {"open": first, "private": secret}


def items(page: str) -> list[str]:
    return re.findall(r'<li class="mention[^"]*" id="mention-\d+">(.*?)</li>', page, re.S)


def nav_count(client: FlaskClient) -> str:
    found = re.search(r'<span id="mentions-count"[^>]*>([^<]*)</span>', client.get("/").text)
    assert found is not None
    return found.group(1).strip()


def test_mentions_are_listed_newest_first_with_where_who_and_what(app, hub) -> None:
    bob = signed_in(app, "bob@corp.example")
    page = bob.get("/mentions").text
    shown = items(page)
    # The deleted post and Bob's own post are not listed.
    assert len(shown) == 2
    newest, older = shown
    assert "人事" in newest and "評価面談" in newest and "面談の日程" in newest
    assert "Sales" in older and "Q3 plan" in older and "Aoki Ken" in older
    assert f'href="/p/{hub["open"].id}"' in older  # the page of its thread holding it
    assert 'href="/c/sales"' in older
    # The snippet is the post's text on one line, as it reads: no Markdown marks, no HTML.
    assert "@bob could you check the numbers?" in older
    assert "<time" in older
    assert all('class="badge new"' in item for item in shown)
    assert nav_count(bob) == "2"

    carol = signed_in(app, "carol@corp.example")
    assert items(carol.get("/mentions").text) == []
    assert "Nobody has mentioned you yet." in carol.get("/mentions").text
    assert nav_count(carol) == ""


def test_a_snippet_reads_as_the_post_shows_it(app, hub) -> None:
    with db.transaction(app) as s:
        aoki = accounts.find_user_by_email(s, "aoki@corp.example")
        assert aoki is not None
        make_thread(s, channel=channels.get_channel(s, "sales"), author=aoki, title="見積",
                    body="@bob **至急**：[見積書](https://files.example/q.pdf) を確認\n\n"
                         "- 単価\n- `<script>` は不要")  # fmt: skip
    newest = items(signed_in(app, "bob@corp.example").get("/mentions").text)[0]
    snippet = newest.split('class="snippet">', 1)[1].split("</p>", 1)[0]
    assert snippet.endswith(
        ": @bob 至急：見積書 (https://files.example/q.pdf) を確認 - 単価 - &lt;script&gt; は不要"
    )
    assert "**" not in snippet and "](" not in snippet and "`" not in snippet


def test_a_member_who_left_a_private_channel_sees_nothing_from_it(app, hub) -> None:
    with db.transaction(app) as s:
        bob = accounts.find_user_by_email(s, "bob@corp.example")
        assert bob is not None
        channels.leave(s, user=bob, channel=channels.get_channel(s, "jinji"))
    client = signed_in(app, "bob@corp.example")
    page = client.get("/mentions").text
    assert len(items(page)) == 1
    assert "評価面談" not in page and "面談の日程" not in page and "人事" not in page
    assert nav_count(client) == "1"


def test_reading_changes_nothing_and_a_post_records_the_visit(app, hub) -> None:
    bob = signed_in(app, "bob@corp.example")
    page = bob.get("/mentions").text
    newest = re.search(r'"up_to": "(\d+)"', page)
    assert newest is not None
    # The page asks to record the visit itself, by POST, once it is shown.
    assert 'hx-post="/mentions/seen"' in page and 'hx-trigger="load"' in page
    bob.get("/mentions")
    bob.get("/mentions/count")
    assert nav_count(bob) == "2"
    assert len(re.findall('class="badge new"', bob.get("/mentions").text)) == 2

    # A mention arriving after the page was drawn stays new when the visit is recorded.
    with db.transaction(app) as s:
        aoki = accounts.find_user_by_email(s, "aoki@corp.example")
        assert aoki is not None
        later = make_thread(s, channel=channels.get_channel(s, "sales"), author=aoki,
                            title="Later", body="@bob one more")  # fmt: skip
        later_post = later.id
    r = bob.post("/mentions/seen", data={"up_to": newest.group(1)}, headers=HX)
    assert r.status_code == 200
    # htmx gets the navigation's count back, out of band.
    assert 'id="mentions-count"' in r.text and 'hx-swap-oob="true"' in r.text
    assert ">1</span>" in r.text
    after = bob.get("/mentions").text
    marked = [item for item in items(after) if 'class="badge new"' in item]
    assert len(marked) == 1 and f'href="/p/{later_post}"' in marked[0]

    # Without JavaScript: the button posts, and the member comes back to the page.
    up_to = re.search(r'name="up_to" value="(\d+)"', after)
    assert up_to is not None
    r = bob.post("/mentions/seen", data={"up_to": up_to.group(1)})
    assert r.status_code == 303 and r.headers["Location"] == "/mentions"
    assert 'class="badge new"' not in bob.get("/mentions").text
    assert nav_count(bob) == ""


def test_the_seen_mark_never_goes_back_or_past_my_own_mentions(app, hub) -> None:
    bob = signed_in(app, "bob@corp.example")
    assert bob.post("/mentions/seen", data={"up_to": "2147483647"}).status_code == 303
    with db.transaction(app) as s:
        me = accounts.find_user_by_email(s, "bob@corp.example")
        assert me is not None
        seen = me.mentions_seen_id
    assert 0 < seen < 100
    bob.post("/mentions/seen", data={"up_to": "0"})
    with db.transaction(app) as s:
        assert s.get(User, me.id).mentions_seen_id == seen  # type: ignore[union-attr]
    assert bob.post("/mentions/seen", data={"up_to": "x"}).status_code == 400


def test_older_mentions_page_back(app, hub, monkeypatch) -> None:
    from hub.services import mentions

    monkeypatch.setattr(mentions, "PAGE_SIZE", 1)
    bob = signed_in(app, "bob@corp.example")
    page = bob.get("/mentions").text
    assert len(items(page)) == 1 and "評価面談" in page
    older = re.search(r'hx-get="(/mentions\?before=\d+)"', page)
    assert older is not None
    rest = bob.get(older.group(1), headers=HX).text
    assert "Q3 plan" in rest and "<html" not in rest and "評価面談" not in rest


def test_signed_out_pages_have_no_count(app, client) -> None:
    assert client.get("/mentions").status_code == 302
    assert client.get("/mentions/count", headers=HX).status_code == 204
    assert client.post("/mentions/seen").status_code == 302
