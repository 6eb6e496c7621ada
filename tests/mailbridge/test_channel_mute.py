"""Muting a channel from outside it: unsubscribe links and `mute <channel>` for non-members.

Someone who is not a member of an open channel still gets its mail (a mention, its section in
their digest). Stopping that mail must not make them a member: they stay out of the member list
and its count, and no more mail from that channel reaches them until they join it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from hub.db import utcnow
from hub.models import ChannelMute, Delivery, Membership
from hub.services import channels, members
from mailbridge import delivery, digests, ingest, outbound
from tests.factories import make_channel, make_thread, make_user, signed_in
from tests.fixtures_mailout import deliver, text_of, to
from tests.mailbridge.test_ingest import mail

BOSS = "boss@corp.example"


@pytest.fixture
def session(app: Flask) -> Iterator[Any]:
    """A session with no app context pushed, so that each request here runs in its own (a
    pushed context would carry one request's language into the next)."""
    s = app.extensions["hiroba.sessionmaker"]()
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def office(app: Flask, session: Any, smtp_sink: Any) -> dict[str, Any]:
    """Peer owns the open channel sales (the only member) and is in the private hr; the boss
    (mail only) and Taro (web) are in no channel; work is another open channel."""
    app.config["RELAY_URL"] = smtp_sink.url
    peer = make_user(session, email="peer@corp.example", name="Peer")
    boss = make_user(session, email=BOSS, name="Boss", email_only=True)
    taro = make_user(session, email="taro@corp.example", name="Taro")
    sales = make_channel(session, slug="sales", name="Sales", creator=peer)
    work = make_channel(session, slug="work", name="Work", creator=peer)
    hr = make_channel(
        session, slug="hr", name="HR", private=True, reason="personnel", creator=peer,
        policy="anyone",
    )  # fmt: skip
    session.commit()
    deliver(app)  # welcome mails and the like: not what these tests count
    smtp_sink.messages.clear()
    return {"peer": peer, "boss": boss, "taro": taro, "sales": sales, "work": work, "hr": hr}


def mention(app: Flask, session: Any, office: dict[str, Any], slug: str, who: str, title: str):
    """Peer starts a thread in ``slug`` naming ``who``; everything due is sent."""
    channel = channels.get_channel(session, slug)
    make_thread(session, channel=channel, author=office["peer"], title=title, body=f"@{who} ?")
    session.commit()
    deliver(app)


def one_click_url(msg: Any, app: Flask) -> str:
    """The https target of the mail's List-Unsubscribe header, as a path for the test client."""
    url = re.search(r"<(http[^>]+)>", str(msg["List-Unsubscribe"])).group(1)
    return url.removeprefix(app.config["BASE_URL"])


def member_rows(client: FlaskClient, slug: str) -> tuple[list[str], str]:
    """The rows of the members page and the count the channel page shows."""
    page = client.get(f"/c/{slug}/members")
    assert page.status_code == 200
    rows = re.findall(r'<tr id="member-\d+">(.*?)</tr>', page.text, re.S)
    count = re.search(r"\d+ members?", client.get(f"/c/{slug}").text).group(0)
    return [re.sub(r"\s+", " ", r) for r in rows], count


def digest_text(app: Flask, session: Any, smtp_sink: Any, office: dict[str, Any]) -> str:
    """Build the boss's digest now (the day so far) and return the mail's text."""
    smtp_sink.messages.clear()
    row = digests.build_and_queue_digest(app, session, office["boss"], "daily:test", utcnow())
    session.commit()
    assert row is not None
    delivery.drain_outbox(app)
    (msg,) = to(smtp_sink, BOSS)
    return text_of(msg)


def mute_by(way: str, app: Flask, session: Any, smtp_sink: Any) -> None:
    """Mute sales from the boss's side: the mention mail's one-click link, or by mail."""
    if way == "one_click":
        (msg,) = [m for m in to(smtp_sink, BOSS) if "sales.hub.test" in str(m["List-Id"])]
        path = one_click_url(msg, app)
        client = app.test_client()
        for _twice in range(2):  # mail clients may POST twice: still one mute
            done = client.post(path, data={"List-Unsubscribe": "One-Click"})
            assert done.status_code == 200 and "Sales" in done.text
    else:
        raw = mail(frm=BOSS, to="help@hub.test", subject="", body="mute sales")
        out = ingest.receive(app, raw, ["help@hub.test"], "smtp")
        assert out.status == "command" and out.results[0]["ok"] is True
        deliver(app)
        (answer,) = [m for m in to(smtp_sink, BOSS) if "mute sales" in text_of(m)]
        assert "You will get no more mail from this channel." in text_of(answer)


@pytest.mark.parametrize("way", ["one_click", "mail"])
def test_non_member_mutes_without_joining(app, session, smtp_sink, office, way):
    peer_client = signed_in(app, "peer@corp.example")
    before = member_rows(peer_client, "sales")
    assert before[1] == "1 member"
    mention(app, session, office, "sales", "boss", "Q3 numbers")
    assert len(to(smtp_sink, BOSS)) == 1  # the mention, with the channel's unsubscribe link

    mute_by(way, app, session, smtp_sink)

    # Not a member: the member list, its count and the memberships are as they were.
    assert member_rows(peer_client, "sales") == before
    assert "Boss" not in peer_client.get("/c/sales/members").text
    session.expire_all()
    boss_id = office["boss"].id
    assert session.scalar(select(Membership.id).where(Membership.user_id == boss_id)) is None
    assert session.scalar(select(func.count()).select_from(ChannelMute)) == 1
    session.commit()

    # The next mention from sales sends nothing (as `off` does for a member); work still mails.
    smtp_sink.messages.clear()
    mention(app, session, office, "sales", "boss", "Pricing")
    assert not to(smtp_sink, BOSS)
    mention(app, session, office, "work", "boss", "Minutes")
    (work_mail,) = to(smtp_sink, BOSS)
    assert "Minutes" in str(work_mail["Subject"])

    # The next digest has no section, and no mention, from sales.
    make_thread(session, channel=office["sales"], author=office["peer"], title="Leads", body="x")
    make_thread(session, channel=office["work"], author=office["peer"], title="Plan", body="x")
    session.commit()
    body = digest_text(app, session, smtp_sink, office)
    assert "== Work ==" in body and "Plan" in body and "Minutes" in body
    assert "== Sales ==" not in body
    assert not any(t in body for t in ("Leads", "Pricing", "Q3 numbers"))


def test_joining_removes_the_mute(app, session, smtp_sink, office):
    taro = office["taro"]
    mention(app, session, office, "sales", "taro", "Forecast")
    (msg,) = to(smtp_sink, "taro@corp.example")
    assert app.test_client().post(one_click_url(msg, app)).status_code == 200
    smtp_sink.messages.clear()
    mention(app, session, office, "sales", "taro", "Still there?")
    assert not to(smtp_sink, "taro@corp.example")

    client = signed_in(app, "taro@corp.example")
    assert client.post("/c/sales/join").status_code in (200, 303)
    rows, count = member_rows(client, "sales")
    assert count == "2 members" and any("Taro" in r for r in rows)
    session.expire_all()
    assert session.scalar(select(ChannelMute.id).where(ChannelMute.user_id == taro.id)) is None
    # Their own (default) setting takes over: a mention reaches them again.
    found = session.scalar(select(Membership.delivery).where(Membership.user_id == taro.id))
    assert found is None
    session.commit()
    mention(app, session, office, "sales", "taro", "Welcome")
    (again,) = to(smtp_sink, "taro@corp.example")
    assert "Welcome" in str(again["Subject"])


def test_member_unsubscribe_still_turns_the_channel_off(app, session, smtp_sink, office):
    boss = office["boss"]
    channels.join(session, user=boss, channel=office["sales"])
    session.commit()
    mention(app, session, office, "sales", "boss", "Budget")
    mute_by("one_click", app, session, smtp_sink)
    session.expire_all()
    m = session.scalar(select(Membership).where(Membership.user_id == boss.id))
    assert m.delivery == Delivery.OFF
    assert session.scalar(select(ChannelMute.id)) is None
    session.commit()


def test_leaving_a_channel_whose_mail_was_off_keeps_it_off(app, session, smtp_sink, office):
    boss = office["boss"]
    channels.join(session, user=boss, channel=office["sales"])
    session.commit()
    mention(app, session, office, "sales", "boss", "Budget")
    mute_by("one_click", app, session, smtp_sink)  # a member: delivery off
    session.expire_all()
    channels.leave(session, user=boss, channel=office["sales"])
    session.commit()
    assert session.scalar(select(Membership.id).where(Membership.user_id == boss.id)) is None
    assert session.scalar(select(ChannelMute.channel_id)) == office["sales"].id
    make_thread(session, channel=office["sales"], author=office["peer"], title="Leads", body="x")
    make_thread(session, channel=office["work"], author=office["peer"], title="Plan", body="x")
    session.commit()
    body = digest_text(app, session, smtp_sink, office)
    assert "== Work ==" in body and "== Sales ==" not in body and "Leads" not in body


def test_leaving_with_mail_on_mutes_nothing(app, session, smtp_sink, office):
    boss = office["boss"]
    channels.join(session, user=boss, channel=office["sales"])
    session.commit()
    channels.leave(session, user=boss, channel=office["sales"])
    session.commit()
    assert session.scalar(select(func.count()).select_from(ChannelMute)) == 0


def test_private_channel_mute_tells_nothing(app, session, smtp_sink, office):
    raw = mail(frm=BOSS, to="help@hub.test", subject="", body="mute hr\nmute nosuch")
    out = ingest.receive(app, raw, ["help@hub.test"], "smtp")
    hr, nosuch = out.results
    # A private channel answers exactly as a channel that does not exist.
    assert (hr["ok"], hr["reason"]) == (nosuch["ok"], nosuch["reason"]) == (False, "not_found")
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(ChannelMute)) == 0
    # An unsubscribe link for hr (as if from mail sent while a member) writes nothing either.
    path = outbound.unsubscribe_url(app, office["boss"].id, office["hr"].id)
    session.commit()
    assert app.test_client().post(path.removeprefix(app.config["BASE_URL"])).status_code == 200
    assert session.scalar(select(func.count()).select_from(ChannelMute)) == 0
    assert members.list_members(session, office["hr"])[0].user.email == "peer@corp.example"
    session.commit()


