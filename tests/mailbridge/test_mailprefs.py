"""Signed links from mail footers, without sign-in: preferences, RFC 8058 one-click unsubscribe."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from hub.db import utcnow
from hub.models import Delivery, Membership, User, Via
from hub.services import channels, threads
from mailbridge import digests, outbound
from tests.factories import make_channel, make_thread, make_user
from tests.fixtures_mailout import deliver, to


def _path(url: str, app: Any) -> str:
    return url.removeprefix(app.config["BASE_URL"])


def test_one_click_post_unsubscribes_and_get_does_not(live_app, smtp_sink):
    """CSRF is on here, as for real users: only the one-click view is exempt."""
    app = live_app
    app.config["RELAY_URL"] = smtp_sink.url
    if True:  # no app context pushed: each request gets (and closes) its own session
        session = app.extensions["hiroba.sessionmaker"]()
        boss = make_user(session, email="boss@corp.example", email_only=True)
        peer = make_user(session, email="peer@corp.example")
        ch = make_channel(session, slug="general")
        post = make_thread(session, channel=ch, author=peer, title="T", body="b")
        threads.reply(session, author=boss, thread=post.thread, body="me", via=Via.EMAIL)
        threads.reply(session, author=peer, thread=post.thread, body="you", via=Via.WEB)
        session.commit()
        deliver(app)
        (mail,) = [m for m in to(smtp_sink, "boss@corp.example") if m["List-Unsubscribe"]]
        url = re.search(r"<(http[^>]+)>", str(mail["List-Unsubscribe"])).group(1)
        client = app.test_client()
        # A mail scanner fetching the link changes nothing.
        page = client.get(_path(url, app))
        assert page.status_code == 200 and b'name="List-Unsubscribe"' in page.data
        session.expire_all()
        m = session.scalar(select(Membership).where(Membership.user_id == boss.id))
        assert m.delivery is None
        session.commit()
        # The mail client's one-click POST: no sign-in, no CSRF token.
        done = client.post(_path(url, app), data={"List-Unsubscribe": "One-Click"})
        assert done.status_code == 200
        session.expire_all()
        m = session.scalar(select(Membership).where(Membership.user_id == boss.id))
        assert m.delivery == Delivery.OFF
        session.commit()
        # Off for that channel: the next reply sends him nothing.
        smtp_sink.messages.clear()
        threads.reply(session, author=peer, thread=post.thread, body="again", via=Via.WEB)
        session.commit()
        deliver(app)
        assert not to(smtp_sink, "boss@corp.example")
        session.close()


def test_preferences_page_changes_by_post_only(live_app):
    app = live_app
    if True:  # no app context pushed: each request gets (and closes) its own session
        session = app.extensions["hiroba.sessionmaker"]()
        user = make_user(session, email="m@corp.example", email_only=True)
        ch = make_channel(session, slug="news", name="News")
        channels.join(session, user=user, channel=ch)
        session.commit()
        url = outbound.prefs_url(app, user.id)
        client = app.test_client()
        page = client.get(_path(url, app))
        assert page.status_code == 200 and b"m@corp.example" in page.data
        token = re.search(rb'name="csrf_token" value="([^"]+)"', page.data).group(1).decode()
        # Without the CSRF token the form is refused.
        assert client.post(_path(url, app), data={"delivery": "weekly"}).status_code == 400
        form = {"csrf_token": token, "delivery": "weekly", "digest_hour": "7",
                f"channel_{ch.id}": "every_post"}  # fmt: skip
        assert client.post(_path(url, app), data=form).status_code == 200
        session.expire_all()
        user = session.get(User, user.id)
        assert user.delivery == Delivery.WEEKLY and user.digest_hour == 7
        m = session.scalar(select(Membership).where(Membership.user_id == user.id))
        assert m.delivery == Delivery.EVERY_POST
        user_id = user.id
        session.commit()
        # A forged or foreign token opens nothing.
        assert client.get("/mail/prefs/forged").status_code == 404
        other = outbound.unsubscribe_url(app, user_id, 0)
        assert client.get(_path(other, app).replace("unsubscribe", "prefs")).status_code == 404
        # Unsubscribe from everything (channel 0): the pages say what stops and what does not
        # (announcements reach everyone).
        asked = client.get(_path(other, app)).get_data(as_text=True)
        assert "Stop digests and mail about posts and mentions to m@corp.example?" in asked
        assert "Announcements from the admins still reach everyone" in asked
        done = client.post(_path(other, app), data={"List-Unsubscribe": "One-Click"})
        assert done.status_code == 200
        assert "Announcements from the admins still reach everyone" in done.get_data(as_text=True)
        session.expire_all()
        assert session.get(User, user_id).delivery == Delivery.OFF
        session.close()


def test_signed_pages_speak_the_members_language_not_the_browsers(live_app):
    """A mail client's one-click POST or a browser set to another language: the page opened
    from a member's own mail is in the member's language."""
    app = live_app
    session = app.extensions["hiroba.sessionmaker"]()
    emily = make_user(session, email="emily@corp.example", locale="en", email_only=True)
    kenji = make_user(session, email="kenji@corp.example", locale="ja", email_only=True)
    ch = make_channel(session, slug="news", name="News")
    session.commit()
    client = app.test_client()
    for user, browser, heading in (
        (emily, "ja", "Mail preferences"),
        (kenji, "en", "メールの設定"),
    ):
        page = client.get(
            _path(outbound.prefs_url(app, user.id), app), headers={"Accept-Language": browser}
        )
        assert page.status_code == 200 and f"<h1>{heading}</h1>" in page.text
    url = outbound.unsubscribe_url(app, emily.id, ch.id)
    page = client.get(_path(url, app), headers={"Accept-Language": "ja"})
    assert "<h1>Unsubscribe</h1>" in page.text
    # Pages not opened from a signed link still follow the browser.
    assert 'lang="ja"' in client.get("/login", headers={"Accept-Language": "ja"}).text
    session.close()


def test_the_digests_one_click_unsubscribe_stops_the_digest_not_mentions(live_app, smtp_sink):
    """Gmail's Unsubscribe button posts the digest's List-Unsubscribe: the member meant the
    digest (as mailing "digest off" does), not the mentions and replies they still want."""
    app = live_app
    app.config["RELAY_URL"] = smtp_sink.url
    session = app.extensions["hiroba.sessionmaker"]()
    boss = make_user(session, email="boss@corp.example", name="部長", email_only=True, locale="ja")
    peer = make_user(session, email="peer@corp.example")
    ch = make_channel(session, slug="general")
    make_thread(session, channel=ch, author=peer, title="T", body="b")
    session.commit()
    digests.build_and_queue_digest(app, session, boss, "daily:test", utcnow())
    session.commit()
    deliver(app)
    (mail,) = [m for m in to(smtp_sink, "boss@corp.example") if "digest." in str(m["List-Id"])]
    url = re.search(r"<(http[^>]+)>", str(mail["List-Unsubscribe"])).group(1)
    client = app.test_client()
    page = client.get(_path(url, app))
    assert "ダイジェスト" in page.get_data(as_text=True)
    session.expire_all()
    assert session.get(User, boss.id).delivery is None  # a GET changes nothing
    session.commit()
    done = client.post(_path(url, app), data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200
    session.expire_all()
    assert session.get(User, boss.id).delivery == Delivery.MENTIONS
    session.commit()
    # A mention still reaches him; no more digests are due.
    deliver(app)
    smtp_sink.messages.clear()
    make_thread(session, channel=ch, author=peer, title="至急", body="@boss 確認を")
    session.commit()
    deliver(app)
    assert len(to(smtp_sink, "boss@corp.example")) == 1
    assert digests.due_period(session.get(User, boss.id), utcnow()) is None
    session.close()


def test_an_email_only_member_sets_their_time_zone_from_the_mail_link(live_app):
    """The signed page is the only settings page a member who never signs in has: a manager
    posted abroad moves their quiet hours to where they are."""
    app = live_app
    session = app.extensions["hiroba.sessionmaker"]()
    user = make_user(session, email="m@corp.example", email_only=True, timezone="Asia/Tokyo")
    session.commit()
    path = _path(outbound.prefs_url(app, user.id), app)
    client = app.test_client()
    page = client.get(path)
    assert "<option selected>Asia/Tokyo</option>" in page.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    form = {"csrf_token": token, "delivery": "", "digest_hour": "8", "timezone": "Europe/Berlin"}
    saved = client.post(path, data=form)
    assert saved.status_code == 200 and "<option selected>Europe/Berlin</option>" in saved.text
    session.expire_all()
    assert session.get(User, user.id).timezone == "Europe/Berlin"
    session.commit()
    # A zone that does not exist is refused and nothing changes.
    refused = client.post(path, data={**form, "timezone": "Mars/Olympus"})
    assert refused.status_code == 422
    session.expire_all()
    assert session.get(User, user.id).timezone == "Europe/Berlin"
    session.close()
