"""Replies to a digest (``digest+<token>@``); the "which thread?" answers are ``which_thread``'s.

A digest lists items from several threads, each with a marker like ``[#123]`` (the thread id).
Routing of the reply's text, in order:

1. text written under a quoted item (inline, as every common client quotes) goes to the thread
   of the last marker in the quoted block just above it — one post per thread answered;
2. a top-posted text naming a marker ("#123 了解です") goes to that thread;
3. a top-posted text to a digest of a single thread goes to that thread;
4. anything else is kept as a PendingReply and ONE short "which thread?" mail lists the items
   (and says which answers of the reply were posted): see ``which_thread``. No text is ever
   dropped.

Beside answers placed, a part that only greets ("お疲れ様です。山本です。", "Hi all", "以上、
よろしくお願いします。") answers nothing: it is not asked about, and the mail log keeps it
(``trimmed``). Outlook's copy of the digest, quoted without '>' in its text or HTML reply, is
read by ``digest_copy``.

An answer to an announcement that awaits the member's acknowledgement ("了解しました" under
its item) acknowledges it, as a reply to the announcement mail does; it is posted only when it
says more (a question or a remark).
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from hub.errors import Reason
from hub.models import DigestRun, OutboxMessage, PendingReply
from mailbridge import digest_copy, greetings, quotes, replies
from mailbridge.context import InboundContext, Outcome
from mailbridge.digest_place import (
    find_marker,
    member,
    outcome,
    place,
    run_items,
    strip_leading_marker,
)
from mailbridge.which_thread import act_which, ask_which

__all__ = ["act", "act_which", "ask_which", "find_marker", "run_items"]

# A line of nothing but rule characters is no text.
_RULE = re.compile(r"[\s\-‐–—―_=~*・·•.…]*")


def act(ctx: InboundContext) -> Outcome:
    """Place the text of a reply to a digest in the threads it answers (see module doc)."""
    token = ctx.destination.token if ctx.destination else None
    run = ctx.session.get(DigestRun, token.target_id) if token else None
    user = member(ctx, token.user_id) if token else None
    if run is None or user is None or run.user_id != user.id:
        return Outcome("rejected", reason=Reason.BAD_TOKEN.value)
    items = run_items(run)
    ids = {int(i["thread_id"]) for i in items}
    # Answers per thread (in the order first answered), and text we cannot place.
    placed: dict[int, list[str]] = {}
    unplaced: list[str] = []
    text = ctx.incoming.text or ""
    copy = digest_copy.unquoted_answers(text, _digest_lines(ctx, run))
    pairs = quotes.inline_answers(text) + copy
    for quoted, answer in pairs:
        if _RULE.fullmatch(answer):
            continue  # "---": the rule Outlook on the web draws above its reply header
        target = find_marker(quoted, ids, last=True) if quoted else None
        if target is None:
            target = find_marker(answer, ids)
            if target is not None:
                answer = strip_leading_marker(answer)
        if target is None and not quoted and len(ids) == 1:
            target = next(iter(ids))
        if target is None:
            unplaced.append(answer)
        else:
            placed.setdefault(target, []).append(answer)
    results: list[dict[str, Any]] = []
    for thread_id, answers in placed.items():
        first = not any("post_id" in r for r in results)
        done = place(ctx, user, thread_id, "\n\n".join(answers), first=first)
        if done is None:
            unplaced.extend(answers)
        else:
            results.append(done)
    # Beside answers placed, "お疲れ様です。山本です。" answers nothing: the mail log keeps it.
    names = (user.name, ctx.incoming.sender_name)
    hello = [t for t in unplaced if results and greetings.only_greetings(t, names)]
    unplaced = [t for t in unplaced if t not in hello]
    reason = None
    if unplaced:
        pending = PendingReply(
            user_id=user.id,
            digest_run_id=run.id,
            inbound_id=ctx.row.id,
            text="\n\n".join(unplaced),
        )
        ctx.session.add(pending)
        ctx.session.flush()
        posted = [int(r["thread_id"]) for r in results if "post_id" in r]
        ask_which(ctx.app, ctx.session, user, pending, items, posted=posted)
        reason = Reason.AMBIGUOUS_DIGEST_REPLY.value
    if not results:
        if not unplaced:
            # Nothing written, or nothing we could find: the member is told, with their mail.
            replies.explain(ctx, Reason.EMPTY_BODY.value)
            return Outcome("rejected", reason=Reason.EMPTY_BODY.value, author=user.email)
        return Outcome("held", reason=reason, author=user.email, text="\n\n".join(unplaced))
    trimmed = "\n\n".join([*hello, *([ctx.row.trimmed] if ctx.row.trimmed else [])])
    return outcome(results, user, reason, trimmed=trimmed or None)


def _digest_lines(ctx: InboundContext, run: DigestRun) -> list[list[str]]:
    """The keys of the digest mail's own lines (none if that mail is gone, or retention dropped
    its raw bytes: the reply is then placed by the markers it quotes or names alone)."""
    if not run.message_id:
        return []
    found = ctx.session.execute(
        select(OutboxMessage.raw, OutboxMessage.raw_dropped_at).where(
            OutboxMessage.message_id == run.message_id
        )
    ).first()
    if found is None or found.raw_dropped_at is not None:
        return []
    return digest_copy.digest_keys(found.raw)
