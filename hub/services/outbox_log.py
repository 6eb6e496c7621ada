"""The outgoing mail as the admins' log reads it: a page of outbox rows, newest first, by state
and recipient, and "send now" for a mail that waits (for working hours, or to be retried).

A row's *state* is its status as an admin asks about it: ``pending`` is split into waiting for
the member's working hours, due (the worker takes it in a moment) and retrying (an attempt
failed: ``attempts`` > 0), and a sent mail whose delivery report came back (a BounceRecord names
the row) is ``bounced``. The codes stay in URLs (``?state=waiting``); the web words them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, exists, or_, select, update
from sqlalchemy.orm import Session, defer

from hub import permissions
from hub.models import BounceRecord, Channel, DigestRun, OutboxMessage, Post, Thread, User
from hub.services.accounts import require_admin

STATES = ("waiting", "due", "retrying", "sending", "sent", "bounced", "failed", "cancelled")
PAGE_SIZE = 50
M = OutboxMessage


@dataclass(frozen=True, slots=True)
class Entry:
    """One outbox row as the log shows it: the mail, its member (None for a bare address such
    as a stranger's refusal) and the newest bounce reported for it."""

    mail: OutboxMessage
    member: User | None
    bounce: BounceRecord | None
    state: str


@dataclass(frozen=True, slots=True)
class Page:
    entries: list[Entry]
    # The id to ask for older rows with (``before``), None on the last page.
    older: int | None


def state_of(mail: OutboxMessage, bounced: bool, now: datetime) -> str:
    """The row's state (see the module docstring)."""
    if mail.status == "pending":
        if mail.attempts > 0:
            return "retrying"
        return "waiting" if mail.not_before > now else "due"
    if mail.status == "sent" and bounced:
        return "bounced"
    return mail.status


def _bounced() -> ColumnElement[bool]:
    return exists().where(BounceRecord.outbox_id == M.id)


def _in_state(state: str, now: datetime) -> ColumnElement[bool]:
    pending = M.status == "pending"
    if state == "waiting":
        return and_(pending, M.attempts == 0, M.not_before > now)
    if state == "due":
        return and_(pending, M.attempts == 0, M.not_before <= now)
    if state == "retrying":
        return and_(pending, M.attempts > 0)
    if state == "bounced":
        return and_(M.status == "sent", _bounced())
    if state == "sent":
        return and_(M.status == "sent", ~_bounced())
    return M.status == state


def page(
    session: Session,
    *,
    now: datetime,
    state: str | None = None,
    recipient: str = "",
    before: int | None = None,
    size: int = PAGE_SIZE,
) -> Page:
    """Up to ``size`` rows older than ``before``, newest first, in ``state`` (any if None or
    unknown) and to a recipient whose address or name holds ``recipient``."""
    stmt = (
        select(M, User)
        .outerjoin(User, User.id == M.user_id)
        .options(defer(M.raw))
        .order_by(M.id.desc())
        .limit(size + 1)
    )
    if state in STATES:
        stmt = stmt.where(_in_state(state, now))
    if who := recipient.strip():
        to_them = M.to_addr.icontains(who, autoescape=True)
        stmt = stmt.where(or_(to_them, User.name.icontains(who, autoescape=True)))
    if before is not None:
        stmt = stmt.where(M.id < before)
    rows = [(mail, member) for mail, member in session.execute(stmt)]
    shown = rows[:size]
    bounces = bounces_of(session, [mail.id for mail, _member in shown])
    entries = [
        Entry(mail, member, bounces.get(mail.id), state_of(mail, mail.id in bounces, now))
        for mail, member in shown
    ]
    return Page(entries, shown[-1][0].id if len(rows) > size else None)


def bounces_of(session: Session, outbox_ids: list[int]) -> dict[int, BounceRecord]:
    """The newest bounce reported for each of ``outbox_ids`` that has one (one query)."""
    if not outbox_ids:
        return {}
    stmt = (
        select(BounceRecord)
        .where(BounceRecord.outbox_id.in_(outbox_ids))
        .order_by(BounceRecord.created_at, BounceRecord.id)
    )
    return {b.outbox_id: b for b in session.scalars(stmt) if b.outbox_id is not None}


def get_entry(session: Session, mail_id: int, now: datetime) -> Entry | None:
    """One row, with its member and bounce; None if there is no such row."""
    mail = session.get(M, mail_id)
    if mail is None:
        return None
    member = session.get(User, mail.user_id) if mail.user_id is not None else None
    bounce = bounces_of(session, [mail.id]).get(mail.id)
    return Entry(mail, member, bounce, state_of(mail, bounce is not None, now))


def threads_of(session: Session, mail: OutboxMessage) -> list[int] | None:
    """The threads whose posts a mail about posts quotes: the post's (``post:<id>``), or every
    thread a digest shows (its DigestRun); none for other mail; None when a mail about a post
    can no longer be placed (the post or the digest's record is gone)."""
    key = mail.dedupe_key
    if key.startswith("post:") and (post_id := key.split(":")[1]).isdigit():
        found = session.scalar(select(Post.thread_id).where(Post.id == int(post_id)))
        return [found] if found is not None else None
    if key.startswith("digest:") and mail.user_id is not None:
        run = session.scalar(
            select(DigestRun).where(
                DigestRun.user_id == mail.user_id, DigestRun.period == key[len("digest:") :]
            )
        )
        if run is None or not isinstance(run.items, dict):
            return None
        items = run.items.get("threads", [])
        return [int(i["thread_id"]) for i in items if isinstance(i, dict) and "thread_id" in i]
    return []


def readable_by(session: Session, viewer: User, mail: OutboxMessage) -> bool:
    """Tell whether ``viewer`` may read every thread ``mail`` quotes (a post of a private channel
    they are not in is not theirs to read, in the log either)."""
    ids = threads_of(session, mail)
    if ids is None:
        return False
    if not ids:
        return True
    found = session.execute(
        select(Thread.id, Channel)
        .join(Channel, Thread.channel_id == Channel.id)
        .where(Thread.id.in_(ids))
    )
    channels = {thread_id: channel for thread_id, channel in found}
    if set(channels) != set(ids):
        return False  # a thread gone since: what it said is not known to be readable
    return all(permissions.can_read(session, viewer, c) for c in set(channels.values()))


def send_now(session: Session, mail_id: int, *, actor: User, now: datetime) -> bool:
    """Make a mail that waits (for working hours, or for its next attempt) due at ``now``, so
    the worker's next run sends it; tell whether it did. A mail already due, being sent or
    finished is left as it is: the update says so in its own condition, so a worker that took
    the row meanwhile (PostgreSQL re-reads a row it waited for) wins.

    :raises Forbidden: ``actor`` is not an admin.
    """
    require_admin(actor)
    result = session.execute(
        update(M)
        .where(M.id == mail_id, M.status == "pending", M.not_before > now)
        .values(not_before=now)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)
