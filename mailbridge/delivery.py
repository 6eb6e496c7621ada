"""Deliver the outbox: through the relay in RELAY_URL (RELAY_CONNECTIONS SMTP connections, each
reused across rows), or into the built-in catcher (CaughtMail rows) when no relay is configured.

Delivery guarantees. On PostgreSQL a row is claimed with ``FOR UPDATE SKIP LOCKED`` and stays
locked while it is handed to the relay; it is marked sent in that same transaction, so a worker
killed before the relay said 250 leaves it pending (its transaction rolls back) for another
worker at once. SQLite has one write lock for the whole database, which must not be held while a
relay answers (every other writer, the web and the SMTP intake, would wait for the whole drain):
there a row is leased — marked ``sending`` in a short transaction, sent with none open, and
marked sent in the next one (which leases the next row) — and a worker killed in between leaves
it ``sending`` until OUTBOX_LEASE_SECONDS have passed, when the next run puts it back. Either
way several workers never send one row twice, and a worker killed between the relay's 250 and
its commit re-sends that mail (at least once, as every SMTP sender: the receiving side dedupes
by Message-ID). The unique (dedupe_key, to_addr) key means one mail per event (or digest
period) per recipient. A mail about a post that waited (quiet hours, retries) leaves only if
the fan-out's rules still let it (``still_wanted``); otherwise it is cancelled.
"""

from __future__ import annotations

import contextlib
import logging
import smtplib
from concurrent import futures
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import Connection, RootTransaction, select
from sqlalchemy.orm import Session

from hub.db import engine_of, is_postgres, reading, utcnow
from hub.models import OutboxMessage
from hub.services import bounces as bounce_service
from mailbridge import bounces, outbox_sql
from mailbridge.outbound import return_path
from mailbridge.outbox_sql import MARK, MARK_RETRY, RELEASE, TAKE, Due, Prepared
from mailbridge.relay import Lanes, PermanentFailure, refusal, send_raw
from mailbridge.still_wanted import StillWanted

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 8


def drain_outbox(app: Flask, *, limit: int = 200, now: datetime | None = None) -> int:
    """Send every due message (up to ``limit``); return how many were sent.

    On PostgreSQL rows are claimed with FOR UPDATE SKIP LOCKED, so several workers share the
    outbox and no row goes out twice; a row stays locked while the relay takes it and is marked
    sent in the same transaction, right after the relay's 250, so a worker killed mid-send
    leaves it pending for the next one. On SQLite with a relay a row is leased instead (see the
    module docstring): no transaction is open while the relay works.

    Relay connections are reused across the whole run and rows are read and written with
    prepared plain statements. With a relay, two rows on each of RELAY_CONNECTIONS connections
    (``relay.Lanes``) are in flight while others are claimed (or leased) and marked, so the
    database's work overlaps the relay's instead of adding to it; each answer is written down
    as it comes, so a mail the relay holds on to does not hold up the others.
    """
    engine = engine_of(app)
    postgres = engine.dialect.name == "postgresql"
    due_at = now or utcnow()
    claim = outbox_sql.claim_query(due_at, lock=postgres)
    due = Due(outbox_sql.window_query(due_at))
    claim_row = Prepared(claim, engine.dialect)
    mark = Prepared(MARK, engine.dialect)
    url = str(app.config.get("RELAY_URL") or "")
    # Rows a dead worker left leased go back first (whatever this run's database and relay).
    with engine.begin() as conn:
        lease = timedelta(seconds=int(app.config["OUTBOX_LEASE_SECONDS"]))
        conn.execute(RELEASE, {"stale": due_at - lease})
    lanes = Lanes(url, int(app.config["RELAY_CONNECTIONS"])) if url else None
    if not postgres and lanes is not None:
        return _drain_leased(app, lanes, claim_row, mark, due, limit, now)
    return _drain_locked(app, lanes, claim_row, mark, due, limit, now)


