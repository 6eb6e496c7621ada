"""Sign-in (password or a mailed single-use link), sign-out, and the language switch."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from hub.db import get_session
from hub.errors import HubError
from hub.models import User
from hub.services import accounts, events, login_links
from hub.web import limiter

bp = Blueprint("auth", __name__)


def _login_limit() -> str:
    return str(current_app.config["LOGIN_RATE_LIMIT"])


def safe_next(target: str | None, default: str = "") -> str:
    """Only same-site paths are followed after sign-in (no open redirects).

    >>> safe_next("/c/general"), safe_next("//evil.example/x"), safe_next("https://e.x/")
    ('/c/general', '', '')
    """
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target:
        return default
    return target


def _home() -> str:
    return url_for("channels.index") if "channels.index" in current_app.view_functions else "/"


@bp.get("/login")
def login() -> ResponseReturnValue:
    """The sign-in page: a password form and a 'mail me a link' form."""
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next"), _home()))
    return render_template("auth/login.html", next=request.args.get("next", ""))


@bp.post("/login")
@limiter.limit(_login_limit)
def login_post() -> ResponseReturnValue:
    """Check the password; the same message for an unknown address and a wrong password."""
    email = request.form.get("email", "").strip()
    password = request.form.get("password", "")
    db = get_session()
    user = accounts.find_user_by_email(db, email) if email else None
    if user is None or not password or not accounts.check_password(user, password):
        return render_template(
            "auth/login.html",
            email=email,
            next=request.form.get("next", ""),
            error=_("That address and password do not match an active member."),
        ), 422
    db.commit()  # check_password may have upgraded the hash
    login_user(user, remember=bool(request.form.get("remember")))
    return redirect(safe_next(request.form.get("next"), _home()), 303)


@bp.post("/login/link")
@limiter.limit(_login_limit)
def request_link() -> ResponseReturnValue:
    """Mail a sign-in link; the answer is the same whether or not the address is a member's."""
    email = request.form.get("email", "").strip()
    db = get_session()
    user = accounts.find_user_by_email(db, email) if email else None
    if user is not None and user.active:
        minutes = int(current_app.config["MAGIC_LINK_MINUTES"])
        token = login_links.create_login_link(db, user, minutes=minutes)
        # The mail bridge turns this event into the mail (template mail/login_link).
        events.emit(db, "login_link_requested", subject_id=user.id, token=token)
        db.commit()
    return render_template("auth/link_sent.html", email=email)


def _link_failed(token: str, status: int) -> ResponseReturnValue:
    """The page of a link that no longer works: it offers to mail a fresh one (to the member
    it was made for), or for a link nobody knows the address form."""
    link = login_links.find_login_link(get_session(), token)
    renewable = link is not None and link.user.active
    page = render_template("auth/confirm_link.html", token=token, failed=True, renewable=renewable)
    return page, status


@bp.get("/login/link/<token>")
def confirm_link(token: str) -> ResponseReturnValue:
    """Show a button: opening the link (mail scanners do) never signs anybody in. A link that
    no longer works (an invitation opened after its days) says so at once."""
    if not login_links.link_works(login_links.find_login_link(get_session(), token)):
        return _link_failed(token, 200)
    return render_template("auth/confirm_link.html", token=token)


@bp.post("/login/link/<token>")
@limiter.limit(_login_limit)
def use_link(token: str) -> ResponseReturnValue:
    """Spend the link and sign in."""
    db = get_session()
    try:
        user = login_links.use_login_link(db, token)
    except HubError:
        db.rollback()
        return _link_failed(token, 422)
    db.commit()
    login_user(user)
    return redirect(_home(), 303)


@bp.post("/login/link/<token>/renew")
@limiter.limit(_login_limit)
def renew_link(token: str) -> ResponseReturnValue:
    """Mail a fresh sign-in link to the member an expired or used link was made for; the
    answer names no address (whoever holds the old link learns nothing new)."""
    db = get_session()
    minutes = int(current_app.config["MAGIC_LINK_MINUTES"])
    renewed = login_links.renew_login_link(db, token, minutes=minutes)
    if renewed is None:
        return _link_failed(token, 422)
    user, fresh = renewed
    events.emit(db, "login_link_requested", subject_id=user.id, token=fresh)
    db.commit()
    return render_template("auth/link_sent.html", renewed=True)


def keep_signed_in(user: User) -> None:
    """Sign this browser in again under the member's new session version, remembered if it
    was: a new password ends the member's other sessions, not the one that set it."""
    remembered = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")
    login_user(user, remember=remembered in request.cookies)


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    logout_user()
    flash(_("You have signed out."), "info")
    return redirect(url_for("auth.login"), 303)


@bp.post("/locale")
def set_locale() -> ResponseReturnValue:
    """Switch the language: the member's own setting, or the browser session's."""
    chosen = request.form.get("locale", "")
    if chosen in accounts.LOCALES:
        session["locale"] = chosen
        if current_user.is_authenticated:
            db = get_session()
            accounts.update_preferences(db, g.user, locale=chosen)
            db.commit()
    return redirect(safe_next(request.form.get("next"), _home()), 303)
