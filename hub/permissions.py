"""Who may do what: pure predicates over models, used by every door through hub.services."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.models import Channel, ChannelStatus, Membership, Post, Thread, User


def is_admin(user: User | None) -> bool:
    """Tell whether ``user`` is an active admin."""
    return user is not None and user.active and user.is_admin


def is_member(session: Session, user: User, channel: Channel) -> bool:
    """Tell whether ``user`` has joined ``channel``."""
    found = session.scalar(
        select(Membership.id).where(
            Membership.user_id == user.id, Membership.channel_id == channel.id
        )
    )
    return found is not None


def can_read(session: Session, user: User | None, channel: Channel) -> bool:
    """Open channels are readable by every active member; private ones by their members only."""
    if user is None or not user.active:
        return False
    if channel.status not in (ChannelStatus.ACTIVE, ChannelStatus.ARCHIVED):
        # A requested private channel is seen by its requester and the admins.
        return is_admin(user) or channel.created_by_id == user.id
    if not channel.private:
        return True
    return is_member(session, user, channel)


def can_post(session: Session, user: User | None, channel: Channel) -> bool:
    """Any active reader of an active channel may post; private channels need membership."""
    if user is None or not user.active or channel.status != ChannelStatus.ACTIVE:
        return False
    return can_read(session, user, channel)


def can_edit(user: User | None, post: Post) -> bool:
    """Authors edit their own posts, except in an archived channel (kept as it was)."""
    return _own(user, post) and post.thread.channel.status != ChannelStatus.ARCHIVED


def can_delete(user: User | None, post: Post) -> bool:
    """Authors delete their own posts, archived channel or not; admins may delete any."""
    return _own(user, post) or is_admin(user)


def _own(user: User | None, post: Post) -> bool:
    return user is not None and user.active and post.author_id == user.id


def can_read_thread(session: Session, user: User | None, thread: Thread) -> bool:
    return can_read(session, user, thread.channel)


def readable_channel_ids(session: Session, user: User) -> list[int]:
    """Return the ids of every channel ``user`` may read (for search, digests and lists)."""
    if not user.active:
        return []
    joined = select(Membership.channel_id).where(Membership.user_id == user.id)
    stmt = select(Channel.id).where(
        Channel.status.in_([ChannelStatus.ACTIVE, ChannelStatus.ARCHIVED]),
        (Channel.private.is_(False)) | (Channel.id.in_(joined)),
    )
    return list(session.scalars(stmt))
