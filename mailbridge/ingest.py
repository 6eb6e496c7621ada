"""receive(app, raw, rcpts, source) -> Outcome: store, decide, act, record.

One transaction stores the raw message, parses it, runs the RULES, acts once for each of our
addresses it was sent to (a cross-post to two channels makes two threads) and records the
outcome; the sender hears 250 only after it committed, so nothing is lost. The pipeline runs in
a savepoint: a bug in it rolls back only what the pipeline wrote, and the stored message is
committed as ``failed`` for an admin to replay. A database outage raises before anything is
committed (the SMTP intake answers 451 and the sender retries). A message is processed once
however often it arrives (Message-ID, or the sha256 of the raw bytes, is unique).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import logging
import re
import threading
from collections.abc import Iterator
from datetime import timedelta
from email.parser import BytesHeaderParser
from email.policy import compat32

from flask import Flask
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, defer
from sqlalchemy.orm.attributes import set_committed_value

from hub.db import engine_of, is_postgres, transaction, utcnow
from hub.models import InboundMessage
from mailbridge import actions, replies, rules
from mailbridge.context import InboundContext, Outcome
from mailbridge.parse import parse

log = logging.getLogger(__name__)

# Errors that mean "the database is not there right now": the caller must answer 4xx.
OUTAGE = (OperationalError, InterfaceError, PoolTimeout)
_MSGID = re.compile(r"<([^<>\s]+)>")


def message_key(raw: bytes) -> str:
    """The message's Message-ID, or ``sha256:<hex>`` of the raw bytes when it has none."""
    try:
        value = BytesHeaderParser(policy=compat32).parsebytes(raw).get("message-id")
        found = _MSGID.search(str(value or "")) or re.search(r"\S+@\S+", str(value or ""))
    except Exception:  # noqa: BLE001 - unreadable headers: fall back to the hash
        found = None
    if found:
        return (found.group(1) if found.re is _MSGID else found.group(0))[:990]
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def receive(app: Flask, raw: bytes, rcpts: list[str], source: str) -> Outcome:
    """Store ``raw`` and run the pipeline in one transaction; returns how the message ended.

    :raises sqlalchemy.exc.OperationalError: (and other outages) when the database is down.
    """
    key = message_key(raw)
    with serialized(app):
        for attempt in (1, 2):
            try:
                with transaction(app) as session:
                    return _receive(app, session, key, raw, rcpts, source)
            except IntegrityError:
                # The same message arrived twice at once (e.g. SMTP and IMAP): the other copy
                # committed first, so the retry finds it.
                if attempt == 2:
                    raise
    raise AssertionError("unreachable")


def _receive(
    app: Flask, session: Session, key: str, raw: bytes, rcpts: list[str], source: str
) -> Outcome:
    row = _stored(session, key, raw, rcpts, source)
    if row.status != "received":
        extra = _unhandled(row, rcpts)
        if not extra:
            return duplicate(row)
        # The same mail again, to our addresses its first delivery did not name (the sending
        # server split the recipients over two sessions): those are handled now, once.
        key = f"{key[:960]}{FOLLOW_UP}{_digest(extra)}"
        row = _stored(session, key, raw, extra, source)
        if row.status != "received":
            return duplicate(row)
    # Seen for the first time, or an outage cut it short and it is processed now.
    return _run(app, session, row)


# Marks the key of a follow-up delivery: "<message key> to:<digest of its new addresses>".
FOLLOW_UP = " to:"


def _stored(
    session: Session, key: str, raw: bytes, rcpts: list[str], source: str
) -> InboundMessage:
    """The stored message under ``key``: stored now when it is new (one statement, no lookup
    first), else the row stored before, claimed. A copy arriving at the same moment waits on
    the unique key until the other commits (or rolls back), so it is stored once either way."""
    insert = pg_insert if is_postgres(session) else sqlite_insert
    stmt = (
        insert(InboundMessage)
        .values(message_key=key, raw=bytes(raw), source=source, rcpt=",".join(rcpts)[:5000])
        .on_conflict_do_nothing(index_elements=["message_key"])
        .returning(InboundMessage)
        .options(defer(InboundMessage.raw))  # not sent back: we hold it
    )
    row = session.scalars(stmt).one_or_none()
    if row is not None:
        set_committed_value(row, "raw", bytes(raw))
        return row
    row = _find(session, key)
    if row is None:
        raise LookupError(f"inbound message {key!r} is neither new nor stored")
    return row


