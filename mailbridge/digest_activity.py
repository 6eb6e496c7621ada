"""What happened in one window (posts, mentions, thanks, announcements), read once for every
member's digest; ``digests.collect_digest`` cuts it per member. A digest's shapes are
``digest_items``; each member's channels and acknowledgements, ``digest_access``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from hub.models import (
    Announcement,
    Attachment,
    Channel,
    ChannelKind,
    ChannelStatus,
    Mention,
    Post,
    Thanks,
    ThanksRecipient,
    Thread,
    User,
)
from hub.plaintext import excerpt
from hub.services import announcements
from hub.text import show_names
from mailbridge.digest_items import ChannelSection, NeedItem, ThanksItem
from mailbridge.digest_restored import Restored, restored


@dataclass
class ThreadNews:
    """One thread's posts in the window (plain values: read once, shared by every member)."""

    thread_id: int
    title: str
    author_id: int | None
    is_new: bool
    channel_id: int = 0
    total: int = 0
    authors: dict[int | None, int] = field(default_factory=dict)
    # Every post of the window and its author; the first one when the thread is new.
    posts: dict[int, int | None] = field(default_factory=dict)
    first_post: int | None = None
    # The last posts, and the questions put to the thread's starter (those that name nobody
    # else: "@高橋 さん、この件は？" asks 高橋): (post, author, snippet of the body).
    last: list[tuple[int, int | None, str]] = field(default_factory=list)
    questions: list[tuple[int, int | None, str]] = field(default_factory=list)
    # Each author's latest post of the window and when it was written: a mention or question
    # put to a member before it is answered (``digest_needs``).
    latest: dict[int | None, tuple[int, datetime]] = field(default_factory=dict)

    def add_post(
        self, post_id: int, author_id: int | None, at: datetime, body: str, names: set[int] | None
    ) -> None:
        """Count one post of the window in the thread's news; ``names``: whom it mentions."""
        self.total += 1
        self.authors[author_id] = self.authors.get(author_id, 0) + 1
        self.posts[post_id] = author_id
        self.latest[author_id] = (post_id, at)
        # Kept as the digest shows them: cut once here, not once for every member.
        text = excerpt(body, 100)
        self.last = [*self.last[-4:], (post_id, author_id, text)]
        # A question that names others and not the starter is theirs to answer.
        if ("?" in body or "？" in body) and (not names or self.author_id in names):
            self.questions.append((post_id, author_id, text))


@dataclass
class Activity:
    """What happened in every channel in one window: shared by all members' digests."""

    threads: dict[int, ThreadNews] = field(default_factory=dict)
    # Per channel: its threads, newest first; and (slug, name, purpose line, social).
    by_channel: dict[int, list[ThreadNews]] = field(default_factory=dict)
    channels: dict[int, tuple[str, str, str, bool]] = field(default_factory=dict)
    names: dict[int, str] = field(default_factory=dict)
    announcements: list[Announcement] = field(default_factory=list)
    # Each announcement's excerpt, as the digest quotes it.
    announcement_text: dict[int, str] = field(default_factory=dict)
    # Readable channels: open ones (anyone) and private ones (members only).
    open_channels: set[int] = field(default_factory=set)
    private_channels: set[int] = field(default_factory=set)
    # Per member: mentions (channel id, item) and thanks received in the window.
    mentions: dict[int, list[tuple[int, NeedItem]]] = field(default_factory=dict)
    thanks: dict[int, list[ThanksItem]] = field(default_factory=dict)
    # Per channel: who wrote in it in the window. Anyone else sees the same section (for the
    # same number of threads it may list): built once in ``outsider_sections``.
    writers: dict[int, set[int | None]] = field(default_factory=dict)
    # Per member: the threads they started that hold questions (channel id, thread).
    asked_of: dict[int, list[tuple[int, ThreadNews]]] = field(default_factory=dict)
    # Sections by (channel, threads it may list, posts shown above it in the digest).
    outsider_sections: dict[tuple[int, int, frozenset[int]], tuple[ChannelSection | None, int]] = (
        field(default_factory=dict)
    )
    # Per post of the window: the (email, name) of the members it mentions.
    mentioned: dict[int, list[tuple[str, str]]] = field(default_factory=dict)
    # Posts an admin showed again in the window, hidden when it began: news in it as if
    # written in it, but not for a member who had them in an earlier digest (``digest_needs``).
    restored: dict[int, Restored] = field(default_factory=dict)
    # Channel sections rendered once per (locale, part, section) for every member who gets
    # the same section; their reply links are markers filled in per member.
    parts: dict[tuple[str, str, ChannelSection], str] = field(default_factory=dict)


