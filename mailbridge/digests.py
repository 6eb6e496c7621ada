"""Digests: what is new for one member since their last digest, built and queued once per period.

Order: what needs the member (mentions, questions in their threads, announcements awaiting their
acknowledgement), thanks they received, then new threads and replies per channel (the channel's
purpose one line under its name; social channels last). Only channels the member may read now.
Nothing new, no digest. A DigestRun row (unique per member and period) makes it exactly once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from flask import Flask
from flask_babel import get_locale
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup, escape
from sqlalchemy import bindparam, func, insert, literal_column, select, union_all
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from hub import tokens
from hub.db import is_postgres, utcnow
from hub.models import (
    Acknowledgement,
    Announcement,
    Channel,
    ChannelKind,
    ChannelMute,
    ChannelStatus,
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
from hub.text import show_names, snippet
from mailbridge import addresses, outbound, quiet

# A digest is read in a minute: at most this many threads per channel and in all.
PER_CHANNEL = 5
MAX_THREADS = 30


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
    # New threads in channels left out of the digest to keep it short.
    more_threads: int = 0
    more_channels: int = 0

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
class ThreadNews:
    """One thread's posts in the window (plain values: read once, shared by every member)."""

    thread_id: int
    title: str
    author_id: int | None
    is_new: bool
    total: int = 0
    authors: dict[int | None, int] = field(default_factory=dict)
    # The last posts and the questions: (author, snippet of the body).
    last: list[tuple[int | None, str]] = field(default_factory=list)
    questions: list[tuple[int | None, str]] = field(default_factory=list)


@dataclass
class Activity:
    """What happened in every channel in one window: shared by all members' digests."""

    threads: dict[int, ThreadNews] = field(default_factory=dict)
    # Per channel: its threads, newest first; and (slug, name, purpose line, social).
    by_channel: dict[int, list[ThreadNews]] = field(default_factory=dict)
    channels: dict[int, tuple[str, str, str, bool]] = field(default_factory=dict)
    names: dict[int, str] = field(default_factory=dict)
    announcements: list[Announcement] = field(default_factory=list)
    # Readable channels: open ones (anyone) and private ones (members only).
    open_channels: set[int] = field(default_factory=set)
    private_channels: set[int] = field(default_factory=set)
    # Per member: mentions (channel id, item) and thanks received in the window.
    mentions: dict[int, list[tuple[int, NeedItem]]] = field(default_factory=dict)
    thanks: dict[int, list[ThanksItem]] = field(default_factory=dict)
    # Per channel: who wrote in it in the window. Anyone else sees the same section (for the
    # same number of threads it may list): built once in ``outsider_sections``.
    writers: dict[int, set[int | None]] = field(default_factory=dict)
    # Per member: the threads they started that hold questions (channel id, thread).
    asked_of: dict[int, list[tuple[int, ThreadNews]]] = field(default_factory=dict)
    outsider_sections: dict[tuple[int, int], tuple[ChannelSection | None, int]] = field(
        default_factory=dict
    )
    # Per post of the window: the (email, name) of the members it mentions.
    mentioned: dict[int, list[tuple[str, str]]] = field(default_factory=dict)
    # Channel sections rendered once per (locale, part, section) for every member who gets
    # the same section; their reply links are markers filled in per member.
    parts: dict[tuple[str, str, ChannelSection], str] = field(default_factory=dict)


