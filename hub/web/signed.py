"""Signed links from mail (preferences, unsubscribe, acknowledge, flag): who they name."""

from __future__ import annotations

from flask import abort, current_app, g, session
from flask_babel import refresh

from hub import tokens
from hub.db import get_session
from hub.models import User
from hub.services import accounts


def member_for(token: str, kind: str) -> tuple[User, int]:
    """The active member a signed link of ``kind`` names, and its target id; 404 otherwise."""
    found = tokens.read(token, tokens.keys_from_config(current_app.config))
    if found is None or found.kind != kind:
        abort(404)
    user = get_session().get(User, found.user_id)
    if user is None or not user.active:
        abort(404)
    # The page speaks the member's language, not the browser's (hub.web.select_locale), unless
    # the language switch was used in this browser: then it speaks the language chosen there.
    if session.get("locale") not in accounts.LOCALES:
        g.signed_member_locale = user.locale
        refresh()
    return user, found.target_id
