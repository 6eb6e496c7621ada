"""Channel owners over HTTP and the CLI: owners and admins make members owners, a channel keeps
an owner (neither stepping down nor Leave takes its last one while others remain), and the
signed-in settings page lists the channels muted from outside with an Unmute button."""

from __future__ import annotations

import html
import re
import threading
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.cli import ScriptInfo
from sqlalchemy import func, select

from hub import create_app, db
from hub.errors import Forbidden, Invalid, Reason
from hub.models import ChannelMute, Via
from hub.services import accounts, channels, members
from mailbridge.cli import main
from tests.conftest import test_settings
from tests.factories import PASSWORD, make_channel, make_user, signed_in

HX = {"HX-Request": "true"}


def roles(app: Flask, slug: str) -> dict[str, str]:
    """Each active member's address and role, as the members page lists them."""
    with db.transaction(app) as s:
        channel = channels.get_channel(s, slug)
        return {m.user.email: m.role for m in members.list_members(s, channel)}


def user_id(app: Flask, email: str) -> int:
    with db.transaction(app) as s:
        return accounts.find_user_by_email(s, email).id


def row(page: str, uid: int) -> str:
    """The members table row of the member ``uid``."""
    found = re.search(rf'<tr id="member-{uid}">(.*?)</tr>', page, re.S)
    assert found, page
    return found.group(1)


