"""The outgoing side of the admin mail log (/admin/mail/outgoing): every mail the hub wrote, in
words, for an admin who has no shell on the server and no mail catcher (a relay is set).

Mail is written the way the hub writes it (the admin's invite form, the welcome mail of an
email-only member, a sign-in link asked for on the sign-in page), fanned out and sent to a
real SMTP sink; the pages are read through the web app as an admin.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_datetime
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from hub import create_app, db
from hub.db import utcnow
from hub.models import BounceRecord, OutboxMessage, User, Via
from hub.services import members
from hub.web.outbox_admin import CANCEL_LABELS, KIND_LABELS
from mailbridge import delivery, digests, fanout
from tests.conftest import dispose, japanese_app, test_settings
from tests.factories import make_channel, make_thread, make_user, signed_in
from tests.fixtures_mailout import parse, text_of

ROOT = Path(__file__).resolve().parents[2]
ADMIN = "admin@corp.example"
YAMAMOTO = "yamamoto@corp.example"
NEW_YORK = ZoneInfo("America/New_York")
TOKYO = ZoneInfo("Asia/Tokyo")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def in_three_days() -> str:
    """The weekday (mon..sun) three days from now in Tokyo: the one working day of a member
    whose mail therefore waits."""
    return DAYS[(datetime.now(TOKYO) + timedelta(days=3)).weekday()]


def rows(session: Any, kind: str) -> list[OutboxMessage]:
    """The outbox rows of ``kind`` as they are now, detached (the read ends: on SQLite it holds
    the write lock, which the web app's requests wait for)."""
    session.expire_all()
    stmt = select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id)
    found = list(session.scalars(stmt))
    session.commit()
    for row in found:
        session.expunge(row)
    return found


def flush(app: Flask) -> None:
    """Fan out every event and send what is due (``hiroba mail flush``)."""
    while fanout.fan_out(app):
        pass
    delivery.drain_outbox(app, limit=1000)


def row_of(page: str, mail_id: int) -> str:
    found = re.search(rf'<tr id="outbox-{mail_id}".*?</tr>', page, re.S)
    assert found, f"no row {mail_id} on the page"
    return found.group(0)


@pytest.fixture
def hub(app: Flask, session: Any, smtp_sink: Any) -> dict[str, Any]:
    """An admin in New York; the invite form adds Emily (web: an invitation with a sign-in
    link, sent at once); 山本 takes part by mail and works on one day, three days from now, in
    Tokyo (his welcome mail waits for it). Mail goes to a real SMTP relay."""
    app.config["RELAY_URL"] = smtp_sink.url
    admin = make_user(session, email=ADMIN, name="Admin", admin=True, timezone="America/New_York")
    make_user(session, email="member@corp.example", name="Member")
    make_user(
        session, email=YAMAMOTO, name="山本 誠", email_only=True, actor=admin,
        timezone="Asia/Tokyo", working_days=in_three_days(), working_hours="09:00-18:00",
    )  # fmt: skip
    session.commit()
    client = signed_in(app, ADMIN)
    r = client.post("/admin/members/invite", data={"email": "emily@corp.example", "name": "Emily"})
    assert r.status_code == 303, r.text
    flush(app)
    [invite] = rows(session, "invite")
    [welcome] = rows(session, "welcome")
    assert invite.status == "sent" and welcome.status == "pending"
    return {"client": client, "invite": invite, "welcome": welcome, "sink": smtp_sink}


def test_outgoing_mail_listed_newest_first_in_words(app, session, hub):
    page = hub["client"].get("/admin/mail/outgoing").text
    invite, welcome = hub["invite"], hub["welcome"]
    ids = [int(n) for n in re.findall(r'<tr id="outbox-(\d+)"', page)]
    assert ids == sorted(ids, reverse=True) and {invite.id, welcome.id} <= set(ids)

    row = row_of(page, invite.id)
    assert "Emily" in row and "emily@corp.example" in row
    assert "Invitation" in row and invite.subject in row
    sent_at = format_datetime(invite.sent_at, "short", tzinfo=NEW_YORK, locale="en")
    assert f"Sent at {sent_at}" in row

    row = row_of(page, welcome.id)
    assert "山本 誠" in row and YAMAMOTO in row and "Welcome (taking part by mail)" in row
    # The tab of the inbound log leads here.
    log = hub["client"].get("/admin/mail").text
    assert 'href="/admin/mail/outgoing"' in log


