"""The navigation of every page: (endpoint, label) pairs, shown only when the endpoint exists.

Other parts add their entries here (one line each); an entry whose blueprint is not
registered is simply left out, so adding one early is safe.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, request
from flask_babel import LazyString, get_locale
from flask_babel import lazy_gettext as _l

from hub.web.htmx import current_page

NAV: list[tuple[str, LazyString]] = [
    ("channels.index", _l("Channels")),
    ("mentions.index", _l("Mentions")),
    ("search.index", _l("Search")),
    ("culture.thanks_feed", _l("Thanks")),
    ("culture.rules", _l("Rules")),
    ("settings.index", _l("Settings")),
]

ADMIN_NAV: list[tuple[str, LazyString]] = [
    ("admin_members.index", _l("Members")),
    ("announcements.admin_index", _l("Announcements")),
    ("dashboard.index", _l("Dashboard")),
    ("culture.moderation_queue", _l("Moderation")),
    ("culture.governance_page", _l("Channel governance")),
    ("culture.admin_values", _l("Company values")),
    ("mail_admin.log", _l("Mail log")),
]


# Pages of a blueprint with several entries that belong to one of them (culture serves thanks,
# rules, moderation and more: its other pages mark no entry).
SECTION: dict[str, str] = {
    "culture.send_thanks": "culture.thanks_feed",
    "culture.member_thanks": "culture.thanks_feed",
    "culture.accept_rules": "culture.rules",
    "culture.moderate": "culture.moderation_queue",
    "culture.channel_requests": "culture.governance_page",
    "culture.suggest": "culture.governance_page",
    # The outgoing side of the mail log.
    "outbox_admin.log": "mail_admin.log",
    "outbox_admin.message": "mail_admin.log",
}


def _blueprint(endpoint: str) -> str:
    return endpoint.split(".", 1)[0]


def _present(entries: list[tuple[str, LazyString]]) -> list[tuple[str, LazyString, bool]]:
    """The entries whose endpoint exists, each with whether it is the current page's: its own
    endpoint, its section (``SECTION``), or any page of a blueprint that has only this entry
    (a channel's page under Channels)."""
    views = current_app.view_functions
    here = request.endpoint or ""
    shown = [(endpoint, label) for endpoint, label in entries if endpoint in views]
    blueprints = [_blueprint(e) for e, _label in NAV + ADMIN_NAV if e in views]
    alone = _blueprint(here) if blueprints.count(_blueprint(here)) == 1 else None
    return [
        (endpoint, label,
         endpoint in (here, SECTION.get(here)) or _blueprint(endpoint) == alone)
        for endpoint, label in shown
    ]  # fmt: skip


def context() -> dict[str, Any]:
    """Template context: ``nav``/``admin_nav`` as (endpoint, label, is_current), get_locale,
    current_page (where the language switch comes back to)."""
    return {
        "nav": _present(NAV), "admin_nav": _present(ADMIN_NAV), "get_locale": get_locale,
        "current_page": current_page,
    }  # fmt: skip
