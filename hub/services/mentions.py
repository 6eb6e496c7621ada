"""A member's mentions: the posts that name them, which of those are new, and marking them seen."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, joinedload

from hub import permissions
from hub.models import Mention, Post, Thread, User

PAGE_SIZE = 30


@dataclass(frozen=True, slots=True)
class MentionItem:
    """One post that mentions the member; ``new`` when it came after their last visit."""

    id: int
    post: Post
    new: bool


def _visible_mentions(session: Session, user: User) -> Select[int, Post]:
    # Only channels the member may read *now*: who left a private channel sees nothing from
    # it, and deleted or hidden posts and the member's own posts are not mentions to read.
    readable = permissions.readable_channel_ids(session, user)
    return (
        select(Mention.id, Post)
        .join(Post, Post.id == Mention.post_id)
        .join(Thread, Thread.id == Post.thread_id)
        .where(
            Mention.user_id == user.id,
            Thread.channel_id.in_(readable),
            Post.deleted_at.is_(None),
            Post.hidden.is_(False),
            Post.author_id.is_distinct_from(user.id),
        )
    )


def list_mentions(
    session: Session, user: User, *, before_id: int | None = None, limit: int = PAGE_SIZE
) -> list[MentionItem]:
    """The posts that mention ``user``, newest first; ``before_id`` pages back (keyset)."""
    stmt = _visible_mentions(session, user).options(
        joinedload(Post.thread).joinedload(Thread.channel), joinedload(Post.author)
    )
    if before_id is not None:
        stmt = stmt.where(Mention.id < before_id)
    rows = session.execute(stmt.order_by(Mention.id.desc()).limit(limit))
    return [MentionItem(id=mid, post=post, new=mid > user.mentions_seen_id) for mid, post in rows]


def unseen_count(session: Session, user: User) -> int:
    """How many readable mentions of ``user`` came after their last visit to the page."""
    if not user.active:
        return 0
    stmt = _visible_mentions(session, user).where(Mention.id > user.mentions_seen_id)
    return session.scalar(select(func.count()).select_from(stmt.subquery())) or 0


def mark_seen(session: Session, user: User, *, up_to: int) -> None:
    """Record that ``user`` has seen their mentions up to Mention.id ``up_to``.

    The page says how far it showed, so a mention that arrived after it was drawn stays new;
    the mark never goes back, and never past the member's own newest mention.
    """
    newest = session.scalar(select(func.max(Mention.id)).where(Mention.user_id == user.id)) or 0
    user.mentions_seen_id = max(user.mentions_seen_id, min(up_to, newest))
