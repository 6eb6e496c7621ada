"""One batch of members' digests, in two steps: built, then queued.

``build`` collects and renders each member's digest, its whole mail but the Reply-To, while
only reading (on SQLite a deferred transaction, which takes no lock: the web and the SMTP
intake write meanwhile, and another process builds its own batch). ``queue`` then takes a short
write transaction: it reads each member's channels and acknowledgements again, builds anew the
few digests whose member's access changed in between (a member who left a private channel a
moment ago never gets its posts), claims every DigestRun in one statement and adds the
Reply-To, which names the run. The claim decides (see ``digests.claim_runs``): a member whose
run another worker claimed first gets nothing here, so each gets one digest per period.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Flask
from sqlalchemy import insert
from sqlalchemy.orm import Session

from hub.db import reading, transaction
from hub.models import OutboxMessage, User
from mailbridge import digest_mail, mime, outbound
from mailbridge.digest_access import Access, Acks, read_access, read_acks
from mailbridge.digest_activity import Activity
from mailbridge.digest_items import Digest
from mailbridge.digests import activity_for, claim_runs, collect_digest

log = logging.getLogger(__name__)
Due = list[tuple[User, str, datetime]]


@dataclass
class Built:
    """One member's digest for a period, rendered; its DigestRun not yet claimed."""

    user: User
    period: str
    since: datetime
    digest: Digest | None
    access: Access
    acks: Acks
    # Its outbox row, all but the Reply-To, which names the run (None: nothing new).
    row: dict[str, Any] | None


def build(
    app: Flask,
    session: Session,
    due: Due,
    now: datetime,
    activities: dict[tuple[datetime, datetime], Activity],
) -> list[Built]:
    """Collect and render the digests of ``due`` (member, period, since) in ``session``, which
    only reads: every member's access and acknowledgements read in one statement each."""
    wanted = [(u, p, s) for u, p, s in due if u.active and not u.bouncing]
    acts = {u.id: activity_for(session, activities, s, now) for u, _p, s in wanted}
    ids = [u.id for u, _p, _s in wanted]
    access = read_access(session, ids)
    acks = read_acks(session, ids, _asked(acts))
    return [
        _build_one(app, session, user, period, since, now, acts[user.id], access, acks)
        for user, period, since in wanted
    ]


def queue(
    app: Flask,
    session: Session,
    built: list[Built],
    now: datetime,
    activities: dict[tuple[datetime, datetime], Activity],
) -> list[dict[str, Any]]:
    """In ``session``'s write transaction: check each member's access again (building anew
    where it changed), claim the DigestRuns and return the outbox rows for ``write``."""
    ids = [b.user.id for b in built]
    acts = {b.user.id: activity_for(session, activities, b.since, now) for b in built}
    access = read_access(session, ids)
    acks = read_acks(session, ids, _asked(acts))
    fresh = [
        b
        if sorted(access[b.user.id]) == sorted(b.access) and acks[b.user.id] == b.acks
        else _build_one(app, session, b.user, b.period, b.since, now, acts[b.user.id], access, acks)
        for b in built
    ]
    runs = [(b.user, b.period, b.since, b.digest) for b in fresh]
    claimed = claim_runs(session, runs, now, app.config["MAIL_DOMAIN"])
    rows: list[dict[str, Any]] = []
    for b in fresh:
        run_id = claimed.get(b.user.id)
        if run_id is None or b.row is None:
            continue
        address = digest_mail.reply_to(app, b.user.id, run_id)
        rows.append(dict(b.row, raw=mime.with_header(b.row["raw"], "Reply-To", address)))
    return rows


