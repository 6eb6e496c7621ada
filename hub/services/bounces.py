"""Bounces counted per address: when a member's mail stops, and an admin starting it again.

The rule (the same for a delivery report and for the relay refusing at once):

- A *hard* bounce says the address does not exist or is disabled (5.1.x, 5.2.1). Everything
  else is *soft*: a full mailbox or quota (X.2.2), a delay (4.x.x), a policy or spam refusal
  (5.7.x, which says nothing of the address, and which a blocklisted relay would get for every
  member at once), a message too large, a report we cannot read. ``mailbridge.bounces``
  classifies.
- Counts are in *days* (the member's own, in their time zone), in a window: a member's mail
  stops when, within the last ``BOUNCE_WINDOW_DAYS`` (21), hard bounces came on
  ``BOUNCE_THRESHOLD`` (3) different days, or bounces of any kind on ``BOUNCE_SOFT_DAYS`` (10)
  different days (0: soft ones never stop mail). So one bad hour (a digest, a mention and a
  reply bouncing together, a mail server down for an afternoon) cannot cut anyone off, a
  mailbox full for a week neither, and an address gone for good stops within a few working
  days.
- Why a window rather than "a successful delivery resets the count": the relay saying 250 does
  not mean the mail arrived (a smarthost accepts everything and bounces later, by a report),
  so a reset on each 250 would wipe every count before its bounce came back.
- An admin clearing a member (the members page, ``hiroba user unbounce``) starts their count
  again from then, so the old bounces do not stop the mail again at the next one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.db import utcnow
from hub.models import BounceRecord, User
from hub.services import events
from hub.services.accounts import require_admin


@dataclass(frozen=True, slots=True)
class Policy:
    """When bounces stop a member's mail (settings BOUNCE_WINDOW_DAYS, BOUNCE_THRESHOLD,
    BOUNCE_SOFT_DAYS)."""

    window_days: int = 21
    hard_days: int = 3
    soft_days: int = 10

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> Policy:
        return cls(
            window_days=max(1, int(cfg.get("BOUNCE_WINDOW_DAYS", 21))),
            hard_days=max(1, int(cfg.get("BOUNCE_THRESHOLD", 3))),
            soft_days=max(0, int(cfg.get("BOUNCE_SOFT_DAYS", 10))),
        )


@dataclass(frozen=True, slots=True)
class Standing:
    """An address's bounces that count now: the days with a hard one, with any, the last one."""

    hard_days: int
    any_days: int
    last: BounceRecord | None


def day_of(when: datetime, timezone: str) -> date:
    """The member's own day of ``when``: two bounces of a Tokyo morning, at 08:30 and 09:30,
    fall on one day (in UTC, midnight comes between them)."""
    try:
        return when.astimezone(ZoneInfo(timezone)).date()
    except (ZoneInfoNotFoundError, ValueError):
        return when.date()


def standing(
    session: Session, address: str, policy: Policy, *, since: datetime | None = None,
    now: datetime | None = None, timezone: str = "UTC",
) -> Standing:  # fmt: skip
    """Count the bounces of ``address`` within the window (and after ``since``, a clearing),
    in days of ``timezone`` (the member's)."""
    start = (now or utcnow()) - timedelta(days=policy.window_days)
    if since is not None and since > start:
        start = since
    rows = list(
        session.scalars(
            select(BounceRecord)
            .where(BounceRecord.address == address.lower(), BounceRecord.created_at > start)
            .order_by(BounceRecord.created_at, BounceRecord.id)
        )
    )
    hard: set[date] = {day_of(r.created_at, timezone) for r in rows if r.permanent}
    days: set[date] = {day_of(r.created_at, timezone) for r in rows}
    return Standing(len(hard), len(days), rows[-1] if rows else None)


def stops_mail(found: Standing, policy: Policy) -> bool:
    """Tell whether bounces standing as ``found`` stop the member's mail."""
    if found.hard_days >= policy.hard_days:
        return True
    return bool(policy.soft_days) and found.any_days >= policy.soft_days


