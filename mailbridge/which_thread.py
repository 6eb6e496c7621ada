"""The "which thread?" question about digest-reply text we could not place, and its answer.

A reply to a digest whose text names no item of it is kept (a PendingReply) and ONE short
mail lists the items by their markers (``which+<token>@``, bound to the kept text). Answering it
with a marker ("#3", "＃３", or the number alone: "3", "３番") posts the kept text there, with
whatever the member wrote beside it, and one short mail says where it went; text with no marker
is kept with it and the question asked again. No text is ever dropped.

A thread the kept text names first thing in a line ("#7 経費精算の件、賛成です。", #7 not in the
digest) is listed too when the member may post in it, and "#7" in the answer posts there
whether listed or not. A marker that names no thread of his is answered: "#7 is not in the
list", with the list again. The question is never sent twice alike: at most one mail per
pending text, and per thing it says, a day (the same answer again gets none: it looped).

The list has no numbering of its own: it read "1. [#3] … 2. [#5] … 3. [#9]", and a manager who
answered "3" meaning [#3] had his text posted in [#9]. A number is a marker, whatever its place.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from babel.lists import format_list
from flask import Flask
from sqlalchemy.orm import Session

from hub import permissions, tokens
from hub.db import utcnow
from hub.errors import Reason
from hub.models import DigestRun, InboundMessage, PendingReply, Thread, User
from hub.plaintext import markdown_text
from hub.text import render_markdown
from mailbridge import addresses, greetings, quotes
from mailbridge.context import InboundContext, Outcome
from mailbridge.digest_copy import MARKER
from mailbridge.digest_place import (
    find_marker,
    member,
    outcome,
    place,
    run_items,
    strip_leading_marker,
)

__all__ = ["act_which", "ask_which", "choices", "readable_items"]

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
# A marker first thing in a line of the kept text ("#7 経費精算の件…"): the thread it names.
_NAMED = re.compile(rf"^[ \t\u3000]*{MARKER.pattern}", re.M)
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


def _postable(session: Session, user: User, thread_id: int) -> Thread | None:
    """The thread ``thread_id`` if ``user`` may post in it (one he may not see is no thread)."""
    thread = session.get(Thread, thread_id)
    if thread is None or not permissions.can_post(session, user, thread.channel):
        return None
    return thread


def choices(
    session: Session, user: User, items: list[dict[str, Any]], text: str
) -> list[dict[str, Any]]:
    """The threads the question lists: those ``text`` names first thing in a line that ``user``
    may post in, then the digest's ``items`` he may still post to."""
    listed = readable_items(session, user, items)
    ids = {int(i["thread_id"]) for i in listed}
    named: list[dict[str, Any]] = []
    for m in _NAMED.finditer(text):
        tid = int(m.group(1))
        thread = _postable(session, user, tid) if tid not in ids else None
        if thread is not None:
            named.append({"thread_id": tid, "title": thread.title})
            ids.add(tid)
    return named + listed


