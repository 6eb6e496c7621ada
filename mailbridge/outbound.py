"""Mail out: render templates, build messages, queue them in the outbox.

Everything we send is written as an OutboxMessage row in the caller's transaction (so nothing
leaves for work that rolled back); ``mailbridge.delivery`` hands the rows to the relay, or to the
built-in catcher when no relay is configured.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from flask import Flask
from flask_babel import force_locale, get_translations
from jinja2.ext import _make_new_gettext, _make_new_ngettext
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub import tokens
from hub.db import utcnow
from hub.models import Channel, OutboxMessage, User
from mailbridge import addresses
from mailbridge.mime import build_message

REPLY_MARKER = "##- この行より上に返信してください / Please reply above this line -##"


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    text: str
    html: str | None


def render_email(app: Flask, name: str, locale: str = "ja", **context: Any) -> Rendered:
    """Render templates/mail/<name>.{subject.txt,txt,html} in ``locale``."""
    with app.app_context(), force_locale(locale):
        env = app.jinja_env
        context.setdefault("reply_marker", REPLY_MARKER)
        # Look the catalog up once per mail, not once per string (digests have hundreds).
        catalog = get_translations()
        context.setdefault("gettext", _make_new_gettext(catalog.gettext))
        context.setdefault("ngettext", _make_new_ngettext(catalog.ngettext))
        subject = env.get_template(f"mail/{name}.subject.txt").render(**context)
        text = env.get_template(f"mail/{name}.txt").render(**context)
        try:
            html_t = env.get_template(f"mail/{name}.html")
        except Exception:  # noqa: BLE001 - a mail may be text-only
            html = None
        else:
            html = html_t.render(**context)
    return Rendered(" ".join(subject.split()), text, html)


def new_message_id(domain: str, kind: str = "m") -> str:
    """A fresh Message-ID on our domain, without angle brackets."""
    return f"{kind}.{uuid.uuid4().hex}@{domain}"


# --- links and headers other parts share ------------------------------------------------------


def _keys(app: Flask) -> list[str]:
    return tokens.keys_from_config(app.config)


def prefs_url(app: Flask, user_id: int) -> str:
    """The signed preferences page of a member (no sign-in needed)."""
    return f"{app.config['BASE_URL']}/mail/prefs/{tokens.prefs_token(app.config, user_id)}"


def unsubscribe_url(app: Flask, user_id: int, channel_id: int = 0) -> str:
    """The signed one-click unsubscribe target for a channel (0 = all mail, tokens.DIGEST = the
    digest)."""
    tok = tokens.make("unsubscribe", user_id, channel_id, _keys(app))
    return f"{app.config['BASE_URL']}/mail/unsubscribe/{tok}"


def reply_address(app: Flask, user_id: int, thread_id: int) -> str:
    """The member's reply address for a thread."""
    cfg = app.config
    return addresses.encode("reply", user_id, thread_id, cfg["MAIL_DOMAIN"], _keys(app))


def list_headers(app: Flask, user_id: int, channel: Channel) -> dict[str, str]:
    """List-* and Precedence headers of channel mail (RFC 2369, 2919, 8058)."""
    cfg = app.config
    domain, base = cfg["MAIL_DOMAIN"], cfg["BASE_URL"]
    mute = quote(f"mute {channel.slug}")
    return {
        "List-Id": f"{channel.name} <{channel.slug}.{domain}>",
        "List-Archive": f"<{base}/c/{channel.slug}>",
        "List-Unsubscribe": f"<{unsubscribe_url(app, user_id, channel.id)}>, "
        f"<mailto:help@{domain}?subject={mute}&body={mute}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "Precedence": "list",
    }


# --- queueing ----------------------------------------------------------------------------------


def mail_values(
    app: Flask,
    *,
    kind: str,
    dedupe_key: str,
    user_id: int | None,
    to_addr: str,
    to_name: str,
    rendered: Rendered,
    from_name: str = "Hiroba",
    headers: dict[str, str] | None = None,
    message_id: str | None = None,
    not_before: datetime | None = None,
    urgent: bool = False,
) -> dict[str, Any]:
    """The column values of one outbox row (its VERP return path is filled in at delivery):
    for callers that write many rows with one ``session.execute(insert(OutboxMessage), rows)``."""
    domain = app.config["MAIL_DOMAIN"]
    mid = message_id or new_message_id(domain, kind.split("_")[0])
    all_headers = {"Auto-Submitted": "auto-generated", "X-Auto-Response-Suppress": "All"}
    all_headers.update(headers or {})
    raw = build_message(
        from_name=from_name,
        from_addr=f"hiroba@{domain}",
        to_name=to_name,
        to_addr=to_addr,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        message_id=mid,
        headers=all_headers,
    )
    return {
        "dedupe_key": dedupe_key,
        "kind": kind,
        "user_id": user_id,
        "to_addr": to_addr,
        "mail_from": "",
        "message_id": mid,
        "subject": rendered.subject,
        "raw": raw,
        "not_before": not_before or utcnow(),
        "urgent": urgent,
    }