def test_preferences_page_lists_muted_channels_and_unmutes(live_app, smtp_sink):
    """CSRF is on, as for real users; the page needs no sign-in (the signed link is the key)."""
    app = live_app
    app.config["RELAY_URL"] = smtp_sink.url
    session = app.extensions["hiroba.sessionmaker"]()
    peer = make_user(session, email="peer@corp.example", name="Peer")
    boss = make_user(session, email=BOSS, name="Boss", email_only=True)
    sales = make_channel(session, slug="sales", name="Sales", creator=peer)
    hr = make_channel(session, slug="hr", name="HR", private=True, reason="r", creator=peer,
                      policy="anyone")  # fmt: skip
    channels.mute(session, user=boss, channel=sales)
    # A stray row for a private channel (it cannot be made by a non-member) names nothing.
    session.add(ChannelMute(user_id=boss.id, channel_id=hr.id))
    session.commit()
    deliver(app)

    def mention_boss(title: str) -> list[str]:
        smtp_sink.messages.clear()
        make_thread(session, channel=sales, author=peer, title=title, body="@boss ?")
        session.commit()
        deliver(app)
        return [str(m["Subject"]) for m in to(smtp_sink, BOSS)]

    assert mention_boss("Muted") == []

    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    prefs = outbound.prefs_url(app, boss.id).removeprefix(app.config["BASE_URL"])
    page = client.get(prefs).text
    muted = re.search(r'<section id="muted">(.*?)</section>', page, re.S).group(1)
    assert "Sales" in muted and "HR" not in page
    unmute = f"{prefs}/unmute/{sales.id}"
    assert f'action="{unmute}"' in muted
    # No CSRF token, no change; a GET changes nothing either.
    assert client.post(unmute).status_code == 400
    assert client.get(unmute).status_code == 405
    assert 'id="muted"' in client.get(prefs).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    done = client.post(unmute, data={"csrf_token": token})
    assert done.status_code == 303 and done.headers["Location"].endswith(f"{prefs}#muted")
    after = client.get(prefs).text
    assert "Unmuted: mail from that channel reaches you again." in after
    assert 'id="muted"' not in after  # nothing left to show: hr was never listed

    # Unmuted: a mention from sales mails the boss again, and he is still not a member.
    assert mention_boss("Hello again") == ["[Sales] Hello again"]
    assert session.scalar(select(Membership.id).where(Membership.user_id == boss.id)) is None
    session.close()
