"""Changing a channel after it was made: its name, purpose and kind, opening a private channel
to everyone, archiving and unarchiving. Its owners and the admins do it (the rule that lets
them share the owner role: ``channels.can_set_roles``); each change leaves an event row."""

from __future__ import annotations

from sqlalchemy.orm import Session

from hub.errors import Forbidden, Invalid, Reason
from hub.models import Channel, ChannelKind, ChannelStatus, User, Via
from hub.services import announcements, channel_creation, channels, events, members

MAX_NAME = 200  # Channel.name is a String(200)
# A channel waiting for approval (or declined) is neither opened nor archived: it is not live.
LIVE = (ChannelStatus.ACTIVE, ChannelStatus.ARCHIVED)


def can_change(session: Session, actor: User | None, channel: Channel) -> bool:
    """Tell whether ``actor`` may change ``channel``: the admin CLI (``None``), an active
    admin, or an active owner of the channel, as for giving out its owner role."""
    return channels.can_set_roles(session, actor, channel)


def get_channel_to_change(session: Session, slug: str, *, actor: User) -> Channel:
    """Return the channel ``slug`` for its settings page.

    :raises NotFound: ``actor`` may not see it (as on its members page).
    :raises Forbidden: ``actor`` sees it but is neither one of its owners nor an admin.
    """
    channel = members.get_member_list_channel(session, slug, viewer=actor)
    _check(session, actor, channel)
    return channel


def archivable(channel: Channel) -> bool:
    """Tell whether ``channel`` may be archived at all: not the announcement channel, where
    every announcement is published."""
    return channel.slug != announcements.ANNOUNCE_SLUG


def _check(session: Session, actor: User | None, channel: Channel) -> None:
    if not can_change(session, actor, channel):
        raise Forbidden(Reason.FORBIDDEN, "only the channel's owners and admins change it")


def _actor_id(actor: User | None) -> int | None:
    return actor.id if actor is not None else None


def update_channel(
    session: Session,
    *,
    channel: Channel,
    actor: User | None,
    via: Via,
    name: str | None = None,
    purpose: str | None = None,
    kind: str | None = None,
) -> list[str]:
    """Change the name, purpose or kind of ``channel`` (``None`` leaves a field as it is) and
    return the fields that changed. The slug never changes: it is the channel's mail address.

    :raises Forbidden: ``actor`` may not change the channel (``can_change``).
    :raises Invalid: an empty or too long name, an empty purpose, an unknown kind.
    """
    _check(session, actor, channel)
    wanted: dict[str, str] = {}
    if name is not None:
        wanted["name"] = name.strip()
        if not wanted["name"] or len(wanted["name"]) > MAX_NAME:
            raise Invalid(Reason.INVALID_VALUE, "name")
        channel_creation.check_name_free(session, wanted["name"], viewer=actor, channel=channel)
    if purpose is not None:
        wanted["purpose"] = purpose.strip()
        if not wanted["purpose"]:
            raise Invalid(Reason.PURPOSE_REQUIRED)
    if kind is not None:
        if kind not in (ChannelKind.WORK, ChannelKind.SOCIAL):
            raise Invalid(Reason.INVALID_VALUE, f"kind: {kind}")
        wanted["kind"] = ChannelKind(kind)
    changed = {f: v for f, v in wanted.items() if getattr(channel, f) != v}
    if not changed:
        return []
    # The old and new values, so the audit trail shows what the purpose said before.
    audit = {f: [str(getattr(channel, f)), str(v)] for f, v in changed.items()}
    for field, value in changed.items():
        setattr(channel, field, value)
    events.emit(
        session,
        "channel_updated",
        actor_id=_actor_id(actor),
        channel_id=channel.id,
        changed=audit,
        via=str(via),
    )
    return list(changed)


