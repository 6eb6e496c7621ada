"""A post an admin shows again: the mail its hiding held back goes out, once, as it reads now.

While a post is hidden its mail is still written by the fan-out but does not leave: it is
cancelled when due (``still_wanted.GONE``). When an admin restores the post, the members whose
mail about it was cancelled that way or still waits are sent it again, rendered anew (the author
may have edited the post while it was hidden) under the same key and Message-ID, by the fan-out's
rules as they are now (a member who muted the thread meanwhile hears nothing). A member who had
it before it was hidden, or whose mail is leaving right now, gets no second one. It waits for the
member's working hours, and is not left to their digest, which may have passed meanwhile.
"""

from __future__ import annotations

from flask import Flask
from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from hub.models import Event, Mention, OutboxMessage, Post, User
from mailbridge import quiet
from mailbridge.notifications import Recipient, mention_recipient, post_key, post_recipients
from mailbridge.post_mail import queue_post_mails
from mailbridge.still_wanted import GONE


def on_post_restored(app: Flask, session: Session, event: Event) -> None:
    """Fan-out handler for post_restored: send the mail the post's hiding held back."""
    post = session.get(Post, event.post_id or 0)
    if post is None or not post.visible or not (event.data or {}).get("shown_again"):
        return
    first = session.scalar(select(func.min(Post.id)).where(Post.thread_id == post.thread_id))
    for edit in (False, True):
        key = post_key(post.id, edit=edit)
        owed = _held_back(session, key)
        if not owed:
            continue
        wanted = [
            r for r in _recipients(session, post, post.id == first, edit) if r.user.id in owed
        ]
        if not wanted:
            continue
        # Only rows not leaving now: one a drain holds is sent or not by the time this runs.
        session.execute(
            delete(OutboxMessage).where(
                OutboxMessage.id.in_([owed[r.user.id] for r in wanted]),
                OutboxMessage.status.in_(("pending", "cancelled")),
            )
        )
        queue_post_mails(
            app, session, post, wanted, quiet.clock_now(), edit=edit, leave_to_digest=False
        )


def _held_back(session: Session, key: str) -> dict[int, int]:
    """The members (id -> outbox row) whose mail under ``key`` has not left: still waiting, or
    cancelled because the post was hidden."""
    rows = session.execute(
        select(OutboxMessage.user_id, OutboxMessage.id).where(
            OutboxMessage.dedupe_key == key,
            OutboxMessage.user_id.is_not(None),
            or_(
                OutboxMessage.status == "pending",
                (OutboxMessage.status == "cancelled") & (OutboxMessage.last_error == GONE),
            ),
        )
    )
    return {user_id: row_id for user_id, row_id in rows if user_id is not None}


def _recipients(session: Session, post: Post, new_thread: bool, edit: bool) -> list[Recipient]:
    """Who the fan-out would mail about ``post`` now: under the post's key its audience and the
    members it mentions, under the key of an edit's mentions those members."""
    named = session.scalars(
        select(User).join(Mention, Mention.user_id == User.id).where(Mention.post_id == post.id)
    )
    mentioned = [r for user in named if (r := mention_recipient(session, post, user))]
    if edit:
        return mentioned
    return post_recipients(session, post, new_thread=new_thread) + mentioned
