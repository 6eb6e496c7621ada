"""Moderation: members flag posts; enough flags hide a post until an admin reviews it, and an
admin hides (or keeps hidden) or restores."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub import permissions
from hub.db import utcnow
from hub.errors import Forbidden, Invalid, Reason
from hub.models import Flag, ModerationAction, Post, User, Via
from hub.services import events

DEFAULT_THRESHOLD = 3


def _open_flags(session: Session, post: Post) -> list[Flag]:
    stmt = select(Flag).where(Flag.post_id == post.id, Flag.resolved_at.is_(None))
    return list(session.scalars(stmt.order_by(Flag.id)))


def flag(
    session: Session,
    *,
    user: User,
    post: Post,
    reason: str,
    via: Via = Via.WEB,
    threshold: int = DEFAULT_THRESHOLD,
    now: datetime | None = None,
) -> Flag:
    """Flag ``post`` with a reason (once per member); ``threshold`` open flags hide it."""
    if not permissions.can_read(session, user, post.thread.channel):
        raise Forbidden(Reason.FORBIDDEN)
    text = " ".join(reason.split())
    if not text:
        raise Invalid(Reason.REASON_REQUIRED)
    found = session.scalar(select(Flag).where(Flag.post_id == post.id, Flag.user_id == user.id))
    if found is not None:
        if found.resolved_at is None:
            return found
        found.resolved_at, found.reason, found.created_at = None, text[:1000], now or utcnow()
        item = found
    else:
        item = Flag(post_id=post.id, user_id=user.id, reason=text[:1000], via=Via(via))
        item.created_at = now or utcnow()
        session.add(item)
    session.flush()
    events.emit(
        session, "post_flagged", actor_id=user.id, post_id=post.id, thread_id=post.thread_id
    )
    if not post.hidden and len(_open_flags(session, post)) >= max(1, threshold):
        _hide(session, post, None, "auto_hide", "")
    return item


def _hide(session: Session, post: Post, actor: User | None, action: str, note: str) -> None:
    """Hide ``post`` and tell its author (event ``post_hidden``). The event carries how many
    flags there were, never their words: the author is not told who flagged, and a flagger's
    own words could say it. ``reviewed``: an admin decided on a post the flags had hidden."""
    reviewed = post.hidden
    post.hidden = True
    session.add(ModerationAction(post_id=post.id, moderator_id=actor.id if actor else None,
                                 action=action, note=note))  # fmt: skip
    events.emit(
        session, "post_hidden", actor_id=actor.id if actor else None, post_id=post.id,
        thread_id=post.thread_id, flags=len(_open_flags(session, post)), note=note,
        action=action, reviewed=reviewed,
    )  # fmt: skip


def hide(session: Session, *, actor: User, post: Post, note: str = "") -> Post:
    """An admin hides a post, or keeps hidden one that flags hid (the author is told either
    way, with the admin's note)."""
    if not permissions.is_admin(actor):
        raise Forbidden(Reason.ADMIN_ONLY)
    if not post.hidden or awaits_review(session, post):
        _hide(session, post, actor, "hide", note.strip())
    _resolve(session, post)
    return post


def awaits_review(session: Session, post: Post) -> bool:
    """Tell whether ``post`` is hidden by flags alone, waiting for an admin (not by an admin's
    decision): its last hiding was automatic and its flags are still open."""
    if not post.hidden:
        return False
    last = session.scalar(
        select(ModerationAction.action)
        .where(ModerationAction.post_id == post.id,
               ModerationAction.action.in_(("hide", "auto_hide")))
        .order_by(ModerationAction.id.desc())
        .limit(1)
    )  # fmt: skip
    return last == "auto_hide" and bool(_open_flags(session, post))


def restore(session: Session, *, actor: User, post: Post, note: str = "") -> Post:
    """An admin shows a hidden post again, or dismisses its flags (event ``post_restored``;
    ``shown_again``: it was hidden, and the mail its hiding held back is owed)."""
    if not permissions.is_admin(actor):
        raise Forbidden(Reason.ADMIN_ONLY)
    shown_again = post.hidden
    post.hidden = False
    session.add(ModerationAction(post_id=post.id, moderator_id=actor.id, action="restore",
                                 note=note.strip()))  # fmt: skip
    _resolve(session, post)
    events.emit(
        session, "post_restored", actor_id=actor.id, post_id=post.id, thread_id=post.thread_id,
        shown_again=shown_again,
    )  # fmt: skip
    return post


def _resolve(session: Session, post: Post) -> None:
    for item in _open_flags(session, post):
        item.resolved_at = utcnow()


@dataclass(frozen=True, slots=True)
class Flagged:
    """A post in the moderation queue: how many open flags it has, and which."""

    post: Post
    count: int
    flags: list[Flag]


def queue(session: Session) -> list[Flagged]:
    """Posts with open flags (or hidden and not reviewed), most flagged first."""
    stmt = (
        select(Flag.post_id, func.count(Flag.id))
        .where(Flag.resolved_at.is_(None))
        .group_by(Flag.post_id)
    )
    rows = []
    for post_id, count in session.execute(stmt).all():
        post = session.get(Post, post_id)
        if post is not None:
            rows.append(Flagged(post, int(count), _open_flags(session, post)))
    rows.sort(key=lambda r: (-r.count, r.post.id))
    return rows


def history(session: Session, post: Post) -> list[ModerationAction]:
    """The audit trail of one post."""
    stmt = select(ModerationAction).where(ModerationAction.post_id == post.id)
    return list(session.scalars(stmt.order_by(ModerationAction.id)))


def recent_actions(session: Session, limit: int = 50) -> list[ModerationAction]:
    stmt = select(ModerationAction).order_by(ModerationAction.id.desc()).limit(limit)
    return list(session.scalars(stmt))