def _find(session: Session, key: str) -> InboundMessage | None:
    found = session.scalar(select(InboundMessage.id).where(InboundMessage.message_key == key))
    return None if found is None else _claim(session, found)


def _unhandled(row: InboundMessage, rcpts: list[str]) -> list[str]:
    """Envelope recipients the stored delivery did not have, if it was routed by its envelope
    and made it past the message-wide rules (a loop or a bounce stays one for every address)."""
    if not row.rcpt or row.status in ("ignored", "bounce", "duplicate"):
        return []
    seen = {r.lower() for r in row.rcpt.split(",")}
    return [r for r in rcpts if r.lower() not in seen]


def _digest(addresses: list[str]) -> str:
    return hashlib.sha256(",".join(sorted(a.lower() for a in addresses)).encode()).hexdigest()[:24]


# SQLite has one writer at a time: threads of one process take turns here instead of sleeping
# in SQLite's busy handler (which backs off up to 100 ms and ruins the tail latency).
_SQLITE_WRITER = threading.Lock()


@contextlib.contextmanager
def serialized(app: Flask) -> Iterator[None]:
    """On SQLite, wait for this process's turn to use the database (a no-op elsewhere)."""
    if engine_of(app).dialect.name != "sqlite":
        yield
        return
    with _SQLITE_WRITER:
        yield


def store(app: Flask, raw: bytes, rcpts: list[str], source: str) -> int:
    """Commit the raw message only, still ``received`` (as an outage leaves it, for
    ``process_received``; tests and bench/inbound.py's floor use it); return its id."""
    with transaction(app) as session:
        row = InboundMessage(
            message_key=message_key(raw), raw=bytes(raw), source=source, rcpt=",".join(rcpts)
        )
        session.add(row)
        session.flush()
        return row.id


def duplicate(row: InboundMessage) -> Outcome:
    """The earlier outcome of a message seen before, with status ``duplicate``."""
    return Outcome(
        "duplicate",
        f"duplicate of #{row.id} ({row.status})"[:100],
        thread_id=row.thread_id,
        post_id=row.post_id,
        author=row.sender or None,
        text=row.text,
        trimmed=row.trimmed,
        results=list(row.results or []),
    )


def process(app: Flask, row_id: int) -> Outcome:
    """Run the pipeline on a stored message still ``received``; record and return the outcome."""
    with transaction(app) as session:
        row = _claim(session, row_id)
        if row.status != "received":
            return duplicate(row)
        return _run(app, session, row)


def _claim(session: Session, row_id: int) -> InboundMessage:
    stmt = select(InboundMessage).where(InboundMessage.id == row_id)
    if is_postgres(session):
        # A second worker waits here and then sees the final status: processed once.
        stmt = stmt.with_for_update()
    row = session.scalar(stmt)
    if row is None:
        raise LookupError(f"inbound message {row_id} is gone")
    return row


def _run(app: Flask, session: Session, row: InboundMessage) -> Outcome:
    """The pipeline in a savepoint: a bug is recorded on the stored message, never lost."""
    try:
        with session.begin_nested():
            return _process(app, session, row)
    except OUTAGE:
        raise
    except Exception as exc:  # noqa: BLE001 - a bug must not lose the mail: record it
        log.exception("inbound message %s failed", row.id)
        reason = f"internal_error: {type(exc).__name__}"[:100]
        row.status, row.reason, row.processed_at = "failed", reason, utcnow()
        return Outcome("failed", reason)


