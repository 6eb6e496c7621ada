"""Act on a routed, authorised message: call the same hub.services the web calls.

``act_all`` handles each destination of a message once (its DESTINATION_RULES, then ``act``)
and combines the outcomes; a refused destination is explained by mail.

Dispatch is by ``Destination.kind``. A HubError raised by a service becomes a rejected Outcome
carrying its reason, so permission rules live only in the services; the savepoint around each
action rolls back whatever the service had written before it refused.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from hub.errors import HubError, Invalid, NotFound, Reason
from hub.models import Attachment, OutboxMessage, Post, Thread, Via
from hub.services import attachments as attachment_service
from hub.services import channels, thread_pages, threads
from mailbridge import (
    commands,
    culture_mail,
    digest_replies,
    explanation_answers,
    inline_images,
    parse,
    quotes,
    replies,
    rules,
)
from mailbridge.context import InboundContext, Outcome
from mailbridge.parse import Incoming

Handler = Callable[[InboundContext], Outcome]


def act(ctx: InboundContext) -> Outcome:
    """Carry out what the message asks; a service's refusal becomes a rejected Outcome."""
    kind = ctx.destination.kind if ctx.destination else ""
    handler = HANDLERS.get(kind)
    author = ctx.sender.email if ctx.sender else None
    if handler is None:
        return Outcome("rejected", Reason.UNKNOWN_ADDRESS, author=author)
    try:
        with ctx.session.begin_nested():
            return handler(ctx)
    except HubError as err:
        return Outcome(
            "rejected", str(err.reason), author=author, text=ctx.row.text, trimmed=ctx.row.trimmed
        )


def act_all(ctx: InboundContext) -> Outcome:
    """Handle each destination once (rules, then the action) and combine the outcomes.

    Only the first post made carries the mail's Message-ID (it is unique on posts): later
    destinations see the message without one.
    """
    original = ctx.incoming
    for n, (rcpt, dest) in enumerate(ctx.destinations):
        ctx.destination, ctx.rcpt = dest, rcpt
        outcome = handle_one(ctx, n, original)
        ctx.handled.append((rcpt, outcome))
        if ctx.incoming.message_id and (outcome.post_id is not None or outcome.results):
            ctx.incoming = dataclasses.replace(ctx.incoming, message_id=None)
    ctx.incoming = original
    return combine(ctx.handled)


def handle_one(ctx: InboundContext, n: int, original: Incoming) -> Outcome:
    """One destination: its rules, then its action; a refusal is explained by mail."""
    with ctx.session.no_autoflush:
        verdict = next(
            (v for rule in rules.DESTINATION_RULES if (v := rule(ctx)) is not None), None
        )
    if verdict is None:
        outcome = act(ctx)
        if outcome.status == "rejected" and replies.explains(outcome.reason):
            replies.explain(ctx, str(outcome.reason), n=n, incoming=original)
        return outcome
    if verdict.explain:
        replies.explain(ctx, str(verdict.reason), n=n, incoming=original)
    return Outcome(
        verdict.status,
        verdict.reason,
        author=ctx.sender.email if ctx.sender else None,
        text=ctx.row.text,
        trimmed=ctx.row.trimmed,
    )


def combine(handled: list[tuple[str | None, Outcome]]) -> Outcome:
    """The message's outcome: the first successful destination's (else the first one's), with
    ``results`` listing every destination (a digest reply's posts each get an entry)."""
    if len(handled) == 1:
        return handled[0][1]
    entries: list[dict[str, Any]] = []
    for rcpt, out in handled:
        base = {"rcpt": rcpt, "status": out.status, "reason": str(out.reason or "") or None}
        if out.results:
            entries += [{**base, "thread_id": None, "post_id": None, **r} for r in out.results]
        else:
            entries.append(
                {**base, "thread_id": out.thread_id, "post_id": out.post_id, "text": out.text}
            )
    first = next((o for _, o in handled if o.status not in rules.UNSUCCESSFUL), handled[0][1])
    return dataclasses.replace(first, results=entries)


def _posted(status: str, ctx: InboundContext, post: Post) -> Outcome:
    return Outcome(
        status,
        None,
        thread_id=post.thread_id,
        post_id=post.id,
        author=ctx.sender.email if ctx.sender else None,
        text=post.body,
        trimmed=post.trimmed,
        kept_whole=post.kept_whole,
    )


def start_thread(ctx: InboundContext) -> Outcome:
    """``<slug>@``: a new thread, the subject as its title."""
    assert ctx.destination is not None and ctx.sender is not None
    channel = channels.find_channel(ctx.session, ctx.destination.slug or "")
    if channel is None:
        raise NotFound(Reason.UNKNOWN_ADDRESS, ctx.destination.slug or "")
    stored = store_attachments(ctx)
    files = [att for _, att in stored]
    post = threads.start_thread(
        ctx.session,
        author=ctx.sender,
        channel=channel,
        # "Re: Not posted: 予算", the answer to our explanation, opens "予算".
        title=explanation_answers.original_subject(ctx.app, ctx.incoming.subject),
        body=with_inline_images(ctx.row.text or "", stored),
        via=Via.EMAIL,
        message_id=ctx.incoming.message_id,
        trimmed=ctx.row.trimmed,
        attachments=files,
    )
    post.kept_whole = ctx.kept_whole
    return _posted("posted", ctx, post)


