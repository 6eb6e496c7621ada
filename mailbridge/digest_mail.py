"""A member's digest as a mail: its template context (reply links per item, channel sections
rendered once and shared) and the outbox values (Reply-To a digest token, List-* headers)."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

from flask import Flask
from flask_babel import get_locale
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup, escape

from hub import tokens
from hub.models import User
from mailbridge import addresses, outbound, quiet
from mailbridge.digest_activity import Activity
from mailbridge.digest_items import ChannelSection, Digest

_MAILTO = f"@@hiroba-{uuid.uuid4().hex}-mailto-{{}}@@"
# The digest's first line. It is still the marker a reply is cut at (quote_patterns.REPLY_MARKER
# matches its start, so a copy of the digest under it is never read as an answer), but it says
# what the digest asks for: answers under the items, or above it (a reply naming its marker).
DIGEST_MARKER = (
    "##- この行より上に返信してください（または答えたい項目のすぐ下に） / "
    "Please reply above this line, or under the item you answer -##"
)
_SECTION_TEMPLATES = {"txt": "mail/_digest_section.txt", "html": "mail/_digest_section_html.txt"}


def digest_context(
    app: Flask,
    user: User,
    digest: Digest,
    parts: dict[tuple[str, str, ChannelSection], str] | None = None,
) -> dict[str, Any]:
    """What the digest templates need, with the member's links. ``parts`` caches the rendered
    channel sections across members (``Activity.parts``; a fresh cache when None)."""
    cfg = app.config
    keys = tokens.keys_from_config(cfg)
    domain, base = cfg["MAIL_DOMAIN"], cfg["BASE_URL"]
    cache = parts if parts is not None else {}

    links: dict[int, str] = {}

    def mailto(thread_id: int, title: str) -> str:
        # Called for the text and the HTML part: sign each link once.
        found = links.get(thread_id)
        if found is None:
            addr = addresses.encode("reply", user.id, thread_id, domain, keys)
            found = links[thread_id] = f"mailto:{addr}?subject={quote('Re: ' + title)}"
        return found

    def ack_mailto(announcement_id: int) -> str:
        return f"mailto:{addresses.encode('ack', user.id, announcement_id, domain, keys)}"

    @pass_context
    def channel_section(ctx: Context, section: ChannelSection, part: str) -> str:
        """One channel's section, rendered once per language and shared, with this member's
        reply links filled in."""
        key = (str(get_locale()), part, section)
        shared = cache.get(key)
        if shared is None:
            shared = cache[key] = ctx.environment.get_template(_SECTION_TEMPLATES[part]).render(
                section=section,
                gettext=ctx["gettext"],
                ngettext=ctx["ngettext"],
                mailto=lambda thread_id, _title: _MAILTO.format(thread_id),
                thread_url=ctx["thread_url"],
                channel_url=ctx["channel_url"],
            )
        out = shared
        for item in section.items:
            link = mailto(item.thread_id, item.title)
            out = out.replace(
                _MAILTO.format(item.thread_id), str(escape(link)) if part == "html" else link
            )
        return Markup(out) if part == "html" else out

    local_since = quiet.local_now(user, digest.since)
    return {
        "digest": digest,
        "since_local": local_since.strftime("%Y-%m-%d %H:%M"),
        "mailto": mailto,
        "ack_mailto": ack_mailto,
        "channel_section": channel_section,
        "thread_url": lambda tid: f"{base}/t/{tid}",
        "channel_url": lambda slug: f"{base}/c/{slug}",
        "reply_marker": DIGEST_MARKER,
    }


def reply_to(app: Flask, user_id: int, run_id: int) -> str:
    """The digest mail's Reply-To: a digest token naming the member's DigestRun."""
    keys, domain = tokens.keys_from_config(app.config), app.config["MAIL_DOMAIN"]
    return addresses.encode("digest", user_id, run_id, domain, keys)


def mail(
    app: Flask,
    user: User,
    period: str,
    digest: Digest,
    act: Activity | None,
    run_id: int | None = None,
) -> dict[str, Any]:
    """Everything ``outbound.mail_values`` needs for the member's digest mail. Its Reply-To
    names the DigestRun: without ``run_id`` (not claimed yet) it is left for ``reply_to``."""
    cfg = app.config
    domain = cfg["MAIL_DOMAIN"]
    # Unsubscribing from a digest stops the digest (as mailing 'digest off' does), not all mail.
    unsubscribe = outbound.unsubscribe_url(app, user.id, tokens.DIGEST)
    context = digest_context(app, user, digest, act.parts if act else None)
    context.update(
        base_url=cfg["BASE_URL"], mail_domain=domain, recipient=user,
        prefs_url=outbound.prefs_url(app, user.id),
    )  # fmt: skip
    return {
        "kind": "digest",
        # The DigestRun's unique key already makes this the only digest of the period.
        "dedupe_key": f"digest:{period}",
        "to_addr": user.email,
        "to_name": user.name,
        "rendered": outbound.render_email(app, "digest", user.locale, **context),
        "headers": {
            **({"Reply-To": reply_to(app, user.id, run_id)} if run_id is not None else {}),
            "List-Id": f"Hiroba digest <digest.{domain}>",
            "List-Unsubscribe": f"<{unsubscribe}>, <mailto:help@{domain}"
            "?subject=digest%20off&body=digest%20off>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
        "message_id": f"digest.{period.replace(':', '-')}.u{user.id}@{domain}",
        "urgent": True,
    }
