"""A new member's start, by every door (the admin's invite form, the CSV import page, `hiroba
user add` and `user import`, the demo): a web member's invitation carries a sign-in link that
works without a password, for days, once (opened later it offers a fresh one); an email-only
member is welcomed by mail with no push to the web; every new member joins the announcement
channel and the channels an admin marked "new members join". (The first visit's rules and
guide: test_first_visit.py.) Mail goes over real SMTP to a sink; every page through the test
client."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.cli import ScriptInfo
from flask.testing import FlaskClient
from sqlalchemy import select

from hub import db, demo
from hub.models import Channel, Event, LoginLink, Membership, OutboxMessage, User, Via
from hub.services import accounts, channel_settings, channels, onboarding
from mailbridge.cli import main
from tests.factories import PASSWORD, make_channel, make_user, signed_in
from tests.fixtures_mailout import deliver, text_of, to

LINK = re.compile(r"http://hub\.test(/login/link/[A-Za-z0-9_-]+)")


@pytest.fixture
def hub(app: Flask, smtp_sink: Any) -> Flask:
    """The app, its mail relayed to the real SMTP sink."""
    app.config["RELAY_URL"] = smtp_sink.url
    return app


def office_hours() -> datetime:
    """The next weekday 10:00 in Tokyo (a new member's default working hours: their welcome
    mail is not held for the morning)."""
    day = datetime.now(ZoneInfo("Asia/Tokyo")) + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day.replace(hour=10, minute=0, second=0, microsecond=0).astimezone(UTC)


def send_all(app: Flask) -> None:
    deliver(app, now=office_hours())


def hiroba(app: Flask, *args: str) -> Any:
    return CliRunner().invoke(main, list(args), obj=ScriptInfo(create_app=lambda: app))


def admin_browser(app: Flask) -> FlaskClient:
    with db.transaction(app) as s:
        make_user(s, email="admin@corp.example", name="管理者", admin=True)
    return signed_in(app, "admin@corp.example")


def browser(app: Flask) -> FlaskClient:
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def link_path(msg: EmailMessage) -> str:
    found = LINK.search(text_of(msg))
    assert found is not None, text_of(msg)
    return found.group(1)


def joined(app: Flask, email: str) -> set[str]:
    with db.transaction(app) as s:
        user = accounts.find_user_by_email(s, email)
        assert user is not None, email
        stmt = select(Channel.slug).join(Membership).where(Membership.user_id == user.id)
        return set(s.scalars(stmt))


def invite(admin: FlaskClient, email: str, name: str, **extra: str) -> None:
    data = {"email": email, "name": name, "locale": "en", **extra}
    assert admin.post("/admin/members/invite", data=data).status_code == 303


# --- the invitation's sign-in link -----------------------------------------------------------


def test_a_web_invitation_signs_the_new_member_in_without_a_password(
    hub: Flask, smtp_sink: Any
) -> None:
    admin = admin_browser(hub)
    invite(admin, "tanaka@corp.example", "田中")
    send_all(hub)
    (mail,) = to(smtp_sink, "tanaka@corp.example")
    assert mail["Subject"] == "[Hiroba] You are invited to Hiroba"
    body = text_of(mail)
    assert (
        "管理者 invited you to Hiroba" in body
        and "Sign in here: http://hub.test/login/link/" in body
    )
    assert "It works once, for 7 days" in body
    path = link_path(mail)

    # Opening the link (as a mail scanner might) signs nobody in; the button does.
    tanaka = browser(hub)
    page = tanaka.get(path)
    assert page.status_code == 200 and f'action="{path}"' in page.text
    assert tanaka.get("/").location.startswith("/login")  # not signed in yet
    r = tanaka.post(path)
    assert r.status_code == 303 and r.location == "/"
    # No password was ever set: the link alone let them in, and the rules come first.
    with db.transaction(hub) as s:
        assert accounts.find_user_by_email(s, "tanaka@corp.example").password_hash is None
    assert tanaka.get("/").location.startswith("/rules?next=/")

    # The link works once: opened again it says so and offers a fresh one.
    again = browser(hub)
    used = again.post(path)
    assert used.status_code == 422 and "expired or was already used" in used.text
    assert 'id="renew-link"' in used.text
    assert "tanaka@corp.example" not in used.text


def test_the_invitation_link_lasts_days_as_configured(hub: Flask, smtp_sink: Any) -> None:
    hub.config["INVITE_LINK_DAYS"] = 2
    admin = admin_browser(hub)
    before = datetime.now(UTC)
    invite(admin, "tanaka@corp.example", "田中")
    with db.transaction(hub) as s:
        (link,) = s.scalars(select(LoginLink))
        lasts = link.expires_at - before
    assert timedelta(days=2) <= lasts < timedelta(days=2, minutes=1)
    send_all(hub)
    (mail,) = to(smtp_sink, "tanaka@corp.example")
    assert "It works once, for 2 days" in text_of(mail)
    # A sign-in link asked for on the sign-in page keeps its minutes.
    browser(hub).post("/login/link", data={"email": "tanaka@corp.example"})
    with db.transaction(hub) as s:
        newest = s.scalars(select(LoginLink).order_by(LoginLink.id.desc())).first()
        assert newest.expires_at - datetime.now(UTC) <= timedelta(minutes=15)


def test_an_expired_invitation_offers_a_fresh_link_by_mail(hub: Flask, smtp_sink: Any) -> None:
    admin = admin_browser(hub)
    invite(admin, "tanaka@corp.example", "田中")
    send_all(hub)
    path = link_path(to(smtp_sink, "tanaka@corp.example")[0])
    with db.transaction(hub) as s:
        for link in s.scalars(select(LoginLink)):
            link.expires_at = datetime.now(UTC) - timedelta(hours=1)

    tanaka = browser(hub)
    page = tanaka.get(path)
    assert page.status_code == 200 and "expired or was already used" in page.text
    assert f'action="{path}/renew"' in page.text and "tanaka@corp.example" not in page.text
    assert tanaka.post(path).status_code == 422  # the old link signs nobody in
    sent = tanaka.post(f"{path}/renew")
    assert sent.status_code == 200 and 'id="link-renewed"' in sent.text
    assert "tanaka@corp.example" not in sent.text
    send_all(hub)
    invitation, fresh = to(smtp_sink, "tanaka@corp.example")
    assert fresh["Subject"] == "[Hiroba] Your sign-in link"
    new_path = link_path(fresh)
    assert new_path != path
    r = tanaka.post(new_path)
    assert r.status_code == 303 and tanaka.get("/").location.startswith("/rules")

    # A link nobody made cannot be renewed: its page offers the address form instead.
    unknown = browser(hub).get("/login/link/not-a-token")
    assert 'id="request-link"' in unknown.text and 'id="renew-link"' not in unknown.text
    assert browser(hub).post("/login/link/not-a-token/renew").status_code == 422
    send_all(hub)
    assert len(to(smtp_sink, "tanaka@corp.example")) == 2


def test_an_email_only_member_is_welcomed_by_mail_with_no_web_link(
    hub: Flask, smtp_sink: Any
) -> None:
    admin = admin_browser(hub)
    invite(admin, "boss@corp.example", "部長", email_only="1")
    send_all(hub)
    (mail,) = to(smtp_sink, "boss@corp.example")
    body = text_of(mail)
    # One mail: how to take part by mail, the rules to accept by reply; no sign-in link.
    assert mail["Subject"] == "Welcome to Hiroba, 部長"
    assert "You can take part fully by mail" in body and "Reply to this mail" in body
    assert mail["Reply-To"].startswith("welcome+")
    assert "/login" not in body and "password" not in body.lower()
    with db.transaction(hub) as s:
        assert s.scalars(select(LoginLink)).all() == []


# --- every door ------------------------------------------------------------------------------


def test_csv_import_on_the_page_invites_each_new_member(hub: Flask, smtp_sink: Any) -> None:
    admin = admin_browser(hub)
    csv = (
        "email,name,email_only,locale\n"
        "kato@corp.example,加藤,no,en\n"
        "mori@corp.example,森,yes,en\n"
        "bad-address,誰か,no,en\n"
    )
    preview = admin.post("/admin/members/import", data={"csv": csv, "action": "preview"})
    assert preview.status_code == 200
    send_all(hub)
    assert smtp_sink.messages == []  # a preview sends nothing
    done = admin.post("/admin/members/import", data={"csv": csv, "action": "confirm"})
    assert done.status_code == 200
    send_all(hub)
    (kato,) = to(smtp_sink, "kato@corp.example")
    assert kato["Subject"] == "[Hiroba] You are invited to Hiroba"
    assert browser(hub).post(link_path(kato)).status_code == 303
    (mori,) = to(smtp_sink, "mori@corp.example")
    assert mori["Subject"] == "Welcome to Hiroba, 森" and "/login" not in text_of(mori)


def test_hiroba_user_add_invites_and_no_invite_waits_for_user_invite(
    hub: Flask, smtp_sink: Any, tmp_path: Path
) -> None:
    r = hiroba(hub, "user", "add", "--email", "a@corp.example", "--name", "A", "--locale", "en")
    assert r.exit_code == 0 and "invitation queued" in r.output and "7 days" in r.output
    quiet = [("b@corp.example", "B"), ("c@corp.example", "C", "--email-only")]
    for email, name, *more in quiet:
        r = hiroba(hub, "user", "add", "--email", email, "--name", name, "--locale", "en",
                   "--no-invite", *more)  # fmt: skip
        assert r.exit_code == 0 and "not invited yet" in r.output
    send_all(hub)
    (a,) = to(smtp_sink, "a@corp.example")
    assert "You are invited to Hiroba" in text_of(a) and "/login/link/" in text_of(a)
    assert to(smtp_sink, "b@corp.example") == [] and to(smtp_sink, "c@corp.example") == []

    # Later the admin's script sends them: a link to the web member, the welcome by mail.
    r = hiroba(hub, "user", "invite", "b@corp.example", "C@corp.example")
    assert r.exit_code == 0, r.output
    assert "b@corp.example: invitation queued" in r.output
    assert "c@corp.example: welcome mail queued" in r.output
    send_all(hub)
    (b,) = to(smtp_sink, "b@corp.example")
    assert browser(hub).post(link_path(b)).status_code == 303
    (c,) = to(smtp_sink, "c@corp.example")
    assert c["Subject"] == "Welcome to Hiroba, C" and "/login" not in text_of(c)
    r = hiroba(hub, "user", "invite", "nobody@corp.example")
    assert r.exit_code == 1 and "no member with the address nobody@corp.example" in r.output

    # `user import` invites as `user add` does, unless told not to.
    path = tmp_path / "members.csv"
    path.write_text("email,name,locale\nd@corp.example,D,en\n", encoding="utf-8")
    assert hiroba(hub, "user", "import", str(path)).exit_code == 0
    path.write_text("email,name,locale\ne@corp.example,E,en\n", encoding="utf-8")
    assert hiroba(hub, "user", "import", str(path), "--no-invite").exit_code == 0
    send_all(hub)
    (d,) = to(smtp_sink, "d@corp.example")
    assert "/login/link/" in text_of(d)
    assert to(smtp_sink, "e@corp.example") == []


# --- the channels every new member joins -----------------------------------------------------


def test_every_new_member_joins_the_announcement_channel_and_the_marked_ones(
    hub: Flask, smtp_sink: Any, tmp_path: Path
) -> None:
    admin = admin_browser(hub)
    with db.transaction(hub) as s:
        make_user(s, email="old@corp.example", name="古株")
        boss = accounts.find_user_by_email(s, "admin@corp.example")
        make_channel(s, slug="sales", name="営業")
        make_channel(s, slug="board", name="役員", private=True, reason="人事", creator=boss)
        gone = make_channel(s, slug="gone", name="旧", new_members_join=True)
        channel_settings.archive_channel(s, channel=gone, actor=None, via=Via.CLI)
    form = {"slug": "general", "name": "全社連絡", "purpose": "全員への連絡", "kind": "work",
            "new_members_join": "1"}  # fmt: skip
    assert admin.post("/channels/new", data=form).status_code == 303
    members_page = admin.get("/admin/members").text
    assert "New members join: 全社連絡." in members_page

    invite(admin, "web@corp.example", "ウェブ")
    csv = "email,name,email_only\ncsv@corp.example,シーエスブイ,no\nmail@corp.example,メール,yes\n"
    done = admin.post("/admin/members/import", data={"csv": csv, "action": "confirm"})
    assert done.status_code == 200
    assert hiroba(hub, "user", "add", "--email", "cli@corp.example", "--name", "CLI").exit_code == 0
    (tmp_path / "m.csv").write_text("email,name\nimp@corp.example,インポート\n", encoding="utf-8")
    assert hiroba(hub, "user", "import", str(tmp_path / "m.csv")).exit_code == 0

    for email in ("web", "csv", "mail", "cli", "imp"):
        assert joined(hub, f"{email}@corp.example") == {"announcements", "general"}, email
    # The first new member made the announcement channel, named in the hub's language.
    with db.transaction(hub) as s:
        announcements = channels.get_channel(s, "announcements")
        assert (announcements.name, announcements.private) == ("お知らせ", False)
    # Members who were there before are left where they were.
    assert joined(hub, "old@corp.example") == set()
    # Joined quietly: nobody is told "X added you to ...", an invitation is enough.
    send_all(hub)
    with db.transaction(hub) as s:
        kinds = set(s.scalars(select(OutboxMessage.kind)))
    assert "channel_added" not in kinds and {"invite", "welcome"} <= kinds


def test_only_admins_make_every_new_member_join_a_channel(app: Flask) -> None:
    admin = admin_browser(app)
    with db.transaction(app) as s:
        owner = make_user(s, email="owner@corp.example", name="Owner")
        make_channel(s, slug="sales", name="営業", creator=owner)
    member = signed_in(app, "owner@corp.example")
    assert 'id="new-members-join"' in admin.get("/channels/new").text
    assert 'id="new-members-join"' not in member.get("/channels/new").text
    data = {"slug": "tea", "name": "Tea", "purpose": "Tea talk.", "new_members_join": "1"}
    refused = member.post("/channels/new", data=data)
    assert refused.status_code == 422
    assert "Only an admin can make every new member join a channel." in refused.text
    private = {**data, "private": "1", "reason": "secret"}
    refused = admin.post("/channels/new", data=private)
    assert refused.status_code == 422
    assert "Only an open channel can be joined by every new member." in refused.text
    with db.transaction(app) as s:
        assert channels.find_channel(s, "tea") is None

    # The channel's settings: the admins' switch; its owner sees none and may not.
    page = admin.get("/c/sales/settings").text
    assert 'id="new-members"' in page and "Make every new member join" in page
    assert 'id="new-members"' not in member.get("/c/sales/settings").text
    assert member.post("/c/sales/new-members", data={"new_members_join": "1"}).status_code == 403
    r = admin.post("/c/sales/new-members", data={"new_members_join": "1"})
    assert r.status_code == 303
    page = admin.get("/c/sales/settings").text
    assert "Every new member now joins 営業." in page and "Stop adding new members" in page
    with db.transaction(app) as s:
        assert channels.get_channel(s, "sales").new_members_join is True
        changed = s.scalars(select(Event).where(Event.kind == "channel_updated")).one()
        assert changed.data["changed"] == {"new_members_join": ["False", "True"]}
    assert admin.post("/c/sales/new-members", data={"new_members_join": "0"}).status_code == 303
    with db.transaction(app) as s:
        assert channels.get_channel(s, "sales").new_members_join is False
        onboarding.join_default_channels(s, owner)  # makes the announcement channel
    page = admin.get("/c/announcements/settings").text
    assert "Every new member joins this channel: announcements are published here." in page
    r = admin.post("/c/announcements/new-members", data={"new_members_join": "0"})
    assert r.status_code == 403


def test_the_command_line_marks_a_channel_for_new_members(app: Flask) -> None:
    r = hiroba(app, "channel", "add", "general", "--name", "全社連絡", "--purpose", "連絡",
               "--new-members-join")  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "(new members join)" in hiroba(app, "channel", "list").output
    r = hiroba(app, "channel", "edit", "general", "--no-new-members-join")
    assert r.exit_code == 0 and "new_members_join changed" in r.output
    listed = hiroba(app, "channel", "list", "--json").output
    assert '"new_members_join": false' in listed
    r = hiroba(app, "channel", "add", "hr", "--name", "HR", "--purpose", "HR", "--private",
               "--reason", "personal data", "--new-members-join")  # fmt: skip
    assert r.exit_code == 1 and "private channel" in r.output


def test_a_member_invited_into_the_demo_joins_zensha_renraku(app: Flask) -> None:
    with db.transaction(app) as s:
        demo.load(s, password=PASSWORD)
    sato = signed_in(app, demo.ADMIN_EMAIL)
    assert sato.get("/").status_code == 200  # the demo's members accepted the rules long ago
    invite(sato, f"shinjin@{demo.DOMAIN}", "新人")
    assert joined(app, f"shinjin@{demo.DOMAIN}") == {"general", "announcements"}
    with db.transaction(app) as s:
        assert channels.get_channel(s, "general").name == "全社連絡"
        everyone = s.scalars(select(User).where(User.email != f"shinjin@{demo.DOMAIN}")).all()
    for user in everyone:
        assert "announcements" in joined(app, user.email)