def text(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", page))


@pytest.fixture
def team(app: Flask) -> None:
    """Alice owns the private channel jinji (Bob is in it); Carol is outside; Ada is an admin;
    Bob owns the open channel sales, where Carol is a plain member."""
    with db.transaction(app) as s:
        alice = make_user(s, email="alice@corp.example", name="Alice")
        bob = make_user(s, email="bob@corp.example", name="Bob")
        carol = make_user(s, email="carol@corp.example", name="Carol")
        make_user(s, email="ada@corp.example", name="Ada", admin=True)
        jinji = make_channel(
            s, slug="jinji", name="人事", private=True, reason="個人情報", creator=alice,
            policy="anyone",
        )  # fmt: skip
        channels.add_member(s, user=bob, channel=jinji, actor=None)
        sales = make_channel(s, slug="sales", name="営業", creator=bob)
        channels.join(s, user=carol, channel=sales)


# --- make owner / remove owner role -----------------------------------------------------------


def test_owner_makes_a_member_owner_who_can_then_manage(app, team):
    alice = signed_in(app, "alice@corp.example")
    bob_id = user_id(app, "bob@corp.example")
    page = alice.get("/c/jinji/members").text
    assert "Make owner" in row(page, bob_id)

    r = alice.post(f"/c/jinji/members/{bob_id}/role", data={"role": "owner"})
    assert r.status_code == 303 and r.headers["Location"] == "/c/jinji/members"
    page = alice.get("/c/jinji/members").text
    assert "Bob is now an owner of 人事." in page
    assert "Owner" in row(page, bob_id) and "Make owner" not in row(page, bob_id)
    assert roles(app, "jinji") == {"alice@corp.example": "owner", "bob@corp.example": "owner"}

    # Bob manages the channel now: he sees the form and adds Carol.
    bob = signed_in(app, "bob@corp.example")
    assert 'id="add-member"' in bob.get("/c/jinji/members").text
    assert bob.post("/c/jinji/members", data={"email": "carol@corp.example"}).status_code == 303
    assert "carol@corp.example" in roles(app, "jinji")


def test_role_change_with_htmx_answers_with_a_location(app, team):
    alice = signed_in(app, "alice@corp.example")
    bob_id = user_id(app, "bob@corp.example")
    r = alice.post(f"/c/jinji/members/{bob_id}/role", data={"role": "owner"}, headers=HX)
    assert r.status_code == 204 and r.headers["HX-Location"] == "/c/jinji/members"
    assert roles(app, "jinji")["bob@corp.example"] == "owner"


def test_a_plain_member_may_not_change_roles(app, team):
    bob = signed_in(app, "bob@corp.example")
    page = bob.get("/c/jinji/members").text
    assert "Make owner" not in page and "/role" not in page
    bob_id, alice_id = user_id(app, "bob@corp.example"), user_id(app, "alice@corp.example")
    assert bob.post(f"/c/jinji/members/{bob_id}/role", data={"role": "owner"}).status_code == 403
    r = bob.post(f"/c/jinji/members/{alice_id}/role", data={"role": "member"})
    assert r.status_code == 403
    # Carol is outside the private channel: it is not there for her at all.
    carol = signed_in(app, "carol@corp.example")
    r = carol.post(f"/c/jinji/members/{bob_id}/role", data={"role": "owner"})
    assert r.status_code == 404
    assert roles(app, "jinji") == {"alice@corp.example": "owner", "bob@corp.example": "member"}


def test_the_last_owner_cannot_step_down(app, team):
    alice = signed_in(app, "alice@corp.example")
    alice_id = user_id(app, "alice@corp.example")
    own = row(alice.get("/c/jinji/members").text, alice_id)
    assert "Remove owner role" not in own and "Make owner" not in own
    r = alice.post(f"/c/jinji/members/{alice_id}/role", data={"role": "member"})
    assert r.status_code == 422
    assert "The last owner stays an owner: make another member owner first." in text(r.text)
    assert roles(app, "jinji")["alice@corp.example"] == "owner"


def test_an_owner_with_a_co_owner_steps_down_and_loses_the_rights(app, team):
    alice = signed_in(app, "alice@corp.example")
    alice_id, bob_id = user_id(app, "alice@corp.example"), user_id(app, "bob@corp.example")
    assert alice.post(f"/c/jinji/members/{bob_id}/role", data={"role": "owner"}).status_code == 303
    page = alice.get("/c/jinji/members").text
    assert "Remove owner role" in row(page, alice_id) and "Remove owner role" in row(page, bob_id)

    r = alice.post(f"/c/jinji/members/{alice_id}/role", data={"role": "member"})
    assert r.status_code == 303
    page = alice.get("/c/jinji/members").text
    assert "Alice is no longer an owner of 人事." in page
    assert 'id="add-member"' not in page and "/role" not in page
    assert alice.post("/c/jinji/members", data={"email": "carol@corp.example"}).status_code == 403
    assert roles(app, "jinji") == {"alice@corp.example": "member", "bob@corp.example": "owner"}


def test_an_admin_changes_roles_without_being_in_the_channel(app, team):
    ada = signed_in(app, "ada@corp.example")
    alice_id, bob_id = user_id(app, "alice@corp.example"), user_id(app, "bob@corp.example")
    assert "Make owner" in row(ada.get("/c/jinji/members").text, bob_id)
    assert ada.post(f"/c/jinji/members/{bob_id}/role", data={"role": "owner"}).status_code == 303
    assert ada.post(f"/c/jinji/members/{alice_id}/role", data={"role": "member"}).status_code == 303
    assert roles(app, "jinji") == {"alice@corp.example": "member", "bob@corp.example": "owner"}
    # The admin too leaves the channel an owner.
    r = ada.post(f"/c/jinji/members/{bob_id}/role", data={"role": "member"})
    assert r.status_code == 422
    assert roles(app, "jinji")["bob@corp.example"] == "owner"


def test_an_open_channels_owner_shares_ownership(app, team):
    bob = signed_in(app, "bob@corp.example")
    carol_id = user_id(app, "carol@corp.example")
    page = bob.get("/c/sales/members").text
    # Anyone joins an open channel, so there is no add form; the owner still hands on the role.
    assert 'id="add-member"' not in page and "/remove" not in page
    assert "Make owner" in row(page, carol_id)
    # Carol, a plain member, may not make herself owner.
    carol = signed_in(app, "carol@corp.example")
    assert "Make owner" not in carol.get("/c/sales/members").text
    r = carol.post(f"/c/sales/members/{carol_id}/role", data={"role": "owner"})
    assert r.status_code == 403
    r = bob.post(f"/c/sales/members/{carol_id}/role", data={"role": "owner"})
    assert r.status_code == 303
    assert roles(app, "sales") == {"bob@corp.example": "owner", "carol@corp.example": "owner"}


def test_role_forms_need_the_csrf_token(database_url, tmp_path):
    app = create_app(test_settings(database_url, tmp_path, WTF_CSRF_ENABLED=True))
    try:
        with db.transaction(app) as s:
            alice = make_user(s, email="alice@corp.example", name="Alice")
            bob = make_user(s, email="bob@corp.example", name="Bob")
            sales = make_channel(s, slug="sales", name="営業", creator=alice)
            channels.join(s, user=bob, channel=sales)
            bob_id = bob.id
        client = app.test_client()
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)[1]
        data = {"email": "alice@corp.example", "password": PASSWORD, "csrf_token": token}
        assert client.post("/login", data=data).status_code == 303

        r = client.post(f"/c/sales/members/{bob_id}/role", data={"role": "owner"})
        assert r.status_code == 400
        assert roles(app, "sales")["bob@corp.example"] == "member"
        page = client.get("/c/sales/members").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)[1]
        r = client.post(
            f"/c/sales/members/{bob_id}/role", data={"role": "owner", "csrf_token": token}
        )
        assert r.status_code == 303
        assert roles(app, "sales")["bob@corp.example"] == "owner"
    finally:
        db.engine_of(app).dispose()


