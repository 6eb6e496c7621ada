"""What needs a member in their digest, each post once, in the place that matters most: a
mention, else a question in a thread they started (one that names only others is theirs to
answer), and the announcements awaiting their acknowledgement. The channel sections below count
those posts but do not show them again, nor the first post of an announcement the member has
acknowledged (they have read it)."""

from __future__ import annotations

from datetime import datetime

from hub.models import User
from hub.plaintext import excerpt
from hub.services import announcements
from mailbridge.digest_activity import Acks, Activity, NeedItem


def shown_by_channel(act: Activity, seen: dict[int, int]) -> dict[int, frozenset[int]]:
    """The window's posts the member has already (``seen``: post id -> thread id), by channel."""
    found: dict[int, set[int]] = {}
    for post_id, thread_id in seen.items():
        t = act.threads.get(thread_id)
        if t is not None and post_id in t.posts:
            found.setdefault(t.channel_id, set()).add(post_id)
    return {cid: frozenset(posts) for cid, posts in found.items()}


def had_before(act: Activity, user_id: int) -> dict[int, int]:
    """The posts shown again in the window that an earlier digest of the member's listed, before
    they were hidden (post id -> thread id): not news for them again."""
    return {p: r.thread_id for p, r in act.restored.items() if user_id in r.had}


def needs(
    user: User,
    since: datetime,
    until: datetime,
    act: Activity,
    readable: set[int],
    joined: set[int],
    acks: Acks,
) -> tuple[list[NeedItem], dict[int, int]]:
    """What needs the member, each post once: a mention, else a question in their thread, and
    the announcements awaiting their acknowledgement. Also the posts they need not see again
    below (post id -> thread id): those shown here and the first post of an announcement they
    acknowledged, and the posts shown again that they had in an earlier digest."""
    seen = had_before(act, user.id)
    acks_due: list[NeedItem] = []
    for ann in act.announcements:
        if not announcements.reaches(ann, joined):
            continue
        news = act.threads.get(ann.thread_id) if ann.thread_id else None
        first = news.first_post if news is not None else None
        if news is not None and first is not None:
            seen[first] = news.thread_id
        if (ann.id, ann.version) not in acks and announcements.asks(ann, user.id):
            fresh = "new" if since < ann.published_at <= until else ""
            text = excerpt(ann.body, 100)
            item = NeedItem(ann.thread_id, ann.title, "", "ack", fresh, text, ann.id, first)
            acks_due.append(item)
    out = [item for cid, item in act.mentions.get(user.id, []) if cid in readable]
    seen.update({n.post_id: n.thread_id for n in out if n.post_id and n.thread_id})
    for cid, t in act.asked_of.get(user.id, []):
        if cid not in readable:
            continue
        asked = [q for q in t.questions if q[1] != user.id and q[0] not in seen]
        if asked:
            post_id, a, b = asked[-1]
            name = act.names.get(a, "") if a else ""
            where = act.channels[cid][1]
            out.append(NeedItem(t.thread_id, t.title, where, "question", name, b, None, post_id))
            seen[post_id] = t.thread_id
    return out + acks_due, seen
