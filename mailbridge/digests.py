"""Digests: what is new for one member since their last digest, built and queued once per period.

Order: what needs the member (mentions, questions in their threads, announcements awaiting their
acknowledgement), thanks they received, then new threads and replies per channel (the channel's
purpose one line under its name; social channels last). Only channels the member may read now.
Each post is shown once, where it matters most (``digest_needs``). Nothing new, no digest. A
DigestRun row (unique per member and period) makes it exactly once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from hub.db import is_postgres, utcnow
from hub.models import (
    Delivery,
    DigestRun,
    OutboxMessage,
    User,
)
from hub.services.accounts import effective_delivery
from mailbridge import digest_mail, digest_needs, outbound, quiet
from mailbridge.digest_access import MUTED, Access, Acks, read_access, read_acks
from mailbridge.digest_activity import Activity, ThreadNews, load_activity
from mailbridge.digest_items import ChannelSection, Digest, ThreadItem

# A digest is read in a minute: at most this many threads per channel and in all.
PER_CHANNEL = 5
MAX_THREADS = 30


def _item(
    t: ThreadNews, others: int, user_id: int, names: dict[int, str], shown: frozenset[int]
) -> ThreadItem:
    author_id, body = next(
        ((a, b) for p, a, b in reversed(t.last) if a != user_id and p not in shown), (None, "")
    )
    name = names.get(author_id, "") if author_id else ""
    return ThreadItem(t.thread_id, t.title, t.is_new, others, name, body)


def collect_digest(
    session: Session,
    user: User,
    since: datetime,
    until: datetime,
    *,
    activity: Activity | None = None,
    access: Access | None = None,
    acks: Acks | None = None,
) -> Digest | None:
    """What is new for ``user`` between ``since`` and ``until``; None when nothing is.

    ``access`` is the member's channels as ``read_access`` gives them and ``acks`` their
    acknowledgements as ``read_acks`` does, read in the same transaction (read here when not
    given): private channels count only while a member.
    """
    act = activity or load_activity(session, since, until)
    if not user.active:
        return None
    if access is None:
        access = read_access(session, [user.id])[user.id]
    if acks is None:
        acks = read_acks(session, [user.id], {a.id for a in act.announcements})[user.id]
    joined = {cid: d for cid, d in access if d != MUTED}
    readable = act.open_channels | (act.private_channels & set(joined))
    # Channels turned off by a member, or muted from outside (a member's own setting wins):
    # no section, no mentions from there (hub.services.channels.channel_delivery's rule, read
    # here for a whole batch at once).
    readable -= {cid for cid, d in joined.items() if d == Delivery.OFF}
    readable -= {cid for cid, d in access if d == MUTED and cid not in joined}
    needs, seen = digest_needs.needs(user, since, until, act, readable, set(joined), acks)
    shown = digest_needs.shown_by_channel(act, seen)
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
        above = shown.get(cid, _NOTHING)
        if user.id in act.writers[cid]:
            section, more = _section(act, cid, take, user.id, above)
        else:
            # Most members wrote nothing there and have nothing of it above: they share one
            # section (as do those with the same posts above, an announcement's for one).
            key = (cid, take, above)
            known = act.outsider_sections.get(key)
            if known is None:
                known = act.outsider_sections[key] = _section(act, cid, take, OUTSIDER, above)
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
_NOTHING: frozenset[int] = frozenset()


def _section(
    act: Activity, cid: int, take: int, uid: int, shown: frozenset[int]
) -> tuple[ChannelSection | None, int]:
    """The channel's section for member ``uid`` listing at most ``take`` threads (None when it
    lists none), and how many of its threads with news for them it leaves out. Posts in
    ``shown`` (above in the digest, or an announcement the member acknowledged) are counted but
    not quoted again; a thread with nothing else is left out."""
    items: list[ThreadItem] = []
    more = 0
    for t in act.by_channel[cid]:
        others = t.total - t.authors.get(uid, 0)
        if not others:
            continue
        if shown and others == sum(1 for p in shown if t.posts.get(p, uid) != uid):
            continue
        if len(items) < take:
            items.append(_item(t, others, uid, act.names, shown))
        else:
            more += 1
    if not items:
        return None, more
    slug, name, purpose, social = act.channels[cid]
    return ChannelSection(cid, slug, name, purpose, social, tuple(items), more), more


# --- periods and building --------------------------------------------------------------------


def due_period(user: User, now: datetime) -> str | None:
    """The digest period due for ``user`` at ``now`` (at or after their local digest hour on a
    working day, or on their weekday for weekly digests), or None."""
    mode = effective_delivery(user)
    local = quiet.local_now(user, now)
    if local.hour < user.digest_hour:
        return None
    if mode == Delivery.DAILY:
        # A digest hour in the morning part of a night shift belongs to the day the shift
        # began (Saturday 02:00 is Friday's 22:00-06:00 shift; Monday 02:00 is no shift).
        day = quiet.shift_day(user, local.replace(hour=user.digest_hour, minute=0))
        if day.strftime("%a").lower()[:3] not in user.working_days.split(","):
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
    return claim_runs(session, [(user, period, since, digest)], now, domain).get(user.id)


def claim_runs(
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
        insert(DigestRun)
        .on_conflict_do_nothing(index_elements=["user_id", "period"])
        .returning(DigestRun.user_id, DigestRun.id)
    )
    # Many parameter sets: SQLAlchemy sends them as multi-row VALUES ("insertmanyvalues").
    return {user_id: run_id for user_id, run_id in session.connection().execute(stmt, values)}


def activity_for(
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
    act = activity_for(session, activities, since, now)
    digest = collect_digest(session, user, since, now, activity=act)
    run_id = _claim(session, user, period, since, now, digest, app.config["MAIL_DOMAIN"])
    if run_id is None or digest is None:
        return None
    return outbound.insert_mail(
        app,
        session,
        user=user,
        flush=False,
        **digest_mail.mail(app, user, period, digest, act, run_id),
    )
