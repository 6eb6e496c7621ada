"""Scheduled jobs: module-level functions taking the app (scheduler.py runs them)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask import Flask
from sqlalchemy import func, select

from hub.db import transaction, utcnow
from hub.models import Delivery, DigestRun, User
from hub.services import announcements
from mailbridge import delivery, digests, fanout, ingest

log = logging.getLogger(__name__)

# Members whose digests are built and queued in one transaction.
DIGEST_BATCH = 100


def fan_out_events(app: Flask) -> int:
    """Turn pending domain events into outbox rows."""
    return fanout.fan_out(app)


def drain_outbox(app: Flask) -> int:
    """Deliver every due outbox row."""
    return delivery.drain_outbox(app, limit=1000)


def send_digests(app: Flask, now: datetime | None = None) -> int:
    """Build and queue the digests that are due now (``DIGEST_BATCH`` members a transaction)."""
    now = now or utcnow()
    with transaction(app) as session:
        users = list(
            session.scalars(
                select(User)
                .where(
                    User.active.is_(True),
                    User.bouncing.is_(False),
                    (User.delivery.in_([Delivery.DAILY, Delivery.WEEKLY]))
                    | (User.delivery.is_(None) & User.email_only.is_(True)),
                )
                .order_by(User.id)
            )
        )
        done = set(
            session.execute(
                select(DigestRun.user_id, DigestRun.period).where(
                    DigestRun.created_at > now - timedelta(days=8)
                )
            ).all()
        )
        last = dict(
            session.execute(
                select(DigestRun.user_id, func.max(DigestRun.until)).group_by(DigestRun.user_id)
            ).all()
        )
    due = [(u, p) for u in users if (p := digests.due_period(u, now)) and (u.id, p) not in done]
    activities: dict[tuple[datetime, datetime], digests.Activity] = {}
    queued = 0
    # Members in batches, each batch one transaction (in member order, so concurrent workers
    # wait on each other's DigestRun rows in the same order and never deadlock).
    for start in range(0, len(due), DIGEST_BATCH):
        batch = [
            (user, period, last.get(user.id) or now - digests.span(period))
            for user, period in due[start : start + DIGEST_BATCH]
        ]
        try:
            queued += _queue_batch(app, batch, now, activities)
        except Exception:
            # One member's failure must not hold back the rest of the batch: retry one by one,
            # and leave only the failing member for the next run.
            for item in batch:
                try:
                    queued += _queue_batch(app, [item], now, activities)
                except Exception:
                    log.exception("digest for member %s failed", item[0].id)
    return queued


def _queue_batch(
    app: Flask,
    batch: list[tuple[User, str, datetime]],
    now: datetime,
    activities: dict[tuple[datetime, datetime], digests.Activity],
) -> int:
    with transaction(app) as session:
        members = [(session.merge(u, load=False), p, s) for u, p, s in batch]
        return digests.queue_digests(app, session, members, now, activities)


def send_reminders(app: Flask, now: datetime | None = None) -> int:
    """Remind members of announcements they have not acknowledged (culture's service)."""
    with transaction(app) as session:
        return announcements.send_due_reminders(session, now or utcnow())


def process_received(app: Flask) -> int:
    """Finish inbound mail that was stored but not processed (e.g. after a crash)."""
    return ingest.process_received(app)
