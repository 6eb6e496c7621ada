"""Posts an admin showed again during a digest window: news in that window, once.

A digest lists the posts written in its window that are shown when it is built; one hidden then
is left out, and nothing written later brings it back. So a post that was hidden when the
window began (the member's last digest was built then) and is shown now is news in this window,
as if written in it. A member who had a digest built while the post was still shown, before it
was hidden, read it there: for them it is not news again. When the post was shown comes from the
moderation audit trail (``ModerationAction``: hide, auto_hide, restore), when a member's digests
were built from their DigestRuns.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from hub.models import DigestRun, ModerationAction, Post

Span = tuple[datetime, datetime]


@dataclass(frozen=True, slots=True)
class Restored:
    """A post shown again in the window, and who read it in an earlier digest."""

    thread_id: int
    # Member id -> the time of their last digest built while the post was shown.
    had: dict[int, datetime]


def restored(session: Session, since: datetime, until: datetime) -> dict[int, Restored]:
    """The posts written before ``since``, hidden then, and shown again by ``until`` (and
    still shown), by post id."""
    found = session.execute(
        select(Post.id, Post.thread_id, Post.created_at)
        .join(ModerationAction, ModerationAction.post_id == Post.id)
        .where(
            ModerationAction.action == "restore",
            ModerationAction.created_at > since,
            ModerationAction.created_at <= until,
            Post.created_at <= since,
            Post.deleted_at.is_(None),
            Post.hidden.is_(False),
        )
    ).all()
    if not found:
        return {}
    actions = _actions_until(session, {post_id for post_id, _t, _c in found}, since)
    out: dict[int, Restored] = {}
    for post_id, thread_id, created in found:
        spans = shown_spans(created, actions.get(post_id, []), since)
        if spans is not None and post_id not in out:
            out[post_id] = Restored(thread_id, _had(session, spans))
    return out


def _actions_until(
    session: Session, post_ids: set[int], since: datetime
) -> dict[int, list[tuple[str, datetime]]]:
    """Each post's moderation actions up to ``since``, oldest first."""
    found: dict[int, list[tuple[str, datetime]]] = {}
    for post_id, action, at in session.execute(
        select(ModerationAction.post_id, ModerationAction.action, ModerationAction.created_at)
        .where(ModerationAction.post_id.in_(post_ids), ModerationAction.created_at <= since)
        .order_by(ModerationAction.id)
    ):
        found.setdefault(post_id, []).append((action, at))
    return found


def shown_spans(
    created: datetime, actions: list[tuple[str, datetime]], since: datetime
) -> list[Span] | None:
    """When a post written at ``created`` was shown before ``since`` ([from, to) spans, given
    its moderation ``actions`` up to then, oldest first); None if it was shown at ``since``:
    the digest built then listed it, or an earlier one did.

    >>> from datetime import UTC
    >>> t = [datetime(2026, 11, 30, hour, tzinfo=UTC) for hour in range(8)]
    >>> def hours(spans): return [(a.hour, b.hour) for a, b in spans]
    >>> hours(shown_spans(t[0], [("auto_hide", t[1]), ("hide", t[2])], t[5]))
    [(0, 1)]
    >>> hours(shown_spans(t[0], [("hide", t[1]), ("restore", t[2]), ("hide", t[3])], t[5]))
    [(0, 1), (2, 3)]
    >>> shown_spans(t[0], [("hide", t[1]), ("restore", t[2])], t[5]) is None
    True
    """
    spans: list[Span] = []
    start: datetime | None = created
    for action, at in actions:
        if action == "restore":
            start = start or at
        elif start is not None:
            spans.append((start, at))
            start = None
    if start is not None:
        return None
    return [(a, b) for a, b in spans if a < b]


def _had(session: Session, spans: list[Span]) -> dict[int, datetime]:
    """The members whose digest was built while the post was shown (in ``spans``), with the
    last such time: that digest, or an earlier one, listed it."""
    if not spans:
        return {}
    # A scan of the DigestRuns (until is not indexed) for each post shown again: restores are
    # rare, and each window's activity is read once for all its members.
    during = or_(*((DigestRun.until >= a) & (DigestRun.until < b) for a, b in spans))
    rows = session.execute(
        select(DigestRun.user_id, func.max(DigestRun.until))
        .where(during)
        .group_by(DigestRun.user_id)
    )
    return {user_id: last for user_id, last in rows}
