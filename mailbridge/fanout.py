"""Event fan-out: turn the domain's event rows into outbox rows, one event per transaction.

``HANDLERS`` is the one table from event kind to handler; a kind without a handler is marked
processed and nothing is sent. To add one: write ``def on_x(app, session, event) -> None`` that
queues mail with ``outbound.queue_mail`` (a dedupe key per event and recipient) and add a line.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.db import is_postgres, transaction, utcnow
from hub.models import Event
from mailbridge import (
    announcement_edits,
    bounce_notice,
    culture_out,
    post_mail,
    quiet,
    restored,
    signin_mail,
)

log = logging.getLogger(__name__)

Handler = Callable[[Flask, Session, Event], None]

HANDLERS: dict[str, Handler] = {
    "thread_created": post_mail.on_post,
    "post_created": post_mail.on_post,
    "member_mentioned": post_mail.on_mention,
    "login_link_requested": signin_mail.on_login_link,
    "member_invited": signin_mail.on_member_invited,
    # A hidden post shown again: the mail its hiding held back.
    "post_restored": restored.on_post_restored,
    # An announcement edited: its mail still waiting for working hours, as it reads now.
    "announcement_edited": announcement_edits.on_announcement_edited,
    # A member's mail stopped for bouncing: the admins hear who, why and how to undo it.
    "member_bouncing": bounce_notice.on_member_bouncing,
    # Culture mail (announcements, thanks, welcome, channel requests, ...): their own table.
    **culture_out.HANDLERS,
}


def claim_event(session: Session) -> Event | None:
    """Lock the oldest unprocessed event (skipping those other workers hold on PostgreSQL)."""
    stmt = select(Event).where(Event.processed_at.is_(None)).order_by(Event.id).limit(1)
    if is_postgres(session):
        stmt = stmt.with_for_update(skip_locked=True)
    return session.scalar(stmt)


def fan_out(app: Flask, *, limit: int = 500, now: datetime | None = None) -> int:
    """Run the handler of up to ``limit`` unprocessed events; return how many were handled.

    The handler's outbox rows and the event's ``processed_at`` commit together, so a crash
    either does both or neither. A handler that fails leaves its rows unwritten and the event
    marked processed with the error (so one bad event cannot block the queue).
    """
    handled = 0
    with quiet.frozen(now):
        for _ in range(limit):
            event_id: int | None = None
            try:
                with transaction(app) as session:
                    event = claim_event(session)
                    if event is None:
                        break
                    event_id = event.id
                    handler = HANDLERS.get(event.kind)
                    if handler is not None:
                        handler(app, session, event)
                    event.processed_at = utcnow()
            except Exception as exc:
                if event_id is None:
                    raise
                log.exception("fan-out of event %s failed", event_id)
                _mark_failed(app, event_id, f"{type(exc).__name__}: {exc}"[:500])
            handled += 1
    return handled


def _mark_failed(app: Flask, event_id: int, error: str) -> None:
    with transaction(app) as session:
        event = session.get(Event, event_id)
        if event is not None and event.processed_at is None:
            event.data = {**(event.data or {}), "fanout_error": error}
            event.processed_at = utcnow()
