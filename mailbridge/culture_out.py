"""Culture by mail, outgoing: the fan-out handlers that turn culture events into mail.

Each handler takes ``(app, session, event)`` and queues outbox rows (``queue_mail``) with a
dedupe key per event and recipient, so a re-run never mails anyone twice. Mail to one member
that is not urgent waits for their working hours (``_not_before``, from ``mailbridge.quiet``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub import permissions, tokens
from hub.models import (
    Announcement,
    Channel,
    ChannelKind,
    ChannelStatus,
    Event,
    Membership,
    Post,
    Thanks,
    User,
)
from hub.plaintext import markdown_text
from hub.services import accounts, acknowledgements, announcements, rules
from hub.services import thanks as thanks_service
from hub.text import render_markdown, show_names
from mailbridge import addresses, post_mail, quiet
from mailbridge.mime import format_address
from mailbridge.outbound import prefs_url, queue_mail

Handler = Callable[[Flask, Session, Event], None]


def _keys(app: Flask) -> list[str]:
    return tokens.keys_from_config(app.config)


def _link(app: Flask, path: str) -> str:
    return str(app.config["BASE_URL"]).rstrip("/") + path


def _not_before(user: User, urgent: bool) -> datetime | None:
    """When a mail may reach ``user``: at once if urgent, else within their working hours."""
    return None if urgent else quiet.next_allowed(user, quiet.clock_now())


# The outbox keys of an announcement's mail and of a reminder (``announcement_reminder:<event>``),
# each followed by ``:<announcement id>:v<version>``: a waiting one that asks for acknowledgement
# does not leave once the member acknowledged that version (``still_wanted``).
ANNOUNCEMENT_KEYS = ("announcement:", "announcement_reminder:")


def announcement_of(dedupe_key: str) -> tuple[int, int] | None:
    """The (announcement id, version) an announcement mail's outbox key names, else None.

    >>> announcement_of("announcement_reminder:41:7:v2")
    (7, 2)
    >>> announcement_of("rules_updated:v2") is None
    True
    """
    if not dedupe_key.startswith(ANNOUNCEMENT_KEYS):
        return None
    item, version = dedupe_key.rsplit(":", 2)[1:]
    return int(item), int(version.removeprefix("v"))


def announcement_mail(
    app: Flask,
    session: Session,
    item: Announcement,
    users: list[User],
    *,
    template: str,
    key: str,
) -> None:
    """Queue ``template`` about ``item`` as it reads now for each of ``users``, under
    ``<key>:<announcement id>:v<version>``, each in their working hours unless it is urgent."""
    domain = app.config["MAIL_DOMAIN"]
    # The text part reads as text: Markdown's **, links and lists written out (the HTML part
    # renders it); @handles show the members' names, put in after the Markdown is read (as
    # post mails do), so a name's own * or _ is not taken for Markdown.
    named = announcements.named(session, [item.body])
    body_text = show_names(markdown_text(item.body), named)
    body_html = render_markdown(show_names(item.body, named))
    for user in users:
        if item.ack_required:
            reply_to = addresses.encode("ack", user.id, item.id, domain, _keys(app))
        elif item.thread_id:
            reply_to = addresses.encode("reply", user.id, item.thread_id, domain, _keys(app))
        else:
            reply_to = f"help@{domain}"
        ack_link = _link(app, "/a/" + tokens.make("ack_link", user.id, item.id, _keys(app)))
        queue_mail(
            app, session, kind=template, dedupe_key=f"{key}:{item.id}:v{item.version}", to=user,
            template=template,
            context={"announcement": item, "body_html": body_html,
                     "body_text": body_text, "published": user.id == item.author_id,
                     "urgent_label": item.urgent and not announcements.says_urgent(item.title),
                     "ack_link": ack_link, "reply_to": reply_to},
            headers={"Reply-To": reply_to}, urgent=item.urgent,
            not_before=_not_before(user, item.urgent),
        )  # fmt: skip


def on_announcement_published(app: Flask, session: Session, event: Event) -> None:
    """Mail every member of the audience, whatever their delivery mode. One still waiting for
    the member's working hours does not leave once they acknowledged (``still_wanted``)."""
    item = session.get(Announcement, event.subject_id or 0)
    if item is None:
        return
    users = announcements.audience(session, item)
    announcement_mail(app, session, item, users, template="announcement", key="announcement")


