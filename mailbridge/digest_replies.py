"""Replies to a digest (``digest+<token>@``) and to a "which thread?" question (``which+<token>@``).

A digest lists items from several threads, each with a marker like ``[#123]`` (the thread id).
Routing of the reply's text, in order:

1. text written under a quoted item (inline, as every common client quotes) goes to the thread
   of the last marker in the quoted block just above it — one post per thread answered;
2. a top-posted text naming a marker ("#123 了解です") goes to that thread;
3. a top-posted text to a digest of a single thread goes to that thread;
4. anything else is kept as a PendingReply and ONE short "which thread?" mail lists the items
   (and says which answers of the reply were posted); answering it with the number (or the
   marker) posts the kept text, with whatever the member wrote beside the number; text with
   no number is kept with it and the question asked again. No text is ever dropped.

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

from babel.lists import format_list
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub import permissions, tokens
from hub.db import utcnow
from hub.errors import HubError, Reason
from hub.models import (
    Announcement,
    DigestRun,
    InboundMessage,
    OutboxMessage,
    PendingReply,
    Thread,
    User,
    Via,
)
from hub.services import announcements
from hub.services import threads as thread_service
from mailbridge import addresses, culture_mail, digest_copy, greetings, quotes, replies
from mailbridge.context import InboundContext, Outcome
from mailbridge.digest_copy import MARKER

__all__ = ["act", "act_which", "ask_which", "find_marker", "run_items"]

# An answer to "which thread?": a marker or a list number ("3", "３番"), first thing in the text.
_CHOICE = re.compile(r"\s*(?:[\[［]?[#＃](\d{1,10})[\]］]?|(\d{1,4})(?!\d)(\s*番目?)?)")
# What parts the number from the member's text ("3 田中さん…", "3。", "3です。"), or follows
# it saying no more ("3でお願いします", "3 please"); "3月の件" is text, not the number 3.
_PARTING = re.compile(
    r"(?:[\s.．。、,，:：)）!！]|です|でお願い(?:します|いたします|致します)"
    r"|に(?:投稿して)?(?:ください|下さい|お願いします)|へ(?:お願いします)?|please\b)+",
    re.I,
)

# A line of nothing but rule characters is no text; nor are brackets and stops around a choice.
_RULE = re.compile(r"[\s\-‐–—―_=~*・·•.…]*")
_NOTHING = re.compile(r"[\s\-‐–—―_=~*・·•.…()（）\[\]［］「」、。,，:：!！?？]*")


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
    copy = digest_copy.unquoted_answers(text, _digest_lines(ctx, run))
    pairs = quotes.inline_answers(text) + copy
    for quoted, answer in pairs:
        if _RULE.fullmatch(answer):
            continue  # "---": the rule Outlook on the web draws above its reply header
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
    return _outcome(results, user, reason, trimmed=trimmed or None)


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


def _outcome(
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
    posted: list[int] | None = None,
    added: bool = False,
) -> None:
    """Queue the one short "which thread?" mail for ``pending`` (Reply-To bound to it), saying
    which answers of the same reply were ``posted`` (read from its stored mail when None) and,
    when the member's answer ``added`` text to the kept one, that it is kept too."""
    from mailbridge import outbound

    cfg = app.config
    keys = tokens.keys_from_config(cfg)
    reply_to = addresses.encode("which", user.id, pending.id, cfg["MAIL_DOMAIN"], keys)
    if posted is None:
        posted = _posted(session, pending, items)
    markers = format_list([f"#{tid}" for tid in posted], locale=user.locale or "en")
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
            "posted": markers if posted else "",
            "posted_count": len(posted),
            "added": added,
        },
        headers={"Reply-To": reply_to},
        urgent=True,
    )


def _posted(session: Session, pending: PendingReply, items: list[dict[str, Any]]) -> list[int]:
    """The items the reply that left ``pending`` answered and were posted."""
    row = session.get(InboundMessage, pending.inbound_id) if pending.inbound_id else None
    ids = {int(i["thread_id"]) for i in items}
    return [
        int(r["thread_id"])
        for r in (row.results or [] if row is not None else [])
        if "post_id" in r and r.get("thread_id") in ids
    ]


def act_which(ctx: InboundContext) -> Outcome:
    """Post a kept digest-reply text in the thread the member chose by number or marker, with
    what they wrote beside the number; text without a number is kept with the earlier text and
    the question is asked again."""
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
    # Our question sent back with nothing written holds no answer (its list has markers).
    stripped = quotes.strip_reply(ctx.incoming.text or "")
    target, said = _choice("" if stripped.kept_whole else stripped.text.strip(), items)
    if _says_nothing(said, (user.name, ctx.incoming.sender_name)):
        said = ""  # "3。よろしくお願いします。" chooses; the mail log keeps the rest
    text = "\n\n".join(t for t in (pending.text, said) if t)
    result = _place(ctx, user, target, text, first=True) if target else None
    if result is None:
        pending.text = text  # never lost: kept with the earlier text until a thread is named
        again = ctx.row.id or 1
        ask_which(
            ctx.app, ctx.session, user, pending, run_items(run) if run else [],
            again=again, added=bool(said),
        )  # fmt: skip
        return Outcome(
            "held",
            reason=Reason.AMBIGUOUS_DIGEST_REPLY.value,
            author=user.email,
            text=pending.text,
        )
    pending.resolved_at = utcnow()
    pending.post_id = result.get("post_id")
    return _outcome([result], user)


def _choice(answer: str, items: list[dict[str, Any]]) -> tuple[int | None, str]:
    """The thread id the member chose and what else they wrote: ``2`` (list number, "2番") or
    ``#123`` (marker) first, their text after it ("3 田中さん、…"); else a marker named in the
    text, which is all theirs ("3月の件は…" names no number)."""
    ids = {int(i["thread_id"]) for i in items}
    m = _CHOICE.match(answer)
    if m is not None:
        rest = answer[m.end() :]
        cut = _PARTING.match(rest)
        if m.group(1) or m.group(3) or cut or not rest:
            return _chosen(m, items, ids), rest[cut.end() :].strip() if cut else rest.strip()
    return find_marker(answer, ids), answer


def _says_nothing(said: str, names: tuple[str | None, ...]) -> bool:
    """Tell whether what the member wrote beside their choice is only the choice and greetings
    ("お疲れ様です。#18 でお願いします。"); anything more is theirs to post."""
    bare = re.sub(rf"{MARKER.pattern}(?:{_PARTING.pattern})?", " ", said, flags=re.I)
    return bool(_NOTHING.fullmatch(bare)) or greetings.only_greetings(bare, names)


def _chosen(m: re.Match[str], items: list[dict[str, Any]], ids: set[int]) -> int | None:
    """The thread id a ``_CHOICE`` match names, if it is one of ``items``."""
    if m.group(1):
        marked = int(m.group(1))
        return marked if marked in ids else None
    n = int(m.group(2))
    for item in items:
        if item["n"] == n:
            return int(item["thread_id"])
    return n if n in ids else None