def load_activity(session: Session, since: datetime, until: datetime) -> Activity:
    """Read the window's posts once: per thread the count and last posts by author."""
    act = Activity()
    # Who each post of the window mentions: the digest shows them by name, as mail does.
    mentioned: dict[int, list[tuple[str, str]]] = {}
    for post_id, email, name in session.execute(
        select(Mention.post_id, User.email, User.name)
        .join(User, User.id == Mention.user_id)
        .join(Post, Post.id == Mention.post_id)
        .where(Post.created_at > since, Post.created_at <= until)
    ):
        mentioned.setdefault(post_id, []).append((email, name))
    act.mentioned = mentioned
    rows = session.execute(
        select(
            Post.id, Post.thread_id, Post.author_id, Post.body, Thread.channel_id, Thread.title,
            Thread.author_id, Thread.created_at,
        )
        .join(Thread, Thread.id == Post.thread_id)
        .where(
            Post.created_at > since,
            Post.created_at <= until,
            Post.deleted_at.is_(None),
            Post.hidden.is_(False),
        )
        .order_by(Post.id)
    ).all()  # fmt: skip
    for post_id, thread_id, author_id, body, channel_id, title, starter, created in rows:
        body = show_names(body, mentioned.get(post_id, ()))
        t = act.threads.get(thread_id)
        if t is None:
            t = act.threads[thread_id] = ThreadNews(thread_id, title, starter, created > since)
            act.by_channel.setdefault(channel_id, []).append(t)
        t.total += 1
        t.authors[author_id] = t.authors.get(author_id, 0) + 1
        # Kept as the digest shows them: cut once here, not once for every member.
        t.last = [*t.last[-4:], (author_id, snippet(body, 100))]
        if "?" in body or "？" in body:
            t.questions.append((author_id, snippet(body, 100)))
    for cid, news in act.by_channel.items():
        news.sort(key=lambda n: -n.thread_id)
        act.writers[cid] = {a for n in news for a in n.authors}
        for n in news:
            if n.questions and n.author_id is not None:
                act.asked_of.setdefault(n.author_id, []).append((cid, n))
    if act.by_channel:
        found = session.scalars(select(Channel).where(Channel.id.in_(act.by_channel)))
        act.channels = {
            c.id: (c.slug, c.name, " ".join(c.purpose.split()), c.kind == ChannelKind.SOCIAL)
            for c in found
        }
    authors = {a for t in act.threads.values() for a in t.authors if a is not None}
    if authors:
        act.names = dict(
            session.execute(select(User.id, User.name).where(User.id.in_(authors))).all()
        )
    act.announcements = list(
        session.scalars(select(Announcement).where(Announcement.ack_required.is_(True)))
    )
    for cid, private in session.execute(
        select(Channel.id, Channel.private).where(
            Channel.status.in_([ChannelStatus.ACTIVE, ChannelStatus.ARCHIVED])
        )
    ):
        (act.private_channels if private else act.open_channels).add(cid)
    _load_personal(session, act, since, until)
    return act


def _load_personal(session: Session, act: Activity, since: datetime, until: datetime) -> None:
    """Mentions and thanks of the window, for every member at once."""
    rows = session.execute(
        select(Mention.user_id, Post.id, Post.body, Post.author_id, Thread.id, Thread.title,
               Thread.channel_id, Channel.name)
        .join(Post, Post.id == Mention.post_id)
        .join(Thread, Thread.id == Post.thread_id)
        .join(Channel, Channel.id == Thread.channel_id)
        .where(
            Post.created_at > since,
            Post.created_at <= until,
            Post.deleted_at.is_(None),
            Post.hidden.is_(False),
        )
        .order_by(Post.id)
    ).all()  # fmt: skip
    for user_id, post_id, body, author_id, thread_id, title, channel_id, channel_name in rows:
        name = act.names.get(author_id, "") if author_id else ""
        text = snippet(show_names(body, act.mentioned.get(post_id, ())), 100)
        item = NeedItem(thread_id, title, channel_name, "mention", name, text)
        act.mentions.setdefault(user_id, []).append((channel_id, item))
    cards = session.execute(
        select(ThanksRecipient.user_id, Thanks)
        .join(Thanks, Thanks.id == ThanksRecipient.thanks_id)
        .where(Thanks.created_at > since, Thanks.created_at <= until)
        .order_by(Thanks.id)
    ).all()
    for user_id, t in cards:
        item = ThanksItem(t.sender.name, t.message, t.value.name if t.value else None)
        act.thanks.setdefault(user_id, []).append(item)


def _item(t: ThreadNews, others: int, user_id: int, names: dict[int, str]) -> ThreadItem:
    author_id, body = next(((a, b) for a, b in reversed(t.last) if a != user_id), (None, ""))
    name = names.get(author_id, "") if author_id else ""
    return ThreadItem(t.thread_id, t.title, t.is_new, others, name, body)


# Members' channels with their delivery override, and the channels they muted from outside
# (marked _MUTED): one round trip for a batch of members.
_MUTED = "muted"
_ACCESS = union_all(
    select(Membership.user_id, Membership.channel_id, Membership.delivery).where(
        Membership.user_id.in_(bindparam("user_ids", expanding=True))
    ),
    select(ChannelMute.user_id, ChannelMute.channel_id, literal_column(f"'{_MUTED}'")).where(
        ChannelMute.user_id.in_(bindparam("user_ids", expanding=True))
    ),
)
Access = list[tuple[int, str | None]]


def read_access(session: Session, user_ids: list[int]) -> dict[int, Access]:
    """Each member's (channel id, delivery or _MUTED) pairs, read now in ``session``'s
    transaction (a plain Core query after a flush: the job reads a batch at a time)."""
    session.flush()
    found: dict[int, Access] = {uid: [] for uid in user_ids}
    for uid, cid, delivery in session.connection().execute(_ACCESS, {"user_ids": user_ids}):
        found[uid].append((cid, delivery))
    return found


