"""Replies to a digest (``digest+<token>@``) and to a "which thread?" question (``which+<token>@``).

A digest lists items from several threads, each with a marker like ``[#123]`` (the thread id).
Routing of the reply's text, in order:

1. text written under a quoted item (inline, as every common client quotes) goes to the thread
   of the last marker in the quoted block just above it — one post per thread answered;
2. a top-posted text naming a marker ("#123 了解です") goes to that thread;
3. a top-posted text to a digest of a single thread goes to that thread;
4. anything else is kept as a PendingReply and ONE short "which thread?" mail lists the items;
   answering it with the number (or the marker) posts the kept text. No text is ever dropped.

An answer to an announcement that awaits the member's acknowledgement ("了解しました" under
its item) acknowledges it, as a reply to the announcement mail does; it is posted only when it
says more (a question or a remark).
"""

from __future__ import annotations

import email
import email.policy
import re
import unicodedata
from typing import Any

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub import permissions, tokens
from hub.db import utcnow
from hub.errors import HubError, Reason
from hub.models import Announcement, DigestRun, OutboxMessage, PendingReply, Thread, User, Via
from hub.services import announcements
from hub.services import threads as thread_service
from mailbridge import addresses, culture_mail, quotes, replies
from mailbridge.context import InboundContext, Outcome

__all__ = ["act", "act_which", "ask_which", "find_marker", "run_items"]

# "[#123]" or "#123" not inside a word; the number is a thread id. Japanese input methods type
# it full-width ("＃１２３", "［＃１２３］"); \d takes full-width digits and int() reads them.
MARKER = re.compile(r"(?<![\w&])[\[［]?[#＃](\d{1,10})[\]］]?")
# An answer to "which thread?": a list number or a marker, first thing in the text.
_CHOICE = re.compile(r"^\s*(?:\[?#(\d{1,10})\]?|(\d{1,4}))(?!\d)")


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


def _strip_leading_marker(text: str) -> str:
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