def ask_which(
    app: Flask,
    session: Session,
    user: User,
    pending: PendingReply,
    items: list[dict[str, Any]],
    *,
    posted: list[int] | None = None,
    added: bool = False,
    unknown: int | None = None,
    no_marker: bool = False,
) -> None:
    """Queue the short "which thread?" mail for ``pending`` (Reply-To bound to it), saying
    which answers of the same reply were ``posted`` (read from its stored mail when None) and,
    after an answer, that the text it ``added`` is kept too, that the marker it named is
    ``unknown``, or that it named ``no_marker``. Not sent when a mail saying the same about the
    same text went today (answering it the same way again made a loop of identical mails)."""
    from mailbridge import outbound

    cfg = app.config
    keys = tokens.keys_from_config(cfg)
    reply_to = addresses.encode("which", user.id, pending.id, cfg["MAIL_DOMAIN"], keys)
    if posted is None:
        posted = _posted(session, pending, items)
    markers = format_list([f"#{tid}" for tid in posted], locale=user.locale or "en")
    said = f"{pending.text}\0{unknown}\0{no_marker}".encode()
    outbound.queue_mail(
        app,
        session,
        kind="which",
        dedupe_key=(
            f"which:{pending.id}:{utcnow().date().isoformat()}:"
            f"{hashlib.sha256(said).hexdigest()[:16]}"
        ),
        to=user,
        template="which_thread",
        context={
            "items": choices(session, user, items, pending.text),
            # The kept text as its post will read: Markdown written out in the text part and
            # rendered (sanitised) in the HTML part, never its source ("**bold**").
            "text": markdown_text(pending.text),
            "text_html": render_markdown(pending.text),
            "reply_to": reply_to,
            "posted": markers if posted else "",
            "posted_count": len(posted),
            "added": added,
            "unknown": f"#{unknown}" if unknown is not None else "",
            "no_marker": no_marker,
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
    """Post a kept digest-reply text in the thread the member chose by its marker, with what
    they wrote beside it, and say where it went; text without a marker is kept with the
    earlier text, and a marker that names no thread of theirs is said to be not in the list,
    the question asked again (once a day alike)."""
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
    items = run_items(run) if run else []
    listed = {int(i["thread_id"]) for i in choices(ctx.session, user, items, pending.text)}
    # Our question sent back with nothing written holds no answer (its list has markers).
    stripped = quotes.strip_reply(ctx.incoming.text or "")
    answer = "" if stripped.kept_whole else stripped.text.strip()
    number, outside_ok, said = _choice(answer, listed)
    if _says_nothing(said, (user.name, ctx.incoming.sender_name)):
        said = ""  # "3。よろしくお願いします。" chooses; the mail log keeps the rest
    target = _target(ctx.session, user, number, listed, outside_ok=outside_ok)
    kept = pending.text
    if target is not None and _leading(kept) == target:
        kept = strip_leading_marker(kept)  # "#7 経費精算の件…" posted in #7 as "経費精算の件…"
    text = "\n\n".join(t for t in (kept, said) if t)
    thread = ctx.session.get(Thread, target) if target else None
    was_member = thread is not None and permissions.is_member(ctx.session, user, thread.channel)
    result = place(ctx, user, target, text, first=True) if target else None
    if result is None:
        # Never lost: kept with the earlier text until a thread is named.
        pending.text = "\n\n".join(t for t in (pending.text, said) if t)
        ask_which(
            ctx.app, ctx.session, user, pending, items, added=bool(said),
            unknown=number if target is None else None, no_marker=number is None and not said,
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
    url = f"{ctx.app.config['BASE_URL']}/t/{thread.id}" + (f"#post-{post_id}" if post_id else "")
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


def _choice(answer: str, listed: set[int]) -> tuple[int | None, bool, str]:
    """The marker the member chose, whether it may name a thread outside the list, and what
    else he wrote: a marker first ("#123"; "123" and "123番" only for a listed one), his text
    after it ("3 田中さん、…"); else the first listed marker named in the text, or failing
    that any marker there (to say it is not listed), the text all his ("3月の件は…" names no
    number)."""
    m = _CHOICE.match(answer)
    if m is not None:
        rest = answer[m.end() :]
        cut = _PARTING.match(rest)
        if m.group(1) or m.group(3) or cut or not rest:
            said = rest[cut.end() :].strip() if cut else rest.strip()
            return int(m.group(1) or m.group(2)), bool(m.group(1)), said
    named = find_marker(answer, listed)
    if named is None:
        other = MARKER.search(answer)
        named = int(other.group(1)) if other else None
    return named, False, answer


def _target(
    session: Session, user: User, number: int | None, listed: set[int], *, outside_ok: bool
) -> int | None:
    """The thread the member's ``number`` names: a listed one, or one written first with its
    '#' that he may post in. A bare number names only a listed thread: the list had numbers of
    its own before, and "2" in an answer to such a mail must not land in thread #2."""
    if number is None:
        return None
    if number in listed or (outside_ok and _postable(session, user, number) is not None):
        return number
    return None


def _leading(text: str) -> int | None:
    """The thread a text names first thing ("#7 経費精算の件…" -> 7)."""
    m = _NAMED.match(text)
    return int(m.group(1)) if m else None


def _says_nothing(said: str, names: tuple[str | None, ...]) -> bool:
    """Tell whether what the member wrote beside their choice is only the choice and greetings
    ("お疲れ様です。#18 でお願いします。"); anything more is theirs to post."""
    bare = re.sub(rf"{MARKER.pattern}(?:{_PARTING.pattern})?", " ", said, flags=re.I)
    return bool(_NOTHING.fullmatch(bare)) or greetings.only_greetings(bare, names)
