"""Announcements and acknowledgements, thanks cards and values, flags and moderation."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.db import Base, utcnow
from hub.models.accounts import User
from hub.models.enums import Via


class Announcement(Base):
    """A purpose announcement from an admin to everyone or chosen channels."""

    __tablename__ = "announcement"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    ack_required: Mapped[bool] = mapped_column(default=False)
    urgent: Mapped[bool] = mapped_column(default=False)
    # Comma-separated channel ids; empty means everyone.
    audience: Mapped[str] = mapped_column(Text, default="")
    # Bumped when an edit asks everyone to acknowledge again.
    version: Mapped[int] = mapped_column(default=1)
    # Days between automatic reminders to those who have not acknowledged (0 = none).
    remind_every_days: Mapped[int] = mapped_column(default=0)
    published_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_reminded_at: Mapped[datetime | None] = mapped_column(default=None)
    # The thread that holds comments (questions asked in replies).
    thread_id: Mapped[int | None] = mapped_column(
        ForeignKey("thread.id", ondelete="SET NULL"), default=None
    )
    author: Mapped[User | None] = relationship()


class Acknowledgement(Base):
    """A member's acknowledgement of one version of an announcement, and how it was given."""

    __tablename__ = "acknowledgement"
    __table_args__ = (UniqueConstraint("announcement_id", "user_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    announcement_id: Mapped[int] = mapped_column(
        ForeignKey("announcement.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(default=1)
    via: Mapped[Via] = mapped_column(String(10))
    # The words the member used, when acknowledged by mail (了解, OK ...).
    words: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    user: Mapped[User] = relationship()


class CompanyValue(Base):
    """One of the company's values that thanks cards are tied to."""

    __tablename__ = "company_value"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Used as the #tag in mail; lower-case ASCII or Japanese.
    tag: Mapped[str] = mapped_column(String(50), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")


class Thanks(Base):
    """A thanks card from one member to one or more colleagues."""

    __tablename__ = "thanks"

    id: Mapped[int] = mapped_column(primary_key=True)
    sender_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    message: Mapped[str] = mapped_column(Text)
    value_id: Mapped[int | None] = mapped_column(
        ForeignKey("company_value.id", ondelete="SET NULL"), default=None
    )
    via: Mapped[Via] = mapped_column(String(10), default=Via.WEB)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sender: Mapped[User] = relationship()
    value: Mapped[CompanyValue | None] = relationship()
    recipients: Mapped[list[ThanksRecipient]] = relationship(
        back_populates="thanks", cascade="all, delete-orphan"
    )


class ThanksRecipient(Base):
    __tablename__ = "thanks_recipient"
    __table_args__ = (UniqueConstraint("thanks_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    thanks_id: Mapped[int] = mapped_column(ForeignKey("thanks.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    thanks: Mapped[Thanks] = relationship(back_populates="recipients")
    user: Mapped[User] = relationship()


class Flag(Base):
    """A member's report that a post hurts someone or breaks the rules."""

    __tablename__ = "flag"
    __table_args__ = (UniqueConstraint("post_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("post.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(Text)
    via: Mapped[Via] = mapped_column(String(10), default=Via.WEB)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)


class ModerationAction(Base):
    """The audit trail of hiding and restoring posts."""

    __tablename__ = "moderation_action"

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("post.id", ondelete="CASCADE"), index=True)
    moderator_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(20))  # hide, restore, auto_hide
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
