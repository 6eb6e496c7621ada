"""Digests: what is new for one member since their last digest, built and queued once per period.

Order: what needs the member (mentions, questions in their threads, announcements awaiting their
acknowledgement), thanks they received, then new threads and replies per channel (the channel's
purpose one line under its name; social channels last). Only channels the member may read now.
Nothing new, no digest. A DigestRun row (unique per member and period) makes it exactly once.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hub import permissions, tokens
from hub.models import (
    Acknowledgement,
    Announcement,
    Channel,
    ChannelKind,
    Delivery,
    DigestRun,
    Membership,
    Mention,
    OutboxMessage,
    Post,
    Thanks,
    ThanksRecipient,
    Thread,
    User,
)
from hub.services.accounts import effective_delivery
from hub.text import snippet
from mailbridge import addresses, outbound, quiet

PER_CHANNEL = 10


@dataclass(frozen=True, slots=True)
class NeedItem:
    thread_id: int | None
    title: str
    channel_name: str
    why: str  # mention, question, ack
    author: str = ""
    snippet: str = ""
    announcement_id: int | None = None


@dataclass(frozen=True, slots=True)
class ThreadItem:
    thread_id: int
    title: str
    is_new: bool
    count: int
    author: str
    snippet: str


@dataclass(frozen=True, slots=True)
class ChannelSection:
    channel_id: int
    slug: str
    name: str
    purpose: str
    social: bool
    items: tuple[ThreadItem, ...]
    more: int


@dataclass(frozen=True, slots=True)
class ThanksItem:
    sender: str
    message: str
    value: str | None


@dataclass(frozen=True, slots=True)
class Digest:
    user_id: int
    since: datetime
    until: datetime
    needs: tuple[NeedItem, ...]
    thanks: tuple[ThanksItem, ...]
    channels: tuple[ChannelSection, ...]

    @property
    def thread_count(self) -> int:
        return len({i["thread_id"] for i in self.items()})

    def items(self) -> list[dict[str, Any]]:
        """Every thread the digest shows, once, in order (stored on the DigestRun)."""
        out: dict[int, dict[str, Any]] = {}
        for n in self.needs:
            if n.thread_id is not None:
                out.setdefault(n.thread_id, {"title": n.title, "channel": n.channel_name})
        for s in self.channels:
            for t in s.items:
                out.setdefault(t.thread_id, {"title": t.title, "channel": s.name})
        return [{"marker": f"#{k}", "thread_id": k, **v} for k, v in out.items()]


@dataclass
class Activity:
    """What happened in every channel in one window: shared by all members' digests."""

    threads: dict[int, dict[str, Any]] = field(default_factory=dict)
    channels: dict[int, Channel] = field(default_factory=dict)
    names: dict[int, str] = field(default_factory=dict)
    announcements: list[Announcement] = field(default_factory=list)


def load_activity(session: Session, since: datetime, until: datetime) -> Activity:
    """Read the window's posts once: per thread the count and last posts by author."""
    act = Activity()
    rows = session.execute(
        select(Post.id, Post.thread_id, Post.author_id, Post.body, Thread, Thread.channel_id)
        .join(Thread, Thread.id == Post.thread_id)
        .where(
            Post.created_at > since,
            Post.created_at <= until,
            Post.deleted_at.is_(None),
            Post.hidden.is_(False),
        )
        .order_by(Post.id)
    ).all()
    for _post_id, thread_id, author_id, body, thread, channel_id in rows:
        t = act.threads.setdefault(
            thread_id,
            {
                "thread": thread,
                "channel_id": channel_id,
                "is_new": thread.created_at > since,
                "authors": defaultdict(int),
                "last": [],
                "questions": [],
            },
        )
        t["authors"][author_id] += 1
        t["last"] = [*t["last"][-4:], (author_id, body)]
        if "?" in body or "？" in body:
            t["questions"].append((author_id, body))
    ids = {t["channel_id"] for t in act.threads.values()}
    if ids:
        act.channels = {
            c.id: c for c in session.scalars(select(Channel).where(Channel.id.in_(ids)))
        }
    authors = {a for t in act.threads.values() for a in t["authors"] if a is not None}
    if authors:
        act.names = dict(
            session.execute(select(User.id, User.name).where(User.id.in_(authors))).all()
        )
    act.announcements = list(
        session.scalars(select(Announcement).where(Announcement.ack_required.is_(True)))
    )
    return act