def test_waiting_mail_shows_its_time_in_the_admins_zone(app, session, hub):
    welcome = hub["welcome"]
    # 09:00 on his working day in Tokyo: the evening before in New York, where the admin is.
    starts = welcome.not_before.astimezone(TOKYO)
    assert (starts.hour, starts.minute) == (9, 0)
    in_new_york = format_datetime(welcome.not_before, "short", tzinfo=NEW_YORK, locale="en")
    in_tokyo = format_datetime(welcome.not_before, "short", tzinfo=TOKYO, locale="en")
    row = row_of(hub["client"].get("/admin/mail/outgoing").text, welcome.id)
    assert f"Waiting for working hours until {in_new_york}" in row
    assert in_tokyo not in row
    page = hub["client"].get(f"/admin/mail/outgoing/{welcome.id}").text
    assert f"Waiting for working hours until {in_new_york}" in page
    assert "America/New_York" in hub["client"].get("/admin/mail/outgoing").text


def test_filter_by_state_and_recipient(app, session, hub):
    client, invite, welcome = hub["client"], hub["invite"], hub["welcome"]

    def listed(query: str) -> set[int]:
        page = client.get(f"/admin/mail/outgoing?{query}").text
        return {int(n) for n in re.findall(r'<tr id="outbox-(\d+)"', page)}

    assert listed("state=waiting") == {welcome.id}
    assert invite.id in listed("state=sent") and welcome.id not in listed("state=sent")
    assert listed("who=yamamoto") == {welcome.id}
    assert listed("who=山本") == {welcome.id}
    assert listed("who=EMILY") == {invite.id}
    assert listed("who=yamamoto&state=sent") == set()
    # A LIKE wildcard is a character like any other.
    assert listed("who=%25") == set()


def test_non_admin_gets_403(app, session, hub):
    member = signed_in(app, "member@corp.example")
    welcome = hub["welcome"].id
    assert member.get("/admin/mail/outgoing").status_code == 403
    assert member.get(f"/admin/mail/outgoing/{welcome}").status_code == 403
    assert member.post(f"/admin/mail/outgoing/{welcome}/send-now").status_code == 403
    assert rows(session, "welcome")[0].not_before == hub["welcome"].not_before
    # Signed out: the sign-in page.
    anonymous = app.test_client().get("/admin/mail/outgoing")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]


def tokens_in(raw: bytes) -> set[str]:
    """The signed parts of a mail as sent, in its headers and its parts: link tokens and
    +token address parts."""
    msg = parse(raw)
    text = "\n".join(f"{k}: {v}" for k, v in msg.items())
    text += "".join(
        part.get_content() for part in msg.walk() if part.get_content_maintype() == "text"
    )
    found = set(re.findall(r"/(?:login/link|mail/prefs|mail/unsubscribe|a|f)/([\w.-]{16,})", text))
    found |= set(re.findall(r"\+([a-z2-7]{16,})@", text))
    return found


def test_sign_in_mail_text_is_not_shown(app, session, hub):
    r = app.test_client().post("/login/link", data={"email": "member@corp.example"})
    assert r.status_code == 200
    flush(app)
    [login] = rows(session, "login")
    [sent] = [
        m for m in hub["sink"].messages if m["msg"]["Message-ID"].strip("<>") in login.message_id
    ]
    secret = re.search(rb"/login/link/([\w-]+)", sent["raw"])
    assert secret is not None
    for row in (login, hub["invite"]):
        page = hub["client"].get(f"/admin/mail/outgoing/{row.id}").text
        assert 'id="text-withheld"' in page and "signs the member in" in page
        assert 'id="mail-text"' not in page
        assert row.subject in page and row.to_addr in page
    page = hub["client"].get(f"/admin/mail/outgoing/{login.id}").text
    assert secret.group(1).decode() not in page


