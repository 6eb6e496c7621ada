"""The mail about a post, one per recipient: threaded under the mails the member already has of
the thread, rendered once per language and reason, with their own links (preferences, files);
and the fan-out handlers that queue it (who gets it: ``notifications``)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from urllib.parse import quote

from flask import Flask
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from hub import tokens
from hub.models import Event, Mention, OutboxMessage, Post, Thread, User, Via
from hub.plaintext import markdown_text
from hub.services import attachments as attachment_service
from hub.text import render_markdown, show_names
from mailbridge import outbound, quiet
from mailbridge.notifications import (
    Recipient,
    mention_recipient,
    post_key,
    post_recipients,
    takes_digest,
)

_PREFS = "@@HIROBA-PREFS@@"
_ATTACH = "@@HIROBA-ATTACHMENT-{}@@"


def on_post(app: Flask, session: Session, event: Event) -> None:
    """Fan-out handler for thread_created and post_created."""
    post = session.get(Post, event.post_id) if event.post_id else None
    if post is None:
        return
    recipients = post_recipients(session, post, new_thread=event.kind == "thread_created")
    queue_post_mails(app, session, post, recipients, quiet.clock_now())


def on_mention(app: Flask, session: Session, event: Event) -> None:
    """Fan-out handler for member_mentioned: the mentioned member hears of it (unless off)."""
    post = session.get(Post, event.post_id) if event.post_id else None
    user = session.get(User, event.subject_id) if event.subject_id else None
    found = mention_recipient(session, post, user) if post and user else None
    if post is None or found is None:
        return
    # A name an edit added is news about a post the member may already have had mail about
    # (every post, a reply in their thread): that mail's key would count it as sent. It goes
    # under its own key, once; a mention in a new post keeps the post's (one mail, not two).
    edit = bool((event.data or {}).get("edit"))
    queue_post_mails(app, session, post, [found], quiet.clock_now(), edit=edit)


def anchor_id(session: Session, thread: Thread, domain: str) -> str:
    """The Message-ID every mail of a thread refers to: the first mail's own id if the thread
    began by mail, else the id we gave its first post."""
    if thread.message_id:
        return thread.message_id
    first = session.scalar(
        select(Post).where(Post.thread_id == thread.id).order_by(Post.id).limit(1)
    )
    if first is None:
        return f"thread.{thread.id}@{domain}"
    if not first.message_id:
        first.message_id = f"post.{first.id}@{domain}"
    return first.message_id


def _seen_as(post: Any, user_id: int, domain: str) -> str:
    """The Message-ID under which the member has ``post`` (a row: id, author_id, via,
    message_id) in their mailbox: their own mail's if they wrote it by mail (it sits in their
    Sent folder, so a reply threads under it), else our mail's about it to them."""
    if post.author_id == user_id and post.via == Via.EMAIL and post.message_id:
        return str(post.message_id)
    return recipient_message_id(post.id, user_id, domain)


def recipient_message_id(post_id: int, user_id: int, domain: str, *, edit: bool = False) -> str:
    """The Message-ID of the mail about one post to one member (stable, unique per row); the
    mention an edit added has its own (a client drops a second mail with the first one's)."""
    return f"p{post_id}.u{user_id}{'.edit' if edit else ''}@{domain}"


def _mentioned(session: Session, post: Post) -> list[tuple[str, str]]:
    """The (email, name) of the members ``post`` mentions, to show its @handles as names."""
    found = session.execute(
        select(User.email, User.name)
        .join(Mention, Mention.user_id == User.id)
        .where(Mention.post_id == post.id)
    )
    return [(email, name) for email, name in found]


def attachment_url(app: Flask, user_id: int, attachment_id: int, filename: str) -> str:
    """A signed download link bound to one member (checked against their access on use)."""
    tok = tokens.attachment_signer(app.config).dumps([user_id, attachment_id])
    return f"{app.config['BASE_URL']}/mail/file/{tok}/{quote(filename)}"


