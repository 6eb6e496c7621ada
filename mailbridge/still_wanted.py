"""The fan-out's rules again when a mail leaves the outbox.

A mail about a post may wait in the outbox (quiet hours, retries). When it leaves, the rules of
``mailbridge.notifications`` are applied again to what changed meanwhile: the post hidden by
moderation or deleted (if an admin shows it again, ``mailbridge.restored`` writes the mail
anew), the member gone, their mail from the channel turned off, the thread muted (mentions
still go), a private channel left. A drain run reads each post's audience once
(``audience_now``) and the members who take no mail at all once (``quiet_members``), then asks
``why_not_now`` of every mail: a change made while a run is under way counts from the next run
(about a second).

"The rules were updated, please accept" waiting for the member's working hours is checked too:
it does not leave once they accepted (``rules_why_not``); so is an announcement or its reminder
that asks for acknowledgement: it does not leave once they acknowledged that version, nor once
the admins asked again (``announcement_why_not``), nor with its old text once an admin edited
it (``mailbridge.announcement_edits`` writes it anew).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Select, bindparam, select
from sqlalchemy.orm import Session

from hub.models import (
    Acknowledgement,
    Announcement,
    Channel,
    ChannelMute,
    Delivery,
    Event,
    Membership,
    Mention,
    Post,
    Thread,
    ThreadMute,
    User,
)
from hub.services import rules
from mailbridge.culture_out import RULES_KEY, announcement_of
from mailbridge.notifications import READABLE
from mailbridge.outbound import ANSWERS


@dataclass(frozen=True, slots=True)
class Audience:
    """What the queued mails about one post must respect when they leave."""

    # Why no mail about the post may leave at all (hidden, deleted, channel closed), or None.
    gone: str | None
    private: bool = False
    # The channel's members, each with their delivery override for it (None: their own mode).
    members: dict[int, str | None] = field(default_factory=dict)
    # Members of the hub outside the channel who muted it.
    channel_muted: frozenset[int] = frozenset()
    thread_muted: frozenset[int] = frozenset()
    mentioned: frozenset[int] = frozenset()


# Why no mail about a hidden or deleted post leaves (``restored`` writes it anew when an admin
# shows the post again).
GONE = "the post was deleted or hidden"

_POST_NOW = (
    select(Post.deleted_at, Post.hidden, Thread.id, Channel.id, Channel.private, Channel.status)
    .join(Thread, Thread.id == Post.thread_id)
    .join(Channel, Channel.id == Thread.channel_id)
    .where(Post.id == bindparam("post_id"))
)


def audience_now(conn: Connection, post_id: int) -> Audience:
    """The post's audience as it is now, for all its queued mails at once."""
    found = conn.execute(_POST_NOW, {"post_id": post_id}).first()
    if found is None or found[0] is not None or found[1]:
        return Audience(GONE)
    _deleted, _hidden, thread_id, channel_id, private, status = found
    if status not in READABLE:
        return Audience("the channel is closed")
    members = conn.execute(
        select(Membership.user_id, Membership.delivery).where(Membership.channel_id == channel_id)
    )
    return Audience(
        None,
        bool(private),
        {user_id: delivery for user_id, delivery in members},
        _ids(conn, select(ChannelMute.user_id).where(ChannelMute.channel_id == channel_id)),
        _ids(conn, select(ThreadMute.user_id).where(ThreadMute.thread_id == thread_id)),
        _ids(conn, select(Mention.user_id).where(Mention.post_id == post_id)),
    )


def _ids(conn: Connection, stmt: Select[int]) -> frozenset[int]:
    return frozenset(conn.execute(stmt).scalars())


def quiet_members(conn: Connection) -> dict[int, bool]:
    """The members who may take no mail now: True for those who take none at all (deactivated,
    bouncing), False for those whose own mode is off (a channel's override may still send)."""
    rows = conn.execute(
        select(User.id, User.active, User.bouncing).where(
            User.active.is_(False) | User.bouncing.is_(True) | (User.delivery == Delivery.OFF)
        )
    )
    return {user_id: not active or bool(bouncing) for user_id, active, bouncing in rows}


def why_not_now(aud: Audience, user_id: int, quiet: dict[int, bool]) -> str | None:
    """Why a queued mail about a post to ``user_id`` must not leave now (None: it may go)."""
    if aud.gone is not None:
        return aud.gone
    if quiet.get(user_id):
        return "the member no longer takes mail"
    member = user_id in aud.members
    if aud.private and not member:
        return "no longer a member of the private channel"
    # A member's own override; someone outside who muted the channel has it off. Without an
    # override the member's own mode counts (``mode_for``): off only if they turned it off.
    override = aud.members[user_id] if member else None
    if not member and user_id in aud.channel_muted:
        override = Delivery.OFF
    if override == Delivery.OFF or (not override and user_id in quiet):
        return "mail from this channel was turned off"
    if user_id in aud.thread_muted and user_id not in aud.mentioned:
        return "the thread was muted"
    return None