def test_services_refuse_whatever_the_door(app, team):
    with db.transaction(app) as s:
        alice = accounts.find_user_by_email(s, "alice@corp.example")
        bob = accounts.find_user_by_email(s, "bob@corp.example")
        carol = accounts.find_user_by_email(s, "carol@corp.example")
        jinji = channels.get_channel(s, "jinji")
        assert channels.can_set_roles(s, alice, jinji) and not channels.can_set_roles(s, bob, jinji)
        with pytest.raises(Forbidden):
            members.set_role(s, user=bob, channel=jinji, role="owner", actor=bob, via=Via.WEB)
        with pytest.raises(Invalid) as refused:
            members.set_role(s, user=carol, channel=jinji, role="owner", actor=alice, via=Via.WEB)
        assert refused.value.reason == Reason.NOT_A_MEMBER
        with pytest.raises(Invalid) as refused:
            members.set_role(s, user=bob, channel=jinji, role="admin", actor=alice, via=Via.WEB)
        assert refused.value.reason == Reason.INVALID_VALUE
        # A deactivated member is not made an owner.
        accounts.deactivate(s, bob)
        with pytest.raises(Invalid) as refused:
            members.set_role(s, user=bob, channel=jinji, role="owner", actor=alice, via=Via.WEB)
        assert refused.value.reason == Reason.INACTIVE_MEMBER
        # Making an owner an owner changes nothing.
        assert not members.set_role(
            s, user=alice, channel=jinji, role="owner", actor=alice, via=Via.WEB
        )


# --- Leave ------------------------------------------------------------------------------------


def test_the_last_owner_cannot_leave_while_others_remain(app, team):
    bob = signed_in(app, "bob@corp.example")
    r = bob.post("/c/sales/leave")
    assert r.status_code == 303 and r.headers["Location"] == "/c/sales"
    page = text(bob.get("/c/sales").text)
    assert (
        "You are the last owner of 営業. Make another member owner on the members page "
        "before you leave." in page
    )
    assert "You are a member" in page
    # With htmx the refusal comes in place of the button, with the way to the members page.
    r = bob.post("/c/sales/leave", headers=HX)
    assert r.status_code == 200 and "<html" not in r.text
    assert r.text.lstrip().startswith('<div id="membership"') and 'role="alert"' in r.text
    assert "You are the last owner of 営業." in text(r.text)
    assert 'href="/c/sales/members"' in r.text
    assert roles(app, "sales") == {"bob@corp.example": "owner", "carol@corp.example": "member"}

    # Once Carol is an owner too, Bob may go.
    carol_id = user_id(app, "carol@corp.example")
    assert bob.post(f"/c/sales/members/{carol_id}/role", data={"role": "owner"}).status_code == 303
    r = bob.post("/c/sales/leave", headers=HX)
    assert r.status_code == 200 and "Join" in r.text and "last owner" not in r.text
    assert roles(app, "sales") == {"carol@corp.example": "owner"}


