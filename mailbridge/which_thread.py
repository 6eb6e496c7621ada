"""The "which thread?" question about digest-reply text we could not place, and its answer.

A reply to a digest whose text names no item of it is kept (a PendingReply) and ONE short
mail lists the items by their markers (``which+<token>@``, bound to the kept text). Answering it
with a marker ("#3", "＃３", or the number alone: "3", "３番") posts the kept text there, with
whatever the member wrote beside it, and one short mail says where it went; text with no marker
is kept with it and the question asked again. No text is ever dropped.

The list has no numbering of its own: it read "1. [#3] … 2. [#5] … 3. [#9]", and a manager who
answered "3" meaning [#3] had his text posted in [#9]. A number is a marker, whatever its place.
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

# An answer to "which thread?": a marker, with or without its '#' ("#3", "［＃３］", "3", "３番"),
# first thing in the text.
_CHOICE = re.compile(r"\s*(?:[\[［]?[#＃](\d{1,10})[\]］]?|(\d{1,10})(?!\d)(\s*番目?)?)")
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
    """The items ``user`` may still post to, with their threads' titles as they are now."""
    out: list[dict[str, Any]] = []
    for item in items:
        thread = session.get(Thread, int(item["thread_id"]))
        if thread is not None and permissions.can_post(session, user, thread.channel):
            out.append({**item, "title": thread.title})
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
    thread = ctx.session.get(Thread, target) if target else None
    was_member = thread is not None and permissions.is_member(ctx.session, user, thread.channel)
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
    if thread is not None:  # placed, so it exists
        # Posting in an open channel joins it (as on the web): the member hears that too.
        joined = not was_member and permissions.is_member(ctx.session, user, thread.channel)
        _tell_placed(ctx, user, pending, thread, result, joined=joined)
    return outcome([result], user)


def _tell_placed(
    ctx: InboundContext,
    user: User,
    pending: PendingReply,
    thread: Thread,
    result: dict[str, Any],
    *,
    joined: bool,
) -> None:
    """Queue one short mail saying where the answer went ("Posted: [#3] title", a link), under
    the member's answer: he is in a dialogue with the hub and must know where his text is.
    Its Reply-To is the thread's, as a post mail's is, so answering it writes more there."""
    from mailbridge import outbound

    post_id = result.get("post_id")
    url = f"{ctx.app.config['BASE_URL']}/t/{thread.id}" + (f"#p{post_id}" if post_id else "")
    headers = {"Reply-To": outbound.reply_address(ctx.app, user.id, thread.id)}
    if ctx.incoming.message_id:
        headers["In-Reply-To"] = headers["References"] = f"<{ctx.incoming.message_id}>"
    outbound.queue_mail(
        ctx.app,
        ctx.session,
        kind="which_posted",
        dedupe_key=f"which-posted:{pending.id}",
        to=user,
        template="which_posted",
        context={
            "thread": thread,
            "channel": thread.channel,
            "thread_url": url,
            "posted": post_id is not None,
            "joined": joined,
        },
        headers=headers,
        urgent=True,
    )


def _choice(answer: str, items: list[dict[str, Any]]) -> tuple[int | None, str]:
    """The thread id the member chose and what else they wrote: a marker first (``#123``, or
    ``123``, "123番"), their text after it ("3 田中さん、…"); else a marker named in the text,
    which is all theirs ("3月の件は…" names no number)."""
    ids = {int(i["thread_id"]) for i in items}
    m = _CHOICE.match(answer)
    if m is not None:
        rest = answer[m.end() :]
        cut = _PARTING.match(rest)
        if m.group(1) or m.group(3) or cut or not rest:
            return _chosen(m, ids), rest[cut.end() :].strip() if cut else rest.strip()
    return find_marker(answer, ids), answer


def _says_nothing(said: str, names: tuple[str | None, ...]) -> bool:
    """Tell whether what the member wrote beside their choice is only the choice and greetings
    ("お疲れ様です。#18 でお願いします。"); anything more is theirs to post."""
    bare = re.sub(rf"{MARKER.pattern}(?:{_PARTING.pattern})?", " ", said, flags=re.I)
    return bool(_NOTHING.fullmatch(bare)) or greetings.only_greetings(bare, names)


def _chosen(m: re.Match[str], ids: set[int]) -> int | None:
    """The thread id a ``_CHOICE`` match names ("3" is [#3], as "#3" is), if it is listed."""
    marked = int(m.group(1) or m.group(2))
    return marked if marked in ids else None
