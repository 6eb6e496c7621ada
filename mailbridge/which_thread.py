"""The "which thread?" question about digest-reply text we could not place, and its answer.

A reply to a digest whose text names no item of it is kept (a PendingReply) and ONE short
mail lists the items (``which+<token>@``, bound to the kept text). Answering it with the number
(or the marker) posts the kept text, with whatever the member wrote beside the number; text
with no number is kept with it and the question asked again. No text is ever dropped.
"""

from __future__ import annotations

import re
from typing import Any

from babel.lists import format_list
from flask import Flask
from sqlalchemy.orm import Session

from hub import permissions, tokens
from hub.db import utcnow
from hub.errors import Reason
from hub.models import DigestRun, InboundMessage, PendingReply, Thread, User
from mailbridge import addresses, greetings, quotes
from mailbridge.context import InboundContext, Outcome
from mailbridge.digest_copy import MARKER
from mailbridge.digest_place import find_marker, member, outcome, place, run_items

__all__ = ["act_which", "ask_which", "readable_items"]

# An answer to "which thread?": a marker or a list number ("3", "３番"), first thing in the text.
_CHOICE = re.compile(r"\s*(?:[\[［]?[#＃](\d{1,10})[\]］]?|(\d{1,4})(?!\d)(\s*番目?)?)")
# What parts the number from the member's text ("3 田中さん…", "3。", "3です。"), or follows
# it saying no more ("3でお願いします", "3 please"); "3月の件" is text, not the number 3.
_PARTING = re.compile(
    r"(?:[\s.．。、,，:：)）!！]|です|でお願い(?:します|いたします|致します)"
    r"|に(?:投稿して)?(?:ください|下さい|お願いします)|へ(?:お願いします)?|please\b)+",
    re.I,
)
# Brackets and stops around a choice are no text.
_NOTHING = re.compile(r"[\s\-‐–—―_=~*・·•.…()（）\[\]［］「」、。,，:：!！?？]*")


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
    user = member(ctx, token.user_id) if token else None
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
    result = place(ctx, user, target, text, first=True) if target else None
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
    return outcome([result], user)


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
