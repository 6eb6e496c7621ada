"""Which of our threads a mail answers (by its In-Reply-To/References), and the channel
addresses on it that are therefore replies in those threads."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub import tokens
from hub.models import Channel, InboundMessage, OutboxMessage, Post, Thread
from hub.services import accounts
from mailbridge.addresses import Destination
from mailbridge.context import InboundContext
from mailbridge.parse import Incoming, strip_subject_prefixes

# A long conversation's References name every mail of it: the nearest ones are enough.
MAX_REFERENCES = 50
# The outbox key of our mail about a post: "post:12", or "post:12:mention" (notifications).
_POST_KEY = re.compile(r"^post:(\d+)(?::mention)?$")
# Outcomes of a stored mail that placed nothing in the thread they name.
_PLACED_NOTHING = frozenset({"rejected", "ignored", "duplicate", "failed", "held", "received"})


def answered_threads(session: Session, incoming: Incoming) -> list[int]:
    """The ids of the threads holding a message the mail answers, nearest first (In-Reply-To,
    then References from the last): a thread's first mail (its Message-ID), a post's mail, our
    mail about a post, or a mail we received that was placed in threads (a mail cross-posted to
    two channels made a thread in each, only the first carrying its Message-ID).
    """
    mids = list(dict.fromkeys((*reversed(incoming.in_reply_to), *reversed(incoming.references))))
    mids = mids[:MAX_REFERENCES]
    if not mids:
        return []
    found: dict[str, list[int]] = {}

    def note(pairs: Iterable[tuple[str | None, int | None]]) -> None:
        for mid, thread_id in pairs:
            if mid is not None and thread_id is not None:
                found.setdefault(mid, []).append(thread_id)

    note(session.execute(select(Thread.message_id, Thread.id).where(Thread.message_id.in_(mids))))
    note(session.execute(select(Post.message_id, Post.thread_id).where(Post.message_id.in_(mids))))
    about = {
        int(m.group(1)): mid
        for mid, key in session.execute(
            select(OutboxMessage.message_id, OutboxMessage.dedupe_key).where(
                OutboxMessage.message_id.in_(mids)
            )
        )
        if (m := _POST_KEY.match(key))
    }
    if about:
        posts = select(Post.id, Post.thread_id).where(Post.id.in_(about))
        note((about[post_id], thread_id) for post_id, thread_id in session.execute(posts))
    received = select(
        InboundMessage.message_key, InboundMessage.status, InboundMessage.thread_id,
        InboundMessage.results,
    ).where(InboundMessage.message_key.in_(mids))  # fmt: skip
    for key, status, thread_id, results in session.execute(received):
        if status not in _PLACED_NOTHING:
            note([(key, thread_id)])
        note(
            (key, r.get("thread_id"))
            for r in results or []
            if isinstance(r, dict) and r.get("status") not in _PLACED_NOTHING
        )
    return list(dict.fromkeys(t for mid in mids for t in found.get(mid, [])))


def channel_replies(
    ctx: InboundContext, found: list[tuple[str | None, Destination]]
) -> list[tuple[str | None, Destination]]:
    """Make each channel address of ``found`` a reply in the thread of that channel the mail
    answers, if there is one (nearest first), and note the threads answered on ``ctx``.

    全員に返信 keeps the channel in Cc: the answer belongs in the conversation, not in a second
    thread of the same title. As a reply it is the sender's, checked as any reply is
    (``actions.reply``: they must be able to read the thread and post there), its quote
    trimmed, a lone "+1" a reaction. A mail from someone who is no member keeps its channel
    address, which refuses them; so does a mail whose subject is a new topic
    (``reads_as_answer``).
    """
    inc = ctx.incoming
    ctx.answered = answered_threads(ctx.session, inc)
    sender = accounts.find_user_by_email(ctx.session, inc.sender) if inc.sender else None
    if not ctx.answered or sender is None:
        return found
    slugs = {dest.slug for _, dest in found if dest.kind == "channel"}
    in_channels = ctx.session.execute(
        select(Thread.id, Channel.slug, Thread.title)
        .join(Channel, Channel.id == Thread.channel_id)
        .where(Thread.id.in_(ctx.answered), Channel.slug.in_(slugs))
    )
    rank = {thread_id: n for n, thread_id in enumerate(ctx.answered)}
    thread_of: dict[str | None, int] = {}
    for thread_id, slug, title in sorted(in_channels, key=lambda row: rank[row[0]]):
        if reads_as_answer(inc.subject, title):
            thread_of.setdefault(slug, thread_id)
    return [
        (address, _reply(sender.id, thread_of[dest.slug]))
        if dest.kind == "channel" and dest.slug in thread_of
        else (address, dest)
        for address, dest in found
    ]


# A reply's subject: "Re:", "RE:", "AW:", "返信:" ... (not a forward's "Fw:", which opens a topic).
_ANSWER_PREFIX = re.compile(r"^\s*(?:re|aw|sv|vs|antw|rif|返信|回复)\s*(?:\[\d+\])?\s*[:：]", re.I)
# Our channel tag in a notification's subject: "[営業] 来期の営業目標".
_TAG = re.compile(r"^\s*(?:\[[^\]]*\]\s*)+")


def reads_as_answer(subject: str, title: str) -> bool:
    """Whether a mail to a channel that answers one of its threads' mails reads as an answer to
    it: its subject says so ("Re: ..."), or still names the thread. An old mail answered with a
    subject of its own (a new topic started from the last mail at hand, common in Japanese
    offices) opens a thread of its own, as it would have without the references.

    >>> t = "営業目標"
    >>> [reads_as_answer(s, t) for s in ("RE: 営業目標", "[営業] 営業目標", "来週の会議")]
    [True, True, False]
    """
    if _ANSWER_PREFIX.match(subject):
        return True
    bare = _TAG.sub("", strip_subject_prefixes(subject))
    fold = unicodedata.normalize("NFKC", bare).casefold().strip()
    return bool(fold) and fold == unicodedata.normalize("NFKC", title).casefold().strip()


def _reply(user_id: int, thread_id: int) -> Destination:
    return Destination("reply", token=tokens.Token("reply", user_id, thread_id))