def open_channel(session: Session, *, channel: Channel, actor: User | None, via: Via) -> None:
    """Make the private ``channel`` open: everyone may read all of it, from its first post, and
    join it; its members stay. Making a channel private again is not offered here (a private
    channel is requested, by policy, with a reason: hub.services.governance).

    :raises Forbidden: ``actor`` may not change the channel.
    :raises Invalid: it is open already (``ALREADY_DONE``), or waiting for approval or declined.
    """
    _check(session, actor, channel)
    _live(channel)
    if not channel.private:
        raise Invalid(Reason.ALREADY_DONE, f"{channel.slug} is open")
    reason = channel.private_reason
    channel.private = False
    # No longer true of an open channel; the event keeps it.
    channel.private_reason = None
    channel.review_date = None
    events.emit(
        session,
        "channel_opened",
        actor_id=_actor_id(actor),
        channel_id=channel.id,
        private_reason=reason,
        via=str(via),
    )


def archive_channel(session: Session, *, channel: Channel, actor: User | None, via: Via) -> None:
    """Archive ``channel``: whoever could read it still can (pages, search), but nobody posts
    in it any more, on the web or by mail (``Reason.CHANNEL_ARCHIVED``).

    :raises Forbidden: ``actor`` may not change the channel, or it is the announcement channel
        (every announcement is published there).
    :raises Invalid: it is archived already, or waiting for approval or declined.
    """
    _check(session, actor, channel)
    _live(channel)
    if not archivable(channel):
        raise Forbidden(Reason.FORBIDDEN, "the announcement channel stays active")
    if channel.status == ChannelStatus.ARCHIVED:
        raise Invalid(Reason.ALREADY_DONE, f"{channel.slug} is archived")
    _set_status(session, channel, actor, via, ChannelStatus.ARCHIVED)


def unarchive_channel(session: Session, *, channel: Channel, actor: User | None, via: Via) -> None:
    """Let ``channel`` take posts again.

    :raises Forbidden: ``actor`` may not change the channel.
    :raises Invalid: it is not archived.
    """
    _check(session, actor, channel)
    _live(channel)
    if channel.status == ChannelStatus.ACTIVE:
        raise Invalid(Reason.ALREADY_DONE, f"{channel.slug} is not archived")
    _set_status(session, channel, actor, via, ChannelStatus.ACTIVE)


def set_new_members_join(
    session: Session, *, channel: Channel, actor: User | None, via: Via, join: bool
) -> None:
    """Make every new member join ``channel`` from now on, or no longer (members it has stay).

    :raises Forbidden: ``actor`` is not an admin, or it is the announcement channel, which every
        new member joins whatever this says.
    :raises Invalid: it is private (``PRIVATE_CHANNEL``), not active (archived, waiting for
        approval or declined: ``INVALID_VALUE``), or already so (``ALREADY_DONE``).
    """
    if join:
        channel_creation.check_new_members_join(actor, private=channel.private)
        if channel.status != ChannelStatus.ACTIVE:
            raise Invalid(Reason.INVALID_VALUE, f"{channel.slug} is {channel.status}")
    else:
        channel_creation.check_new_members_join(actor, private=False)
    if channel.slug == announcements.ANNOUNCE_SLUG:
        raise Forbidden(Reason.FORBIDDEN, "every new member joins the announcement channel")
    if channel.new_members_join == join:
        raise Invalid(Reason.ALREADY_DONE, f"{channel.slug}: new members join = {join}")
    channel.new_members_join = join
    events.emit(
        session,
        "channel_updated",
        actor_id=_actor_id(actor),
        channel_id=channel.id,
        changed={"new_members_join": [str(not join), str(join)]},
        via=str(via),
    )


def _live(channel: Channel) -> None:
    if channel.status not in LIVE:
        raise Invalid(Reason.INVALID_VALUE, f"{channel.slug} is {channel.status}")


def _set_status(
    session: Session, channel: Channel, actor: User | None, via: Via, status: ChannelStatus
) -> None:
    channel.status = status
    kind = "channel_archived" if status == ChannelStatus.ARCHIVED else "channel_unarchived"
    events.emit(session, kind, actor_id=_actor_id(actor), channel_id=channel.id, via=str(via))
