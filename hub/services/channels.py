"""Channels: create (open by default, with a purpose), browse, join, leave, delivery."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub import permissions
from hub.errors import Forbidden, Invalid, NotFound, Reason
from hub.models import (
    Channel,
    ChannelKind,
    ChannelStatus,
    Delivery,
    Membership,
    Setting,
    Thread,
    User,
)
from hub.services import events

# The slug is also the mail local part, so it must not clash with our own addresses.
SLUG = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")
RESERVED = {
    "reply", "digest", "ack", "help", "thanks", "bounce", "postmaster", "abuse",
    "mailer-daemon", "noreply", "no-reply", "admin", "hiroba", "www", "root",
}  # fmt: skip

POLICIES = ("anyone", "approval", "admins")


def private_policy(session: Session, default: str = "approval") -> str:
    """Who may create private channels: anyone, on admin approval, or admins only."""
    row = session.get(Setting, "private_channel_policy")
    return row.value if row is not None and row.value in POLICIES else default


def get_channel(session: Session, slug: str) -> Channel:
    channel = session.scalar(select(Channel).where(Channel.slug == slug.strip().lower()))
    if channel is None:
        raise NotFound(Reason.NOT_FOUND, f"channel {slug}")
    return channel


def find_channel(session: Session, slug: str) -> Channel | None:
    return session.scalar(select(Channel).where(Channel.slug == slug.strip().lower()))


def get_visible_channel(session: Session, slug: str, *, viewer: User) -> Channel:
    """Return the channel if ``viewer`` may read it; a private one is 'not found' to others."""
    channel = find_channel(session, slug)
    if channel is None or not permissions.can_read(session, viewer, channel):
        raise NotFound(Reason.NOT_FOUND, f"channel {slug}")
    return channel


def create_channel(
    session: Session,
    *,
    slug: str,
    name: str,
    purpose: str,
    kind: str = ChannelKind.WORK,
    private: bool = False,
    reason: str | None = None,
    review_date: date | None = None,
    creator: User | None = None,
    policy: str | None = None,
) -> Channel:
    """Create a channel. Open by default; a private one needs a stated reason and, by policy,
    an admin's approval (then it starts as ``pending``). ``creator=None`` is the admin CLI."""
    slug = slug.strip().lower()
    if not SLUG.match(slug) or slug in RESERVED:
        raise Invalid(Reason.INVALID_SLUG, slug)
    if find_channel(session, slug) is not None:
        raise Invalid(Reason.DUPLICATE_SLUG, slug)
    if not name.strip():
        raise Invalid(Reason.INVALID_VALUE, "name")
    if not purpose.strip():
        raise Invalid(Reason.PURPOSE_REQUIRED)
    if kind not in (ChannelKind.WORK, ChannelKind.SOCIAL):
        raise Invalid(Reason.INVALID_VALUE, f"kind: {kind}")
    status = ChannelStatus.ACTIVE
    if private:
        if not (reason or "").strip():
            raise Invalid(Reason.REASON_REQUIRED)
        policy = policy or private_policy(session)
        is_admin = creator is None or permissions.is_admin(creator)
        if policy == "admins" and not is_admin:
            raise Forbidden(Reason.NOT_PERMITTED_BY_POLICY)
        if policy == "approval" and not is_admin:
            status = ChannelStatus.PENDING
    channel = Channel(
        slug=slug,
        name=name.strip(),
        purpose=purpose.strip(),
        kind=ChannelKind(kind),
        private=private,
        private_reason=(reason or "").strip() or None,
        review_date=review_date,
        status=status,
        created_by=creator,
    )
    session.add(channel)
    session.flush()
    if creator is not None:
        session.add(Membership(user_id=creator.id, channel_id=channel.id, role="owner"))
    events.emit(
        session,
        "channel_requested" if status == ChannelStatus.PENDING else "channel_created",
        actor_id=creator.id if creator else None,
        channel_id=channel.id,
    )
    return channel


def list_channels(session: Session, *, viewer: User | None = None) -> list[Channel]:
    """Channels ``viewer`` may see (all of them for the CLI, viewer=None), work before social."""
    stmt = select(Channel).order_by(Channel.kind.desc(), Channel.name)
    channels = list(session.scalars(stmt))
    if viewer is None:
        return channels
    return [c for c in channels if permissions.can_read(session, viewer, c)]


def channel_as_dict(session: Session, channel: Channel) -> dict[str, Any]:
    members = session.scalar(
        select(func.count()).select_from(Membership).where(Membership.channel_id == channel.id)
    )
    threads = session.scalar(
        select(func.count()).select_from(Thread).where(Thread.channel_id == channel.id)
    )
    return {
        "id": channel.id,
        "slug": channel.slug,
        "name": channel.name,
        "purpose": channel.purpose,
        "kind": str(channel.kind),
        "private": channel.private,
        "reason": channel.private_reason,
        "status": str(channel.status),
        "members": members,
        "threads": threads,
    }


def join(session: Session, *, user: User, channel: Channel) -> Membership:
    """Join an open channel (private channels are joined by invitation of a member)."""
    if channel.private and not permissions.is_admin(user):
        raise Forbidden(Reason.PRIVATE_CHANNEL)
    return _add_member(session, user=user, channel=channel, actor=user)


def add_member(session: Session, *, user: User, channel: Channel, actor: User | None) -> Membership:
    """Add ``user`` to ``channel``; for a private channel the actor must be a member or admin."""
    if (
        actor is not None
        and channel.private
        and not (permissions.is_admin(actor) or permissions.is_member(session, actor, channel))
    ):
        raise Forbidden(Reason.PRIVATE_CHANNEL)
    return _add_member(session, user=user, channel=channel, actor=actor)


def _add_member(
    session: Session, *, user: User, channel: Channel, actor: User | None
) -> Membership:
    if not user.active:
        raise Forbidden(Reason.INACTIVE_MEMBER)
    found = membership(session, user, channel)
    if found is not None:
        return found
    m = Membership(user_id=user.id, channel_id=channel.id)
    session.add(m)
    session.flush()
    events.emit(
        session,
        "member_joined",
        actor_id=actor.id if actor else None,
        channel_id=channel.id,
        subject_id=user.id,
    )
    return m


def leave(session: Session, *, user: User, channel: Channel) -> None:
    found = membership(session, user, channel)
    if found is not None:
        session.delete(found)
        events.emit(
            session, "member_left", actor_id=user.id, channel_id=channel.id, subject_id=user.id
        )


def membership(session: Session, user: User, channel: Channel) -> Membership | None:
    return session.scalar(
        select(Membership).where(Membership.user_id == user.id, Membership.channel_id == channel.id)
    )


def set_delivery(
    session: Session, *, user: User, channel: Channel, delivery: str | None
) -> Membership:
    """Override how ``user`` gets ``channel`` by mail (None = their own default)."""
    if not permissions.can_read(session, user, channel):
        raise NotFound(Reason.NOT_FOUND)
    m = membership(session, user, channel) or _add_member(
        session, user=user, channel=channel, actor=user
    )
    m.delivery = Delivery(delivery) if delivery else None
    return m


def members_of(session: Session, channel: Channel) -> list[User]:
    stmt = (
        select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.channel_id == channel.id, User.active.is_(True))
        .order_by(User.name)
    )
    return list(session.scalars(stmt))


def joined_channel_ids(session: Session, user: User) -> list[int]:
    """The ids of the channels ``user`` has joined."""
    return list(session.scalars(select(Membership.channel_id).where(Membership.user_id == user.id)))
