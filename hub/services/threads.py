"""Threads and posts: start, reply, edit, delete, react, read."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload

from hub import permissions
from hub.db import utcnow
from hub.errors import Forbidden, Invalid, NotFound, Reason
from hub.models import (
    Attachment,
    Channel,
    ChannelStatus,
    Mention,
    Post,
    PostRevision,
    Reaction,
    Thread,
    User,
    Via,
)
from hub.services import channels as channel_service
from hub.services import events
from hub.text import mention_handles

MAX_TITLE = 300
MAX_BODY = 100_000
PAGE_SIZE = 30


def get_visible_thread(session: Session, thread_id: int, *, viewer: User) -> Thread:
    """Return the thread if ``viewer`` may read it; otherwise NotFound (never reveal it exists)."""
    # The channel comes in the same query: every caller checks (and most then use) it.
    thread = session.get(Thread, thread_id, options=[joinedload(Thread.channel)])
    if thread is None or not permissions.can_read(session, viewer, thread.channel):
        raise NotFound(Reason.NOT_FOUND, f"thread {thread_id}")
    return thread


def get_visible_post(session: Session, post_id: int, *, viewer: User) -> Post:
    post = session.get(Post, post_id)
    if post is None or not permissions.can_read(session, viewer, post.thread.channel):
        raise NotFound(Reason.NOT_FOUND, f"post {post_id}")
    return post


def _check_body(body: str, *, files: bool = False) -> str:
    """The post's text, trimmed. It may be empty only when the post carries ``files``: a
    document sent with nothing to add (by mail, "添付の通りです" is often all a reply is, and
    often not even that)."""
    text = body.replace("\r\n", "\n").strip()
    if not text and not files:
        raise Invalid(Reason.EMPTY_BODY)
    if len(text) > MAX_BODY:
        raise Invalid(Reason.TOO_LARGE)
    return text


def _check_poster(session: Session, author: User, channel: Channel) -> None:
    if not author.active:
        raise Forbidden(Reason.INACTIVE_MEMBER)
    if not permissions.can_post(session, author, channel):
        if channel.private and permissions.can_read(session, author, channel) is False:
            raise Forbidden(Reason.NOT_A_MEMBER)
        if channel.status == ChannelStatus.ARCHIVED:
            # Readers are told why (and that it is not about them), by mail and on the web.
            raise Forbidden(Reason.CHANNEL_ARCHIVED)
        raise Forbidden(Reason.FORBIDDEN)


def start_thread(
    session: Session,
    *,
    author: User,
    channel: Channel,
    title: str,
    body: str,
    via: Via,
    message_id: str | None = None,
    trimmed: str | None = None,
    attachments: list[Attachment] | None = None,
) -> Post:
    """Open a thread in ``channel`` with its first post; returns that post."""
    _check_poster(session, author, channel)
    heading = " ".join(title.split())
    if not heading:
        raise Invalid(Reason.EMPTY_TITLE)
    text = _check_body(body, files=bool(attachments))
    now = utcnow()
    thread = Thread(
        channel=channel,
        title=heading[:MAX_TITLE],
        author=author,
        created_at=now,
        last_post_at=now,
        message_id=message_id,
    )
    session.add(thread)
    post = _add_post(session, thread, author, text, via, message_id, trimmed, attachments)
    events.emit(
        session,
        "thread_created",
        actor_id=author.id,
        channel_id=channel.id,
        thread_id=thread.id,
        post_id=post.id,
    )
    return post


def reply(
    session: Session,
    *,
    author: User,
    thread: Thread,
    body: str,
    via: Via,
    message_id: str | None = None,
    trimmed: str | None = None,
    attachments: list[Attachment] | None = None,
) -> Post:
    """Append a post to ``thread`` written by ``author``."""
    _check_poster(session, author, thread.channel)
    text = _check_body(body, files=bool(attachments))
    post = _add_post(session, thread, author, text, via, message_id, trimmed, attachments)
    thread.last_post_at = post.created_at
    events.emit(
        session,
        "post_created",
        actor_id=author.id,
        channel_id=thread.channel_id,
        thread_id=thread.id,
        post_id=post.id,
    )
    return post


def _add_post(
    session: Session,
    thread: Thread,
    author: User,
    text: str,
    via: Via,
    message_id: str | None,
    trimmed: str | None,
    attachments: list[Attachment] | None,
) -> Post:
    # Taking part in an open channel makes you a member of it (as posting in Slack does).
    if not thread.channel.private:
        channel_service.add_member(session, user=author, channel=thread.channel, actor=None)
    post = Post(
        thread=thread,
        author=author,
        body=text,
        via=via,
        message_id=message_id,
        trimmed=trimmed or None,
        created_at=utcnow(),
    )
    session.add(post)
    for a in attachments or []:
        a.post = post
    thread.channel.last_activity_at = post.created_at
    session.flush()
    _record_mentions(session, post, at=post.created_at)
    return post


def _record_mentions(
    session: Session, post: Post, *, at: datetime, edit: bool = False
) -> list[User]:
    """Resolve @handles (address local part or whole address) to readers of the channel.

    Only members the post does not already mention are recorded and told (an edit that adds
    a name tells that member alone, and never twice: a Mention row is kept when an edit takes
    the name out again, so putting it back tells nobody). ``at`` is when they were named (the
    digest's window); ``edit`` marks the event of a name an edit added (its own mail).
    """
    handles = mention_handles(post.body)
    if not handles:
        return []
    # A new post has no Mention rows yet: only an edit asks who its earlier body named.
    told = (
        set(session.scalars(select(Mention.user_id).where(Mention.post_id == post.id)))
        if edit
        else set()
    )
    found: list[User] = []
    for handle in handles:
        user = resolve_handle(session, handle)
        if user is None or user.id in told:
            continue
        if not permissions.can_read(session, user, post.thread.channel):
            continue
        session.add(Mention(post_id=post.id, user_id=user.id, created_at=at))
        told.add(user.id)
        found.append(user)
        events.emit(
            session,
            "member_mentioned",
            actor_id=post.author_id,
            channel_id=post.thread.channel_id,
            thread_id=post.thread_id,
            post_id=post.id,
            subject_id=user.id,
            **({"edit": True} if edit else {}),
        )
    return found


def resolve_handle(session: Session, handle: str) -> User | None:
    """Find the one active member an @handle names (None when unknown or ambiguous): a whole
    address, an address's local part, or else a name (see ``_by_name``)."""
    found = resolve_handle_span(session, handle)
    return found[0] if found is not None else None


def resolve_handle_span(session: Session, handle: str) -> tuple[User, int] | None:
    """As ``resolve_handle``, with how many characters of the handle name the member: all of
    an address, the name's only in ``田中さんに`` (2), so a page highlights just ``@田中``."""
    if "@" in handle:
        user = session.scalar(select(User).where(User.email == handle, User.active))
        return (user, len(handle)) if user is not None else None
    # startswith escapes LIKE's wildcards: @t_naka must not name tanaka@.
    candidates = list(
        session.scalars(
            select(User).where(User.email.startswith(f"{handle}@", autoescape=True), User.active)
        )
    )
    if candidates:
        return (candidates[0], len(handle)) if len(candidates) == 1 else None
    return _by_name(session, handle)


def _by_name(session: Session, handle: str) -> tuple[User, int] | None:
    """The member whose name, or its first word, the handle starts with: @田中, @田中健太,
    @emily. Japanese runs on without a space (@田中さん、@田中さんに), so the name may be
    followed by anything but an ASCII letter or digit; the longest name wins, a tie names
    nobody. Returns the member and the length of the name matched."""
    best: dict[int, set[int]] = {}
    users: dict[int, User] = {}
    for user in session.scalars(select(User).where(User.active)):
        words = user.name.lower().split()
        for key in {"".join(words), words[0] if words else ""}:
            rest = handle[len(key) :]
            if key and handle.startswith(key) and not (rest[:1].isascii() and rest[:1].isalnum()):
                best.setdefault(len(key), set()).add(user.id)
                users[user.id] = user
    if not best:
        return None
    longest = max(best)
    found = best[longest]
    return (users[found.pop()], longest) if len(found) == 1 else None


def edit_post(session: Session, *, editor: User, post: Post, body: str) -> Post:
    """Change a post's body, keeping the earlier body as a revision; members it newly
    mentions are recorded and told (see ``_record_mentions``)."""
    _not_archived(post)
    if not permissions.can_edit(editor, post):
        raise Forbidden(Reason.NOT_AUTHOR)
    if post.deleted_at is not None:
        raise Invalid(Reason.POST_DELETED)
    text = _check_body(body, files=bool(post.attachments))
    if text == post.body:
        return post
    session.add(PostRevision(post=post, body=post.body, edited_by_id=editor.id))
    post.body = text
    post.edited_at = now = utcnow()
    events.emit(
        session,
        "post_edited",
        actor_id=editor.id,
        channel_id=post.thread.channel_id,
        thread_id=post.thread_id,
        post_id=post.id,
    )
    # A name the edit adds is a mention like one in a new post: the member hears of it once.
    _record_mentions(session, post, at=now, edit=True)
    return post


def delete_post(session: Session, *, actor: User, post: Post) -> Post:
    """Soft-delete: the post becomes a tombstone; its body stays in the revisions."""
    if not permissions.can_delete(actor, post):
        raise Forbidden(Reason.NOT_AUTHOR)
    if post.deleted_at is None:
        session.add(PostRevision(post=post, body=post.body, edited_by_id=actor.id))
        post.deleted_at = utcnow()
        events.emit(
            session, "post_deleted", actor_id=actor.id, thread_id=post.thread_id, post_id=post.id
        )
    return post


def toggle_reaction(
    session: Session, *, user: User, post: Post, emoji: str, via: Via = Via.WEB
) -> bool:
    """Add ``emoji`` from ``user`` to ``post``, or take it away; returns True if now present."""
    emoji = emoji.strip()
    if not emoji or len(emoji) > 16:
        raise Invalid(Reason.INVALID_VALUE, "emoji")
    if not permissions.can_read(session, user, post.thread.channel) or not user.active:
        raise NotFound(Reason.NOT_FOUND)
    _not_archived(post)
    found = session.scalar(
        select(Reaction).where(
            Reaction.post_id == post.id, Reaction.user_id == user.id, Reaction.emoji == emoji
        )
    )
    if found is not None:
        session.delete(found)
        session.flush()
        return False
    react(session, user=user, post=post, emoji=emoji, via=via)
    return True


def _not_archived(post: Post) -> None:
    """An archived channel is kept as it was: no reactions come or go, no post changes."""
    if post.thread.channel.status == ChannelStatus.ARCHIVED:
        raise Forbidden(Reason.CHANNEL_ARCHIVED)


def react(session: Session, *, user: User, post: Post, emoji: str, via: Via) -> Reaction:
    """Put ``emoji`` on ``post`` (idempotent), e.g. a '+1' reply by mail."""
    if not user.active:
        raise Forbidden(Reason.INACTIVE_MEMBER)
    if not permissions.can_read(session, user, post.thread.channel):
        raise NotFound(Reason.NOT_FOUND)
    _not_archived(post)
    found = session.scalar(
        select(Reaction).where(
            Reaction.post_id == post.id, Reaction.user_id == user.id, Reaction.emoji == emoji
        )
    )
    if found is not None:
        return found
    reaction = Reaction(post_id=post.id, user_id=user.id, emoji=emoji, via=via)
    session.add(reaction)
    session.flush()
    events.emit(
        session,
        "reaction_added",
        actor_id=user.id,
        thread_id=post.thread_id,
        post_id=post.id,
        emoji=emoji,
    )
    return reaction


def list_threads(
    session: Session,
    channel: Channel,
    *,
    before: tuple[str, int] | None = None,
    limit: int = PAGE_SIZE,
) -> list[Thread]:
    """Threads of a channel, newest activity first; keyset pagination on (last_post_at, id)."""
    stmt = select(Thread).where(Thread.channel_id == channel.id)
    if before is not None:
        from datetime import datetime

        at = datetime.fromisoformat(before[0])
        stmt = stmt.where(
            (Thread.last_post_at < at) | ((Thread.last_post_at == at) & (Thread.id < before[1]))
        )
    stmt = stmt.order_by(Thread.last_post_at.desc(), Thread.id.desc()).limit(limit)
    return list(session.scalars(stmt))


def list_posts(
    session: Session,
    thread: Thread,
    *,
    before_id: int | None = None,
    after_id: int | None = None,
    limit: int = PAGE_SIZE,
) -> list[Post]:
    """Posts of a thread in order. ``before_id`` pages back (keyset); ``after_id`` polls forward.

    Without either, returns the newest ``limit`` posts.
    """
    stmt = (
        select(Post)
        .where(Post.thread_id == thread.id)
        .options(
            selectinload(Post.reactions), selectinload(Post.author), selectinload(Post.attachments)
        )
    )
    if after_id is not None:
        stmt = stmt.where(Post.id > after_id).order_by(Post.id).limit(limit)
        return list(session.scalars(stmt))
    if before_id is not None:
        stmt = stmt.where(Post.id < before_id)
    stmt = stmt.order_by(Post.id.desc()).limit(limit)
    return list(reversed(list(session.scalars(stmt))))


def latest_post_id(session: Session, thread: Thread) -> int:
    """The id of the thread's newest post: polling compares it and answers 'nothing new' cheaply."""
    return (
        session.scalar(
            select(Post.id).where(Post.thread_id == thread.id).order_by(Post.id.desc()).limit(1)
        )
        or 0
    )


def post_counts(session: Session, thread_ids: list[int]) -> dict[int, int]:
    """Visible posts per thread, for thread lists (one grouped query)."""
    if not thread_ids:
        return {}
    from sqlalchemy import func

    rows = session.execute(
        select(Post.thread_id, func.count())
        .where(Post.thread_id.in_(thread_ids), Post.deleted_at.is_(None), Post.hidden.is_(False))
        .group_by(Post.thread_id)
    )
    return {tid: n for tid, n in rows}
