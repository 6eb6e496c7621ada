"""Reading threads a page at a time: a channel's threads by latest activity and a thread's posts
(keyset pagination, ``PAGE_SIZE`` a page), the newest post's id for polling, and post counts
for thread lists."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from hub.models import Channel, Post, Thread

PAGE_SIZE = 30


def list_threads(
    session: Session,
    channel: Channel,
    *,
    before: tuple[str, int] | None = None,
    limit: int = PAGE_SIZE,
) -> list[Thread]:
    """Threads of a channel, newest activity first; keyset pagination on (last_post_at, id)."""
    stmt = select(Thread).where(Thread.channel_id == channel.id)
    if before is not None:
        from datetime import datetime

        at = datetime.fromisoformat(before[0])
        stmt = stmt.where(
            (Thread.last_post_at < at) | ((Thread.last_post_at == at) & (Thread.id < before[1]))
        )
    stmt = stmt.order_by(Thread.last_post_at.desc(), Thread.id.desc()).limit(limit)
    return list(session.scalars(stmt))


def list_posts(
    session: Session,
    thread: Thread,
    *,
    before_id: int | None = None,
    after_id: int | None = None,
    limit: int = PAGE_SIZE,
) -> list[Post]:
    """Posts of a thread in order. ``before_id`` pages back (keyset); ``after_id`` polls forward.

    Without either, returns the newest ``limit`` posts.
    """
    stmt = (
        select(Post)
        .where(Post.thread_id == thread.id)
        .options(
            selectinload(Post.reactions), selectinload(Post.author), selectinload(Post.attachments)
        )
    )
    if after_id is not None:
        stmt = stmt.where(Post.id > after_id).order_by(Post.id).limit(limit)
        return list(session.scalars(stmt))
    if before_id is not None:
        stmt = stmt.where(Post.id < before_id)
    stmt = stmt.order_by(Post.id.desc()).limit(limit)
    return list(reversed(list(session.scalars(stmt))))


def latest_post_id(session: Session, thread: Thread) -> int:
    """The id of the thread's newest post: polling compares it and answers 'nothing new' cheaply."""
    return (
        session.scalar(
            select(Post.id).where(Post.thread_id == thread.id).order_by(Post.id.desc()).limit(1)
        )
        or 0
    )


def post_counts(session: Session, thread_ids: list[int]) -> dict[int, int]:
    """Visible posts per thread, for thread lists (one grouped query)."""
    if not thread_ids:
        return {}
    from sqlalchemy import func

    rows = session.execute(
        select(Post.thread_id, func.count())
        .where(Post.thread_id.in_(thread_ids), Post.deleted_at.is_(None), Post.hidden.is_(False))
        .group_by(Post.thread_id)
    )
    return {tid: n for tid, n in rows}