def on_announcement_reminder(app: Flask, session: Session, event: Event) -> None:
    """Remind those named in the event who still have not acknowledged, unless a mail about it
    still waits in the outbox for them (the announcement waiting for their working hours)."""
    item = session.get(Announcement, event.subject_id or 0)
    if item is None:
        return
    wanted = set(event.data.get("user_ids") or [])
    users = [
        u for u in acknowledgements.to_remind(session, item, quiet.clock_now()) if u.id in wanted
    ]
    announcement_mail(
        app, session, item, users, template="announcement_reminder",
        key=f"announcement_reminder:{event.id}",
    )  # fmt: skip


def on_thanks_sent(app: Flask, session: Session, event: Event) -> None:
    """Tell each receiver; ask a mail sender without a #value to choose one from a link."""
    card = session.get(Thanks, event.subject_id or 0)
    if card is None:
        return
    reply_to = _reply_to_person(app, card.sender)
    for rec in card.recipients:
        queue_mail(
            app, session, kind="thanks", dedupe_key=f"thanks:{card.id}", to=rec.user,
            template="thanks_received", context={"card": card, "sender": card.sender},
            from_name=f"{card.sender.name} via Hiroba", headers={"Reply-To": reply_to},
            not_before=_not_before(rec.user, False),
        )  # fmt: skip
    values = thanks_service.list_values(session)
    if card.value_id is None and values and card.via == "email":
        links = [
            (v, _link(app, f"/thanks/{card.id}/value/{v.id}/"
                      + tokens.make("thanks_value", card.sender_id, card.id, _keys(app))))
            for v in values
        ]  # fmt: skip
        # Answering with the value's #tag or name chooses it (culture_mail.act_thanks_value).
        domain = app.config["MAIL_DOMAIN"]
        reply_to = addresses.encode("thanks", card.sender_id, card.id, domain, _keys(app))
        queue_mail(
            app, session, kind="thanks_value", dedupe_key=f"thanks_value:{card.id}",
            to=card.sender, template="thanks_value", context={"card": card, "links": links},
            headers={"Reply-To": reply_to},
        )  # fmt: skip


def _reply_to_person(app: Flask, person: User | None) -> str:
    """Where the answer to a mail about someone's act goes: to that colleague (X's thanks card,
    the admin's note), as people expect of internal mail; when there is nobody who can get mail
    (no address, deactivated, bouncing, or the hub acted by itself), help@, whose how-to
    answers instead of a refusal."""
    if person is not None and person.active and not person.bouncing and "@" in person.email:
        return format_address(person.name, person.email)
    return f"help@{app.config['MAIL_DOMAIN']}"


def _actor(session: Session, event: Event) -> User | None:
    return session.get(User, event.actor_id) if event.actor_id else None


def _open_channels(session: Session) -> list[Channel]:
    stmt = select(Channel).where(Channel.private.is_(False), Channel.status == ChannelStatus.ACTIVE)
    rows = list(session.scalars(stmt.order_by(Channel.name)))
    return sorted(rows, key=lambda c: c.kind == ChannelKind.SOCIAL)


def on_member_added(app: Flask, session: Session, event: Event) -> None:
    """The welcome mail for an email-only member, in their language (not for one added with
    ``--no-invite``: ``member_welcome`` sends it later)."""
    user = session.get(User, event.subject_id or 0)
    if user is None or not user.email_only or user.rules_accepted_at is not None:
        return
    if (event.data or {}).get("invite") is False:
        return
    domain = app.config["MAIL_DOMAIN"]
    reply_to = addresses.encode("welcome", user.id, user.id, domain, _keys(app))
    channels = [c for c in _open_channels(session) if permissions.can_post(session, user, c)]
    queue_mail(
        app, session, kind="welcome", dedupe_key=f"welcome:{user.id}", to=user,
        template="welcome",
        context={"user": user, "channels": channels, "reply_to": reply_to,
                 "thanks_address": f"thanks@{domain}", "help_address": f"help@{domain}",
                 "prefs_link": prefs_url(app, user.id)},
        headers={"Reply-To": reply_to}, not_before=_not_before(user, False),
    )  # fmt: skip