def test_text_is_shown_with_every_token_hidden(app, session, hub):
    welcome = hub["welcome"]
    secrets = tokens_in(welcome.raw)
    assert len(secrets) >= 2, "the welcome mail signs a reply address and a preferences link"
    page = hub["client"].get(f"/admin/mail/outgoing/{welcome.id}").text
    assert 'id="mail-text"' in page
    assert "山本" in page and "help@hub.test" in page
    assert "welcome+[…]@hub.test" in page  # its Reply-To, hidden in the headers and the text
    assert "http://hub.test/mail/prefs/[…]" in page
    for token in secrets:
        assert token not in page


def test_post_in_a_private_channel_the_admin_is_not_in_is_not_shown(app, session, hub):
    ito = make_user(session, email="ito@corp.example", name="Ito")
    ueda = make_user(session, email="ueda@corp.example", name="Ueda")
    jinji = make_channel(session, slug="jinji", name="人事", private=True, reason="個人情報",
                         creator=ito, policy="anyone")  # fmt: skip
    session.flush()
    members.add_member_by_email(session, channel=jinji, email=ueda.email, actor=ito, via=Via.WEB)
    make_thread(session, channel=jinji, author=ito, title="評価面談", body="@Ueda 給与の件です")
    general = make_channel(session, slug="general", name="全体")
    make_thread(session, channel=general, author=ito, title="お知らせ", body="@Ueda 昼食会です")
    session.commit()
    flush(app)
    private, open_ = (r for r in rows(session, "post") if r.to_addr == "ueda@corp.example")
    page = hub["client"].get(f"/admin/mail/outgoing/{private.id}").text
    assert 'id="text-withheld"' in page and "給与" not in page
    page = hub["client"].get(f"/admin/mail/outgoing/{open_.id}").text
    assert 'id="mail-text"' in page and "昼食会です" in page


def test_digest_quoting_a_private_channel_the_admin_is_not_in_is_not_shown(app, session, hub):
    ito = make_user(session, email="ito@corp.example", name="Ito")
    ueda = make_user(session, email="ueda@corp.example", name="Ueda", email_only=True)
    kato = make_user(session, email="kato@corp.example", name="Kato", email_only=True)
    jinji = make_channel(session, slug="jinji", name="人事", private=True, reason="個人情報",
                         creator=ito, policy="anyone")  # fmt: skip
    session.flush()
    members.add_member_by_email(session, channel=jinji, email=ueda.email, actor=ito, via=Via.WEB)
    make_thread(session, channel=jinji, author=ito, title="評価面談", body="給与の件です")
    general = make_channel(session, slug="general", name="全体")
    make_thread(session, channel=general, author=ito, title="お知らせ", body="昼食会です")
    for member in (ueda, kato):
        assert digests.build_and_queue_digest(app, session, member, "daily:t", utcnow())
    session.commit()
    to_ueda, to_kato = rows(session, "digest")
    assert to_ueda.to_addr == "ueda@corp.example" and "給与" in text_of(parse(to_ueda.raw))
    page = hub["client"].get(f"/admin/mail/outgoing/{to_ueda.id}").text
    assert 'id="text-withheld"' in page and "給与" not in page
    page = hub["client"].get(f"/admin/mail/outgoing/{to_kato.id}").text
    assert 'id="mail-text"' in page and "昼食会です" in page


def test_member_bouncing_links_to_the_members_page(app, session, hub):
    yamamoto = session.scalar(select(User).where(User.email == YAMAMOTO))
    yamamoto.bouncing = True
    session.commit()
    page = hub["client"].get(f"/admin/mail/outgoing/{hub['welcome'].id}").text
    assert 'id="member-bouncing"' in page
    assert f'href="/admin/members#bounce-{yamamoto.id}"' in page


def add_row(session: Any, n: int, **kw: Any) -> OutboxMessage:
    values: dict[str, Any] = {
        "dedupe_key": f"test:{n}", "kind": "thanks", "to_addr": f"someone{n}@corp.example",
        "mail_from": "bounce@hub.test", "message_id": f"t{n}@hub.test", "subject": f"Mail {n}",
        "raw": b"Subject: x\r\n\r\nhello\r\n", **kw,
    }  # fmt: skip
    row = OutboxMessage(**values)
    session.add(row)
    session.flush()
    return row