def reply(ctx: InboundContext) -> Outcome:
    """``reply+<token>@``: a reply in the token's thread, or a reaction for a lone "+1"."""
    assert ctx.destination is not None and ctx.destination.token is not None
    assert ctx.sender is not None
    thread = threads.get_visible_thread(
        ctx.session, ctx.destination.token.target_id, viewer=ctx.sender
    )
    # ``row.text`` is the reply already stripped by the rules: no second pass over the quotes.
    emoji = quotes.reaction_of(ctx.row.text or "")
    if emoji and not ctx.incoming.attachments:
        post = replied_post(ctx, thread)
        threads.react(ctx.session, user=ctx.sender, post=post, emoji=emoji, via=Via.EMAIL)
        return Outcome(
            "reacted",
            None,
            thread_id=thread.id,
            post_id=post.id,
            author=ctx.sender.email,
            text=emoji,
            trimmed=ctx.row.trimmed,
        )
    acknowledged = culture_mail.ack_in_thread(ctx, thread)
    if acknowledged is not None:
        return acknowledged
    stored = store_attachments(ctx)
    files = [att for _, att in stored]
    post = threads.reply(
        ctx.session,
        author=ctx.sender,
        thread=thread,
        body=with_inline_images(ctx.row.text or "", stored),
        via=Via.EMAIL,
        message_id=ctx.incoming.message_id,
        trimmed=ctx.row.trimmed,
        attachments=files,
    )
    post.kept_whole = ctx.kept_whole
    return _posted("replied", ctx, post)


# "post:12", or "post:12:mention" for a name an edit added (notifications.post_key).
_POST_KEY = re.compile(r"^post:(\d+)(?::mention)?$")


def replied_post(ctx: InboundContext, thread: Thread) -> Post:
    """The post a reply answers: the one its In-Reply-To names, else the thread's latest."""
    for mid in (*reversed(ctx.incoming.in_reply_to), *reversed(ctx.incoming.references)):
        post = ctx.session.scalar(select(Post).where(Post.message_id == mid))
        if post is None:
            key = ctx.session.scalar(
                select(OutboxMessage.dedupe_key).where(OutboxMessage.message_id == mid)
            )
            m = _POST_KEY.match(key or "")
            post = ctx.session.get(Post, int(m.group(1))) if m else None
        if post is not None and post.thread_id == thread.id:
            return post
    latest = thread_pages.latest_post_id(ctx.session, thread)
    post = ctx.session.get(Post, latest)
    if post is None:
        raise NotFound(Reason.NOT_FOUND, f"thread {thread.id} has no posts")
    return post


def store_attachments(ctx: InboundContext) -> list[tuple[parse.Attachment, Attachment]]:
    """Store the mail's files like web uploads (same limits and types), each with the part it
    came from.

    A file the hub refuses refuses the mail (the member is told why), except an inline image
    such as a signature logo, which is left out.
    """
    if ctx.sender is None:
        return []
    limits = attachment_service.Limits.from_config(ctx.app.config)
    stored = []
    for part in ctx.incoming.attachments:
        try:
            att = attachment_service.store(
                ctx.session,
                uploader=ctx.sender,
                filename=part.filename or "attachment",
                content_type=part.content_type,
                data=part.data,
                limits=limits,
            )
        except Invalid:
            if part.inline or not part.data:
                continue
            raise
        if part.content_id:
            att.content_id = part.content_id[:255]
        stored.append((part, att))
    return stored


def with_inline_images(text: str, stored: list[tuple[parse.Attachment, Attachment]]) -> str:
    """Show the mail's inline images where it shows them (``inline_images``), each as a
    Markdown image of its stored file (``attachments.in_body``); the others stay files."""
    images = [(part, att) for part, att in stored if attachment_service.is_inline(att)]
    by_cid = {part.content_id: attachment_service.in_body(att) for part, att in images}
    text = inline_images.resolved(text, {cid: md for cid, md in by_cid.items() if cid})
    shown = attachment_service.shown_in(text)
    return inline_images.in_place(
        text,
        [
            (part.place, attachment_service.in_body(att))
            for part, att in images
            if part.place is not None and att.id not in shown
        ],
    )


def help_command(ctx: InboundContext) -> Outcome:
    return commands.run(ctx)


HANDLERS: dict[str, Handler] = {
    "channel": start_thread,
    "reply": reply,
    "help": help_command,
    "digest": digest_replies.act,
    "which": digest_replies.act_which,
    "ack": culture_mail.act_ack,
    "thanks": culture_mail.act_thanks,
    "thanks_value": culture_mail.act_thanks_value,
    "welcome": culture_mail.act_welcome,
    "rules": culture_mail.act_rules,
}
