"""Where the mail about a post stands in the member's mailbox: its own Message-ID and the ones it
refers to (the thread's anchor, its first post, the last few before it, as the member has them),
so it threads under the mails of the thread the member already has."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.models import Post, Thread, Via


def anchor_id(session: Session, thread: Thread, domain: str) -> str:
    """The Message-ID every mail of a thread refers to: the first mail's own id if the thread
    began by mail, else the id we gave its first post."""
    if thread.message_id:
        return thread.message_id
    first = session.scalar(
        select(Post).where(Post.thread_id == thread.id).order_by(Post.id).limit(1)
    )
    if first is None:
        return f"thread.{thread.id}@{domain}"
    if not first.message_id:
        first.message_id = f"post.{first.id}@{domain}"
    return first.message_id


def _seen_as(post: Any, user_id: int, domain: str) -> str:
    """The Message-ID under which the member has ``post`` (a row: id, author_id, via,
    message_id) in their mailbox: their own mail's if they wrote it by mail (it sits in their
    Sent folder, so a reply threads under it), else our mail's about it to them."""
    if post.author_id == user_id and post.via == Via.EMAIL and post.message_id:
        return str(post.message_id)
    return recipient_message_id(post.id, user_id, domain)


def recipient_message_id(post_id: int, user_id: int, domain: str, *, edit: bool = False) -> str:
    """The Message-ID of the mail about one post to one member (stable, unique per row); the
    mention an edit added has its own (a client drops a second mail with the first one's)."""
    return f"p{post_id}.u{user_id}{'.edit' if edit else ''}@{domain}"


@dataclass(frozen=True, slots=True)
class Threading:
    """What the mail about one post refers to, read once for all its recipients: the thread's
    anchor and its posts before this one (rows: id, author_id, via, message_id)."""

    domain: str
    anchor: str
    before: list[Any]
    starts_thread: bool

    @classmethod
    def read(cls, session: Session, post: Post, domain: str) -> Threading:
        """Read the thread's anchor, its first post and the last few before ``post``."""
        thread = post.thread
        anchor = anchor_id(session, thread, domain)
        seen = select(Post.id, Post.author_id, Post.via, Post.message_id).where(
            Post.thread_id == thread.id
        )
        first = session.execute(seen.order_by(Post.id).limit(1)).one()
        earlier = list(
            session.execute(seen.where(Post.id < post.id).order_by(Post.id.desc()).limit(8))
        )[::-1]
        starts_thread = post.id == first.id and not thread.message_id
        return cls(domain, anchor, [first, *earlier], starts_thread)

    def references(self, user_id: int, own_id: str) -> list[str]:
        """The Message-IDs the mail to one member refers to, oldest first (none for the first
        post of a thread begun on the web)."""
        if self.starts_thread:
            return []
        refs = [self.anchor] + [_seen_as(p, user_id, self.domain) for p in self.before]
        return [x for i, x in enumerate(refs) if x and x not in refs[:i] and x != own_id]
