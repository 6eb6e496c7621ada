"""What of a mail to a member an admin may read on the outgoing mail log: never what acts as them.

A mail to a member carries signed tokens that work for whoever holds them: links that sign them
in (the invitation, the sign-in link), change their mail settings or unsubscribe them, acknowledge
an announcement, flag a post or pick a thanks value in their name, open a file as them; and
addresses that post, accept the rules or answer "which thread?" as them (``reply+<token>@``).
The log shows each such link and address with its token hidden: which links a mail held is
useful ("did the invitation have a link?"), the token is not. A link is signed when the hub's
own route for it takes a ``token`` or ``signed`` argument (read from the app's URL map, so a new
signed route is hidden too); an address when it has a ``+`` part on the hub's mail domain.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import urlsplit

from flask import Flask
from werkzeug.exceptions import HTTPException
from werkzeug.routing import MapAdapter, RequestRedirect

HIDDEN = "[…]"
# The route arguments that carry a signed token (hub/web/auth.py, mailprefs.py, culture.py,
# announcements.py).
SIGNED_ARGS = frozenset({"token", "signed"})
# A URL as it stands in a text part or a header: up to a space, a bracket or Japanese
# punctuation around it.
_URL = re.compile(r"https?://[^\s<>\"'()（）「」『』、。]+")


def hider(app: Flask) -> Callable[[str], str]:
    """A function that hides every signed token in a text written by ``app``'s mail."""
    base = str(app.config["BASE_URL"]).rstrip("/")
    root = urlsplit(base).path
    domain = re.escape(str(app.config["MAIL_DOMAIN"]))
    address = re.compile(rf"\b([\w.-]+)\+[^@\s<>\"']+@({domain})\b", re.IGNORECASE)
    adapter = app.url_map.bind("hub.invalid", script_name=root or "/")

    def hide_link(found: re.Match[str]) -> str:
        url = found.group(0)
        if not url.startswith(base + "/"):
            return url
        return _hide_args(url, urlsplit(url).path[len(root) :], adapter) or f"{base}/{HIDDEN}"

    def hide(text: str) -> str:
        return address.sub(rf"\1+{HIDDEN}@\2", _URL.sub(hide_link, text))

    return hide


def _hide_args(url: str, path: str, adapter: MapAdapter) -> str | None:
    """``url`` with the values of the signed arguments its route takes hidden; None when no
    page of the hub has that path (an older link, say: what it holds is unknown, so the caller
    hides all of it after the hub's address)."""
    try:
        _endpoint, args = adapter.match(path, method="GET")
    except (HTTPException, RequestRedirect):
        return None
    for name, value in args.items():
        if name in SIGNED_ARGS and str(value):
            url = url.replace(str(value), HIDDEN)
    return url