def insert_mail(
    app: Flask,
    session: Session,
    *,
    kind: str,
    dedupe_key: str,
    user: User | None,
    to_addr: str,
    to_name: str,
    rendered: Rendered,
    from_name: str = "Hiroba",
    headers: dict[str, str] | None = None,
    message_id: str | None = None,
    not_before: datetime | None = None,
    urgent: bool = False,
    flush: bool = True,
) -> OutboxMessage:
    """Write one outbox row from rendered parts (no duplicate check: callers do that).
    What a row is about is read back from its dedupe key ("post:<id>") and Message-ID.

    With ``flush=False`` (bulk fan-out) the VERP return path is filled in at delivery.
    """
    values = mail_values(
        app,
        kind=kind,
        dedupe_key=dedupe_key,
        user_id=user.id if user else None,
        to_addr=to_addr,
        to_name=to_name,
        rendered=rendered,
        from_name=from_name,
        headers=headers,
        message_id=message_id,
        not_before=not_before,
        urgent=urgent,
    )
    row = OutboxMessage(**values)
    session.add(row)
    if flush:
        session.flush()
        row.mail_from = return_path(app, row)
    return row


def return_path(app: Flask, row: OutboxMessage) -> str:
    """VERP: the envelope sender names this row, so a bounce is attributed even when unparseable."""
    domain = app.config["MAIL_DOMAIN"]
    return addresses.encode("bounce", row.user_id or 0, row.id, domain, _keys(app))


def already_queued(session: Session, dedupe_key: str, to_addr: str) -> bool:
    found = session.scalar(
        select(OutboxMessage.id).where(
            OutboxMessage.dedupe_key == dedupe_key, OutboxMessage.to_addr == to_addr
        )
    )
    return found is not None


# Mail that answers what a member just did: "which thread?" for their digest reply and where
# their answer to it went, the answer to their command to help@, why their mail was not posted,
# the sign-in link they asked for.
# These go to a bouncing member too (each once, by its key): that their server sent us mail
# says nothing of ours reaching them, but this answer is the one mail they are waiting for, and
# nothing else tells them (nor would the mail log be right to say they were answered).
ANSWERS = frozenset({"which", "which_posted", "command", "refusal", "login"})


def queue_mail(
    app: Flask,
    session: Session,
    *,
    kind: str,
    dedupe_key: str,
    to: User | str,
    template: str,
    context: dict[str, Any] | None = None,
    from_name: str = "Hiroba",
    headers: dict[str, str] | None = None,
    message_id: str | None = None,
    not_before: datetime | None = None,
    urgent: bool = False,
) -> OutboxMessage | None:
    """Render a mail for ``to`` and put it in the outbox; None if that key went to them already.

    ``to`` is a member (their locale is used; an inactive member gets nothing, nor does a
    bouncing one but answers to what they just did, ``ANSWERS``) or a bare address (for
    refusals to strangers we must answer, in Japanese by default).
    """
    if isinstance(to, User):
        if not to.active or (to.bouncing and kind not in ANSWERS):
            return None
        to_addr, to_name, locale, user = to.email, to.name, to.locale, to
    else:
        to_addr, to_name, locale, user = to.lower(), "", "ja", None
    if already_queued(session, dedupe_key, to_addr):
        return None
    cfg = app.config
    ctx = {
        "base_url": cfg["BASE_URL"],
        "mail_domain": cfg["MAIL_DOMAIN"],
        "recipient": to,
        "prefs_url": prefs_url(app, user.id) if user else None,
        **(context or {}),
    }
    rendered = render_email(app, template, locale, **ctx)
    return insert_mail(
        app,
        session,
        kind=kind,
        dedupe_key=dedupe_key,
        user=user,
        to_addr=to_addr,
        to_name=to_name,
        rendered=rendered,
        from_name=from_name,
        headers=headers,
        message_id=message_id,
        not_before=not_before,
        urgent=urgent,
    )
