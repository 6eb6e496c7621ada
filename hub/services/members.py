"""Who belongs to a channel: the members page and `hiroba channel member` (list, add by
address, remove, owner roles; the last owner stays)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub import permissions
from hub.errors import Forbidden, Invalid, NotFound, Reason
from hub.models import Channel, Membership, User, Via
from hub.services import accounts, events
from hub.services.channels import (
    ROLES,
    active_owners,
    add_membership,
    can_manage_members,
    can_set_roles,
    find_channel,
    membership,
)


def can_see_members(session: Session, viewer: User, channel: Channel) -> bool:
    """Tell whether ``viewer`` may see who belongs: the channel's readers, and the admins (who
    manage a private channel's members without being in it, and still cannot read it)."""
    return permissions.can_read(session, viewer, channel) or permissions.is_admin(viewer)


def get_member_list_channel(session: Session, slug: str, *, viewer: User) -> Channel:
    """Return the channel if ``viewer`` may see its members; 'not found' to anyone else."""
    channel = find_channel(session, slug)
    if channel is None or not can_see_members(session, viewer, channel):
        raise NotFound(Reason.NOT_FOUND, f"channel {slug}")
    return channel


def list_members(session: Session, channel: Channel) -> list[Membership]:
    """The active members of ``channel`` with their role: owners first, then by name."""
    stmt = (
        select(Membership)
        .join(User, Membership.user_id == User.id)
        .where(Membership.channel_id == channel.id, User.active.is_(True))
        .order_by((Membership.role == "owner").desc(), User.name, User.id)
    )
    return list(session.scalars(stmt))


def member_as_dict(m: Membership) -> dict[str, Any]:
    """A membership as `hiroba channel member list --json` shows it."""
    return {
        "email": m.user.email,
        "name": m.user.name,
        "role": m.role,
        "email_only": m.user.email_only,
        "joined_at": m.joined_at.isoformat(),
    }


def add_member_by_email(
    session: Session, *, channel: Channel, email: str, actor: User | None, via: Via
) -> Membership:
    """Add the member with the address ``email`` on ``actor``'s behalf (``None``: the admin
    CLI); they hear of it by mail (event ``member_joined`` marked ``added``).

    :raises Forbidden: the actor may not manage this channel's members.
    :raises Invalid: no such address, a deactivated member, or already a member.
    """
    if not can_manage_members(session, actor, channel):
        raise Forbidden(Reason.FORBIDDEN, "only the channel's owners and admins add members")
    if not email.strip():
        raise Invalid(Reason.INVALID_EMAIL, email)
    user = accounts.find_user_by_email(session, email)
    if user is None:
        raise Invalid(Reason.UNKNOWN_ADDRESS, email.strip())
    if not user.active:
        raise Invalid(Reason.INACTIVE_MEMBER, user.email)
    if membership(session, user, channel) is not None:
        raise Invalid(Reason.ALREADY_DONE, user.email)
    return add_membership(
        session, user=user, channel=channel, actor=actor, added=True, via=str(via)
    )


def remove_member(
    session: Session, *, user: User, channel: Channel, actor: User | None, via: Via
) -> None:
    """Take ``user`` out of ``channel``; a private channel is then gone for them everywhere
    (pages, search, digests, mail all ask ``permissions.can_read``). A channel keeps an owner.

    :raises Forbidden: the actor may not manage this channel's members.
    :raises Invalid: ``user`` is not a member, or is its last active owner.
    """
    if not can_manage_members(session, actor, channel):
        raise Forbidden(Reason.FORBIDDEN, "only the channel's owners and admins remove members")
    found = membership(session, user, channel)
    if found is None:
        raise Invalid(Reason.NOT_A_MEMBER, user.email)
    if found.role == "owner" and user.active and active_owners(session, channel) <= 1:
        raise Invalid(Reason.LAST_OWNER, user.email)
    session.delete(found)
    events.emit(
        session,
        "member_removed",
        actor_id=actor.id if actor else None,
        channel_id=channel.id,
        subject_id=user.id,
        via=str(via),
    )


def set_role(
    session: Session, *, user: User, channel: Channel, role: str, actor: User | None, via: Via
) -> bool:
    """Make the member ``user`` an owner of ``channel`` (``role="owner"``) or a plain member
    again (``"member"``); tell whether their role changed. A channel keeps an active owner.

    :raises Forbidden: the actor may not change roles here (``can_set_roles``).
    :raises Invalid: an unknown role, ``user`` is not a member, is deactivated (to become an
        owner), or is the channel's last active owner stepping down (``Reason.LAST_OWNER``).
    """
    if not can_set_roles(session, actor, channel):
        raise Forbidden(Reason.FORBIDDEN, "only the channel's owners and admins change roles")
    if role not in ROLES:
        raise Invalid(Reason.INVALID_VALUE, f"role: {role}")
    found = membership(session, user, channel)
    if found is None:
        raise Invalid(Reason.NOT_A_MEMBER, user.email)
    if found.role == role:
        return False
    if role == "owner" and not user.active:
        raise Invalid(Reason.INACTIVE_MEMBER, user.email)
    if found.role == "owner" and user.active and active_owners(session, channel) <= 1:
        raise Invalid(Reason.LAST_OWNER, user.email)
    found.role = role
    events.emit(
        session,
        "member_role_changed",
        actor_id=actor.id if actor else None,
        channel_id=channel.id,
        subject_id=user.id,
        role=role,
        via=str(via),
    )
    return True