def record_bounce(
    session: Session,
    *,
    address: str,
    hard: bool,
    status: str = "",
    diagnostic: str = "",
    policy: Policy,
    inbound_id: int | None = None,
    outbox_id: int | None = None,
) -> BounceRecord:
    """Write down one bounce of ``address``; stop the mail of its member if it tips the rule
    (event ``member_bouncing``: the admins get one mail saying who, why and how to undo it)."""
    rec = BounceRecord(
        address=address.lower()[:320],
        permanent=hard,
        status=status[:20],
        diagnostic=" ".join(diagnostic.split())[:500],
        inbound_id=inbound_id,
        outbox_id=outbox_id,
    )
    session.add(rec)
    session.flush()
    user = session.scalar(select(User).where(User.email == rec.address))
    if user is None:
        return rec
    found = standing(
        session, user.email, policy, since=user.bounces_cleared_at, timezone=user.timezone
    )
    user.bounce_count = found.hard_days
    if not user.bouncing and stops_mail(found, policy):
        user.bouncing = True
        events.emit(
            session,
            "member_bouncing",
            subject_id=user.id,
            address=user.email,
            hard=hard,
            status=rec.status,
            diagnostic=rec.diagnostic,
            hard_days=found.hard_days,
            any_days=found.any_days,
            window_days=policy.window_days,
        )
    return rec


def clear_bouncing(session: Session, user: User, *, actor: User | None) -> bool:
    """Start ``user``'s mail again and their bounce count from now; tell whether it had stopped.

    :raises Forbidden: ``actor`` is not an active admin (``None``: the admin CLI).
    """
    require_admin(actor)
    was = user.bouncing
    user.bouncing = False
    user.bounce_count = 0
    user.bounces_cleared_at = utcnow()
    if was:
        events.emit(
            session, "member_unbounced", actor_id=actor.id if actor else None, subject_id=user.id
        )
    return was


_FULL = re.compile(r"quota|full|storage|容量|いっぱい|一杯|満杯", re.I)


def reason_kind(hard: bool, status: str, diagnostic: str) -> str:
    """What a bounce says, in one word the pages and mails put in words (templates/_bounce.html):
    gone (no such address, or disabled), full (mailbox or quota), delayed (4.x.x), refused
    (policy, 5.7.x) or other."""
    if hard:
        return "gone"
    if status.endswith(".2.2") or _FULL.search(diagnostic):
        return "full"
    if status.startswith("4"):
        return "delayed"
    if status.startswith("5.7"):
        return "refused"
    return "other"


@dataclass(frozen=True, slots=True)
class Note:
    """What the members page says of a member's recent bounces."""

    hard_days: int
    any_days: int
    last: BounceRecord

    @property
    def kind(self) -> str:
        return reason_kind(self.last.permanent, self.last.status, self.last.diagnostic)


def notes(session: Session, users: Iterable[User], policy: Policy) -> dict[int, Note]:
    """The recent bounces of each of ``users`` that has any counting now (one query)."""
    by_address = {u.email: u for u in users}
    start = utcnow() - timedelta(days=policy.window_days)
    rows = session.scalars(
        select(BounceRecord)
        .where(BounceRecord.created_at > start)
        .order_by(BounceRecord.created_at, BounceRecord.id)
    )
    hard: dict[int, set[date]] = {}
    days: dict[int, set[date]] = {}
    last: dict[int, BounceRecord] = {}
    for rec in rows:
        user = by_address.get(rec.address)
        if user is None or (user.bounces_cleared_at and rec.created_at <= user.bounces_cleared_at):
            continue
        day = day_of(rec.created_at, user.timezone)
        days.setdefault(user.id, set()).add(day)
        if rec.permanent:
            hard.setdefault(user.id, set()).add(day)
        last[user.id] = rec
    found = {uid: Note(len(hard.get(uid, ())), len(days[uid]), rec) for uid, rec in last.items()}
    # A member stopped longer ago than the window still shows why: their last bounce.
    for user in by_address.values():
        if user.bouncing and user.id not in found:
            newest = session.scalar(
                select(BounceRecord)
                .where(BounceRecord.address == user.email)
                .order_by(BounceRecord.created_at.desc(), BounceRecord.id.desc())
                .limit(1)
            )
            if newest is not None:
                found[user.id] = Note(0, 0, newest)
    return found