def collect_digest(
    session: Session,
    user: User,
    since: datetime,
    until: datetime,
    *,
    activity: Activity | None = None,
    access: Access | None = None,
) -> Digest | None:
    """What is new for ``user`` between ``since`` and ``until``; None when nothing is.

    ``access`` is the member's channels as ``read_access`` gives them, read in the same
    transaction (read here when not given): private channels count only while a member.
    """
    act = activity or load_activity(session, since, until)
    if not user.active:
        return None
    if access is None:
        access = read_access(session, [user.id])[user.id]
    joined = {cid: d for cid, d in access if d != _MUTED}
    readable = act.open_channels | (act.private_channels & set(joined))
    # Channels turned off by a member, or muted from outside (a member's own setting wins):
    # no section, no mentions from there (hub.services.channels.channel_delivery's rule, read
    # here for a whole batch at once).
    readable -= {cid for cid, d in joined.items() if d == Delivery.OFF}
    readable -= {cid for cid, d in access if d == _MUTED and cid not in joined}
    needs = _needs(session, user, since, until, act, readable, set(joined))
    thanks = act.thanks.get(user.id, [])
    # Channels the member joined first, social channels last; the rest is counted, not listed.
    order = sorted(
        (c for c in act.by_channel if c in readable),
        key=lambda c: (act.channels[c][3], c not in joined, act.channels[c][1]),
    )
    channels: list[ChannelSection] = []
    budget, more_threads, more_channels = MAX_THREADS, 0, 0
    for cid in order:
        take = min(PER_CHANNEL, budget)
        if user.id in act.writers[cid]:
            section, more = _section(act, cid, take, user.id)
        else:
            # Most members wrote nothing there: they share one section.
            known = act.outsider_sections.get((cid, take))
            if known is None:
                known = act.outsider_sections[(cid, take)] = _section(act, cid, take, OUTSIDER)
            section, more = known
        if section is None:
            if more:
                more_threads += more
                more_channels += 1
            continue
        budget -= len(section.items)
        channels.append(section)
    fresh_needs = [n for n in needs if n.why != "ack" or n.author == "new"]
    if not channels and not thanks and not fresh_needs:
        return None
    return Digest(
        user.id, since, until, tuple(needs), tuple(thanks), tuple(channels), more_threads,
        more_channels,
    )  # fmt: skip


# The member id of "someone who wrote nothing in the channel" (no member has id 0).
OUTSIDER = 0


def _section(act: Activity, cid: int, take: int, uid: int) -> tuple[ChannelSection | None, int]:
    """The channel's section for member ``uid`` listing at most ``take`` threads (None when it
    lists none), and how many of its threads with news for them it leaves out."""
    items: list[ThreadItem] = []
    more = 0
    for t in act.by_channel[cid]:
        others = t.total - t.authors.get(uid, 0)
        if not others:
            continue
        if len(items) < take:
            items.append(_item(t, others, uid, act.names))
        else:
            more += 1
    if not items:
        return None, more
    slug, name, purpose, social = act.channels[cid]
    return ChannelSection(cid, slug, name, purpose, social, tuple(items), more), more


def _needs(
    session: Session,
    user: User,
    since: datetime,
    until: datetime,
    act: Activity,
    readable: set[int],
    joined: set[int],
) -> list[NeedItem]:
    out = [item for cid, item in act.mentions.get(user.id, []) if cid in readable]
    for cid, t in act.asked_of.get(user.id, []):
        if cid not in readable:
            continue
        asked = [(a, b) for a, b in t.questions if a != user.id]
        if asked:
            a, b = asked[-1]
            name = act.names.get(a, "") if a else ""
            out.append(NeedItem(t.thread_id, t.title, act.channels[cid][1], "question", name, b))
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


def span(period: str) -> timedelta:
    """How far back a member's first digest of this kind looks."""
    return timedelta(days=7) if period.startswith("weekly") else timedelta(days=1)


# Reply links inside a shared channel section: replaced by the member's own link per mail (the
# nonce keeps a thread title from ever matching one).
_MAILTO = f"@@hiroba-{uuid.uuid4().hex}-mailto-{{}}@@"
_SECTION_TEMPLATES = {"txt": "mail/_digest_section.txt", "html": "mail/_digest_section_html.txt"}