def queue_post_mails(
    app: Flask,
    session: Session,
    post: Post,
    recipients: list[Recipient],
    now: datetime,
    *,
    edit: bool = False,
    leave_to_digest: bool = True,
) -> int:
    """Queue one mail about ``post`` per recipient (rendered once per language and reason);
    ``edit``: the mentions an edit added (see ``post_key``); ``leave_to_digest``: outside
    working time a digest member's mail is left to their digest (False: it waits for them)."""
    if not recipients:
        return 0
    cfg = app.config
    domain, base = cfg["MAIL_DOMAIN"], cfg["BASE_URL"]
    thread, channel = post.thread, post.thread.channel
    key = post_key(post.id, edit=edit)
    done = set(
        session.scalars(select(OutboxMessage.to_addr).where(OutboxMessage.dedupe_key == key))
    )
    if not post.message_id:
        post.message_id = f"post.{post.id}@{domain}"
    anchor = anchor_id(session, thread, domain)
    # The thread's first post and the last few before this one, as each recipient has them.
    seen = select(Post.id, Post.author_id, Post.via, Post.message_id).where(
        Post.thread_id == thread.id
    )
    first = session.execute(seen.order_by(Post.id).limit(1)).one()
    first_id = first.id
    earlier = list(
        session.execute(seen.where(Post.id < post.id).order_by(Post.id.desc()).limit(8))
    )[::-1]
    mentioned = _mentioned(session, post)
    attachments = list(post.attachments)
    source = _images_linked(post.body, attachments)
    body = show_names(source, mentioned)
    author_name = post.author.name if post.author else "Hiroba"
    context: dict[str, Any] = {
        "post": post,
        "thread": thread,
        "channel": channel,
        "channel_purpose": " ".join(channel.purpose.split()),
        "author_name": author_name,
        # The text part reads as text (Markdown written out, as the HTML part renders it);
        # names are put in after, so a name's own * or _ is not taken for Markdown.
        "body_text": show_names(markdown_text(source), mentioned),
        "body_html": render_markdown(body),
        "thread_url": f"{base}/t/{thread.id}#p{post.id}",
        "attachments": [
            {"filename": a.filename, "url": _ATTACH.format(i)} for i, a in enumerate(attachments)
        ],
        "base_url": base,
        "mail_domain": domain,
        "prefs_url": _PREFS,
    }
    rendered: dict[tuple[str, str], outbound.Rendered] = {}
    rows: list[dict[str, Any]] = []
    for r in recipients:
        user = r.user
        if user.email in done or not user.active or user.bouncing:
            continue
        not_before = quiet.release_at(user, now)
        if (
            leave_to_digest
            and not_before > now
            and takes_digest(user, r.channel_delivery)
            and r.reason != "own"
        ):
            # Outside working time: the member's next digest carries it instead.
            continue
        look = rendered.get((user.locale, r.reason))
        if look is None:
            look = outbound.render_email(
                app, "post_notification", user.locale, recipient=None, reason=r.reason, **context
            )
            rendered[(user.locale, r.reason)] = look
        look = _personal(app, look, user, attachments)
        own_id = recipient_message_id(post.id, user.id, domain, edit=edit)
        refs = [anchor] + [_seen_as(p, user.id, domain) for p in [first, *earlier]]
        refs = [x for i, x in enumerate(refs) if x and x not in refs[:i] and x != own_id]
        if post.id == first_id and not thread.message_id:
            refs = []
        headers = {
            "Reply-To": outbound.reply_address(app, user.id, thread.id),
            **outbound.list_headers(app, user.id, channel),
        }
        if refs:
            headers["In-Reply-To"] = f"<{refs[-1]}>"
            headers["References"] = " ".join(f"<{x}>" for x in refs)
        rows.append(
            outbound.mail_values(
                app,
                kind="post",
                dedupe_key=key,
                user_id=user.id,
                to_addr=user.email,
                to_name=user.name,
                rendered=look,
                from_name=f"{author_name} via Hiroba",
                headers=headers,
                message_id=own_id,
                not_before=not_before,
            )
        )
        done.add(user.email)
    if rows:
        # One multi-row insert (no ORM object per mail); nothing reads these rows back here.
        session.execute(insert(OutboxMessage), rows)
    session.flush()
    return len(rows)


def body_for(app: Flask, post: Post, user_id: int) -> str:
    """The post's body for a mail to one member: the images it shows in place point at that
    member's signed links (a mail of its own about the post, e.g. "your post was hidden")."""
    files = {a.id: a for a in post.attachments}

    def link(m: re.Match[str]) -> str:
        a = files.get(int(m.group("id")))
        if a is None:
            return m.group(0)
        return f"![{m.group('name')}]({attachment_url(app, user_id, a.id, a.filename)})"

    return attachment_service.SHOWN.sub(link, post.body)


def _images_linked(body: str, attachments: list[Any]) -> str:
    """The post's body with the images it shows in place (a mail's inline photo) pointing at
    the member's signed link to the file (``_ATTACH``, filled in per member): a path on the hub
    means nothing in a mail client. The text part reads "IMG_0123.png (https://…)" there."""
    index = {a.id: i for i, a in enumerate(attachments)}

    def link(m: re.Match[str]) -> str:
        i = index.get(int(m.group("id")))
        return m.group(0) if i is None else f"![{m.group('name')}]({_ATTACH.format(i)})"

    return attachment_service.SHOWN.sub(link, body)


def _personal(
    app: Flask, look: outbound.Rendered, user: User, attachments: list[Any]
) -> outbound.Rendered:
    """Fill the per-member links into a mail rendered once for many."""
    swaps = [(_PREFS, outbound.prefs_url(app, user.id))]
    swaps += [
        (_ATTACH.format(i), attachment_url(app, user.id, a.id, a.filename))
        for i, a in enumerate(attachments)
    ]
    text, html = look.text, look.html
    for old, new in swaps:
        text = text.replace(old, new)
        html = html.replace(old, new) if html is not None else None
    return outbound.Rendered(look.subject, text, html)
