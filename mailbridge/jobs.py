"""Scheduled jobs: module-level functions taking the app (scheduler.py runs them)."""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta

from flask import Flask
from sqlalchemy import func, select

from hub.db import engine_of, transaction, utcnow
from hub.models import Delivery, DigestRun, User
from hub.services import announcements
from mailbridge import delivery, digest_activity, digests, fanout, ingest

log = logging.getLogger(__name__)

# Members whose digests are built and queued in one transaction.
DIGEST_BATCH = 100
# Events fanned out per round of the fan-out job (it runs rounds until none is left).
FAN_OUT_BATCH = 500


def fan_out_events(app: Flask) -> int:
    """Turn every pending domain event into outbox rows (FAN_OUT_BATCH events a round)."""
    handled = 0
    while True:
        n = fanout.fan_out(app, limit=FAN_OUT_BATCH)
        handled += n
        if n < FAN_OUT_BATCH:
            return handled


def drain_outbox(app: Flask) -> int:
    """Deliver every due outbox row."""
    return delivery.drain_due(app)


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
    activities: dict[tuple[datetime, datetime], digest_activity.Activity] = {}
    batches = [
        [
            (user, period, last.get(user.id) or now - digests.span(period))
            for user, period in due[start : start + DIGEST_BATCH]
        ]
        for start in range(0, len(due), DIGEST_BATCH)
    ]
    # Members in batches, each batch one transaction (in member order, so concurrent workers
    # wait on each other's DigestRun rows in the same order and never deadlock). On PostgreSQL
    # a batch's outbox rows are written and committed in a writer thread while the next batch
    # is built on another connection: the server's work on one overlaps the rendering of the
    # next. SQLite has a single writer, so there one batch is done before the next begins.
    writer = None
    if engine_of(app).dialect.name == "postgresql":
        writer = ThreadPoolExecutor(1, thread_name_prefix="hiroba-digests")
    queued = 0
    writing: tuple[list[tuple[User, str, datetime]], Future[int]] | None = None
    try:
        for batch in batches:
            try:
                written = _queue_batch(app, batch, now, activities, writer)
            except Exception:
                queued += _one_by_one(app, batch, now, activities)
                continue
            if writing is not None:
                queued += _written(app, *writing, now, activities)
            writing = (batch, written)
        if writing is not None:
            queued += _written(app, *writing, now, activities)
    finally:
        if writer is not None:
            writer.shutdown(wait=True)
    return queued


def _written(
    app: Flask,
    batch: list[tuple[User, str, datetime]],
    written: Future[int],
    now: datetime,
    activities: dict[tuple[datetime, datetime], digest_activity.Activity],
) -> int:
    """How many digests a batch queued, once its writing is over (one by one if it failed)."""
    try:
        return written.result()
    except Exception:
        return _one_by_one(app, batch, now, activities)


def _one_by_one(
    app: Flask,
    batch: list[tuple[User, str, datetime]],
    now: datetime,
    activities: dict[tuple[datetime, datetime], digest_activity.Activity],
) -> int:
    """One member's failure must not hold back the rest of the batch: retry one by one, and
    leave only the failing member for the next run."""
    queued = 0
    for item in batch:
        try:
            queued += _queue_batch(app, [item], now, activities).result()
        except Exception:
            log.exception("digest for member %s failed", item[0].id)
    return queued


def _queue_batch(
    app: Flask,
    batch: list[tuple[User, str, datetime]],
    now: datetime,
    activities: dict[tuple[datetime, datetime], digest_activity.Activity],
    writer: ThreadPoolExecutor | None = None,
) -> Future[int]:
    """Build one batch's digests in a transaction of its own, then write their outbox rows and
    commit: in ``writer``'s thread when there is one, else at once. The future tells how many
    were queued (or the error, the transaction rolled back)."""
    session = app.extensions["hiroba.sessionmaker"]()
    try:
        session.begin()
        members = [(session.merge(u, load=False), p, s) for u, p, s in batch]
        rows = digests.build_digests(app, session, members, now, activities)
    except BaseException:
        session.rollback()
        session.close()
        raise

    def finish() -> int:
        try:
            digests.write_digests(session, rows)
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()
        return len(rows)

    if writer is not None:
        return writer.submit(finish)
    done: Future[int] = Future()
    try:
        done.set_result(finish())
    except Exception as exc:  # noqa: BLE001 - the caller reads it from the future
        done.set_exception(exc)
    return done


def send_reminders(app: Flask, now: datetime | None = None) -> int:
    """Remind members of announcements they have not acknowledged (culture's service)."""
    with transaction(app) as session:
        return announcements.send_due_reminders(session, now or utcnow())


def process_received(app: Flask) -> int:
    """Finish inbound mail that was stored but not processed (e.g. after a crash)."""
    return ingest.process_received(app)