def digest_context(
    app: Flask,
    user: User,
    digest: Digest,
    run_id: int,
    parts: dict[tuple[str, str, ChannelSection], str] | None = None,
) -> dict[str, Any]:
    """What the digest templates need, with the member's links. ``parts`` caches the rendered
    channel sections across members (``Activity.parts``; a fresh cache when None)."""
    cfg = app.config
    keys = tokens.keys_from_config(cfg)
    domain, base = cfg["MAIL_DOMAIN"], cfg["BASE_URL"]
    cache = parts if parts is not None else {}

    links: dict[int, str] = {}

    def mailto(thread_id: int, title: str) -> str:
        # Called for the text and the HTML part: sign each link once.
        found = links.get(thread_id)
        if found is None:
            addr = addresses.encode("reply", user.id, thread_id, domain, keys)
            found = links[thread_id] = f"mailto:{addr}?subject={quote('Re: ' + title)}"
        return found

    def ack_mailto(announcement_id: int) -> str:
        return f"mailto:{addresses.encode('ack', user.id, announcement_id, domain, keys)}"

    @pass_context
    def channel_section(ctx: Context, section: ChannelSection, part: str) -> str:
        """One channel's section, rendered once per language and shared, with this member's
        reply links filled in."""
        key = (str(get_locale()), part, section)
        shared = cache.get(key)
        if shared is None:
            shared = cache[key] = ctx.environment.get_template(_SECTION_TEMPLATES[part]).render(
                section=section,
                gettext=ctx["gettext"],
                ngettext=ctx["ngettext"],
                mailto=lambda thread_id, _title: _MAILTO.format(thread_id),
                thread_url=ctx["thread_url"],
                channel_url=ctx["channel_url"],
            )
        out = shared
        for item in section.items:
            link = mailto(item.thread_id, item.title)
            out = out.replace(
                _MAILTO.format(item.thread_id), str(escape(link)) if part == "html" else link
            )
        return Markup(out) if part == "html" else out

    local_since = quiet.local_now(user, digest.since)
    return {
        "digest": digest,
        "since_local": local_since.strftime("%Y-%m-%d %H:%M"),
        "mailto": mailto,
        "ack_mailto": ack_mailto,
        "channel_section": channel_section,
        "thread_url": lambda tid: f"{base}/t/{tid}",
        "channel_url": lambda slug: f"{base}/c/{slug}",
        "run_id": run_id,
    }


def _claim(
    session: Session,
    user: User,
    period: str,
    since: datetime,
    now: datetime,
    digest: Digest | None,
    domain: str,
) -> int | None:
    """Insert the member's DigestRun for ``period``; its id, or None when one exists already."""
    return _claim_many(session, [(user, period, since, digest)], now, domain).get(user.id)


def _claim_many(
    session: Session,
    runs: list[tuple[User, str, datetime, Digest | None]],
    now: datetime,
    domain: str,
) -> dict[int, int]:
    """Insert the DigestRun of each (member, period, since, digest) in one statement; the new
    run ids by member (one period per member). A member whose run exists already is left out.

    ``INSERT ... ON CONFLICT DO NOTHING`` on the unique (member, period) key decides: a second
    worker on the same member and period inserts nothing (on PostgreSQL it waits for the first
    worker's transaction), so exactly one digest goes out per period.
    """
    if not runs:
        return {}
    insert = pg_insert if is_postgres(session) else sqlite_insert
    table = DigestRun.__table__
    created = utcnow()
    values = [
        {
            "user_id": user.id,
            "period": period,
            "since": since,
            "until": now,
            "items": {"threads": digest.items()} if digest else {},
            "message_id": (
                f"digest.{period.replace(':', '-')}.u{user.id}@{domain}" if digest else None
            ),
            "created_at": created,
        }
        for user, period, since, digest in sorted(runs, key=lambda r: r[0].id)
    ]
    stmt = (
        insert(table)
        .on_conflict_do_nothing(index_elements=["user_id", "period"])
        .returning(table.c.user_id, table.c.id)
    )
    # Many parameter sets: SQLAlchemy sends them as multi-row VALUES ("insertmanyvalues").
    return {user_id: run_id for user_id, run_id in session.connection().execute(stmt, values)}