def _file_names(session: Session, post_ids: list[int]) -> dict[int, str]:
    """What a digest shows for posts that are only files: "📎 見積.pdf, 図.png"."""
    names: dict[int, list[str]] = {}
    if post_ids:
        for post_id, filename in session.execute(
            select(Attachment.post_id, Attachment.filename)
            .where(Attachment.post_id.in_(post_ids))
            .order_by(Attachment.id)
        ):
            names.setdefault(post_id or 0, []).append(filename)
    return {post_id: "📎 " + ", ".join(found) for post_id, found in names.items()}


def _posts_in(act: Activity, since: datetime, until: datetime) -> ColumnElement[bool]:
    """The window's posts: written in it, or shown again in it (``digest_restored``)."""
    written = (Post.created_at > since) & (Post.created_at <= until)
    return or_(written, Post.id.in_(act.restored)) if act.restored else written


def load_activity(session: Session, since: datetime, until: datetime) -> Activity:
    """Read the window's posts once: per thread the count and last posts by author."""
    act = Activity(restored=restored(session, since, until))
    named = _load_mentioned(session, act, since, until)
    _load_threads(session, act, since, until, named)
    _index_channels(act)
    _load_names(session, act)
    _load_announcements(session, act)
    _load_readable(session, act)
    _load_personal(session, act, since, until)
    return act


def _load_mentioned(
    session: Session, act: Activity, since: datetime, until: datetime
) -> dict[int, set[int]]:
    """Who each post of the window mentions (``act.mentioned``, for the digest to show them by
    name, as mail does); returned: the ids of the members each post names."""
    mentioned: dict[int, list[tuple[str, str]]] = {}
    named: dict[int, set[int]] = {}
    for post_id, user_id, email, name in session.execute(
        select(Mention.post_id, Mention.user_id, User.email, User.name)
        .join(User, User.id == Mention.user_id)
        .join(Post, Post.id == Mention.post_id)
        .where(_posts_in(act, since, until))
    ):
        mentioned.setdefault(post_id, []).append((email, name))
        named.setdefault(post_id, set()).add(user_id)
    act.mentioned = mentioned
    return named


def _load_threads(
    session: Session, act: Activity, since: datetime, until: datetime, named: dict[int, set[int]]
) -> None:
    """Gather the window's shown posts by thread (``act.threads``, ``act.by_channel``)."""
    rows = session.execute(
        select(
            Post.id, Post.thread_id, Post.author_id, Post.body, Thread.channel_id, Thread.title,
            Thread.author_id, Thread.created_at, Post.created_at,
        )
        .join(Thread, Thread.id == Post.thread_id)
        .where(
            _posts_in(act, since, until),
            Post.deleted_at.is_(None),
            Post.hidden.is_(False),
        )
        .order_by(Post.id)
    ).all()  # fmt: skip
    files = _file_names(session, [r[0] for r in rows if not r[3]])
    for post_id, thread_id, author_id, body, channel_id, title, starter, created, at in rows:
        body = show_names(body, act.mentioned.get(post_id, ())) or files.get(post_id, "")
        t = act.threads.get(thread_id)
        if t is None:
            t = act.threads[thread_id] = ThreadNews(
                thread_id, title, starter, created > since, channel_id
            )
            t.first_post = post_id if t.is_new else None
            act.by_channel.setdefault(channel_id, []).append(t)
        t.add_post(post_id, author_id, at, body, named.get(post_id))


def _index_channels(act: Activity) -> None:
    """Sort each channel's threads newest first; note who wrote in it and whom it asks."""
    for cid, news in act.by_channel.items():
        news.sort(key=lambda n: -n.thread_id)
        act.writers[cid] = {a for n in news for a in n.authors}
        for n in news:
            if n.questions and n.author_id is not None:
                act.asked_of.setdefault(n.author_id, []).append((cid, n))


def _load_names(session: Session, act: Activity) -> None:
    """Read the channels with news (slug, name, purpose line, social) and the authors' names."""
    if act.by_channel:
        found = session.scalars(select(Channel).where(Channel.id.in_(act.by_channel)))
        act.channels = {
            c.id: (c.slug, c.name, " ".join(c.purpose.split()), c.kind == ChannelKind.SOCIAL)
            for c in found
        }
    authors = {a for t in act.threads.values() for a in t.authors if a is not None}
    if authors:
        act.names = dict(
            session.execute(select(User.id, User.name).where(User.id.in_(authors))).all()
        )


