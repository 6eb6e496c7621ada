"""The navigation of every page: (endpoint, label) pairs, shown only when the endpoint exists.

Other parts add their entries here (one line each); an entry whose blueprint is not
registered is simply left out, so adding one early is safe.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, request
from flask_babel import LazyString, get_locale
from flask_babel import lazy_gettext as _l

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


def _present(entries: list[tuple[str, LazyString]]) -> list[tuple[str, LazyString, bool]]:
    views = current_app.view_functions
    here = request.endpoint or ""
    blueprint = here.split(".", 1)[0]
    return [
        (endpoint, label, endpoint == here or endpoint.split(".", 1)[0] == blueprint)
        for endpoint, label in entries
        if endpoint in views
    ]


def context() -> dict[str, Any]:
    """Template context: ``nav``/``admin_nav`` as (endpoint, label, is_current), get_locale."""
    return {"nav": _present(NAV), "admin_nav": _present(ADMIN_NAV), "get_locale": get_locale}
