"""Sign-in over HTTP: password, mailed link (single use, expiry), rate limit, CSRF, deactivation."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from hub import create_app, db
from hub.models import Event, LoginLink
from hub.services import accounts, login_links
from hub.web import limiter
from tests.conftest import test_settings
from tests.factories import make_user


def test_password_sign_in_and_out(client, session, auth):
    make_user(session, email="tanaka@corp.example")
    session.commit()
    assert client.get("/").status_code == 302  # not signed in: to the sign-in page
    r = auth.login("TANAKA@corp.example")
    assert r.status_code == 303 and r.headers["Location"] == "/"
    assert client.get("/").status_code == 200
    assert auth.logout().status_code == 303
    assert client.get("/").headers["Location"].startswith("/login")


def test_wrong_password_and_unknown_address_look_the_same(client, session, auth):
    make_user(session, email="tanaka@corp.example")
    session.commit()
    wrong = auth.login("tanaka@corp.example", "nope")
    unknown = auth.login("nobody@corp.example", "nope")
    assert wrong.status_code == unknown.status_code == 422
    strip = lambda r: re.sub(r'value="[^"]*"', "", r.get_data(as_text=True))  # noqa: E731
    assert strip(wrong) == strip(unknown)


def test_next_is_followed_only_on_this_site(client, session):
    make_user(session, email="a@corp.example")
    session.commit()
    data = {"email": "a@corp.example", "password": "correct horse battery"}
    r = client.post("/login", data={**data, "next": "//evil.example/"})
    assert r.headers["Location"] == "/"


def _link_token(session, email: str) -> str:
    event = session.scalars(select(Event).where(Event.kind == "login_link_requested")).all()[-1]
    assert event.subject_id == accounts.find_user_by_email(session, email).id
    return event.data["token"]


def test_magic_link_is_single_use_and_needs_a_post(client, session):
    make_user(session, email="buchou@corp.example", email_only=True)
    session.commit()
    r = client.post("/login/link", data={"email": "buchou@corp.example"})
    same = client.post("/login/link", data={"email": "stranger@corp.example"})
    assert r.status_code == same.status_code == 200
    assert "buchou" in r.get_data(as_text=True) and "stranger" in same.get_data(as_text=True)
    token = _link_token(session, "buchou@corp.example")
    session.rollback()  # end the read: SQLite lets one transaction write at a time
    # Opening the link (a mail scanner does) shows a button and signs nobody in.
    assert client.get(f"/login/link/{token}").status_code == 200
    assert client.get("/").status_code == 302
    assert client.post(f"/login/link/{token}").status_code == 303
    assert client.get("/").status_code == 200
    client.post("/logout")
    assert client.post(f"/login/link/{token}").status_code == 422  # used once already


def test_magic_link_expires(client, session):
    user = make_user(session, email="kachou@corp.example", email_only=True)
    token = login_links.create_login_link(session, user, minutes=15)
    link = session.scalars(select(LoginLink)).one()
    link.expires_at = link.expires_at - timedelta(minutes=16)
    session.commit()
    assert client.post(f"/login/link/{token}").status_code == 422
    assert client.get("/").status_code == 302


def test_deactivated_member_cannot_sign_in_by_any_door(client, session, auth):
    admin = make_user(session, admin=True)
    user = make_user(session, email="gone@corp.example")
    token = login_links.create_login_link(session, user)
    session.commit()
    assert auth.login("gone@corp.example").status_code == 303  # a live session ...
    accounts.deactivate(session, user, actor=admin)
    session.commit()
    assert client.get("/").status_code == 302  # ... ends at once
    assert auth.login("gone@corp.example").status_code == 422
    assert client.post(f"/login/link/{token}").status_code == 422
    client.post("/login/link", data={"email": "gone@corp.example"})
    kinds = session.scalars(select(Event.kind)).all()
    assert "login_link_requested" not in kinds


def test_sign_in_is_rate_limited(database_url, tmp_path):
    app = create_app(test_settings(database_url, tmp_path, RATELIMIT_ENABLED=True,
                                   LOGIN_RATE_LIMIT="3 per minute"))  # fmt: skip
    limiter.reset()
    try:
        client = app.test_client()
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
        codes = [
            client.post("/login", data={"email": "x@corp.example", "password": "p"}).status_code
            for _ in range(4)
        ]
        assert codes == [422, 422, 422, 429]
        assert "Too many attempts" in client.post("/login", data={}).get_data(as_text=True)
    finally:
        limiter.reset()
        db.engine_of(app).dispose()


def test_csrf_token_is_required(database_url, tmp_path):
    app = create_app(test_settings(database_url, tmp_path, WTF_CSRF_ENABLED=True))
    try:
        with db.transaction(app) as session:
            make_user(session, email="a@corp.example")
        client = app.test_client()
        data = {"email": "a@corp.example", "password": "correct horse battery"}
        assert client.post("/login", data=data).status_code == 400
        page = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        assert client.post("/login", data={**data, "csrf_token": token}).status_code == 303
        # htmx sends the token in a header (hx-headers on <body>).
        r = client.post("/c/x/join", headers={"X-CSRFToken": token, "HX-Request": "true"})
        assert r.status_code != 400
        assert client.post("/c/x/join").status_code == 400
    finally:
        db.engine_of(app).dispose()


def test_language_switch(client, session, auth):
    make_user(session, email="a@corp.example")
    session.commit()
    auth.login("a@corp.example")
    r = client.post("/locale", data={"locale": "en", "next": "/settings"})
    assert r.status_code == 303 and r.headers["Location"] == "/settings"
    session.expire_all()
    assert accounts.find_user_by_email(session, "a@corp.example").locale == "en"
    session.rollback()
    assert '<html lang="en"' in client.get("/settings").get_data(as_text=True)