def _drain_locked(
    app: Flask,
    lanes: Lanes | None,
    claim_row: Prepared,
    mark: Prepared,
    due: Due,
    limit: int,
    now: datetime | None,
) -> int:
    """PostgreSQL (and SQLite with the catcher): each row locked by its own transaction from its
    claim until its answer is written down (see ``drain_outbox``)."""
    engine = engine_of(app)
    postgres = engine.dialect.name == "postgresql"
    # With a relay, two rows per relay connection are in flight, each in a transaction (and on
    # a database connection) of its own; the catcher keeps one, in one transaction.
    depth = 2 * len(lanes) if lanes is not None else 1
    wanted = StillWanted()
    sent = claimed = 0
    flights: list[_Flight] = []
    with contextlib.ExitStack() as stack:
        free = [stack.enter_context(engine.connect()) for _ in range(depth)]
        if postgres:
            # Marking a row sent need not wait for a disk flush: a worker crash still commits
            # it; only a database crash could lose the mark (and re-send).
            for conn in free:
                stack.callback(_reset_commit, conn)
                conn.exec_driver_sql("SET synchronous_commit TO OFF")
                conn.commit()
        try:
            while True:
                # Claim ahead while a connection is free.
                while free and claimed < limit:
                    if due.used_up():
                        with free[-1].begin():
                            anything = due.refill(free[-1])
                        if not anything:
                            claimed = limit  # nothing more is due
                            break
                    conn = free.pop()
                    tx = conn.begin()
                    try:
                        row = claim_row.execute(conn, due.bounds())
                    except BaseException:
                        tx.rollback()
                        free.append(conn)
                        raise
                    if row is None:
                        tx.commit()
                        free.append(conn)
                        due.skip()
                        continue
                    due.took(row.id)
                    claimed += 1
                    flights.append(_start(app, conn, tx, row, lanes, wanted))
                if not flights:
                    break
                # Write down every answer in (waiting for the first), as the relay gave them.
                for flight in _answered(flights, wait=True):
                    flights.remove(flight)
                    sent += _finish(app, flight, mark, now)
                    free.append(flight.conn)
        finally:
            # Whatever went wrong, rows already handed to the relay are recorded before leaving.
            if lanes is not None:
                lanes.close()
            for flight in flights:
                try:
                    _finish(app, flight, mark, now)
                except Exception:  # noqa: BLE001 - the first error is the one raised
                    if flight.tx is not None and flight.tx.is_active:
                        flight.tx.rollback()
    return sent


def _answered(flights: list[_Flight], *, wait: bool) -> list[_Flight]:
    """The flights whose answer is in; with ``wait``, once at least one is."""
    pending = [f.outcome for f in flights if f.outcome is not None and not f.outcome.done()]
    if wait and pending and len(pending) == len(flights):
        futures.wait(pending, return_when=futures.FIRST_COMPLETED)
    return [f for f in flights if f.outcome is None or f.outcome.done()]


def _reset_commit(conn: Connection) -> None:
    """Undo the run's session setting before the connection goes back to the pool."""
    if not conn.invalidated:
        conn.rollback()
        conn.exec_driver_sql("RESET synchronous_commit")
        conn.commit()


@dataclass(slots=True)
class _Flight:
    """A claimed row on its way to the relay: locked by its open transaction, or leased."""

    conn: Connection
    # Open while the row is locked; None while it is leased (SQLite).
    tx: RootTransaction | None
    row: Any
    mail_from: str
    # How the send went (None: not sent, no longer wanted: ``why``).
    outcome: Future[None] | None
    why: str | None = None


def _start(
    app: Flask,
    conn: Connection,
    tx: RootTransaction,
    row: Any,
    lanes: Lanes | None,
    wanted: StillWanted,
) -> _Flight:
    """Hand one claimed row to the relay's connections, or to the catcher at once."""
    mail_from = row.mail_from or return_path(app, row)
    why = wanted.why_not(conn, row)
    if why is not None:
        return _Flight(conn, tx, row, mail_from, None, why)
    if lanes is not None:
        return _Flight(conn, tx, row, mail_from, lanes.submit(mail_from, row.to_addr, row.raw))
    outcome: Future[None] = Future()
    try:
        with Session(bind=conn) as session:
            send_raw(app, session, row, None, mail_from)
            session.flush()
    except Exception as exc:  # noqa: BLE001 - judged in _finish
        outcome.set_exception(exc)
    else:
        outcome.set_result(None)
    return _Flight(conn, tx, row, mail_from, outcome)


def _finish(app: Flask, flight: _Flight, mark: Prepared, now: datetime | None) -> bool:
    """Wait for the relay's answer on one row, record it and commit the row's transaction."""
    assert flight.tx is not None
    try:
        ok = _record(app, flight, mark, now)
    except BaseException:
        flight.tx.rollback()
        raise
    flight.tx.commit()
    return ok


def _record(app: Flask, flight: _Flight, mark: Prepared, now: datetime | None) -> bool:
    """Wait for the relay's answer on one row and write it down (the caller commits); tell
    whether it was sent."""
    row, conn = flight.row, flight.conn
    attempts = row.attempts + 1
    done: dict[str, Any] = {
        "b_id": row.id, "b_attempts": attempts, "b_claimed_at": utcnow(),
        "b_mail_from": flight.mail_from, "b_status": row.status, "b_last_error": None,
        "b_sent_at": None,
    }  # fmt: skip
    ok = False
    error = flight.outcome.exception() if flight.outcome is not None else None
    if flight.outcome is None:
        done.update(b_status="cancelled", b_last_error=flight.why)
    elif isinstance(error, PermanentFailure):
        done.update(b_status="failed", b_last_error=str(error)[:2000])
        # The relay refused the mail for good: a bounce, counted as a report's would be.
        count_refusal(app, conn, row, error)
    elif isinstance(error, (OSError, smtplib.SMTPException)):
        done["b_last_error"] = f"{type(error).__name__}: {error}"[:2000]
        if attempts >= MAX_ATTEMPTS:
            done["b_status"] = "failed"
            # Given up after a day of 4xx answers about this mail (452 4.2.2 mailbox full, say):
            # one soft bounce; the relay being unreachable is no bounce at all.
            count_refusal(app, conn, row, error)
        else:
            # Exponential back-off: 1, 2, 4 ... minutes.
            done["b_not_before"] = (now or utcnow()) + timedelta(minutes=2 ** (attempts - 1))
    elif error is not None:
        raise error
    else:
        done.update(b_status="sent", b_sent_at=utcnow())
        ok = True
    if "b_not_before" in done:
        conn.execute(MARK_RETRY, done)
    else:
        mark.execute(conn, done)
    return ok


