"""The web pages: extensions (login, CSRF, i18n, rate limits, htmx) and blueprints."""

from __future__ import annotations

from flask import Flask, g, request, session, url_for
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFProtect
from htmx_flask import Htmx
from werkzeug.wrappers import Response

from hub.db import get_session
from hub.i18n import honorific
from hub.models import User
from hub.services.announcements import says_urgent
from hub.web.htmx import current_page, whole_page_redirect

login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
# Not named "htmx": that name is the hub.web.htmx module, which would shadow it.
htmx_ext = Htmx()
limiter = Limiter(key_func=get_remote_address)


def select_locale() -> str:
    """The member's locale (signed in, or named by the signed mail link being opened), else the
    browser's Accept-Language, else the default."""
    if current_user and getattr(current_user, "is_authenticated", False):
        return str(current_user.locale)
    if g.get("signed_member_locale") in ("ja", "en"):
        return str(g.signed_member_locale)
    chosen = session.get("locale")
    if chosen in ("ja", "en"):
        return str(chosen)
    return request.accept_languages.best_match(["ja", "en"]) or "ja"


def select_timezone() -> str | None:
    if current_user and getattr(current_user, "is_authenticated", False):
        return str(current_user.timezone)
    return None


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    """The active member a session names (User.get_id), if its session version is current;
    an id without a version (signed in before versions) is version 0."""
    user_id, _sep, version = session_id.partition(":")
    if not user_id.isdigit() or not (version or "0").isdigit():
        return None
    user = get_session().get(User, int(user_id))
    if user is None or not user.active or user.session_version != int(version or "0"):
        return None
    return user


@login_manager.unauthorized_handler
def sign_in_first() -> Response:
    """Send a visitor who is not signed in (their session ended) to the sign-in page, and back
    to the page they were on after it; a poll moves the whole tab there once."""
    return whole_page_redirect(url_for("auth.login", next=current_page()), 302)


def init_app(app: Flask) -> None:
    """Set up the extensions and register every blueprint."""
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    csrf.init_app(app)
    babel.init_app(
        app,
        locale_selector=select_locale,
        timezone_selector=select_timezone,
        default_translation_directories=str(app.root_path + "/translations"),
    )
    # {{ name|honorific }}: さん after a name in Japanese (unless it carries a title), as the
    # page or the mail (render_email's locale) reads; the name unchanged in English.
    app.add_template_filter(honorific, "honorific")
    # {% if a.urgent and not a.title|says_urgent %}: no "Urgent" label before 【緊急】 titles.
    app.add_template_filter(says_urgent, "says_urgent")
    htmx_ext.init_app(app)
    app.config.setdefault("RATELIMIT_STORAGE_URI", "memory://")
    limiter.init_app(app)

    from hub.web import blueprints, form_pages, nav

    blueprints.register(app)
    form_pages.init_app(app)
    app.context_processor(nav.context)

    @app.teardown_request
    def _close_request_session(_exc: BaseException | None) -> None:
        # A request's session and member end with the request, even when an outer app context
        # (a test's, a CLI's) outlives it: an open SQLite transaction would hold the write lock.
        # Flask-Login caches the member in g as well: it belongs to this request only.
        g.pop("_login_user", None)
        g.pop("user", None)
        session = g.pop("db_session", None)
        if session is not None:
            session.close()

    @app.before_request
    def _user_to_g() -> None:
        # The real User object (not the proxy): services hand it to SQLAlchemy relationships.
        g.user = current_user._get_current_object() if current_user.is_authenticated else None
