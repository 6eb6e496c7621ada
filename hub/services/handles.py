"""@handles in a post: which member each names (a whole address, an address's local part, or a
name, as Japanese writes it run on: @田中さん), and recording the members a post newly names
(Mention rows and member_mentioned events; an edit tells only the ones it adds)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub import permissions
from hub.models import Mention, Post, User
from hub.services import events
from hub.text import mention_handles


def record_mentions(
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


def unreadable_mentions(session: Session, post: Post) -> list[tuple[str, User]]:
    """The members ``post`` names who cannot read its channel, so were not told (see
    ``record_mentions``): each with the handle as far as it names them (``田中`` of
    ``@田中さん``), for telling the author."""
    found: dict[int, tuple[str, User]] = {}
    for handle in mention_handles(post.body):
        span = resolve_handle_span(session, handle)
        if span is None or span[0].id in found:
            continue
        user, length = span
        if not permissions.can_read(session, user, post.thread.channel):
            found[user.id] = (handle[:length], user)
    return list(found.values())


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