def test_states_in_words(app, session, hub):
    later = utcnow() + timedelta(hours=2)
    failed = add_row(session, 1, status="failed", attempts=1,
                     last_error="550 5.1.1 <someone1@corp.example>: User unknown")  # fmt: skip
    muted = add_row(session, 2, status="cancelled", last_error="the thread was muted")
    retrying = add_row(
        session, 3, attempts=2, not_before=later, last_error="SMTPServerDisconnected"
    )
    bounced = add_row(session, 4, status="sent", sent_at=utcnow())
    gone = {"address": "someone4@corp.example", "status": "5.1.1", "diagnostic": "No such user"}
    session.add(BounceRecord(permanent=True, outbox_id=bounced.id, **gone))
    session.commit()
    page = hub["client"].get("/admin/mail/outgoing").text
    assert "Failed: 550 5.1.1 &lt;someone1@corp.example&gt;: User unknown" in row_of(
        page, failed.id
    )
    assert "Cancelled: the thread was muted" in row_of(page, muted.id)
    at = format_datetime(later, "short", tzinfo=NEW_YORK, locale="en")
    assert f"Retrying at {at}" in row_of(page, retrying.id)
    assert "SMTPServerDisconnected" in row_of(page, retrying.id)
    row = row_of(page, bounced.id)
    assert "then bounced: the address does not exist or is disabled" in row
    assert "No such user" in row
    listed = hub["client"].get("/admin/mail/outgoing?state=bounced").text
    assert re.findall(r'<tr id="outbox-(\d+)"', listed) == [str(bounced.id)]
    assert f"outbox-{bounced.id}" not in hub["client"].get("/admin/mail/outgoing?state=sent").text


def test_pages_of_fifty(app, session, hub):
    made = [add_row(session, n).id for n in range(60)]
    session.commit()
    first = hub["client"].get("/admin/mail/outgoing").text
    shown = [int(n) for n in re.findall(r'<tr id="outbox-(\d+)"', first)]
    assert shown == sorted(made, reverse=True)[:50]
    older = re.search(r'id="older" href="([^"]+)"', first)
    assert older is not None
    rest = hub["client"].get(older.group(1).replace("&amp;", "&")).text
    shown += [int(n) for n in re.findall(r'<tr id="outbox-(\d+)"', rest)]
    everything = session.scalars(select(OutboxMessage.id).order_by(OutboxMessage.id.desc()))
    assert shown == list(everything)
    assert 'id="older"' not in rest


@pytest.fixture
def csrf_app(database_url: str, tmp_path: Path, smtp_sink: Any) -> Iterator[Flask]:
    """The app as it runs for real: CSRF on, a relay."""
    app = create_app(
        test_settings(database_url, tmp_path, WTF_CSRF_ENABLED=True, RELAY_URL=smtp_sink.url)
    )
    yield app
    dispose(app)


def signed_in_with_csrf(app: Flask, email: str) -> FlaskClient:
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    page = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    r = client.post("/login", data={"email": email, "password": "correct horse battery",
                                    "csrf_token": token})  # fmt: skip
    assert r.status_code == 303, r.text
    return client


