"""Mail out: render templates, build messages, queue them in the outbox.

Everything we send is written as an OutboxMessage row in the caller's transaction (so nothing
leaves for work that rolled back); ``mailbridge.delivery`` hands the rows to the relay, or to the
built-in catcher when no relay is configured.
"""

from __future__ import annotations

import base64
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime, formataddr
from functools import lru_cache
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

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
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


def sanitize_header(value: str) -> str:
    """Remove CR/LF and other control characters so no header can be injected."""
    return _CONTROL.sub(" ", value).strip()


# --- message assembly -------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def encode_words(text: str) -> str:
    """RFC 2047 base64 encoded-words for ``text``, split on character boundaries and folded.

    >>> encode_words("全社")
    '=?utf-8?b?5YWo56S+?='
    """
    words: list[bytes] = []
    chunk = b""
    for ch in text:
        data = ch.encode("utf-8")
        # 45 bytes -> 60 base64 characters: each encoded-word stays under 75 characters.
        if len(chunk) + len(data) > 45:
            words.append(chunk)
            chunk = b""
        chunk += data
    if chunk:
        words.append(chunk)
    return "\r\n ".join(f"=?utf-8?b?{base64.b64encode(w).decode('ascii')}?=" for w in words)


def encode_header(name: str, value: str) -> str:
    """A header value safe to write: no CR/LF, non-ASCII as RFC 2047 encoded-words."""
    clean = sanitize_header(value)
    if clean.isascii():
        return clean
    if name.lower() == "list-id" and clean.endswith(">") and "<" in clean:
        # RFC 2919: only the phrase may be encoded; the <list-id> itself stays as it is.
        phrase, _, ident = clean.rpartition("<")
        return f"{encode_words(phrase.strip())} <{ident}"
    return encode_words(clean)


@lru_cache(maxsize=4096)
def format_address(name: str, addr: str) -> str:
    """``Name <addr>`` with the name quoted or RFC 2047-encoded as needed."""
    clean = sanitize_header(name).replace("\\", "")
    if not clean:
        return addr
    if clean.isascii():
        return formataddr((clean, addr))
    return f"{encode_words(clean)} <{addr}>"


def _body(text: str, subtype: str) -> str:
    """One MIME body part: 7bit for short ASCII lines, else base64 (safe for any line length)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    head = f"Content-Type: text/{subtype}; charset=utf-8\r\n"
    if text.isascii() and max(map(len, text.split("\n")), default=0) <= 900:
        return head + "Content-Transfer-Encoding: 7bit\r\n\r\n" + text.replace("\n", "\r\n")
    # One encode, then 76-character lines (base64.encodebytes works 57 bytes per call).
    data = base64.b64encode(text.encode("utf-8")).decode("ascii")
    lines = "\r\n".join([data[i : i + 76] for i in range(0, len(data), 76)])
    return head + "Content-Transfer-Encoding: base64\r\n\r\n" + lines + "\r\n"


def assemble(headers: list[tuple[str, str]], text: str, html: str | None) -> bytes:
    """Write a complete text (+ HTML) message; header values must come from encode_header."""
    lines = [f"{name}: {value}" for name, value in headers]
    lines.append("MIME-Version: 1.0")
    if html is None:
        return ("\r\n".join(lines) + "\r\n" + _body(text, "plain") + "\r\n").encode("ascii")
    boundary = f"=_hiroba_{uuid.uuid4().hex}"
    lines.append(f'Content-Type: multipart/alternative; boundary="{boundary}"')
    parts = [
        "\r\n".join(lines),
        "",
        f"--{boundary}",
        _body(text, "plain"),
        f"--{boundary}",
        _body(html, "html"),
        f"--{boundary}--",
        "",
    ]
    return "\r\n".join(parts).encode("ascii")


def build_headers(
    *,
    from_name: str,
    from_addr: str,
    to_name: str,
    to_addr: str,
    subject: str,
    message_id: str,
    headers: dict[str, str] | None = None,
) -> list[tuple[str, str]]:
    """The header list of one mail, every value encoded and stripped of CR/LF."""
    out = [
        ("From", format_address(from_name, from_addr)),
        ("To", format_address(to_name, to_addr)),
        ("Subject", encode_header("Subject", subject)),
        ("Date", format_datetime(utcnow())),
        ("Message-ID", f"<{sanitize_header(message_id)}>"),
    ]
    for key, value in (headers or {}).items():
        out.append((sanitize_header(key).replace(":", ""), encode_header(key, value)))
    return out


def build_message(
    *,
    from_name: str,
    from_addr: str,
    to_name: str,
    to_addr: str,
    subject: str,
    text: str,
    html: str | None,
    message_id: str,
    headers: dict[str, str] | None = None,
) -> bytes:
    """Build a text (+ HTML) message with safe, encoded headers; returns its bytes."""
    hdrs = build_headers(
        from_name=from_name,
        from_addr=from_addr,
        to_name=to_name,
        to_addr=to_addr,
        subject=subject,
        message_id=message_id,
        headers=headers,
    )
    return assemble(hdrs, text, html)


# --- links and headers other parts share ------------------------------------------------------


def _keys(app: Flask) -> list[str]:
    return tokens.keys_from_config(app.config)


def prefs_url(app: Flask, user_id: int) -> str:
    """The signed preferences page of a member (no sign-in needed)."""
    tok = tokens.make("prefs", user_id, 0, _keys(app))
    return f"{app.config['BASE_URL']}/mail/prefs/{tok}"


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

    ``to`` is a member (their locale is used and a bouncing or inactive member gets nothing) or a
    bare address (for refusals to strangers we must answer, in Japanese by default).
    """
    if isinstance(to, User):
        if not to.active or to.bouncing:
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