def _mail(
    app: Flask, user: User, period: str, digest: Digest, run_id: int, act: Activity | None
) -> dict[str, Any]:
    """Everything ``outbound.mail_values`` needs for the member's digest mail."""
    cfg = app.config
    domain = cfg["MAIL_DOMAIN"]
    keys = tokens.keys_from_config(cfg)
    reply_to = addresses.encode("digest", user.id, run_id, domain, keys)
    # Unsubscribing from a digest stops the digest (as mailing 'digest off' does), not all mail.
    unsubscribe = outbound.unsubscribe_url(app, user.id, tokens.DIGEST)
    context = digest_context(app, user, digest, run_id, act.parts if act else None)
    context.update(
        base_url=cfg["BASE_URL"], mail_domain=domain, recipient=user,
        prefs_url=outbound.prefs_url(app, user.id),
    )  # fmt: skip
    return {
        "kind": "digest",
        # The DigestRun's unique key already makes this the only digest of the period.
        "dedupe_key": f"digest:{period}",
        "to_addr": user.email,
        "to_name": user.name,
        "rendered": outbound.render_email(app, "digest", user.locale, **context),
        "headers": {
            "Reply-To": reply_to,
            "List-Id": f"Hiroba digest <digest.{domain}>",
            "List-Unsubscribe": f"<{unsubscribe}>, <mailto:help@{domain}"
            "?subject=digest%20off&body=digest%20off>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
        "message_id": f"digest.{period.replace(':', '-')}.u{user.id}@{domain}",
        "urgent": True,
    }


def _activity(
    session: Session,
    activities: dict[tuple[datetime, datetime], Activity] | None,
    since: datetime,
    now: datetime,
) -> Activity | None:
    if activities is None:
        return None
    act = activities.get((since, now))
    if act is None:
        act = activities[(since, now)] = load_activity(session, since, now)
    return act


def build_and_queue_digest(
    app: Flask,
    session: Session,
    user: User,
    period: str,
    now: datetime,
    *,
    activities: dict[tuple[datetime, datetime], Activity] | None = None,
    since: datetime | None = None,
) -> OutboxMessage | None:
    """Build ``user``'s digest for ``period`` and queue it; None if it exists or is empty.

    ``since`` defaults to the end of the member's last digest. The DigestRun insert is what
    decides (see ``_claim``). One member; the job uses ``queue_digests`` for many at once.
    """
    if not user.active or user.bouncing:
        return None
    if since is None:
        last = session.scalar(select(func.max(DigestRun.until)).where(DigestRun.user_id == user.id))
        since = last or now - span(period)
    act = _activity(session, activities, since, now)
    digest = collect_digest(session, user, since, now, activity=act)
    run_id = _claim(session, user, period, since, now, digest, app.config["MAIL_DOMAIN"])
    if run_id is None or digest is None:
        return None
    return outbound.insert_mail(
        app, session, user=user, flush=False, **_mail(app, user, period, digest, run_id, act)
    )


def queue_digests(
    app: Flask,
    session: Session,
    due: list[tuple[User, str, datetime]],
    now: datetime,
    activities: dict[tuple[datetime, datetime], Activity],
) -> int:
    """Build and queue the digests of many members (member, period, since) in ``session``'s
    transaction (see ``build_digests``); return how many were queued."""
    rows = build_digests(app, session, due, now, activities)
    write_digests(session, rows)
    return len(rows)


def build_digests(
    app: Flask,
    session: Session,
    due: list[tuple[User, str, datetime]],
    now: datetime,
    activities: dict[tuple[datetime, datetime], Activity],
) -> list[dict[str, Any]]:
    """Build the digests of many members (member, period, since) in ``session``'s transaction:
    their access read in one statement of that transaction, their DigestRuns claimed in one.
    Returns the outbox rows, for ``write_digests`` to insert in the same transaction."""
    domain = app.config["MAIL_DOMAIN"]
    built: list[tuple[User, str, datetime, Digest | None]] = []
    acts: dict[int, Activity | None] = {}
    # Every member's access read in one statement, in this transaction, right before building.
    access = read_access(session, [user.id for user, _period, _since in due])
    for user, period, since in due:
        if not user.active or user.bouncing:
            continue
        act = acts[user.id] = _activity(session, activities, since, now)
        digest = collect_digest(session, user, since, now, activity=act, access=access[user.id])
        built.append((user, period, since, digest))
    # Every DigestRun of the batch claimed in one statement (one round trip, not one a member).
    claimed = _claim_many(session, built, now, domain)
    rows: list[dict[str, Any]] = []
    for user, period, _since, digest in built:
        run_id = claimed.get(user.id)
        if run_id is None or digest is None:
            continue
        mail = _mail(app, user, period, digest, run_id, acts[user.id])
        rows.append(outbound.mail_values(app, user_id=user.id, **mail))
    return rows


def write_digests(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert the outbox rows ``build_digests`` made, with one multi-row insert."""
    if rows:
        session.connection().execute(insert(OutboxMessage.__table__), rows)