def _load_announcements(session: Session, act: Activity) -> None:
    """Read the announcements that ask for acknowledgement, and their excerpts."""
    act.announcements = list(
        session.scalars(select(Announcement).where(Announcement.ack_required.is_(True)))
    )
    # As the digest quotes them, @handles shown as names: once here, not once for every member.
    people = announcements.named(session, [a.body for a in act.announcements])
    act.announcement_text = {
        a.id: excerpt(show_names(a.body, people), 100) for a in act.announcements
    }


def _load_readable(session: Session, act: Activity) -> None:
    """Sort the channels a digest may show (active or archived) into open and private."""
    for cid, private in session.execute(
        select(Channel.id, Channel.private).where(
            Channel.status.in_([ChannelStatus.ACTIVE, ChannelStatus.ARCHIVED])
        )
    ):
        (act.private_channels if private else act.open_channels).add(cid)


def _load_personal(session: Session, act: Activity, since: datetime, until: datetime) -> None:
    """Mentions and thanks of the window, for every member at once.

    A mention is in the window when the member was named (``Mention.created_at``): with a new
    post, or by a later edit of an older one, which the window's posts do not include; or
    earlier, in a post shown again in the window, unless the member had it in a digest since.
    """
    named_in: ColumnElement[bool] = (Mention.created_at > since) & (Mention.created_at <= until)
    if act.restored:
        named_in = or_(named_in, Post.id.in_(act.restored) & (Mention.created_at <= until))
    rows = session.execute(
        select(Mention.user_id, Post.id, Post.body, Post.author_id, Thread.id, Thread.title,
               Thread.channel_id, Channel.name, Mention.created_at)
        .join(Post, Post.id == Mention.post_id)
        .join(Thread, Thread.id == Post.thread_id)
        .join(Channel, Channel.id == Thread.channel_id)
        .where(
            named_in,
            Post.deleted_at.is_(None),
            Post.hidden.is_(False),
        )
        .order_by(Post.id)
    ).all()  # fmt: skip
    _load_older_posts(session, act, {(r[1], r[3]) for r in rows})
    for user_id, post_id, body, author_id, thread_id, title, channel_id, channel_name, at in rows:
        if _had_mention(act, post_id, user_id, at):
            continue
        name = act.names.get(author_id, "") if author_id else ""
        text = excerpt(show_names(body, act.mentioned.get(post_id, ())), 100)
        item = NeedItem(
            thread_id, title, channel_name, "mention", name, text, post_id=post_id, at=at
        )
        act.mentions.setdefault(user_id, []).append((channel_id, item))
    cards = session.execute(
        select(ThanksRecipient.user_id, Thanks)
        .join(Thanks, Thanks.id == ThanksRecipient.thanks_id)
        .where(Thanks.created_at > since, Thanks.created_at <= until)
        .order_by(Thanks.id)
    ).all()
    for user_id, t in cards:
        card = ThanksItem(t.sender.name, t.message, t.value.name if t.value else None)
        act.thanks.setdefault(user_id, []).append(card)


def _had_mention(act: Activity, post_id: int, user_id: int, named_at: datetime) -> bool:
    """Tell whether a digest of the member's built after they were named in a post shown
    again listed the mention, while the post was still shown."""
    back = act.restored.get(post_id)
    last = back.had.get(user_id) if back is not None else None
    return last is not None and last >= named_at


def _load_older_posts(session: Session, act: Activity, posts: set[tuple[int, int | None]]) -> None:
    """Names for edited older posts (their authors and whom they mention), which the window's
    posts did not bring in."""
    older = {post_id for post_id, _ in posts if post_id not in act.mentioned}
    if older:
        named = session.execute(
            select(Mention.post_id, User.email, User.name)
            .join(User, User.id == Mention.user_id)
            .where(Mention.post_id.in_(older))
        )
        for post_id, email, name in named:
            act.mentioned.setdefault(post_id, []).append((email, name))
    authors = {a for _, a in posts if a is not None and a not in act.names}
    if authors:
        found = session.execute(select(User.id, User.name).where(User.id.in_(authors)))
        act.names.update(dict(found.all()))
