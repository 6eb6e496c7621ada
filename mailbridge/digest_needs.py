"""What needs a member in their digest, each post once, in the place that matters most: a
mention, else a question in a thread they started (one that names only others is theirs to
answer), and the announcements awaiting their acknowledgement. The channel sections below count
those posts but do not show them again, nor the first post of an announcement the member has
acknowledged (they have read it).

What the member has answered since does not need them: a mention or question followed by a
post of theirs in that thread is not listed. A thread is one item, whatever it holds for them:
its latest post for them (a mention or a question), with how many more there are."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from hub.models import User
from hub.plaintext import excerpt
from hub.services import announcements
from mailbridge.digest_access import Acks
from mailbridge.digest_activity import Activity
from mailbridge.digest_items import NeedItem


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
    """What needs the member, each post once: a mention, else a question in their thread, that
    they have not answered in the thread since, one item per thread (its latest, counting the
    others); and the announcements awaiting their acknowledgement. Also the posts they need
    not see again below (post id -> thread id): those counted here and the first post of an
    announcement they acknowledged, and the posts shown again that they had in an earlier
    digest."""
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
            text = act.announcement_text.get(ann.id) or excerpt(ann.body, 100)
            item = NeedItem(ann.thread_id, ann.title, "", "ack", fresh, text, ann.id, first)
            acks_due.append(item)
    # Per thread, the posts that need the member: a mention, else a question.
    found: dict[int, dict[int, NeedItem]] = {}
    for item in _unanswered_mentions(act, user.id, readable):
        if item.thread_id is not None and item.post_id is not None:
            found.setdefault(item.thread_id, {})[item.post_id] = item
    for cid, t in act.asked_of.get(user.id, []):
        if cid not in readable:
            continue
        answered = t.latest.get(user.id, (0, None))[0]
        for post_id, a, b in t.questions:
            if a == user.id or post_id in seen or post_id < answered:
                continue
            name = act.names.get(a, "") if a else ""
            where = act.channels[cid][1]
            question = NeedItem(t.thread_id, t.title, where, "question", name, b, None, post_id)
            found.setdefault(t.thread_id, {}).setdefault(post_id, question)
    out: list[NeedItem] = []
    for thread_id, items in found.items():
        out.append(replace(items[max(items)], more=len(items) - 1))
        seen.update(dict.fromkeys(items, thread_id))
    return out + acks_due, seen


def _unanswered_mentions(act: Activity, user_id: int, readable: set[int]) -> list[NeedItem]:
    """The member's mentions of the window in channels they read that they have not answered:
    no post of theirs in the thread since they were named."""
    out: list[NeedItem] = []
    for cid, item in act.mentions.get(user_id, []):
        if cid not in readable:
            continue
        t = act.threads.get(item.thread_id) if item.thread_id else None
        answer = t.latest.get(user_id) if t is not None else None
        if answer is None or item.at is None or answer[1] <= item.at:
            out.append(item)
    return out
