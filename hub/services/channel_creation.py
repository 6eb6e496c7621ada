"""Making a channel: its address (the slug, which is also its mail local part, and the names no
channel may take), its name (unique as people read it, a rule renaming keeps too:
hub.services.channel_settings), who may make a private one (the policy), and create_channel."""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub import permissions
from hub.errors import Forbidden, Invalid, Reason
from hub.models import Channel, ChannelKind, ChannelStatus, Membership, Setting, User
from hub.services import events
from hub.services.channels import find_channel

# The slug is also the mail local part, so it must not clash with our own addresses, and it is
# a dot-string (RFC 5321): a dot only between two other characters, never at the end or twice
# in a row. Up to 63 characters, starting with a letter or digit. templates/channels/new.html
# carries the same rule as the field's pattern. Channels made under the older, looser rule keep
# their addresses (mailbridge.addresses still routes them).
SLUG = re.compile(r"^(?=[a-z0-9._-]{1,63}\Z)[a-z0-9][a-z0-9_-]*(?:\.[a-z0-9_-]+)*\Z")
RESERVED = {
    "reply", "digest", "ack", "help", "thanks", "bounce", "postmaster", "abuse",
    "mailer-daemon", "noreply", "no-reply", "admin", "hiroba", "www", "root",
}  # fmt: skip

POLICIES = ("anyone", "approval", "admins")


def private_policy(session: Session, default: str = "approval") -> str:
    """Who may create private channels: anyone, on admin approval, or admins only."""
    row = session.get(Setting, "private_channel_policy")
    return row.value if row is not None and row.value in POLICIES else default


def check_name_free(
    session: Session, name: str, *, viewer: User | None, channel: Channel | None = None
) -> None:
    """Refuse a name another channel ``viewer`` can see already has (two "営業" in the list, or
    "Sales" and "sales", leave people guessing where to post). Names compare as people read
    them: width and case aside (ＡＢＣ is ABC). A private channel the viewer cannot see does
    not count: saying its name is taken would tell them it exists. ``viewer`` None is the
    admin CLI, which sees every channel; ``channel`` is the one being renamed.

    :raises Invalid: ``Reason.DUPLICATE_NAME``, naming the channel's address.
    """
    wanted = _name_key(name)
    stmt = select(Channel.id, Channel.name, Channel.slug).where(
        Channel.status != ChannelStatus.DECLINED
    )
    if viewer is not None:
        visible = permissions.readable_channel_ids(session, viewer)
        stmt = stmt.where(Channel.private.is_(False) | Channel.id.in_(visible))
    for found_id, found_name, slug in session.execute(stmt):
        if _name_key(found_name) == wanted and (channel is None or found_id != channel.id):
            raise Invalid(Reason.DUPLICATE_NAME, slug)


def _name_key(name: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


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
    new_members_join: bool = False,
) -> Channel:
    """Create a channel. Open by default; a private one needs a stated reason and, by policy,
    an admin's approval (then it starts as ``pending``). ``creator=None`` is the admin CLI.
    ``new_members_join`` (admins only, open channels only) makes every new member join it."""
    slug = slug.strip().lower()
    if not SLUG.match(slug) or slug in RESERVED:
        raise Invalid(Reason.INVALID_SLUG, slug)
    if find_channel(session, slug) is not None:
        raise Invalid(Reason.DUPLICATE_SLUG, slug)
    if not name.strip():
        raise Invalid(Reason.INVALID_VALUE, "name")
    check_name_free(session, name, viewer=creator)
    if not purpose.strip():
        raise Invalid(Reason.PURPOSE_REQUIRED)
    if kind not in (ChannelKind.WORK, ChannelKind.SOCIAL):
        raise Invalid(Reason.INVALID_VALUE, f"kind: {kind}")
    if new_members_join:
        check_new_members_join(creator, private=private)
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
        new_members_join=new_members_join,
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


def check_new_members_join(actor: User | None, *, private: bool) -> None:
    """Only the admins (and the admin CLI, ``None``) make every new member join a channel, and
    only an open one (a private channel's members are chosen).

    :raises Forbidden: ``actor`` is not an active admin (``Reason.ADMIN_ONLY``).
    :raises Invalid: the channel is private (``Reason.PRIVATE_CHANNEL``).
    """
    if actor is not None and not (actor.active and permissions.is_admin(actor)):
        raise Forbidden(Reason.ADMIN_ONLY, "new members join")
    if private:
        raise Invalid(Reason.PRIVATE_CHANNEL, "new members join")
