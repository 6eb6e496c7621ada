"""A new password ends the member's other sign-ins (another browser, a remembered sign-in), not
the one that set it; deactivation ends them for good, even after reactivation."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from hub import db
from hub.services import accounts
from tests.factories import PASSWORD, make_user

NEW_PASSWORD = "a much better passphrase"


def _browser(app: Flask, email: str, *, remember: bool = False) -> FlaskClient:
    browser = app.test_client()
    browser.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    form = {"email": email, "password": PASSWORD, **({"remember": "1"} if remember else {})}
    assert browser.post("/login", data=form).status_code == 303
    return browser


def _signed_in(browser: FlaskClient) -> bool:
    page = browser.get("/settings")
    assert page.status_code in (200, 302)
    return page.status_code == 200


def test_a_new_password_signs_out_the_other_browsers(app):
    with db.transaction(app) as s:
        make_user(s, email="tanaka@corp.example")
    laptop = _browser(app, "tanaka@corp.example")
    phone = _browser(app, "tanaka@corp.example")
    remembered = _browser(app, "tanaka@corp.example", remember=True)
    # The remembered one lost its session cookie (the browser was closed): the remember cookie
    # signs it in again, before the change.
    remembered.delete_cookie("session")
    assert _signed_in(laptop) and _signed_in(phone) and _signed_in(remembered)

    changed = laptop.post(
        "/settings/password",
        data={"current": PASSWORD, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert changed.status_code == 303
    assert _signed_in(laptop)
    assert not _signed_in(phone)
    remembered.delete_cookie("session")
    assert not _signed_in(remembered)
    # The phone signs in with the new password as before.
    again = phone.post("/login", data={"email": "tanaka@corp.example", "password": NEW_PASSWORD})
    assert again.status_code == 303 and _signed_in(phone) and _signed_in(laptop)


def test_a_remembered_browser_that_changes_the_password_stays_remembered(app):
    with db.transaction(app) as s:
        make_user(s, email="suzuki@corp.example")
    browser = _browser(app, "suzuki@corp.example", remember=True)
    form = {"current": PASSWORD, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    assert browser.post("/settings/password", data=form).status_code == 303
    browser.delete_cookie("session")
    assert _signed_in(browser)


def test_a_refused_password_change_ends_nobody(app):
    with db.transaction(app) as s:
        make_user(s, email="ito@corp.example")
    laptop = _browser(app, "ito@corp.example")
    phone = _browser(app, "ito@corp.example")
    wrong = {"current": "not the password", "new": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    assert laptop.post("/settings/password", data=wrong).status_code == 422
    assert _signed_in(laptop) and _signed_in(phone)


def test_a_deactivated_members_sessions_stay_ended_after_reactivation(app):
    with db.transaction(app) as s:
        admin = make_user(s, email="sato@corp.example", admin=True)
        make_user(s, email="gone@corp.example")
    stolen = _browser(app, "gone@corp.example")
    with db.transaction(app) as s:
        member = accounts.find_user_by_email(s, "gone@corp.example")
        accounts.deactivate(s, member, actor=s.merge(admin))
    assert not _signed_in(stolen)
    with db.transaction(app) as s:
        member = accounts.find_user_by_email(s, "gone@corp.example")
        accounts.reactivate(s, member, actor=s.merge(admin))
    assert not _signed_in(stolen)
    assert _signed_in(_browser(app, "gone@corp.example"))


def test_a_session_from_before_versions_still_works(app):
    """Members signed in before the upgrade (a session holding only their id) stay signed in
    until their first new password."""
    with db.transaction(app) as s:
        user = make_user(s, email="old@corp.example")
        user_id = user.id
    browser = app.test_client()
    with browser.session_transaction() as cookie:
        cookie["_user_id"] = str(user_id)
        cookie["_fresh"] = True
    assert _signed_in(browser)
    with db.transaction(app) as s:
        accounts.set_password(s.get(type(user), user_id), NEW_PASSWORD)
    assert not _signed_in(browser)
