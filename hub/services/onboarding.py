"""A new member's start, by any door (admin page, CSV import, `hiroba user add`): the channels
every new member joins, and the invitation.

Every new member joins the announcement channel (made with the first member, named in the hub's
language) and the open channels an admin marked "new members join" (``Channel.new_members_join``),
as a workspace's default channels. A web member's invitation carries a single-use sign-in link
that works for days, not minutes (the member may open it a day later), so they get in without a
password; an email-only member's invitation is the welcome mail (how to take part by mail, the
rules to accept by reply), with no link that sends them to the web.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from hub.models import Channel, ChannelStatus, User
from hub.services import accounts, announcements, channels, events, login_links

INVITE_LINK_DAYS = 7


@dataclass(frozen=True, slots=True)
class Start:
    """How new members are started: invited now or not, how long an invitation's sign-in link
    works, and the hub's language (which names the announcement channel when it is made)."""

    invite: bool = True
    link_days: int = INVITE_LINK_DAYS
    locale: str = "ja"


def start_from_config(config: Mapping[str, Any], *, invite: bool = True) -> Start:
    """The Start the app's settings say (INVITE_LINK_DAYS, BABEL_DEFAULT_LOCALE)."""
    return Start(
        invite=invite,
        link_days=int(config.get("INVITE_LINK_DAYS") or INVITE_LINK_DAYS),
        locale=str(config.get("BABEL_DEFAULT_LOCALE") or "ja"),
    )


def add_member(session: Session, *, actor: User | None, start: Start, **fields: Any) -> User:
    """Add a member (``accounts.create_user`` fields), put them in the channels every new
    member joins, and invite them unless ``start.invite`` is off."""
    user = accounts.create_user(session, actor=actor, invite=start.invite, **fields)
    welcome(session, user, actor=actor, start=start)
    return user


def welcome(session: Session, user: User, *, actor: User | None, start: Start) -> None:
    """Start the new member ``user``: the default channels, then the invitation (an email-only
    member's welcome mail comes with their member_added event, unless ``start.invite`` is off)."""
    join_default_channels(session, user, locale=start.locale)
    if start.invite and not user.email_only:
        invite(session, user, actor=actor, days=start.link_days)


def default_channels(session: Session) -> list[Channel]:
    """The channels every new member joins: the announcement channel and the open, active
    channels marked "new members join", by name."""
    stmt = select(Channel).where(
        or_(Channel.slug == announcements.ANNOUNCE_SLUG, Channel.new_members_join.is_(True)),
        Channel.private.is_(False),
        Channel.status == ChannelStatus.ACTIVE,
    )
    return list(session.scalars(stmt.order_by(Channel.name, Channel.id)))


def join_default_channels(session: Session, user: User, *, locale: str = "ja") -> list[Channel]:
    """Make ``user`` a member of every default channel (quietly: no "X added you" mail), the
    announcement channel made first if the hub has none yet; return them."""
    announcements.announcement_channel(session, locale)
    joined = default_channels(session)
    for channel in joined:
        channels.add_membership(session, user=user, channel=channel, actor=None, new_member=True)
    return joined


def invite(session: Session, user: User, *, actor: User | None, days: int) -> None:
    """Invite ``user``: a web member gets the invitation with a sign-in link that works once,
    for ``days`` days (event member_invited with the token); an email-only member gets the
    welcome mail (event member_welcome), which the mail bridge sends a member only once."""
    if user.email_only:
        events.emit(session, "member_welcome", actor_id=actor.id if actor else None,
                    subject_id=user.id)  # fmt: skip
        return
    token = login_links.create_login_link(session, user, minutes=days * 24 * 60)
    events.emit(session, "member_invited", actor_id=actor.id if actor else None,
                subject_id=user.id, token=token, days=days)  # fmt: skip
