"""Members, their addresses and their sign-in links."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.db import Base, utcnow
from hub.models.enums import Delivery, Role

ALL_DAYS = "mon,tue,wed,thu,fri,sat,sun"


class User(Base):
    """A member of the hub: web, email-only, or both."""

    __tablename__ = "user"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored lower-cased: addresses are compared case-insensitively everywhere.
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(String(20), default=Role.MEMBER)
    email_only: Mapped[bool] = mapped_column(default=False)
    locale: Mapped[str] = mapped_column(String(10), default="ja")
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Tokyo")
    # Comma-separated three-letter days, e.g. "mon,tue,wed,thu,fri".
    working_days: Mapped[str] = mapped_column(String(40), default="mon,tue,wed,thu,fri")
    # Minutes after local midnight; 0..1440. An end before the start (22:00-06:00) is a night
    # shift running into the next morning; it belongs to the working day it starts on.
    work_start: Mapped[int] = mapped_column(default=9 * 60)
    work_end: Mapped[int] = mapped_column(default=18 * 60)
    # The local hour of the daily (or weekly) digest: by default the start of the default
    # working day, so it is the day's first mail and what waited overnight goes with it.
    digest_hour: Mapped[int] = mapped_column(default=9)
    # Weekly digests go out on this weekday (0 = Monday).
    digest_weekday: Mapped[int] = mapped_column(default=0)
    # None means the default for the member's kind (email-only: daily digest; web: mentions).
    delivery: Mapped[Delivery | None] = mapped_column(String(20), default=None)
    echo_own_posts: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    password_hash: Mapped[str | None] = mapped_column(String(255), default=None)
    # Part of every sign-in's id (get_id): moving it on (a new password, deactivation) ends
    # the member's sessions and remembered sign-ins everywhere.
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime | None] = mapped_column(default=None)
    # When the member last accepted the rules, and which version (hub.services.rules): they
    # have accepted the current rules while rules_version is the current one; 0 is none yet.
    rules_accepted_at: Mapped[datetime | None] = mapped_column(default=None)
    rules_version: Mapped[int] = mapped_column(default=0, server_default="0")
    # Days with a hard bounce counted now (hub.services.bounces), and whether the member's mail
    # is stopped for bouncing; an admin's clearing restarts the count from bounces_cleared_at.
    bounce_count: Mapped[int] = mapped_column(default=0)
    bouncing: Mapped[bool] = mapped_column(default=False)
    bounces_cleared_at: Mapped[datetime | None] = mapped_column(default=None)
    # The newest Mention.id the member has seen on the mentions page; newer ones are unseen.
    mentions_seen_id: Mapped[int] = mapped_column(default=0, server_default="0")

    aliases: Mapped[list[EmailAlias]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    # Flask-Login's user protocol, kept here as plain properties (no Flask import).
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        """The id a session holds: the member and their session version ("7:2")."""
        return f"{self.id}:{self.session_version}"

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email}>"


class EmailAlias(Base):
    """Another address a member sends from; only verified aliases count as the member."""

    __tablename__ = "email_alias"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    verified: Mapped[bool] = mapped_column(default=False)
    user: Mapped[User] = relationship(back_populates="aliases")


class LoginLink(Base):
    """A single-use magic sign-in link (only its hash is stored)."""

    __tablename__ = "login_link"
    __table_args__ = (UniqueConstraint("token_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None] = mapped_column(default=None)
    user: Mapped[User] = relationship()


class Setting(Base):
    """An organisation-wide setting edited by admins (rules page, policies)."""

    __tablename__ = "setting"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
