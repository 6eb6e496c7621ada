"""Who gets mail about a post, and the mail itself (threaded, per recipient, in their language).

Delivery mode: the member's own (``User.delivery``, default ``accounts.effective_delivery``),
overridden per channel (``Membership.delivery``); a muted thread sends nothing but mentions.
Someone outside a channel who muted it (``ChannelMute``) is treated as ``off`` there.

- every_post: every new thread and reply;
- daily / weekly (email-only default) and mentions: mentions, and replies in threads the member
  took part in; everything else waits for the digest;
- a web member left at the default: mentions only (announcements come from their own handler);
- off: nothing.

Nobody gets their own post back unless ``echo_own_posts``; private channel content goes to members
only. Mail outside a member's working time waits for their next working period; for members who
take digests it is left to the digest instead. These rules are applied again when a mail leaves
the outbox (``mailbridge.still_wanted``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from flask import Flask
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from hub import permissions, tokens
from hub.models import (
    Channel,
    ChannelStatus,
    Delivery,
    Event,
    Membership,
    Mention,
    OutboxMessage,
    Post,
    Thread,
    ThreadMute,
    User,
    Via,
)
from hub.plaintext import markdown_text
from hub.services import attachments as attachment_service
from hub.services import channels
from hub.services.accounts import effective_delivery
from hub.text import render_markdown, show_names
from mailbridge import outbound, quiet

DIGEST_MODES = (Delivery.DAILY, Delivery.WEEKLY)
_PREFS = "@@HIROBA-PREFS@@"
_ATTACH = "@@HIROBA-ATTACHMENT-{}@@"


@dataclass(frozen=True, slots=True)
class Recipient:
    user: User
    reason: str  # new_thread, post, reply, mention, own
    # The channel-level override, if any (decides whether the digest covers this member).
    channel_delivery: Delivery | None = None


def mode_for(user: User, channel_delivery: str | None) -> Delivery:
    """The member's delivery mode for a channel."""
    if channel_delivery:
        return Delivery(channel_delivery)
    return effective_delivery(user)


def takes_digest(user: User, channel_delivery: str | None) -> bool:
    return mode_for(user, channel_delivery) in DIGEST_MODES


READABLE = (ChannelStatus.ACTIVE, ChannelStatus.ARCHIVED)


def _readable_status(channel: Channel) -> bool:
    return channel.status in READABLE


def post_recipients(session: Session, post: Post, *, new_thread: bool) -> list[Recipient]:
    """Everyone who should get mail now about ``post`` (mentioned members excluded: see
    ``on_mention``)."""
    thread, channel = post.thread, post.thread.channel
    # A hidden post's mail is written all the same: it leaves only if an admin shows the post
    # again before it is due, and is written anew when they do (``still_wanted``, ``restored``).
    if not _readable_status(channel) or post.deleted_at is not None:
        return []
    took_part = set(
        session.scalars(
            select(Post.author_id).where(Post.thread_id == thread.id, Post.id < post.id)
        )
    )
    if thread.author_id is not None:
        took_part.add(thread.author_id)
    mentioned = set(session.scalars(select(Mention.user_id).where(Mention.post_id == post.id)))
    muted = set(
        session.scalars(select(ThreadMute.user_id).where(ThreadMute.thread_id == thread.id))
    )
    rows = session.execute(
        select(User, Membership.delivery)
        .join(Membership, Membership.user_id == User.id)
        .where(
            Membership.channel_id == channel.id,
            User.active.is_(True),
            User.bouncing.is_(False),
        )
        .order_by(User.id)
    ).all()
    out: list[Recipient] = []
    for user, ch_delivery in rows:
        if user.id in mentioned or user.id in muted:
            continue
        if user.id == post.author_id:
            if user.echo_own_posts and mode_for(user, ch_delivery) != Delivery.OFF:
                out.append(Recipient(user, "own", ch_delivery))
            continue
        mode = mode_for(user, ch_delivery)
        if mode == Delivery.EVERY_POST:
            out.append(Recipient(user, "new_thread" if new_thread else "post", ch_delivery))
        elif mode == Delivery.OFF:
            continue
        elif user.id in took_part and not _web_default(user, ch_delivery):
            out.append(Recipient(user, "reply", ch_delivery))
    return out


def _web_default(user: User, channel_delivery: str | None) -> bool:
    """A web member who kept the defaults hears of mentions and announcements only."""
    return not channel_delivery and not user.delivery and not user.email_only


def on_post(app: Flask, session: Session, event: Event) -> None:
    """Fan-out handler for thread_created and post_created."""
    post = session.get(Post, event.post_id) if event.post_id else None
    if post is None:
        return
    recipients = post_recipients(session, post, new_thread=event.kind == "thread_created")
    queue_post_mails(app, session, post, recipients, quiet.clock_now())


def mention_recipient(session: Session, post: Post, user: User) -> Recipient | None:
    """The member ``post`` mentions, as one who hears of it; None if they take no mail of it
    (deactivated, bouncing, their own post, the channel unreadable to them now, or off)."""
    if not user.active or user.bouncing or post.deleted_at is not None:
        return None
    channel = post.thread.channel
    if user.id == post.author_id and not user.echo_own_posts:
        return None
    # Checked against the member's access now, not when the post was written.
    if not permissions.can_read(session, user, channel):
        return None
    found = channels.channel_delivery(session, user=user, channel=channel)
    if mode_for(user, found) == Delivery.OFF:
        return None
    return Recipient(user, "mention", Delivery(found) if found else None)


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


# --- the mail ---------------------------------------------------------------------------------


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


def post_key(post_id: int, *, edit: bool = False) -> str:
    """The outbox key of mail about a post; a mention added by an edit has its own."""
    return f"post:{post_id}:mention" if edit else f"post:{post_id}"


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


# --- sign-in links and invitations ----------------------------------------------------------


def on_login_link(app: Flask, session: Session, event: Event) -> None:
    """Mail the magic sign-in link the web side made (event data: token)."""
    user = session.get(User, event.subject_id) if event.subject_id else None
    token = (event.data or {}).get("token")
    if user is None or not token:
        return
    outbound.queue_mail(
        app,
        session,
        kind="login",
        dedupe_key=f"login:{event.id}",
        to=user,
        template="login_link",
        context={
            "link": f"{app.config['BASE_URL']}/login/link/{token}",
            "minutes": app.config.get("MAGIC_LINK_MINUTES", 15),
        },
        # Answered ("the link does not work"), it gets the how-to, which works without one.
        headers={"Reply-To": f"help@{app.config['MAIL_DOMAIN']}"},
        urgent=True,
    )


def on_member_invited(app: Flask, session: Session, event: Event) -> None:
    """Mail an invitation (with a sign-in link when the event carries a token)."""
    user = session.get(User, event.subject_id) if event.subject_id else None
    if user is None:
        return
    inviter = session.get(User, event.actor_id) if event.actor_id else None
    token = (event.data or {}).get("token")
    outbound.queue_mail(
        app,
        session,
        kind="invite",
        dedupe_key=f"invite:{event.id}",
        to=user,
        template="invitation",
        context={
            "link": f"{app.config['BASE_URL']}/login/link/{token}" if token else None,
            "inviter": inviter.name if inviter else None,
        },
        # It tells an email-only member to "reply to the mails you get": answering the
        # invitation itself gets the how-to and their channels (help@), not a refusal.
        headers={"Reply-To": f"help@{app.config['MAIL_DOMAIN']}"},
        urgent=True,
    )