# The outbox key of "the rules were updated": this and the version it asks to accept.
RULES_KEY = "rules_updated:v"


def on_rules_updated(app: Flask, session: Session, event: Event) -> None:
    """Ask each email-only member to accept the rules again, in their language: the new text,
    the link, and "reply to accept" (``rules+<token>@`` carries this version). Web members are
    asked on their next visit (hub.web.culture). A mail still waiting for the member's working
    hours does not leave once they accepted, or were asked again (``still_wanted``)."""
    version = int((event.data or {}).get("version") or 0)
    # Asked again since (two saves before the fan-out ran): the newer event mails the newer text.
    if version != rules.current_version(session):
        return
    text = rules.get_rules(session, app.config["BABEL_DEFAULT_LOCALE"])
    # The text part reads as text (the HTML part renders the Markdown).
    text_part = markdown_text(text)
    domain = app.config["MAIL_DOMAIN"]
    changes: dict[int, list[rules.Change] | None] = {}
    for user in rules.not_accepted(session, version):
        if not user.email_only:
            continue
        # What changed since the version they accepted (one comparison per version).
        accepted = user.rules_version if user.rules_accepted_at is not None else 0
        if accepted not in changes:
            changes[accepted] = rules.changes_since(session, accepted)
        reply_to = addresses.encode("rules", user.id, version, domain, _keys(app))
        queue_mail(
            app, session, kind="rules_updated", dedupe_key=f"{RULES_KEY}{version}", to=user,
            template="rules_updated",
            context={"user": user, "rules_text": text_part, "rules_html": render_markdown(text),
                     "rules_link": _link(app, "/rules"), "reply_to": reply_to,
                     "changes": changes[accepted]},
            headers={"Reply-To": reply_to}, not_before=_not_before(user, False),
        )  # fmt: skip


def on_channel_requested(app: Flask, session: Session, event: Event) -> None:
    """Tell the admins a private channel waits for their decision."""
    channel = session.get(Channel, event.channel_id or 0)
    if channel is None:
        return
    for admin in accounts.active_admins(session):
        queue_mail(
            app, session, kind="channel_request", dedupe_key=f"channel_request:{channel.id}",
            to=admin, template="channel_request",
            context={"channel": channel, "queue_link": _link(app, "/admin/channel-requests")},
            # An admin's question about the request ("why private?") goes to the requester.
            headers={"Reply-To": _reply_to_person(app, channel.created_by)},
        )  # fmt: skip


def on_channel_decided(app: Flask, session: Session, event: Event) -> None:
    """Tell the requester whether the private channel was approved, and the admin's note."""
    channel = session.get(Channel, event.channel_id or 0)
    if channel is None or channel.created_by is None:
        return
    queue_mail(
        app, session, kind="channel_decision", dedupe_key=f"channel_decision:{event.id}",
        to=channel.created_by, template="channel_decision",
        context={"channel": channel, "approved": event.kind == "channel_approved",
                 "note": event.data.get("note") or ""},
        # "Note from the admin": answering it reaches the admin who decided.
        headers={"Reply-To": _reply_to_person(app, _actor(session, event))},
        not_before=_not_before(channel.created_by, False),
    )  # fmt: skip


def on_channel_review(app: Flask, session: Session, event: Event) -> None:
    """Suggest to the owners of an idle private channel to open or archive it."""
    channel = session.get(Channel, event.channel_id or 0)
    if channel is None:
        return
    owners = session.scalars(
        select(User).join(Membership, Membership.user_id == User.id)
        .where(Membership.channel_id == channel.id, Membership.role == "owner")
    )  # fmt: skip
    for owner in owners:
        queue_mail(
            app, session, kind="channel_review", dedupe_key=f"channel_review:{event.id}",
            to=owner, template="channel_review",
            context={"channel": channel, "idle_days": event.data.get("idle_days")},
            # Answering the suggestion reaches the admin who made it.
            headers={"Reply-To": _reply_to_person(app, _actor(session, event))},
        )  # fmt: skip