def _place(
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
    if announcement is not None and announcements.find_ack(session, user, announcement) is None:
        try:
            with session.begin_nested():
                announcements.acknowledge(
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


def _user(ctx: InboundContext, token_user_id: int) -> User | None:
    user = ctx.sender or ctx.session.get(User, token_user_id)
    if user is None or user.id != token_user_id or not user.active:
        return None
    return user


def act(ctx: InboundContext) -> Outcome:
    """Place the text of a reply to a digest in the threads it answers (see module doc)."""
    token = ctx.destination.token if ctx.destination else None
    run = ctx.session.get(DigestRun, token.target_id) if token else None
    user = _user(ctx, token.user_id) if token else None
    if run is None or user is None or run.user_id != user.id:
        return Outcome("rejected", reason=Reason.BAD_TOKEN.value)
    items = run_items(run)
    ids = {int(i["thread_id"]) for i in items}
    # Answers per thread (in the order first answered), and text we cannot place.
    placed: dict[int, list[str]] = {}
    unplaced: list[str] = []
    text = ctx.incoming.text or ""
    pairs = quotes.inline_answers(text) + _unquoted_answers(text, _digest_lines(ctx, run))
    for quoted, answer in pairs:
        target = find_marker(quoted, ids, last=True) if quoted else None
        if target is None:
            target = find_marker(answer, ids)
            if target is not None:
                answer = _strip_leading_marker(answer)
        if target is None and not quoted and len(ids) == 1:
            target = next(iter(ids))
        if target is None:
            unplaced.append(answer)
        else:
            placed.setdefault(target, []).append(answer)
    results: list[dict[str, Any]] = []
    for thread_id, answers in placed.items():
        first = not any("post_id" in r for r in results)
        done = _place(ctx, user, thread_id, "\n\n".join(answers), first=first)
        if done is None:
            unplaced.extend(answers)
        else:
            results.append(done)
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
        ask_which(ctx.app, ctx.session, user, pending, items)
        reason = Reason.AMBIGUOUS_DIGEST_REPLY.value
    if not results:
        if not unplaced:
            # Nothing written, or nothing we could find: the member is told, with their mail.
            replies.explain(ctx, Reason.EMPTY_BODY.value)
            return Outcome("rejected", reason=Reason.EMPTY_BODY.value, author=user.email)
        return Outcome("held", reason=reason, author=user.email, text="\n\n".join(unplaced))
    return _outcome(results, user, reason)


def _key(line: str) -> str:
    """A line compared with the digest's: width, case, spaces and punctuation ignored (a client
    re-encoding the digest in ISO-2022-JP turns "·" into "?"; quoting adds ">")."""
    return re.sub(r"[\W_]+", "", unicodedata.normalize("NFKC", line)).lower()


def _digest_lines(ctx: InboundContext, run: DigestRun) -> set[str]:
    """The keys of the digest mail's own text lines (empty if that mail is gone, or retention
    dropped its raw bytes: the reply is then placed by the markers it quotes or names alone)."""
    if not run.message_id:
        return set()
    found = ctx.session.execute(
        select(OutboxMessage.raw, OutboxMessage.raw_dropped_at).where(
            OutboxMessage.message_id == run.message_id
        )
    ).first()
    if found is None or found.raw_dropped_at is not None:
        return set()
    raw = found.raw
    body = email.message_from_bytes(raw, policy=email.policy.default).get_body(("plain",))
    text = body.get_content() if body is not None else ""
    return {key for line in text.splitlines() if (key := _key(line))}


# Characters (letters and digits) a re-wrapped piece of a digest line needs to be known as one.
_PIECE = 12
# Lines of a reply read for answers in an unquoted digest (a digest is far shorter).
_MAX_LINES = 5000


def _unquoted_answers(text: str, digest: set[str]) -> list[tuple[str, str]]:
    """(last digest item line above, answer) pairs written into an unquoted copy of the digest.

    Outlook quotes without '>': its reply is the member's text, a 差出人:/From: block and the
    digest as it was. Lines below the copy's first line that are not the digest's are answers
    to the item above them. Only a copy with at least three unquoted digest lines counts, so
    a '>'-quoted digest (whose answers ``quotes.inline_answers`` finds) gives nothing here.
    """
    if not digest:
        return []
    # Plain-text clients re-wrap long lines: a long enough piece of a digest line is the digest's.
    joined = "\n".join(digest)
    pairs: list[tuple[str, str]] = []
    item = ""  # the last digest line above that names an item ("[#123] ...")
    answer: list[str] = []
    copied = 0
    inside = False
    run = ""  # the digest line read so far, when a client wrapped it over several lines
    for line in text.replace("\r\n", "\n").split("\n")[:_MAX_LINES]:
        key = _key(line)
        if run and key and f"{run}{key}" in joined:
            run = f"{run}{key}"
            continue
        run = key if key and (key in digest or (len(key) >= _PIECE and key in joined)) else ""
        if run:
            inside = True
            copied += not line.lstrip().startswith(">")
            if any(map(_key, answer)):
                pairs.append((item, "\n".join(answer).strip()))
            answer = []
            item = line if MARKER.search(line) else item
        elif inside and not line.lstrip().startswith(">"):
            answer.append(line)
    if any(map(_key, answer)):
        pairs.append((item, "\n".join(answer).strip()))
    return pairs if copied >= 3 else []


def _outcome(results: list[dict[str, Any]], user: User, reason: str | None = None) -> Outcome:
    """``replied`` when something was posted (thread_id, post_id and text describe the first
    post; ``results`` lists every post and acknowledgement), else ``acknowledged``."""
    posts = [r for r in results if "post_id" in r]
    first = posts[0] if posts else results[0]
    return Outcome(
        "replied" if posts else "acknowledged",
        reason=reason,
        thread_id=first["thread_id"],
        post_id=first.get("post_id"),
        author=user.email,
        text=first["text"],
        results=results,
    )


def readable_items(
    session: Session, user: User, items: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The items ``user`` may still post to, numbered from 1."""
    out: list[dict[str, Any]] = []
    for item in items:
        thread = session.get(Thread, int(item["thread_id"]))
        if thread is not None and permissions.can_post(session, user, thread.channel):
            out.append({**item, "n": len(out) + 1, "title": thread.title})
    return out


def ask_which(
    app: Flask,
    session: Session,
    user: User,
    pending: PendingReply,
    items: list[dict[str, Any]],
    *,
    again: int = 0,
) -> None:
    """Queue the one short "which thread?" mail for ``pending`` (Reply-To bound to it)."""
    from mailbridge import outbound

    cfg = app.config
    keys = tokens.keys_from_config(cfg)
    reply_to = addresses.encode("which", user.id, pending.id, cfg["MAIL_DOMAIN"], keys)
    outbound.queue_mail(
        app,
        session,
        kind="which",
        dedupe_key=f"which:{pending.id}:{again}",
        to=user,
        template="which_thread",
        context={
            "items": readable_items(session, user, items),
            "text": pending.text,
            "reply_to": reply_to,
        },
        headers={"Reply-To": reply_to},
        urgent=True,
    )


def act_which(ctx: InboundContext) -> Outcome:
    """Post a kept digest-reply text in the thread the member chose by number or marker."""
    token = ctx.destination.token if ctx.destination else None
    pending = ctx.session.get(PendingReply, token.target_id) if token else None
    user = _user(ctx, token.user_id) if token else None
    if pending is None or user is None or pending.user_id != user.id:
        return Outcome("rejected", reason=Reason.BAD_TOKEN.value)
    if pending.resolved_at is not None:
        return Outcome(
            "ignored", reason=Reason.ALREADY_DONE.value, post_id=pending.post_id, author=user.email
        )
    run = ctx.session.get(DigestRun, pending.digest_run_id) if pending.digest_run_id else None
    items = readable_items(ctx.session, user, run_items(run) if run else [])
    answer = unicodedata.normalize("NFKC", quotes.strip_reply(ctx.incoming.text or "").text)
    target = _choice(answer, items)
    result = _place(ctx, user, target, pending.text, first=True) if target else None
    if result is None:
        again = ctx.row.id or 1
        ask_which(ctx.app, ctx.session, user, pending, run_items(run) if run else [], again=again)
        return Outcome(
            "held",
            reason=Reason.AMBIGUOUS_DIGEST_REPLY.value,
            author=user.email,
            text=pending.text,
        )
    pending.resolved_at = utcnow()
    pending.post_id = result.get("post_id")
    return _outcome([result], user)


def _choice(answer: str, items: list[dict[str, Any]]) -> int | None:
    """The thread id the member chose: ``2`` (list number) or ``#123`` (marker)."""
    m = _CHOICE.match(answer)
    ids = {int(i["thread_id"]) for i in items}
    if m is None:
        found = find_marker(answer, ids)
        return found
    if m.group(1):
        marked = int(m.group(1))
        return marked if marked in ids else None
    n = int(m.group(2))
    for item in items:
        if item["n"] == n:
            return int(item["thread_id"])
    return n if n in ids else None
