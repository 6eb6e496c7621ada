"""What the mail bridge keeps: inbound messages, the outbox, caught mail, digests, mailboxes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.db import Base, utcnow
from hub.models.accounts import User

# What a replay can still change: mail that was not taken (refused, held, failed, skipped as
# an auto-reply or a bounce), or not yet processed. Mail posted or carried out is done: a replay
# would only find it again, and record it as a duplicate in place of what it became.
REPLAYABLE = frozenset({"received", "failed", "rejected", "held", "ignored", "bounce"})


class InboundMessage(Base):
    """One message that reached us, stored before we said 250, with how it ended."""

    __tablename__ = "inbound_message"
    __table_args__ = (
        Index("ix_inbound_status", "status", "id"),
        # Retention finds the rows whose raw is still kept, oldest first, without a scan.
        Index("ix_inbound_raw_kept", "raw_dropped_at", "received_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The Message-ID, or "sha256:<hash of the raw bytes>" when the mail had none.
    message_key: Mapped[str] = mapped_column(String(998), unique=True)
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    source: Mapped[str] = mapped_column(String(20))  # smtp, imap, cli, catcher
    rcpt: Mapped[str] = mapped_column(Text, default="")  # envelope recipients, comma-separated
    sender: Mapped[str] = mapped_column(String(320), default="")
    subject: Mapped[str] = mapped_column(Text, default="")
    # received, posted, replied, reacted, command, acknowledged, thanked, held, rejected,
    # ignored, bounce, duplicate, failed
    status: Mapped[str] = mapped_column(String(20), default="received")
    reason: Mapped[str | None] = mapped_column(String(100), default=None)
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), default=None
    )
    thread_id: Mapped[int | None] = mapped_column(default=None)
    post_id: Mapped[int | None] = mapped_column(default=None)
    text: Mapped[str | None] = mapped_column(Text, default=None)
    trimmed: Mapped[str | None] = mapped_column(Text, default=None)
    # Extra outcomes, e.g. one entry per post for a digest reply answering several threads.
    results: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(default=None)
    # When retention (KEEP_MAIL_DAYS) dropped the raw bytes: ``raw`` is then empty, the row
    # and its outcome stay, and the message can no longer be replayed.
    raw_dropped_at: Mapped[datetime | None] = mapped_column(default=None)

    author: Mapped[User | None] = relationship()

    @property
    def replayable(self) -> bool:
        """Whether a replay can change what became of it (see ``REPLAYABLE``)."""
        return self.status in REPLAYABLE and self.raw_dropped_at is None


class OutboxMessage(Base):
    """A mail waiting to leave, or sent; one per (key, recipient) so nothing goes twice."""

    __tablename__ = "outbox_message"
    __table_args__ = (
        UniqueConstraint("dedupe_key", "to_addr"),
        Index("ix_outbox_due", "status", "not_before"),
        Index("ix_outbox_raw_kept", "raw_dropped_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # What this mail is for, e.g. "post:12", "digest:daily:2026-11-27", "login:5:<n>".
    dedupe_key: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), default=None, index=True
    )
    to_addr: Mapped[str] = mapped_column(String(320))
    # The envelope sender (VERP return path) and the Message-ID, fixed when the row is written.
    mail_from: Mapped[str] = mapped_column(String(320))
    message_id: Mapped[str] = mapped_column(String(998), unique=True)
    subject: Mapped[str] = mapped_column(Text, default="")
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    # pending, sending, sent, failed (gave up), cancelled
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    # Not sent before this time: quiet hours and retry back-off.
    not_before: Mapped[datetime] = mapped_column(default=utcnow)
    urgent: Mapped[bool] = mapped_column(default=False)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    claimed_at: Mapped[datetime | None] = mapped_column(default=None)
    # When retention dropped the raw bytes of this finished mail: ``raw`` then keeps only the
    # headers a lost-token reply is routed by (mailbridge/retention.py), the row stays.
    raw_dropped_at: Mapped[datetime | None] = mapped_column(default=None)


class CaughtMail(Base):
    """A mail the built-in catcher took instead of a relay (the embedded default)."""

    __tablename__ = "caught_mail"

    id: Mapped[int] = mapped_column(primary_key=True)
    outbox_id: Mapped[int | None] = mapped_column(default=None, unique=True)
    mail_from: Mapped[str] = mapped_column(String(320))
    to_addr: Mapped[str] = mapped_column(String(320), index=True)
    subject: Mapped[str] = mapped_column(Text, default="")
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    caught_at: Mapped[datetime] = mapped_column(default=utcnow)


class DigestRun(Base):
    """A digest built for one member and period: one per period, however many workers run."""

    __tablename__ = "digest_run"
    __table_args__ = (UniqueConstraint("user_id", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    # e.g. "daily:2026-11-27" or "weekly:2026-W48" (indexed: the job asks who has today's).
    period: Mapped[str] = mapped_column(String(40), index=True)
    # The window the digest covered.
    since: Mapped[datetime]
    until: Mapped[datetime]
    # Marker -> thread id of every item, so a reply to this digest can be routed.
    items: Mapped[dict[str, Any]] = mapped_column(default=dict)
    message_id: Mapped[str | None] = mapped_column(String(998), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PendingReply(Base):
    """Text from a digest reply we could not place: kept until the member says which thread."""

    __tablename__ = "pending_reply"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    digest_run_id: Mapped[int | None] = mapped_column(
        ForeignKey("digest_run.id", ondelete="SET NULL"), default=None
    )
    inbound_id: Mapped[int | None] = mapped_column(default=None)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)
    post_id: Mapped[int | None] = mapped_column(default=None)


class RefusalNotice(Base):
    """A refusal explained by mail: at most one per address, reason and day."""

    __tablename__ = "refusal_notice"
    __table_args__ = (UniqueConstraint("address", "reason", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    address: Mapped[str] = mapped_column(String(320))
    reason: Mapped[str] = mapped_column(String(100))
    day: Mapped[str] = mapped_column(String(10))


class MailboxState(Base):
    """The IMAP checkpoint of one mailbox: UIDVALIDITY and the last UID handled."""

    __tablename__ = "mailbox_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    mailbox: Mapped[str] = mapped_column(String(500), unique=True)
    uid_validity: Mapped[int] = mapped_column(default=0)
    last_uid: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class BounceRecord(Base):
    """One bounce attributed to an address (via VERP or the bounce's report)."""

    __tablename__ = "bounce_record"

    id: Mapped[int] = mapped_column(primary_key=True)
    address: Mapped[str] = mapped_column(String(320), index=True)
    # A hard bounce (the address does not exist or is disabled) rather than a soft one
    # (mailbox full, a policy refusal, a delay...): see hub.services.bounces.
    permanent: Mapped[bool] = mapped_column(default=True)
    inbound_id: Mapped[int | None] = mapped_column(default=None)
    outbox_id: Mapped[int | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The enhanced status code ("5.2.2", or "" when the report gave none) and the receiving
    # server's words ("smtp; 552 5.2.2 Mailbox full"), shown to admins as the reason.
    status: Mapped[str] = mapped_column(String(20), default="", server_default="")
    diagnostic: Mapped[str] = mapped_column(String(500), default="", server_default="")
