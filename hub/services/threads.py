"""Threads and posts: start, reply, edit, delete, react, and who may read them. Who a post's
@handles name, and recording them: hub.services.handles; a page of threads or posts (and polling
for new ones): hub.services.thread_pages."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from hub import permissions
from hub.db import utcnow
from hub.errors import Forbidden, Invalid, NotFound, Reason
from hub.models import (
    Attachment,
    Channel,
    ChannelStatus,
    Post,
    PostRevision,
    Reaction,
    Thread,
    User,
    Via,
)
from hub.services import channels as channel_service
from hub.services import events, handles

MAX_TITLE = 300
MAX_BODY = 100_000


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
    handles.record_mentions(session, post, at=post.created_at)
    return post


def edit_post(session: Session, *, editor: User, post: Post, body: str) -> Post:
    """Change a post's body, keeping the earlier body as a revision; members it newly
    mentions are recorded and told (see ``handles.record_mentions``)."""
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
    handles.record_mentions(session, post, at=now, edit=True)
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
