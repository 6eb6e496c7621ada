"""Channels: find, browse, join, leave, delivery, and mutes (no mail from a channel for someone
outside it). Making one (open by default, with a purpose): hub.services.channel_creation; the
members page's rules: hub.services.members; changing a channel later (settings, open, archive):
hub.services.channel_settings."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from hub import permissions
from hub.db import is_postgres, utcnow
from hub.errors import Forbidden, Invalid, NotFound, Reason
from hub.models import (
    Channel,
    ChannelMute,
    ChannelStatus,
    Delivery,
    Membership,
    Thread,
    User,
)
from hub.services import events

ROLES = ("owner", "member")


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


def list_channels(session: Session, *, viewer: User | None = None) -> list[Channel]:
    """Channels ``viewer`` may see (all of them for the CLI, viewer=None), work before social,
    archived ones last."""
    archived = Channel.status == ChannelStatus.ARCHIVED
    stmt = select(Channel).order_by(archived, Channel.kind.desc(), Channel.name)
    channels = list(session.scalars(stmt))
    if viewer is None:
        return channels
    return [c for c in channels if permissions.can_read(session, viewer, c)]


def channel_as_dict(session: Session, channel: Channel) -> dict[str, Any]:
    # Active members only, as the members page lists them.
    members = session.scalar(
        select(func.count())
        .select_from(Membership)
        .join(User, Membership.user_id == User.id)
        .where(Membership.channel_id == channel.id, User.active.is_(True))
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
        "new_members_join": channel.new_members_join,
        "members": members,
        "threads": threads,
    }


def can_set_roles(session: Session, actor: User | None, channel: Channel) -> bool:
    """Tell whether ``actor`` may make members owners and take the role back: the admin CLI
    (``None``), an active admin, or an active owner of the channel, open or private (anyone
    joins an open channel, but its owners still share the looking after)."""
    if actor is None:
        return True
    if not actor.active:
        return False
    if permissions.is_admin(actor):
        return True
    found = membership(session, actor, channel)
    return found is not None and found.role == "owner"


def can_manage_members(session: Session, actor: User | None, channel: Channel) -> bool:
    """Tell whether ``actor`` may add and remove members: the admin CLI (``None``), an active
    admin (any channel), or an owner of a private channel (open channels are joined freely)."""
    if channel.private:
        return can_set_roles(session, actor, channel)
    return actor is None or (actor.active and permissions.is_admin(actor))


def join(session: Session, *, user: User, channel: Channel) -> Membership:
    """Join an open channel (a private channel's owners or an admin add its members)."""
    if channel.private and not permissions.is_admin(user):
        raise Forbidden(Reason.PRIVATE_CHANNEL)
    return add_membership(session, user=user, channel=channel, actor=user)


def add_member(session: Session, *, user: User, channel: Channel, actor: User | None) -> Membership:
    """Add ``user`` to ``channel`` quietly (``actor=None``: the hub itself, e.g. a first post);
    an actor must be allowed to manage the members (``can_manage_members``)."""
    if actor is not None and not can_manage_members(session, actor, channel):
        raise Forbidden(Reason.PRIVATE_CHANNEL if channel.private else Reason.FORBIDDEN)
    return add_membership(session, user=user, channel=channel, actor=actor)


def add_membership(
    session: Session, *, user: User, channel: Channel, actor: User | None, **data: Any
) -> Membership:
    """Make ``user`` a member (no permission check: callers decide), announced by a
    member_joined event carrying ``data``; their existing membership if they are one."""
    if not user.active:
        raise Forbidden(Reason.INACTIVE_MEMBER)
    found = membership(session, user, channel)
    if found is not None:
        return found
    m = Membership(user_id=user.id, channel_id=channel.id)
    session.add(m)
    # A member's own delivery setting takes over from a mute they set while outside.
    unmute(session, user=user, channel=channel)
    session.flush()
    events.emit(
        session,
        "member_joined",
        actor_id=actor.id if actor else None,
        channel_id=channel.id,
        subject_id=user.id,
        **data,
    )
    return m


def leave(session: Session, *, user: User, channel: Channel) -> None:
    """Leave ``channel``. Someone who had turned an open channel's mail off keeps it off (a
    ChannelMute): leaving must not bring its sections back into their digest.

    :raises Invalid: ``user`` is the last active owner and other active members remain
        (``Reason.LAST_OWNER``): they make someone else owner first (``set_role``).
    """
    found = membership(session, user, channel)
    if found is not None:
        # The last owner hands the channel on first; alone in it, they may go (admins remain).
        if (
            found.role == "owner"
            and user.active
            and active_owners(session, channel) <= 1
            and _others_remain(session, channel, user)
        ):
            raise Invalid(Reason.LAST_OWNER, channel.slug)
        quiet = found.delivery == Delivery.OFF
        session.delete(found)
        events.emit(
            session, "member_left", actor_id=user.id, channel_id=channel.id, subject_id=user.id
        )
        if quiet and not channel.private:
            mute(session, user=user, channel=channel)


def membership(session: Session, user: User, channel: Channel) -> Membership | None:
    return session.scalar(
        select(Membership).where(Membership.user_id == user.id, Membership.channel_id == channel.id)
    )


def set_delivery(
    session: Session, *, user: User, channel: Channel, delivery: str | None
) -> Membership:
    """Override how the member ``user`` gets ``channel`` by mail (None = their own default).

    :raises NotFound: ``user`` may not read the channel.
    :raises Invalid: ``user`` is not a member (``mute`` stops mail without joining anyone).
    """
    if not permissions.can_read(session, user, channel):
        raise NotFound(Reason.NOT_FOUND)
    m = membership(session, user, channel)
    if m is None:
        raise Invalid(Reason.NOT_A_MEMBER, channel.slug)
    m.delivery = Delivery(delivery) if delivery else None
    return m


def mute(session: Session, *, user: User, channel: Channel) -> None:
    """Send ``user`` no more mail from ``channel`` (unsubscribe links, ``mute <channel>``): a
    member's delivery goes off; anyone else gets a ChannelMute and stays out of the members.

    :raises NotFound: ``user`` may not read the channel (a private one stays unnamed).
    """
    if not permissions.can_read(session, user, channel):
        raise NotFound(Reason.NOT_FOUND)
    found = membership(session, user, channel)
    if found is not None:
        found.delivery = Delivery.OFF
        return
    # Mail clients may send the one-click POST twice at once: the unique pair decides.
    insert = pg_insert if is_postgres(session) else sqlite_insert
    stmt = insert(ChannelMute).values(user_id=user.id, channel_id=channel.id, created_at=utcnow())
    session.execute(stmt.on_conflict_do_nothing(index_elements=["user_id", "channel_id"]))


def channel_delivery(session: Session, *, user: User, channel: Channel) -> str | None:
    """``user``'s delivery override for ``channel``: a member's own setting, ``off`` for
    someone outside who muted it (``mute``), else None (their own delivery mode applies)."""
    found = membership(session, user, channel)
    if found is not None:
        return found.delivery
    muted = session.scalar(
        select(ChannelMute.id).where(
            ChannelMute.user_id == user.id, ChannelMute.channel_id == channel.id
        )
    )
    return Delivery.OFF if muted is not None else None


def unmute(session: Session, *, user: User, channel: Channel) -> bool:
    """Let ``channel``'s mail reach ``user`` again: drop their mute, and tell whether there
    was one."""
    result = session.execute(
        delete(ChannelMute).where(
            ChannelMute.user_id == user.id, ChannelMute.channel_id == channel.id
        )
    )
    return bool(getattr(result, "rowcount", 0))


def muted_channels(session: Session, user: User) -> list[Channel]:
    """The channels ``user`` muted from outside, by name; only those they may read now (a row
    for a channel since made unreadable names nothing)."""
    stmt = (
        select(Channel)
        .join(ChannelMute, ChannelMute.channel_id == Channel.id)
        .where(ChannelMute.user_id == user.id)
        .order_by(Channel.name, Channel.id)
    )
    return [c for c in session.scalars(stmt) if permissions.can_read(session, user, c)]


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


def _others_remain(session: Session, channel: Channel, user: User) -> bool:
    stmt = (
        select(Membership.id)
        .join(User, Membership.user_id == User.id)
        .where(
            Membership.channel_id == channel.id,
            Membership.user_id != user.id,
            User.active.is_(True),
        )
        .limit(1)
    )
    return session.scalar(stmt) is not None


def active_owners(session: Session, channel: Channel) -> int:
    """How many active owners ``channel`` has. On PostgreSQL their rows are locked until the
    transaction ends, so two owners stepping down at once cannot both pass the "another owner
    remains" check (on SQLite the write lock already makes them take turns)."""
    stmt = (
        select(Membership.id)
        .join(User, Membership.user_id == User.id)
        .where(
            Membership.channel_id == channel.id,
            Membership.role == "owner",
            User.active.is_(True),
        )
    )
    if is_postgres(session):
        stmt = stmt.with_for_update(of=Membership)
    return len(session.scalars(stmt).all())