def collect_digest(
    session: Session,
    user: User,
    since: datetime,
    until: datetime,
    *,
    activity: Activity | None = None,
) -> Digest | None:
    """What is new for ``user`` between ``since`` and ``until``; None when nothing is."""
    act = activity or load_activity(session, since, until)
    readable = set(permissions.readable_channel_ids(session, user))
    joined = dict(
        session.execute(
            select(Membership.channel_id, Membership.delivery).where(Membership.user_id == user.id)
        ).all()
    )
    readable -= {cid for cid, d in joined.items() if d == Delivery.OFF}
    needs = _needs(session, user, since, until, act, readable, set(joined))
    thanks = _thanks(session, user, since, until)
    sections: dict[int, list[ThreadItem]] = defaultdict(list)
    for thread_id, t in act.threads.items():
        if t["channel_id"] not in readable:
            continue
        others = sum(n for a, n in t["authors"].items() if a != user.id)
        if not others:
            continue
        author_id, body = (
            next((a, b) for a, b in reversed(t["last"]) if a != user.id)
            if any(a != user.id for a, _ in t["last"])
            else (None, "")
        )
        sections[t["channel_id"]].append(
            ThreadItem(
                thread_id,
                t["thread"].title,
                t["is_new"],
                others,
                act.names.get(author_id, "") if author_id else "",
                snippet(body, 100),
            )
        )
    channels = []
    for cid, items in sections.items():
        ch = act.channels[cid]
        items.sort(key=lambda i: -i.thread_id)
        channels.append(
            ChannelSection(
                cid,
                ch.slug,
                ch.name,
                " ".join(ch.purpose.split()),
                ch.kind == ChannelKind.SOCIAL,
                tuple(items[:PER_CHANNEL]),
                max(0, len(items) - PER_CHANNEL),
            )
        )
    channels.sort(key=lambda s: (s.social, s.name))
    fresh_needs = [n for n in needs if n.why != "ack" or n.author == "new"]
    if not channels and not thanks and not fresh_needs:
        return None
    return Digest(user.id, since, until, tuple(needs), tuple(thanks), tuple(channels))


def _needs(
    session: Session,
    user: User,
    since: datetime,
    until: datetime,
    act: Activity,
    readable: set[int],
    joined: set[int],
) -> list[NeedItem]:
    out: list[NeedItem] = []
    rows = session.execute(
        select(Post, Thread)
        .join(Mention, Mention.post_id == Post.id)
        .join(Thread, Thread.id == Post.thread_id)
        .where(
            Mention.user_id == user.id,
            Post.created_at > since,
            Post.created_at <= until,
            Post.deleted_at.is_(None),
            Post.hidden.is_(False),
        )
        .order_by(Post.id)
    ).all()
    for post, thread in rows:
        if thread.channel_id in readable:
            name = post.author.name if post.author else ""
            out.append(
                NeedItem(thread.id, thread.title, thread.channel.name, "mention", name,
                         snippet(post.body, 100))
            )  # fmt: skip
    for thread_id, t in act.threads.items():
        if t["thread"].author_id != user.id or t["channel_id"] not in readable:
            continue
        asked = [(a, b) for a, b in t["questions"] if a != user.id]
        if asked:
            a, b = asked[-1]
            ch = act.channels[t["channel_id"]]
            out.append(NeedItem(thread_id, t["thread"].title, ch.name, "question",
                                act.names.get(a, ""), snippet(b, 100)))  # fmt: skip
    if act.announcements:
        acked = set(
            session.execute(
                select(Acknowledgement.announcement_id, Acknowledgement.version).where(
                    Acknowledgement.user_id == user.id
                )
            ).all()
        )
        for a in act.announcements:
            audience = {int(x) for x in a.audience.split(",") if x.strip().isdigit()}
            if (a.id, a.version) in acked or (audience and not audience & joined):
                continue
            fresh = "new" if since < a.published_at <= until else ""
            out.append(NeedItem(a.thread_id, a.title, "", "ack", fresh, snippet(a.body, 100), a.id))
    return out


def _thanks(session: Session, user: User, since: datetime, until: datetime) -> list[ThanksItem]:
    rows = session.scalars(
        select(Thanks)
        .join(ThanksRecipient, ThanksRecipient.thanks_id == Thanks.id)
        .where(
            ThanksRecipient.user_id == user.id,
            Thanks.created_at > since,
            Thanks.created_at <= until,
        )
        .order_by(Thanks.id)
    )
    return [ThanksItem(t.sender.name, t.message, t.value.name if t.value else None) for t in rows]


