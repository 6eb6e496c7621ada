"""Acknowledging purpose announcements: record it (web, mail or link), say who has and who not
yet, and remind the rest, by hand or on schedule (who is asked: ``announcements.asked``)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub import permissions
from hub.db import utcnow
from hub.errors import Forbidden, Reason
from hub.models import Acknowledgement, Announcement, OutboxMessage, User, Via
from hub.services import events
from hub.services.announcements import asked, asks, audience

# The outbox kinds of the mail that asks a member to acknowledge (mailbridge.culture_out).
MAIL_KINDS = ("announcement", "announcement_reminder")


def door_word(via: str) -> str:
    """The word shown for how an acknowledgement came in: web, mail or link."""
    return "mail" if via == Via.EMAIL else str(via)


def _check_admin(actor: User | None) -> None:
    if actor is not None and not permissions.is_admin(actor):
        raise Forbidden(Reason.ADMIN_ONLY)


def find_ack(session: Session, user: User, announcement: Announcement) -> Acknowledgement | None:
    """The member's acknowledgement of the current version, if any."""
    return session.scalar(
        select(Acknowledgement).where(
            Acknowledgement.announcement_id == announcement.id,
            Acknowledgement.user_id == user.id,
            Acknowledgement.version == announcement.version,
        )
    )


def acknowledge(
    session: Session,
    *,
    user: User,
    announcement: Announcement,
    via: Via,
    words: str | None = None,
    now: datetime | None = None,
) -> Acknowledgement:
    """Record that ``user`` acknowledged the current version; a second time changes nothing."""
    if not user.active:
        raise Forbidden(Reason.INACTIVE_MEMBER)
    if user.id not in {u.id for u in audience(session, announcement)}:
        raise Forbidden(Reason.FORBIDDEN)
    existing = find_ack(session, user, announcement)
    if existing is not None:
        return existing
    ack = Acknowledgement(
        announcement_id=announcement.id,
        user=user,
        version=announcement.version,
        via=Via(via),
        words=(words or "").strip()[:500] or None,
        created_at=now or utcnow(),
    )
    session.add(ack)
    session.flush()
    return ack


def pending_for(session: Session, user: User) -> list[Announcement]:
    """Announcements that ask ``user`` to acknowledge and are not yet acknowledged (banners)."""
    rows = session.scalars(
        select(Announcement)
        .where(Announcement.ack_required.is_(True))
        .order_by(Announcement.id.desc())
    )
    out = []
    for a in rows:
        # The admin who published it is not asked (``asked``).
        if a.author_id == user.id or find_ack(session, user, a) is not None:
            continue
        if user in audience(session, a):
            out.append(a)
    return out


def not_acknowledged(session: Session, announcement: Announcement) -> list[User]:
    """Members asked to acknowledge who have not acknowledged the current version."""
    done = set(
        session.scalars(
            select(Acknowledgement.user_id).where(
                Acknowledgement.announcement_id == announcement.id,
                Acknowledgement.version == announcement.version,
            )
        )
    )
    return [u for u in asked(session, announcement) if u.id not in done]


def status(session: Session, announcement: Announcement) -> dict[str, Any]:
    """Who has acknowledged the current version (how and when, with their words) and who not."""
    acks = list(
        session.scalars(
            select(Acknowledgement)
            .where(
                Acknowledgement.announcement_id == announcement.id,
                Acknowledgement.version == announcement.version,
            )
            .order_by(Acknowledgement.created_at, Acknowledgement.id)
        )
    )
    acks = [a for a in acks if asks(announcement, a.user_id)]
    members = asked(session, announcement)
    acked_ids = {a.user_id for a in acks}
    acknowledged = [
        {
            "email": a.user.email,
            "name": a.user.name,
            "via": door_word(a.via),
            "when": a.created_at.isoformat(),
            "words": a.words,
        }
        for a in acks
    ]
    waiting = mail_waiting(session, announcement, utcnow())
    pending = [
        {"email": u.email, "name": u.name, "mail_waiting": u.id in waiting}
        for u in members
        if u.id not in acked_ids
    ]
    total = len(acknowledged) + len(pending)
    return {
        "id": announcement.id,
        "title": announcement.title,
        "version": announcement.version,
        "ack_required": announcement.ack_required,
        "urgent": announcement.urgent,
        "published_at": announcement.published_at.isoformat(),
        "acknowledged": acknowledged,
        "not_acknowledged": pending,
        "rate": round(len(acknowledged) / total, 4) if total else 0.0,
    }


def mail_waiting(session: Session, announcement: Announcement, now: datetime) -> set[int]:
    """The members whose mail about the current version (the announcement itself or a reminder)
    waits in the outbox to leave after ``now``, for their working hours: a reminder now would
    reach them together with it."""
    suffix = f":{announcement.id}:v{announcement.version}"
    rows = session.scalars(
        select(OutboxMessage.user_id).where(
            OutboxMessage.kind.in_(MAIL_KINDS),
            OutboxMessage.status == "pending",
            OutboxMessage.not_before > now,
            OutboxMessage.dedupe_key.endswith(suffix, autoescape=True),
        )
    )
    return {uid for uid in rows if uid is not None}


def to_remind(
    session: Session, announcement: Announcement, now: datetime | None = None
) -> list[User]:
    """Who a reminder goes to now: not acknowledged, and no mail about it waiting to leave."""
    waiting = mail_waiting(session, announcement, now or utcnow())
    return [u for u in not_acknowledged(session, announcement) if u.id not in waiting]


def remind(
    session: Session,
    *,
    announcement: Announcement,
    actor: User | None,
    now: datetime | None = None,
) -> list[User]:
    """Ask those who have not acknowledged again (event ``announcement_reminder``), but not
    those whose mail about it still waits in the outbox (they would get both at once)."""
    _check_admin(actor)
    announcement.last_reminded_at = now or utcnow()
    pending = to_remind(session, announcement, announcement.last_reminded_at)
    if pending:
        events.emit(
            session,
            "announcement_reminder",
            actor_id=actor.id if actor else None,
            thread_id=announcement.thread_id,
            subject_id=announcement.id,
            version=announcement.version,
            user_ids=[u.id for u in pending],
            at=announcement.last_reminded_at.isoformat(),
        )
    return pending


def send_due_reminders(session: Session, now: datetime) -> int:
    """The automatic schedule: remind where ``remind_every_days`` have passed since the last
    reminder (or publication) and someone has still not acknowledged. Returns reminders sent."""
    sent = 0
    rows = session.scalars(
        select(Announcement).where(
            Announcement.ack_required.is_(True), Announcement.remind_every_days > 0
        )
    )
    for a in list(rows):
        last = a.last_reminded_at or a.published_at
        if now - last >= timedelta(days=a.remind_every_days):
            if remind(session, announcement=a, actor=None, now=now):
                sent += 1
    return sent