def write(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert the outbox rows ``queue`` made, with one multi-row insert."""
    if rows:
        session.connection().execute(insert(OutboxMessage), rows)


def _build_one(
    app: Flask,
    session: Session,
    user: User,
    period: str,
    since: datetime,
    now: datetime,
    act: Activity | None,
    access: dict[int, Access],
    acks: dict[int, Acks],
) -> Built:
    member = session.merge(user, load=False)
    digest = collect_digest(
        session, member, since, now, activity=act, access=access[user.id], acks=acks[user.id]
    )
    row = None
    if digest is not None:
        mail = digest_mail.mail(app, member, period, digest, act)
        row = outbound.mail_values(app, user_id=user.id, **mail)
    return Built(user, period, since, digest, access[user.id], acks[user.id], row)


def _asked(acts: dict[int, Activity | None]) -> set[int]:
    """The announcements any of these digests may ask about."""
    return {a.id for act in acts.values() if act for a in act.announcements}


# --- the batches of one process --------------------------------------------------------------

# Members whose digests are built, then queued, together.
DIGEST_BATCH = 100


def queue_all(app: Flask, due: Due, now: datetime, *, overlap: bool = True) -> int:
    """Build and queue the digests of ``due`` in batches of DIGEST_BATCH members; return how
    many were queued. With ``overlap``, while one batch is queued (in a writer thread: claimed,
    written, committed) the next is built, so the database's work overlaps the rendering. A
    batch that fails is retried member by member; a member who still fails is left for the
    next run."""
    batches = [due[start : start + DIGEST_BATCH] for start in range(0, len(due), DIGEST_BATCH)]
    activities: dict[tuple[datetime, datetime], Activity] = {}
    queued = 0
    writing: tuple[Due, Future[int]] | None = None
    with contextlib.ExitStack() as stack:
        writer = None
        if overlap:
            writer = stack.enter_context(ThreadPoolExecutor(1, thread_name_prefix="hiroba-digests"))
        for batch in batches:
            try:
                built = _build(app, batch, now, activities)
            except Exception:
                log.exception("digest batch of %d members failed: one by one", len(batch))
                queued += _one_by_one(app, batch, now, activities)
                continue
            if writing is not None:
                queued += _written(app, *writing, now, activities)
            writing = (batch, _submit(writer, _queue, app, built, now, activities))
        if writing is not None:
            queued += _written(app, *writing, now, activities)
    return queued


def _submit(writer: ThreadPoolExecutor | None, fn: Callable[..., int], *args: Any) -> Future[int]:
    """``fn(*args)`` in the writer thread, or here and now when there is none."""
    if writer is not None:
        return writer.submit(fn, *args)
    done: Future[int] = Future()
    try:
        done.set_result(fn(*args))
    except Exception as exc:  # noqa: BLE001 - the caller reads it from the future
        done.set_exception(exc)
    return done


def _build(
    app: Flask, batch: Due, now: datetime, activities: dict[tuple[datetime, datetime], Activity]
) -> list[Built]:
    with reading(app) as session:
        built = build(app, session, batch, now, activities)
        # Detached as loaded: the activity (announcements) outlives this read, which rolls back.
        session.expunge_all()
        return built


def _queue(
    app: Flask,
    built: list[Built],
    now: datetime,
    activities: dict[tuple[datetime, datetime], Activity],
) -> int:
    with transaction(app) as session:
        rows = queue(app, session, built, now, activities)
        write(session, rows)
        return len(rows)


def _written(
    app: Flask,
    batch: Due,
    written: Future[int],
    now: datetime,
    activities: dict[tuple[datetime, datetime], Activity],
) -> int:
    """How many digests a batch queued, once its writing is over (one by one if it failed: its
    transaction rolled back, its DigestRuns too)."""
    try:
        return written.result()
    except Exception:
        log.exception("queuing a digest batch of %d members failed: one by one", len(batch))
        return _one_by_one(app, batch, now, activities)


def _one_by_one(
    app: Flask, batch: Due, now: datetime, activities: dict[tuple[datetime, datetime], Activity]
) -> int:
    """One member's failure must not hold back the rest of the batch."""
    queued = 0
    for item in batch:
        try:
            queued += _queue(app, _build(app, [item], now, activities), now, activities)
        except Exception:
            log.exception("digest for member %s failed", item[0].id)
    return queued
