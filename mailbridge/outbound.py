"""Mail out: render templates, build messages, queue them in the outbox, deliver them.

Everything we send is written as an OutboxMessage row in the caller's transaction (so nothing
leaves for work that rolled back) and delivered later by ``drain_outbox``: through the relay in
RELAY_URL, or into the built-in catcher (CaughtMail rows) when no relay is configured.
"""

from __future__ import annotations

import smtplib
import ssl
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any
from urllib.parse import unquote, urlsplit

from flask import Flask
from flask_babel import force_locale
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub import tokens
from hub.db import is_postgres, transaction, utcnow
from hub.models import CaughtMail, OutboxMessage, User
from mailbridge import addresses

MAX_ATTEMPTS = 8


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    text: str
    html: str | None


def render_email(app: Flask, name: str, locale: str = "ja", **context: Any) -> Rendered:
    """Render templates/mail/<name>.{subject.txt,txt,html} in ``locale``."""
    with app.app_context(), force_locale(locale):
        env = app.jinja_env
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
    return "".join(ch if ch >= " " and ch != "\x7f" else " " for ch in value).strip()


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
) -> EmailMessage:
    """Build a text (+ HTML) message with safe, encoded headers."""
    msg = EmailMessage()
    local, _, domain = from_addr.partition("@")
    msg["From"] = Address(sanitize_header(from_name), local, domain)
    tlocal, _, tdomain = to_addr.partition("@")
    msg["To"] = Address(sanitize_header(to_name), tlocal, tdomain)
    msg["Subject"] = sanitize_header(subject)
    msg["Date"] = format_datetime(utcnow())
    msg["Message-ID"] = f"<{message_id}>"
    for key, value in (headers or {}).items():
        msg[key] = sanitize_header(value)
    msg.set_content(text, cte="quoted-printable" if not text.isascii() else "7bit")
    if html is not None:
        msg.add_alternative(html, subtype="html")
    return msg


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
        to_addr, to_name, locale, user_id = to.email, to.name, to.locale, to.id
    else:
        to_addr, to_name, locale, user_id = to.lower(), "", "ja", None
    found = session.scalar(
        select(OutboxMessage.id).where(
            OutboxMessage.dedupe_key == dedupe_key, OutboxMessage.to_addr == to_addr
        )
    )
    if found is not None:
        return None
    cfg = app.config
    domain = cfg["MAIL_DOMAIN"]
    ctx = {"base_url": cfg["BASE_URL"], "mail_domain": domain, "recipient": to, **(context or {})}
    rendered = render_email(app, template, locale, **ctx)
    row = OutboxMessage(
        dedupe_key=dedupe_key,
        kind=kind,
        user_id=user_id,
        to_addr=to_addr,
        mail_from="",
        message_id=message_id or new_message_id(domain, kind.split("_")[0]),
        subject=rendered.subject,
        raw=b"",
        not_before=not_before or utcnow(),
        urgent=urgent,
    )
    session.add(row)
    session.flush()
    keys = tokens.keys_from_config(cfg)
    # VERP: the return path names this row, so a bounce is attributed even when unparseable.
    row.mail_from = addresses.encode("bounce", user_id or 0, row.id, domain, keys)
    all_headers = {"Auto-Submitted": "auto-generated", "X-Auto-Response-Suppress": "All"}
    all_headers.update(headers or {})
    msg = build_message(
        from_name=from_name,
        from_addr=f"hiroba@{domain}",
        to_name=to_name,
        to_addr=to_addr,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        message_id=row.message_id,
        headers=all_headers,
    )
    row.raw = msg.as_bytes()
    return row


# --- delivery -------------------------------------------------------------------------------


class PermanentFailure(Exception):
    """The relay refused for good (5xx): do not retry."""


def send_raw(app: Flask, session: Session, row: OutboxMessage) -> None:
    """Hand one message to the relay, or to the catcher when no relay is configured."""
    url = str(app.config.get("RELAY_URL") or "")
    if not url:
        session.add(
            CaughtMail(
                outbox_id=row.id,
                mail_from=row.mail_from,
                to_addr=row.to_addr,
                subject=row.subject,
                raw=row.raw,
            )
        )
        return
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port
    try:
        if parts.scheme == "smtps":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                host, port or 465, timeout=30, context=ssl.create_default_context()
            )
        else:
            client = smtplib.SMTP(host, port or 25, timeout=30)
        with client:
            if parts.scheme in ("smtp+starttls", "submission"):
                client.starttls(context=ssl.create_default_context())
            if parts.username:
                client.login(unquote(parts.username), unquote(parts.password or ""))
            client.sendmail(row.mail_from, [row.to_addr], row.raw)
    except smtplib.SMTPRecipientsRefused as exc:
        code = next(iter(exc.recipients.values()))[0]
        if 500 <= code < 600:
            raise PermanentFailure(str(exc)) from exc
        raise
    except smtplib.SMTPResponseException as exc:
        if 500 <= exc.smtp_code < 600:
            raise PermanentFailure(f"{exc.smtp_code} {exc.smtp_error!r}") from exc
        raise


def drain_outbox(app: Flask, *, limit: int = 200, now: datetime | None = None) -> int:
    """Send every due message (up to ``limit``), one row per transaction; return how many sent.

    On PostgreSQL rows are claimed with FOR UPDATE SKIP LOCKED, so several workers share the
    outbox and no row goes out twice; SQLite runs a single worker.
    """
    sent = 0
    for _ in range(limit):
        with transaction(app) as session:
            stmt = (
                select(OutboxMessage)
                .where(
                    OutboxMessage.status == "pending", OutboxMessage.not_before <= (now or utcnow())
                )
                .order_by(OutboxMessage.not_before, OutboxMessage.id)
                .limit(1)
            )
            if is_postgres(session):
                stmt = stmt.with_for_update(skip_locked=True)
            row = session.scalar(stmt)
            if row is None:
                break
            if _deliver(app, session, row):
                sent += 1
    return sent


def _deliver(app: Flask, session: Session, row: OutboxMessage) -> bool:
    row.attempts += 1
    try:
        send_raw(app, session, row)
    except PermanentFailure as exc:
        row.status, row.last_error = "failed", str(exc)[:2000]
        # A relay that refuses the address for good: stop mailing it at once (admins see it).
        mark_bouncing(session, row.to_addr, threshold=1)
        return False
    except (OSError, smtplib.SMTPException) as exc:
        row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        if row.attempts >= MAX_ATTEMPTS:
            row.status = "failed"
        else:
            # Exponential back-off: 1, 2, 4 ... minutes.
            row.not_before = utcnow() + timedelta(minutes=2 ** (row.attempts - 1))
        return False
    row.status, row.sent_at, row.last_error = "sent", utcnow(), None
    return True


def mark_bouncing(session: Session, address: str, threshold: int) -> None:
    """Count a hard failure for ``address``; over the threshold the member stops getting mail."""
    user = session.scalar(select(User).where(User.email == address.lower()))
    if user is None:
        return
    user.bounce_count += 1
    if user.bounce_count >= threshold:
        user.bouncing = True
