"""The adoption dashboard: who takes part and through which door, acknowledgement, openness.

Every function takes ``now`` explicitly so numbers are exact under a frozen clock.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub import permissions
from hub.errors import Forbidden, Reason
from hub.models import Acknowledgement, Channel, Post, Reaction, Thanks, Thread, User, Via
from hub.services import acknowledgements, announcements, events, governance
from hub.services import thanks as thanks_service

LEFT_BEHIND_DAYS = 30
MAIL_DOORS = (Via.EMAIL, Via.LINK)


def door(via: str) -> str:
    """'mail' for what came by mail or a mail link, else 'web'."""
    return "mail" if via in MAIL_DOORS else "web"


def activity(
    session: Session, *, since: datetime, until: datetime
) -> list[tuple[int, str, datetime]]:
    """(member id, door, when) of every act of participation in [since, until): posts,
    acknowledgements, reactions and thanks sent."""
    sources = (
        (Post.author_id, Post.via, Post.created_at),
        (Acknowledgement.user_id, Acknowledgement.via, Acknowledgement.created_at),
        (Reaction.user_id, Reaction.via, Reaction.created_at),
        (Thanks.sender_id, Thanks.via, Thanks.created_at),
    )
    out: list[tuple[int, str, datetime]] = []
    for who, via, when in sources:
        stmt = select(who, via, when).where(when >= since, when < until, who.is_not(None))
        out.extend((u, door(v), w) for u, v, w in session.execute(stmt).all() if u is not None)
    return out


def weekly_active(session: Session, *, now: datetime, weeks: int = 8) -> list[dict[str, Any]]:
    """Per week, oldest first: distinct members active on the web, by mail, and in all."""
    first = governance.week_start(now) - timedelta(weeks=weeks - 1)
    start = datetime.combine(first, datetime.min.time(), tzinfo=now.tzinfo)
    buckets: dict[str, dict[str, set[int]]] = {
        (first + timedelta(weeks=i)).isoformat(): {"web": set(), "mail": set()}
        for i in range(weeks)
    }
    for user_id, how, when in activity(session, since=start, until=now + timedelta(seconds=1)):
        key = governance.week_start(when).isoformat()
        if key in buckets:
            buckets[key][how].add(user_id)
    return [
        {"week": week, "web": len(b["web"]), "mail": len(b["mail"]),
         "total": len(b["web"] | b["mail"])}
        for week, b in buckets.items()
    ]  # fmt: skip


def ack_rates(session: Session) -> list[dict[str, Any]]:
    """Per announcement that asks for acknowledgement: acknowledged, audience, rate."""
    out = []
    for item in announcements.list_announcements(session):
        if not item.ack_required:
            continue
        data = acknowledgements.status(session, item)
        done, left = len(data["acknowledged"]), len(data["not_acknowledged"])
        out.append({"id": item.id, "title": item.title, "acknowledged": done,
                    "audience": done + left, "rate": data["rate"]})  # fmt: skip
    return out


def openness_ratio(session: Session, *, now: datetime, days: int = 30) -> dict[str, Any]:
    """Share of posts (and threads) in open channels over the last ``days`` days."""
    since = now - timedelta(days=days)

    def count(stmt: Any, private: bool) -> int:
        return int(session.scalar(stmt.where(Channel.private.is_(private))) or 0)

    posts = (
        select(func.count(Post.id)).join(Thread, Thread.id == Post.thread_id)
        .join(Channel, Channel.id == Thread.channel_id)
        .where(Post.created_at >= since, Post.created_at <= now, Post.deleted_at.is_(None))
    )  # fmt: skip
    threads = (
        select(func.count(Thread.id)).join(Channel, Channel.id == Thread.channel_id)
        .where(Thread.created_at >= since, Thread.created_at <= now)
    )  # fmt: skip
    op, pp = count(posts, False), count(posts, True)
    ot, pt = count(threads, False), count(threads, True)
    return {
        "open_posts": op, "private_posts": pp, "open_threads": ot, "private_threads": pt,
        "ratio": round(op / (op + pp), 4) if op + pp else None,
    }  # fmt: skip


def posts_per_channel(session: Session, *, now: datetime, days: int = 30) -> list[dict[str, Any]]:
    """Posts per channel over the last ``days`` days, busiest first."""
    since = now - timedelta(days=days)
    stmt = (
        select(Channel.slug, Channel.name, func.count(Post.id))
        .join(Thread, Thread.channel_id == Channel.id)
        .join(Post, Post.thread_id == Thread.id)
        .where(Post.created_at >= since, Post.created_at <= now, Post.deleted_at.is_(None))
        .group_by(Channel.slug, Channel.name)
    )
    rows = [{"slug": s, "name": n, "posts": int(c)} for s, n, c in session.execute(stmt).all()]
    return sorted(rows, key=lambda r: (-r["posts"], r["slug"]))


def thanks_per_value(session: Session, *, now: datetime, days: int = 30) -> list[dict[str, Any]]:
    """Thanks cards per value over the last ``days`` days."""
    counts = thanks_service.counts_per_value(
        session, since=now - timedelta(days=days), until=now + timedelta(seconds=1)
    )
    return [{"value": name, "thanks": n} for name, n in counts]


def left_behind(session: Session, *, now: datetime, days: int = LEFT_BEHIND_DAYS) -> list[User]:
    """Active members (who joined over ``days`` days ago) with no participation in that time."""
    since = now - timedelta(days=days)
    active = {u for u, _, _ in activity(session, since=since, until=now + timedelta(seconds=1))}
    stmt = select(User).where(User.active.is_(True), User.created_at <= since).order_by(User.id)
    return [u for u in session.scalars(stmt) if u.id not in active]


def nudge(session: Session, *, actor: User | None, user: User, now: datetime) -> None:
    """Send a member a friendly nudge mail (event ``member_nudged``)."""
    if actor is not None and not permissions.is_admin(actor):
        raise Forbidden(Reason.ADMIN_ONLY)
    events.emit(session, "member_nudged", actor_id=actor.id if actor else None,
                subject_id=user.id, at=now.isoformat())  # fmt: skip


def summary(session: Session, *, now: datetime) -> dict[str, Any]:
    """Every table of the dashboard in one dict (for the page, CSV and tests)."""
    return {
        "weekly_active": weekly_active(session, now=now),
        "ack_rates": ack_rates(session),
        "openness": openness_ratio(session, now=now),
        "posts_per_channel": posts_per_channel(session, now=now),
        "thanks_per_value": thanks_per_value(session, now=now),
        "left_behind": [{"email": u.email, "name": u.name, "id": u.id}
                        for u in left_behind(session, now=now)],
    }  # fmt: skip
