"""Mail retention: drop the raw bytes of finished mail older than KEEP_MAIL_DAYS, in batches.

Every outbox row, inbound message and caught mail keeps its full raw bytes (a digest is ~29 KB),
so an operator's database would grow without bound. After KEEP_MAIL_DAYS the raw bytes of
finished mail go; the rows stay, because their keys stop a mail going twice and their
Message-IDs place answers: an outbox row keeps the Reply-To header, the one a reply whose client
lost the +token is routed by (rules._from_references), and a digest reply still routes by its
markers (digest_replies._digest_lines reads nothing from a dropped digest). Caught mail (the
demo's catcher: a copy of an outbox row) is deleted outright.

Each batch is a short transaction of its own, so SQLite's writer lock is never held for long
while the web and the SMTP intake write. On a SQLite file created with incremental auto-vacuum
(``hub.db.make_engine`` asks for it on new files) the freed pages are given back to the file
system afterwards, a few megabytes at a time; elsewhere the file shrinks only after VACUUM.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime, timedelta
from email.parser import BytesHeaderParser
from email.policy import compat32
from typing import Any

from flask import Flask
from sqlalchemy import ColumnElement, Row, delete, func, select, update

from hub.db import engine_of, reading, transaction, utcnow
from hub.models import CaughtMail, InboundMessage, OutboxMessage
from mailbridge import ingest

# Outbox rows that will never be sent again (never pending, never sending).
FINISHED_OUT = ("sent", "failed", "cancelled")
# Inbound messages whose outcome is final. Not among them: ``received`` (not processed yet),
# ``failed`` (a bug stopped it and an admin replays it once the bug is fixed: the raw bytes are
# the member's only copy of what they wrote, and such messages are few) and ``held`` (a failed
# sender check waiting for an admin, who reads the source and may replay it once the sender's
# mail is fixed; or a digest reply waiting for the member to say which thread). They keep their
# raw bytes until replayed to a final outcome.
FINISHED_IN = (
    "posted", "replied", "reacted", "command", "acknowledged", "thanked", "rejected", "ignored",
    "bounce", "duplicate",
)  # fmt: skip
# The headers an outbox row keeps once its raw bytes are dropped.
KEPT_HEADERS = ("Reply-To",)
# Rows per write transaction. On SQLite 100 digests (~3 MB freed) hold the write lock for about
# 60 ms (500 held it for 300-400 ms: a web request or a mail arriving waited that long).
BATCH = 100
# Pages (4 KB) given back to the file system per step of SQLite's incremental vacuum.
VACUUM_PAGES = 2048


@dataclasses.dataclass
class Tally:
    """Rows touched and raw bytes freed in one table."""

    rows: int = 0
    bytes: int = 0


@dataclasses.dataclass
class Pruned:
    """What a run dropped (or, in a dry run, would drop), per table."""

    outbox: Tally = dataclasses.field(default_factory=Tally)
    inbound: Tally = dataclasses.field(default_factory=Tally)
    caught: Tally = dataclasses.field(default_factory=Tally)
    # Pages SQLite gave back to the file system; None when only VACUUM can (not incremental).
    reclaimed_pages: int | None = 0

    @property
    def rows(self) -> int:
        """Rows touched in every table."""
        return self.outbox.rows + self.inbound.rows + self.caught.rows

    @property
    def bytes(self) -> int:
        """Raw bytes freed in every table."""
        return self.outbox.bytes + self.inbound.bytes + self.caught.bytes


def stub(raw: bytes) -> bytes:
    """What an outbox row keeps of its raw bytes: the KEPT_HEADERS, no body."""
    msg = BytesHeaderParser(policy=compat32).parsebytes(raw)
    lines = [f"{name}: {value}\r\n" for name in KEPT_HEADERS for value in msg.get_all(name, [])]
    return "".join(lines).encode("ascii", "replace")


def prune(
    app: Flask, *, days: int, now: datetime | None = None, dry_run: bool = False, batch: int = BATCH
) -> Pruned:
    """Drop the raw bytes of finished mail older than ``days`` days (count them if ``dry_run``)."""
    cutoff = (now or utcnow()) - timedelta(days=days)
    done = Pruned()
    if dry_run:
        return _count(app, cutoff)
    for tally, step in (
        (done.outbox, _outbox_batch),
        (done.inbound, _inbound_batch),
        (done.caught, _caught_batch),
    ):
        while step(app, cutoff, batch, tally) == batch:
            pass
    if done.rows:
        done.reclaimed_pages = reclaim(app)
    return done


def _outbox_due(cutoff: datetime) -> list[ColumnElement[bool]]:
    T = OutboxMessage
    return [T.raw_dropped_at.is_(None), T.created_at < cutoff, T.status.in_(FINISHED_OUT)]


def _inbound_due(cutoff: datetime) -> list[ColumnElement[bool]]:
    T = InboundMessage
    return [T.raw_dropped_at.is_(None), T.received_at < cutoff, T.status.in_(FINISHED_IN)]


def _outbox_batch(app: Flask, cutoff: datetime, batch: int, tally: Tally) -> int:
    """Cut one batch of outbox rows down to their stubs; return how many rows were due."""
    T = OutboxMessage
    due = _outbox_due(cutoff)
    # Read first, outside the write lock: the headers are parsed while others write.
    with reading(app) as session:
        rows = session.execute(
            select(T.id, T.raw).where(*due).order_by(T.created_at).limit(batch)
        ).all()
    stubs = {row_id: stub(raw) for row_id, raw in rows}
    with ingest.serialized(app), transaction(app) as session:
        for row_id, raw in rows:
            # Still due? A row changed meanwhile is left alone.
            changed = session.execute(
                update(T)
                .where(T.id == row_id, *due)
                .values(raw=stubs[row_id], raw_dropped_at=utcnow())
            )
            if getattr(changed, "rowcount", 0):
                tally.rows += 1
                tally.bytes += len(raw) - len(stubs[row_id])
    return len(rows)


def _inbound_batch(app: Flask, cutoff: datetime, batch: int, tally: Tally) -> int:
    """Empty the raw bytes of one batch of inbound messages; return how many were due."""
    T = InboundMessage
    with ingest.serialized(app), transaction(app) as session:
        query = select(T.id, func.length(T.raw)).where(*_inbound_due(cutoff))
        rows = session.execute(query.order_by(T.received_at).limit(batch)).all()
        if rows:
            ids = [row_id for row_id, _ in rows]
            session.execute(update(T).where(T.id.in_(ids)).values(raw=b"", raw_dropped_at=utcnow()))
    return _tally(tally, rows)


def _caught_batch(app: Flask, cutoff: datetime, batch: int, tally: Tally) -> int:
    """Delete one batch of old caught mail; return how many were due."""
    T = CaughtMail
    with ingest.serialized(app), transaction(app) as session:
        query = select(T.id, func.length(T.raw)).where(T.caught_at < cutoff)
        rows = session.execute(query.order_by(T.id).limit(batch)).all()
        if rows:
            session.execute(delete(T).where(T.id.in_([row_id for row_id, _ in rows])))
    return _tally(tally, rows)


def _tally(tally: Tally, rows: Sequence[Row[int, int]]) -> int:
    tally.rows += len(rows)
    tally.bytes += sum(int(size or 0) for _, size in rows)
    return len(rows)


def _count(app: Flask, cutoff: datetime) -> Pruned:
    """What a run would drop now, counted in one read-only transaction, streamed."""
    out, inb, caught = OutboxMessage, InboundMessage, CaughtMail
    found = Pruned()
    with reading(app) as session:
        query = select(out.raw).where(*_outbox_due(cutoff)).execution_options(yield_per=BATCH)
        for raw in session.scalars(query):
            found.outbox.rows += 1
            found.outbox.bytes += len(raw) - len(stub(raw))
        for tally, model, due in (
            (found.inbound, inb, _inbound_due(cutoff)),
            (found.caught, caught, [caught.caught_at < cutoff]),
        ):
            rows, size = session.execute(
                select(func.count(), func.coalesce(func.sum(func.length(model.raw)), 0)).where(*due)
            ).one()
            tally.rows, tally.bytes = int(rows), int(size)
    return found


def reclaim(app: Flask) -> int | None:
    """On a SQLite file in incremental auto-vacuum mode, give its free pages back to the file
    system, VACUUM_PAGES at a time (each step a short write); return how many were freed, or
    None for a SQLite file that only VACUUM shrinks (PostgreSQL's autovacuum needs nothing)."""
    engine = engine_of(app)
    if engine.dialect.name != "sqlite":
        return 0
    freed = 0
    with engine.connect() as conn:
        # The driver's own connection: pysqlite steps a PRAGMA statement only once through
        # execute(), which would free one page; executescript runs it to the end.
        dbapi: Any = conn.connection.driver_connection
        if dbapi.execute("PRAGMA auto_vacuum").fetchone()[0] != 2:
            return None
        while free := _free_pages(dbapi):
            with ingest.serialized(app):
                dbapi.executescript(f"PRAGMA incremental_vacuum({min(free, VACUUM_PAGES)});")
            left = _free_pages(dbapi)
            freed += free - left
            if left >= free:
                break
    return freed


def _free_pages(dbapi: Any) -> int:
    return int(dbapi.execute("PRAGMA freelist_count").fetchone()[0])