def _process(app: Flask, session: Session, row: InboundMessage) -> Outcome:
    rcpts = [r for r in row.rcpt.split(",") if r]
    incoming = parse(row.raw, rcpts)
    row.sender = incoming.sender[:320]
    row.subject = incoming.subject[:2000]
    ctx = InboundContext(app=app, session=session, row=row, incoming=incoming, rcpts=rcpts)
    if FOLLOW_UP in row.message_key:
        # Its first delivery carries the Message-ID (a post may have it) and its outcome, so
        # a channel copied on a reply placed there opens no second thread.
        ctx.incoming = dataclasses.replace(incoming, message_id=None)
        first = _find(session, row.message_key.split(FOLLOW_UP)[0])
        if first is not None:
            ctx.earlier.append(
                Outcome(first.status, thread_id=first.thread_id, results=first.results or [])
            )
    # The rules only read the database: what they note on ``row`` is written once, later.
    with session.no_autoflush:
        verdict = next((v for rule in rules.RULES if (v := rule(ctx)) is not None), None)
    if verdict is None:
        outcome = actions.act_all(ctx)
    else:
        author = ctx.sender.email if ctx.sender else None
        outcome = Outcome(
            verdict.status, verdict.reason, author=author, text=row.text, trimmed=row.trimmed
        )
        if verdict.explain:
            replies.explain(ctx, str(verdict.reason))
    record(row, outcome, ctx)
    return outcome


def record(row: InboundMessage, outcome: Outcome, ctx: InboundContext | None = None) -> None:
    """Write the outcome on the stored message."""
    row.status = outcome.status
    row.reason = str(outcome.reason)[:100] if outcome.reason else None
    row.thread_id, row.post_id = outcome.thread_id, outcome.post_id
    row.text = outcome.text if outcome.text is not None else row.text
    row.trimmed = outcome.trimmed if outcome.trimmed is not None else row.trimmed
    notes = [r for r in (row.results or []) if "auth" in r]
    row.results = notes + list(outcome.results)
    if ctx is not None and ctx.sender is not None:
        row.author_id = ctx.sender.id
    row.processed_at = utcnow()


def process_received(app: Flask, *, limit: int = 50, min_age_seconds: int = 30) -> int:
    """Worker job: process stored messages still ``received`` (replays, or ones an outage cut).

    Young rows are left to the intake that stored them. Returns how many were processed.
    """
    cutoff = utcnow() - timedelta(seconds=min_age_seconds)
    with transaction(app) as session:
        ids = list(
            session.scalars(
                select(InboundMessage.id)
                .where(InboundMessage.status == "received", InboundMessage.received_at <= cutoff)
                .order_by(InboundMessage.id)
                .limit(limit)
            )
        )
    for row_id in ids:
        process(app, row_id)
    return len(ids)


class RawDropped(LookupError):
    """The message's raw bytes are gone (mail retention): there is nothing to replay."""


class AlreadyDone(LookupError):
    """The message was posted or carried out: a replay would only find it again."""


def replay(app: Flask, row_id: int) -> Outcome:
    """Run a stored message through the pipeline again (admin replay): one that was refused,
    held, failed or skipped, e.g. after the sender was made a member.

    :raises LookupError: no such message, ``RawDropped`` when retention dropped its raw bytes,
        ``AlreadyDone`` when it was posted or carried out (its outcome stays as it was).
    """
    with transaction(app) as session:
        row = session.get(InboundMessage, row_id)
        if row is None:
            raise LookupError(f"no inbound message {row_id}")
        if row.raw_dropped_at is not None:
            raise RawDropped(
                f"inbound message {row_id} cannot be replayed: its raw bytes were dropped on "
                f"{row.raw_dropped_at:%Y-%m-%d} (KEEP_MAIL_DAYS)"
            )
        if not row.replayable:
            raise AlreadyDone(f"inbound message {row_id} is done ({row.status}): nothing to replay")
        row.status, row.reason, row.processed_at = "received", None, None
    return process(app, row_id)