def test_a_plain_member_and_a_lone_owner_may_leave(app, team):
    carol = signed_in(app, "carol@corp.example")
    assert carol.post("/c/sales/leave").status_code == 303
    assert roles(app, "sales") == {"bob@corp.example": "owner"}
    # Bob is now alone in the channel: he may leave it (admins still manage it).
    bob = signed_in(app, "bob@corp.example")
    r = bob.post("/c/sales/leave")
    assert r.status_code == 303 and "last owner" not in bob.get("/c/sales").text
    assert roles(app, "sales") == {}


def test_the_last_owner_of_a_private_channel_stays_too(app, team):
    alice = signed_in(app, "alice@corp.example")
    assert alice.post("/c/jinji/leave").status_code == 303
    assert alice.get("/c/jinji").status_code == 200
    assert "alice@corp.example" in roles(app, "jinji")
    with db.transaction(app) as s:
        with pytest.raises(Invalid) as refused:
            channels.leave(
                s,
                user=accounts.find_user_by_email(s, "alice@corp.example"),
                channel=channels.get_channel(s, "jinji"),
            )
        assert refused.value.reason == Reason.LAST_OWNER


# --- the CLI ----------------------------------------------------------------------------------


def hiroba(app: Flask, *args: str) -> Any:
    """Run `hiroba channel member ...` as an admin's script does."""
    return CliRunner().invoke(
        main, ["channel", "member", *args], obj=ScriptInfo(create_app=lambda: app)
    )


def test_cli_sets_roles(app, team):
    r = hiroba(app, "set-role", "jinji", "BOB@corp.example", "owner")
    assert r.exit_code == 0, r.output
    assert "bob@corp.example: owner of jinji" in r.output
    r = hiroba(app, "set-role", "jinji", "alice@corp.example", "member")
    assert r.exit_code == 0 and "alice@corp.example: member of jinji" in r.output
    assert roles(app, "jinji") == {"alice@corp.example": "member", "bob@corp.example": "owner"}
    r = hiroba(app, "set-role", "jinji", "bob@corp.example", "owner")
    assert r.exit_code == 0 and "bob@corp.example: owner of jinji already" in r.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("jinji", "alice@corp.example", "member"), "last owner: alice@corp.example"),
        (("jinji", "carol@corp.example", "owner"), "not a member: carol@corp.example"),
        (("jinji", "nobody@corp.example", "owner"), "no member with the address"),
        (("nowhere", "bob@corp.example", "owner"), "not found: channel nowhere"),
        (("jinji", "bob@corp.example", "admin"), "'admin' is not one of 'owner', 'member'"),
    ],
)
def test_cli_set_role_refusals_exit_non_zero(app, team, args, message):
    r = hiroba(app, "set-role", *args)
    assert r.exit_code != 0 and message in r.output
    assert roles(app, "jinji") == {"alice@corp.example": "owner", "bob@corp.example": "member"}


# --- muted channels on /settings --------------------------------------------------------------