# --- periods and building --------------------------------------------------------------------


def due_period(user: User, now: datetime) -> str | None:
    """The digest period due for ``user`` at ``now`` (at or after their local digest hour on a
    working day, or on their weekday for weekly digests), or None."""
    mode = effective_delivery(user)
    local = quiet.local_now(user, now)
    if local.hour < user.digest_hour:
        return None
    if mode == Delivery.DAILY:
        if local.strftime("%a").lower()[:3] not in user.working_days.split(","):
            return None
        return f"daily:{local.date().isoformat()}"
    if mode == Delivery.WEEKLY and local.weekday() == user.digest_weekday:
        year, week, _ = local.isocalendar()
        return f"weekly:{year}-W{week:02d}"
    return None


def _span(period: str) -> timedelta:
    return timedelta(days=7) if period.startswith("weekly") else timedelta(days=1)


def digest_context(app: Flask, user: User, digest: Digest, run_id: int) -> dict[str, Any]:
    """What the digest templates need, with the member's links."""
    cfg = app.config
    keys = tokens.keys_from_config(cfg)
    domain, base = cfg["MAIL_DOMAIN"], cfg["BASE_URL"]

    def mailto(thread_id: int, title: str) -> str:
        addr = addresses.encode("reply", user.id, thread_id, domain, keys)
        return f"mailto:{addr}?subject={quote('Re: ' + title)}"

    def ack_mailto(announcement_id: int) -> str:
        return f"mailto:{addresses.encode('ack', user.id, announcement_id, domain, keys)}"

    local_since = quiet.local_now(user, digest.since)
    return {
        "digest": digest,
        "since_local": local_since.strftime("%Y-%m-%d %H:%M"),
        "mailto": mailto,
        "ack_mailto": ack_mailto,
        "thread_url": lambda tid: f"{base}/t/{tid}",
        "channel_url": lambda slug: f"{base}/c/{slug}",
        "run_id": run_id,
    }


def build_and_queue_digest(
    app: Flask,
    session: Session,
    user: User,
    period: str,
    now: datetime,
    *,
    activities: dict[tuple[datetime, datetime], Activity] | None = None,
) -> OutboxMessage | None:
    """Build ``user``'s digest for ``period`` and queue it; None if it exists or is empty.

    The DigestRun is written first: a second worker on the same member and period hits the
    unique key and stops, so exactly one digest goes out per period.
    """
    if session.scalar(
        select(DigestRun.id).where(DigestRun.user_id == user.id, DigestRun.period == period)
    ):
        return None
    last = session.scalar(select(func.max(DigestRun.until)).where(DigestRun.user_id == user.id))
    since = last or now - _span(period)
    run = DigestRun(user_id=user.id, period=period, since=since, until=now, items={})
    try:
        with session.begin_nested():
            session.add(run)
            session.flush()
    except IntegrityError:
        return None
    act = None
    if activities is not None:
        act = activities.get((since, now))
        if act is None:
            act = activities[(since, now)] = load_activity(session, since, now)
    digest = collect_digest(session, user, since, now, activity=act)
    if digest is None:
        return None
    run.items = {"threads": digest.items()}
    cfg = app.config
    keys = tokens.keys_from_config(cfg)
    reply_to = addresses.encode("digest", user.id, run.id, cfg["MAIL_DOMAIN"], keys)
    unsubscribe = outbound.unsubscribe_url(app, user.id, 0)
    row = outbound.queue_mail(
        app,
        session,
        kind="digest",
        dedupe_key=f"digest:{period}",
        to=user,
        template="digest",
        context=digest_context(app, user, digest, run.id),
        headers={
            "Reply-To": reply_to,
            "List-Id": f"Hiroba digest <digest.{cfg['MAIL_DOMAIN']}>",
            "List-Unsubscribe": f"<{unsubscribe}>, <mailto:help@{cfg['MAIL_DOMAIN']}"
            "?subject=digest%20off&body=digest%20off>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
        message_id=f"digest.{run.id}.u{user.id}@{cfg['MAIL_DOMAIN']}",
        urgent=True,
    )
    if row is not None:
        run.message_id = row.message_id
    return row
