"""Who gets mail about a post, under which rules, and its outbox key.

Delivery mode: the member's own (``User.delivery``, default ``accounts.effective_delivery``),
overridden per channel (``Membership.delivery``); a muted thread sends nothing but mentions.
Someone outside a channel who muted it (``ChannelMute``) is treated as ``off`` there.

- every_post: every new thread and reply;
- daily / weekly (email-only default) and mentions: mentions, and replies in threads the member
  took part in; everything else waits for the digest;
- a web member left at the default: mentions only (announcements come from their own handler);
- off: nothing.

Nobody gets their own post back unless ``echo_own_posts``; private channel content goes to members
only. Mail outside a member's working time waits for their next working period; for members who
take digests it is left to the digest instead. These rules are applied again when a mail leaves
the outbox (``mailbridge.still_wanted``).

The mail itself is ``post_mail``'s; sign-in links and invitations are ``signin_mail``'s.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub import permissions
from hub.models import (
    Channel,
    ChannelStatus,
    Delivery,
    Membership,
    Mention,
    Post,
    ThreadMute,
    User,
)
from hub.services import channels
from hub.services.accounts import effective_delivery

DIGEST_MODES = (Delivery.DAILY, Delivery.WEEKLY)


@dataclass(frozen=True, slots=True)
class Recipient:
    user: User
    reason: str  # new_thread, post, reply, mention, own
    # The channel-level override, if any (decides whether the digest covers this member).
    channel_delivery: Delivery | None = None


def mode_for(user: User, channel_delivery: str | None) -> Delivery:
    """The member's delivery mode for a channel."""
    if channel_delivery:
        return Delivery(channel_delivery)
    return effective_delivery(user)


def takes_digest(user: User, channel_delivery: str | None) -> bool:
    return mode_for(user, channel_delivery) in DIGEST_MODES


READABLE = (ChannelStatus.ACTIVE, ChannelStatus.ARCHIVED)


def _readable_status(channel: Channel) -> bool:
    return channel.status in READABLE


def post_recipients(session: Session, post: Post, *, new_thread: bool) -> list[Recipient]:
    """Everyone who should get mail now about ``post`` (mentioned members excluded: see
    ``on_mention``)."""
    thread, channel = post.thread, post.thread.channel
    # A hidden post's mail is written all the same: it leaves only if an admin shows the post
    # again before it is due, and is written anew when they do (``still_wanted``, ``restored``).
    if not _readable_status(channel) or post.deleted_at is not None:
        return []
    took_part = set(
        session.scalars(
            select(Post.author_id).where(Post.thread_id == thread.id, Post.id < post.id)
        )
    )
    if thread.author_id is not None:
        took_part.add(thread.author_id)
    mentioned = set(session.scalars(select(Mention.user_id).where(Mention.post_id == post.id)))
    muted = set(
        session.scalars(select(ThreadMute.user_id).where(ThreadMute.thread_id == thread.id))
    )
    rows = session.execute(
        select(User, Membership.delivery)
        .join(Membership, Membership.user_id == User.id)
        .where(
            Membership.channel_id == channel.id,
            User.active.is_(True),
            User.bouncing.is_(False),
        )
        .order_by(User.id)
    ).all()
    out: list[Recipient] = []
    for user, ch_delivery in rows:
        if user.id in mentioned or user.id in muted:
            continue
        if user.id == post.author_id:
            if user.echo_own_posts and mode_for(user, ch_delivery) != Delivery.OFF:
                out.append(Recipient(user, "own", ch_delivery))
            continue
        mode = mode_for(user, ch_delivery)
        if mode == Delivery.EVERY_POST:
            out.append(Recipient(user, "new_thread" if new_thread else "post", ch_delivery))
        elif mode == Delivery.OFF:
            continue
        elif user.id in took_part and not _web_default(user, ch_delivery):
            out.append(Recipient(user, "reply", ch_delivery))
    return out


def _web_default(user: User, channel_delivery: str | None) -> bool:
    """A web member who kept the defaults hears of mentions and announcements only."""
    return not channel_delivery and not user.delivery and not user.email_only


def mention_recipient(session: Session, post: Post, user: User) -> Recipient | None:
    """The member ``post`` mentions, as one who hears of it; None if they take no mail of it
    (deactivated, bouncing, their own post, the channel unreadable to them now, or off)."""
    if not user.active or user.bouncing or post.deleted_at is not None:
        return None
    channel = post.thread.channel
    if user.id == post.author_id and not user.echo_own_posts:
        return None
    # Checked against the member's access now, not when the post was written.
    if not permissions.can_read(session, user, channel):
        return None
    found = channels.channel_delivery(session, user=user, channel=channel)
    if mode_for(user, found) == Delivery.OFF:
        return None
    return Recipient(user, "mention", Delivery(found) if found else None)


def post_key(post_id: int, *, edit: bool = False) -> str:
    """The outbox key of mail about a post; a mention added by an edit has its own."""
    return f"post:{post_id}:mention" if edit else f"post:{post_id}"