def _drain_leased(
    app: Flask,
    lanes: Lanes,
    claim_row: Prepared,
    mark: Prepared,
    due: Due,
    limit: int,
    now: datetime | None,
) -> int:
    """SQLite with a relay: lease each row instead of holding the write lock while it is sent.

    One short transaction writes down the answers that came in and leases the next row (status
    ``sending``); the relay then takes that row with no transaction open, so the web and the
    SMTP intake write in between. Two leased rows per relay connection are in flight: while the
    relay takes them (in a sender thread per connection, in order), the transaction for the
    next runs, so the database's work overlaps the relay's instead of adding to it. Answers are
    awaited before a transaction begins (the write lock is never held while a relay answers).
    A worker that dies mid-send leaves its rows ``sending`` until OUTBOX_LEASE_SECONDS pass
    (``outbox_sql.RELEASE``).
    """
    engine = engine_of(app)
    take = Prepared(TAKE, engine.dialect)
    wanted = StillWanted()
    sent = claimed = 0
    flights: list[_Flight] = []
    with engine.connect() as conn:
        try:
            while True:
                full = len(flights) >= 2 * len(lanes) or claimed >= limit
                answered = _answered(flights, wait=full)
                row = None
                with conn.begin():
                    for flight in answered:
                        # If writing it down fails, the row stays leased (sent again later).
                        sent += _record(app, flight, mark, now)
                        flights.remove(flight)
                    while row is None and claimed < limit:
                        if due.used_up() and not due.refill(conn):
                            claimed = limit  # nothing more is due
                            break
                        row = claim_row.execute(conn, due.bounds())
                        if row is None:
                            due.skip()
                    if row is not None:
                        due.took(row.id)
                        why = wanted.why_not(conn, row)
                        take.execute(conn, {"b_id": row.id, "b_claimed_at": utcnow()})
                if row is not None:
                    claimed += 1
                    mail_from = row.mail_from or return_path(app, row)
                    outcome = lanes.submit(mail_from, row.to_addr, row.raw) if why is None else None
                    flights.append(_Flight(conn, None, row, mail_from, outcome, why))
                elif not flights:
                    return sent
        finally:
            # Whatever went wrong, rows the relay has taken are recorded before leaving.
            lanes.close()
            for flight in flights:
                try:
                    with conn.begin():
                        _record(app, flight, mark, now)
                except Exception:  # noqa: BLE001 - the first error is the one raised
                    log.exception("outbox row %s stays leased", flight.row.id)


def drain_due(app: Flask, *, batch: int = 1000) -> int:
    """Deliver every mail due now, ``batch`` rows a run, until nothing this worker could take is
    left; return how many were sent. The worker's job and ``hiroba mail flush`` use it, so a
    fan-out to 10,000 members goes out at the relay's pace, not ``batch`` mails per job interval.
    """
    sent = 0
    while True:
        sent += drain_outbox(app, limit=batch)
        # Rows other workers hold (locked, or leased) are theirs: stop when only those remain.
        with reading(app) as session:
            if claim_next(session, utcnow()) is None:
                return sent


def claim_next(session: Session, now: datetime) -> OutboxMessage | None:
    """Lock the next due pending row (skipping rows other workers hold on PostgreSQL)."""
    stmt = (
        select(OutboxMessage)
        .where(OutboxMessage.status == "pending", OutboxMessage.not_before <= now)
        .order_by(OutboxMessage.not_before, OutboxMessage.id)
        .limit(1)
    )
    if is_postgres(session):
        stmt = stmt.with_for_update(skip_locked=True)
    return session.scalar(stmt)


def count_refusal(app: Flask, conn: Connection, row: Any, error: BaseException) -> None:
    """Count the relay's refusal of the mail in ``row`` as a bounce of its address, hard or soft
    by the relay's reply (``mailbridge.bounces``), in the row's own transaction."""
    said = refusal(error)
    if said is None:
        return
    failure = bounces.reply_failure(row.to_addr, *said)
    with Session(bind=conn) as session:
        bounce_service.record_bounce(
            session,
            address=failure.address,
            hard=failure.hard,
            status=failure.status,
            diagnostic=failure.diagnostic,
            policy=bounce_service.Policy.from_config(app.config),
            outbox_id=row.id,
        )
        session.flush()
