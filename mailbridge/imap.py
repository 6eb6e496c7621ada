"""The IMAP poller: for companies whose mail must first land in an existing mailbox.

``poll_once`` handles what is new in the mailbox: UIDVALIDITY + last-UID checkpoint kept in
MailboxState (reset when UIDVALIDITY changes; Message-ID dedupe makes re-reading harmless),
oldest first, read with BODY.PEEK[] (no \\Seen), each message moved to the done (or rejected)
folder only after its outcome committed. ``run_poller`` loops on IDLE (or polls when the server
has no IDLE), reconnecting with back-off.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import unquote, urlsplit

from flask import Flask
from imapclient import IMAPClient
from sqlalchemy import select

from hub.db import transaction, utcnow
from hub.models import MailboxState
from mailbridge import ingest

log = logging.getLogger(__name__)

# Outcomes that go to the rejected folder; everything else is done.
REJECTED = frozenset({"rejected", "held", "failed"})
IDLE_SECONDS = 25 * 60
POLL_SECONDS = 60
BATCH = 100


@dataclass(frozen=True, slots=True)
class ImapTarget:
    """Where to connect, parsed from IMAP_URL."""

    host: str
    port: int
    ssl: bool
    user: str
    password: str
    folder: str


def parse_url(url: str) -> ImapTarget:
    """Parse ``imap://user:pass@host:port/INBOX`` or ``imaps://...``.

    >>> t = parse_url("imaps://bot%40corp.example:p%3Ass@mail.corp.example/Hiroba")
    >>> (t.host, t.port, t.ssl, t.user, t.password, t.folder)
    ('mail.corp.example', 993, True, 'bot@corp.example', 'p:ss', 'Hiroba')
    >>> parse_url("imap://u:p@127.0.0.1:10143").folder
    'INBOX'
    """
    parts = urlsplit(url)
    if parts.scheme not in ("imap", "imaps"):
        raise ValueError(f"IMAP_URL must start with imap:// or imaps://, not {parts.scheme!r}")
    secure = parts.scheme == "imaps"
    return ImapTarget(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or (993 if secure else 143),
        ssl=secure,
        user=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        folder=unquote(parts.path.lstrip("/")) or "INBOX",
    )


def connect(target: ImapTarget) -> IMAPClient:
    """Log in and select the folder."""
    client = IMAPClient(target.host, port=target.port, ssl=target.ssl, timeout=60)
    client.login(target.user, target.password)
    client.select_folder(target.folder)
    return client


def server_name(client: Any, name: str) -> str:
    """Spell a folder name ("Hiroba/Done") the server's way: its separator and prefix."""
    try:
        personal = client.namespace().personal or ()
        prefix, delim = personal[0] if personal else ("", "/")
    except Exception:  # noqa: BLE001 - servers without NAMESPACE: keep the name
        prefix, delim = "", "/"
    prefix = prefix.decode() if isinstance(prefix, bytes) else (prefix or "")
    delim = delim.decode() if isinstance(delim, bytes) else (delim or "/")
    name = name.replace("/", delim)
    return name if not prefix or name.startswith(prefix) else prefix + name


def ensure_folders(client: Any, *names: str) -> None:
    """Create the done/rejected folders when the mailbox does not have them yet."""
    for name in names:
        if name and not client.folder_exists(name):
            client.create_folder(name)


def _checkpoint(app: Flask, mailbox: str, validity: int) -> tuple[int, bool]:
    """Return (last UID handled, first sync?) for ``mailbox``, resetting on a new UIDVALIDITY."""
    with transaction(app) as session:
        state = session.scalar(select(MailboxState).where(MailboxState.mailbox == mailbox))
        if state is None:
            session.add(MailboxState(mailbox=mailbox, uid_validity=validity, last_uid=0))
            return 0, True
        if state.uid_validity != validity:
            log.warning("UIDVALIDITY of %s changed: reading it again from the start", mailbox)
            state.uid_validity, state.last_uid = validity, 0
        return state.last_uid, False


def _save(app: Flask, mailbox: str, uid: int) -> None:
    with transaction(app) as session:
        state = session.scalar(select(MailboxState).where(MailboxState.mailbox == mailbox))
        if state is not None and uid > state.last_uid:
            state.last_uid = uid


def poll_once(app: Flask, client: Any, folder: str | None = None) -> int:
    """Handle every new message in the selected folder, oldest first; return how many."""
    cfg = app.config
    url = str(cfg.get("IMAP_URL") or "")
    target = parse_url(url) if url else None
    folder = folder or (target.folder if target else "INBOX")
    # One checkpoint per account and folder.
    mailbox = f"{target.user}@{target.host}:{target.port}/{folder}" if target else folder
    done = server_name(client, str(cfg["IMAP_DONE_FOLDER"]))
    rejected = server_name(client, str(cfg["IMAP_REJECTED_FOLDER"]))
    info = client.select_folder(folder)
    validity = int(info.get(b"UIDVALIDITY", 0))
    last_uid, first = _checkpoint(app, mailbox, validity)
    criteria: list[Any] = ["UID", f"{last_uid + 1}:*"]
    if first:
        since = (utcnow() - timedelta(days=int(cfg["IMAP_FIRST_SYNC_DAYS"]))).date()
        criteria += ["SINCE", since]
    # "N:*" always matches the highest UID, even one we handled: drop those.
    uids = sorted(u for u in client.search(criteria) if u > last_uid)
    if first:
        # Old mail left out on the first sync counts as seen: start after it.
        wanted = set(uids)
        skipped = [u for u in client.search(["ALL"]) if u not in wanted]
        if skipped and (not uids or max(skipped) < min(uids)):
            _save(app, mailbox, max(skipped))
    if not uids:
        return 0
    ensure_folders(client, done, rejected)
    handled = 0
    for start in range(0, len(uids), BATCH):
        batch = uids[start : start + BATCH]
        fetched = client.fetch(batch, ["BODY.PEEK[]"])
        for uid in batch:
            raw = fetched.get(uid, {}).get(b"BODY[]")
            if raw is None:
                continue
            outcome = ingest.receive(app, bytes(raw), [], "imap")
            folder = rejected if outcome.status in REJECTED else done
            client.move([uid], folder)
            _save(app, mailbox, uid)
            handled += 1
    return handled


def wait_idle(client: Any, stop: threading.Event) -> None:
    """IDLE until the server reports news, ``stop`` is set, or IDLE_SECONDS pass (RFC 2177)."""
    client.idle()
    try:
        deadline = time.monotonic() + IDLE_SECONDS
        while not stop.is_set() and time.monotonic() < deadline:
            if client.idle_check(timeout=1):
                break
    finally:
        client.idle_done()


def run_poller(app: Flask, stop: threading.Event) -> None:
    """Poll IMAP_URL until ``stop`` is set: IDLE when offered, else every POLL_SECONDS."""
    target = parse_url(str(app.config["IMAP_URL"]))
    delay = 1.0
    while not stop.is_set():
        client = None
        try:
            client = connect(target)
            delay = 1.0
            idle = b"IDLE" in client.capabilities()
            while not stop.is_set():
                poll_once(app, client, target.folder)
                if idle:
                    wait_idle(client, stop)
                else:
                    stop.wait(POLL_SECONDS)
        except Exception as exc:  # noqa: BLE001 - network, server or database: retry later
            log.warning(
                "IMAP poller: %s: %s; reconnecting in %.0f s", type(exc).__name__, exc, delay
            )
            stop.wait(delay)
            delay = min(delay * 2, 300)
        finally:
            if client is not None:
                try:
                    client.logout()
                except Exception:  # noqa: BLE001
                    pass
