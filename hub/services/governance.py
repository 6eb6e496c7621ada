"""Channel governance: the private-channel policy, request decisions, the openness report."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub import permissions
from hub.errors import Forbidden, Invalid, Reason
from hub.models import Channel, ChannelStatus, Post, Setting, Thread, User
from hub.services import events
from hub.services.channel_creation import POLICIES, private_policy

POLICY_KEY = "private_channel_policy"


def _admin(actor: User | None) -> None:
    if actor is not None and not permissions.is_admin(actor):
        raise Forbidden(Reason.ADMIN_ONLY)


def get_policy(session: Session) -> str:
    """anyone, approval or admins (what hub.services.channel_creation enforces)."""
    return private_policy(session)


def set_policy(session: Session, *, actor: User | None, policy: str) -> None:
    """Set who may create private channels."""
    _admin(actor)
    if policy not in POLICIES:
        raise Invalid(Reason.INVALID_VALUE, f"policy: {policy}")
    row = session.get(Setting, POLICY_KEY)
    if row is None:
        session.add(Setting(key=POLICY_KEY, value=policy))
    else:
        row.value = policy


def pending_requests(session: Session) -> list[Channel]:
    """Private channels waiting for an admin's decision, oldest first."""
    stmt = select(Channel).where(Channel.status == ChannelStatus.PENDING)
    return list(session.scalars(stmt.order_by(Channel.created_at, Channel.id)))


def _decide(session: Session, actor: User | None, channel: Channel, ok: bool, note: str) -> None:
    _admin(actor)
    if channel.status != ChannelStatus.PENDING:
        raise Invalid(Reason.ALREADY_DONE)
    channel.status = ChannelStatus.ACTIVE if ok else ChannelStatus.DECLINED
    channel.review_note = note.strip() or None
    events.emit(
        session, "channel_approved" if ok else "channel_declined",
        actor_id=actor.id if actor else None, channel_id=channel.id, note=note.strip(),
    )  # fmt: skip


def approve(session: Session, *, actor: User | None, channel: Channel, note: str = "") -> Channel:
    """Approve a private channel request (the requester hears, with the note)."""
    _decide(session, actor, channel, True, note)
    return channel


def decline(session: Session, *, actor: User | None, channel: Channel, note: str = "") -> Channel:
    """Decline a private channel request with a note saying why."""
    _decide(session, actor, channel, False, note)
    return channel


def week_start(when: datetime | date) -> date:
    """The Monday of ``when``'s week."""
    day = when.date() if isinstance(when, datetime) else when
    return day - timedelta(days=day.weekday())


def openness(session: Session, *, now: datetime, weeks: int = 8) -> list[dict[str, Any]]:
    """Per week (oldest first): threads and posts in open vs private channels, open share."""
    first = week_start(now) - timedelta(weeks=weeks - 1)
    start = datetime.combine(first, datetime.min.time(), tzinfo=now.tzinfo)
    rows = {first + timedelta(weeks=i): [0, 0, 0, 0] for i in range(weeks)}
    tq = (
        select(Thread.created_at, Channel.private)
        .join(Channel, Channel.id == Thread.channel_id)
        .where(Thread.created_at >= start, Thread.created_at <= now)
    )
    pq = (
        select(Post.created_at, Channel.private)
        .join(Thread, Thread.id == Post.thread_id)
        .join(Channel, Channel.id == Thread.channel_id)
        .where(Post.created_at >= start, Post.created_at <= now, Post.deleted_at.is_(None))
    )
    for offset, stmt in ((0, tq), (2, pq)):
        for created, private in session.execute(stmt).all():
            key = week_start(created)
            if key in rows:
                rows[key][offset + (1 if private else 0)] += 1
    out = []
    for week, (ot, pt, op, pp) in rows.items():
        total = op + pp
        out.append({
            "week": week.isoformat(), "open_threads": ot, "private_threads": pt,
            "open_posts": op, "private_posts": pp,
            "open_share": round(op / total, 4) if total else None,
        })  # fmt: skip
    return out


def idle_private_channels(
    session: Session, *, now: datetime, days: int = 30
) -> list[dict[str, Any]]:
    """Active private channels with no post for ``days`` days."""
    last = (
        select(Thread.channel_id, func.max(Post.created_at).label("last"))
        .join(Post, Post.thread_id == Thread.id)
        .group_by(Thread.channel_id)
        .subquery()
    )
    stmt = (
        select(Channel, last.c.last)
        .outerjoin(last, last.c.channel_id == Channel.id)
        .where(Channel.private.is_(True), Channel.status == ChannelStatus.ACTIVE)
        .order_by(Channel.name)
    )
    out = []
    for channel, last_post in session.execute(stmt).all():
        seen = last_post or channel.created_at
        idle = (now - seen).days
        if idle >= days:
            out.append({"channel": channel, "last_activity": seen, "idle_days": idle})
    return out


def suggest_review(
    session: Session, *, actor: User | None, channel: Channel, idle_days: int
) -> None:
    """Ask the owners of an idle private channel to open or archive it (they get a mail)."""
    _admin(actor)
    events.emit(
        session, "channel_review_suggested", actor_id=actor.id if actor else None,
        channel_id=channel.id, idle_days=idle_days,
    )  # fmt: skip