def rules_why_not(conn: Connection, user_id: int, version: int) -> str | None:
    """Why a mail asking ``user_id`` to accept ``version`` of the rules must not leave now: they
    accepted it meanwhile (on the web, say), or were asked again since (the newer mail asks)."""
    with Session(bind=conn) as session:
        user = session.get(User, user_id)
        if user is not None and rules.has_accepted(user, version):
            return "the member accepted the rules meanwhile"
        if version < rules.current_version(session):
            return "the rules were asked again since"
    return None


@dataclass(frozen=True, slots=True)
class Announced:
    """What the waiting mails about one announcement must respect when they leave."""

    version: int
    ack_required: bool
    author_id: int | None


_ANNOUNCED = select(Announcement.version, Announcement.ack_required, Announcement.author_id).where(
    Announcement.id == bindparam("announcement_id")
)
_ACKED = select(Acknowledgement.id).where(
    Acknowledgement.announcement_id == bindparam("announcement_id"),
    Acknowledgement.user_id == bindparam("user_id"),
    Acknowledgement.version == bindparam("version"),
)


# An edit of the announcement whose new text is not yet written into its waiting mail (the
# fan-out has not run ``announcement_edits`` yet); pending events are few (ix_event_pending).
_EDIT_WAITING = (
    select(Event.id)
    .where(
        Event.processed_at.is_(None),
        Event.kind == "announcement_edited",
        Event.subject_id == bindparam("announcement_id"),
    )
    .limit(1)
)
# Why a waiting announcement mail with the old text did not leave: the fan-out writes it anew.
EDITED = "the announcement was edited: its mail is written anew"


def announced_now(conn: Connection, announcement_id: int) -> Announced | None:
    """The announcement as it is now (None if it is gone), for all its waiting mails at once."""
    found = conn.execute(_ANNOUNCED, {"announcement_id": announcement_id}).first()
    return Announced(found[0], bool(found[1]), found[2]) if found is not None else None


def announcement_why_not(
    conn: Connection, item: Announced | None, user_id: int, announcement_id: int, version: int
) -> str | None:
    """Why a mail about ``version`` of an announcement (itself, or a reminder) must not leave
    now: the admins asked again since (the newer version's mail asks), it asks ``user_id`` to
    acknowledge and they did meanwhile (by mail, a link, on the web), or an admin edited the
    text and the fan-out has yet to write it anew (``EDITED``). Both are read now, for each
    mail: a run-long answer could stop the mail the fan-out wrote anew meanwhile. A mail that
    asks nothing (no acknowledgement wanted, or the publishing admin's copy) goes unless
    edited."""
    if item is None:
        return None
    if version < item.version:
        return "the announcement was asked again since"
    params = {"announcement_id": announcement_id, "user_id": user_id, "version": version}
    # The admin who published it is not asked (hub.services.announcements.asks).
    asks = item.ack_required and user_id != item.author_id
    if asks and conn.execute(_ACKED, params).first() is not None:
        return "the member acknowledged the announcement meanwhile"
    if conn.execute(_EDIT_WAITING, {"announcement_id": announcement_id}).first() is not None:
        return EDITED
    return None


class StillWanted:
    """The fan-out's rules again when a mail about a post leaves (``why_not_now``):
    each post's audience and the members who take no mail read once per run, then checked per
    mail without a query."""

    def __init__(self) -> None:
        self.posts: dict[int, Audience] = {}
        self.announcements: dict[int, Announced | None] = {}
        self.quiet: dict[int, bool] | None = None

    def why_not(self, conn: Connection, row: Any) -> str | None:
        """Why ``row`` must not leave now; None when it may (or is about nothing that can
        change: only mail about a post, "please accept the new rules" and announcements are
        checked)."""
        if row.user_id is None:
            return None
        if self.quiet is None:
            self.quiet = quiet_members(conn)
        if self.quiet.get(row.user_id) and row.kind not in ANSWERS:
            # Deactivated, or their mail bounced since it was queued (a digest or an
            # announcement waiting for their working hours): only the answers they wait for go.
            return "the member no longer takes mail"
        if row.dedupe_key.startswith(RULES_KEY):
            return rules_why_not(conn, row.user_id, int(row.dedupe_key[len(RULES_KEY) :]))
        announced = announcement_of(row.dedupe_key)
        if announced is not None:
            announcement_id, version = announced
            if announcement_id not in self.announcements:
                self.announcements[announcement_id] = announced_now(conn, announcement_id)
            item = self.announcements[announcement_id]
            return announcement_why_not(conn, item, row.user_id, announcement_id, version)
        if not row.dedupe_key.startswith("post:"):
            return None
        post_id = int(row.dedupe_key.split(":")[1])
        if post_id not in self.posts:
            self.posts[post_id] = audience_now(conn, post_id)
        return why_not_now(self.posts[post_id], row.user_id, self.quiet)
