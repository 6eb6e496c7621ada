"""The digest job: whose digests are due now, built and queued in batches of members (one
transaction a batch; a failing batch retried member by member)."""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta

from flask import Flask
from sqlalchemy import func, select

from hub.db import engine_of, transaction
from hub.models import Delivery, DigestRun, User
from mailbridge import digest_activity, digests

log = logging.getLogger(__name__)

# Members whose digests are built and queued in one transaction.
DIGEST_BATCH = 100


def send_due(app: Flask, now: datetime) -> int:
    """Build and queue the digests that are due at ``now`` (DIGEST_BATCH members a
    transaction); return how many were queued."""
    due = _due(app, now)
    batches = [due[start : start + DIGEST_BATCH] for start in range(0, len(due), DIGEST_BATCH)]
    activities: dict[tuple[datetime, datetime], digest_activity.Activity] = {}
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


def _due(app: Flask, now: datetime) -> list[tuple[User, str, datetime]]:
    """The members whose digest is due at ``now``, in member order: (member, period, since)."""
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
    return [(u, p, last.get(u.id) or now - digests.span(p)) for u, p in due]


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
