"""The channel settings page over HTTP (/c/<slug>/settings): owners and admins change the name,
purpose and kind, open a private channel and archive it; plain members get 403, outsiders of a
private channel 404; an archived channel's pages keep it readable and offer no forms."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from hub import create_app, db
from hub.models import Event, Post, Reaction
from hub.services import channels
from tests.conftest import japanese_app, test_settings
from tests.factories import PASSWORD, make_channel, make_thread, make_user, signed_in


@pytest.fixture
def team(app: Flask) -> dict[str, int]:
    """Alice owns the private channel jinji (Bob is in it); Carol is outside; Ada is an admin
    in no channel; Bob owns the open channel sales (a thread in it), Carol is a plain member."""
    return _team(app)


def _team(app: Flask, locale: str = "en") -> dict[str, int]:
    with db.transaction(app) as s:
        alice = make_user(s, email="alice@corp.example", name="Alice", locale=locale)
        bob = make_user(s, email="bob@corp.example", name="Bob", locale=locale)
        carol = make_user(s, email="carol@corp.example", name="Carol")
        make_user(s, email="ada@corp.example", name="Ada", admin=True)
        jinji = make_channel(
            s, slug="jinji", name="人事", purpose="評価と採用", private=True, reason="個人情報",
            creator=alice, policy="anyone",
        )  # fmt: skip
        channels.add_member(s, user=bob, channel=jinji, actor=None)
        secret = make_thread(s, channel=jinji, author=bob, title="評価面談", body="日程です")
        sales = make_channel(s, slug="sales", name="営業", purpose="案件の共有", creator=bob)
        channels.join(s, user=carol, channel=sales)
        post = make_thread(s, channel=sales, author=carol, title="見積", body="相談です")
        return {"sales_thread": post.thread_id, "jinji_thread": secret.thread_id}


def text(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", page))


def state(app: Flask, slug: str) -> tuple[str, str, str, bool, str]:
    with db.transaction(app) as s:
        c = channels.get_channel(s, slug)
        return c.name, c.purpose, str(c.kind), c.private, str(c.status)


def changes(app: Flask) -> int:
    """How many channel changes the audit trail holds."""
    kinds = ("channel_updated", "channel_opened", "channel_archived", "channel_unarchived")
    with db.transaction(app) as s:
        return s.scalar(select(func.count()).select_from(Event).where(Event.kind.in_(kinds)))


FORM = {"name": "営業部", "purpose": "案件と見積の共有", "kind": "social"}


def test_owner_finds_the_settings_page_and_saves(app, team):
    bob = signed_in(app, "bob@corp.example")
    page = bob.get("/c/sales").text
    assert 'href="/c/sales/settings"' in page and "Channel settings" in page
    form = bob.get("/c/sales/settings")
    assert form.status_code == 200
    assert 'value="営業"' in form.text and "案件の共有</textarea>" in form.text
    # The address is shown, not editable, and the page says why.
    assert "sales@hub.test" in form.text and 'name="slug"' not in form.text
    assert "The address cannot be changed" in text(form.text)

    r = bob.post("/c/sales/settings", data=FORM)
    assert r.status_code == 303 and r.headers["Location"] == "/c/sales/settings"
    assert "Saved." in bob.get("/c/sales/settings").text
    assert state(app, "sales") == ("営業部", "案件と見積の共有", "social", False, "active")
    assert "案件と見積の共有" in bob.get("/c/sales").text
    # The same again changes nothing and says so.
    bob.post("/c/sales/settings", data=FORM)
    assert "Nothing was changed." in bob.get("/c/sales/settings").text
    assert changes(app) == 1


def test_with_htmx_a_save_answers_with_a_location(app, team):
    bob = signed_in(app, "bob@corp.example")
    r = bob.post("/c/sales/settings", data=FORM, headers={"HX-Request": "true"})
    assert r.status_code == 204 and r.headers["HX-Location"] == "/c/sales/settings"


def test_a_refused_form_keeps_what_was_typed(app, team):
    bob = signed_in(app, "bob@corp.example")
    r = bob.post("/c/sales/settings", data={"name": "営業部", "purpose": "  ", "kind": "social"})
    assert r.status_code == 422
    page = text(r.text)
    assert "Every channel states its purpose" in page and 'role="alert"' in r.text
    assert 'value="営業部"' in r.text and re.search(r'value="social"\s+checked', r.text)
    r = bob.post("/c/sales/settings", data={**FORM, "name": ""})
    assert r.status_code == 422 and "up to 200 characters" in r.text
    assert "案件と見積の共有</textarea>" in r.text
    assert state(app, "sales") == ("営業", "案件の共有", "work", False, "active")
    assert changes(app) == 0


def test_a_plain_member_gets_403_and_no_link(app, team):
    carol = signed_in(app, "carol@corp.example")
    assert "/c/sales/settings" not in carol.get("/c/sales").text
    assert carol.get("/c/sales/settings").status_code == 403
    for url, data in (
        ("/c/sales/settings", FORM),
        ("/c/sales/archive", {}),
        ("/c/sales/unarchive", {}),
    ):
        assert carol.post(url, data=data).status_code == 403
    bob = signed_in(app, "bob@corp.example")  # a plain member of jinji
    assert bob.get("/c/jinji/settings").status_code == 403
    assert bob.post("/c/jinji/open").status_code == 403
    # An outsider of a private channel is not told it exists.
    assert carol.get("/c/jinji/settings").status_code == 404
    assert carol.post("/c/jinji/open").status_code == 404
    assert state(app, "sales") == ("営業", "案件の共有", "work", False, "active")
    assert state(app, "jinji")[3:] == (True, "active")
    assert changes(app) == 0


def test_an_admin_changes_a_private_channel_they_are_not_in(app, team):
    ada = signed_in(app, "ada@corp.example")
    page = ada.get("/c/jinji/settings")
    assert page.status_code == 200
    # She cannot read it, so the page does not link to it.
    assert 'href="/c/jinji"' not in page.text
    r = ada.post(
        "/c/jinji/settings", data={"name": "人事部", "purpose": "評価と採用", "kind": "work"}
    )
    assert r.status_code == 303
    assert state(app, "jinji")[0] == "人事部"


def test_get_changes_nothing(app, team):
    bob = signed_in(app, "bob@corp.example")
    assert bob.get("/c/sales/settings", query_string=FORM).status_code == 200
    for url in ("/c/sales/archive", "/c/sales/unarchive", "/c/sales/open"):
        assert bob.get(url).status_code == 405
    assert state(app, "sales") == ("営業", "案件の共有", "work", False, "active")
    assert changes(app) == 0


def test_owner_opens_a_private_channel_after_a_warning(app, team):
    alice = signed_in(app, "alice@corp.example")
    page = text(alice.get("/c/jinji/settings").text)
    assert "becomes visible to everyone in the hub" in page
    assert 'action="/c/jinji/open"' in page and "hx-confirm=" in page
    carol = signed_in(app, "carol@corp.example")
    assert carol.get(f"/t/{team['jinji_thread']}").status_code == 404

    r = alice.post("/c/jinji/open")
    assert r.status_code == 303 and r.headers["Location"] == "/c/jinji/settings"
    after = text(alice.get("/c/jinji/settings").text)
    assert "人事 is now open to everyone." in after and 'action="/c/jinji/open"' not in after
    assert state(app, "jinji")[3] is False
    assert "評価面談" in carol.get(f"/t/{team['jinji_thread']}").text
    # A second click (another tab) is told it was done already.
    r = alice.post("/c/jinji/open")
    assert r.status_code == 422 and "That was done already." in text(r.text)


def test_an_open_channel_offers_no_open_button(app, team):
    page = signed_in(app, "bob@corp.example").get("/c/sales/settings").text
    assert "/c/sales/open" not in page and "anyone can read the channel" in page


def test_archived_channel_is_readable_with_a_badge_and_no_forms(app, team):
    bob = signed_in(app, "bob@corp.example")
    r = bob.post("/c/sales/archive")
    assert r.status_code == 303
    assert "営業 is archived." in bob.get("/c/sales/settings").text
    assert state(app, "sales")[4] == "archived"

    carol = signed_in(app, "carol@corp.example")
    channel = carol.get("/c/sales")
    assert channel.status_code == 200 and 'class="badge archived"' in channel.text
    assert "it takes no new posts" in text(channel.text)
    assert "/c/sales/new" not in channel.text and "見積" in channel.text
    assert "mailto:sales@hub.test" not in channel.text  # no longer offered for posting
    thread = carol.get(f"/t/{team['sales_thread']}")
    assert thread.status_code == 200 and "相談です" in thread.text
    assert 'id="reply-form"' not in thread.text and 'id="archived-note"' in thread.text
    assert 'id="archived-note"' in carol.get("/c/sales/new").text
    assert "<textarea" not in carol.get("/c/sales/new").text

    # A reply typed before the archiving is refused with the reason, its text kept.
    r = carol.post(f"/t/{team['sales_thread']}/reply", data={"body": "書きかけの返信"})
    assert r.status_code == 422
    assert "This channel is archived." in r.text and "書きかけの返信</textarea>" in r.text

    # The list shows it last, under its own heading.
    listed = text(bob.get("/").text)
    assert listed.index("人事") < listed.index("Archived channels") < listed.index("営業")

    r = bob.post("/c/sales/unarchive")
    assert r.status_code == 303 and state(app, "sales")[4] == "active"
    assert 'id="reply-form"' in carol.get(f"/t/{team['sales_thread']}").text


def test_an_archived_channel_is_kept_as_it_was(app, team):
    """No reactions come or go and no post is edited (nor by mail: "+1" is refused with the
    reason); its author may still delete a post (something said by mistake can go)."""
    carol = signed_in(app, "carol@corp.example")
    thread = carol.get(f"/t/{team['sales_thread']}").text
    post_id = int(re.search(r'id="post-(\d+)"', thread).group(1))
    assert carol.post(f"/p/{post_id}/react", data={"emoji": "👍"}).status_code == 303
    assert signed_in(app, "bob@corp.example").post("/c/sales/archive").status_code == 303

    thread = carol.get(f"/t/{team['sales_thread']}").text
    assert 'name="emoji"' not in thread and "👍 <span" in thread  # shown, not a button
    assert f"/p/{post_id}/edit" not in thread
    assert carol.post(f"/p/{post_id}/react", data={"emoji": "👍"}).status_code == 403
    assert carol.post(f"/p/{post_id}/react", data={"emoji": "🎉"}).status_code == 403
    assert carol.get(f"/p/{post_id}/edit").status_code == 403
    assert carol.post(f"/p/{post_id}/edit", data={"body": "書き換え"}).status_code == 403
    with db.transaction(app) as s:
        assert s.scalar(select(func.count()).select_from(Reaction)) == 1
        assert s.get(Post, post_id).body == "相談です"
    assert carol.post(f"/p/{post_id}/delete").status_code == 303
    with db.transaction(app) as s:
        assert s.get(Post, post_id).deleted_at is not None


def test_settings_forms_need_the_csrf_token(database_url, tmp_path):
    app = create_app(test_settings(database_url, tmp_path, WTF_CSRF_ENABLED=True))
    try:
        _team(app)
        client = app.test_client()
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)[1]
        data = {"email": "bob@corp.example", "password": PASSWORD, "csrf_token": token}
        assert client.post("/login", data=data).status_code == 303

        assert client.post("/c/sales/settings", data=FORM).status_code == 400
        assert client.post("/c/sales/archive").status_code == 400
        assert state(app, "sales") == ("営業", "案件の共有", "work", False, "active")

        page = client.get("/c/sales/settings").text
        assert page.count('name="csrf_token"') >= 2  # the settings form and the archive form
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)[1]
        assert (
            client.post("/c/sales/settings", data={**FORM, "csrf_token": token}).status_code == 303
        )
        assert client.post("/c/sales/archive", data={"csrf_token": token}).status_code == 303
        assert state(app, "sales") == ("営業部", "案件と見積の共有", "social", False, "archived")
    finally:
        db.engine_of(app).dispose()


# --- in Japanese --------------------------------------------------------------------------------


@pytest.fixture
def ja_app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    """The app in Japanese."""
    with japanese_app(database_url, tmp_path) as app:
        yield app


def test_the_pages_speak_japanese(ja_app: Flask) -> None:
    ids: dict[str, Any] = _team(ja_app, locale="ja")
    alice = signed_in(ja_app, "alice@corp.example")
    assert "チャンネル設定" in alice.get("/c/jinji").text
    page = text(alice.get("/c/jinji/settings").text)
    assert "人事の設定" in page and "このアドレスは変更できません" in page
    assert "スレッドもファイルも含めてすべて、広場の全員から見えるようになり" in page
    assert "このチャンネルを全員に公開する" in page and "このチャンネルをアーカイブする" in page
    r = alice.post("/c/jinji/settings", data={"name": "人事", "purpose": "", "kind": "work"})
    assert r.status_code == 422 and "目的" in text(r.text)

    bob = signed_in(ja_app, "bob@corp.example")
    bob.post("/c/sales/archive")
    assert "営業をアーカイブしました。" in bob.get("/c/sales/settings").text
    assert "アーカイブ済み" in bob.get("/c/sales").text
    thread = text(bob.get(f"/t/{ids['sales_thread']}").text)
    assert "このスレッドは読めますが、返信はできません" in thread
    assert "アーカイブ済みのチャンネル" in text(bob.get("/").text)