def test_send_now_needs_post_and_csrf(csrf_app, smtp_sink):
    with db.transaction(csrf_app) as s:
        admin = make_user(s, email=ADMIN, admin=True)
        make_user(s, email=YAMAMOTO, name="山本 誠", email_only=True, actor=admin,
                  working_days=in_three_days(), working_hours="09:00-18:00")  # fmt: skip
    flush(csrf_app)
    with db.reading(csrf_app) as s:
        welcome = s.scalar(select(OutboxMessage).where(OutboxMessage.kind == "welcome"))
        assert welcome is not None and welcome.not_before > utcnow()
        mail_id, waits_until = welcome.id, welcome.not_before
    client = signed_in_with_csrf(csrf_app, ADMIN)
    url = f"/admin/mail/outgoing/{mail_id}/send-now"

    def not_before() -> datetime:
        with db.reading(csrf_app) as s:
            return s.get(OutboxMessage, mail_id).not_before  # type: ignore[union-attr]

    assert client.get(url).status_code == 405
    assert client.post(url).status_code == 400  # no CSRF token
    assert not_before() == waits_until
    page = client.get(f"/admin/mail/outgoing/{mail_id}").text
    form = re.search(r'<form method="post" action="([^"]+)" id="send-now">.*?'
                     r'name="csrf_token" value="([^"]+)"', page, re.S)  # fmt: skip
    assert form is not None and form.group(1) == url
    r = client.post(url, data={"csrf_token": form.group(2)})
    assert r.status_code == 303 and r.headers["Location"].endswith(
        f"/admin/mail/outgoing/{mail_id}"
    )
    assert not_before() <= utcnow()
    flush(csrf_app)
    assert [m for m in smtp_sink.messages if YAMAMOTO in m["rcpt_tos"]]
    page = client.get(f"/admin/mail/outgoing/{mail_id}").text
    assert "Sent at" in page and 'id="send-now"' not in page
    # Pressed again (a second tab): nothing to do, and it says so.
    r = client.post(url, data={"csrf_token": form.group(2)}, follow_redirects=True)
    assert "not waiting" in r.text


def test_every_kind_the_bridge_writes_is_worded():
    written: set[str] = {"digest", "announcement", "announcement_reminder"}
    for path in (ROOT / "mailbridge").glob("*.py"):
        written |= set(re.findall(r'\bkind="(\w+)"', path.read_text()))
    assert written - set(KIND_LABELS) == set()


def test_every_reason_a_waiting_mail_is_cancelled_for_is_worded():
    tree = ast.parse((ROOT / "mailbridge/still_wanted.py").read_text())
    said: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Return) and isinstance(node.value, ast.Constant):
            said.add(node.value.value)
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "Audience":
            said |= {a.value for a in node.args if isinstance(a, ast.Constant)}
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            if any(getattr(t, "id", "") in ("GONE", "EDITED") for t in node.targets):
                said.add(node.value.value)
    said.discard(None)
    assert len(said) >= 10
    assert said - set(CANCEL_LABELS) == set()


@pytest.fixture
def ja_app(database_url: str, tmp_path: Path, smtp_sink: Any) -> Iterator[Flask]:
    """The app with the project's Japanese catalog."""
    with japanese_app(database_url, tmp_path, RELAY_URL=smtp_sink.url) as app:
        yield app


def test_in_japanese(ja_app):
    with db.transaction(ja_app) as s:
        admin = make_user(s, email=ADMIN, name="管理者", admin=True, locale="ja")
        make_user(s, email=YAMAMOTO, name="山本 誠", email_only=True, actor=admin,
                  working_days=in_three_days(), working_hours="09:00-18:00")  # fmt: skip
        make_user(s, email="member@corp.example", name="鈴木")
    flush(ja_app)
    ja_app.test_client().post("/login/link", data={"email": "member@corp.example"})
    flush(ja_app)
    client = signed_in(ja_app, ADMIN)
    with db.reading(ja_app) as s:
        welcome = s.scalar(select(OutboxMessage).where(OutboxMessage.kind == "welcome"))
        login = s.scalar(select(OutboxMessage).where(OutboxMessage.kind == "login"))
        assert welcome is not None and login is not None
        when = format_datetime(welcome.not_before, "short", tzinfo=TOKYO, locale="ja")
        welcome_id, login_id = welcome.id, login.id
    page = client.get("/admin/mail/outgoing").text
    assert f"勤務時間まで待機中（{when} に送信）" in row_of(page, welcome_id)
    assert "ようこそメール（メールで参加）" in row_of(page, welcome_id)
    assert "ログイン用リンク" in row_of(page, login_id) and "送信済み" in row_of(page, login_id)
    assert ">送信</a>" in page and ">受信</a>" in page
    page = client.get(f"/admin/mail/outgoing/{login_id}").text
    assert "このメールの本文は表示しません。メンバーとしてログインできるリンク" in page
