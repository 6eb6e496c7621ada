"""The members page of a channel over HTTP: owners and admins add and remove, others only look."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from hub import create_app, db
from hub.models import Membership
from hub.services import accounts, channels, members
from tests.conftest import test_settings
from tests.factories import PASSWORD, make_channel, make_thread, make_user, signed_in

HX = {"HX-Request": "true"}


def member_emails(app: Flask, slug: str) -> set[str]:
    with db.transaction(app) as s:
        channel = channels.get_channel(s, slug)
        return {m.user.email for m in members.list_members(s, channel)}


@pytest.fixture
def team(app: Flask) -> dict[str, Any]:
    """Alice owns the private channel jinji (Bob is in it, with a thread); Carol is outside,
    Dave is deactivated, Ada is an admin; sales is an open channel."""
    with db.transaction(app) as s:
        alice = make_user(s, email="alice@corp.example", name="Alice")
        bob = make_user(s, email="bob@corp.example", name="Bob")
        make_user(s, email="carol@corp.example", name="Carol")
        dave = make_user(s, email="dave@corp.example", name="Dave")
        make_user(s, email="ada@corp.example", name="Ada", admin=True)
        jinji = make_channel(
            s, slug="jinji", name="人事", private=True, reason="個人情報", creator=alice,
            policy="anyone",
        )  # fmt: skip
        channels.add_member(s, user=bob, channel=jinji, actor=None)
        secret = make_thread(s, channel=jinji, author=bob, title="評価面談", body="極秘の予算案")
        make_channel(s, slug="sales", name="営業", creator=bob)
        accounts.deactivate(s, dave)
        thread_id = secret.thread_id
    return {"thread_id": thread_id}


def test_channel_page_links_its_members_page(app, team):
    bob = signed_in(app, "bob@corp.example")
    page = bob.get("/c/jinji").text
    assert 'href="/c/jinji/members"' in page and "2 members" in page
    members = bob.get("/c/jinji/members")
    assert members.status_code == 200
    rows = re.findall(r'<tr id="member-\d+">(.*?)</tr>', members.text, re.S)
    # Owners first, each with their role.
    assert "Alice" in rows[0] and "Owner" in rows[0]
    assert "Bob" in rows[1] and "Member" in rows[1]


def test_owner_adds_a_member_who_then_sees_the_channel(app, team):
    alice = signed_in(app, "alice@corp.example")
    page = alice.get("/c/jinji/members").text
    assert 'id="add-member"' in page
    # The datalist offers active members who are not in yet.
    choices = re.search(r'<datalist id="member-choices">(.*?)</datalist>', page, re.S).group(1)
    assert "carol@corp.example" in choices
    assert "bob@corp.example" not in choices and "dave@corp.example" not in choices

    carol = signed_in(app, "carol@corp.example")
    assert carol.get("/c/jinji").status_code == 404

    r = alice.post("/c/jinji/members", data={"email": " Carol@Corp.example "})
    assert r.status_code == 303 and r.headers["Location"] == "/c/jinji/members"
    after = alice.get("/c/jinji/members").text
    assert "Carol was added to 人事." in after and 'id="member-' in after
    assert "carol@corp.example" in member_emails(app, "jinji")

    assert carol.get("/c/jinji").status_code == 200
    assert "評価面談" in carol.get(f"/t/{team['thread_id']}").text
    assert "人事" in carol.get("/").text


def test_adding_with_htmx_answers_with_a_location(app, team):
    alice = signed_in(app, "alice@corp.example")
    r = alice.post("/c/jinji/members", data={"email": "carol@corp.example"}, headers=HX)
    assert r.status_code == 204 and r.headers["HX-Location"] == "/c/jinji/members"


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("nobody@corp.example", "No member of the hub has the address nobody@corp.example."),
        ("dave@corp.example", "dave@corp.example belongs to a deactivated member."),
        ("bob@corp.example", "bob@corp.example is already a member of this channel."),
        ("   ", "Type the mail address of a member."),
    ],
)
def test_refused_address_comes_back_in_the_form(app, team, typed, message):
    alice = signed_in(app, "alice@corp.example")
    r = alice.post("/c/jinji/members", data={"email": typed})
    assert r.status_code == 422
    body = r.text
    assert 'role="alert"' in body and message in body
    assert f'name="email" value="{typed}"' in body
    assert member_emails(app, "jinji") == {"alice@corp.example", "bob@corp.example"}


def test_plain_member_sees_the_list_but_may_not_change_it(app, team):
    bob = signed_in(app, "bob@corp.example")
    page = bob.get("/c/jinji/members").text
    assert "Alice" in page and 'id="add-member"' not in page and "/remove" not in page
    assert "The channel's owners and the admins add and remove members." in page
    assert bob.post("/c/jinji/members", data={"email": "carol@corp.example"}).status_code == 403
    with db.transaction(app) as s:
        alice_id = accounts.find_user_by_email(s, "alice@corp.example").id
    assert bob.post(f"/c/jinji/members/{alice_id}/remove").status_code == 403
    assert member_emails(app, "jinji") == {"alice@corp.example", "bob@corp.example"}


def test_outsiders_do_not_find_a_private_members_page(app, team):
    carol = signed_in(app, "carol@corp.example")
    assert carol.get("/c/jinji/members").status_code == 404
    assert carol.post("/c/jinji/members", data={"email": "carol@corp.example"}).status_code == 404
    assert "carol@corp.example" not in member_emails(app, "jinji")


def test_removed_member_no_longer_sees_the_channel_anywhere(app, team):
    bob = signed_in(app, "bob@corp.example")
    thread = f"/t/{team['thread_id']}"
    assert bob.get(thread).status_code == 200
    assert "評価面談" in bob.get("/search", query_string={"q": "極秘"}).text

    alice = signed_in(app, "alice@corp.example")
    with db.transaction(app) as s:
        bob_id = accounts.find_user_by_email(s, "bob@corp.example").id
    r = alice.post(f"/c/jinji/members/{bob_id}/remove")
    assert r.status_code == 303 and r.headers["Location"] == "/c/jinji/members"
    assert "Bob was removed from 人事." in alice.get("/c/jinji/members").text

    assert bob.get("/c/jinji").status_code == 404
    assert bob.get(thread).status_code == 404
    assert bob.get("/c/jinji/members").status_code == 404
    assert "人事" not in bob.get("/").text
    assert "評価面談" not in bob.get("/search", query_string={"q": "極秘"}).text


def test_the_last_owner_stays(app, team):
    alice = signed_in(app, "alice@corp.example")
    with db.transaction(app) as s:
        alice_id = accounts.find_user_by_email(s, "alice@corp.example").id
    page = alice.get("/c/jinji/members").text
    own_row = re.search(rf'<tr id="member-{alice_id}">(.*?)</tr>', page, re.S).group(1)
    assert "/remove" not in own_row
    r = alice.post(f"/c/jinji/members/{alice_id}/remove")
    assert r.status_code == 422
    assert "The last owner cannot be removed" in r.text
    assert "alice@corp.example" in member_emails(app, "jinji")


def test_an_owner_with_a_co_owner_may_step_out(app, team):
    with db.transaction(app) as s:
        bob = accounts.find_user_by_email(s, "bob@corp.example")
        jinji = channels.get_channel(s, "jinji")
        channels.membership(s, bob, jinji).role = "owner"
        alice_id = accounts.find_user_by_email(s, "alice@corp.example").id
    alice = signed_in(app, "alice@corp.example")
    r = alice.post(f"/c/jinji/members/{alice_id}/remove")
    # The page is gone for her now: she lands on the channel list.
    assert r.status_code == 303 and r.headers["Location"] == "/"
    assert alice.get("/c/jinji").status_code == 404
    assert member_emails(app, "jinji") == {"bob@corp.example"}


def test_admin_manages_a_private_channel_without_reading_it(app, team):
    ada = signed_in(app, "ada@corp.example")
    assert ada.get("/c/jinji").status_code == 404
    page = ada.get("/c/jinji/members").text
    assert 'id="add-member"' in page and 'href="/c/jinji"' not in page
    r = ada.post("/c/jinji/members", data={"email": "carol@corp.example"})
    assert r.status_code == 303
    assert "carol@corp.example" in member_emails(app, "jinji")


def test_open_channel_lists_members_and_only_admins_add_there(app, team):
    carol = signed_in(app, "carol@corp.example")
    page = carol.get("/c/sales/members").text
    assert "Bob" in page and "Open: anyone can read the channel and join it." in page
    assert 'id="add-member"' not in page
    assert carol.post("/c/sales/members", data={"email": "dave@corp.example"}).status_code == 403
    ada = signed_in(app, "ada@corp.example")
    assert 'id="add-member"' in ada.get("/c/sales/members").text
    assert ada.post("/c/sales/members", data={"email": "carol@corp.example"}).status_code == 303
    assert member_emails(app, "sales") == {"bob@corp.example", "carol@corp.example"}


def test_member_forms_need_the_csrf_token(database_url, tmp_path):
    app = create_app(test_settings(database_url, tmp_path, WTF_CSRF_ENABLED=True))
    try:
        with db.transaction(app) as s:
            alice = make_user(s, email="alice@corp.example", name="Alice")
            bob = make_user(s, email="bob@corp.example", name="Bob")
            make_user(s, email="carol@corp.example", name="Carol")
            jinji = make_channel(
                s, slug="jinji", name="人事", private=True, reason="r", creator=alice,
                policy="anyone",
            )  # fmt: skip
            channels.add_member(s, user=bob, channel=jinji, actor=None)
            bob_id = bob.id
        client = app.test_client()
        login = client.get("/login").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', login).group(1)
        data = {"email": "alice@corp.example", "password": PASSWORD, "csrf_token": token}
        assert client.post("/login", data=data).status_code == 303

        r = client.post("/c/jinji/members", data={"email": "carol@corp.example"})
        assert r.status_code == 400
        assert client.post(f"/c/jinji/members/{bob_id}/remove").status_code == 400
        assert member_emails(app, "jinji") == {"alice@corp.example", "bob@corp.example"}

        page = client.get("/c/jinji/members").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        r = client.post(
            "/c/jinji/members", data={"email": "carol@corp.example", "csrf_token": token}
        )
        assert r.status_code == 303
        r = client.post(f"/c/jinji/members/{bob_id}/remove", data={"csrf_token": token})
        assert r.status_code == 303
        assert member_emails(app, "jinji") == {"alice@corp.example", "carol@corp.example"}
    finally:
        db.engine_of(app).dispose()


def test_services_refuse_whatever_the_door(app, team):
    """The rules live in hub.services: a plain member or an outsider is refused there too."""
    from hub.errors import Forbidden
    from hub.models import Via

    with db.transaction(app) as s:
        bob = accounts.find_user_by_email(s, "bob@corp.example")
        carol = accounts.find_user_by_email(s, "carol@corp.example")
        alice = accounts.find_user_by_email(s, "alice@corp.example")
        jinji = channels.get_channel(s, "jinji")
        assert channels.can_manage_members(s, alice, jinji)
        assert not channels.can_manage_members(s, bob, jinji)
        with pytest.raises(Forbidden):
            members.add_member_by_email(
                s, channel=jinji, email="carol@corp.example", actor=bob, via=Via.WEB
            )
        with pytest.raises(Forbidden):
            members.remove_member(s, user=alice, channel=jinji, actor=bob, via=Via.WEB)
        with pytest.raises(Forbidden):
            channels.add_member(s, user=carol, channel=jinji, actor=bob)
        rows = s.scalars(select(Membership).where(Membership.channel_id == jinji.id)).all()
        assert len(rows) == 2
