"""Posting the text of a digest reply (or of an answer to "which thread?") as the member.

Shared by ``digest_replies`` (the reply to the digest) and ``which_thread`` (the answer to the
question about text the reply did not place): the digest's items, the markers that name them,
posting in a thread (or acknowledging an announcement) and the outcome the mail log shows.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from hub import permissions
from hub.errors import HubError
from hub.models import Announcement, DigestRun, Thread, User, Via
from hub.services import acknowledgements
from hub.services import threads as thread_service
from mailbridge import culture_mail
from mailbridge.context import InboundContext, Outcome
from mailbridge.digest_copy import MARKER

__all__ = ["find_marker", "member", "outcome", "place", "run_items", "strip_leading_marker"]


def run_items(run: DigestRun) -> list[dict[str, Any]]:
    """The digest's items in order: dicts with marker, thread_id, title, channel."""
    items = run.items.get("threads", []) if isinstance(run.items, dict) else []
    return [i for i in items if isinstance(i, dict) and "thread_id" in i]


def find_marker(text: str, thread_ids: set[int], *, last: bool = False) -> int | None:
    """Return the thread id of the first (or last) marker in ``text`` that names an item."""
    found = [int(m.group(1)) for m in MARKER.finditer(text) if int(m.group(1)) in thread_ids]
    if not found:
        return None
    return found[-1] if last else found[0]


def strip_leading_marker(text: str) -> str:
    """Drop a marker the member typed in front of the text ("#123 了解です" -> "了解です")."""
    stripped = re.sub(r"^\s*[\[［]?[#＃]\d{1,10}[\]］]?[\s:：、,.-]*", "", text, count=1)
    return stripped.strip() or text.strip()


def _post(
    ctx: InboundContext, user: User, thread_id: int, text: str, first: bool
) -> dict[str, Any] | None:
    """Post ``text`` in ``thread_id`` as ``user``; None when it cannot be placed there now."""
    session = ctx.session
    thread = session.get(Thread, thread_id)
    if thread is None or not permissions.can_post(session, user, thread.channel):
        return None
    try:
        with session.begin_nested():
            post = thread_service.reply(
                session,
                author=user,
                thread=thread,
                body=text,
                via=Via.EMAIL,
                message_id=ctx.incoming.message_id if first else None,
            )
    except HubError:
        return None
    return {"thread_id": thread.id, "post_id": post.id, "text": post.body}


def place(
    ctx: InboundContext, user: User, thread_id: int, text: str, first: bool
) -> dict[str, Any] | None:
    """Post ``text`` in ``thread_id``, as ``_post`` does; an answer to an announcement that
    awaits the member's acknowledgement acknowledges it, as a reply to its ``ack+`` address
    does ("了解しました" under its digest item), and is posted only when it says more."""
    session = ctx.session
    announcement = session.scalar(
        select(Announcement).where(
            Announcement.thread_id == thread_id, Announcement.ack_required.is_(True)
        )
    )
    acked: dict[str, Any] = {}
    if announcement is not None and acknowledgements.find_ack(session, user, announcement) is None:
        try:
            with session.begin_nested():
                acknowledgements.acknowledge(
                    session, user=user, announcement=announcement, via=Via.EMAIL,
                    words=culture_mail.ack_words(text),
                )  # fmt: skip
            acked = {"thread_id": thread_id, "acknowledged": announcement.id, "text": text}
        except HubError:
            acked = {}
    if acked and not culture_mail.is_question(text):
        return acked
    done = _post(ctx, user, thread_id, text, first)
    return {**acked, **done} if done is not None else (acked or None)


def member(ctx: InboundContext, token_user_id: int) -> User | None:
    """The active member a digest or which-thread token was made for, if they sent the mail."""
    user = ctx.sender or ctx.session.get(User, token_user_id)
    if user is None or user.id != token_user_id or not user.active:
        return None
    return user


def outcome(
    results: list[dict[str, Any]],
    user: User,
    reason: str | None = None,
    *,
    trimmed: str | None = None,
) -> Outcome:
    """``replied`` when something was posted (thread_id, post_id and text describe the first
    post; ``results`` lists every post and acknowledgement), else ``acknowledged``; ``trimmed``
    is what the mail log keeps of the mail beside them."""
    posts = [r for r in results if "post_id" in r]
    first = posts[0] if posts else results[0]
    return Outcome(
        "replied" if posts else "acknowledged",
        reason=reason,
        thread_id=first["thread_id"],
        post_id=first.get("post_id"),
        author=user.email,
        text=first["text"],
        trimmed=trimmed,
        results=results,
    )
