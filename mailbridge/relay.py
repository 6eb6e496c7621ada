"""The relay in RELAY_URL: an SMTP connection reused across messages, and ``Lanes``, several of
them sending at once (or, with no relay configured, the built-in catcher)."""

from __future__ import annotations

import smtplib
import ssl
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from flask import Flask
from sqlalchemy.orm import Session

from hub.models import CaughtMail
from mailbridge.outbound import return_path


class PermanentFailure(Exception):
    """The relay refused for good (5xx): do not retry (the smtplib error is its cause)."""


def refusal(exc: BaseException) -> tuple[int, str] | None:
    """The reply code and words of a refusal of the recipient (at RCPT) or of the mail to them
    (at DATA); None for anything that says nothing of the address: the relay unreachable or
    closing (421), or refusing our envelope sender or our greeting."""
    cause = exc.__cause__ if isinstance(exc, PermanentFailure) else exc
    said: bytes | str
    if isinstance(cause, smtplib.SMTPRecipientsRefused) and cause.recipients:
        code, said = next(iter(cause.recipients.values()))
    elif isinstance(cause, smtplib.SMTPDataError):
        code, said = cause.smtp_code, cause.smtp_error
    else:
        return None
    return (code, _text(said)) if code != 421 else None


def _text(said: bytes | str) -> str:
    return said.decode("utf-8", "replace") if isinstance(said, bytes) else str(said)


class Relay:
    """One SMTP connection to RELAY_URL, opened on first use and reused for many messages."""

    def __init__(self, url: str) -> None:
        self.parts = urlsplit(url)
        self.client: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        parts = self.parts
        host, port = parts.hostname or "127.0.0.1", parts.port
        if parts.scheme == "smtps":
            ctx = ssl.create_default_context()
            client: smtplib.SMTP = smtplib.SMTP_SSL(host, port or 465, timeout=30, context=ctx)
        else:
            client = smtplib.SMTP(host, port or 25, timeout=30)
        if parts.scheme in ("smtp+starttls", "submission"):
            client.starttls(context=ssl.create_default_context())
        if parts.username:
            client.login(unquote(parts.username), unquote(parts.password or ""))
        return client

    def send(self, mail_from: str, to_addr: str, raw: bytes) -> None:
        """Send one message; 5xx raises PermanentFailure, anything else drops the connection."""
        if self.client is None:
            self.client = self._connect()
        try:
            self.client.sendmail(mail_from, [to_addr], raw)
        except smtplib.SMTPRecipientsRefused as exc:
            self._reset()
            code = next(iter(exc.recipients.values()))[0]
            if 500 <= code < 600:
                raise PermanentFailure(str(exc)) from exc
            raise
        except smtplib.SMTPResponseException as exc:
            self._reset()
            if 500 <= exc.smtp_code < 600:
                raise PermanentFailure(f"{exc.smtp_code} {exc.smtp_error!r}") from exc
            raise
        except (OSError, smtplib.SMTPException):
            self.close()
            raise

    def _reset(self) -> None:
        try:
            if self.client is not None:
                self.client.rset()
        except (OSError, smtplib.SMTPException):
            self.close()

    def close(self) -> None:
        client, self.client = self.client, None
        if client is not None:
            try:
                client.quit()
            except (OSError, smtplib.SMTPException):
                client.close()


class Lanes:
    """Several connections to the relay, each kept by a sender thread of its own: while one
    waits for the relay's answer, another sends. A mail goes to whichever thread is free first,
    so one the relay holds on to (a slow receiving server) holds up no other; but a member's
    mails leave in the order they were handed over (a reply never overtakes the post it
    answers): a mail to someone whose earlier mail is still on its way waits for it."""

    def __init__(self, url: str, connections: int) -> None:
        self.url = url
        self.count = max(1, connections)
        self.relays: list[Relay] = []
        self.mine = threading.local()
        self.threads = ThreadPoolExecutor(self.count, thread_name_prefix="hiroba-relay")
        self.lock = threading.Lock()
        # Per recipient with a mail on its way: the mails waiting behind it.
        self.behind: dict[str, deque[_Mail]] = {}

    def __len__(self) -> int:
        return self.count

    def submit(self, mail_from: str, to_addr: str, raw: bytes) -> Future[None]:
        """Hand one mail over; the future says how the relay took it."""
        mail = _Mail(mail_from, to_addr, raw, Future())
        with self.lock:
            waiting = self.behind.get(mail.key)
            if waiting is not None:
                waiting.append(mail)
                return mail.done
            self.behind[mail.key] = deque()
        self._go(mail)
        return mail.done

    def _go(self, mail: _Mail) -> None:
        try:
            sending = self.threads.submit(self._send, mail.mail_from, mail.to_addr, mail.raw)
        except RuntimeError:  # closed meanwhile (the run is ending): not sent, so sent later
            sending = Future()
            sending.set_exception(OSError("the relay connections were closed"))
        sending.add_done_callback(lambda sent: self._next(mail, sent))

    def _next(self, mail: _Mail, sent: Future[None]) -> None:
        """Pass on how ``mail`` went, then send the recipient's next mail, if one waits."""
        error = sent.exception()
        if error is not None:
            mail.done.set_exception(error)
        else:
            mail.done.set_result(None)
        with self.lock:
            waiting = self.behind[mail.key]
            if not waiting:
                del self.behind[mail.key]
                return
            after = waiting.popleft()
        self._go(after)

    def _send(self, mail_from: str, to_addr: str, raw: bytes) -> None:
        relay: Relay | None = getattr(self.mine, "relay", None)
        if relay is None:
            relay = self.mine.relay = Relay(self.url)
            self.relays.append(relay)
        relay.send(mail_from, to_addr, raw)

    def close(self) -> None:
        """Wait for the mails handed over, then close every connection."""
        self.threads.shutdown(wait=True)
        for relay in self.relays:
            relay.close()


@dataclass(slots=True)
class _Mail:
    mail_from: str
    to_addr: str
    raw: bytes
    # How the relay took it.
    done: Future[None]

    @property
    def key(self) -> str:
        return self.to_addr.lower()


def send_raw(
    app: Flask,
    session: Session,
    row: Any,
    relay: Relay | None = None,
    mail_from: str | None = None,
) -> None:
    """Hand one message (an OutboxMessage or a row with its columns) to the relay, or to the
    catcher when no relay is configured."""
    sender = mail_from or row.mail_from or return_path(app, row)
    url = str(app.config.get("RELAY_URL") or "")
    if not url:
        session.add(
            CaughtMail(
                outbox_id=row.id,
                mail_from=sender,
                to_addr=row.to_addr,
                subject=row.subject,
                raw=row.raw,
            )
        )
        return
    if relay is not None:
        relay.send(sender, row.to_addr, row.raw)
        return
    one = Relay(url)
    try:
        one.send(sender, row.to_addr, row.raw)
    finally:
        one.close()