def on_channel_member_added(app: Flask, session: Session, event: Event) -> None:
    """Tell a member someone added them to a channel (joining by oneself sends nothing)."""
    if not (event.data or {}).get("added"):
        return
    user = session.get(User, event.subject_id or 0)
    channel = session.get(Channel, event.channel_id or 0)
    # Checked now: someone removed again before the mail is written hears nothing.
    if user is None or channel is None or not permissions.is_member(session, user, channel):
        return
    actor = session.get(User, event.actor_id) if event.actor_id else None
    queue_mail(
        app, session, kind="channel_added", dedupe_key=f"channel_added:{event.id}", to=user,
        template="channel_added",
        context={"channel": channel, "actor": actor,
                 "channel_address": f"{channel.slug}@{app.config['MAIL_DOMAIN']}",
                 "channel_link": _link(app, f"/c/{channel.slug}")},
        # Answered ("ありがとうございます", "what is this for?"), it reaches help@ and gets the
        # how-to listing this channel's address; not the channel itself, where the answer would
        # open a public thread titled "Re: 山田 added you to ..." that nobody meant to start.
        headers={"Reply-To": f"help@{app.config['MAIL_DOMAIN']}"},
        not_before=_not_before(user, False),
    )  # fmt: skip


def on_post_hidden(app: Flask, session: Session, event: Event) -> None:
    """Tell the author their post was hidden: by flags, waiting for an admin (how many flags,
    never the flaggers' words, which could tell who flagged), or by an admin, with their note.
    Their text is quoted as the post shows it, as the post mails quote posts: an email-only
    author reading the text part would otherwise get Markdown's ** and [..](..) back."""
    post = session.get(Post, event.post_id or 0)
    if post is None or post.author is None:
        return
    data = event.data or {}
    body = post_mail.body_for(app, post, post.author.id)  # its photos as links that work
    queue_mail(
        app, session, kind="post_hidden", dedupe_key=f"post_hidden:{event.id}", to=post.author,
        template="post_hidden",
        context={"post": post, "body_text": markdown_text(body),
                 "body_html": render_markdown(body),
                 "by_admin": data.get("action") != "auto_hide",
                 "reviewed": bool(data.get("reviewed")), "flags": int(data.get("flags") or 0),
                 "note": data.get("note") or "", "rules_link": _link(app, "/rules")},
        # The author's answer ("why?") reaches the admin who hid it; hidden by flags alone,
        # help@ (no one person to ask; the how-to at least answers).
        headers={"Reply-To": _reply_to_person(app, _actor(session, event))},
        not_before=_not_before(post.author, False),
    )  # fmt: skip


def on_member_nudged(app: Flask, session: Session, event: Event) -> None:
    """A friendly nudge to a member who has not taken part for a while."""
    user = session.get(User, event.subject_id or 0)
    if user is None:
        return
    domain = app.config["MAIL_DOMAIN"]
    channels = _open_channels(session)[:5]
    queue_mail(
        app, session, kind="nudge", dedupe_key=f"nudge:{event.id}", to=user, template="nudge",
        context={"user": user, "channels": channels, "link": _link(app, "/"),
                 "thanks_address": f"thanks@{domain}"},
        # "A reply is all it takes": answering the nudge itself gets the how-to (help@).
        headers={"Reply-To": f"help@{domain}"}, not_before=_not_before(user, False),
    )  # fmt: skip


HANDLERS: dict[str, Handler] = {
    "announcement_published": on_announcement_published,
    "announcement_reminder": on_announcement_reminder,
    "thanks_sent": on_thanks_sent,
    "member_added": on_member_added,
    "member_welcome": on_member_added,
    "rules_updated": on_rules_updated,
    "channel_requested": on_channel_requested,
    "channel_approved": on_channel_decided,
    "channel_declined": on_channel_decided,
    "channel_review_suggested": on_channel_review,
    "member_joined": on_channel_member_added,
    "post_hidden": on_post_hidden,
    "member_nudged": on_member_nudged,
}


def handle(app: Flask, session: Session, event: Event) -> bool:
    """Run the culture handler for ``event``; False if it is not a culture event."""
    fn = HANDLERS.get(event.kind)
    if fn is None:
        return False
    fn(app, session, event)
    return True
