"""Channels and who belongs to them."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.db import Base, utcnow
from hub.models.accounts import User
from hub.models.enums import ChannelKind, ChannelStatus, Delivery


class Channel(Base):
    """A place to talk, open by default, with a stated purpose."""

    __tablename__ = "channel"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Lower-case; doubles as the mail local part (<slug>@MAIL_DOMAIN).
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(Text)
    kind: Mapped[ChannelKind] = mapped_column(String(20), default=ChannelKind.WORK)
    private: Mapped[bool] = mapped_column(default=False)
    private_reason: Mapped[str | None] = mapped_column(Text, default=None)
    review_date: Mapped[date | None] = mapped_column(default=None)
    status: Mapped[ChannelStatus] = mapped_column(String(20), default=ChannelStatus.ACTIVE)
    # Every new member joins it (an open channel an admin marked; the announcement channel is
    # joined whatever this says): hub.services.onboarding.
    new_members_join: Mapped[bool] = mapped_column(default=False, server_default=false())
    review_note: Mapped[str | None] = mapped_column(Text, default=None)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_activity_at: Mapped[datetime] = mapped_column(default=utcnow)

    created_by: Mapped[User | None] = relationship()
    memberships: Mapped[list[Membership]] = relationship(
        back_populates="channel", cascade="all, delete-orphan"
    )

    def __repr__(self) -> str:
        return f"<Channel {self.slug}>"


class Membership(Base):
    """A member's place in a channel, with a per-channel mail delivery override."""

    __tablename__ = "membership"
    __table_args__ = (UniqueConstraint("user_id", "channel_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    channel_id: Mapped[int] = mapped_column(
        ForeignKey("channel.id", ondelete="CASCADE"), index=True
    )
    # "owner" or "member".
    role: Mapped[str] = mapped_column(String(20), default="member")
    delivery: Mapped[Delivery | None] = mapped_column(String(20), default=None)
    joined_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship()
    channel: Mapped[Channel] = relationship(back_populates="memberships")


class ChannelMute(Base):
    """Someone outside a channel who asked for no mail from it (its mentions, its digest
    section). A member says the same with ``Membership.delivery = off``; joining drops the row."""

    __tablename__ = "channel_mute"
    __table_args__ = (UniqueConstraint("user_id", "channel_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    channel_id: Mapped[int] = mapped_column(
        ForeignKey("channel.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