def test_settings_lists_a_mute_and_unmutes_it(app, team):
    with db.transaction(app) as s:
        alice = accounts.find_user_by_email(s, "alice@corp.example")
        channels.mute(s, user=alice, channel=channels.get_channel(s, "sales"))
        sales_id = channels.get_channel(s, "sales").id
    alice = signed_in(app, "alice@corp.example")
    page = alice.get("/settings").text
    muted = re.search(r'<section class="card" id="muted">(.*?)</section>', page, re.S)
    assert muted and "営業" in muted[1]
    assert f'action="/settings/muted/{sales_id}/unmute"' in muted[1]

    r = alice.post(f"/settings/muted/{sales_id}/unmute")
    assert r.status_code == 303 and r.headers["Location"] == "/settings#muted"
    page = alice.get("/settings").text
    assert "Unmuted: mail from that channel reaches you again." in page
    assert 'id="muted"' not in page
    with db.transaction(app) as s:
        assert s.scalar(select(func.count()).select_from(ChannelMute)) == 0
    # She did not join it by unmuting.
    assert "alice@corp.example" not in roles(app, "sales")


def test_unmuting_touches_only_ones_own_mute(app, team):
    with db.transaction(app) as s:
        ada = accounts.find_user_by_email(s, "ada@corp.example")
        channels.mute(s, user=ada, channel=channels.get_channel(s, "sales"))
        sales_id = channels.get_channel(s, "sales").id
    alice = signed_in(app, "alice@corp.example")
    assert 'id="muted"' not in alice.get("/settings").text
    r = alice.post(f"/settings/muted/{sales_id}/unmute")
    assert r.status_code == 303
    assert "Unmuted" not in alice.get("/settings").text
    assert alice.post("/settings/muted/99999/unmute").status_code == 303
    with db.transaction(app) as s:
        assert s.scalar(select(func.count()).select_from(ChannelMute)) == 1


def test_unmute_needs_the_csrf_token(database_url, tmp_path):
    app = create_app(test_settings(database_url, tmp_path, WTF_CSRF_ENABLED=True))
    try:
        with db.transaction(app) as s:
            alice = make_user(s, email="alice@corp.example", name="Alice")
            sales = make_channel(s, slug="sales", name="営業")
            channels.mute(s, user=alice, channel=sales)
            sales_id = sales.id
        client = app.test_client()
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)[1]
        data = {"email": "alice@corp.example", "password": PASSWORD, "csrf_token": token}
        assert client.post("/login", data=data).status_code == 303
        assert client.post(f"/settings/muted/{sales_id}/unmute").status_code == 400
        page = client.get("/settings").text
        assert 'id="muted"' in page
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)[1]
        r = client.post(f"/settings/muted/{sales_id}/unmute", data={"csrf_token": token})
        assert r.status_code == 303
        assert 'id="muted"' not in client.get("/settings").text
    finally:
        db.engine_of(app).dispose()


def test_two_owners_stepping_down_at_once_leave_one_owner(app, team):
    """Alice and Bob own jinji and both step down at the same moment: one of them stays owner
    (PostgreSQL locks the owner rows; SQLite's write lock makes the two take turns)."""
    with db.transaction(app) as s:
        jinji = channels.get_channel(s, "jinji")
        bob = accounts.find_user_by_email(s, "bob@corp.example")
        members.set_role(s, user=bob, channel=jinji, role="owner", actor=None, via=Via.CLI)
    refused: list[BaseException] = []

    def bob_steps_down() -> None:
        try:
            with db.transaction(app) as s2:
                me = accounts.find_user_by_email(s2, "bob@corp.example")
                here = channels.get_channel(s2, "jinji")
                members.set_role(s2, user=me, channel=here, role="member", actor=me, via=Via.WEB)
        except Invalid as exc:
            refused.append(exc)

    with db.transaction(app) as s1:
        alice = accounts.find_user_by_email(s1, "alice@corp.example")
        here = channels.get_channel(s1, "jinji")
        members.set_role(s1, user=alice, channel=here, role="member", actor=alice, via=Via.WEB)
        other = threading.Thread(target=bob_steps_down)
        other.start()
        other.join(1)  # Bob's step-down waits for Alice's transaction
        assert other.is_alive()
    other.join(30)
    assert [getattr(e, "reason", None) for e in refused] == [Reason.LAST_OWNER]
    assert roles(app, "jinji") == {"alice@corp.example": "member", "bob@corp.example": "owner"}
