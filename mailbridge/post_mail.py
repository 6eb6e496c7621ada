"""The mail about a post, one per recipient: threaded under the mails the member already has of
the thread (``post_threading``), rendered once per language and reason, with their own links
(preferences, files); and the fan-out handlers that queue it (who gets it: ``notifications``)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

from flask import Flask
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from hub import tokens
from hub.models import Event, Mention, OutboxMessage, Post, User
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
from mailbridge.post_threading import Threading, recipient_message_id

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
    key = post_key(post.id, edit=edit)
    done = set(
        session.scalars(select(OutboxMessage.to_addr).where(OutboxMessage.dedupe_key == key))
    )
    mail = _PostMail.prepare(app, session, post, edit=edit)
    rows: list[dict[str, Any]] = []
    for r in recipients:
        user = r.user
        if user.email in done or not user.active or user.bouncing:
            continue
        not_before = quiet.release_at(user, now)
        if leave_to_digest and _left_to_digest(r, not_before, now):
            # Outside working time: the member's next digest carries it instead.
            continue
        rows.append(mail.row_for(r, key, not_before))
        done.add(user.email)
    if rows:
        # One multi-row insert (no ORM object per mail); nothing reads these rows back here.
        session.execute(insert(OutboxMessage), rows)
    session.flush()
    return len(rows)


def _left_to_digest(r: Recipient, not_before: datetime, now: datetime) -> bool:
    """Whether the mail to ``r``, due only at ``not_before``, is left to their next digest."""
    return not_before > now and takes_digest(r.user, r.channel_delivery) and r.reason != "own"


@dataclass(frozen=True, slots=True)
class _PostMail:
    """The mail about one post, the same for every recipient but for their links and the
    mails of the thread they already have; rendered once per language and reason."""

    app: Flask
    post: Post
    edit: bool
    threading: Threading
    attachments: list[Any]
    context: dict[str, Any]
    looks: dict[tuple[str, str], outbound.Rendered] = field(default_factory=dict)

    @classmethod
    def prepare(cls, app: Flask, session: Session, post: Post, *, edit: bool) -> _PostMail:
        """Give ``post`` its Message-ID and read what every mail about it shares."""
        domain = app.config["MAIL_DOMAIN"]
        if not post.message_id:
            post.message_id = f"post.{post.id}@{domain}"
        threading = Threading.read(session, post, domain)
        attachments = list(post.attachments)
        context = _template_context(app, session, post, attachments)
        return cls(app, post, edit, threading, attachments, context)

    def row_for(self, r: Recipient, key: str, not_before: datetime) -> dict[str, Any]:
        """The outbox row of the mail to one recipient."""
        app, user, thread = self.app, r.user, self.post.thread
        domain = app.config["MAIL_DOMAIN"]
        own_id = recipient_message_id(self.post.id, user.id, domain, edit=self.edit)
        headers = {
            "Reply-To": outbound.reply_address(app, user.id, thread.id),
            **outbound.list_headers(app, user.id, thread.channel),
        }
        refs = self.threading.references(user.id, own_id)
        if refs:
            headers["In-Reply-To"] = f"<{refs[-1]}>"
            headers["References"] = " ".join(f"<{x}>" for x in refs)
        return outbound.mail_values(
            app,
            kind="post",
            dedupe_key=key,
            user_id=user.id,
            to_addr=user.email,
            to_name=user.name,
            rendered=self.look_for(user, r.reason),
            from_name=f"{self.context['author_name']} via Hiroba",
            headers=headers,
            message_id=own_id,
            not_before=not_before,
        )

    def look_for(self, user: User, reason: str) -> outbound.Rendered:
        """The mail as ``user`` reads it: rendered once per language and reason, their links in."""
        look = self.looks.get((user.locale, reason))
        if look is None:
            look = outbound.render_email(
                self.app,
                "post_notification",
                user.locale,
                recipient=None,
                reason=reason,
                **self.context,
            )
            self.looks[(user.locale, reason)] = look
        return _personal(self.app, look, user, self.attachments)


def _template_context(
    app: Flask, session: Session, post: Post, attachments: list[Any]
) -> dict[str, Any]:
    """What the post_notification templates read, with placeholders for per-member links."""
    domain, base = app.config["MAIL_DOMAIN"], app.config["BASE_URL"]
    thread, channel = post.thread, post.thread.channel
    mentioned = _mentioned(session, post)
    source = _images_linked(post.body, attachments)
    return {
        "post": post,
        "thread": thread,
        "channel": channel,
        "channel_purpose": " ".join(channel.purpose.split()),
        "author_name": post.author.name if post.author else "Hiroba",
        # The text part reads as text (Markdown written out, as the HTML part renders it);
        # names are put in after, so a name's own * or _ is not taken for Markdown.
        "body_text": show_names(markdown_text(source), mentioned),
        "body_html": render_markdown(show_names(source, mentioned)),
        "thread_url": f"{base}/t/{thread.id}#post-{post.id}",
        "attachments": [
            {"filename": a.filename, "url": _ATTACH.format(i)} for i, a in enumerate(attachments)
        ],
        "base_url": base,
        "mail_domain": domain,
        "prefs_url": _PREFS,
    }


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
